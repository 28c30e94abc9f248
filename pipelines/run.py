"""One run, as plain code: plan, ingest, hub stages, then publish or fail.

:func:`execute` is the run sequence. It takes a :class:`RunRequest` and an :class:`Executor` that
runs its steps: :class:`LocalExecutor` (threads in this process, no Prefect: what tests and the
``perf/`` harness use) or ``flows.PrefectExecutor`` (each step a Prefect task, on threads or a Dask
cluster). The steps are the module's plain functions named for what they produce
(:func:`district_section`, :func:`reference_section`, :func:`within_partition`,
:func:`person_partition`); they take paths and small values and return JSON-able manifest sections.
Personal data: pseudonymised rows only, staged under the run's private staging folder.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from importlib import metadata
from pathlib import Path
from typing import Any, Protocol

from pipelines.completeness import assess_landing
from pipelines.faults import fail_reading
from pipelines.history import Past, drop_view, read_past
from pipelines.hub import HUB_STAGES, HubJob, run_hub
from pipelines.ingest import cache, gx_worker
from pipelines.ingest.district import DISTRICT_THREADS, ingest_district, ingest_reference
from pipelines.ingest.plan import DistrictPlan, plan_landing
from pipelines.measure import StageTimer
from pipelines.progress import QuietReporter, Reporter
from pipelines.publish import (
    clean_stale_staging,
    current_dir,
    folder_lock,
    new_run_id,
    promote,
    staging_dir,
    write_json,
)
from pipelines.review import decisions_digest, in_force, precision_estimate, read_decisions
from pipelines.run_guards import (
    check_extracts_found,
    check_output,
    check_rows_found,
    parameters_last_date,
    parameters_warning,
    place_run,
    prune_runs,
    published_runs,
)
from schemas.config import duckdb_size, load_config
from schemas.errors import UserError
from schemas.reference import COUNTY_CODE, partnership_name

EXIT_OK = 0
EXIT_FILES_REJECTED = 1  # published, but at least one file was refused whole (see the summary)
EXIT_USAGE = 2
EXIT_DISTRICT_FAILED = 3
EXIT_STAGE_FAILED = 4
FROM_STAGES = ("ingest", *HUB_STAGES)
PARTITIONS = "_partitions"  # in the run's staging folder; deleted when the hub stages end
STEP_RETRIES = (2, 10)  # seconds before each retry of a step that failed (I/O: a file still being copied)


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
    backfill: bool = False  # a back-dated run joins the history in date order (it never replaces current)


@dataclass
class RunOutcome:
    """What a run did: its manifest, where it was published, and the exit status."""

    run_id: str
    exit_code: int
    manifest: dict[str, Any]
    published: Path | None = None
    errors: list[str] = field(default_factory=list)

    def summary(self, width: int | None = None) -> str:
        """The end-of-run summary printed on the terminal (``width``: its columns; None: lines not folded)."""
        from pipelines.summary import format_run_summary

        return format_run_summary(self.manifest, self.published, self.errors, width)


class Pending(Protocol):
    """A submitted step: ``result()`` waits for it and returns its value or raises its error."""

    def result(self) -> Any: ...


class Executor(Protocol):
    """Runs the run's steps: the only thing :func:`execute` knows about who does the work."""

    partitioned: bool  # True: linkage vectors are built per district as steps (:mod:`matching.partition`)

    def submit(self, step: Callable[..., dict[str, Any]], *args: Any) -> Pending:
        """Start ``step(*args)`` (retrying it on failure) and return at once."""
        ...

    def artifact(self, manifest: dict[str, Any]) -> None:
        """Publish the run's summary where the orchestrator shows it (nothing when there is none)."""
        ...


