"""District benchmarks, movement, campaign and area needs on hand-built tables (real DuckDB)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from benchmarks.build import TABLES, build_benchmarks
from benchmarks.disclosure import recoverable_cells
from benchmarks.metrics import benchmark_lines, district_figures
from benchmarks.output_tables import bi_safe_arrow_problems, bi_safe_problems
from schemas.outputs import METRICS
from schemas.vocabulary import RESILIENCE_STATUSES
from tests.benchmarks.households import Group, make_council_tax, make_households, publish_run

A, B = "E07000106", "E07000112"  # Canterbury, Folkestone and Hythe
D1, D2 = dt.date(2026, 10, 20), dt.date(2026, 11, 20)


def first_run(con: duckdb.DuckDBPyConnection) -> None:
    """A: 3 in crisis, 12 at risk, 10 struggling, 15 coping, 10 comfortable (50); 4 missing PC.
    B: 20, 15, 10, 10, 15 (70); 12 missing PC. Dwellings: A 200, B 300."""
    make_households(con, [
        Group(A, 3, "in_crisis", "c", fuel=True),
        Group(A, 12, "at_risk", "r", fuel=True, water=True, food=True),
        Group(A, 10, "struggling", "s"),
        Group(A, 4, "coping", "p", pensioner=True, pc_missing=True, pc_value="1768.00"),
        Group(A, 11, "coping", "q", pensioner=True),
        Group(A, 10, "comfortable", "k"),
        Group(B, 20, "in_crisis", "c"),
        Group(B, 15, "at_risk", "r"),
        Group(B, 10, "struggling", "s"),
        Group(B, 10, "coping", "p", pensioner=True, pc_missing=True, pc_value="1000.00"),
        Group(B, 2, "comfortable", "p", start=10, pensioner=True, pc_missing=True, pc_value="1000.00"),
        Group(B, 13, "comfortable", "k"),
    ], run_id="r1")
    make_council_tax(con, {A: 200, B: 300})


def rows_by(con: duckdb.DuckDBPyConnection, sql: str) -> dict[tuple[str, str], tuple]:
    return {(r[0], r[1]): r[2:] for r in con.execute(sql).fetchall()}


def test_hand_worked_benchmarks_and_secondary_suppression() -> None:
    con = duckdb.connect()
    first_run(con)
    figures = district_figures(con)
    hidden = {key for key, cell in figures.published.items() if cell.suppressed}
    # A's 3 in crisis is primary; A's in-crisis-or-at-risk (15) is published, so hiding only
    # A's at-risk would leave in crisis = 15 - at risk: the line rule and the null-space check
    # end with four hidden statuses in each district, and never the totals.
    expected = {(lad, s) for lad in (A, B) for s in ("in_crisis", "at_risk", "struggling", "comfortable")}
    assert {key for key in hidden if key[1] in RESILIENCE_STATUSES} == expected
    assert recoverable_cells(figures.counts, benchmark_lines(figures.districts), hidden) == set()
    # A's 4 missing Pension Credit is primary; B's 12 goes too so the county's 16 can be shown.
    assert (A, "pension_credit_missing") in hidden and (B, "pension_credit_missing") in hidden
    assert figures.published[("county", "pension_credit_missing")].count == 15


def test_benchmark_table_rates_ranks_and_money() -> None:
    con = duckdb.connect()
    first_run(con)
    build_benchmarks(con, "r1", D1, None)
    got = rows_by(con, "SELECT lad_code, metric, count, denominator, rate, value_gbp, suppressed, rank, "
                       "county_rate_diff, percent_of_scored FROM district_benchmarks")
    # households scored: A 50 of 200 dwellings = 250.0 per 1,000; B 70 of 300 = 233.33; county 120/500 = 240.
    assert got[(A, "households_scored")][:5] == (50, 200, 250.0, None, False)
    assert got[(B, "households_scored")][2] == pytest.approx(233.3333)
    assert got[("county", "households_scored")][:3] == (120, 500, 240.0)
    assert got[(A, "households_scored")][5:7] == (1, 10.0)
    assert got[(B, "households_scored")][5] == 2
    # derived figures of suppressed counts are suppressed with them
    for key in ((A, "pension_credit_missing"), (B, "pension_credit_missing"), (A, "in_crisis")):
        count, _, rate, value, suppressed, rank, diff, percent = got[key]
        assert suppressed and count is None and rate is None and value is None
        assert rank is None and diff is None and percent is None
    # county Pension Credit: 16 households rounded to 15; 4 x 1768 + 12 x 1000 = £19,072 a year, shown to £1,000
    assert got[("county", "pension_credit_missing")][:4] == (15, 500, 30.0, Decimal("19000.00"))
    # fuel poverty: A 15 (3 + 12) of 50 scored = 30%; B 0 is shown
    assert got[(A, "fuel_poverty")][0] == 15 and got[(A, "fuel_poverty")][7] == 30.0
    assert got[(B, "fuel_poverty")][:1] == (0,)
    assert got[(A, "fuel_water_food_poverty")][0] == 10  # the 12 at risk, rounded


def test_no_published_count_is_small_or_unrounded() -> None:
    con = duckdb.connect()
    first_run(con)
    build_benchmarks(con, "r1", D1, None)
    for table in TABLES:
        bad = con.execute(f"SELECT count(*) FROM {table} WHERE count IS NOT NULL AND "
                          "(count BETWEEN 1 AND 9 OR count % 5 <> 0)").fetchone()
        assert bad == (0,), table
        mismatched = con.execute(f"SELECT count(*) FROM {table} WHERE suppressed <> (count IS NULL)").fetchone()
        assert mismatched == (0,), table


def second_run(con: duckdb.DuckDBPyConnection) -> None:
    """A: the 12 at risk now coping; its 4 missing Pension Credit now receive £30 a week.
    B: its 12 missing Pension Credit now receive £20 a week; two new comfortable households."""
    make_households(con, [
        Group(A, 3, "in_crisis", "c", fuel=True),
        Group(A, 12, "coping", "r"),
        Group(A, 10, "struggling", "s"),
        Group(A, 4, "coping", "p", pensioner=True, pc_weekly="30.00"),
        Group(A, 11, "coping", "q", pensioner=True),
        Group(A, 10, "comfortable", "k"),
        Group(B, 20, "in_crisis", "c"),
        Group(B, 15, "at_risk", "r"),
        Group(B, 10, "struggling", "s"),
        Group(B, 10, "coping", "p", pensioner=True, pc_weekly="20.00"),
        Group(B, 2, "comfortable", "p", start=10, pensioner=True, pc_weekly="20.00"),
        Group(B, 13, "comfortable", "k"),
        Group(B, 2, "comfortable", "n"),
    ], run_id="r2")
    make_council_tax(con, {A: 200, B: 300})


def test_history_kept_across_two_runs_and_parquet_is_bi_safe(tmp_path: Path) -> None:
    con = duckdb.connect()
    first_run(con)
    build_benchmarks(con, "r1", D1, None)
    run1 = publish_run(con, tmp_path / "runs" / "r1", (*TABLES, "households"))
    second_run(con)
    report = build_benchmarks(con, "r2", D2, run1)
    run2 = publish_run(con, tmp_path / "runs" / "r2", (*TABLES, "households"))
    dates = con.execute("SELECT run_id, count(*) FROM district_benchmarks GROUP BY ALL ORDER BY 1").fetchall()
    # 3 areas x 26 metrics, each run (14 before the take-up metrics of docs/TAKEUP.md: 0 here, the
    # hand-built households have no take-up columns)
    assert dates == [("r1", 3 * len(METRICS)), ("r2", 3 * len(METRICS))] and len(METRICS) == 26
    got = rows_by(con, "SELECT lad_code, metric, count, change_since_previous, rate_change_since_previous "
                       "FROM district_benchmarks WHERE run_id = 'r2'")
    assert got[("county", "at_risk")] == (15, -10, -20.0)  # 27 -> 15 at risk: 25 -> 15 published
    # movement: A's 12 at risk are now coping. Campaign: all 16 flagged now receive Pension
    # Credit; A's 4 are hidden, so B's 12 are too (county minus B would give A), not the county.
    move = rows_by(con, "SELECT from_status || '>' || to_status, lad_code, count, suppressed "
                        "FROM status_movement WHERE lad_code = 'county' OR lad_code = 'E07000106'")
    assert move[("at_risk>coping", A)] == (10, False)
    assert move[("new>comfortable", "county")] == (None, True)  # 2 new households
    assert move[("in_crisis>in_crisis", A)] == (None, True)  # 3
    camp = rows_by(con, "SELECT lad_code, outcome, count, value_gbp, suppressed FROM pension_credit_campaign "
                        "WHERE run_id = 'r2'")
    assert camp[("county", "flagged_previously")] == (15, Decimal("19000.00"), False)  # £19,072
    # 4 x £30 x 52 + 12 x £20 x 52 = £6,240 + £12,480
    assert camp[("county", "now_receiving")] == (15, Decimal("19000.00"), False)  # £18,720 to £1,000
    assert camp[(A, "now_receiving")] == (None, None, True)
    assert camp[(B, "now_receiving")] == (None, None, True)
    assert camp[(B, "still_missing")] == (0, Decimal("0.00"), False)
    assert report.as_manifest()["county_headline"]["households_scored"] == 120  # 122 rounded
    # a rerun of the same date replaces its rows instead of adding a third set
    build_benchmarks(con, "r2b", D2, run2)
    assert con.execute("SELECT list(DISTINCT run_id ORDER BY run_id) FROM district_benchmarks").fetchone() == (
        ["r1", "r2b"],)
    for table in TABLES:
        assert bi_safe_problems(con, table) == []
        path = run2 / f"{table}.parquet"
        assert bi_safe_arrow_problems(pq.read_schema(path)) == []
        types = dict(con.execute(f"DESCRIBE SELECT * FROM read_parquet('{path}')").fetchall()[i][:2]
                     for i in range(len(pq.read_schema(path))))
        assert set(types.values()) <= {"BIGINT", "DOUBLE", "DECIMAL(18,2)", "DATE", "VARCHAR", "BOOLEAN"}


def test_area_needs_by_sector_lsoa_and_ward() -> None:
    con = duckdb.connect()
    make_households(con, [
        Group(A, 8, "at_risk", "a", postcode="CT1 1AA"),
        Group(A, 9, "coping", "b", postcode="ct11ab"),
        Group(A, 4, "coping", "c", postcode="CT2 7XY"),
        Group(A, 14, "comfortable", "d", postcode="CT3 4QQ"),
    ])
    make_council_tax(con, {A: 100})
    con.execute("CREATE TABLE postcode_lookup (postcode VARCHAR, lsoa21cd VARCHAR, ward_code VARCHAR, "
                "lad_code VARCHAR)")
    con.execute("INSERT INTO postcode_lookup VALUES ('CT1 1AA', 'E01024001', 'E05000001', ?), "
                "('CT1 1AB', 'E01024002', 'E05000001', ?), ('CT3 4QQ', 'E01024003', 'E05000002', ?)", [A, A, A])
    build_benchmarks(con, "r1", D1, None)
    got = rows_by(con, "SELECT area_type || ':' || area_code, metric, count, suppressed FROM area_needs "
                       "WHERE metric = 'households_scored'")
    # sectors: CT1 1 has 17, CT2 7 has 4 (primary), CT3 4 has 14; district total 35 is published,
    # so a second sector goes: the smaller, CT3 4.
    assert got[("postcode_sector:CT1 1", "households_scored")] == (15, False)
    assert got[("postcode_sector:CT2 7", "households_scored")] == (None, True)
    assert got[("postcode_sector:CT3 4", "households_scored")] == (None, True)
    # LSOA: E01024001 8 and E01024002 9 (both primary), E01024003 14, unknown 4 (primary):
    # three hidden cells already protect each other.
    assert got[("lsoa:E01024003", "households_scored")] == (15, False)
    assert got[("lsoa:unknown", "households_scored")] == (None, True)
    assert got[("ward:E05000001", "households_scored")] == (15, False)  # 17
    # at risk: 8 in CT1 1, 0 elsewhere: 8 is primary; the district's 8 is suppressed too
    risk = rows_by(con, "SELECT area_type || ':' || area_code, metric, count, suppressed FROM area_needs "
                        "WHERE metric = 'in_crisis_or_at_risk'")
    assert risk[("postcode_sector:CT1 1", "in_crisis_or_at_risk")] == (None, True)
    assert risk[("postcode_sector:CT3 4", "in_crisis_or_at_risk")] == (0, False)


def test_county_rows_carry_the_partnership_name_and_keep_their_key(tmp_path: Path) -> None:
    """C33: the configured name (manifest county_name) on every table's county rows, the history's too."""
    con = duckdb.connect()
    first_run(con)
    build_benchmarks(con, "r1", D1, None)  # default: Kent
    assert con.execute("SELECT DISTINCT district_name FROM district_benchmarks WHERE lad_code = 'county'"
                       ).fetchall() == [("Kent",)]
    run1 = publish_run(con, tmp_path / "runs" / "r1", (*TABLES, "households"))
    second_run(con)
    build_benchmarks(con, "r2", D2, run1, county_name="Kent and Medway")
    for table in ("district_benchmarks", "status_movement", "pension_credit_campaign"):
        names = con.execute(f"SELECT DISTINCT lad_code, district_name FROM {table} WHERE lad_code = 'county' "
                            "OR district_name = 'Kent'").fetchall()
        assert names == [("county", "Kent and Medway")], table
    assert con.execute("SELECT count(DISTINCT run_id) FROM district_benchmarks WHERE lad_code = 'county' "
                       "AND district_name = 'Kent and Medway'").fetchone() == (2,)  # r1's kept rows too
    assert con.execute("SELECT DISTINCT district_name FROM district_benchmarks WHERE lad_code = ?", [A]
                       ).fetchall() == [("Canterbury",)]  # districts as they were
