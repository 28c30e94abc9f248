"""Prefect's temporary API server, started the moment ``povertylink run`` starts, off the critical path.

With no ``PREFECT_API_URL``, Prefect starts a temporary API server when the flow first needs its
client: it imports its whole server package in the run's process (about 4 s), then starts the same
package again in a uvicorn subprocess and waits until it answers (5-6 s more). A run spent those
10-11 s before its first step; a rerun whose districts are all in the ingest cache has nothing else
to do meanwhile.

:func:`start_early` starts that subprocess at once, on a thread, with the command and environment
Prefect uses (:func:`server_command`, checked against Prefect's own in the tests), without importing
the server package here; :func:`wait_until_started` waits until it answers and returns its API
address, which the flow is given as ``PREFECT_API_URL`` (``flows.run_pipeline``), as Prefect's own
temporary server is given to Dask workers. :func:`stop` ends it. When a Prefect server is configured,
or the early start fails, nothing changes: Prefect starts its temporary server itself, as before.
No personal data: a loopback address and a process id.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import Future
from pathlib import Path

from pipelines.lifeline import end_process

Started = tuple[subprocess.Popen[bytes], str]  # the server's process and its API address
_started: Future[Started | None] | None = None
_lock = threading.Lock()


def server_command(port: int) -> list[str]:
    """The command of Prefect's temporary server (``SubprocessASGIServer``, Prefect 3): uvicorn serving
    ``prefect.server.api.server:create_app`` on loopback ``port``, without the UI."""
    import prefect

    return [sys.executable, "-m", "uvicorn", "--app-dir", str(Path(prefect.__file__).parent.parent), "--factory",
            "prefect.server.api.server:create_app", "--host", "127.0.0.1", "--port", str(port),
            "--log-level", "error", "--lifespan", "on"]


def server_environment() -> dict[str, str]:
    """The environment Prefect gives its temporary server: this process's, its settings, the server flags."""
    from prefect.settings import get_current_settings

    return {**os.environ, "PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1", "PREFECT__SERVER_FINAL": "1",
            **get_current_settings().to_environment_variables(exclude_unset=True)}


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _needed() -> bool:
    """True when Prefect would start a temporary server: no API address set, temporary servers allowed."""
    from prefect.settings import PREFECT_API_URL, PREFECT_SERVER_EPHEMERAL_ENABLED

    return not PREFECT_API_URL.value() and bool(PREFECT_SERVER_EPHEMERAL_ENABLED.value())


def _spawn() -> Started | None:
    if not _needed():
        return None
    port = _free_port()
    return subprocess.Popen(server_command(port), env=server_environment()), f"http://127.0.0.1:{port}/api"


def start_early() -> None:
    """Begin starting Prefect's temporary API server on a daemon thread (once per process); returns at once.

    The thread reads the process's Prefect settings (environment, profile), not a ``temporary_settings``
    block of the caller: ``povertylink run`` calls this before any such block exists."""
    global _started
    with _lock:
        if _started is not None:
            return
        future: Future[Started | None] = Future()
        _started = future

    def run() -> None:
        try:
            future.set_result(_spawn())
        except BaseException as err:  # noqa: BLE001 - Prefect starts its own server instead
            future.set_exception(err)

    threading.Thread(target=run, name="povertylink-prefect-start", daemon=True).start()


def _answers(api_url: str) -> bool:
    import httpx

    try:
        return httpx.get(f"{api_url}/health", timeout=2.0).status_code == 200
    except httpx.HTTPError:
        return False


def wait_until_started(timeout_s: float | None = None) -> str | None:
    """The API address of :func:`start_early`'s server once it answers; None when it was not started early,
    none is needed (a server is configured) or it did not start within ``timeout_s`` (None: Prefect's own
    ``PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS``; stopped: Prefect then starts its own)."""
    with _lock:
        future = _started
    if future is None:
        return None
    try:
        started = future.result()
    except Exception:  # noqa: BLE001 - see above
        return None
    if started is None:
        return None
    process, api_url = started
    if timeout_s is None:
        from prefect.settings import PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS

        timeout_s = float(PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS.value())
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and process.poll() is None:
        if _answers(api_url):
            return api_url
        time.sleep(0.1)
    stop()
    return None


def stop() -> None:
    """End the early server, if one was started (terminate; killed after 5 s)."""
    global _started
    with _lock:
        future, _started = _started, None
    if future is None or not future.done() or future.exception() is not None:
        return  # not started (a spawn still under way ends with this process: pipelines.lifeline)
    started = future.result()
    if started is None:
        return
    end_process(started[0])
