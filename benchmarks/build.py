"""The benchmark stage's entry point: every disclosure-controlled table in one call.

``build_benchmarks`` reads ``households`` and ``council_tax`` (row-level, personal) and the
previous run's folder, and creates only aggregate, disclosure-controlled tables:
``district_benchmarks``, ``status_movement``, ``pension_credit_campaign``, ``area_needs``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from benchmarks.areas import build_area_needs
from benchmarks.disclosure import round_money
from benchmarks.metrics import build_district_benchmarks
from benchmarks.movement import build_campaign, build_status_movement
from benchmarks.output_tables import bi_safe_problems
from schemas.outputs import TAKEUP_METRICS
from schemas.reference import COUNTY_CODE, COUNTY_NAME

TABLES: dict[str, str] = {
    "district_benchmarks": "district_benchmarks.parquet",
    "area_needs": "area_needs.parquet",
    "status_movement": "status_movement.parquet",
    "pension_credit_campaign": "pension_credit_campaign.parquet",
}


@dataclass
class BenchmarkReport:
    """What the stage made: tables and row counts, and this run's county headline figures."""

    run_id: str
    run_date: dt.date
    previous_dir: Path | None
    rows: dict[str, int] = field(default_factory=dict)
    headline: dict[str, Any] = field(default_factory=dict)
    suppressed_cells: int = 0

    @property
    def tables(self) -> dict[str, str]:
        """Table name -> Parquet file name the publish step should write."""
        return dict(TABLES)

    def as_manifest(self) -> dict[str, Any]:
        """JSON-ready section for manifest.json (county figures are disclosure-controlled)."""
        return {
            "run_id": self.run_id,
            "run_date": self.run_date.isoformat(),
            "previous_run": self.previous_dir.name if self.previous_dir else None,
            "tables": {name: {"file": TABLES[name], "rows": self.rows.get(name, 0)} for name in TABLES},
            "county_headline": self.headline,
            "suppressed_cells_this_run": self.suppressed_cells,
            "disclosure_control": "counts 1-9 suppressed, others rounded to the nearest 5, money to the nearest "
            "£1,000; secondary suppression so no suppressed cell can be recovered by subtraction; derived rates "
            "and money suppressed too; rates and percentages computed from the rounded counts",
        }


def build_benchmarks(
    con: duckdb.DuckDBPyConnection, run_id: str, run_date: dt.date, previous_dir: Path | None,
    *, backfills: tuple[tuple[Path, str], ...] = (),
    unavailable: dict[str, str] | None = None, county_name: str = COUNTY_NAME,
) -> BenchmarkReport:
    """Create the four benchmark tables on ``con`` (needs ``households``; ``council_tax`` and
    ``postcode_lookup`` optional). ``previous_dir``: the previous good run's folder, or None;
    ``backfills``: (folder, run_id) of back-dated runs inserted into the history in date order.
    ``unavailable``: district code -> completeness status of the districts whose data were not complete
    this run: not available in ``district_benchmarks``, and left out of every table's county figures.
    ``county_name``: the partnership's name (manifest ``county_name``), the county rows' ``district_name``."""
    figures = build_district_benchmarks(con, run_id, run_date, previous_dir, backfills=backfills,
                                        unavailable=unavailable)
    leave_out = frozenset(unavailable or {})
    report = BenchmarkReport(run_id, run_date, previous_dir)
    report.rows["status_movement"] = build_status_movement(con, run_id, run_date, previous_dir, leave_out)
    build_campaign(con, run_id, run_date, previous_dir, backfills=backfills, exclude=leave_out)
    report.rows["area_needs"] = build_area_needs(con, run_id, run_date, figures.published, leave_out)
    name_county_rows(con, county_name)
    for name in TABLES:
        row = con.execute(f"SELECT count(*) FROM {name}").fetchone()
        report.rows[name] = int(row[0]) if row else 0
        problems = bi_safe_problems(con, name)
        if problems:
            raise TypeError("; ".join(problems))
    report.suppressed_cells = sum(1 for cell in figures.published.values() if cell.suppressed)
    for metric in ("households_scored", "in_crisis", "at_risk", "in_crisis_or_at_risk", "pension_credit_missing"):
        cell = figures.published[(COUNTY_CODE, metric)]
        report.headline[metric] = cell.count
    takeup = {}
    for metric in TAKEUP_METRICS:
        cell = figures.published[(COUNTY_CODE, metric)]
        gbp = figures.money.get((COUNTY_CODE, metric))
        takeup[metric] = {"households": cell.count,
                          "gbp_a_year": float(round_money(gbp)) if gbp is not None and cell.count is not None else None}
    report.headline["takeup"] = takeup
    pc = figures.published[(COUNTY_CODE, "pension_credit_missing")]
    if pc.count is not None:
        report.headline["pension_credit_missing_gbp_a_year"] = float(
            round_money(figures.money[(COUNTY_CODE, "pension_credit_missing")]))
    return report


def name_county_rows(con: duckdb.DuckDBPyConnection, county_name: str) -> None:
    """Name the county rows of every table ``county_name`` (DESIGN.md C33), those of the earlier runs kept in
    the history too, so one table never names the partnership two ways; ``lad_code`` stays 'county'."""
    for name in TABLES:
        con.execute(f"UPDATE {name} SET district_name = ? WHERE lad_code = ? AND district_name IS DISTINCT FROM ?",
                    [county_name, COUNTY_CODE, county_name])
