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

.PHONY: setup run test lint perf sample clean chromium audit faults nightly-load lock lock-install lock-check

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

# pip-audit over requirements.lock: any known vulnerability, or any locked package the service
# cannot look up, fails. This machine reaches package indexes only, so first ask which vulnerability
# service answers (OSV, then PyPI's JSON API); when none does, say so loudly and exit 0, because
# nothing was checked rather than something found (AUDIT_REQUIRED=1 makes that a failure too).
# AUDIT_OSV_URL points pip-audit at another OSV-compatible service, e.g. an internal mirror.
AUDIT_OSV_URL ?= https://api.osv.dev/v1/query
AUDIT_REQUIRED ?= 0
define AUDIT_PROBE
import json, os, sys, urllib.request
def osv():
    query = {"package": {"name": "jinja2", "ecosystem": "PyPI"}, "version": "2.10"}
    req = urllib.request.Request(os.environ["AUDIT_OSV_URL"], json.dumps(query).encode(),
                                 {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=20) as r:
        if not json.load(r).get("vulns"):
            raise ValueError("answered, but without the known jinja2 2.10 advisories")
def pypi():
    with urllib.request.urlopen("https://pypi.org/pypi/jinja2/2.10/json", timeout=20) as r:
        if not json.load(r).get("vulnerabilities"):
            raise ValueError("answered, but without the known jinja2 2.10 advisories")
reasons = []
for name, url, probe in (("osv", os.environ["AUDIT_OSV_URL"], osv), ("pypi", "https://pypi.org/pypi", pypi)):
    try:
        probe()
    except Exception as err:
        reasons.append(f"{name} service at {url}: {err}")
    else:
        print(name)
        sys.exit(0)
print("no vulnerability service reachable (" + "; ".join(reasons) + ")")
sys.exit(1)
endef
export AUDIT_PROBE AUDIT_OSV_URL

audit: setup
	@if svc=$$($(BIN)/python -c "$$AUDIT_PROBE"); then \
	  echo "audit: pip-audit over requirements.lock ($$(grep -c '==' requirements.lock) packages), $$svc service"; \
	  $(BIN)/pip-audit --strict --progress-spinner off --disable-pip --no-deps -r requirements.lock \
	    --vulnerability-service $$svc --osv-url "$(AUDIT_OSV_URL)"; \
	else \
	  echo "################################################################################"; \
	  echo "## WARNING: audit could not run: $$svc"; \
	  echo "## The $$(grep -c '==' requirements.lock) packages of requirements.lock were NOT checked for known vulnerabilities."; \
	  echo "################################################################################"; \
	  test "$(AUDIT_REQUIRED)" != 1; \
	fi

# requirements.lock pins every package a clean install of ".[dev,perf]" resolves to (povertylink
# itself and pip excluded). `make lock` re-resolves in a throw-away venv, so it takes the newest
# versions pyproject.toml allows; review the diff, commit it, then `make lock-install`.
# `make lock-install` installs .venv with the lock as constraints (CI does this first);
# `make lock-check` fails when .venv differs from the lock (tests/test_hygiene.py does the same).
lock:
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) on PATH" >&2; exit 1; }
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	$(PYTHON) -m venv "$$tmp/venv" && \
	"$$tmp/venv/bin/python" -m pip install --quiet --upgrade pip && \
	"$$tmp/venv/bin/python" -m pip install --quiet ".[dev,perf]" && \
	"$$tmp/venv/bin/python" -m pip freeze --exclude povertylink > requirements.lock.new && \
	mv requirements.lock.new requirements.lock && \
	echo "requirements.lock: $$(grep -c '==' requirements.lock) packages (git diff requirements.lock)"

lock-install:
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) on PATH" >&2; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock -e ".[dev,perf]"
	touch $(BIN)/.installed

lock-check: setup
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/test_hygiene.py -k lock

faults: setup
	$(BIN)/python -m pytest -q tests/test_faults.py

nightly-load: setup
	$(BIN)/python -m perf.nightly_load
