# spec2prod: every target sets itself up from a fresh machine with only Python 3.11.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home
SPECS ?= examples/demo/specs/*.md
PORT ?= 3000

.PHONY: install run dev test test-fast lint typecheck validate clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(STAMP)

$(DAGSTER_HOME)/dagster.yaml: dagster.yaml
	mkdir -p $(DAGSTER_HOME)
	cp dagster.yaml $@

## run: take the bundled example's specs to production (the main job), printing each stage
run: install $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/spec2prod run $(SPECS) --stage production

## dev: the Dagster UI (webserver + daemon, so the sensor runs) on http://127.0.0.1:$(PORT)
dev: install $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/dagster dev -m spec2prod_assets.definitions -h 127.0.0.1 -p $(PORT)

## test: lint, types, definitions, then the whole test suite (what CI runs)
test: install lint typecheck validate
	$(BIN)/python -m pytest -q

## test-fast: unit tests only, for everyday work
test-fast: install
	$(BIN)/python -m pytest -q -m "not e2e"

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

validate: install
	$(BIN)/dagster definitions validate -m spec2prod_assets.definitions

clean:
	rm -rf .dagster_home examples/demo/.spec2prod .tmp_dagster_home_*
