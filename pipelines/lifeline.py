"""Every process a run starts dies with it, even when the run itself is killed (SIGKILL, out of memory).

A run starts helpers it does not wait for: the Great Expectations worker and multiprocessing's
fork server and resource tracker (:mod:`pipelines.ingest.gx_worker`), and Prefect's temporary
API server. Killed without warning, the run cannot stop them, and they would run on. So:

- :func:`hold` gives this process a fresh token in the environment variable :data:`MARK_ENV`
  (every process started from now on inherits it) and starts a watchdog holding the read end of
  a pipe whose write end only this process has. When this process ends, however it ends, the
  kernel closes the pipe; the watchdog wakes and SIGKILLs every process whose environment
  carries the token, then exits. Linux only (it reads ``/proc``); elsewhere it does nothing.
- the GX worker also asks the kernel for SIGKILL when its parent (the fork server, which ends
  when the run does) dies: :func:`pipelines.ingest.gx_worker.die_with_parent`.
No personal data: process ids and a random token only.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

MARK_ENV = "POVERTYLINK_LIFELINE"

# The watchdog, run with ``python -I -S -c``: wait for EOF on stdin, then kill the token's processes.
_WATCHDOG = r"""
import os, signal, sys, time
for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
    signal.signal(sig, signal.SIG_IGN)  # Ctrl-C reaches the whole terminal group: outlive the run, not it
mark = b"%s=%s" % (sys.argv[1].encode(), sys.argv[2].encode())
while sys.stdin.buffer.read(65536):
    pass
def ours():
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != os.getpid():
            try:
                with open("/proc/%s/environ" % entry, "rb") as handle:
                    if mark in handle.read().split(b"\0"):
                        yield int(entry)
            except OSError:
                pass
for _ in range(5):  # a helper may be starting as the run dies: look again
    found = list(ours())
    for pid in found:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    if not found:
        break
    time.sleep(0.2)
"""

_watchdog: subprocess.Popen[bytes] | None = None


def hold() -> None:
    """Start the watchdog for this process (once); helpers started after this die with it."""
    global _watchdog
    if _watchdog is not None or not Path("/proc/self/environ").exists():
        return
    token = secrets.token_hex(16)
    env = {k: v for k, v in os.environ.items() if k != MARK_ENV}  # the watchdog must not match itself
    _watchdog = subprocess.Popen([sys.executable, "-I", "-S", "-c", _WATCHDOG, MARK_ENV, token],
                                 stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                 env=env, close_fds=True)
    os.environ[MARK_ENV] = token



def end_process(process: subprocess.Popen[Any], grace_s: float = 5.0) -> None:
    """Stop a helper this process started: SIGTERM, then SIGKILL if it has not ended within ``grace_s`` seconds;
    reaped either way (no zombie)."""
    process.terminate()
    try:
        process.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
