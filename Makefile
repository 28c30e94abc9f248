# Two commands do everything on a fresh machine with Python 3.11, in either order:
#   make run    set up .venv with povertylink's runtime dependencies (as requirements.lock pins them),
#               run the pipeline on data/sample/ -> out/
#   make test   add the dev and perf extras (as requirements.lock pins them), run the whole test suite
# Both install with requirements.lock as constraints, so .venv never holds a package newer than the lock
# (tests/lockcheck.py judges it by the extras installed).
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export DO_NOT_TRACK := 1
export GX_ANALYTICS_ENABLED := false
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS := 120
export PREFECT_HOME := $(CURDIR)/.prefect

.PHONY: setup setup-run run test test-fast lint perf sample clean chromium libreoffice audit faults nightly-load lock lock-install lock-check

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) on PATH" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# runtime only: what `povertylink run` needs
$(BIN)/.installed-run: pyproject.toml requirements.lock | $(BIN)/python
	$(BIN)/python -m pip install --quiet -c requirements.lock -e .
	touch $@

# runtime + dev + perf extras: what the tests, lint, audit and perf harness need
$(BIN)/.installed: pyproject.toml requirements.lock | $(BIN)/python
	$(BIN)/python -m pip install --quiet -c requirements.lock -e ".[dev,perf]"
	touch $@ $(BIN)/.installed-run

setup-run: $(BIN)/.installed-run

setup: $(BIN)/.installed

run: setup-run
	$(BIN)/povertylink run --input data/sample --output out --as-of 2026-11-20

chromium:
	@command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } || echo "warning: could not install chromium; browser tests will fail" >&2

# LibreOffice Calc (Debian's package, no GUI) opens the contact list CSV in tests/e2e/test_contact_list.py
libreoffice:
	@command -v soffice >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libreoffice-calc-nogui >/dev/null; } || echo "warning: could not install LibreOffice Calc; the contact-list spreadsheet test will be skipped" >&2

# The whole suite at full strength on both cores (pytest-xdist): 804 tests in 22 minutes on this 2-core
# machine (one test at a time it came close to CI's limit).
test: setup chromium libreoffice
	$(BIN)/python -m pytest -q -n 2

# The inner loop: everything but the slow tier (tests/e2e/ and tests marked slow), property tests drawing
# a fifth of their examples, on both cores (pytest-xdist); about 3 minutes. `make test` runs everything
# at full strength.
test-fast: setup
	POVERTYLINK_TEST_TIER=fast $(BIN)/python -m pytest -q -m "not slow" -n 2

lint: setup
	$(BIN)/ruff check .
	$(BIN)/mypy schemas pipelines matching benchmarks flows.py

perf: setup
	$(BIN)/python -m perf.harness

sample: setup-run
	$(BIN)/povertylink sample --out data/sample --districts 3 --households 2000 --seed 2026

clean:
	rm -rf out .pytest_cache

# pip-audit over requirements.lock, with pip-audit's own vulnerability service and settings. Any known
# vulnerability, or a locked package the service could not look up while it answered for others, fails.
# When the service answers for none of them (no network here), say so loudly and exit 0, because nothing
# was checked rather than something found (AUDIT_REQUIRED=1 makes that a failure too).
AUDIT_REQUIRED ?= 0
define AUDIT_JUDGE
import json, os, sys
deps = json.load(open(sys.argv[1]))["dependencies"]
skipped = [d for d in deps if d.get("skip_reason")]
vulns = [(d["name"], d.get("version", "?"), v["id"]) for d in deps for v in d.get("vulns", [])]
for name, version, ident in vulns:
    print(f"audit: {name} {version}: {ident}")
if vulns:
    sys.exit(f"audit: {len(vulns)} known vulnerabilities in requirements.lock")
if deps and len(skipped) == len(deps):
    bar = "#" * 80
    print(f"{bar}\n## WARNING: audit could not run: pip-audit's vulnerability service looked up none of the "
          f"{len(deps)} packages of requirements.lock\n## (first: {skipped[0]['skip_reason']})\n"
          f"## They were NOT checked for known vulnerabilities.\n{bar}")
    sys.exit(1 if os.environ.get("AUDIT_REQUIRED") == "1" else 0)
if skipped:
    sys.exit(f"audit: {len(skipped)} of {len(deps)} packages could not be looked up: "
             + ", ".join(d["name"] for d in skipped))
print(f"audit: {len(deps)} packages of requirements.lock, no known vulnerabilities")
endef
export AUDIT_JUDGE AUDIT_REQUIRED

audit: setup
	@report=$$(mktemp) && trap 'rm -f "$$report"' EXIT && \
	$(BIN)/pip-audit --progress-spinner off --disable-pip --no-deps -r requirements.lock \
	  --format json --output "$$report" 2>/dev/null; \
	$(BIN)/python -c "$$AUDIT_JUDGE" "$$report"

# requirements.lock pins every package a clean install of ".[dev,perf]" resolves to (povertylink
# itself and pip excluded). `make lock` re-resolves in a throw-away venv, so it takes the newest
# versions pyproject.toml allows; review the diff, commit it, then `make lock-install`.
# `make lock-install` installs .venv with the lock as constraints (CI does this first);
# `make lock-check` fails when .venv differs from the lock, judged by the extras it has (tests/lockcheck.py,
# which needs no pytest, so it checks a runtime-only .venv too; tests/test_hygiene.py does the same).
lock:
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) on PATH" >&2; exit 1; }
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	$(PYTHON) -m venv "$$tmp/venv" && \
	"$$tmp/venv/bin/python" -m pip install --quiet --upgrade pip && \
	"$$tmp/venv/bin/python" -m pip install --quiet ".[dev,perf]" && \
	"$$tmp/venv/bin/python" -m pip freeze --exclude povertylink > requirements.lock.new && \
	mv requirements.lock.new requirements.lock && \
	echo "requirements.lock: $$(grep -c '==' requirements.lock) packages (git diff requirements.lock)"

lock-install: | $(BIN)/python
	$(BIN)/python -m pip install --quiet -c requirements.lock -e ".[dev,perf]"
	touch $(BIN)/.installed $(BIN)/.installed-run

lock-check: | $(BIN)/python
	$(BIN)/python tests/lockcheck.py

faults: setup
	$(BIN)/python -m pytest -q tests/e2e/test_faults.py

nightly-load: setup
	$(BIN)/python -m perf.nightly_load
