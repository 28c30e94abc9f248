"""Prefect flows: the nightly run, mapped per district, and its ad hoc twin for the command line.

Tasks are thin shells around the stage functions in ``pipelines/``; they pass paths and small
JSON-able values, never frames or connections. The same flow runs with no Prefect server
(ad hoc: ``povertylink run``) and served against a self-hosted one (``povertylink serve``).
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import sys
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

for _name, _value in {"PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1",
                      "GX_ANALYTICS_ENABLED": "false", "PREFECT_LOGGING_LEVEL": "WARNING"}.items():
    os.environ.setdefault(_name, _value)

from prefect import flow, task  # noqa: E402

from pipelines.errors import UserError  # noqa: E402
from pipelines.ingest import DistrictPlan, ingest_district, ingest_reference, plan_landing  # noqa: E402
from pipelines.publish import (  # noqa: E402
    clean_stale_staging,
    current_dir,
    new_run_id,
    promote,
    staging_dir,
    write_json,
)
from pipelines.measure import StageTimer
from pipelines.stages import run_hub  # noqa: E402
from schemas.config import load_config  # noqa: E402

EXIT_OK = 0
EXIT_FILES_REJECTED = 1  # published, but at least one file was refused whole (see the summary)
EXIT_USAGE = 2
EXIT_DISTRICT_FAILED = 3
EXIT_STAGE_FAILED = 4


@dataclass(frozen=True)
class RunRequest:
    """What ``povertylink run`` was asked to do."""

    input_dir: Path
    output_dir: Path
    as_of: dt.date
    districts: tuple[str, ...] = ()
    config: Path | None = None


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


@task(name="ingest-district", retries=2, retry_delay_seconds=[1, 5])
def ingest_district_task(plan: DistrictPlan, as_of: dt.date, stage: str) -> dict[str, Any]:
    """Validate one district's extracts into the staging folder."""
    return ingest_district(plan, as_of, Path(stage))


@task(name="ingest-reference", retries=2, retry_delay_seconds=[1, 5])
def ingest_reference_task(landing: str, as_of: dt.date, stage: str) -> dict[str, Any]:
    """Validate the optional county files (EPC ratings, postcode lookup)."""
    return ingest_reference(Path(landing), as_of, Path(stage))


def _versions() -> dict[str, str]:
    names = ["povertylink", "duckdb", "pyarrow", "pandas", "recordlinkage", "pydantic", "prefect", "great-expectations"]
    found = {}
    for name in names:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found | {"python": platform.python_version()}


def _reconciliation(districts: list[dict[str, Any]]) -> dict[str, int]:
    files = [f for d in districts for f in d["files"]]
    return {
        "files": len(files),
        "rows_read": sum(f["rows_read"] for f in files),
        "rows_valid": sum(f["rows_valid"] for f in files),
        "rows_quarantined": sum(f["rows_quarantined"] for f in files),
        "files_rejected": sum(1 for f in files if f["status"] == "rejected"),
        "all_reconcile": all(f["reconciles"] for f in files),
    }


@flow(name="povertylink-nightly", log_prints=False, validate_parameters=False)
def nightly(input_dir: str, output_dir: str, as_of: str | None = None, districts: list[str] | None = None,
            config: str | None = None) -> dict[str, Any]:
    """Ingest every district (one task each), then link, score, benchmark and publish at the hub."""
    request = RunRequest(Path(input_dir), Path(output_dir), dt.date.fromisoformat(as_of) if as_of else dt.date.today(),
                         tuple(districts or ()), Path(config) if config else None)
    outcome = execute(request)
    return {"run_id": outcome.run_id, "exit_code": outcome.exit_code, "errors": outcome.errors}


def check_request(request: RunRequest) -> None:
    """Every check a user can act on, made before the flow starts: UserError with one clear line."""
    config = load_config(request.config)
    plan_landing(request.input_dir, request.as_of, request.districts)
    from pipelines.params import load_parameters

    load_parameters(request.as_of, config.parameters or None)
    if request.output_dir.exists() and not request.output_dir.is_dir():
        raise UserError(f"--output {request.output_dir}: exists and is not a folder")


