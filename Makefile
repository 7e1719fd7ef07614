# eslab: set-up, tests and tools. Works from a fresh clone: `make test` builds .venv first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
BENCH_STAMP := $(VENV)/.installed-bench
KO_STAMP := $(VENV)/.installed-ko
# A project-local JupyterLab settings folder for `make lab-ko`: your own settings stay untouched.
KO_SETTINGS := $(VENV)/jupyterlab-ko-settings
KO_LOCALE := $(KO_SETTINGS)/@jupyterlab/translation-extension/plugin.jupyterlab-settings
LINT_PATHS := $(wildcard eslab tests bench tools)
PYTEST_ARGS ?=
# e.g. BENCH_ARGS="--quick --reps 1" for a fast look, "--notebooks" to time the notebooks too
BENCH_ARGS ?=
# Jupyter refuses to run as root without --allow-root (containers, CI machines).
LAB_ARGS ?= $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: venv lab lab-ko test test-fast lint strip bench clean

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

## lab-ko: the Korean course (notebooks/ko/) in JupyterLab, its menus in Korean too
lab-ko: $(KO_STAMP)
	mkdir -p $(dir $(KO_LOCALE))
	printf '{\n  "locale": "ko_KR"\n}\n' > $(KO_LOCALE)
	cd notebooks && JUPYTERLAB_SETTINGS_DIR=$(abspath $(KO_SETTINGS)) ESLAB_LANG=ko \
		$(abspath $(BIN))/jupyter lab ko/00_welcome.ipynb $(LAB_ARGS)

$(KO_STAMP): pyproject.toml $(STAMP)
	$(BIN)/python -m pip install -e '.[ko]'
	touch $@

## test: everything (unit, notebook execution, real browser)
test: venv
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## test-fast: unit tests only
test-fast: venv
	$(BIN)/python -m pytest -m "not browser and not notebooks" $(PYTEST_ARGS)

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
	rm -rf $(VENV) build dist *.egg-info test-artifacts .pytest_cache .ruff_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
	find . -name .ipynb_checkpoints -type d -prune -exec rm -rf {} +
