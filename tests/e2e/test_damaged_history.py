"""A damaged previous run or ingest cache entry never blocks the next run (issue 16, problem 2).

One good run on a small synthetic county is copied for each case; one file of it is damaged the
way a full disk or a stray edit would (invalid JSON, a Parquet file cut short), and the next run,
in process, must publish, name the damaged file, and say it went on without it. Reruns
(``--district``, ``--from-stage``) must recover too. The cache must not share storage with a run.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from pipelines.ingest.cache import CACHE_DIR
from pipelines.run import RunOutcome, RunRequest, run_local
from tests.cli import AS_OF_DATE, CLI, ENV

ASH, CANT = "E07000105", "E07000106"


@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("landing")
    made = subprocess.run([*CLI, "sample", "--out", str(root), "--districts", "2", "--households", "300",
                           "--seed", "3"], capture_output=True, text=True, env=ENV, timeout=120, check=False)
    assert made.returncode == 0, made.stderr
    return root


def _run(landing: Path, out: Path, **kw: object) -> RunOutcome:
    return run_local(RunRequest(input_dir=landing, output_dir=out, as_of=AS_OF_DATE, **kw),  # type: ignore[arg-type]
                     retry_delays=(0.1,))


@pytest.fixture(scope="module")
def good(landing: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("good") / "out"
    outcome = _run(landing, out)
    assert outcome.exit_code == 0, outcome.errors
    return out


@pytest.fixture()
def out(good: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "out"
    shutil.copytree(good, copy, symlinks=True)
    return copy


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _current(out: Path) -> Path:
    return (out / "current").resolve()


def _recovered(outcome: RunOutcome, out: Path, before: Path, damaged: Path) -> None:
    """Published, ``current`` moved, and the damaged file named in the manifest and the summary."""
    assert outcome.exit_code == 0, outcome.errors
    assert outcome.published is not None and _current(out) == outcome.published != before
    assert any(str(damaged) in line for line in outcome.manifest["history"]["damaged"])
    assert str(damaged) in outcome.summary() and "ignored" in outcome.summary()
    published = json.loads((outcome.published / "manifest.json").read_text(encoding="utf-8"))
    assert published["history"]["damaged"] == outcome.manifest["history"]["damaged"]
    assert pq.read_table(outcome.published / "households.parquet").num_rows > 0


def test_invalid_manifest_in_current_is_ignored(landing: Path, out: Path) -> None:
    before = _current(out)
    (before / "manifest.json").write_text('{"run_id": "x", "districts": [', encoding="utf-8")
    _recovered(_run(landing, out), out, before, before / "manifest.json")


@pytest.mark.parametrize("name", ["households.parquet", "district_benchmarks.parquet", "contact_list.parquet"])
def test_truncated_history_parquet_is_ignored(landing: Path, out: Path, name: str) -> None:
    before = _current(out)
    _truncate(before / name)
    outcome = _run(landing, out)
    _recovered(outcome, out, before, before / name)
    assert name in outcome.manifest["history"]["ignored"]
    history = pq.read_table(outcome.published / "district_benchmarks.parquet").column("run_id").to_pylist()
    if name == "district_benchmarks.parquet":  # the damaged history is gone; this run's rows remain
        assert set(history) == {outcome.run_id}


def test_truncated_cache_entry_is_rebuilt(landing: Path, out: Path) -> None:
    entry = next(p for p in (out / CACHE_DIR).iterdir() if not p.name.startswith("reference-"))
    damaged = next(entry.rglob("*.parquet"))
    _truncate(damaged)
    outcome = _run(landing, out)
    assert outcome.exit_code == 0, outcome.errors
    notes = [n for d in outcome.manifest["districts"] for n in d["notes"] if "cache entry" in n]
    assert len(notes) == 1 and str(damaged) in notes[0] and "rebuilt" in notes[0]
    assert str(damaged) in outcome.summary()
    assert pq.read_table(damaged).num_rows > 0  # rebuilt whole


def test_cache_shares_no_storage_with_a_published_run(out: Path) -> None:
    published = {(p.stat().st_dev, p.stat().st_ino) for p in _current(out).rglob("*") if p.is_file()}
    cached = [p for p in (out / CACHE_DIR).rglob("*.parquet")]
    assert cached and not any((p.stat().st_dev, p.stat().st_ino) in published for p in cached)
    assert all(p.stat().st_nlink == 1 for p in cached)


def test_district_rerun_recovers_from_an_invalid_manifest(landing: Path, out: Path) -> None:
    before = _current(out)
    (before / "manifest.json").write_bytes(b"\x00\xff not json")
    outcome = _run(landing, out, districts=(ASH,))
    _recovered(outcome, out, before, before / "manifest.json")
    assert [d["lad_code"] for d in outcome.manifest["districts"]] == [ASH, CANT]  # the county stays whole


def test_district_rerun_rebuilds_a_damaged_validated_district(landing: Path, out: Path) -> None:
    before = _current(out)
    damaged = next((before / "validated" / CANT).rglob("*.parquet"))
    _truncate(damaged)
    outcome = _run(landing, out, districts=(ASH,))
    _recovered(outcome, out, before, damaged)
    cant = next(d for d in outcome.manifest["districts"] if d["lad_code"] == CANT)
    assert "reused_from" not in cant and cant["files"]  # ingested afresh from its landing files


@pytest.mark.parametrize("stage", ["score", "benchmark"])
def test_from_stage_rerun_recovers_from_truncated_households(landing: Path, out: Path, stage: str) -> None:
    before = _current(out)
    _truncate(before / "households.parquet")
    outcome = _run(landing, out, from_stage=stage)
    _recovered(outcome, out, before, before / "households.parquet")
    assert "reused_from" not in outcome.manifest["linkage"]  # recomputed, not restored from the damage


def test_no_view_of_the_previous_run_is_published(landing: Path, out: Path) -> None:
    before = _current(out)
    _truncate(before / "households.parquet")
    outcome = _run(landing, out)
    assert outcome.published is not None
    assert not (outcome.published / "_past").exists()
    assert not any(p.is_symlink() for p in outcome.published.rglob("*")), os.listdir(outcome.published)


def test_history_parquet_without_its_columns_is_ignored(landing: Path, out: Path) -> None:
    """Whole, but not what a run wrote (another tool overwrote it): its columns are checked too."""
    before = _current(out)
    table = pq.read_table(before / "households.parquet").drop_columns(["household_id"])
    pq.write_table(table, before / "households.parquet")
    outcome = _run(landing, out)
    _recovered(outcome, out, before, before / "households.parquet")
    assert any("lacks the column(s) household_id" in d for d in outcome.manifest["history"]["damaged"])
