# eduaid: one entry point for people and CI. `make run` and `make test` work on a
# fresh machine with only Python 3.11: they create .venv and install the lock file.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.lock pyproject.toml | sha1sum | cut -c1-12)

export EDUAID_LANDING ?= data/landing
export EDUAID_WAREHOUSE ?= warehouse
export EDUAID_TRUTH ?= data/truth
SCALE ?= 1
SEED ?= 7
BENCH_DIR ?= /tmp/eduaid-bench

.PHONY: install browser postgres publish-postgres run ui test lint generate bench bench-ingest bench-gate bench-pipeline lock clean

$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.lock
	$(BIN)/python -m pip install -q --no-deps -e .
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

install: $(STAMP)

## run: generate demo data if the landing folder is empty, then run the pipeline
run: install
	$(BIN)/python -m orchestration.run

## browser: Debian's Chromium for the browser tests and the term reports' PDF, and a Chinese
## font for it (as root; nothing when they are there)
browser:
	@command -v chromium >/dev/null || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
	@fc-list :lang=zh 2>/dev/null | grep -q . || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-wqy-microhei >/dev/null; }

## postgres: Debian's PostgreSQL for the Postgres publish tests (as root; nothing when its
## binaries are there). The tests start a server of their own on a free port and stop it.
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; }

## publish-postgres: serve the last published files from EDUAID_PUBLISH_POSTGRES_URL, no run
publish-postgres: install
	$(BIN)/python -m orchestration.publish.postgres

## ui: the Dagster UI and daemon on localhost (sensor, schedule, run history in DAGSTER_HOME)
ui: install
	$(BIN)/python -m orchestration.ui

## test: the whole test suite (what CI runs)
test: install
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	# the dbt templater compiles the project, which opens a database: a scratch one
	EDUAID_BUILD_DB=$${TMPDIR:-/tmp}/eduaid-lint.duckdb $(BIN)/sqlfluff lint dbt_project/models

## generate: write a landing folder and its truth (SCALE, SEED, EDUAID_LANDING, EDUAID_TRUTH)
generate: install
	$(BIN)/python -m eduaid_synth generate --scale $(SCALE) --seed $(SEED) \
		--landing $(EDUAID_LANDING) --truth $(EDUAID_TRUTH) --force

## bench: time and peak memory of the generator at a scale (prints figures)
bench: install
	$(BIN)/python -m eduaid_synth bench --scale $(SCALE) --seed $(SEED) \
		--landing $(BENCH_DIR)/landing --truth $(BENCH_DIR)/truth

## bench-ingest: rows/second of the ingest on the landing folder (prints figures)
bench-ingest: install
	$(BIN)/python -m orchestration.ingest.bench --landing $(EDUAID_LANDING)

## bench-gate: seconds of each quality check on the build database (prints figures)
bench-gate: install
	$(BIN)/python -m orchestration.quality.bench

## bench-pipeline: the whole pipeline at SCALE, seconds and peak memory per stage (prints figures)
bench-pipeline: install
	$(BIN)/python -m orchestration.pipeline.bench --scale $(SCALE) --seed $(SEED) --dir $(BENCH_DIR)

lock:
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^eduaid' > requirements.lock

clean:
	rm -rf $(VENV) warehouse data/landing data/truth dbt_project/target dbt_project/logs
