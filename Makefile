# Two commands do everything on a fresh machine with Python 3.11:
#   make run    set up .venv, install povertylink, run the pipeline on data/sample/ -> out/
#   make test   set up .venv, install povertylink with test tools, run the whole test suite
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export DO_NOT_TRACK := 1
export GX_ANALYTICS_ENABLED := false
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS := 120
export PREFECT_HOME := $(CURDIR)/.prefect

.PHONY: setup run test lint perf sample clean chromium audit faults nightly-load

$(BIN)/.installed: pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) on PATH" >&2; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev,perf]"
	touch $@

setup: $(BIN)/.installed

run: setup
	$(BIN)/povertylink run --input data/sample --output out --as-of 2026-11-20

chromium:
	@command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } || echo "warning: could not install chromium; browser tests will fail" >&2

test: setup chromium
	$(BIN)/python -m pytest -q

lint: setup
	$(BIN)/ruff check .
	$(BIN)/mypy schemas pipelines matching benchmarks flows.py

perf: setup
	$(BIN)/python -m perf.harness

sample: setup
	$(BIN)/povertylink sample --out data/sample --districts 3 --households 2000 --seed 2026

clean:
	rm -rf out .pytest_cache

audit: setup
	$(BIN)/python -m pip install --quiet "pip-audit>=2.7"
	$(BIN)/pip-audit --strict --skip-editable --progress-spinner off

faults: setup
	$(BIN)/python -m pytest -q tests/test_faults.py

nightly-load: setup
	$(BIN)/python -m perf.nightly_load
