"""A district whose data were not complete: its benchmark rows are null and marked (not 0), the county
covers the other districts with the denominator to match, movement and campaign leave it out, and the
report says so at the top (real DuckDB, hand-built tables)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb

from benchmarks.build import TABLES, build_benchmarks
from benchmarks.report import write_report
from schemas.outputs import METRICS
from tests.benchmarks.households import Group, make_council_tax, make_households, publish_run

A, B, C = "E07000105", "E07000106", "E07000108"  # Ashford, Canterbury, Dover
D1, D2 = dt.date(2026, 10, 20), dt.date(2026, 11, 20)


def three_districts(con: duckdb.DuckDBPyConnection, with_c: bool = True) -> None:
    """A: 20 at risk, 30 coping, 200 dwellings. B: 30 at risk, 40 coping, 300 dwellings.
    C: 40 coping of whom 10 miss Pension Credit, 1,000 dwellings (left out when ``with_c`` is false,
    as a district whose benefits file was refused: its council tax is still there)."""
    groups = [Group(A, 20, "at_risk", "r"), Group(A, 30, "coping", "p"),
              Group(B, 30, "at_risk", "r"), Group(B, 40, "coping", "p")]
    if with_c:
        groups += [Group(C, 30, "coping", "p"),
                   Group(C, 10, "coping", "q", pensioner=True, pc_missing=True, pc_value="1000.00")]
    make_households(con, groups)
    make_council_tax(con, {A: 200, B: 300, C: 1000})


def cells(con: duckdb.DuckDBPyConnection, run_id: str) -> dict[tuple[str, str], tuple]:
    rows = con.execute("SELECT lad_code, metric, count, denominator, rate, availability, suppressed, rank "
                       "FROM district_benchmarks WHERE run_id = ?", [run_id]).fetchall()
    return {(r[0], r[1]): r[2:] for r in rows}


def test_an_unavailable_district_is_null_and_the_county_covers_the_others() -> None:
    con = duckdb.connect()
    three_districts(con, with_c=False)
    report = build_benchmarks(con, "r1", D1, None, unavailable={C: "refused"})
    got = cells(con, "r1")
    assert len(got) == 4 * len(METRICS)  # A, B, C and the county, every metric each
    for (lad, _), row in got.items():
        if lad == C:
            assert row == (None, None, None, "refused", False, None)
    assert got[(A, "in_crisis_or_at_risk")] == (20, 200, 100.0, "available", False, 1)
    assert got[(B, "in_crisis_or_at_risk")] == (30, 300, 100.0, "available", False, 1)
    # over A and B only: 50 per 500 dwellings = 100.0 (with C's 1,000 dwellings it would be 33.3)
    assert got[("county", "in_crisis_or_at_risk")] == (50, 500, 100.0, "partial", False, None)
    assert got[("county", "dwellings")][:2] == (500, 500)
    assert report.headline["households_scored"] == 120


def test_movement_and_campaign_leave_out_an_unavailable_district(tmp_path: Path) -> None:
    con = duckdb.connect()
    three_districts(con)
    build_benchmarks(con, "r1", D1, None)
    run1 = publish_run(con, tmp_path / "r1", (*TABLES, "households"))
    assert cells(con, "r1")[("county", "households_scored")][:2] == (160, 1500)
    three_districts(con, with_c=False)
    build_benchmarks(con, "r2", D2, run1, unavailable={C: "refused"})
    move = {(r[0], r[1], r[2]): r[3] for r in con.execute(
        "SELECT lad_code, from_status, to_status, count FROM status_movement WHERE run_id = 'r2'").fetchall()}
    assert {lad for lad, _, _ in move} == {A, B, "county"}
    assert move[("county", "all", "gone")] == 0  # C's 40 households are not "gone": C is left out
    assert move[("county", "all", "all")] == 120
    campaign = con.execute("SELECT DISTINCT lad_code FROM pension_credit_campaign WHERE run_id = 'r2'").fetchall()
    assert C not in {r[0] for r in campaign}  # C's 10 flagged households are not "not found"
    got = cells(con, "r2")
    change = con.execute("SELECT change_since_previous FROM district_benchmarks WHERE run_id = 'r2' "
                         "AND lad_code = 'county' AND metric = 'households_scored'").fetchone()
    assert change == (None,)  # 160 over three districts then, 120 over two now: not a fall of 40
    assert got[(C, "households_scored")] == (None, None, None, "refused", False, None)


def test_the_report_names_the_gap_at_the_top_and_shows_not_available(tmp_path: Path) -> None:
    con = duckdb.connect()
    three_districts(con, with_c=False)
    build_benchmarks(con, "r1", D1, None, unavailable={C: "refused"})
    manifest = {"run_id": "r1", "completeness": {
        "complete": False, "expected_from": "landing", "expected": [A, B, C],
        "districts": [{"lad_code": A, "status": "complete", "reasons": []},
                      {"lad_code": B, "status": "complete", "reasons": []},
                      {"lad_code": C, "status": "refused", "reasons": [
                          "benefits_2026-11-20.csv refused whole (missing required column(s): rent_weekly)"]}],
        "warnings": [], "notes": ["folder 'e07000107' in the landing area looks like E07000107 in lower case: "
                                  "not used"]}}
    out = tmp_path / "report.html"
    write_report(con, manifest, out)
    html = out.read_text(encoding="utf-8")
    banner = html.index('class="banner"')
    assert banner < html.index('class="headline"')
    assert "Incomplete: 1 of 3 districts not in these figures" in html
    assert ("<strong>Dover (E07000108): refused</strong> · benefits_2026-11-20.csv refused whole "
            "(missing required column(s): rent_weekly)") in html
    assert "Kent figures cover the 2 districts with complete data only (Ashford, Canterbury)" in html
    assert "2 of 3 districts with complete data" in html
    assert "not available: refused data" in html  # the full table's row for Dover
    # six rate charts, the Pension Credit chart and the status mix
    assert html.count(">not available: refused<") == 8
    assert "looks like E07000107 in lower case" in html
    assert "across the 2 districts of Kent with complete data." in html
    assert "Dover has the highest" not in html
