"""Screenshots of the five journeys for review: ``python -m infra.screenshots [folder]`` (``make screenshots``).

Runs the journeys' browser tests (intake, meeting chain, enrolment, grants report, onboarding) against a real
Keycloak and PostgreSQL, exactly as CI does, with ``KYOSEI_SCREENSHOTS`` set: every page a journey checks, and every
refusal it provokes, is saved at 1280×800 as ``<journey>-<nn>-<page>.png`` (default folder ``docs/screenshots``).
The tests' own assertions still hold, so a screenshot run is also a full run of the journeys.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
JOURNEYS = ("tests/test_cases_browser.py", "tests/test_meetings_browser.py", "tests/test_programs_browser.py",
            "tests/test_grants_browser.py", "tests/test_prefecture_browser.py")


def main(argv: list[str]) -> int:
    folder = Path(argv[0] if argv else ROOT / "docs" / "screenshots").resolve()
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.png"):
        old.unlink()  # a page no journey visits any more must not linger
    env = {**os.environ, "KYOSEI_SCREENSHOTS": str(folder)}
    command = [sys.executable, "-m", "pytest", *JOURNEYS, "-m", "browser", "-q", "-p", "no:cacheprovider"]
    done = subprocess.run(command, cwd=ROOT, env=env).returncode
    print(f"{len(list(folder.glob('*.png')))} screenshots in {folder}")
    return done


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
