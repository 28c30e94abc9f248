"""Runs and their history: an empty run publishes nothing, a back-dated run never replaces current
nor enters the history later runs compare against (unless --backfill), retention prunes old runs'
row-level files, and runs near the parameters' last date warn. In-process runs (``run_local``),
the command line where the exit status is the point."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import duckdb
import pytest

from pipelines.run import RunRequest, run_local
from pipelines.run_guards import parameters_last_date, parameters_warning
from schemas.errors import UserError
from tests.cli import error_lines, povertylink
from tests.rows import benefits_row, council_tax_row, header, write_csv

DAYS = ("2026-11-10", "2026-11-20", "2026-11-21", "2026-11-22")


def _landing(root: Path, days: tuple[str, ...] = DAYS) -> Path:
    """Two districts, the same three claims in each extract, one extract per day."""
    for day in days:
        for lad, prefix in (("E07000105", "A"), ("E07000106", "C")):
            write_csv(root / lad / f"benefits_{day}.csv",
                      [benefits_row(f"{prefix}{i}", uprn=f"10006200000{i}") for i in range(1, 4)], header("benefits"))
            write_csv(root / lad / f"council_tax_{day}.csv",
                      [council_tax_row(f"{prefix}A{i}", uprn=f"10006200000{i}") for i in range(1, 4)],
                      header("council_tax"))
    return root


def _run(landing: Path, out: Path, day: str, **kw: object):
    return run_local(RunRequest(landing, out, dt.date.fromisoformat(day), **kw), retry_delays=())  # type: ignore[arg-type]


def _current(out: Path) -> str:
    return Path(os.readlink(out / "current")).name


def _manifest(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text())


def _query(path: Path, sql: str) -> list[tuple]:
    with duckdb.connect() as con:
        return con.execute(sql.replace("FILE", f"read_parquet('{path}')")).fetchall()


# ------------------------------------------------------------------------------------------ empty


def test_a_run_with_no_extract_on_or_before_its_date_exits_2_and_creates_nothing(tmp_path):
    landing, out = _landing(tmp_path / "land", ("2026-11-20",)), tmp_path / "out"
    result = povertylink("run", "--input", str(landing), "--output", str(out), "--as-of", "2026-10-31")
    assert result.returncode == 2
    assert error_lines(result.stderr) == [
        "povertylink: error: no extract dated on or before 2026-10-31 in any district folder: nothing to run, "
        "nothing published"]
    assert not out.exists()


def test_a_run_whose_every_file_is_refused_publishes_nothing(tmp_path):
    landing, out = tmp_path / "land", tmp_path / "out"
    columns = [c for c in header("benefits") if c != "rent_weekly"]  # a required column missing: refused whole
    for lad in ("E07000105", "E07000106"):
        write_csv(landing / lad / "benefits_2026-11-20.csv", [benefits_row("B1")], columns)
    with pytest.raises(UserError, match=r"^no usable benefit claim in any district as of 2026-11-20 \(every "
                                        r"extract refused or empty\): nothing published, current is unchanged$"):
        _run(landing, out, "2026-11-20")
    assert not (out / "current").exists()
    assert [p.name for p in (out / "runs").iterdir()] == []


# ------------------------------------------------------------------------------------------ back-dated


@pytest.fixture(scope="module")
def history(tmp_path_factory) -> dict[str, object]:
    """Runs in this order: normal (11-20), back-dated (11-10), normal (11-21), backfill (11-10), normal (11-22)."""
    root = tmp_path_factory.mktemp("history")
    landing, out = _landing(root / "land"), root / "out"
    runs = {}
    for name, day, backfill in (("first", "2026-11-20", False), ("back", "2026-11-10", False),
                                ("second", "2026-11-21", False), ("backfill", "2026-11-10", True),
                                ("third", "2026-11-22", False)):
        outcome = _run(landing, out, day, backfill=backfill)
        assert outcome.exit_code == 0, outcome.errors
        runs[name] = outcome
        runs[f"{name}_current"] = _current(out)
    return {"out": out, **runs}


def test_a_back_dated_run_is_written_but_never_becomes_current(history):
    out, first, back = history["out"], history["first"], history["back"]
    assert history["back_current"] == first.run_id
    assert back.published == out / "runs" / back.run_id and (back.published / "households.parquet").is_file()
    section = _manifest(back.published)["history"]
    assert section == {
        "back_dated": True, "backfill": False, "in_history": False, "becomes_current": False,
        "current_as_of": "2026-11-20", "compared_with": None, "backfills_taken_in": [], "runs_kept": 2,
        "note": "back-dated: as of earlier than the current run's 2026-11-20; written under runs/, current "
                "unchanged; not in the history later runs compare against (--backfill inserts it)"}
    assert "Written to " in back.summary() and "current is unchanged" in back.summary()
    assert "WARNING: back-dated: as of earlier than the current run's 2026-11-20" in back.summary()
    assert "Back-dated: as of earlier than the current run" in (back.published / "report.html").read_text()


def test_the_next_run_compares_with_current_not_the_back_dated_run(history):
    first, second = history["first"], history["second"]
    assert history["second_current"] == second.run_id
    assert second.manifest["previous_run"] == first.run_id
    assert second.manifest["history"]["compared_with"] == first.run_id
    movement = second.published / "status_movement.parquet"
    assert _query(movement, "SELECT DISTINCT previous_run_id FROM FILE") == [(first.run_id,)]
    # the same six claims: none new, none gone, every household id carried
    assert _query(movement, "SELECT sum(count) FROM FILE WHERE lad_code = 'county' AND from_status = 'new' "
                            "AND to_status = 'all'") == [(0,)]
    ids = "SELECT lad_code, claim_ref, household_id FROM FILE ORDER BY ALL"
    assert _query(second.published / "households.parquet", ids) == _query(first.published / "households.parquet", ids)
    trend = _query(second.published / "district_benchmarks.parquet",
                   "SELECT DISTINCT run_date::VARCHAR FROM FILE ORDER BY 1")
    assert trend == [("2026-11-20",), ("2026-11-21",)]


def test_a_backfill_joins_the_history_in_date_order_without_becoming_current(history):
    second, backfill, third = history["second"], history["backfill"], history["third"]
    assert history["backfill_current"] == second.run_id
    section = backfill.manifest["history"]
    assert (section["back_dated"], section["backfill"], section["in_history"], section["becomes_current"]) == (
        True, True, True, False)
    assert section["compared_with"] is None  # nothing in the history is older than 2026-11-10
    assert third.manifest["history"]["backfills_taken_in"] == [backfill.run_id]
    assert third.manifest["previous_run"] == second.run_id
    trend = _query(third.published / "district_benchmarks.parquet",
                   "SELECT run_date::VARCHAR, any_value(run_id) FROM FILE GROUP BY 1 ORDER BY 1")
    assert trend == [("2026-11-10", backfill.run_id), ("2026-11-20", history["first"].run_id),
                     ("2026-11-21", second.run_id), ("2026-11-22", third.run_id)]
    # the back-dated run without --backfill never entered it
    assert history["back"].run_id not in {r[1] for r in trend}


# ------------------------------------------------------------------------------------------ retention


def test_retention_prunes_row_level_files_of_runs_beyond_keep_runs(tmp_path):
    landing, out = _landing(tmp_path / "land", DAYS[1:]), tmp_path / "out"
    config = tmp_path / "keep2.toml"
    config.write_text("[retention]\nkeep_runs = 2\n")
    outcomes = [_run(landing, out, day, config=config) for day in DAYS[1:]]
    first, second, third = (o.run_id for o in outcomes)
    assert [o.manifest["retention"]["pruned_now"] for o in outcomes] == [[], [], [first]]
    assert outcomes[2].manifest["retention"]["keep_runs"] == 2
    assert sorted(p.name for p in (out / "runs" / first).iterdir()) == [
        "area_needs.parquet", "data_dictionary.md", "datapackage.json", "district_benchmarks.parquet",
        "manifest.json", "pension_credit_campaign.parquet", "report.html", "status_movement.parquet"]
    for kept in (second, third):
        for name in ("households.parquet", "validated", "districts", "links.parquet", "povertylink.duckdb"):
            assert (out / "runs" / kept / name).exists(), (kept, name)
    # the long-format history still has every run
    trend = _query(out / "current" / "district_benchmarks.parquet", "SELECT count(DISTINCT run_id) FROM FILE")
    assert trend == [(3,)]
    assert f"Retention: row-level files of 1 older run(s) removed (keep_runs = 2): {first}" in outcomes[2].summary()


# ------------------------------------------------------------------------------------------ warn ahead


def test_parameters_warning_starts_60_days_before_the_last_date():
    last = dt.date(2027, 4, 5)
    assert parameters_warning(dt.date(2027, 2, 3), last) is None  # 61 days before
    assert parameters_warning(dt.date(2027, 2, 4), last) == (
        "scoring parameters end on 2027-04-05 (60 days after this run's as-of date): add "
        "pipelines/score/params/2027-28.toml before then, or runs as of 2027-04-06 will stop with exit 2")
    assert parameters_last_date() == last  # the newest file held is 2026-27


def test_a_run_near_the_parameters_last_date_warns_in_summary_manifest_and_report(tmp_path):
    landing, out = _landing(tmp_path / "land", ("2027-03-06",)), tmp_path / "out"
    outcome = _run(landing, out, "2027-03-06")
    warning = ("scoring parameters end on 2027-04-05 (30 days after this run's as-of date): add "
               "pipelines/score/params/2027-28.toml before then, or runs as of 2027-04-06 will stop with exit 2")
    assert outcome.manifest["parameters_end"] == {"last_date": "2027-04-05", "warning": warning}
    assert _manifest(out / "current")["parameters_end"]["warning"] == warning
    assert f"WARNING: {warning}" in outcome.summary()
    assert "Scoring parameters end on 2027-04-05 (30 days" in (out / "current" / "report.html").read_text()


def test_a_run_far_from_the_parameters_last_date_does_not_warn(history):
    first = history["first"]
    assert first.manifest["parameters_end"] == {"last_date": "2027-04-05", "warning": None}
    assert "WARNING" not in first.summary()
