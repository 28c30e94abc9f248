"""Clean shutdown (issue 16, problem 7): killing only the run's own process leaves no helper behind.

A real ``povertylink run`` (Prefect's temporary API server, the GX worker, multiprocessing's fork
server and resource tracker) is paused before ingest; SIGKILL goes to the main process alone, as
the out-of-memory killer would send it. Every process that carries this test's marker in its
environment (so: started by that run, however deep) must be gone within a few seconds.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.cli import AS_OF, CLI, ENV

MARK = "POVERTYLINK_TEST_SHUTDOWN_MARK"


def marked(token: str) -> list[int]:
    """Processes whose environment carries ``MARK=token`` (this test's run and its descendants)."""
    wanted = f"{MARK}={token}".encode()
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if wanted in Path(f"/proc/{entry}/environ").read_bytes().split(b"\0"):
                    found.append(int(entry))
            except OSError:
                continue
    return found


def _wait_for(proc: subprocess.Popen[str], text: str, timeout: float) -> str:
    assert proc.stderr is not None
    seen = ""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line and proc.poll() is not None:
            break
        seen += line
        if text in line:
            return seen
    raise AssertionError(f"never saw {text!r}: {seen[-2000:]}")


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs Linux /proc")
def test_sigkill_of_the_run_alone_leaves_no_child(tmp_path: Path) -> None:
    landing, out = tmp_path / "landing", tmp_path / "out"
    made = subprocess.run([*CLI, "sample", "--out", str(landing), "--districts", "1", "--households", "100"],
                          capture_output=True, text=True, env=ENV, timeout=120, check=False)
    assert made.returncode == 0, made.stderr
    token = secrets.token_hex(8)
    env = {k: v for k, v in (ENV | {MARK: token, "POVERTYLINK_PAUSE_BEFORE": "ingest"}).items()
           if k != "PREFECT_API_URL"}  # no server given: Prefect's temporary one, started by the run itself
    proc = subprocess.Popen([*CLI, "run", "--input", str(landing), "--output", str(out), "--as-of", AS_OF],
                            env=env, text=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        _wait_for(proc, "paused before ingest", timeout=300)
        time.sleep(2)  # the GX worker's start-up, begun before Prefect's, has surely forked by now
        helpers = set(marked(token)) - {proc.pid}
        assert len(helpers) >= 3, helpers  # at least: fork server, GX worker, resource tracker / server
        os.kill(proc.pid, signal.SIGKILL)  # the main process only, not its group
        proc.wait(timeout=30)
        deadline = time.monotonic() + 20
        while marked(token) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert marked(token) == [], [Path(f"/proc/{p}/cmdline").read_bytes()[:200] for p in marked(token)]
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)  # a process group this test started
        for pid in marked(token):  # never leave this test's own processes behind, even on failure
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
