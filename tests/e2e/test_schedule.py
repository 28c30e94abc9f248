"""The nightly deployment against a real, self-hosted Prefect server.

Starts ``prefect server start`` on a free loopback port with its own PREFECT_HOME, serves the
deployment with ``povertylink serve --interval``, and waits for a scheduled run of
``povertylink-nightly/nightly`` to complete and publish. Every process started here runs in its
own session and is killed with its whole process group at teardown, pass or fail.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
QUIET_ENV = {"PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1", "GX_ANALYTICS_ENABLED": "false"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the process group, then SIGKILL whatever is left after 15 s."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass
    try:
        os.killpg(process.pid, signal.SIGKILL)  # children (flow-run subprocesses) too
    except ProcessLookupError:
        pass
    process.wait(timeout=15)


def tail(path: Path, chars: int = 3000) -> str:
    return path.read_text(errors="replace")[-chars:] if path.exists() else ""


@pytest.fixture(scope="module")
def landing(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("landing")
    subprocess.run([str(BIN / "povertylink"), "sample", "--out", str(root), "--districts", "2",
                    "--households", "200", "--seed", "3"], check=True, capture_output=True,
                   env=os.environ | QUIET_ENV)
    return root


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A Prefect server on a free port, its own home and SQLite database; yields (env, api url, log)."""
    home = tmp_path_factory.mktemp("prefect_home")
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = os.environ | QUIET_ENV | {"PREFECT_HOME": str(home), "PREFECT_API_URL": api,
                                    "PREFECT_UI_ENABLED": "false", "PREFECT_LOGGING_LEVEL": "WARNING"}
    log = home / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen([str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port",
                                    str(port)], env=env, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                pytest.fail(f"prefect server exited with {process.returncode}:\n{tail(log)}")
            try:
                if httpx.get(f"{api}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"prefect server did not answer /api/health in 120 s:\n{tail(log)}")
            time.sleep(0.5)
        yield env, api, log
    finally:
        stop(process)


def post(api: str, path: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    response = httpx.post(f"{api}{path}", json=body, timeout=10)
    response.raise_for_status()
    return list(response.json())


def nightly_runs(api: str) -> list[dict[str, Any]]:
    """Flow runs of the deployment povertylink-nightly/nightly."""
    return post(api, "/flow_runs/filter", {
        "flows": {"name": {"any_": ["povertylink-nightly"]}},
        "deployments": {"name": {"any_": ["nightly"]}},
        "sort": "EXPECTED_START_TIME_ASC", "limit": 50,
    })


@pytest.fixture(scope="module")
def served(server, landing, tmp_path_factory):
    """``povertylink serve`` until one scheduled run has COMPLETED; yields (api, output, that run)."""
    env, api, server_log = server
    out = tmp_path_factory.mktemp("out")
    log = out.parent / "serve.log"
    with log.open("wb") as handle:
        process = subprocess.Popen([str(BIN / "povertylink"), "serve", "--input", str(landing), "--output", str(out),
                                    "--interval", "10"], env=env, stdout=handle, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    try:
        deadline = time.monotonic() + 240
        completed = None
        while completed is None:
            if process.poll() is not None:
                pytest.fail(f"povertylink serve exited with {process.returncode}:\n{tail(log)}")
            runs = nightly_runs(api)
            completed = next((r for r in runs if r["state_type"] == "COMPLETED"), None)
            if completed is None and time.monotonic() > deadline:
                states = [(r["name"], r["state_type"], r["state_name"]) for r in runs]
                pytest.fail(f"no scheduled run completed in 240 s; runs: {states}\nserve log:\n{tail(log)}"
                            f"\nserver log:\n{tail(server_log, 1500)}")
            time.sleep(2)
        yield api, out, completed, runs
    finally:
        stop(process)


def test_scheduled_run_completes_and_publishes(served):
    api, out, completed, runs = served
    assert completed["auto_scheduled"] is True, completed
    assert completed["parameters"]["output_dir"] == str(out.resolve())
    manifest = json.loads((out / "current" / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    assert sorted(d["lad_code"] for d in manifest["districts"]) == ["E07000105", "E07000106"]
    assert (out / "current" / "households.parquet").is_file()
    assert not [p for p in (out / "runs").iterdir() if p.name.startswith(".staging")
                and (p / "manifest.json").is_file() and json.loads((p / "manifest.json").read_text())
                .get("status") == "complete"]
    # overlapping runs (every 10 s) never corrupt the output: each either completes or is refused
    for run in runs:
        assert run["state_type"] in {"SCHEDULED", "PENDING", "RUNNING", "COMPLETED", "FAILED", "CANCELLED",
                                     "CANCELLING"}, run


def test_scheduled_run_leaves_its_summary_artifact(served):
    api, _, completed, _ = served
    artifacts = post(api, "/artifacts/filter", {"artifacts": {"key": {"any_": ["povertylink-run-summary"]}}})
    mine = [a for a in artifacts if a["flow_run_id"] == completed["id"]]
    assert mine, artifacts
    assert mine[0]["type"] == "markdown"
    assert "status **complete**" in mine[0]["data"]
