"""Completeness of a run: which expected districts arrived complete, and what must be announced.

A run expects the districts of the ``[completeness]`` settings (default: the landing folder's
district folders, and any folder that is a near miss of an ONS code). Each is *complete*, or
*refused* (a file refused whole), *stale* (an extract dated more than ``stale_after_days``
before the as-of date) or *missing* (no folder, no extract of a kind, or a file with no data
rows). *Warnings* are a district's valid claims falling by more than ``caseload_drop_share``
since the last good run, a file with no data rows, and a file whose row count fails its data
expectation (against the district's previous extract); *notes* name landing folders and files that
are not used (a lower-case code, a copy of a district folder, anything else) and the other data
expectations a file failed.

Pure functions over names, the ingest sections of the manifest (:func:`pipelines.run.district_section`)
and the previous run's manifest; :func:`landing_names` is the one that reads a folder (names only).
No personal data: district codes, file names and counts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pipelines.ingest.plan import near_miss
from schemas.config import ONS_CODE, CompletenessSettings
from schemas.inputs import EXTRACT_KINDS
from schemas.reference import district_name

Status = Literal["complete", "refused", "stale", "missing"]
Source = Literal["config", "landing"]
NOT_COMPLETE: tuple[Status, ...] = ("missing", "refused", "stale")  # worst first: a district's status
COUNTY_FILES = ("epc.csv", "postcode_lookup.csv")


@dataclass(frozen=True)
class DistrictCompleteness:
    """One expected district: its status and every reason for it (none when complete)."""

    lad_code: str
    status: Status
    reasons: tuple[str, ...] = ()

    def describe(self) -> str:
        """``Dover (E07000108) refused: benefits_2026-11-20.csv refused whole (...)``."""
        return f"{district_name(self.lad_code)} ({self.lad_code}) {self.status}: {'; '.join(self.reasons)}"


@dataclass(frozen=True)
class Completeness:
    """A run's completeness: the expected districts' statuses, the warnings and the notes."""

    expected_from: Source
    districts: tuple[DistrictCompleteness, ...]
    warnings: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    settings: CompletenessSettings = field(default_factory=CompletenessSettings)

    @property
    def complete(self) -> bool:
        """True when every expected district is complete."""
        return all(d.status == "complete" for d in self.districts)

    @property
    def incomplete(self) -> list[DistrictCompleteness]:
        """The expected districts that are not complete, by code."""
        return [d for d in self.districts if d.status != "complete"]

    def unavailable(self) -> dict[str, str]:
        """District code -> status, for the districts whose figures are not published."""
        return {d.lad_code: d.status for d in self.incomplete}

    def headline(self) -> str:
        """One line: how many districts are complete, and each one that is not, with why."""
        done = len(self.districts) - len(self.incomplete)
        line = f"{done} of {len(self.districts)} expected districts complete"
        return line + "".join(f"; {d.describe()}" for d in self.incomplete)

    def attention(self) -> str | None:
        """One line for a published run that is not complete or has warnings; None when all is well."""
        if self.complete and not self.warnings:
            return None
        more = f"; {len(self.warnings)} warning{'s' * (len(self.warnings) != 1)}: {self.warnings[0]}" \
            if self.warnings else ""
        return self.headline() + more

    def refusal(self) -> str | None:
        """Why the settings forbid publishing this run (``require_complete``, ``fail_on_warnings``), or None."""
        if self.settings.require_complete and not self.complete:
            return f"incomplete run, nothing published ([completeness] require_complete): {self.headline()}"
        if self.settings.fail_on_warnings and self.warnings:
            more = f" (and {len(self.warnings) - 1} more)" if len(self.warnings) > 1 else ""
            return f"warning, nothing published ([completeness] fail_on_warnings): {self.warnings[0]}{more}"
        return None

    def as_manifest(self) -> dict[str, Any]:
        """JSON-able section ``completeness`` of manifest.json."""
        return {
            "complete": self.complete,
            "expected_from": self.expected_from,
            "expected": [d.lad_code for d in self.districts],
            "districts": [{"lad_code": d.lad_code, "status": d.status, "reasons": list(d.reasons)}
                          for d in self.districts],
            "warnings": list(self.warnings),
            "notes": list(self.notes),
            "settings": self.settings.model_dump(),
            "headline": self.headline(),
        }


def landing_notes(folders: Iterable[str], files: Iterable[str] = ()) -> list[str]:
    """Notes for the landing area's folders that are not named by an ONS code and its files that are
    not county files: none of them is used. Names starting with ``.`` or ``_`` are private, not noted."""
    notes = []
    for name in sorted(folders):
        if ONS_CODE.match(name) or name.startswith((".", "_")):
            continue
        guess = near_miss(name)
        what = guess[1] if guess else "not named by an ONS code (e.g. E07000112)"
        notes.append(f"folder {name!r} in the landing area {what}: not used")
    for name in sorted(files):
        if name not in COUNTY_FILES and not name.startswith((".", "_")):
            notes.append(f"file {name!r} in the landing area is not a county file ({', '.join(COUNTY_FILES)}) "
                         "and not in a district folder: not used")
    return notes


def expected_districts(settings: CompletenessSettings, folders: Iterable[str]) -> tuple[list[str], Source]:
    """(the expected district codes, where they came from): the settings' list, else every district
    folder of the landing area and every code a near-miss folder was meant to be."""
    if settings.districts:
        return sorted(settings.districts), "config"
    names = list(folders)
    codes = {n for n in names if ONS_CODE.match(n)}
    codes |= {guess[0] for n in names if not n.startswith((".", "_")) and (guess := near_miss(n))}
    return sorted(codes), "landing"


def _claims(section: dict[str, Any]) -> int:
    return sum(int(f.get("rows_valid", 0)) for f in section.get("files", []) if f.get("kind") == "benefits")


def district_status(lad: str, section: dict[str, Any] | None, as_of: dt.date, stale_after_days: int,
                    folders: Iterable[str] = ()) -> DistrictCompleteness:
    """One expected district's status from its ingest section (None: no folder in the landing area)."""
    if section is None:
        folders = list(folders)
        if lad in folders:
            return DistrictCompleteness(lad, "missing", (f"folder {lad} is in the landing area but was not part of "
                                                         "this run (--district), and no earlier run had it to reuse",))
        guesses = {n: near_miss(n) for n in sorted(folders)}
        hints = [f"folder {n!r} {guess[1]}" for n, guess in guesses.items() if guess and guess[0] == lad]
        return DistrictCompleteness(lad, "missing", (f"no folder {lad} in the landing area"
                                                     + (f" ({'; '.join(hints)})" if hints else ""),))
    if section.get("error"):  # its step failed after retries: the run publishes nothing (exit 3)
        return DistrictCompleteness(lad, "refused", (f"ingest failed after retries: {section['error']}",))
    found: dict[Status, list[str]] = {s: [] for s in NOT_COMPLETE}
    files = section.get("files", [])
    kinds = {f.get("kind") for f in files}
    for kind in EXTRACT_KINDS:
        if kind not in kinds:
            found["missing"].append(f"no {kind} extract dated on or before {as_of.isoformat()}")
    oldest = as_of - dt.timedelta(days=stale_after_days)
    for f in files:
        if f.get("status") == "rejected":
            found["refused"].append(f"{f['file']} refused whole ({f.get('reason') or 'see the data-quality section'})")
        elif int(f.get("rows_read", 0)) == 0:
            found["missing"].append(f"{f['file']} has no data rows (header only)")
        day = f.get("extract_date")
        if day and dt.date.fromisoformat(str(day)) < oldest:
            age = (as_of - dt.date.fromisoformat(str(day))).days
            found["stale"].append(f"{f['file']} is {age:,} days older than the as-of date "
                                  f"(more than {stale_after_days} days)")
    for status in NOT_COMPLETE:
        if found[status]:
            return DistrictCompleteness(lad, status, tuple(r for s in NOT_COMPLETE for r in found[s]))
    return DistrictCompleteness(lad, "complete")


