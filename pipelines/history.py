"""The last good run, read defensively: every file this run takes from it is checked first.

A run reads its predecessor's ``manifest.json`` (districts to reuse, the link key), its
``households.parquet`` (household ids, status movement, ``--from-stage``), ``links.parquet``
(``--from-stage``), ``district_benchmarks.parquet`` and ``pension_credit_campaign.parquet``
(history kept across runs), ``contact_list.parquet`` (first flagged dates) and ``validated/<LAD>/*.parquet``
(districts a rerun does not ingest).
A file that cannot be read whole is *damaged*: it is reported with its path and this run
carries on as if it were absent (see :class:`Past`), so one damaged run never blocks the next.
Personal data: the Parquet files hold pseudonymised rows; only their readability is checked here.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from schemas.text import one_line

MANIFEST = "manifest.json"
HISTORY_COLUMNS = {  # each history file and the columns this run reads from it
    "households.parquet": ("household_id", "lad_code", "claim_ref", "other_districts", "resilience_status",
                           "pension_credit_missing", "pension_credit_value_annual"),
    "links.parquet": ("lad_code", "claim_ref", "account_ref"),
    "district_benchmarks.parquet": ("run_id", "run_date", "lad_code", "metric"),
    "pension_credit_campaign.parquet": ("run_id", "run_date", "lad_code"),
    "contact_list.parquet": ("household_id", "first_flagged_date"),
}
HISTORY_FILES = tuple(HISTORY_COLUMNS)
VIEW = "_past"  # in the run's staging folder: the previous run without its damaged files (removed after the hub)


def parquet_problem(path: Path, columns: tuple[str, ...] = (), whole: bool = True) -> str | None:
    """Why a Parquet file cannot be read (footer, schema, the pages of every column, or with
    ``whole=False`` only of ``columns``) or lacks one of ``columns``; None when it can be."""
    try:
        handle = pq.ParquetFile(path)
        missing = [c for c in columns if c not in handle.schema_arrow.names]
        if missing:
            return f"lacks the column(s) {', '.join(missing)}"
        for _ in handle.iter_batches(batch_size=65_536, columns=None if whole else list(columns)):
            pass
    except Exception as err:  # noqa: BLE001 - any failure to decode is damage, whatever pyarrow calls it
        return one_line(f"{type(err).__name__}: {err}", 200)
    return None


def manifest_problem(path: Path) -> tuple[dict[str, Any], str | None]:
    """A run's manifest and None, or an empty one and why it cannot be used."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as err:
        return {}, one_line(f"{type(err).__name__}: {err}", 200)
    if not isinstance(data, dict) or not isinstance(data.get("districts", []), list) \
            or not all(isinstance(d, dict) and isinstance(d.get("lad_code"), str) for d in data.get("districts", [])):
        return {}, "not a povertylink manifest (a JSON object with a list of districts)"
    return data, None


@dataclass
class Past:
    """The last good run as this run may use it.

    ``folder``: the run's folder (None before the first good run); ``manifest``: its manifest ({} when
    damaged); ``damaged``: one line per damaged file, ``<path>: <reason>``; ``view``: the folder
    the hub reads history from: ``folder`` itself, or a view of it without the damaged files.
    """

    folder: Path | None
    manifest: dict[str, Any] = field(default_factory=dict)
    damaged: list[str] = field(default_factory=list)
    bad_files: set[str] = field(default_factory=set)
    view: Path | None = None
    _checked: dict[str, str | None] = field(default_factory=dict)

    @property
    def manifest_ok(self) -> bool:
        """True when the previous run's manifest was read (its districts can be reused)."""
        return self.folder is not None and MANIFEST not in self.bad_files

    def usable(self, name: str) -> bool:
        """True when the previous run has ``name`` (a file in its folder) and it is not damaged."""
        return self.folder is not None and name not in self.bad_files and (self.folder / name).is_file()

    def validated_problem(self, lad: str) -> str | None:
        """Why ``validated/<lad>`` of the previous run cannot be reused (recorded as damage), or None."""
        assert self.folder is not None
        if lad not in self._checked:
            source = self.folder / "validated" / lad
            self._checked[lad] = None if source.is_dir() else f"{source}: missing"
            for path in sorted(source.rglob("*.parquet")) if source.is_dir() else []:
                problem = parquet_problem(path)
                if problem:
                    self._checked[lad] = f"{path}: {problem}"
                    self.damaged.append(f"{path}: {problem}")
                    break
        return self._checked[lad]

    def as_manifest(self) -> dict[str, Any]:
        """The manifest's ``history`` section: what was damaged and so ignored."""
        return {"previous_run": self.folder.name if self.folder else None, "damaged": list(self.damaged),
                "ignored": sorted(self.bad_files)}


def read_past(folder: Path | None, staging: Path, whole: bool = True) -> Past:
    """Check the previous run's manifest and history files; build the view without the damaged ones.

    ``whole=False``: of ``households.parquet`` only the columns a run reads when it restores no
    stage from it are decoded (a full decode costs seconds at county scale)."""
    past = Past(folder, view=folder)
    if folder is None:
        return past
    if (folder / MANIFEST).exists():
        past.manifest, problem = manifest_problem(folder / MANIFEST)
        if problem:
            past.damaged.append(f"{folder / MANIFEST}: {problem}")
            past.bad_files.add(MANIFEST)
    else:
        past.damaged.append(f"{folder / MANIFEST}: missing")
        past.bad_files.add(MANIFEST)
    for name in HISTORY_FILES:
        path = folder / name
        partly = not whole and name == "households.parquet"
        problem = parquet_problem(path, HISTORY_COLUMNS[name], whole=not partly) if path.exists() else None
        if problem:
            past.damaged.append(f"{path}: {problem}")
            past.bad_files.add(name)
    if past.bad_files:
        past.view = staging / VIEW / folder.name
        past.view.mkdir(parents=True)
        for name in (MANIFEST, *HISTORY_FILES):
            if name not in past.bad_files and (folder / name).is_file():
                os.symlink(folder / name, past.view / name)
    return past


def drop_view(staging: Path) -> None:
    """Remove the view of the previous run (links only) before the run is published."""
    shutil.rmtree(staging / VIEW, ignore_errors=True)
