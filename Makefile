# The two commands: `make run` and `make test`. Everything they need is installed here.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/llmcontrol

.PHONY: install run test lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: install
	mkdir -p var
	DEBUG=$${DEBUG:-true} $(BIN)/python manage.py migrate --noinput
	DEBUG=$${DEBUG:-true} $(BIN)/python manage.py seed_registry
	DEBUG=$${DEBUG:-true} $(BIN)/python manage.py setup_schedules
	DEBUG=$${DEBUG:-true} $(BIN)/python manage.py ensure_dev_admin
	DEBUG=$${DEBUG:-true} $(BIN)/python manage.py collectstatic --noinput --verbosity 0
	DEBUG=$${DEBUG:-true} $(BIN)/python manage.py run_stack

test: install
	DATABASE_URL=$(TEST_DATABASE_URL) DEBUG=true $(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check .

bench: install
	DATABASE_URL=$(TEST_DATABASE_URL) DEBUG=true $(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) var