def empty_file_warnings(sections: Iterable[dict[str, Any]]) -> list[str]:
    """A warning for each district file that was read but held no data rows (a header only)."""
    return [f"{district_name(s['lad_code'])} ({s['lad_code']}): {f['file']} has no data rows (header only)"
            for s in sections for f in s.get("files", [])
            if f.get("status") != "rejected" and int(f.get("rows_read", 0)) == 0]


def _check(failure: dict[str, Any]) -> str:
    """A failed expectation by name and column; the observed figure only for a row count (never a value)."""
    name = str(failure.get("expectation"))
    text = name + (f" ({failure['column']})" if failure.get("column") else "")
    observed = failure.get("observed")
    return text + (f": {observed:,} rows" if "row_count" in name and isinstance(observed, int) else "")


def expectation_findings(sections: Iterable[dict[str, Any]], row_count: bool) -> list[str]:
    """Each district file whose validated rows failed data expectations (its Great Expectations suite):
    with ``row_count``, the failed row-count check against the district's previous extract (a warning:
    rows vanished or appeared); else the other failed checks (a note: data quality). Names the checks,
    never a value."""
    found = []
    for s in sections:
        for f in s.get("files", []):
            suite = f.get("expectations") or {}
            failed = [x for x in suite.get("failures") or [] if ("row_count" in str(x.get("expectation"))) == row_count]
            if suite.get("success", True) or not failed:
                continue
            found.append(f"{district_name(s['lad_code'])} ({s['lad_code']}): {f['file']} failed "
                         f"{len(failed)} of {suite.get('evaluated', len(failed))} data expectations: "
                         f"{'; '.join(_check(x) for x in failed)}")
    return found