class LocalExecutor:
    """Steps on a pool of threads in this process, each retried as the Prefect tasks are."""

    partitioned = False

    def __init__(self, threads: int = DISTRICT_THREADS, retry_delays: tuple[float, ...] = STEP_RETRIES) -> None:
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="povertylink-step")
        self._delays = retry_delays

    def submit(self, step: Callable[..., dict[str, Any]], *args: Any) -> Future[dict[str, Any]]:
        """Run ``step(*args)`` on the pool, retrying after each delay of ``retry_delays``."""
        def attempt() -> dict[str, Any]:
            for delay in self._delays:
                try:
                    return step(*args)
                except Exception:  # noqa: BLE001 - retried; the last attempt's error is raised
                    time.sleep(delay)
            return step(*args)

        return self._pool.submit(attempt)

    def artifact(self, manifest: dict[str, Any]) -> None:
        """No orchestrator to show it to: the summary is on the terminal and in the manifest."""

    def close(self) -> None:
        """Wait for running steps and release the threads."""
        self._pool.shutdown(wait=True)


_EARLY: dict[str, Future[dict[str, Any]]] = {}  # cache key -> its head-start validation (see head_start)
_EARLY_LOCK = threading.Lock()


def head_start(request: RunRequest) -> ThreadPoolExecutor | None:
    """Validate the run's uncached districts now, on threads of this process, into the ingest cache:
    ``povertylink run`` calls it before Prefect's temporary server has started, so validation no longer
    waits for it. The flow's ingest steps then take each district's result (:func:`_cached` waits for
    one still in progress; one that failed is validated again by its step, with the step's retries).
    None when there is nothing to start (another stage first, a Dask run, every district cached, or the
    landing folder cannot be planned: the run reports that itself). The caller shuts the pool down."""
    if request.from_stage != "ingest" or request.task_runner != "threads" or output_busy(request.output_dir):
        return None
    try:
        plans = plan_landing(request.input_dir, request.as_of, request.districts)
        todo = [(plan, cache.district_key(plan, request.as_of)) for plan in plans
                if not cache.is_cached(request.output_dir, plan, request.as_of)]
    except (UserError, OSError):
        return None
    with _EARLY_LOCK:
        todo = [(plan, key) for plan, key in todo if key not in _EARLY]
        if not todo:
            return None
        pool = ThreadPoolExecutor(DISTRICT_THREADS, thread_name_prefix="povertylink-head-start")
        for plan, key in todo:
            _EARLY[key] = pool.submit(_cached, request.output_dir, key,
                                      partial(ingest_district, plan, request.as_of), True)
    return pool


def _cached(output: Path, key: str, build: Callable[[Path], dict[str, Any]], early: bool = False) -> dict[str, Any]:
    """The manifest section of a content-addressed cache entry, built into it first when missing.

    A head-start validation of the same entry (:func:`head_start`) is waited for and its section
    returned; ``early``: this is that validation.
    """
    if not early:
        with _EARLY_LOCK:
            started = _EARLY.pop(key, None)
        if started is not None:
            try:
                return started.result()
            except Exception:  # noqa: BLE001 - validated again below (the step has its own retries)
                pass
    folder = cache.cache_folder(output, key)
    damage = cache.entry_problem(folder) if folder.exists() else None
    entry = None if damage else cache.read_entry(folder)
    if entry is not None:
        os.utime(folder)
        return entry | {"cache": "hit", "cache_key": key}
    building = folder.with_name(f"{folder.name}.building-{os.getpid()}-{time.monotonic_ns()}")
    try:
        section = build(building)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)  # no half-built folder left (prune spares this process's)
        raise
    shutil.rmtree(folder, ignore_errors=True)  # a damaged entry is dropped: rebuilt from the landing files
    os.replace(building, folder)
    cache.write_entry(folder, section)
    if damage:
        section = section | {"notes": [*section.get("notes", []),
                                       f"damaged ingest cache entry dropped and rebuilt ({damage})"]}
    return section | {"cache": "miss", "cache_key": key}


def district_section(plan: DistrictPlan, as_of: dt.date, output: str) -> dict[str, Any]:
    """Step: one district's extracts validated into the content-addressed cache (reused when unchanged)."""
    for extract in plan.extracts:
        fail_reading(extract.path)
    return _cached(Path(output), cache.district_key(plan, as_of), lambda into: ingest_district(plan, as_of, into))


def reference_section(landing: str, as_of: dt.date, staging: str, output: str) -> dict[str, Any]:
    """Step: the optional county files (EPC ratings, postcode lookup) validated through the same cache."""
    key = cache.reference_key(Path(landing), as_of)
    section = _cached(Path(output), key, lambda into: ingest_reference(Path(landing), as_of, into))
    cache.copy_tree(cache.cache_folder(Path(output), key), Path(staging))
    return section


