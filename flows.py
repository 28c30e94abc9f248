"""Prefect flows: the nightly run, mapped per district, and its ad hoc twin for the command line.

Tasks are thin shells around the stage functions in ``pipelines/``; they pass paths and small
JSON-able values, never frames or connections. The same flow runs with no Prefect server
(ad hoc: ``povertylink run``), served against a self-hosted one (``povertylink serve``), and
with its district tasks on a Dask cluster (``--task-runner dask --dask-address tcp://...``). On
Dask, the linkage's pair work is partitioned by district too (:mod:`matching.partition`): the
workers write per-district comparison vectors and the hub fits, scores and clusters their union.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import shutil
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from importlib import metadata
from pathlib import Path
from typing import Any

for _name, _value in {"PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1",
                      "GX_ANALYTICS_ENABLED": "false"}.items():
    os.environ.setdefault(_name, _value)

from prefect import flow, task  # noqa: E402
from prefect.artifacts import create_markdown_artifact  # noqa: E402
from prefect.context import FlowRunContext  # noqa: E402

from pipelines.hub import HUB_STAGES, run_hub  # noqa: E402
from pipelines.ingest import cache, gx_worker  # noqa: E402
from pipelines.ingest.landing import DISTRICT_THREADS, DistrictPlan, ingest_district, ingest_reference, plan_landing  # noqa: E402
from pipelines.measure import StageTimer  # noqa: E402
from pipelines.progress import QuietReporter, Reporter  # noqa: E402
from pipelines.publish import clean_stale_staging, current_dir, new_run_id, promote, staging_dir, write_json  # noqa: E402
from schemas.config import load_config  # noqa: E402
from schemas.errors import UserError  # noqa: E402

EXIT_OK = 0
EXIT_FILES_REJECTED = 1  # published, but at least one file was refused whole (see the summary)
EXIT_USAGE = 2
EXIT_DISTRICT_FAILED = 3
EXIT_STAGE_FAILED = 4
FROM_STAGES = ("ingest", *HUB_STAGES)
PARTITIONS = "_partitions"  # in the run's staging folder; deleted when the hub stages end


@dataclass(frozen=True)
class RunRequest:
    """What ``povertylink run`` was asked to do."""

    input_dir: Path
    output_dir: Path
    as_of: dt.date
    districts: tuple[str, ...] = ()
    config: Path | None = None
    from_stage: str = "ingest"
    task_runner: str = "threads"  # threads | dask
    dask_address: str | None = None


@dataclass
class RunOutcome:
    """What a run did: its manifest, where it was published, and the exit status."""

    run_id: str
    exit_code: int
    manifest: dict[str, Any]
    published: Path | None = None
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """The end-of-run summary printed on the terminal."""
        from pipelines.summary import format_run_summary

        return format_run_summary(self.manifest, self.published, self.errors)


def _cached(output: Path, key: str, build: Callable[[Path], dict[str, Any]]) -> dict[str, Any]:
    """The manifest section of a content-addressed cache entry, built into it first when missing."""
    folder = cache.cache_folder(output, key)
    entry = cache.read_entry(folder)
    if entry is not None:
        os.utime(folder)
        return entry | {"cache": "hit", "cache_key": key}
    building = folder.with_name(f"{folder.name}.building-{os.getpid()}-{time.monotonic_ns()}")
    section = build(building)
    shutil.rmtree(folder, ignore_errors=True)
    os.replace(building, folder)
    cache.write_entry(folder, section)
    return section | {"cache": "miss", "cache_key": key}


@task(name="ingest-district", retries=2, retry_delay_seconds=[2, 10])
def ingest_district_task(plan: DistrictPlan, as_of: dt.date, output: str) -> dict[str, Any]:
    """Validate one district's extracts into the content-addressed cache (reused when unchanged)."""
    return _cached(Path(output), cache.district_key(plan, as_of), lambda into: ingest_district(plan, as_of, into))


