# spec2prod: every target sets itself up from a fresh machine with only Python 3.11.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The instance `make run` and `make dev` share, so runs from the command line show up in the UI.
DAGSTER_HOME_DIR ?= $(CURDIR)/.dagster_home
# The project `make run` and `make dev` work on: the bundled example unless you name yours
# (`SPEC2PROD_PROJECT_ROOT=/path/to/project make dev`). spec2prod itself has no default here.
SPEC2PROD_PROJECT_ROOT ?= $(CURDIR)/examples/demo
PROJECT_ROOT := $(abspath $(SPEC2PROD_PROJECT_ROOT))
SPECS ?= $(PROJECT_ROOT)/specs/*.md
PORT ?= 3000

.PHONY: install run dev test test-fast lint typecheck validate clean browser-deps openhands-deps system-deps team-deps real-projects bench

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(STAMP)

$(DAGSTER_HOME_DIR)/dagster.yaml: dagster.yaml
	mkdir -p $(DAGSTER_HOME_DIR)
	cp dagster.yaml $@

## run: take the bundled example's specs to production (the main job: their target_stage), printing each
## stage; on your project each spec goes to its own target_stage
run: install system-deps $(DAGSTER_HOME_DIR)/dagster.yaml
	DAGSTER_HOME=$(DAGSTER_HOME_DIR) SPEC2PROD_PROJECT_ROOT=$(PROJECT_ROOT) $(BIN)/spec2prod run $(SPECS)

## dev: the Dagster UI (webserver + daemon, so the sensor runs) on http://127.0.0.1:$(PORT); the sensor
## takes each spec of the project to its own target_stage
dev: install system-deps $(DAGSTER_HOME_DIR)/dagster.yaml
	DAGSTER_HOME=$(DAGSTER_HOME_DIR) SPEC2PROD_PROJECT_ROOT=$(PROJECT_ROOT) $(BIN)/dg dev -h 127.0.0.1 -p $(PORT)

## test: lint, types, definitions, then the whole suite (what CI runs): unit, e2e with the real
## dagster CLI, dagster dev and Chromium, and the real OpenHands agent server
test: install system-deps browser-deps openhands-deps team-deps real-projects lint typecheck validate
	OPENHANDS_REAL_REQUIRED=1 SPEC2PROD_BROWSER_REQUIRED=1 SPEC2PROD_SANDBOX_REQUIRED=1 SPEC2PROD_REAL_PROJECTS_REQUIRED=1 \
		SPEC2PROD_TEAM_REQUIRED=1 \
		$(BIN)/python -m pytest -q

## test-fast: unit tests only, for everyday work (no dagster dev, no browser, no agent server)
test-fast: install system-deps
	$(BIN)/python -m pytest -q -m "not e2e and not openhands_real and not slow"

## system-deps: Debian's bubblewrap, the sandbox every run of untrusted code goes through (silent when present)
system-deps:
	bash scripts/install_debian_packages.sh bwrap=bubblewrap prlimit=util-linux

## browser-deps: Debian's chromium + chromium-driver for the browser tests (silent when present)
browser-deps:
	bash scripts/install_debian_packages.sh chromium=chromium chromedriver=chromium-driver

## team-deps: Debian's Postgres and Redis servers, which the team-profile tests start on loopback (silent
## when present)
team-deps:
	bash scripts/install_debian_packages.sh '/usr/lib/postgresql/*/bin/postgres=postgresql' redis-server=redis-server

## openhands-deps: a Python 3.12 venv with the real OpenHands agent server, for its tests
openhands-deps:
	bash scripts/openhands_venv.sh

## real-projects: two PyPI packages with their own suites and a wheel for the greeter fixture, pinned and
## hash-checked, into .cache/ (git-ignored) for tests/real_projects (silent when present)
real-projects: install
	PYTHON=$(BIN)/python bash scripts/fetch_real_projects.sh

## bench: issue 12's scenarios measured side by side, ending in one table of ratios (BENCH_ARGS=--quick for
## one round without the agent server; --only a,c for some); bench/bench_{sync_vs_async,sensor,sandbox,...}.py
## still run alone by hand
bench: install system-deps openhands-deps
	$(BIN)/python bench/bench_all.py $(BENCH_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

validate: install $(DAGSTER_HOME_DIR)/dagster.yaml
	DAGSTER_HOME=$(DAGSTER_HOME_DIR) $(BIN)/dg check defs

clean:
	rm -rf .dagster_home examples/demo/.spec2prod .tmp_dagster_home_*
