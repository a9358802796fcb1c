# warden: `make run` serves, `make test` runs the whole suite. Both create .venv.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
DATA    ?= .warden
STAMP   := $(VENV)/.installed
TSTAMP  := $(VENV)/.installed-test

.PHONY: run test check bench lint typecheck contracts clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $@

$(TSTAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP) $@

run: $(STAMP)
	test -d $(DATA) || $(BIN)/warden init --data-dir $(DATA)
	$(BIN)/warden server --data-dir $(DATA)

test: $(TSTAMP)
	$(BIN)/pytest -q -p no:cacheprovider

lint: $(TSTAMP)
	$(BIN)/ruff format --check src tests bench
	$(BIN)/ruff check src tests bench

typecheck: $(TSTAMP)
	$(BIN)/mypy

contracts: $(TSTAMP)
	$(BIN)/lint-imports

check: lint typecheck contracts test

bench: $(TSTAMP)
	$(BIN)/python bench/api.py
	$(BIN)/python bench/policy.py
	$(BIN)/python bench/secrets.py
	$(BIN)/python bench/rds.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