@task(name="ingest-reference", retries=2, retry_delay_seconds=[2, 10])
def ingest_reference_task(landing: str, as_of: dt.date, stage: str, output: str) -> dict[str, Any]:
    """Validate the optional county files (EPC ratings, postcode lookup), through the same cache."""
    key = cache.reference_key(Path(landing), as_of)
    section = _cached(Path(output), key, lambda into: ingest_reference(Path(landing), as_of, into))
    cache.link_tree(cache.cache_folder(Path(output), key), Path(stage))
    return section


def _worker() -> str:
    """Where a task ran: the Dask worker's address, or host:pid outside Dask."""
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):
        return f"{socket.gethostname()}:{os.getpid()}"


@task(name="link-within-vectors", retries=2, retry_delay_seconds=[2, 10])
def within_vectors_task(stage: str, lad_code: str, root: str, lad_codes: list[str]) -> dict[str, Any]:
    """One district's claim-account comparison vectors and person records, as Parquet under ``root``."""
    from matching.partition import Partitions, within_vectors

    parts, started = Partitions(Path(root), tuple(lad_codes)), time.perf_counter()
    pairs = within_vectors(Path(stage), lad_code, parts.path("within", lad_code), parts.path("persons", lad_code))
    return {"lad_code": lad_code, "kind": "within", "pairs": pairs, "worker": _worker(),
            "seconds": round(time.perf_counter() - started, 3)}


@task(name="link-person-vectors", retries=2, retry_delay_seconds=[2, 10])
def person_vectors_task(stage: str, lad_code: str, root: str, lad_codes: list[str]) -> dict[str, Any]:
    """The cross-district person pairs whose x side is in one district, as Parquet under ``root``."""
    from matching.partition import Partitions, person_vectors

    parts, started = Partitions(Path(root), tuple(lad_codes)), time.perf_counter()
    pairs = person_vectors(Path(stage), lad_codes, lad_code, parts.path("person_vectors", lad_code), parts)
    return {"lad_code": lad_code, "kind": "person_vectors", "pairs": pairs, "worker": _worker(),
            "seconds": round(time.perf_counter() - started, 3)}


def _partition(stage: Path, lad_codes: list[str], reporter: Reporter) -> dict[str, Any]:
    """Linkage partitions as tasks: every district's within vectors, then every district's person pairs.

    The person tasks need every district's person records, so they start when the first wave is done.
    """
    root, codes = stage / PARTITIONS, sorted(lad_codes)
    reporter.stage("link partitions", max(2 * len(codes), 1))
    tasks: list[dict[str, Any]] = []
    for shell in (within_vectors_task, person_vectors_task):
        futures = [(lad, shell.submit(str(stage), lad, str(root), codes)) for lad in codes]
        failure: Exception | None = None
        for lad, future in futures:  # wait for every task of the wave, even after a failure
            try:
                tasks.append(future.result())
            except Exception as err:  # noqa: BLE001 - re-raised once the wave has ended
                failure = failure or err
                continue
            reporter.advance("link partitions", f"{lad} {tasks[-1]['kind']}")
        if failure is not None:
            raise RuntimeError(f"linkage partition failed after retries: {failure}") from failure
    reporter.done("link partitions")
    return {"folder": PARTITIONS, "tasks": tasks, "workers": sorted({t["worker"] for t in tasks})}


def _versions() -> dict[str, str]:
    names = ["povertylink", "duckdb", "pyarrow", "pandas", "recordlinkage", "pydantic", "prefect", "great-expectations"]
    found = {"python": platform.python_version(), "code": cache.code_version()}
    for name in names:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def _reconciliation(sections: list[dict[str, Any]]) -> dict[str, Any]:
    files = [f for d in sections for f in d.get("files", [])]
    return {
        "files": len(files),
        "rows_read": sum(f["rows_read"] for f in files),
        "rows_valid": sum(f["rows_valid"] for f in files),
        "rows_quarantined": sum(f["rows_quarantined"] for f in files),
        "files_rejected": sum(1 for f in files if f["status"] == "rejected"),
        "all_reconcile": all(f["reconciles"] for f in files),
    }


