"""The run's guards on real folders: where a run sits in the history, what retention removes, the
output folder checks. (End to end, through real runs: tests/e2e/test_history.py, test_output_folder.py.)"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pytest

from pipelines.ingest.plan import DistrictPlan
from pipelines.run_guards import (
    ROW_LEVEL,
    check_extracts_found,
    check_output,
    folder_bytes,
    place_run,
    prune_runs,
)
from schemas.errors import UserError


def _published(out: Path, run_id: str, as_of: str, history: dict | None = None, current: bool = False) -> Path:
    folder = out / "runs" / run_id
    for name in ROW_LEVEL:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        if name.endswith((".parquet", ".duckdb")):
            (folder / name).write_bytes(b"x")
        else:
            (folder / name / "E07000105").mkdir(parents=True)
    manifest = {"run_id": run_id, "as_of": as_of, "status": "complete"} | ({"history": history} if history else {})
    (folder / "manifest.json").write_text(json.dumps(manifest))
    (folder / "district_benchmarks.parquet").write_bytes(b"x")
    if current:
        link = out / "current"
        if link.is_symlink():
            link.unlink()
        link.symlink_to(Path("runs") / run_id)
    return folder


def test_place_run_back_dated_compares_with_the_newest_earlier_run_in_the_history(tmp_path):
    r1 = _published(tmp_path, "1-as-of-2026-11-01", "2026-11-01")
    _published(tmp_path, "2-as-of-2026-11-05", "2026-11-05", {"back_dated": True, "in_history": False})
    _published(tmp_path, "3-as-of-2026-11-20", "2026-11-20", current=True)
    placed = place_run(tmp_path, dt.date(2026, 11, 10), backfill=False)
    assert (placed.back_dated, placed.becomes_current, placed.in_history, placed.previous) == (True, False, False, r1)
    normal = place_run(tmp_path, dt.date(2026, 11, 20), backfill=False)  # the same date as current: a rerun
    assert (normal.back_dated, normal.previous.name, normal.backfills) == (False, "3-as-of-2026-11-20", ())


def test_place_run_takes_in_backfills_older_than_the_run(tmp_path):
    _published(tmp_path, "1-as-of-2026-11-20", "2026-11-20", current=True)
    b = _published(tmp_path, "2-as-of-2026-11-10", "2026-11-10",
                   {"back_dated": True, "backfill": True, "in_history": True})
    assert place_run(tmp_path, dt.date(2026, 11, 21), backfill=False).backfills == ((b, "2-as-of-2026-11-10"),)
    assert place_run(tmp_path, dt.date(2026, 11, 10), backfill=True).backfills == ()  # back-dated: takes in none


def test_prune_keeps_the_newest_runs_and_current_and_every_manifest(tmp_path):
    for i in range(1, 5):
        _published(tmp_path, f"{i}-as-of-2026-11-0{i}", f"2026-11-0{i}", current=i == 1)
    section = prune_runs(tmp_path, keep_runs=2, keep={"1-as-of-2026-11-01"})  # the run being published is the 2nd
    assert section["pruned_now"] == ["2-as-of-2026-11-02", "3-as-of-2026-11-03"]
    assert sorted(p.name for p in (tmp_path / "runs" / "2-as-of-2026-11-02").iterdir()) == [
        "district_benchmarks.parquet", "manifest.json"]
    assert (tmp_path / "runs" / "1-as-of-2026-11-01" / "households.parquet").exists()
    assert (tmp_path / "runs" / "4-as-of-2026-11-04" / "validated").is_dir()
    assert prune_runs(tmp_path, keep_runs=2, keep=set())["pruned_now"] == ["1-as-of-2026-11-01"]


def test_folder_bytes_counts_a_hard_linked_file_once(tmp_path):
    (tmp_path / "a").write_bytes(b"x" * 1000)
    os.link(tmp_path / "a", tmp_path / "b")
    (tmp_path / "c").write_bytes(b"y" * 10)
    assert folder_bytes(tmp_path) == 1010


def test_check_output_accepts_a_folder_still_to_be_made_and_refuses_a_file_in_the_way(tmp_path):
    check_output(tmp_path / "new" / "out")  # made by the run, under a writable folder
    (tmp_path / "file").write_text("x")
    with pytest.raises(UserError, match="exists and is not a folder"):
        check_output(tmp_path / "file" / "out")


def test_no_extract_in_any_district_is_refused():
    empty = [DistrictPlan("E07000105"), DistrictPlan("E07000106")]
    with pytest.raises(UserError, match="^no extract dated on or before 2026-10-31 in any district folder"):
        check_extracts_found(empty, dt.date(2026, 10, 31))
