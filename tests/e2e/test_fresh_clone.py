"""The README's first command on a fresh clone: ``make run`` builds a runtime-only .venv from
requirements.lock, runs the sample, and that .venv agrees with the lock (tests/lockcheck.py).

Slow (a new virtual environment: several minutes on two cores) and needs python3.11, make, git
and the package index pip is configured with. ``make test`` after it adds the dev and perf extras
with the same constraints; the lock test then judges the full set (tests/test_hygiene.py, in CI).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _need(*tools: str) -> None:
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} on PATH")


def test_make_run_in_a_fresh_clone_installs_the_runtime_from_the_lock(tmp_path):
    _need("git", "make", "python3.11")
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", "--no-checkout", str(ROOT), str(clone)], check=True)
    subprocess.run(["git", "checkout", "--quiet", head.strip()], cwd=clone, check=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHONPATH", "PREFECT_"))}
    made = subprocess.run(["make", "run"], cwd=clone, env=env, capture_output=True, text=True, timeout=1800)
    assert made.returncode == 0, made.stdout[-3000:] + made.stderr[-3000:]
    assert (clone / "out" / "current" / "report.html").is_file()
    venv = clone / ".venv"
    check = subprocess.run([str(venv / "bin" / "python"), "tests/lockcheck.py"], cwd=clone, env=env,
                           capture_output=True, text=True, timeout=300)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "povertylink (runtime only)" in check.stdout
    tools = subprocess.run([str(venv / "bin" / "python"), "-c", "import importlib.util as u; "
                            "print([m for m in ('pytest', 'mypy', 'ruff', 'splink') if u.find_spec(m)])"],
                           capture_output=True, text=True, check=True, env=env)
    assert tools.stdout.strip() == "[]", "make run installed test or perf tools"
    size = subprocess.run(["du", "-sh", str(venv)], capture_output=True, text=True, check=False).stdout.split()
    print(f"runtime-only .venv: {size[0] if size else '?'}")
