"""Prefect flows: the nightly run and its ad hoc twin for the command line.

The run itself is plain code in :mod:`pipelines.run`; this module gives it an executor whose steps
are Prefect tasks (:class:`PrefectExecutor`), the flows that call it, the schedule, and the Dask
task runner. The same flow runs with no Prefect server (ad hoc: ``povertylink run``), served
against a self-hosted one (``povertylink serve``), and with its steps on a Dask cluster
(``--task-runner dask --dask-address tcp://...``), where the linkage's pair work is partitioned
by district too (:mod:`matching.partition`).
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

for _name, _value in {"PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1",
                      "GX_ANALYTICS_ENABLED": "false"}.items():
    os.environ.setdefault(_name, _value)

from prefect import flow, task  # noqa: E402
from prefect.artifacts import create_markdown_artifact  # noqa: E402
from prefect.context import FlowRunContext  # noqa: E402
from prefect.futures import PrefectFuture  # noqa: E402
from prefect.settings import PREFECT_API_URL, temporary_settings  # noqa: E402

from pipelines import prefect_server  # noqa: E402
from pipelines.ingest import gx_worker  # noqa: E402
from pipelines.ingest.district import DISTRICT_THREADS  # noqa: E402
from pipelines.progress import Reporter  # noqa: E402
from pipelines.run import (  # noqa: E402
    STEP_RETRIES,
    RunOutcome,
    RunRequest,
    check_request,
    district_section,
    execute,
    head_start,
    person_partition,
    reference_section,
    validates_here,
    within_partition,
)

Step = Callable[..., dict[str, Any]]
_TASK_NAMES: dict[Step, str] = {district_section: "ingest-district", reference_section: "ingest-reference",
                                within_partition: "link-within-vectors", person_partition: "link-person-vectors"}


def _as_task(step: Step, name: str) -> Any:
    """The step as a Prefect task, retried after each delay of :data:`pipelines.run.STEP_RETRIES`."""
    return task(name=name, retries=len(STEP_RETRIES), retry_delay_seconds=list(STEP_RETRIES))(step)


TASKS: dict[Step, Any] = {step: _as_task(step, name) for step, name in _TASK_NAMES.items()}


class PrefectExecutor:
    """Each step of the run a Prefect task on the flow's task runner (threads, or a Dask cluster)."""

    def __init__(self, partitioned: bool = False) -> None:
        self.partitioned = partitioned

    def submit(self, step: Step, *args: Any) -> PrefectFuture[dict[str, Any]]:
        """Submit the step's task; its retries are Prefect's."""
        return TASKS[step].submit(*args)

    def artifact(self, manifest: dict[str, Any]) -> None:
        """A markdown summary in Prefect (headline numbers and data-quality problems), when in a flow run."""
        if FlowRunContext.get() is None:
            return
        from pipelines.summary import artifact_markdown

        create_markdown_artifact(key="povertylink-run-summary", markdown=artifact_markdown(manifest),
                                 description=f"povertylink run {manifest.get('run_id')}")


@flow(name="povertylink-nightly", log_prints=False, validate_parameters=False)
def nightly(input_dir: str, output_dir: str, as_of: str | None = None, districts: list[str] | None = None,
            config: str | None = None) -> dict[str, Any]:
    """The scheduled run: every district as of today (or ``as_of``); fails when nothing was published."""
    request = RunRequest(Path(input_dir), Path(output_dir), dt.date.fromisoformat(as_of) if as_of else dt.date.today(),
                         tuple(districts or ()), Path(config) if config else None)
    check_request(request)
    outcome = execute(request, PrefectExecutor())
    if outcome.published is None:
        raise RuntimeError(f"povertylink run {outcome.run_id} failed: " + "; ".join(outcome.errors))
    return {"run_id": outcome.run_id, "exit_code": outcome.exit_code, "published": str(outcome.published)}


def _task_runner(request: RunRequest) -> Any:
    if request.task_runner == "dask":
        from prefect_dask import DaskTaskRunner

        return DaskTaskRunner(address=request.dask_address)
    from prefect.task_runners import ThreadPoolTaskRunner

    return ThreadPoolTaskRunner(max_workers=DISTRICT_THREADS)


@contextmanager
def _api_for_workers(request: RunRequest) -> Iterator[None]:
    """Give Dask workers a Prefect API they can reach when no server is configured.

    With no ``PREFECT_API_URL`` Prefect runs an ephemeral API inside the flow's process only; each
    Dask worker process would otherwise try to start its own (and time out, or record its task runs
    in a database the flow never sees). So start the ephemeral server as a local HTTP server and
    point this run's settings at it: Prefect hands its settings to every task it sends to a worker.
    It listens on 127.0.0.1, so this serves a ``LocalCluster``; a cluster spanning machines needs a
    real ``prefect server`` in PREFECT_API_URL (docs/OPERATIONS.md).
    """
    if request.task_runner != "dask" or PREFECT_API_URL.value():
        yield
        return
    from prefect.server.api.server import SubprocessASGIServer

    server = SubprocessASGIServer()
    server.start()
    with temporary_settings(updates={PREFECT_API_URL: server.api_url}):
        yield


def run_pipeline(request: RunRequest, reporter: Reporter | None = None) -> RunOutcome:
    """Run the flow ad hoc (no Prefect server needed) and return its outcome."""
    check_request(request)
    if validates_here(request):
        gx_worker.warm_up()  # GX's import in its own process, while Prefect starts
    early = head_start(request)  # districts validated while Prefect's temporary server starts
    holder: dict[str, RunOutcome] = {}

    @flow(name="povertylink-run", log_prints=False, validate_parameters=False, task_runner=_task_runner(request))
    def adhoc() -> None:
        holder["outcome"] = execute(request, PrefectExecutor(partitioned=request.task_runner == "dask"), reporter)

    api_url = prefect_server.wait_until_started()  # started early by `povertylink run`, if it was
    try:
        with temporary_settings(updates={PREFECT_API_URL: api_url}) if api_url else nullcontext(), \
                _api_for_workers(request):
            adhoc()
    finally:
        if early is not None:
            early.shutdown(wait=True)
        if reporter is not None:
            reporter.close()
    return holder["outcome"]


def stop_prefect(timeout_s: float = 5.0) -> None:
    """Send what Prefect still queues (events, logs; at most ``timeout_s`` seconds each), then stop the temporary
    API server this process started, if any: for a command that ends next, so that the server's shutdown
    messages (a busy machine can print an asyncio ``CancelledError``) come before the command's last lines."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    try:
        for service in (EventsWorker, APILogWorker):
            service.drain_all(timeout=timeout_s)
        prefect_server.stop()
        if "prefect.server.api.server" in sys.modules:  # Prefect started its own (not imported otherwise: 4 s)
            from prefect.server.api.server import SubprocessASGIServer

            for server in list(SubprocessASGIServer._instances.values()):
                server.stop()
    except Exception:  # noqa: BLE001 - best effort: the process ends next, and stops them anyway
        pass


def serve_nightly(input_dir: Path, output_dir: Path, cron: str | None, timezone: str, interval: int | None = None,
                  name: str = "nightly") -> None:
    """Register the nightly deployment with the Prefect server in PREFECT_API_URL and serve it."""
    parameters = {"input_dir": str(input_dir.resolve()), "output_dir": str(output_dir.resolve())}
    if interval:
        nightly.serve(name=name, interval=interval, parameters=parameters)
    else:
        from prefect.schedules import Cron

        nightly.serve(name=name, schedule=Cron(cron or "0 2 * * *", timezone=timezone), parameters=parameters)
