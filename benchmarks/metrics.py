"""District benchmarks: every metric for every district and the county, disclosure-controlled.

Reads the DuckDB tables ``households`` (one row per scored household; row-level personal data
that never leaves this module: only counts and sums come out) and ``council_tax`` (the
denominator: dwellings = council-tax accounts per district). Writes the long-format table
``district_benchmarks`` (model :class:`schemas.outputs.DistrictBenchmarkRow`), keeping every
earlier run's rows read from the previous run's Parquet.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

from benchmarks.disclosure import Line, Protected, protect, round_money
from benchmarks.output_tables import append_parquet, create_from_model, insert_rows, merge_backfills
from schemas.households import MISSING_CONFIDENCES
from schemas.outputs import METRICS, TAKEUP_METRICS, DistrictBenchmarkRow
from schemas.reference import COUNTY_CODE, COUNTY_NAME, district_name
from schemas.sql import quote_str, table_exists
from schemas.vocabulary import RESILIENCE_STATUSES

Cell = tuple[str, str]  # (lad_code or 'county', metric)
MONEY_METRICS = ("pension_credit_missing",
                 *(m for m, (_, confidence) in TAKEUP_METRICS.items() if confidence in MISSING_CONFIDENCES))
"""Metrics published with a value_gbp (pounds a year missed); automatic take-up is never a missed amount."""

_FLAG_SQL = {
    "fuel_poverty": "coalesce(fuel_poverty, false)",
    "water_poverty": "coalesce(water_poverty, false)",
    "food_poverty": "coalesce(food_poverty, false)",
    "fuel_water_food_poverty": "coalesce(fuel_poverty AND water_poverty AND food_poverty, false) AND "
    "resilience_status IN ('in_crisis', 'at_risk', 'struggling')",
    "pensioner_households": "coalesce(pensioner, false)",
    "pension_credit_missing": "coalesce(pension_credit_missing, false)",
}


@dataclass
class DistrictFigures:
    """Raw (unprotected) counts and pounds, and their protected, published form."""

    districts: list[str]
    counts: dict[Cell, int]
    money: dict[Cell, Decimal]
    published: dict[Cell, Protected]


def _leave_out(exclude: Collection[str]) -> str:
    """A WHERE clause leaving out the districts of ``exclude`` (empty: every district)."""
    return f"WHERE lad_code NOT IN ({', '.join(quote_str(lad) for lad in sorted(exclude))})" if exclude else ""


def raw_counts(con: duckdb.DuckDBPyConnection, exclude: Collection[str] = ()
               ) -> tuple[list[str], dict[Cell, int], dict[Cell, Decimal]]:
    """Exact counts per district and metric, county totals, and pounds a year missed (Pension Credit, take-up).

    The districts of ``exclude`` (not complete this run) are left out, of the county's totals too."""
    selects = ["count(*) AS households_scored"]
    selects += [f"count(*) FILTER (WHERE resilience_status = '{s}') AS {s}" for s in RESILIENCE_STATUSES]
    selects.append("count(*) FILTER (WHERE resilience_status IN ('in_crisis', 'at_risk')) AS in_crisis_or_at_risk")
    selects += [f"count(*) FILTER (WHERE {sql}) AS {name}" for name, sql in _FLAG_SQL.items()]
    names = ["households_scored", *RESILIENCE_STATUSES, "in_crisis_or_at_risk", *_FLAG_SQL]
    takeup = _takeup_metrics(con)
    for metric, (check, confidence) in takeup.items():
        selects.append(f"count(*) FILTER (WHERE {check}_confidence = '{confidence}') AS {metric}")
    selects.append("coalesce(sum(pension_credit_value_annual) FILTER (WHERE coalesce(pension_credit_missing, false)),"
                   " 0)::DECIMAL(18,2) AS pc_value")
    for metric, (check, confidence) in takeup.items():
        selects.append(f"coalesce(sum({check}_value_annual) FILTER (WHERE {check}_confidence = '{confidence}'), 0)"
                       f"::DECIMAL(18,2) AS {metric}_gbp")
    names += list(takeup)
    counts: dict[Cell, int] = {}
    money: dict[Cell, Decimal] = {}
    rows = con.execute(f"SELECT lad_code, {', '.join(selects)} FROM households {_leave_out(exclude)} "
                       "GROUP BY lad_code").fetchall()
    for lad, *values in rows:
        for name, value in zip(names, values[:len(names)], strict=True):
            counts[(str(lad), name)] = int(value)
        money[(str(lad), "pension_credit_missing")] = Decimal(values[len(names)])
        for metric, value in zip(takeup, values[len(names) + 1:], strict=True):
            money[(str(lad), metric)] = Decimal(value)
    if table_exists(con, "council_tax"):
        for lad, n in con.execute(f"SELECT lad_code, count(*) FROM council_tax {_leave_out(exclude)} "
                                  "GROUP BY lad_code").fetchall():
            counts[(str(lad), "dwellings")] = int(n)
    if table_exists(con, "arrears_signals"):
        for lad, n in con.execute(f"SELECT lad_code, count(*) FROM arrears_signals {_leave_out(exclude)} "
                                  "GROUP BY lad_code").fetchall():
            counts[(str(lad), "arrears_signal")] = int(n)
    districts = sorted({lad for lad, _ in counts})
    for lad in districts:
        for metric in METRICS:
            counts.setdefault((lad, metric), 0)
        for metric in MONEY_METRICS:
            money.setdefault((lad, metric), Decimal(0))
    for metric in METRICS:
        counts[(COUNTY_CODE, metric)] = sum(counts[(lad, metric)] for lad in districts)
    for metric in MONEY_METRICS:
        money[(COUNTY_CODE, metric)] = sum((money[(lad, metric)] for lad in districts), Decimal(0))
    return districts, counts, money