def check_request(request: RunRequest) -> None:
    """Every check a user can act on, made before the flow starts: UserError with one clear line."""
    config = load_config(request.config)
    plan_landing(request.input_dir, request.as_of, request.districts)
    from pipelines.score.params import load_parameters

    load_parameters(request.as_of, config.parameters or None)
    if request.output_dir.exists() and not request.output_dir.is_dir():
        raise UserError(f"--output {request.output_dir}: exists and is not a folder")
    if request.from_stage not in FROM_STAGES:
        raise UserError(f"--from-stage {request.from_stage!r}: expected one of {', '.join(FROM_STAGES)}")
    if request.from_stage != "ingest" and current_dir(request.output_dir) is None:
        raise UserError(f"--from-stage {request.from_stage}: there is no previous good run in {request.output_dir} "
                        "to reuse; run without --from-stage first")
    if request.task_runner == "dask" and not request.dask_address:
        raise UserError("--task-runner dask needs --dask-address tcp://HOST:PORT")


def _previous_manifest(previous: Path | None) -> dict[str, Any]:
    if previous is None or not (previous / "manifest.json").is_file():
        return {}
    return dict(json.loads((previous / "manifest.json").read_text(encoding="utf-8")))


def _linkage_unchanged(link_key: str, previous_manifest: dict[str, Any]) -> bool:
    """True when the last good run linked exactly these inputs (see :func:`pipelines.ingest.cache.link_key`)."""
    return previous_manifest.get("status") == "complete" and previous_manifest.get("link_key") == link_key


def _reuse_district(lad: str, previous: Path, stage: Path, previous_manifest: dict[str, Any]) -> dict[str, Any]:
    source = previous / "validated" / lad
    if not source.is_dir():
        raise UserError(f"cannot reuse district {lad}: the previous run {previous.name} has no validated/{lad}")
    cache.link_tree(source, stage / "validated" / lad)
    section = next((d for d in previous_manifest.get("districts", []) if d.get("lad_code") == lad), None)
    section = {k: v for k, v in (section or {"lad_code": lad, "files": [], "notes": []}).items() if k != "cache"}
    return section | {"reused_from": previous.name}


def _ingest(request: RunRequest, plans: list[DistrictPlan], stage: Path, previous: Path | None,
            previous_manifest: dict[str, Any], reporter: Reporter, errors: list[str]) -> list[dict[str, Any]]:
    """Ingest the districts asked for (as tasks); reuse the others from the previous good run."""
    fresh = plans if request.from_stage == "ingest" else []
    reused: list[str] = []
    if previous is not None and (request.districts or request.from_stage != "ingest"):
        asked = {p.lad_code for p in fresh}
        reused = [d["lad_code"] for d in previous_manifest.get("districts", []) if d["lad_code"] not in asked]
    reporter.stage("ingest", max(len(fresh) + len(reused), 1))
    futures = [(plan, ingest_district_task.submit(plan, request.as_of, str(request.output_dir))) for plan in fresh]
    sections: list[dict[str, Any]] = []
    for lad in reused:
        assert previous is not None
        sections.append(_reuse_district(lad, previous, stage, previous_manifest))
        reporter.advance("ingest", f"{lad} reused")
    for plan, future in futures:
        try:
            section = future.result()
        except Exception as err:  # noqa: BLE001 - reported per district, the others go on
            errors.append(f"district {plan.lad_code} failed after retries: {err}")
            sections.append({"lad_code": plan.lad_code, "files": [], "notes": [], "error": str(err)})
            reporter.advance("ingest", f"{plan.lad_code} FAILED")
            continue
        cache.link_tree(cache.cache_folder(request.output_dir, section["cache_key"]), stage)
        sections.append(section)
        rows = sum(f["rows_read"] for f in section["files"])
        reporter.advance("ingest", f"{plan.lad_code} {rows:,} rows ({section['cache']} cache)")
    gx_worker.shutdown()  # its memory back before the hub stages; the next run starts it again
    reporter.done("ingest")
    return sorted(sections, key=lambda d: d["lad_code"])


