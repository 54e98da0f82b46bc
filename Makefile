# Two commands a new user needs: `make demo` and `make test` (CONTRACT.md, README).
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
PYTHON ?= python3
UV_VERSION := 0.13.9
# A database name of its own per run, so parallel runs on one server never collide.
PG_URL ?= postgres://postgres@127.0.0.1:5432/tally_$(shell date +%s%N)

.PHONY: setup demo test lint test-sqlite test-postgres browser-deps screenshots clean

setup: $(VENV)/.installed

# --compile-bytecode: the packages' .pyc are written once here; where PYTHONDONTWRITEBYTECODE is
# set (as on the CI machines), every process would otherwise compile Ibis, pandas … from source
# again, about 2 s before a first run or page.
$(VENV)/.installed: requirements/base.txt requirements/dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet uv==$(UV_VERSION)
	$(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python -r requirements/base.txt -r requirements/dev.txt
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	touch $@

demo: setup
	$(BIN)/tally demo

# Debian's Chromium for the browser tests, and CJK fonts so Chinese pages render.
browser-deps:
	@command -v chromium >/dev/null && fc-list | grep -qi "noto.*cjk" || { \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk; }

lint: setup
	$(BIN)/ruff check src tests
	$(BIN)/mypy
	$(BIN)/lint-imports
	TALLY_HOME=$$(mktemp -d) $(BIN)/python -m django makemigrations --check --dry-run --settings=tally.settings

test-sqlite: setup browser-deps
	TALLY_HOME=$$(mktemp -d) $(BIN)/pytest -q -p no:cacheprovider

test-postgres: setup
	TALLY_HOME=$$(mktemp -d) DATABASE_URL=$(PG_URL) $(BIN)/pytest -q -p no:cacheprovider -m "not browser and not spark"

# The two suites side by side: most of a suite's time is waiting (servers, browser, Spark), so on
# two cores both finish in little more than the longer one's time. Each one's output is printed
# whole when it ends.
test: lint
	$(MAKE) --no-print-directory --output-sync=target -j2 test-sqlite test-postgres

# Refresh the README's screenshots from the browser test.
screenshots: setup browser-deps
	TALLY_HOME=$$(mktemp -d) TALLY_SCREENSHOTS=docs/screenshots $(BIN)/pytest -q -p no:cacheprovider -m browser

clean:
	rm -rf $(VENV) tally-data