def _takeup_metrics(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[str, str]]:
    """The take-up metrics whose columns ``households`` holds (a table scored before them has none)."""
    present = {str(r[0]) for r in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'households'").fetchall()}
    return {m: cc for m, cc in TAKEUP_METRICS.items() if f"{cc[0]}_confidence" in present}


def benchmark_lines(districts: list[str]) -> list[Line[Cell]]:
    """Lines that published counts add up along: status mix to households scored, in crisis
    plus at risk to their sum, and every metric's districts to the county."""
    lines: list[Line[Cell]] = []
    for lad in [*districts, COUNTY_CODE]:
        lines.append(Line(tuple((lad, s) for s in RESILIENCE_STATUSES), (lad, "households_scored")))
        lines.append(Line(((lad, "in_crisis"), (lad, "at_risk")), (lad, "in_crisis_or_at_risk")))
    for metric in METRICS:
        lines.append(Line(tuple((lad, metric) for lad in districts), (COUNTY_CODE, metric)))
    return lines


def district_figures(con: duckdb.DuckDBPyConnection, exclude: Collection[str] = ()) -> DistrictFigures:
    """Counts per district and the county (``exclude``: districts left out), with primary and secondary
    suppression applied."""
    districts, counts, money = raw_counts(con, exclude)
    keep = {(COUNTY_CODE, metric): 1 for metric in METRICS}  # the county's figures are the headline
    published = protect(counts, benchmark_lines(districts), keep=keep)
    return DistrictFigures(districts, counts, money, published)


def _previous_rates(con: duckdb.DuckDBPyConnection, run_id: str, run_date: dt.date) -> dict[Cell, tuple[Any, Any]]:
    """(count, rate) of the previous run by cell; a county that covered only some districts has none."""
    rows = con.execute(
        """
        SELECT lad_code, metric, count, rate FROM district_benchmarks
        WHERE (lad_code <> 'county' OR availability IS DISTINCT FROM 'partial')
          AND run_date = (SELECT max(run_date) FROM district_benchmarks WHERE run_date < ? AND run_id <> ?)
        """,
        [run_date, run_id],
    ).fetchall()
    return {(str(lad), str(metric)): (count, rate) for lad, metric, count, rate in rows}


def unavailable_rows(unavailable: dict[str, str], run_id: str, run_date: dt.date) -> list[dict[str, Any]]:
    """Every metric of each district whose data were not complete (code -> status): null, not 0."""
    return [{"run_date": run_date, "lad_code": lad, "district_name": district_name(lad), "metric": metric,
             "suppressed": False, "run_id": run_id, "availability": status}
            for lad, status in sorted(unavailable.items()) for metric in METRICS]


def benchmark_rows(
    figures: DistrictFigures, run_id: str, run_date: dt.date, previous: dict[Cell, tuple[Any, Any]],
    unavailable: dict[str, str] | None = None,
) -> list[dict[str, Any]]:
    """This run's published rows: counts, rates per 1,000 dwellings, ranks, county gaps, changes.

    ``unavailable``: district code -> completeness status of the districts left out of ``figures``;
    their rows are null with that status, and the county's are 'partial' with no change since before."""
    pub = figures.published
    partial = bool(unavailable)
    areas = [*figures.districts, COUNTY_CODE]
    rows: list[dict[str, Any]] = []
    for lad in areas:
        dwellings = pub[(lad, "dwellings")].count
        scored = pub[(lad, "households_scored")].count
        for metric in METRICS:
            cell = pub[(lad, metric)]
            count = cell.count
            rate = None
            if count is not None and metric != "dwellings" and dwellings:
                rate = round(count / dwellings * 1000, 4)
            percent = None
            if count is not None and scored and metric not in ("dwellings", "households_scored", "arrears_signal"):
                percent = round(count / scored * 100, 4)
            value = None
            if metric in MONEY_METRICS and count is not None:
                value = round_money(figures.money[(lad, metric)])
            before = None if partial and lad == COUNTY_CODE else previous.get((lad, metric))
            rows.append({
                "run_date": run_date, "lad_code": lad,
                "district_name": COUNTY_NAME if lad == COUNTY_CODE else district_name(lad),
                "metric": metric, "count": count, "denominator": dwellings, "rate": rate,
                "value_gbp": value, "suppressed": cell.suppressed, "run_id": run_id,
                "percent_of_scored": percent, "rank": None, "county_rate_diff": None,
                "change_since_previous": None if before is None or before[0] is None or count is None
                else count - int(before[0]),
                "rate_change_since_previous": None if before is None or before[1] is None or rate is None
                else round(rate - float(before[1]), 4),
                "availability": "partial" if partial and lad == COUNTY_CODE else "available",
            })
    by_metric: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_metric.setdefault(row["metric"], []).append(row)
    for group in by_metric.values():
        county = next(r for r in group if r["lad_code"] == COUNTY_CODE)
        ranked = sorted((r for r in group if r["lad_code"] != COUNTY_CODE and r["rate"] is not None),
                        key=lambda r: -r["rate"])
        for row in ranked:
            row["rank"] = 1 + sum(1 for other in ranked if other["rate"] > row["rate"])
            if county["rate"] is not None:
                row["county_rate_diff"] = round(row["rate"] - county["rate"], 4)
    return rows + unavailable_rows(unavailable or {}, run_id, run_date)


def build_district_benchmarks(
    con: duckdb.DuckDBPyConnection, run_id: str, run_date: dt.date, previous_dir: Path | None,
    *, backfills: tuple[tuple[Path, str], ...] = (),
    unavailable: dict[str, str] | None = None,
) -> DistrictFigures:
    """Create ``district_benchmarks``: earlier runs' rows (from ``previous_dir``, and the back-dated
    runs in ``backfills``) plus this run's.

    Rows of an earlier run with the same run_id or run_date are replaced by this run's. The districts
    of ``unavailable`` (code -> completeness status) are null rows marked so, outside the county.
    """
    create_from_model(con, "district_benchmarks", DistrictBenchmarkRow)
    if previous_dir is not None:
        append_parquet(con, "district_benchmarks", previous_dir / "district_benchmarks.parquet",
                       where="run_id IS DISTINCT FROM ? AND run_date IS DISTINCT FROM ?", params=[run_id, run_date])
    merge_backfills(con, "district_benchmarks", "district_benchmarks.parquet", backfills, run_date)
    con.execute("UPDATE district_benchmarks SET availability = 'available' WHERE availability IS NULL")
    figures = district_figures(con, set(unavailable or {}))
    rows = benchmark_rows(figures, run_id, run_date, _previous_rates(con, run_id, run_date), unavailable)
    insert_rows(con, "district_benchmarks", rows)
    return figures
