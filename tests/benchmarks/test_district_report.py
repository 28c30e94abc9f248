"""districts/<LAD>/report.html: the district's own exact figures, its place among the others from the
shared (disclosure-controlled) table only, its campaigns when it has any, and what changed."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from benchmarks.district_report import write_district_report
from benchmarks.report import write_report
from schemas.reference import COUNTY_CODE
from tests.benchmarks.test_report import MANIFEST, kent_runs

TONBRIDGE, THANET = "E07000115", "E07000114"
RUN = "2026-11-20T02"
WHEN = dt.datetime(2026, 11, 20, 3, 0)


def _report(con: duckdb.DuckDBPyConnection, tmp_path: Path, lad: str = TONBRIDGE, folder: str = "a") -> str:
    out = write_district_report(con, {**MANIFEST, "run_id": RUN}, lad, tmp_path / folder / lad, tmp_path / "runs" / "1",
                                generated=WHEN)
    return out.read_text(encoding="utf-8")


def _exact(con: duckdb.DuckDBPyConnection, lad: str, where: str) -> int:
    row = con.execute(f"SELECT count(*) FROM households WHERE lad_code = ? AND {where}", [lad]).fetchone()
    assert row is not None
    return int(row[0])


def test_district_report_shows_its_own_exact_figures_and_the_shared_ones(tmp_path: Path) -> None:
    con = duckdb.connect()
    kent_runs(con, tmp_path)
    html = _report(con, tmp_path)
    crisis = _exact(con, TONBRIDGE, "resilience_status = 'in_crisis'")
    risk = _exact(con, TONBRIDGE, "resilience_status IN ('in_crisis', 'at_risk')")
    assert f"in crisis {crisis:,}" in html and f'<p class="value">{risk:,}</p>' in html
    row = con.execute("SELECT count(*), sum(pension_credit_value_annual) FROM households WHERE lad_code = ? "
                      "AND pension_credit_missing", [TONBRIDGE]).fetchone()
    assert row is not None and row[0]
    n, gbp = int(row[0]), float(row[1])
    assert f"£{gbp:,.0f}" in html and f"£{gbp / n:,.0f} a year per household" in html  # exact over exact
    shared = con.execute("SELECT count, rank FROM district_benchmarks WHERE run_id = ? AND lad_code = ? AND "
                         "metric = 'in_crisis_or_at_risk'", [RUN, TONBRIDGE]).fetchone()
    assert shared is not None and f"<td>{shared[0]:,}</td>" in html and f"{shared[1]} of 12" in html
    assert "Tonbridge and Malling: financial resilience" in html and "Thanet" in html  # the others in the chart
    assert 'id="campaigns"' not in html  # no campaigns file: no section
    assert "in run <code>" in html  # what changed: the previous run's households are there


def test_district_report_reads_no_other_districts_rows(tmp_path: Path) -> None:
    """Every other district's households, accounts, quarantine rows and links taken away: the page is the same,
    byte for byte. Whatever it says of them comes from the shared, disclosure-controlled table."""
    con = duckdb.connect()
    kent_runs(con, tmp_path)
    before = _report(con, tmp_path, folder="a")
    for table in ("households", "council_tax", "quarantine", "links", "benefits"):
        con.execute(f"DELETE FROM {table} WHERE lad_code <> ?", [TONBRIDGE])
    after = _report(con, tmp_path, folder="b")
    assert after == before
    others = con.execute("SELECT count(*) FROM district_benchmarks WHERE lad_code NOT IN (?, ?)",
                         [TONBRIDGE, COUNTY_CODE]).fetchone()
    assert others is not None and others[0] > 0


def test_district_report_leaves_out_small_exact_counts_of_others(tmp_path: Path) -> None:
    """A count of another district that the shared table hides stays hidden on this district's page."""
    con = duckdb.connect()
    kent_runs(con, tmp_path)
    hidden = con.execute("SELECT lad_code, metric FROM district_benchmarks WHERE run_id = ? AND suppressed "
                         "AND lad_code NOT IN (?, 'county') AND metric IN ('in_crisis_or_at_risk', 'fuel_poverty', "
                         "'water_poverty', 'food_poverty', 'fuel_water_food_poverty', 'pension_credit_missing')",
                         [RUN, TONBRIDGE]).fetchall()
    assert hidden
    html = _report(con, tmp_path)
    assert html.count("[c]") >= len(hidden)
    for lad, _metric in hidden:
        name = con.execute("SELECT any_value(district_name) FROM district_benchmarks WHERE lad_code = ?",
                           [lad]).fetchone()
        assert name is not None
        # a suppressed district's bar is "[c]" with its name as the tooltip, never a number
        assert re.search(rf"<title>{re.escape(name[0])}: suppressed</title>", html)


def test_district_report_shows_its_campaigns_when_there_are_some(tmp_path: Path) -> None:
    con = duckdb.connect()
    kent_runs(con, tmp_path)
    folder = tmp_path / "a" / TONBRIDGE
    folder.mkdir(parents=True)
    pq.write_table(pa.table({
        "campaign": ["pc-winter", "pc-winter"], "check": ["pension_credit", "pension_credit"],
        "district": [TONBRIDGE, THANET], "started": [dt.date(2026, 10, 20)] * 2, "cohort": [24, 7],
        "now_receiving": [15, 3], "value_received_annual": [31234.5, 999.0], "still_missing": [6, 4],
        "left_caseload": [3, 0]}), folder / "campaigns.parquet")
    html = _report(con, tmp_path)
    section = html[html.index('id="campaigns"'):html.index('id="changes"')]
    assert "pc-winter" in section and "pension credit" in section and "20 Oct 2026" in section
    assert "<td>24</td><td>15</td><td>£31,234</td><td>6</td><td>3</td>" in section.replace("£31,235", "£31,234")
    assert "<td>7</td>" not in section  # another district's row in the file is never shown


def test_county_and_district_reports_take_the_configured_name(tmp_path: Path) -> None:
    con = duckdb.connect()
    kent_runs(con, tmp_path)
    manifest = {**MANIFEST, "run_id": RUN, "county_name": "East Kent Partnership"}
    write_report(con, manifest, tmp_path / "report.html")
    county = (tmp_path / "report.html").read_text(encoding="utf-8")
    district = write_district_report(con, manifest, TONBRIDGE, tmp_path / "d").read_text(encoding="utf-8")
    assert "Financial resilience across East Kent Partnership" in county
    assert "East Kent Partnership household support partnership" in district
    write_report(con, {**MANIFEST, "run_id": RUN}, tmp_path / "kent.html")
    assert "Financial resilience across Kent" in (tmp_path / "kent.html").read_text(encoding="utf-8")
