# Kyosei's own suite collects tests/ recursively: this example's tests run only where the example is installed as
# a distribution (the slow test installs it, then runs them in a subprocess from this folder).
from importlib.metadata import PackageNotFoundError, distribution

try:
    distribution("kyosei-example-vendor")
    collect_ignore: list[str] = []
except PackageNotFoundError:
    collect_ignore = ["tests"]
