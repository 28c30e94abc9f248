"""The landing plan: which extract of each district a run uses, and what it skipped.

Reads only folder and file names (and, for :func:`sha256_file`, bytes) under
``landing/<LAD>/<kind>_<YYYY-MM-DD>.csv`` (kind benefits, council_tax or the optional
universal_credit); the optional county files are ``epc.csv`` and ``postcode_lookup.csv``. A
symbolic link is followed only where it leads to a file inside the landing folder; one leading
outside it is refused with a note (nothing is read from it). No personal data.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

from schemas.config import ONS_CODE
from schemas.errors import UserError
from schemas.inputs import EXTRACT_KINDS, OPTIONAL_EXTRACT_KINDS

EXTRACT_RE = re.compile(r"^(?P<kind>benefits|council_tax|universal_credit)_(?P<date>\d{4}-\d{2}-\d{2})\.csv$")
_CODE_INSIDE = re.compile(r"[ENSW]\d{8}", re.IGNORECASE)
COUNTY_FILES = {"epc": "epc.csv", "postcode_lookup": "postcode_lookup.csv"}


@dataclass(frozen=True)
class Extract:
    """One landing file chosen for a run."""

    lad_code: str
    kind: str
    path: Path
    extract_date: dt.date | None


@dataclass
class DistrictPlan:
    """The extracts a run uses for one district, and the notes about what it skipped."""

    lad_code: str
    extracts: list[Extract] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    previous: dict[str, Path] = field(default_factory=dict)  # kind -> the extract before the chosen one


def sha256_file(path: Path) -> str:
    """SHA-256 of a file's bytes, hex."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def leads_outside(path: Path, landing: Path) -> bool:
    """True when ``path``, its symbolic links followed, is not inside the ``landing`` folder (or cannot be resolved)."""
    try:
        return not path.resolve(strict=True).is_relative_to(landing.resolve(strict=True))
    except (OSError, RuntimeError):  # a dangling link or a loop
        return path.is_symlink()


REFUSED_LINK = "a symbolic link to outside the landing folder; refused (nothing read from it)"


def county_file(landing: Path, name: str) -> Path | None:
    """The optional county file ``name`` when present as a file inside the landing folder, else None."""
    path = landing / name
    return path if path.is_file() and not leads_outside(path, landing) else None


def plan_district(folder: Path, as_of: dt.date, landing: Path | None = None) -> DistrictPlan:
    """Per kind, the newest extract dated on or before ``as_of``; notes for what is missing or ignored.

    ``landing``: the landing folder (default: the folder's parent); files that lead outside it are refused."""
    plan = DistrictPlan(lad_code=folder.name)
    root = landing or folder.parent
    dated: dict[str, list[tuple[dt.date, Path]]] = {k: [] for k in (*EXTRACT_KINDS, *OPTIONAL_EXTRACT_KINDS)}
    for path in sorted(folder.iterdir()):
        if leads_outside(path, root):
            plan.notes.append(f"{path.name}: {REFUSED_LINK}")
            continue
        match = EXTRACT_RE.match(path.name)
        if not match or not path.is_file():
            if path.is_file() and not path.name.startswith("."):
                plan.notes.append(f"{path.name}: not an extract name (<kind>_<YYYY-MM-DD>.csv); ignored")
            continue
        try:
            day = dt.date.fromisoformat(match["date"])
        except ValueError:
            plan.notes.append(f"{path.name}: the date in the name is not a real date; ignored")
            continue
        if day <= as_of:
            dated[match["kind"]].append((day, path))
    for kind, found in dated.items():
        found.sort()
        if not found:
            if kind in EXTRACT_KINDS:  # an optional kind (universal_credit) may be absent without a note
                plan.notes.append(f"no {kind} extract dated on or before {as_of}")
            continue
        day, path = found[-1]
        plan.extracts.append(Extract(plan.lad_code, kind, path, day))
        if len(found) > 1:
            plan.previous[kind] = found[-2][1]
    return plan


def near_miss(name: str) -> tuple[str, str] | None:
    """(the ONS code a folder name was meant to be, why it looks so), or None.

    ``e07000107`` looks like E07000107 in lower case; ``E07000109 copy``, ``E07000109 (1)`` or
    ``E07000109_old`` look like a copy of E07000109.
    """
    if ONS_CODE.match(name):
        return None
    if ONS_CODE.match(name.upper()):
        return name.upper(), f"looks like {name.upper()} in lower case"
    stripped = name.strip()
    if stripped != name and ONS_CODE.match(stripped.upper()):
        return stripped.upper(), f"looks like {stripped.upper()} with spaces around it"
    found = _CODE_INSIDE.match(stripped)
    if found:
        return found[0].upper(), f"looks like a copy of {found[0].upper()}"
    return None


def plan_landing(landing: Path, as_of: dt.date, districts: tuple[str, ...] = ()) -> list[DistrictPlan]:
    """Plans for every district folder (or only the named ones); UserError when there is nothing to run."""
    if not landing.is_dir():
        raise UserError(f"--input {landing}: no such folder")
    folders = {p.name: p for p in sorted(landing.iterdir()) if p.is_dir() and ONS_CODE.match(p.name)}
    for lad in districts:
        if lad not in folders:
            raise UserError(f"--district {lad}: no folder {landing / lad}")
    chosen = [folders[lad] for lad in (districts or tuple(folders))]
    if not chosen:
        misses = [f"'{p.name}' {guess[1]}" for p in sorted(landing.iterdir())
                  if p.is_dir() and (guess := near_miss(p.name))]
        hint = f"; {'; '.join(misses)}" if misses else ""
        raise UserError(f"--input {landing}: no district folders named by ONS code (e.g. E07000112){hint}")
    return [plan_district(folder, as_of, landing) for folder in chosen]
