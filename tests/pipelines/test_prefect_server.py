"""Prefect's temporary API server started early (issue 19): the same server Prefect starts, sooner.

A real uvicorn subprocess and a real flow run recorded in it; Prefect's own command is captured (not
run) to prove ours is the same, so an upgrade that changes how Prefect starts it fails here.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pipelines import prefect_server
from tests.cli import ENV


@pytest.fixture(autouse=True)
def fresh() -> Iterator[None]:
    prefect_server.stop()
    prefect_server._started = None
    yield
    prefect_server.stop()
    prefect_server._started = None


def test_the_command_and_environment_are_prefects_own(monkeypatch: pytest.MonkeyPatch) -> None:
    from prefect.server.api import server

    seen: dict[str, Any] = {}

    def capture(args: list[str], env: dict[str, str], **_: Any) -> None:
        seen.update(args=args, env=env)

    monkeypatch.setattr(server.subprocess, "Popen", capture)
    server.SubprocessASGIServer(port=8765)._run_uvicorn_command()
    assert seen["args"] == prefect_server.server_command(8765)
    assert seen["env"] == prefect_server.server_environment()


# In a process of its own with a Prefect home of its own: a first start creates Prefect's database, and two
# processes creating the same one at once (another test's run) can fail each other.
LIVE = """
import json
from uuid import UUID
import httpx
from prefect import flow
from prefect.client.orchestration import get_client
from prefect.context import FlowRunContext
from prefect.events.worker import EventsWorker
from prefect.logging.handlers import APILogWorker
from prefect.settings import PREFECT_API_URL, temporary_settings
from pipelines import prefect_server

prefect_server.start_early()
prefect_server.start_early()  # once per process
api_url = prefect_server.wait_until_started()
health = httpx.get(f"{api_url}/health").status_code

@flow(name="povertylink-early-server-test")
def hello() -> str:
    return str(FlowRunContext.get().flow_run.id)

with temporary_settings(updates={PREFECT_API_URL: api_url}):
    run_id = hello()
    with get_client(sync_client=True) as client:
        state = client.read_flow_run(UUID(run_id)).state_type.value
    for service in (EventsWorker, APILogWorker):
        service.drain_all(timeout=5)
process = prefect_server._started.result()[0]
prefect_server.stop()
try:
    httpx.get(f"{api_url}/health")
    answers_after = True
except httpx.ConnectError:
    answers_after = False
print(json.dumps({"api_url": api_url, "health": health, "state": state, "exit": process.poll(),
                  "answers_after_stop": answers_after}))
"""


def test_started_early_it_answers_records_a_flow_run_and_stops(tmp_path: Path) -> None:
    env = {k: v for k, v in ENV.items() if k != "PREFECT_API_URL"} | {
        "PREFECT_HOME": str(tmp_path / "prefect"), "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
        "PREFECT_LOGGING_LEVEL": "ERROR"}
    done = subprocess.run([sys.executable, "-c", LIVE], capture_output=True, text=True, env=env, timeout=300,
                          check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["api_url"].startswith("http://127.0.0.1:") and seen["health"] == 200
    assert seen["state"] == "COMPLETED"  # the flow run is recorded in the early server
    assert seen["exit"] is not None and not seen["answers_after_stop"]  # stopped


def test_a_configured_server_is_left_alone() -> None:
    probe = ("from pipelines import prefect_server as p; p.start_early(); "
             "print(p.wait_until_started(), p._started.result())")
    env = ENV | {"PREFECT_API_URL": "http://127.0.0.1:9/api"}
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["None", "None"]  # no address, and no process started


def test_not_started_early_means_prefect_starts_its_own() -> None:
    assert prefect_server.wait_until_started() is None
    prefect_server.stop()  # nothing to stop: no error


def test_a_server_that_never_answers_is_stopped_and_left_to_prefect(monkeypatch: pytest.MonkeyPatch) -> None:
    silent = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    monkeypatch.setattr(prefect_server, "_spawn", lambda: (silent, "http://127.0.0.1:9/api"))
    prefect_server.start_early()
    assert prefect_server.wait_until_started(timeout_s=1.0) is None
    assert silent.wait(timeout=10) is not None  # terminated, not left running
