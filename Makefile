# Two commands: `make demo` (set up, refresh on the sample data, serve) and `make test`.
# Each creates .venv if missing and installs the locked, pinned dependency set.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test setup browser postgres lint clean

demo: $(STAMP)
	$(BIN)/oba demo

test: $(STAMP) browser postgres
	$(BIN)/ruff check oba_pipeline assets dashboards tests
	$(BIN)/mypy oba_pipeline assets
	$(BIN)/pytest -q

setup: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip uv
	$(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python -r requirements.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	touch $(STAMP)

# Browser tests drive Debian's Chromium; nothing here downloads a browser of its own.
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium chromium-driver >/dev/null; }

# The application-database tests also run on a real PostgreSQL server, started by the tests themselves
# from Debian's packages on 127.0.0.1 (tests/postgres_support.py); nothing is left running.
postgres:
	@command -v initdb >/dev/null || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq postgresql >/dev/null; }

lint: $(STAMP)
	$(BIN)/ruff check oba_pipeline assets dashboards tests
	$(BIN)/mypy oba_pipeline assets

clean:
	rm -rf $(VENV) .oba-home .oba-demo
