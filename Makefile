# Two entry points (README): `make repro` runs the pipeline, `make test` runs the tests.
# Both create the virtual environment first if it is missing or out of date.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=
# test processes (pytest-xdist): one per logical core; TEST_WORKERS=0 runs the suite in this process
TEST_WORKERS ?= logical
VERIFY_ARGS ?=

export PATH := $(abspath $(BIN)):$(PATH)
export DVC_NO_ANALYTICS := 1

.PHONY: setup repro verify test test-all bench screenshot clean-venv

setup: $(STAMP)

# torch first: pip then takes the CPU wheel instead of pulling a multi-GB CUDA build.
$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check torch==2.13.0
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt -r requirements-dev.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

repro: $(STAMP)
	dvc repro

# the reviewer's command: every stage rerun from scratch in a temporary copy, verdicts and metrics compared
# with the committed ones (README, "Verify"); TECHNIQUE=directed|delayed|uncertainty for one technique
verify: $(STAMP)
	python -m recsys_challenges verify $(if $(TECHNIQUE),--technique $(TECHNIQUE)) $(VERIFY_ARGS)

test: $(STAMP)
	pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)

test-all: $(STAMP)
	pytest -n $(TEST_WORKERS) --run-slow $(PYTEST_ARGS)

# the benchmarks, outside `dvc repro` (they measure the machine, not the method): each technique's
# (reports/bench/<technique>.json), then the scale table (reports/bench.json: each workload in a
# fresh process, with its peak memory); they read the default pipeline's outputs, so `make repro` first
bench: $(STAMP)
	python -m recsys_challenges directed-bench
	python -m recsys_challenges delayed-bench
	python -m recsys_challenges uncertainty-bench
	python -m recsys_challenges bench

# the offline report rendered by headless Chromium (apt install chromium) into reports/screenshot.png
screenshot: $(STAMP)
	python -m recsys_challenges screenshot

clean-venv:
	rm -rf $(VENV)
