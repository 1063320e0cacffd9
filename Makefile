# The two commands a new machine needs (see README):
#   make run   -> install everything, start PostgreSQL + Keycloak, seed demo tenants, serve on :8000
#   make test  -> install everything and run the whole test suite
# Everything else is a step of those two.

PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed

.PHONY: setup run test test-fast fuzz clean screenshots

$(STAMP): pyproject.toml ui/package.json ui/package-lock.json infra/scripts/bootstrap.sh
	bash infra/scripts/bootstrap.sh
	touch $(STAMP)

setup: $(STAMP)

run: setup
	$(BIN)/kyosei run

test: setup
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Skips Keycloak and browser tests: for quick local loops only; CI runs `make test`.
test-fast: setup
	$(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) ui/node_modules ui/static/vendor var

# A fuller schemathesis run than CI's (200 generated requests per API operation).
fuzz: setup
	KYOSEI_FUZZ_EXAMPLES=200 $(BIN)/python -m pytest tests/test_api_fuzz.py $(PYTEST_ARGS)

# Screenshots of the five journeys at 1280x800 for review, into docs/screenshots (runs their browser tests).
screenshots: setup
	$(BIN)/python -m infra.screenshots
