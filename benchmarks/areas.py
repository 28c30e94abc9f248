"""Needs by small area: households with each need by postcode sector ('CT1 1'), and by 2021
LSOA and ward where ``postcode_lookup`` has rows. Disclosure-controlled.

Reads ``households`` (row-level, personal: only counts leave this module) and
``postcode_lookup``. Each district's areas add up to that district's count in
``district_benchmarks``: those totals are fixed here (published or suppressed there), so
secondary suppression picks further areas, never the district figure.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from typing import Any

import duckdb

from benchmarks.disclosure import Line, Protected, protect
from benchmarks.output_tables import create_from_model, insert_rows
from schemas.outputs import AREA_METRICS, AreaNeedsRow
from schemas.reference import district_name
from schemas.sql import table_exists

UNKNOWN = "unknown"
TOTAL = "__district__"

_METRIC_SQL = {
    "households_scored": "true",
    "in_crisis_or_at_risk": "resilience_status IN ('in_crisis', 'at_risk')",
    "fuel_poverty": "coalesce(fuel_poverty, false)",
    "water_poverty": "coalesce(water_poverty, false)",
    "food_poverty": "coalesce(food_poverty, false)",
    "pension_credit_missing": "coalesce(pension_credit_missing, false)",
}
assert tuple(_METRIC_SQL) == AREA_METRICS


def postcode_sector(postcode: str | None) -> str:
    """The postcode sector: outward code, space, first digit of the inward code ('CT1 1AB' -> 'CT1 1')."""
    if not postcode:
        return UNKNOWN
    compact = "".join(postcode.split()).upper()
    return f"{compact[:-3]} {compact[-3]}" if len(compact) >= 5 else UNKNOWN


def _area_sql(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """SQL expressions giving each household's area, by area type."""
    sector = (
        "CASE WHEN h.postcode IS NULL OR length(replace(h.postcode, ' ', '')) < 5 THEN 'unknown' "
        "ELSE upper(left(replace(h.postcode, ' ', ''), length(replace(h.postcode, ' ', '')) - 3)) || ' ' || "
        "upper(substr(replace(h.postcode, ' ', ''), length(replace(h.postcode, ' ', '')) - 2, 1)) END"
    )
    areas = {"postcode_sector": sector}
    if table_exists(con, "postcode_lookup"):
        row = con.execute("SELECT count(*) FROM postcode_lookup").fetchone()
        if row and row[0]:
            areas["lsoa"] = "coalesce(p.lsoa21cd, 'unknown')"
            areas["ward"] = "coalesce(p.ward_code, 'unknown')"
    return areas


def area_counts(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str, str, str], int]:
    """Exact households per (area type, district, area code, metric)."""
    areas = _area_sql(con)
    join = ""
    if "lsoa" in areas:
        join = (
            "LEFT JOIN (SELECT upper(replace(postcode, ' ', '')) AS pc, any_value(lsoa21cd) AS lsoa21cd, "
            "any_value(ward_code) AS ward_code FROM postcode_lookup GROUP BY 1) p "
            "ON p.pc = upper(replace(h.postcode, ' ', ''))"
        )
    counts: dict[tuple[str, str, str, str], int] = {}
    filters = ", ".join(f"count(*) FILTER (WHERE {sql})" for sql in _METRIC_SQL.values())
    for area_type, expr in areas.items():
        rows = con.execute(
            f"SELECT h.lad_code, {expr} AS area, {filters} FROM households h {join} GROUP BY ALL"
        ).fetchall()
        for lad, area, *values in rows:
            for metric, n in zip(AREA_METRICS, values, strict=True):
                counts[(area_type, str(lad), str(area), metric)] = int(n)
    return counts


def build_area_needs(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    run_date: dt.date,
    district_totals: dict[tuple[str, str], Protected],
    exclude: Collection[str] = (),
) -> int:
    """Create ``area_needs``; ``district_totals`` are the published (lad, metric) cells of the
    district benchmarks; the districts of ``exclude`` (not complete this run) are left out. Returns the
    number of rows."""
    create_from_model(con, "area_needs", AreaNeedsRow)
    counts = {key: n for key, n in area_counts(con).items() if key[1] not in exclude}
    groups: dict[tuple[str, str, str], list[str]] = {}
    for area_type, lad, area, metric in counts:
        groups.setdefault((area_type, lad, metric), []).append(area)
    rows: list[dict[str, Any]] = []
    for (area_type, lad, metric), codes in sorted(groups.items()):
        cells = {code: counts[(area_type, lad, code, metric)] for code in codes}
        cells[TOTAL] = sum(cells.values())
        total = district_totals.get((lad, metric))
        hidden_total = total is not None and total.suppressed
        published = protect(
            cells,
            [Line(tuple(codes), TOTAL)],
            fixed=() if hidden_total else (TOTAL,),
            already=(TOTAL,) if hidden_total else (),
        )
        for code in sorted(codes):
            cell = published[code]
            rows.append({"run_date": run_date, "run_id": run_id, "area_type": area_type, "area_code": code,
                         "lad_code": lad, "district_name": district_name(lad), "metric": metric,
                         "count": cell.count, "suppressed": cell.suppressed})
    insert_rows(con, "area_needs", rows)
    return len(rows)