def caseload_warnings(sections: Iterable[dict[str, Any]], previous_manifest: dict[str, Any], share: float,
                      skip: Iterable[str] = ()) -> list[str]:
    """A warning for each district whose valid claims fell by more than ``share`` (0-1) since the
    previous good run's manifest; districts in ``skip`` (already reported as not complete) are left out."""
    before = {d["lad_code"]: _claims(d) for d in previous_manifest.get("districts", [])
              if d.get("files") and not d.get("error")}
    previous_run = previous_manifest.get("run_id", "the previous run")
    left_out = set(skip)
    warnings = []
    for section in sections:
        lad, then = section["lad_code"], before.get(section["lad_code"], 0)
        if lad in left_out or then <= 0:
            continue
        now = _claims(section)
        if (then - now) / then > share:
            warnings.append(f"{district_name(lad)} ({lad}): valid claims fell from {then:,} to {now:,} "
                            f"({(now - then) / then:+.0%}) since run {previous_run}; more than the "
                            f"{share:.0%} allowed")
    return warnings


def assess(settings: CompletenessSettings, sections: list[dict[str, Any]], as_of: dt.date,
           folders: Iterable[str] = (), files: Iterable[str] = (),
           previous_manifest: dict[str, Any] | None = None) -> Completeness:
    """The run's completeness from its ingest sections, the landing area's folder and file names, and
    the previous good run's manifest (``{}`` or None before the first run)."""
    folders = list(folders)
    expected, source = expected_districts(settings, folders)
    by_lad = {s["lad_code"]: s for s in sections}
    statuses = tuple(district_status(lad, by_lad.get(lad), as_of, settings.stale_after_days, folders)
                     for lad in expected)
    notes = landing_notes(folders, files)
    notes += [f"{district_name(lad)} ({lad}): a district folder not among the [completeness] districts; "
              "included as usual" for lad in sorted(set(by_lad) - set(expected))]
    skip = [d.lad_code for d in statuses if d.status != "complete"]
    notes += expectation_findings(sections, row_count=False)
    warnings = empty_file_warnings(sections) + expectation_findings(sections, row_count=True)
    warnings += caseload_warnings(sections, previous_manifest or {}, settings.caseload_drop_share, skip)
    return Completeness(source, statuses, tuple(warnings), tuple(notes), settings)


def landing_names(landing: Path) -> tuple[list[str], list[str]]:
    """(folder names, file names) directly in the landing area (names only, nothing is read)."""
    entries = sorted(landing.iterdir()) if landing.is_dir() else []
    return [p.name for p in entries if p.is_dir()], [p.name for p in entries if p.is_file()]


def assess_landing(settings: CompletenessSettings, sections: list[dict[str, Any]], as_of: dt.date,
                   landing: Path, previous_manifest: dict[str, Any] | None = None) -> Completeness:
    """:func:`assess` with the folder and file names of the ``landing`` area."""
    folders, files = landing_names(landing)
    return assess(settings, sections, as_of, folders, files, previous_manifest)
