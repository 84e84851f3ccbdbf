# Two commands for a fresh clone: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.stamp-install
PORT ?= 8000

.PHONY: run test install typecheck messages clean bench

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP) messages

# Compiled message catalogues are build output, not source: made from locale/*.po here.
messages: $(STAMP)
	@$(BIN)/python -m locker.infra.i18n_compile

run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py locker_keys
	PORT=$(PORT) bin/run-local

test: install
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/ruff check .
	$(BIN)/mypy locker config
	$(BIN)/lint-imports
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Benchmarks, not tests: bench/run_all.py runs each, writes bench/results.md. Needs
# PostgreSQL: DATABASE_URL if set (a scratch database), else it makes locker_bench on
# postgres://postgres@127.0.0.1:5432/.
bench: install
	$(BIN)/python bench/run_all.py

typecheck: install
	$(BIN)/mypy locker config

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
