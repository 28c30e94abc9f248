"""Take-up checks as district benchmark metrics: likely and possible apart, £ a year, disclosure control."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import duckdb

from benchmarks.build import build_benchmarks
from benchmarks.metrics import district_figures
from benchmarks.report import write_report
from schemas.households import TAKEUP_CHECKS
from schemas.outputs import TAKEUP_METRICS
from tests.benchmarks.households import Group, make_council_tax, make_households

A, B = "E07000106", "E07000112"  # Canterbury, Folkestone and Hythe


def _with_takeup(con: duckdb.DuckDBPyConnection, flags: list[tuple[str, str, int, str, str | None]]) -> None:
    """Households of A (40) and B (40), then (lad, check, n, confidence, value each) set on the first n."""
    make_households(con, [Group(A, 40, "coping"), Group(B, 40, "coping")])
    make_council_tax(con, {A: 200, B: 200})
    for check in TAKEUP_CHECKS:
        con.execute(f"ALTER TABLE households ADD COLUMN {check}_confidence VARCHAR")
        con.execute(f"ALTER TABLE households ADD COLUMN {check}_value_annual DECIMAL(18,2) DEFAULT 0")
    for lad, check, n, confidence, value in flags:
        con.execute(f"UPDATE households SET {check}_confidence = ?, {check}_value_annual = ? WHERE household_id IN "
                    f"(SELECT household_id FROM households WHERE lad_code = ? AND {check}_confidence IS NULL "
                    f"ORDER BY household_id LIMIT {n})", [confidence, value, lad])


def test_takeup_counts_and_pounds_likely_and_possible_apart() -> None:
    con = duckdb.connect()
    _with_takeup(con, [
        (A, "ctr", 12, "likely", "1320.00"), (A, "ctr", 20, "possible", "412.50"),
        (B, "ctr", 15, "likely", "1650.00"), (B, "ctr", 3, "possible", "412.50"),
        (A, "fsm", 10, "possible", None), (B, "fsm", 10, "possible", "500.00"),
        (A, "whd", 30, "automatic", "150.00"), (B, "whd", 30, "automatic", "150.00"),
    ])
    figures = district_figures(con)
    pub = figures.published
    assert (pub[(A, "ctr_likely")].count, pub[(B, "ctr_likely")].count, pub[("county", "ctr_likely")].count) == (
        10, 15, 25)  # 12 and 27 rounded to the nearest 5
    assert figures.money[(A, "ctr_likely")] == Decimal("15840.00")
    assert figures.money[(A, "ctr_possible")] == Decimal("8250.00")
    # B's 3 possible is suppressed, so A's 20 is too (else county 23 - A would give it away)
    assert pub[(B, "ctr_possible")].suppressed and pub[(A, "ctr_possible")].suppressed
    assert pub[("county", "ctr_possible")].count == 25
    assert figures.money[(A, "fsm_possible")] == 0  # values unknown add nothing: a floor
    build_benchmarks(con, "run-1", dt.date(2026, 11, 20), None)
    rows = {(r[0], r[1]): r[2:] for r in con.execute(
        "SELECT lad_code, metric, count, value_gbp, suppressed FROM district_benchmarks").fetchall()}
    # shared money is published to the nearest £1,000 (disclosure control against differencing)
    assert rows[(B, "ctr_likely")] == (15, Decimal("25000.00"), False)  # £24,750
    assert rows[("county", "ctr_likely")] == (25, Decimal("41000.00"), False)  # £40,590
    assert rows[(A, "ctr_possible")] == (None, None, True)
    assert rows[("county", "ctr_possible")] == (25, Decimal("9000.00"), False)  # £9,487.50
    assert rows[("county", "whd_automatic")] == (60, None, False)  # automatic: never a missed amount
    assert rows[(A, "hb_pensioner_likely")] == (0, Decimal("0.00"), False)
    assert {m for (_, m) in rows} >= set(TAKEUP_METRICS)


def test_households_scored_before_the_checks_give_zero() -> None:
    con = duckdb.connect()
    make_households(con, [Group(A, 20, "coping")])
    make_council_tax(con, {A: 100})
    figures = district_figures(con)
    assert all(figures.counts[("county", m)] == 0 for m in TAKEUP_METRICS)


def test_report_has_a_takeup_section_and_lists_unverified_figures(tmp_path: Path) -> None:
    con = duckdb.connect()
    _with_takeup(con, [(A, "ctr", 12, "likely", "1320.00"), (B, "ctr", 15, "likely", "1650.00"),
                       (A, "whd", 30, "automatic", "150.00"), (B, "whd", 30, "automatic", "150.00")])
    build_benchmarks(con, "run-1", dt.date(2026, 11, 20), None)
    manifest = {"run_id": "run-1", "scoring": {"parameters": {"unverified": ["fsm_all_uc_from", "water_suppliers"]}}}
    out = tmp_path / "report.html"
    write_report(con, manifest, out)
    html = out.read_text(encoding="utf-8")
    section = html[html.index('<section id="takeup">'):html.index('<section id="table">')]
    row = section[section.index("Council Tax Reduction not claimed (likely)"):]
    row = row[:row.index("</tr>")]
    assert row.count("<td>") == 4 and "<td>25</td><td>£41,000</td><td>10</td><td>15</td>" in row
    whd = section[section.index("Warm Home Discount (automatic)"):]
    assert "<td>60</td><td>not a missed amount</td>" in whd[:whd.index("</tr>")]
    assert "Unverified figures." in html and "fsm_all_uc_from, water_suppliers" in html