def _artifact(manifest: dict[str, Any]) -> None:
    """A markdown summary in Prefect (headline numbers and data-quality problems), when in a flow run."""
    if FlowRunContext.get() is None:
        return
    from pipelines.summary import artifact_markdown

    create_markdown_artifact(key="povertylink-run-summary", markdown=artifact_markdown(manifest),
                             description=f"povertylink run {manifest.get('run_id')}")


@contextmanager
def _output_lock(output: Path) -> Iterator[None]:
    """One run at a time per output folder (a nightly run and a rerun by hand must not meet).

    Each run clears the staging folders it finds and promotes into the same ``current``: two at
    once would delete each other's work. The lock is ``flock`` on ``<output>/.povertylink.lock``,
    released by the kernel when the process ends, so a killed run never leaves it held.
    """
    import fcntl

    output.mkdir(parents=True, exist_ok=True)
    with (output / ".povertylink.lock").open("a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UserError(f"--output {output}: another povertylink run is writing there; "
                            "try again when it has finished") from None
        yield


def execute(request: RunRequest, reporter: Reporter | None = None) -> RunOutcome:
    """The run itself (called inside a flow), holding the output folder's lock."""
    with _output_lock(request.output_dir):
        return _execute(request, reporter)


def _execute(request: RunRequest, reporter: Reporter | None = None) -> RunOutcome:
    """Plan, ingest, hub stages, publish."""
    reporter = reporter or QuietReporter()
    started = dt.datetime.now(dt.timezone.utc)
    clock = time.perf_counter()
    config = load_config(request.config)
    output = request.output_dir
    output.mkdir(parents=True, exist_ok=True)
    previous = current_dir(output)
    previous_manifest = _previous_manifest(previous)
    plans = plan_landing(request.input_dir, request.as_of, request.districts)
    run_id = new_run_id(started, request.as_of)
    clean_stale_staging(output)
    cache.prune(output)
    stage = staging_dir(output, run_id)
    stage.mkdir(parents=True)
    final = (output / "runs" / run_id).resolve()
    timer = StageTimer()
    manifest: dict[str, Any] = {
        "run_id": run_id, "as_of": request.as_of.isoformat(), "started_at": started.isoformat(),
        "input_dir": str(request.input_dir.resolve()), "districts_requested": list(request.districts),
        "from_stage": request.from_stage, "previous_run": previous.name if previous else None,
        "versions": _versions(), "config": config.model_dump(), "task_runner": request.task_runner,
    }
    errors: list[str] = []
    districts = timer.run("ingest", lambda: _ingest(request, plans, stage, previous, previous_manifest, reporter,
                                                    errors))
    manifest["reference"] = ingest_reference_task(str(request.input_dir), request.as_of, str(stage), str(output))
    manifest["districts"] = districts
    manifest["reconciliation"] = _reconciliation(districts + [manifest["reference"]])
    lad_codes = [d["lad_code"] for d in districts]

    def failed(code: int) -> RunOutcome:
        manifest.update(status="failed", errors=errors, timings=timer.stages)
        write_json(manifest, stage / "manifest.json")
        _artifact(manifest)
        return RunOutcome(run_id, code, manifest, None, errors)

    if errors:
        return failed(EXIT_DISTRICT_FAILED)
    hub_from = "link" if request.from_stage == "ingest" else request.from_stage
    manifest["link_key"] = cache.link_key(districts, config.linkage)
    if hub_from == "link" and _linkage_unchanged(manifest["link_key"], previous_manifest):
        hub_from = "score"  # same extracts, code and settings as the last good run: its links are this run's
    partitioned = request.task_runner == "dask" and hub_from == "link" and bool(lad_codes)
    try:
        tasks = timer.run("partition", lambda: _partition(stage, lad_codes, reporter)) if partitioned else None
        reporter.stage("link, score, benchmark, publish", 1)
        manifest.update(run_hub(stage, final, lad_codes, request.as_of, run_id, config, previous, timer,
                                manifest | {"previous_manifest": previous_manifest}, hub_from,
                                stage / PARTITIONS if partitioned else None))
        if tasks is not None:
            manifest["linkage"]["partitions"] |= tasks
    except UserError:
        raise
    except Exception as err:  # noqa: BLE001 - a failed stage publishes nothing
        errors.append(f"{type(err).__name__}: {err}")
        return failed(EXIT_STAGE_FAILED)
    finally:
        shutil.rmtree(stage / PARTITIONS, ignore_errors=True)  # person records: never published
    manifest["status"] = "complete"
    manifest["timings"] = timer.stages | {"total": {"wall_s": round(time.perf_counter() - clock, 3)}}
    manifest["finished_at"] = dt.datetime.now(dt.timezone.utc).isoformat()
    write_json(manifest, stage / "manifest.json")
    published = promote(output, run_id)
    reporter.done("link, score, benchmark, publish", f"published {run_id}")
    _artifact(manifest)
    rejected = [f"{d['lad_code']}/{f['file']}: {f['reason']}" for d in districts for f in d.get("files", [])
                if f["status"] == "rejected" and not d.get("reused_from")]
    return RunOutcome(run_id, EXIT_FILES_REJECTED if rejected else EXIT_OK, manifest, published, rejected)