def _worker() -> str:
    """Where a step ran: the Dask worker's address, or host:pid outside Dask."""
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):
        return f"{socket.gethostname()}:{os.getpid()}"


def within_partition(staging: str, lad_code: str, root: str, lad_codes: list[str],
                     memory_limit: str = "") -> dict[str, Any]:
    """Step: one district's claim-account comparison vectors and person records, as Parquet under ``root``
    (DuckDB limited to ``memory_limit``, a share of the run's budget, when given)."""
    from matching.partition import Partitions, within_vectors

    parts, started = Partitions(Path(root), tuple(lad_codes)), time.perf_counter()
    pairs = within_vectors(Path(staging), lad_code, parts.path("within", lad_code), parts.path("persons", lad_code),
                           memory_limit)
    return {"lad_code": lad_code, "kind": "within", "pairs": pairs, "worker": _worker(),
            "seconds": round(time.perf_counter() - started, 3)}


def person_partition(staging: str, lad_code: str, root: str, lad_codes: list[str],
                     memory_limit: str = "") -> dict[str, Any]:
    """Step: the cross-district person pairs whose x side is in one district, as Parquet under ``root``."""
    from matching.partition import Partitions, person_vectors

    parts, started = Partitions(Path(root), tuple(lad_codes)), time.perf_counter()
    pairs = person_vectors(Path(staging), lad_codes, lad_code, parts.path("person_vectors", lad_code), parts,
                           memory_limit)
    return {"lad_code": lad_code, "kind": "person_vectors", "pairs": pairs, "worker": _worker(),
            "seconds": round(time.perf_counter() - started, 3)}


