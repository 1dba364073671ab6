# Two entry points for a new user: `make run` (install + audit the bundled sample) and
# `make test` (install + run the tests). The venv is rebuilt only when the lock file changes.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test lint bench catalogue clean

$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	@# The editable install of the one cramp_audit namespace goes through setuptools' import finder,
	@# which always prints a notice about it: kept in a log, shown only when the install fails.
	$(BIN)/python -m pip install --quiet --no-deps -e . > $(VENV)/editable-install.log 2>&1 \
		|| { cat $(VENV)/editable-install.log; exit 1; }
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/cramp-audit run

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	$(BIN)/python -m bench.run
	$(BIN)/python -m bench.sharded  # issue 15: 1M patients, --shards 4 beside --shards 1 (appends its row)

catalogue: $(STAMP)
	$(BIN)/cramp-audit rules --markdown > docs/rules.md
	$(BIN)/python -m cramp_audit.data_dictionary > docs/data-dictionary.md

clean:
	rm -rf $(VENV) reports cramp_audit.duckdb cramp_audit.duckdb.wal cramp_audit.duckdb.lock cramp_audit.duckdb.tmp \
		audit.duckdb audit.duckdb.wal audit.duckdb.lock .pytest_cache
