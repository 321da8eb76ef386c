# Ascent: `make run` serves with SQLite under ./var, `make test` runs the whole suite.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install run test lint openapi bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/ascent migrate
	$(BIN)/ascent load-defaults
	$(BIN)/ascent serve

test: install
	$(BIN)/ruff check service tests bench alembic
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check service tests bench alembic

openapi: install
	$(BIN)/ascent openapi --output openapi/openapi.json --graphql openapi/schema.graphql

bench: install
	@for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .hypothesis