def execute(request: RunRequest) -> RunOutcome:
    """The run itself (called inside the flow): plan, ingest, hub stages, publish."""
    started = dt.datetime.now(dt.timezone.utc)
    clock = time.perf_counter()
    config = load_config(request.config)
    plans = plan_landing(request.input_dir, request.as_of, request.districts)
    output = request.output_dir
    run_id = new_run_id(started, request.as_of)
    output.mkdir(parents=True, exist_ok=True)
    clean_stale_staging(output)
    stage = staging_dir(output, run_id)
    stage.mkdir(parents=True)
    final = (output / "runs" / run_id).resolve()
    previous = current_dir(output)
    timer = StageTimer()
    manifest: dict[str, Any] = {
        "run_id": run_id, "as_of": request.as_of.isoformat(), "started_at": started.isoformat(),
        "input_dir": str(request.input_dir.resolve()), "districts_requested": list(request.districts),
        "previous_run": previous.name if previous else None, "versions": _versions(),
        "config": config.model_dump(),
    }
    errors: list[str] = []

    def ingest_all() -> tuple[list[dict[str, Any]], dict[str, Any]]:
        futures = [(plan, ingest_district_task.submit(plan, request.as_of, str(stage))) for plan in plans]
        reference = ingest_reference_task.submit(str(request.input_dir), request.as_of, str(stage))
        found: list[dict[str, Any]] = []
        for plan, future in futures:
            try:
                found.append(future.result())
            except Exception as err:  # noqa: BLE001 - reported per district, the others go on
                errors.append(f"district {plan.lad_code} failed: {err}")
                found.append({"lad_code": plan.lad_code, "files": [], "notes": [], "error": str(err)})
        return found, reference.result()

    districts, manifest["reference"] = timer.run("ingest", ingest_all)
    manifest["districts"] = districts
    manifest["reconciliation"] = _reconciliation(districts + [manifest["reference"] | {"lad_code": "county"}])
    if errors:
        manifest["status"] = "failed"
        manifest["errors"] = errors
        write_json(manifest, stage / "manifest.json")
        return RunOutcome(run_id, EXIT_DISTRICT_FAILED, manifest, None, errors)
    lad_codes = [p.lad_code for p in plans]
    try:
        manifest.update(run_hub(stage, final, lad_codes, request.as_of, run_id, config, previous, timer, manifest))
    except UserError:
        raise
    except Exception as err:  # noqa: BLE001 - a failed stage publishes nothing
        errors.append(f"{type(err).__name__}: {err}")
        manifest["status"] = "failed"
        manifest["errors"] = errors
        manifest["timings"] = timer.stages
        write_json(manifest, stage / "manifest.json")
        return RunOutcome(run_id, EXIT_STAGE_FAILED, manifest, None, errors)
    manifest["status"] = "complete"
    manifest["timings"] = timer.stages | {"total": {"wall_s": round(time.perf_counter() - clock, 3)}}
    manifest["finished_at"] = dt.datetime.now(dt.timezone.utc).isoformat()
    write_json(manifest, stage / "manifest.json")
    published = promote(output, run_id)
    rejected = [f"{d['lad_code']}/{f['file']}: {f['reason']}" for d in districts for f in d["files"]
                if f["status"] == "rejected"]
    return RunOutcome(run_id, EXIT_FILES_REJECTED if rejected else EXIT_OK, manifest, published, rejected)


def run_pipeline(request: RunRequest) -> RunOutcome:
    """Run the nightly flow ad hoc (no Prefect server needed) and return its outcome."""
    check_request(request)
    holder: dict[str, RunOutcome] = {}

    @flow(name="povertylink-run", log_prints=False, validate_parameters=False)
    def adhoc() -> None:
        holder["outcome"] = execute(request)

    try:
        adhoc()
    except UserError:
        raise
    if "outcome" not in holder:
        print("povertylink: error: the run did not complete", file=sys.stderr)
        raise SystemExit(EXIT_STAGE_FAILED)
    return holder["outcome"]