@flow(name="povertylink-nightly", log_prints=False, validate_parameters=False)
def nightly(input_dir: str, output_dir: str, as_of: str | None = None, districts: list[str] | None = None,
            config: str | None = None) -> dict[str, Any]:
    """The scheduled run: every district as of today (or ``as_of``); fails when nothing was published."""
    request = RunRequest(Path(input_dir), Path(output_dir), dt.date.fromisoformat(as_of) if as_of else dt.date.today(),
                         tuple(districts or ()), Path(config) if config else None)
    check_request(request)
    outcome = execute(request)
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
    from prefect.settings import PREFECT_API_URL, temporary_settings

    if request.task_runner != "dask" or PREFECT_API_URL.value():
        yield
        return
    from prefect.server.api.server import SubprocessASGIServer

    server = SubprocessASGIServer()
    server.start()
    with temporary_settings(updates={PREFECT_API_URL: server.api_url}):
        yield


def _validates(request: RunRequest) -> bool:
    """True when this run will validate an extract in this process: a district it ingests is not cached."""
    if request.from_stage != "ingest" or request.task_runner == "dask":
        return False
    plans = plan_landing(request.input_dir, request.as_of, request.districts)
    try:
        return not all(cache.is_cached(request.output_dir, plan, request.as_of) for plan in plans)
    except OSError:  # an extract that cannot be read: its ingest task reports it (after retries)
        return True


def run_pipeline(request: RunRequest, reporter: Reporter | None = None) -> RunOutcome:
    """Run the flow ad hoc (no Prefect server needed) and return its outcome."""
    check_request(request)
    if _validates(request):
        gx_worker.warm_up()  # GX's import in its own process, while Prefect starts
    holder: dict[str, RunOutcome] = {}

    @flow(name="povertylink-run", log_prints=False, validate_parameters=False, task_runner=_task_runner(request))
    def adhoc() -> None:
        holder["outcome"] = execute(request, reporter)

    try:
        with _api_for_workers(request):
            adhoc()
    finally:
        if reporter is not None:
            reporter.close()
    return holder["outcome"]


def serve_nightly(input_dir: Path, output_dir: Path, cron: str | None, timezone: str, interval: int | None = None,
                  name: str = "nightly") -> None:
    """Register the nightly deployment with the Prefect server in PREFECT_API_URL and serve it."""
    parameters = {"input_dir": str(input_dir.resolve()), "output_dir": str(output_dir.resolve())}
    if interval:
        nightly.serve(name=name, interval=interval, parameters=parameters)
    else:
        from prefect.schedules import Cron

        nightly.serve(name=name, schedule=Cron(cron or "0 2 * * *", timezone=timezone), parameters=parameters)


__all__ = ["RunRequest", "RunOutcome", "execute", "nightly", "run_pipeline", "serve_nightly", "replace"]
