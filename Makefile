# eslab: set-up, tests and tools. Works from a fresh clone: `make test` builds .venv first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
BENCH_STAMP := $(VENV)/.installed-bench
LINT_PATHS := $(wildcard eslab tests bench tools setup.py)
PYTEST_ARGS ?=
# e.g. BENCH_ARGS="--quick --reps 1" for a fast look, "--notebooks" to time the notebooks too
BENCH_ARGS ?=
# Jupyter refuses to run as root without --allow-root (containers, CI machines).
LAB_ARGS ?= $(if $(filter 0,$(shell id -u)),--allow-root,)

HUB_STAMP := $(VENV)/.installed-hub
PROXY := .hub/node_modules/.bin/configurable-http-proxy
# `make hub HUB_ARGS="--password … --ip 0.0.0.0"` (or set ESLAB_HUB_PASSWORD)
HUB_ARGS ?=

.PHONY: venv lab test test-fast lint strip bench clean hub hub-setup hub-proxy hub-stop

## venv: create .venv (only if missing) and install eslab with its test tools
venv: $(STAMP)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Re-install only when pyproject.toml changes (the stamp is newer otherwise).
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -e '.[test,nbgrader]'
	touch $@

## lab: open the course in JupyterLab
lab: venv
	$(BIN)/jupyter lab notebooks/ $(LAB_ARGS)

## test: everything (unit, notebook execution, real browser), with coverage of eslab/
# (fails below the floor in pyproject.toml's [tool.coverage.report])
test: venv
	$(BIN)/python -m pytest --cov $(PYTEST_ARGS)

## test-fast: unit tests only
test-fast: venv
	$(BIN)/python -m pytest -m "not browser and not notebooks" --cov $(PYTEST_ARGS)

## lint: ruff check + format check + mypy (configured in pyproject.toml)
lint: venv
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check $(LINT_PATHS)
	$(BIN)/mypy

## strip: remove outputs from the notebooks with nbstripout (run before committing them)
# --keep-id: nbstripout would otherwise renumber the cell ids (and churn every diff).
NOTEBOOK_FILES = $(shell find notebooks tests/browser/fixtures -name '*.ipynb' -not -path '*/.ipynb_checkpoints/*' | sort)
strip: venv
	$(BIN)/nbstripout --keep-id $(NOTEBOOK_FILES)

## bench: compare eslab with the eventsourcing library
bench: $(BENCH_STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)

$(BENCH_STAMP): pyproject.toml $(STAMP)
	$(BIN)/python -m pip install -e '.[bench]'
	touch $@

## hub: start the workshop JupyterHub on the shared store (as root; see notebooks/WORKSHOP.md)
hub: hub-setup
	$(BIN)/python -m eslab classroom hub start $(HUB_ARGS)

## hub-stop: stop the workshop hub and its store
hub-stop: venv
	$(BIN)/python -m eslab classroom hub stop $(HUB_ARGS)

## hub-setup: install JupyterHub (the [hub] extra) and the proxy; nothing is fetched at run time
hub-setup: $(HUB_STAMP) hub-proxy

$(HUB_STAMP): pyproject.toml $(STAMP)
	$(BIN)/python -m pip install -e '.[hub]'
	touch $@

## hub-proxy: configurable-http-proxy from npm, into .hub/ (the hub finds it there)
hub-proxy: $(PROXY)

$(PROXY):
	npm install --no-audit --no-fund --prefix .hub configurable-http-proxy@5.3.0

## clean: remove .venv, build output, caches and test artifacts
clean:
	rm -rf $(VENV) .hub build dist *.egg-info test-artifacts .pytest_cache .ruff_cache .mypy_cache .coverage htmlcov
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
	find . -name .ipynb_checkpoints -type d -prune -exec rm -rf {} +