def _partition(executor: Executor, staging: Path, lad_codes: list[str], reporter: Reporter,
               memory_bytes: int = 0) -> dict[str, Any]:
    """Linkage partitions as steps: every district's within vectors, then every district's person pairs.

    The person steps need every district's person records, so they start when the first wave is done.
    ``memory_bytes``: the run's budget; each step's DuckDB gets the share of it one of the
    :data:`DISTRICT_THREADS` steps in flight may use.
    """
    root, codes = staging / PARTITIONS, sorted(lad_codes)
    share = duckdb_size(memory_bytes // DISTRICT_THREADS) if memory_bytes else ""
    reporter.stage("link partitions", max(2 * len(codes), 1))
    steps: list[dict[str, Any]] = []
    for step in (within_partition, person_partition):
        pending = [(lad, executor.submit(step, str(staging), lad, str(root), codes, share)) for lad in codes]
        failure: Exception | None = None
        for lad, job in pending:  # wait for every step of the wave, even after a failure
            try:
                steps.append(job.result())
            except Exception as err:  # noqa: BLE001 - re-raised once the wave has ended
                failure = failure or err
                continue
            reporter.advance("link partitions", f"{lad} {steps[-1]['kind']}")
        if failure is not None:
            raise RuntimeError(f"linkage partition failed after retries: {failure}") from failure
    reporter.done("link partitions")
    return {"folder": PARTITIONS, "tasks": steps, "workers": sorted({s["worker"] for s in steps})}


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
    """Every check a user can act on, made before anything runs: UserError with one clear line."""
    config = load_config(request.config)
    check_extracts_found(plan_landing(request.input_dir, request.as_of, request.districts), request.as_of)
    from pipelines.score.params import load_parameters

    load_parameters(request.as_of, config.parameters or None)
    if request.output_dir.exists() and not request.output_dir.is_dir():
        raise UserError(f"--output {request.output_dir}: exists and is not a folder")
    check_output(request.output_dir)
    read_decisions(request.output_dir)  # a damaged review/decisions.csv: exit 2 before anything runs
    if request.from_stage not in FROM_STAGES:
        raise UserError(f"--from-stage {request.from_stage!r}: expected one of {', '.join(FROM_STAGES)}")
    if request.from_stage != "ingest" and current_dir(request.output_dir) is None:
        raise UserError(f"--from-stage {request.from_stage}: there is no previous good run in {request.output_dir} "
                        "to reuse; run without --from-stage first")
    if request.task_runner == "dask" and not request.dask_address:
        raise UserError("--task-runner dask needs --dask-address tcp://HOST:PORT")


def _linkage_unchanged(link_key: str, previous_manifest: dict[str, Any]) -> bool:
    """True when the last good run linked exactly these inputs (see :func:`pipelines.ingest.cache.link_key`)."""
    return previous_manifest.get("status") == "complete" and previous_manifest.get("link_key") == link_key


def _reuse_district(lad: str, past: Past, staging: Path) -> dict[str, Any]:
    assert past.folder is not None
    cache.copy_tree(past.folder / "validated" / lad, staging / "validated" / lad)
    section = next((d for d in past.manifest.get("districts", []) if d.get("lad_code") == lad), None)
    section = {k: v for k, v in (section or {"lad_code": lad, "files": [], "notes": []}).items() if k != "cache"}
    return section | {"reused_from": past.folder.name}


def _to_ingest(request: RunRequest, plans: list[DistrictPlan], past: Past) -> tuple[list[DistrictPlan], list[str]]:
    """The districts to ingest from the landing folder, and those to reuse from the previous run.

    A rerun (``--district``, ``--from-stage``) reuses the previous run's other districts; where its
    manifest or a district's validated files are damaged, those districts are ingested afresh.
    """
    fresh = list(plans) if request.from_stage == "ingest" else []
    if past.folder is None or not (request.districts or request.from_stage != "ingest"):
        return fresh, []
    asked = {p.lad_code for p in fresh}
    landing = {p.lad_code: p for p in plan_landing(request.input_dir, request.as_of)}
    if not past.manifest_ok:  # nothing says which districts the last run had: every landing district afresh
        return list(landing.values()), []
    reused: list[str] = []
    for lad in [d["lad_code"] for d in past.manifest.get("districts", []) if d["lad_code"] not in asked]:
        if past.validated_problem(lad) is not None and lad in landing:
            fresh.append(landing[lad])  # damaged: rebuilt from its landing files
        else:
            reused.append(lad)
    return fresh, reused


def _ingest(request: RunRequest, executor: Executor, plans: list[DistrictPlan], staging: Path, past: Past,
            reporter: Reporter, errors: list[str]) -> list[dict[str, Any]]:
    """Ingest the districts asked for (as steps); reuse the others from the previous good run."""
    fresh, reused = _to_ingest(request, plans, past)
    reporter.stage("ingest", max(len(fresh) + len(reused), 1))
    pending = [(plan, executor.submit(district_section, plan, request.as_of, str(request.output_dir)))
               for plan in fresh]
    sections: list[dict[str, Any]] = []
    for lad in reused:
        if past.validated_problem(lad) is not None:
            errors.append(f"district {lad}: cannot reuse the previous run's validated files "
                          f"({past.validated_problem(lad)}) and the landing folder has none to ingest afresh")
            sections.append({"lad_code": lad, "files": [], "notes": [], "error": "previous validated files unusable"})
            continue
        sections.append(_reuse_district(lad, past, staging))
        reporter.advance("ingest", f"{lad} reused")
    for plan, job in pending:
        try:
            section = job.result()
        except Exception as err:  # noqa: BLE001 - reported per district, the others go on
            errors.append(f"district {plan.lad_code} failed after retries: {err}")
            sections.append({"lad_code": plan.lad_code, "files": [], "notes": [], "error": str(err)})
            reporter.advance("ingest", f"{plan.lad_code} FAILED")
            continue
        cache.copy_tree(cache.cache_folder(request.output_dir, section["cache_key"]), staging)
        sections.append(section)
        rows = sum(f["rows_read"] for f in section["files"])
        reporter.advance("ingest", f"{plan.lad_code} {rows:,} rows ({section['cache']} cache)")
    gx_worker.shutdown()  # its memory back before the hub stages; the next run starts it again
    reporter.done("ingest")
    return sorted(sections, key=lambda d: d["lad_code"])


@contextmanager
def output_lock(output: Path) -> Iterator[None]:
    """One run at a time per output folder (a nightly run and a rerun by hand must not meet).

    Each run clears the staging folders it finds and promotes into the same ``current``: two at
    once would delete each other's work. The lock is ``flock`` on ``<output>/.povertylink.lock``,
    released by the kernel when the process ends, so a killed run never leaves it held.
    """
    with folder_lock(output / ".povertylink.lock", f"--output {output}: another povertylink run is writing there; "
                     "try again when it has finished"):
        yield


def output_busy(output: Path) -> bool:
    """True when another process holds ``output``'s run lock (:func:`output_lock`) right now: the head start
    then stays out of its cache (this run will stop at the lock anyway)."""
    lock_file = output / ".povertylink.lock"
    if not lock_file.is_file():
        return False
    try:
        with output_lock(output):
            return False
    except UserError:
        return True


def execute(request: RunRequest, executor: Executor, reporter: Reporter | None = None) -> RunOutcome:
    """The run itself, holding the output folder's lock: plan, ingest, hub stages, publish."""
    with output_lock(request.output_dir):
        return _execute(request, executor, reporter or QuietReporter())


def _execute(request: RunRequest, executor: Executor, reporter: Reporter) -> RunOutcome:
    started = dt.datetime.now(dt.timezone.utc)
    clock = time.perf_counter()
    config = load_config(request.config)
    output = request.output_dir
    output.mkdir(parents=True, exist_ok=True)
    placement = place_run(output, request.as_of, request.backfill)
    previous = placement.previous
    plans = plan_landing(request.input_dir, request.as_of, request.districts)
    run_id = new_run_id(started, request.as_of)
    clean_stale_staging(output)
    cache.prune(output)
    staging = staging_dir(output, run_id)
    staging.mkdir(parents=True)
    # damaged files of the last run: reported, then ignored (households decoded whole only to be restored)
    past = read_past(previous, staging, whole=request.from_stage == "benchmark")
    timer = StageTimer()
    manifest: dict[str, Any] = {
        "run_id": run_id, "as_of": request.as_of.isoformat(), "started_at": started.isoformat(),
        "input_dir": str(request.input_dir.resolve()), "districts_requested": list(request.districts),
        "from_stage": request.from_stage, "previous_run": previous.name if previous else None,
        "versions": _versions(), "task_runner": request.task_runner,
        "config": {"parameters": config.parameters, "linkage": config.linkage.model_dump(exclude_unset=True),
                   "retention": config.retention.model_dump(), "report": config.report.model_dump(),
                   "resources": {"memory_limit": config.resources.memory_limit or None,
                                 "memory_budget_mb": round(config.resources.memory_bytes() / 2**20),
                                 "threads": config.resources.threads or None}},
        "history": placement.manifest() | {"runs_kept": len(published_runs(output)) + 1},  # this one included
        "parameters_end": {"last_date": parameters_last_date().isoformat(),
                           "warning": parameters_warning(request.as_of)},
    }
    errors: list[str] = []
    districts = timer.run("ingest", lambda: _ingest(request, executor, plans, staging, past, reporter, errors))
    manifest["reference"] = executor.submit(reference_section, str(request.input_dir), request.as_of, str(staging),
                                            str(output)).result()
    manifest["districts"] = districts
    if past.damaged:
        manifest["history"] |= past.as_manifest()  # with any validated files found damaged while reusing
    manifest["reconciliation"] = _reconciliation(districts + [manifest["reference"]])
    gaps = assess_landing(config.completeness, districts, request.as_of, request.input_dir, past.manifest)
    manifest["completeness"] = gaps.as_manifest()
    lad_codes = [d["lad_code"] for d in districts]
    manifest["county_name"] = partnership_name(lad_codes, config.report.county_name)

    def failed(code: int) -> RunOutcome:
        drop_view(staging)
        manifest.update(status="failed", errors=errors, timings=timer.stages)
        write_json(manifest, staging / "manifest.json")
        executor.artifact(manifest)
        return RunOutcome(run_id, code, manifest, None, errors)

    refusal = gaps.refusal()  # [completeness] require_complete / fail_on_warnings: publish nothing
    if refusal and not errors:
        errors.append(refusal)
    if errors:
        return failed(EXIT_DISTRICT_FAILED)
    try:
        check_rows_found(districts, request.as_of)
    except UserError:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    hub_from = "link" if request.from_stage == "ingest" else request.from_stage
    decisions = in_force(read_decisions(output))  # clerical review: honoured by the link stage
    manifest["clerical_review"] = precision_estimate(decisions)
    manifest["link_key"] = cache.link_key(districts, config.linkage.model_dump(exclude_unset=True) | (
        {"clerical_decisions": decisions_digest(decisions)} if decisions else {}))
    if hub_from == "link" and _linkage_unchanged(manifest["link_key"], past.manifest):
        hub_from = "score"  # same extracts, code and settings as the last good run: its links are this run's
    if hub_from != "link" and not all(past.usable(f) for f in ("households.parquet", "links.parquet")):
        hub_from = "link"  # the previous run's links or households are damaged: recomputed, not restored
    partitioned = executor.partitioned and hub_from == "link" and bool(lad_codes)
    job = HubJob(staging=staging, final=(output / "runs" / run_id).resolve(), lad_codes=lad_codes,
                 as_of=request.as_of, run_id=run_id, config=config, previous=past.view,
                 previous_manifest=past.manifest, from_stage=hub_from, backfills=placement.backfills,
                 partitions=staging / PARTITIONS if partitioned else None, unavailable=gaps.unavailable(),
                 output=output, decisions=tuple(decisions))
    try:
        budget = config.resources.memory_bytes()
        steps = timer.run("partition", lambda: _partition(executor, staging, lad_codes, reporter, budget)) \
            if partitioned else None
        manifest.update(run_hub(job, timer, manifest, reporter))
        for row in (manifest.get("scoring") or {}).get("summary") or []:  # C33: the county row as configured
            if row.get("lad_code") == COUNTY_CODE:
                row["district_name"] = manifest["county_name"]
        if steps is not None:
            manifest["linkage"]["partitions"] |= steps
    except UserError:
        raise
    except Exception as err:  # noqa: BLE001 - a failed stage publishes nothing
        errors.append(f"{type(err).__name__}: {err}")
        return failed(EXIT_STAGE_FAILED)
    finally:
        shutil.rmtree(staging / PARTITIONS, ignore_errors=True)  # person records: never published
        drop_view(staging)
    manifest["status"] = "complete"
    manifest["timings"] = timer.stages | {"total": {"wall_s": round(time.perf_counter() - clock, 3)}}
    manifest["finished_at"] = dt.datetime.now(dt.timezone.utc).isoformat()
    current = current_dir(output)
    manifest["retention"] = prune_runs(output, config.retention.keep_runs, {current.name} if current else set())
    write_json(manifest, staging / "manifest.json")
    published = promote(output, run_id, make_current=placement.becomes_current)
    reporter.done("publish", f"published {run_id}")
    executor.artifact(manifest)
    rejected = [f"{d['lad_code']}/{f['file']}: {f['reason']}" for d in districts for f in d.get("files", [])
                if f["status"] == "rejected" and not d.get("reused_from")]
    notice = [line for line in [gaps.attention()] if line] + rejected
    return RunOutcome(run_id, EXIT_FILES_REJECTED if notice else EXIT_OK, manifest, published, notice)


def validates_here(request: RunRequest) -> bool:
    """True when this run will validate an extract in this process: a district it ingests is not cached."""
    if request.from_stage != "ingest" or request.task_runner == "dask":
        return False
    plans = plan_landing(request.input_dir, request.as_of, request.districts)
    try:
        return not all(cache.is_cached(request.output_dir, plan, request.as_of) for plan in plans)
    except OSError:  # an extract that cannot be read: its ingest step reports it (after retries)
        return True


def run_local(request: RunRequest, reporter: Reporter | None = None,
              retry_delays: tuple[float, ...] = STEP_RETRIES) -> RunOutcome:
    """A whole run in this process without Prefect: the same checks, steps and outputs as ``run``."""
    check_request(request)
    if request.task_runner != "threads":
        raise UserError(f"--task-runner {request.task_runner}: the in-process run uses threads only")
    if validates_here(request):
        gx_worker.warm_up()
    executor = LocalExecutor(retry_delays=retry_delays)
    try:
        return execute(request, executor, reporter)
    finally:
        executor.close()
        if reporter is not None:
            reporter.close()
