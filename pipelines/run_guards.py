"""Decisions a run makes around its stages: checks before ingest, where a run sits in the history,
which older runs lose their row-level files, and the warning ahead of the parameters' last date.

Pure logic over folder names, manifests and file sizes; :mod:`pipelines.run` calls it. Personal
data: none is read here; :func:`prune_runs` deletes row-level files (pseudonymised households,
validated extracts) of runs older than the retention window.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipelines.history import MANIFEST, manifest_problem
from pipelines.ingest.plan import DistrictPlan
from pipelines.publish import CURRENT, RUNS, STAGING_PREFIX
from schemas.errors import UserError

WARN_AHEAD_DAYS = 60  # from this many days before the parameters' last date, every run says so
# Row-level files of a run (personal data): removed from runs outside the retention window. What stays:
# manifest.json, district_benchmarks.parquet (the long-format history), the other disclosure-controlled
# tables, report.html and the data dictionary.
ROW_LEVEL = ("validated", "districts", "households.parquet", "links.parquet", "quarantine.parquet",
             "arrears_signals.parquet", "contact_list.parquet", "review_queue.parquet", "povertylink.duckdb")


# ----------------------------------------------------------------------------------------- up front


def _nearest_existing(path: Path) -> Path:
    path = path.absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def folder_bytes(folder: Path) -> int:
    """Bytes of the files under ``folder`` (a hard-linked file counted once; links not followed)."""
    seen: set[tuple[int, int]] = set()
    total = 0
    for root, _dirs, files in os.walk(folder):
        for name in files:
            try:
                st = os.lstat(os.path.join(root, name))
            except OSError:
                continue
            if (st.st_dev, st.st_ino) not in seen:
                seen.add((st.st_dev, st.st_ino))
                total += st.st_size
    return total


def check_output(output: Path) -> None:
    """The output folder can take a run: UserError (one line) when it cannot.

    A ``current`` that is a real folder (not povertylink's link); a folder that cannot be written;
    less free space than the last good run took.
    """
    current = output / CURRENT
    if current.exists() and not current.is_symlink():
        raise UserError(f"--output {output}: {current} is a real folder, not the link povertylink manages; "
                        "move it away first")
    existing = _nearest_existing(output)
    if not existing.is_dir():
        raise UserError(f"--output {output}: {existing} exists and is not a folder")
    try:
        with tempfile.TemporaryFile(dir=existing, prefix=".povertylink-write-check-"):
            pass
    except OSError as err:
        raise UserError(f"--output {output}: not writable ({err.strerror or err})") from None
    if current.is_symlink() and current.exists():
        needed = folder_bytes(current.resolve())
        free = shutil.disk_usage(existing).free
        if free < needed:
            raise UserError(f"--output {output}: not enough disk space: {free / 1e6:,.1f} MB free, the last "
                            f"run took {needed / 1e6:,.1f} MB")


def check_extracts_found(plans: list[DistrictPlan], as_of: dt.date) -> None:
    """UserError when no district has a single extract dated on or before ``as_of``."""
    if plans and not any(plan.extracts for plan in plans):
        raise UserError(f"no extract dated on or before {as_of.isoformat()} in any district folder: "
                        "nothing to run, nothing published")


def check_rows_found(districts: list[dict[str, Any]], as_of: dt.date) -> None:
    """UserError when ingest found no valid benefit claim in any district (every file refused or empty).

    A district that failed is left to the run (exit 3), so this only judges runs where every district ran.
    """
    if any(d.get("error") for d in districts):
        return
    claims = sum(f.get("rows_valid", 0) for d in districts for f in d.get("files", [])
                 if f.get("kind") == "benefits" and f.get("status") != "rejected")
    if claims == 0:
        raise UserError(f"no usable benefit claim in any district as of {as_of.isoformat()} (every extract "
                        "refused or empty): nothing published, current is unchanged")


# ----------------------------------------------------------------------------------------- warn ahead


def parameters_last_date() -> dt.date:
    """The last date the held scoring parameters cover: 5 April at the end of the newest tax year."""
    from pipelines.score.params import held_tax_years

    newest = held_tax_years()[-1]
    return dt.date(int(newest[:4]) + 1, 4, 5)


def parameters_warning(as_of: dt.date, last: dt.date | None = None, days: int = WARN_AHEAD_DAYS) -> str | None:
    """A warning when ``as_of`` is within ``days`` of the parameters' last date, else None."""
    last = last or parameters_last_date()
    left = (last - as_of).days
    if left > days:
        return None
    return (f"scoring parameters end on {last.isoformat()} ({left} days after this run's as-of date): add "
            f"pipelines/score/params/{last.year}-{(last.year + 1) % 100:02d}.toml before then, or runs "
            f"as of {(last + dt.timedelta(days=1)).isoformat()} will stop with exit 2")


# ----------------------------------------------------------------------------------------- history


def read_manifest(folder: Path) -> dict[str, Any]:
    """A run folder's manifest, or {} when it has none (or it is not a usable manifest)."""
    return manifest_problem(folder / MANIFEST)[0]


def _in_history(manifest: dict[str, Any]) -> bool:
    history = manifest.get("history") or {}
    return manifest.get("status") == "complete" and bool(history.get("in_history", True))


def published_runs(output: Path) -> list[Path]:
    """Every published run folder under ``runs/``, oldest first (by run id: the UTC start time)."""
    runs = output / RUNS
    if not runs.is_dir():
        return []
    return sorted((p for p in runs.iterdir() if p.is_dir() and not p.is_symlink()
                   and not p.name.startswith((STAGING_PREFIX, "."))), key=lambda p: p.name)


@dataclass(frozen=True)
class Placement:
    """Where a run sits: back-dated or not, what it compares against, whether it joins the history.

    ``previous``: the run its movement, campaign, trends and household ids follow on from;
    ``backfills``: (folder, run_id) of back-dated runs inserted into the history (``--backfill``)
    whose benchmark and campaign rows this run's long-format tables take in.
    """

    back_dated: bool
    backfill: bool
    current_as_of: str | None
    previous: Path | None
    backfills: tuple[tuple[Path, str], ...] = field(default_factory=tuple)

    @property
    def becomes_current(self) -> bool:
        """A back-dated run never replaces a newer current."""
        return not self.back_dated

    @property
    def in_history(self) -> bool:
        """Later runs compare against it: a normal run, or a back-dated one with ``--backfill``."""
        return not self.back_dated or self.backfill

    def manifest(self) -> dict[str, Any]:
        """The manifest's ``history`` section."""
        note = None
        if self.back_dated:
            note = (f"back-dated: as of earlier than the current run's {self.current_as_of}; written under runs/, "
                    "current unchanged; " + ("inserted into the history in date order (--backfill)"
                                             if self.backfill else "not in the history later runs compare against "
                                             "(--backfill inserts it)"))
        return {"back_dated": self.back_dated, "backfill": self.backfill, "in_history": self.in_history,
                "becomes_current": self.becomes_current, "current_as_of": self.current_as_of,
                "compared_with": self.previous.name if self.previous else None,
                "backfills_taken_in": [run_id for _, run_id in self.backfills], "note": note}


def place_run(output: Path, as_of: dt.date, backfill: bool) -> Placement:
    """Decide where a run as of ``as_of`` sits, from the current link and the published manifests."""
    link = output / CURRENT
    current = link.resolve() if link.is_symlink() and link.exists() else None
    current_as_of = read_manifest(current).get("as_of") if current else None
    back_dated = current_as_of is not None and as_of.isoformat() < str(current_as_of)
    history = [(str(m.get("as_of")), p, m) for p in published_runs(output) if _in_history(m := read_manifest(p))]
    if back_dated:
        earlier = [(day, p) for day, p, _ in history if day < as_of.isoformat()]
        previous = max(earlier, key=lambda e: (e[0], e[1].name))[1] if earlier else None
        return Placement(True, backfill, current_as_of, previous)
    backfills = tuple((p, str(m.get("run_id", p.name))) for day, p, m in history
                      if (m.get("history") or {}).get("backfill") and (m.get("history") or {}).get("back_dated")
                      and day < as_of.isoformat())
    return Placement(False, backfill, current_as_of, current, backfills)


# ----------------------------------------------------------------------------------------- retention


def prune_runs(output: Path, keep_runs: int, keep: set[str]) -> dict[str, Any]:
    """Remove the row-level files (:data:`ROW_LEVEL`) of published runs outside the newest ``keep_runs``.

    Called just before a new run is renamed into ``runs/``: it counts as one of the ``keep_runs``, so
    ``keep_runs - 1`` published runs keep their files, and so do the folders named in ``keep`` (the one
    ``current`` points at). Returns the manifest's ``retention`` section.
    """
    runs = published_runs(output)
    older = runs[:max(len(runs) - (keep_runs - 1), 0)]
    pruned: list[str] = []
    for folder in older:
        if folder.name in keep:
            continue
        removed = False
        for name in ROW_LEVEL:
            path = folder / name
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
                removed = True
            elif path.exists() or path.is_symlink():
                path.unlink()
                removed = True
        if removed:
            pruned.append(folder.name)
    return {"keep_runs": keep_runs, "runs_published_before": len(runs), "pruned_now": pruned,
            "row_level_files": list(ROW_LEVEL),
            "kept_for_every_run": "manifest.json, district_benchmarks.parquet and the other aggregate tables, "
                                  "report.html, data dictionary"}
