"""Content-addressed cache of validated districts: an unchanged district is not recomputed.

A district's key is the SHA-256 of its extract files' hashes and names, the as-of date (birth
dates are checked against it) and the code version (a hash of the schema and validation source).
Its validated Parquet lives in ``<output>/.cache/ingest/<key>/`` and is copied into each run that
uses it: the cache never shares storage with a published run, so damage to one is not damage to
both. ``done.json`` records every file's SHA-256; an entry whose files no longer match is dropped
and rebuilt (:func:`entry_problem`). Personal data: the cache holds the same pseudonymised rows
as ``validated/``.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

from pipelines.ingest.plan import COUNTY_FILES, DistrictPlan, county_file, sha256_file

CACHE_DIR = ".cache/ingest"
KEEP_DAYS = 14
_PACKAGE_ROOT = Path(__file__).resolve().parent.parent.parent
INGEST_PACKAGES = ("schemas", "pipelines/ingest")  # every module that can change what ingest produces


LINK_PACKAGES = ("schemas", "matching")  # ... and what linkage produces


@functools.cache
def code_version() -> str:
    """Hash of every source file of the packages that decide what ingest produces (:data:`INGEST_PACKAGES`)."""
    return _source_hash(INGEST_PACKAGES)


@functools.cache
def _source_hash(entries: tuple[str, ...]) -> str:
    digest = hashlib.sha256()
    for entry in entries:
        path = _PACKAGE_ROOT / entry
        files = sorted(f for f in path.rglob("*") if f.is_file() and "__pycache__" not in f.parts) \
            if path.is_dir() else [path]
        for file in files:
            digest.update(file.relative_to(_PACKAGE_ROOT).as_posix().encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()[:16]


def district_key(plan: DistrictPlan, as_of: dt.date) -> str:
    """The cache key of a district's ingest: its files' hashes, the as-of date, the code version."""
    parts = {"lad": plan.lad_code, "as_of": as_of.isoformat(), "code": code_version(),
             "files": sorted((e.kind, e.path.name, sha256_file(e.path)) for e in plan.extracts),
             "previous": sorted((k, p.name) for k, p in plan.previous.items())}
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:32]


def is_cached(output: Path, plan: DistrictPlan, as_of: dt.date) -> bool:
    """True when the district's ingest for these extracts is already in the output's cache."""
    return read_entry(cache_folder(output, district_key(plan, as_of))) is not None


def reference_key(landing: Path, as_of: dt.date) -> str:
    """The cache key of the county files' ingest: their hashes (absent ones too), the as-of date, the code."""
    found = {kind: county_file(landing, name) for kind, name in sorted(COUNTY_FILES.items())}
    files = {kind: sha256_file(path) if path is not None else
             "refused" if (landing / COUNTY_FILES[kind]).is_symlink() else None for kind, path in found.items()}
    parts = {"reference": files, "as_of": as_of.isoformat(), "code": code_version()}
    return "reference-" + hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:32]


def link_key(districts: list[dict[str, Any]], linkage_settings: dict[str, Any]) -> str:
    """The key of a run's linkage inputs: every district's extract hashes, the validation and
    matching code, and the linkage settings. Two runs with the same key link the same households
    the same way (ids carried from the run before), so the later can reuse the earlier's links."""
    parts = {"validation": code_version(), "matching": _source_hash(LINK_PACKAGES),
             "settings": linkage_settings,
             "districts": sorted((d["lad_code"], sorted((f.get("kind"), f.get("sha256")) for f in d.get("files", [])))
                                 for d in districts)}
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:32]


def cache_folder(output: Path, key: str) -> Path:
    """Where a district's validated files for this key live."""
    return output / CACHE_DIR / key


DONE = "done.json"
FILES_KEY = "_files"  # in done.json: relative path -> SHA-256 of every file of the entry


def _done(folder: Path) -> dict[str, Any] | None:
    done = folder / DONE
    if not done.is_file():
        return None
    try:
        data = json.loads(done.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get(FILES_KEY), dict) else None


def entry_problem(folder: Path) -> str | None:
    """Why a present cache entry cannot be used (its record unreadable, a file missing, changed or
    added since it was written), or None when every file matches its recorded SHA-256."""
    data = _done(folder)
    if data is None:
        return f"{folder / DONE}: unreadable or from an older version"
    files: dict[str, str] = data[FILES_KEY]
    present = {p.relative_to(folder).as_posix() for p in folder.rglob("*")
               if p.is_file() and not p.name.startswith(DONE)}
    for name in sorted(present | set(files)):
        if name not in files or name not in present:
            return f"{folder / name}: {'not recorded' if name not in files else 'missing'}"
        if sha256_file(folder / name) != files[name]:
            return f"{folder / name}: its content changed since it was cached (SHA-256 differs)"
    return None


def read_entry(folder: Path, verify: bool = False) -> dict[str, Any] | None:
    """The manifest section stored with a complete cache entry, or None when absent or partial
    (or, with ``verify``, when :func:`entry_problem` finds it damaged)."""
    data = _done(folder)
    if data is None or (verify and entry_problem(folder) is not None):
        return None
    return {k: v for k, v in data.items() if k != FILES_KEY}


def write_entry(folder: Path, section: dict[str, Any]) -> None:
    """Mark a cache entry complete by writing its manifest section, with its files' hashes, last."""
    files = {p.relative_to(folder).as_posix(): sha256_file(p) for p in sorted(folder.rglob("*"))
             if p.is_file() and p.name != DONE}
    tmp = folder / f"{DONE}.tmp"
    tmp.write_text(json.dumps(section | {FILES_KEY: files}, sort_keys=True, default=str), encoding="utf-8")
    os.replace(tmp, folder / DONE)


def copy_tree(source: Path, target: Path) -> None:
    """Copy every file of ``source`` into ``target`` (never a hard link: no storage shared between them)."""
    for path in source.rglob("*"):
        if path.is_file() and path.name not in (DONE, f"{DONE}.tmp"):
            dest = target / path.relative_to(source)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, dest)


def prune(output: Path, keep_days: int = KEEP_DAYS) -> int:
    """Remove cache entries not used for ``keep_days``, and every half-built entry (``<key>.building-*``,
    left by an attempt that failed or was killed: a run calls this holding the output folder's
    lock, so no other run is building); returns how many were removed.

    This process's own builds (``<key>.building-<pid>-*``) are kept: they are the validation's head start
    (:func:`pipelines.run.head_start`), begun before the lock was taken and still being written (a build
    that fails removes its folder itself)."""
    root = output / CACHE_DIR
    if not root.is_dir():
        return 0
    limit = time.time() - keep_days * 86400
    own = f".building-{os.getpid()}-"
    removed = 0
    for folder in root.iterdir():
        if own in folder.name:
            continue
        if folder.is_dir() and (".building-" in folder.name or folder.stat().st_mtime < limit):
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
    return removed
