# eslab: set-up, tests and tools. Works from a fresh clone: `make test` builds .venv first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
BENCH_STAMP := $(VENV)/.installed-bench
LINT_PATHS := $(wildcard eslab tests bench tools)
PYTEST_ARGS ?=
# e.g. BENCH_ARGS="--quick --reps 1" for a fast look, "--notebooks" to time the notebooks too
BENCH_ARGS ?=
# Jupyter refuses to run as root without --allow-root (containers, CI machines).
LAB_ARGS ?= $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: venv lab test test-fast soak lint strip bench clean

## venv: create .venv (only if missing) and install eslab with its test tools
venv: $(STAMP)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Re-install only when pyproject.toml changes (the stamp is newer otherwise).
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -e '.[test]'
	touch $@

## lab: open the course in JupyterLab
lab: venv
	$(BIN)/jupyter lab notebooks/ $(LAB_ARGS)

## test: everything (unit, notebook execution, real browser)
test: venv
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## test-fast: unit tests only
test-fast: venv
	$(BIN)/python -m pytest -m "not browser and not notebooks" $(PYTEST_ARGS)

## soak: the property tests with fresh random cases and 20x as many (minutes, not seconds)
soak: venv
	HYPOTHESIS_PROFILE=soak $(BIN)/python -m pytest tests/property $(PYTEST_ARGS)

## lint: ruff check + format check
lint: venv
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check $(LINT_PATHS)

## strip: remove outputs from the notebooks (run before committing them)
strip: venv
	$(BIN)/python tools/strip_notebooks.py notebooks tests/browser/fixtures

## bench: compare eslab with the eventsourcing library
bench: $(BENCH_STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)

$(BENCH_STAMP): pyproject.toml $(STAMP)
	$(BIN)/python -m pip install -e '.[bench]'
	touch $@

## clean: remove .venv, build output, caches and test artifacts
clean:
	rm -rf $(VENV) build dist *.egg-info test-artifacts .pytest_cache .ruff_cache .hypothesis
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
	find . -name .ipynb_checkpoints -type d -prune -exec rm -rf {} +
