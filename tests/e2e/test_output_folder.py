"""The output folder: checked before anything is ingested (writable, room for a run, ``current`` a
link), and its ``povertylink.duckdb`` usable wherever the folder is copied to."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
from pathlib import Path

import duckdb
import pytest

from pipelines.run import RunRequest, run_local
from pipelines.run_guards import folder_bytes
from schemas.errors import UserError
from tests.cli import error_lines, povertylink
from tests.e2e.test_faults import mounted
from tests.rows import benefits_row, council_tax_row, header, write_csv

AS_OF = dt.date(2026, 11, 20)


@pytest.fixture(scope="module")
def landing(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("landing")
    for lad, prefix in (("E07000105", "A"), ("E07000106", "C")):
        write_csv(root / lad / "benefits_2026-11-20.csv",
                  [benefits_row(f"{prefix}{i}", uprn=f"10006200000{i}") for i in range(1, 4)], header("benefits"))
        write_csv(root / lad / "council_tax_2026-11-20.csv",
                  [council_tax_row(f"{prefix}A{i}", uprn=f"10006200000{i}") for i in range(1, 4)],
                  header("council_tax"))
    return root


def _run(landing: Path, out: Path):
    return run_local(RunRequest(landing, out, AS_OF), retry_delays=())


def test_read_only_output_is_exit_2_before_anything_is_ingested(landing, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    with mounted("--bind", str(out), target=out):
        ro = subprocess.run(["mount", "-o", "remount,ro,bind", str(out)], capture_output=True, text=True)
        if ro.returncode:
            pytest.skip(f"cannot remount read-only: {ro.stderr.strip()}")
        result = povertylink("run", "--input", str(landing), "--output", str(out), "--as-of", "2026-11-20")
    assert result.returncode == 2, result.stderr
    assert error_lines(result.stderr) == [
        f"povertylink: error: --output {out}: not writable (Read-only file system)"]
    assert list(out.iterdir()) == []  # no lock file, no cache, no staging: nothing ran


def test_a_real_folder_named_current_is_exit_2_before_ingest(landing, tmp_path):
    out = tmp_path / "out"
    (out / "current").mkdir(parents=True)
    with pytest.raises(UserError, match="current is a real folder, not the link povertylink manages; move it away"):
        _run(landing, out)
    assert sorted(p.name for p in out.iterdir()) == ["current"]


def test_too_little_disk_for_another_run_is_exit_2_before_ingest(landing, tmp_path):
    disk = tmp_path / "disk"
    disk.mkdir()
    with mounted("-t", "tmpfs", "-o", "size=16m", "tmpfs", target=disk):
        out = disk / "out"
        first = _run(landing, out)
        assert first.exit_code == 0
        needed = folder_bytes(first.published)
        stat = os.statvfs(disk)
        with (disk / "filler").open("wb") as handle:  # leave half the last run's size free
            handle.write(b"\0" * (stat.f_bavail * stat.f_frsize - needed // 2))
        with pytest.raises(UserError, match=r"not enough disk space: [\d.]+ MB free, the last run took [\d.]+ MB"):
            _run(landing, out)
        assert [p.name for p in (out / "runs").iterdir()] == [first.run_id]
        (disk / "filler").unlink()


def test_the_database_works_when_the_output_folder_is_copied_elsewhere(landing, tmp_path):
    out = tmp_path / "out"
    outcome = _run(landing, out)
    copy = tmp_path / "share" / "povertylink"
    shutil.copytree(out / "current", copy)  # what someone copying current/ to a share gets
    out.rename(tmp_path / "gone")  # nothing is left at the original path
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    cwd = Path.cwd()
    os.chdir(elsewhere)
    try:
        with duckdb.connect(str(copy / "povertylink.duckdb"), read_only=True) as con:
            tables = sorted(r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall())
            assert tables == ["area_needs", "arrears_signals", "contact_list", "district_benchmarks",
                              "districts_E07000105_arrears_signals", "districts_E07000105_contact_list",
                              "districts_E07000105_households", "districts_E07000105_review_queue",
                              "districts_E07000106_arrears_signals", "districts_E07000106_contact_list",
                              "districts_E07000106_households", "districts_E07000106_review_queue", "households",
                              "links", "pension_credit_campaign", "quarantine", "review_queue", "status_movement"]
            assert con.execute("SELECT count(*) FROM households").fetchone() == (6,)
            assert con.execute("SELECT DISTINCT lad_code FROM districts_E07000106_households").fetchall() == [
                ("E07000106",)]
            for whole in ("households", "arrears_signals", "contact_list", "review_queue"):  # its county rows
                view = f"districts_E07000106_{whole}"
                assert con.execute(f"DESCRIBE {view}").fetchall() == con.execute(f"DESCRIBE {whole}").fetchall()
                assert con.execute(f"SELECT * FROM {view} ORDER BY ALL").fetchall() == con.execute(
                    f"SELECT * FROM {whole} WHERE lad_code = 'E07000106' ORDER BY ALL").fetchall()
            run_ids = con.execute("SELECT DISTINCT run_id FROM district_benchmarks").fetchall()
            assert run_ids == [(outcome.run_id,)]
    finally:
        os.chdir(cwd)
