"""Ingest: validate a district's planned extracts (and the county files) and stage them as Parquet.

I/O at the edge of the pipeline: reads the files a :class:`pipelines.ingest.plan.DistrictPlan`
names, writes per district ``<staging>/validated/<LAD>/<kind>.parquet`` and
``<staging>/validated/<LAD>/quarantine.parquet``, and returns small JSON-able reports for the
manifest. Personal data: pseudonymised rows (keyed hashes and name encodings) pass through; a file
with raw identifiers is refused whole.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.ingest.gx_worker import submit_table
from pipelines.ingest.plan import COUNTY_FILES, REFUSED_LINK, DistrictPlan, county_file, sha256_file
from pipelines.ingest.validate import QUARANTINE_SCHEMA, Validated, count_data_lines, empty_valid, validate_path
from schemas.inputs import EXTRACT_KINDS

DISTRICT_WORKERS = 2  # districts validated at once on one machine: one per core (DuckDB runs each file on one)
# districts in flight: while one waits for its GX suites (in their own process), another is validated
DISTRICT_THREADS = 3 * DISTRICT_WORKERS
_VALIDATING = threading.BoundedSemaphore(DISTRICT_WORKERS)  # DuckDB validation slots of this process
REFERENCE_LAD = "county"  # quarantine rows of the optional county-wide files


class LandingChanged(RuntimeError):
    """A landing file changed while it was being read (its hash differs before and after)."""


def _validate_stable(path: Path, kind: str, as_of: dt.date, lad: str, day: dt.date | None,
                     valid_out: Path | None = None) -> tuple[Validated, str]:
    """Validate a file whose hash is the same before and after reading; LandingChanged otherwise.

    With ``valid_out`` the valid rows are written beside it first and moved into place only once
    the file is known not to have changed: a half-read file never reaches the stage.
    """
    before = sha256_file(path)
    part = valid_out.with_name(f".{valid_out.name}.part") if valid_out is not None else None
    try:
        validated = validate_path(path, kind, as_of, lad, day, path.name, part)
        if sha256_file(path) != before:
            raise LandingChanged(f"{path}: the file changed while it was being read; try again when it is complete")
    except BaseException:
        if part is not None:
            part.unlink(missing_ok=True)
        raise
    if part is not None and valid_out is not None:
        os.replace(part, valid_out)
        validated.valid_path = valid_out
    return validated, before


def ingest_district(plan: DistrictPlan, as_of: dt.date, staging: Path, check_tables: bool = True) -> dict[str, Any]:
    """Validate a district's extracts and stage them as Parquet; returns its manifest section."""
    out = staging / "validated" / plan.lad_code
    out.mkdir(parents=True, exist_ok=True)
    files: list[dict[str, Any]] = []
    quarantine: list[pa.Table] = []
    written = set()
    suites = []  # (file entry, the call that waits for its suite): the next file is validated meanwhile
    with _VALIDATING:  # the slot is given back before waiting for the suites: another district goes on
        for extract in plan.extracts:
            # valid rows go straight to Parquet: a file beyond validate.HOLD_BYTES is never held in memory whole
            validated, digest = _validate_stable(extract.path, extract.kind, as_of, plan.lad_code,
                                                 extract.extract_date, out / f"{extract.kind}.parquet")
            written.add(extract.kind)
            quarantine.append(validated.quarantine)
            entry = validated.report.as_dict() | {
                "path": str(extract.path), "sha256": digest,
                "extract_date": extract.extract_date.isoformat() if extract.extract_date else None,
            }
            if check_tables and validated.report.rows_valid:
                previous = plan.previous.get(extract.kind)
                previous_rows = count_data_lines(previous) if previous else None
                suites.append((entry, submit_table(out / f"{extract.kind}.parquet", extract.kind,
                                                   f"{plan.lad_code}_{extract.kind}", previous_rows)))
            files.append(entry)
    for entry, suite in suites:
        entry["expectations"] = suite().as_dict()
    for kind in EXTRACT_KINDS:
        if kind not in written:
            pq.write_table(empty_valid(kind), out / f"{kind}.parquet")
    pq.write_table(pa.concat_tables(quarantine) if quarantine else QUARANTINE_SCHEMA.empty_table(),
                   out / "quarantine.parquet")
    return {"lad_code": plan.lad_code, "files": files, "notes": plan.notes}


def ingest_reference(landing: Path, as_of: dt.date, staging: Path) -> dict[str, Any]:
    """Validate and stage the optional county-wide files (epc, postcode lookup)."""
    out = staging / "validated" / "_reference"
    out.mkdir(parents=True, exist_ok=True)
    files: list[dict[str, Any]] = []
    quarantine: list[pa.Table] = []
    notes: list[str] = []
    for kind, name in COUNTY_FILES.items():
        path = county_file(landing, name)
        if path is None and (landing / name).is_symlink():
            notes.append(f"{name}: {REFUSED_LINK}")
        if path is not None:
            validated, digest = _validate_stable(path, kind, as_of, REFERENCE_LAD, None)
            files.append(validated.report.as_dict() | {"path": str(path), "sha256": digest})
            quarantine.append(validated.quarantine)
            table = validated.valid
        else:
            table = empty_valid(kind)
        pq.write_table(table, out / f"{kind}.parquet")
    pq.write_table(pa.concat_tables(quarantine) if quarantine else QUARANTINE_SCHEMA.empty_table(),
                   out / "quarantine.parquet")
    return {"files": files, "notes": notes}
