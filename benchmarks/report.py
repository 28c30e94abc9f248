"""report.html: a self-contained page (inline CSS and SVG, no script, no network) for council
managers: headline figures, district comparisons with the county marked, trends, status mix,
Pension Credit, movement, needs by area, linkage and data quality.

Reads only aggregate, disclosure-controlled tables (``district_benchmarks``,
``status_movement``, ``pension_credit_campaign``, ``area_needs``), counts of ``quarantine``
rows and of ``links``, and the manifest. No row-level personal data reaches the page.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
from pathlib import Path
from typing import Any

import duckdb
from jinja2 import Environment, FileSystemLoader, Template, select_autoescape
from markupsafe import Markup

from benchmarks.charts import (
    STATUS_COLOURS,
    SUPPRESSED,
    bar_chart,
    line_chart,
    match_weights_chart,
    status_mix_chart,
    weight_histogram_chart,
)
from benchmarks.disclosure import is_primary, percent, published_count, round_count
from benchmarks.metrics import MONEY_METRICS
from benchmarks.output_tables import columns_of
from schemas.outputs import METRIC_LABELS, TAKEUP_METRICS
from schemas.reference import COUNTY_CODE, COUNTY_NAME, district_name, partnership_name
from schemas.sql import quote_str, table_exists
from schemas.vocabulary import RESILIENCE_STATUSES

HERE = Path(__file__).parent


@functools.cache
def template(name: str) -> Template:
    """A report template of this folder, compiled once per process (autoescaped HTML)."""
    return Environment(loader=FileSystemLoader(HERE), autoescape=select_autoescape(["html"])).get_template(name)
KEY_METRICS = ("in_crisis_or_at_risk", "fuel_poverty", "water_poverty", "food_poverty", "fuel_water_food_poverty",
               "pension_credit_missing")
TABLE_METRICS = ("households_scored", "in_crisis", "at_risk", "struggling", "coping", "comfortable",
                 "fuel_poverty", "water_poverty", "food_poverty", "pension_credit_missing")


def fmt_count(value: Any) -> str:
    """A published count with thousands separators, or "[c]"."""
    return SUPPRESSED if value is None else f"{int(value):,}"


def fmt_gbp(value: Any) -> str:
    """Pounds: £1.56m, £18,720, or "[c]"."""
    if value is None:
        return SUPPRESSED
    number = float(value)
    if abs(number) >= 1_000_000:
        return f"£{number / 1_000_000:.2f}m"
    return f"£{number:,.0f}"


def gbp_tick(value: float) -> str:
    """A short axis label in pounds: £0, £500, £20k, £1.5m."""
    if value >= 1_000_000:
        return f"£{value / 1_000_000:g}m"
    return f"£{value / 1000:g}k" if value >= 1000 else f"£{value:g}"


def fmt_rate(value: Any) -> str:
    """A rate per 1,000 dwellings to one decimal place, or "[c]"."""
    return SUPPRESSED if value is None else f"{float(value):,.1f}"


def fmt_percent(value: Any) -> str:
    return SUPPRESSED if value is None else f"{float(value):.0f}%"


def fmt_change(value: Any) -> str:
    if value is None:
        return "–"
    return f"+{value:,}" if value > 0 else (f"−{abs(value):,}" if value < 0 else "no change")


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
    cursor = con.execute(sql, params or [])
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def latest_run(con: duckdb.DuckDBPyConnection, manifest: dict[str, Any]) -> tuple[str | None, dt.date | None]:
    """The run the report is about (the manifest's, else the newest in ``district_benchmarks``) and its date."""
    run_id = manifest.get("run_id")
    if not table_exists(con, "district_benchmarks"):
        return run_id, None
    if run_id:
        row = con.execute("SELECT max(run_date) FROM district_benchmarks WHERE run_id = ?", [run_id]).fetchone()
        if row and row[0]:
            return run_id, row[0]
    row = con.execute("SELECT run_id, run_date FROM district_benchmarks ORDER BY run_date DESC LIMIT 1").fetchone()
    return (row[0], row[1]) if row else (run_id, None)


def benchmark_context(con: duckdb.DuckDBPyConnection, run_id: str | None, county_name: str = COUNTY_NAME
                      ) -> dict[str, Any]:
    """Figures of the latest run by district and metric, charts and the comparison table."""
    if run_id is None or not table_exists(con, "district_benchmarks"):
        return {"has_benchmarks": False}
    rows = _rows(con, "SELECT * FROM district_benchmarks WHERE run_id = ? ORDER BY lad_code, metric", [run_id])
    cells = {(r["lad_code"], r["metric"]): r for r in rows}
    districts = sorted({r["lad_code"] for r in rows if r["lad_code"] != COUNTY_CODE}, key=district_name)
    county = {m: cells.get((COUNTY_CODE, m), {}) for m in METRIC_LABELS}
    names = {lad: district_name(lad) for lad in districts}
    status = {lad: str(cells.get((lad, "households_scored"), {}).get("availability") or "available")
              for lad in districts}
    gone = {names[lad]: status[lad] for lad in districts if status[lad] != "available"}  # name -> why
    complete = len(districts) - len(gone)
    scope = county_name if not gone else f"the {complete} district{'s' * (complete != 1)} of {county_name} " \
        "with complete data"
    reference = county_name if not gone else f"{county_name} ({complete} of {len(districts)} districts)"
    comparisons = []
    for metric in KEY_METRICS:
        items = [(names[lad], cells.get((lad, metric), {}).get("rate")) for lad in districts]
        rated = [(name, rate) for name, rate in items if rate is not None]  # never a district not available
        comparisons.append({
            "metric": metric, "label": METRIC_LABELS[metric],
            "svg": Markup(bar_chart(items, f"{METRIC_LABELS[metric]} per 1,000 dwellings by district",
                                    fmt_rate, county[metric].get("rate"), reference, unavailable=gone)),
            "top": max(rated, key=lambda i: i[1]) if len(rated) > 1 else None,  # "highest" of two or more
        })
    money_items = [(names[lad], cells.get((lad, "pension_credit_missing"), {}).get("value_gbp")) for lad in districts]
    pc_svg = Markup(bar_chart([(n, None if v is None else float(v)) for n, v in money_items],
                              "Pension Credit unclaimed, £ a year, by district", fmt_gbp, tick_fmt=gbp_tick,
                              unavailable=gone))
    mix_rows = [
        (names[lad] if lad != COUNTY_CODE else county_name,
         {s: cells.get((lad, s), {}).get("count") for s in RESILIENCE_STATUSES},
         cells.get((lad, "households_scored"), {}).get("count"))
        for lad in [COUNTY_CODE, *districts]
    ]
    mix_svg = Markup(status_mix_chart(mix_rows, "Financial resilience status mix by district", gone))
    table = []
    for lad in [*districts, COUNTY_CODE]:
        table.append({
            "name": county_name if lad == COUNTY_CODE else names[lad], "county": lad == COUNTY_CODE,
            "dwellings": fmt_count(cells.get((lad, "dwellings"), {}).get("count")),
            "cells": [(fmt_count(cells.get((lad, m), {}).get("count")), fmt_rate(cells.get((lad, m), {}).get("rate")))
                      for m in TABLE_METRICS],
            "pc_gbp": fmt_gbp(cells.get((lad, "pension_credit_missing"), {}).get("value_gbp")),
            "unavailable": None if lad == COUNTY_CODE or status[lad] == "available" else status[lad],
        })
    return {
        "has_benchmarks": True, "county": county, "comparisons": comparisons, "pc_svg": pc_svg,
        "mix_svg": mix_svg, "table": table, "table_metrics": [METRIC_LABELS[m] for m in TABLE_METRICS],
        "districts": complete, "districts_listed": len(districts), "county_scope": scope,
        "status_colours": STATUS_COLOURS,
    }


def trend_context(con: duckdb.DuckDBPyConnection, county_name: str = COUNTY_NAME) -> dict[str, Any]:
    """County trends across every kept run."""
    if not table_exists(con, "district_benchmarks"):
        return {"runs": 0, "trends": []}
    rows = _rows(con, "SELECT run_date, metric, count, rate, value_gbp, availability FROM district_benchmarks "
                      "WHERE lad_code = ? ORDER BY run_date", [COUNTY_CODE])
    dates = sorted({r["run_date"] for r in rows})
    trends = []
    if len(dates) >= 2:
        for metric in KEY_METRICS:
            points = [(r["run_date"], r["rate"]) for r in rows if r["metric"] == metric]
            trends.append({"label": f"{METRIC_LABELS[metric]} per 1,000 dwellings",
                           "svg": Markup(line_chart(points, f"{county_name}: {METRIC_LABELS[metric]} per 1,000 "
                                                    "dwellings, by run", fmt_rate))})
        # a county total over only some districts is no point on the trend (its rates still are)
        points = [(r["run_date"], None if r["value_gbp"] is None or r["availability"] == "partial"
                   else float(r["value_gbp"])) for r in rows if r["metric"] == "pension_credit_missing"]
        trends.append({"label": "Pension Credit unclaimed, £ a year",
                       "svg": Markup(line_chart(points, f"{county_name}: Pension Credit unclaimed by run", fmt_gbp,
                                                gbp_tick))})
    return {"runs": len(dates), "trends": trends, "first_run": dates[0] if dates else None}


def movement_context(con: duckdb.DuckDBPyConnection, run_id: str | None, county_name: str = COUNTY_NAME
                     ) -> dict[str, Any]:
    """The county's from-to matrix of statuses, and the Pension Credit campaign by district."""
    out: dict[str, Any] = {"movement": None, "campaign": []}
    if run_id and table_exists(con, "status_movement"):
        rows = _rows(con, "SELECT from_status, to_status, count, previous_run_id FROM status_movement "
                          "WHERE run_id = ? AND lad_code = ?", [run_id, COUNTY_CODE])
        if rows:
            cell = {(r["from_status"], r["to_status"]): r["count"] for r in rows}
            froms = [*RESILIENCE_STATUSES, "new", "all"]
            tos = [*RESILIENCE_STATUSES, "gone", "all"]
            out["movement"] = {
                "previous": rows[0]["previous_run_id"],
                "columns": [t.replace("_", " ") for t in tos],
                "rows": [(f.replace("_", " "), [(fmt_count(cell.get((f, t))), f == t) for t in tos]) for f in froms],
            }
    if run_id and table_exists(con, "pension_credit_campaign"):
        rows = _rows(con, "SELECT lad_code, outcome, count, value_gbp, previous_run_id FROM pension_credit_campaign "
                          "WHERE run_id = ?", [run_id])
        by_lad: dict[str, dict[str, Any]] = {}
        for r in rows:
            by_lad.setdefault(r["lad_code"], {})[r["outcome"]] = r
        for lad in sorted(by_lad, key=lambda c: (c == COUNTY_CODE, district_name(c))):
            got = by_lad[lad]
            out["campaign"].append({
                "name": county_name if lad == COUNTY_CODE else district_name(lad), "county": lad == COUNTY_CODE,
                "flagged": fmt_count(got.get("flagged_previously", {}).get("count")),
                "receiving": fmt_count(got.get("now_receiving", {}).get("count")),
                "receiving_gbp": fmt_gbp(got.get("now_receiving", {}).get("value_gbp")),
                "still": fmt_count(got.get("still_missing", {}).get("count")),
                "other": fmt_count(_add(got.get("no_longer_flagged", {}).get("count"),
                                        got.get("not_found", {}).get("count"))),
            })
        out["campaign_previous"] = rows[0]["previous_run_id"] if rows else None
    return out


def _add(a: int | None, b: int | None) -> int | None:
    return None if a is None or b is None else a + b


def area_context(con: duckdb.DuckDBPyConnection, run_id: str | None, limit: int = 15) -> dict[str, Any]:
    """Postcode sectors with the most households in crisis or at risk (published counts only)."""
    if not run_id or not table_exists(con, "area_needs"):
        return {"areas": [], "area_types": []}
    rows = _rows(con, f"""
        SELECT a.area_code, a.lad_code, a.count AS need,
               s.count AS scored, f.count AS fuel, p.count AS pension
        FROM area_needs a
        LEFT JOIN area_needs s ON s.run_id = a.run_id AND s.area_type = a.area_type AND s.area_code = a.area_code
             AND s.lad_code = a.lad_code AND s.metric = 'households_scored'
        LEFT JOIN area_needs f ON f.run_id = a.run_id AND f.area_type = a.area_type AND f.area_code = a.area_code
             AND f.lad_code = a.lad_code AND f.metric = 'fuel_poverty'
        LEFT JOIN area_needs p ON p.run_id = a.run_id AND p.area_type = a.area_type AND p.area_code = a.area_code
             AND p.lad_code = a.lad_code AND p.metric = 'pension_credit_missing'
        WHERE a.run_id = ? AND a.area_type = 'postcode_sector' AND a.metric = 'in_crisis_or_at_risk'
              AND a.count > 0 AND a.area_code <> 'unknown'
        ORDER BY a.count DESC, a.area_code LIMIT {int(limit)}""", [run_id])
    types = [r[0] for r in con.execute("SELECT DISTINCT area_type FROM area_needs WHERE run_id = ? ORDER BY 1",
                                       [run_id]).fetchall()]
    return {"areas": [{"sector": r["area_code"], "district": district_name(r["lad_code"]),
                       "need": fmt_count(r["need"]), "scored": fmt_count(r["scored"]),
                       "fuel": fmt_count(r["fuel"]), "pension": fmt_count(r["pension"])} for r in rows],
            "area_types": types}


def _published(n: int) -> str:
    """A count shown with the partnership's rule (quality figures too)."""
    return SUPPRESSED if is_primary(n) else f"{round_count(n):,}"


def _linkage_summary(section: dict[str, Any]) -> list[tuple[str, str]]:
    """Scalar figures of the manifest's linkage section (one level of nesting flattened).
    Whole-number counts follow the 10-5 rule: cross-district counts are about people."""
    out: list[tuple[str, str]] = []
    for key, value in section.items():
        items = value.items() if isinstance(value, dict) else [("", value)]
        for sub, item in items:
            if isinstance(item, (dict, list)):
                continue
            name = " · ".join(p.replace("_", " ") for p in (str(key), str(sub)) if p)
            if isinstance(item, int) and not isinstance(item, bool) and not re.search(
                    r"iteration|threshold|seed|version|max|min", name):
                out.append((name, _published(item)))
            else:
                out.append((name, _plain(item)))
    return out


def linkage_context(con: duckdb.DuckDBPyConnection, manifest: dict[str, Any]) -> dict[str, Any]:
    """Link rate by district and method: from the manifest's ``linkage.districts`` rows, else from
    the ``links`` and ``benefits`` tables; other linkage figures listed (tolerates none)."""
    section = manifest.get("linkage")
    section = section if isinstance(section, dict) else {}
    per_district: dict[str, tuple[int | None, dict[str, int | None]]] = {}
    for entry in section.get("districts") or []:  # the manifest's counts: published under the 10-5 rule
        if isinstance(entry, dict) and entry.get("lad_code") and "claims" in entry:
            by_method = {k.removeprefix("linked_"): v for k, v in entry.items()
                         if k.startswith("linked_") and (v is None or isinstance(v, int))}
            per_district[str(entry["lad_code"])] = (entry["claims"], by_method)
    if not per_district and table_exists(con, "links") and table_exists(con, "benefits") and {
            "lad_code", "method"} <= set(columns_of(con, "links")):
        claims = dict(con.execute("SELECT lad_code, count(*) FROM benefits GROUP BY 1").fetchall())
        found: dict[str, dict[str, int | None]] = {}
        for lad, method, n in con.execute("SELECT lad_code, method, count(*) FROM links GROUP BY ALL").fetchall():
            found.setdefault(str(lad), {})[str(method)] = int(n)
        per_district = {str(lad): (int(n), found.get(str(lad), {})) for lad, n in claims.items()}
    methods = sorted({m for _, got in per_district.values() for m in got})
    rows: list[dict[str, Any]] = []
    for lad in sorted(per_district, key=district_name):  # percentages only from rounded counts
        exact_total, exact_got = per_district[lad]
        total = published_count(exact_total)
        got = {m: published_count(v) for m, v in exact_got.items()}
        done = None if None in got.values() else sum(v for v in got.values() if v is not None)
        share = None if percent(done, total) is None else min(percent(done, total) or 0.0, 100.0)
        rows.append({"name": district_name(lad), "claims": fmt_count(total), "linked": fmt_count(done),
                     "share": None if share is None else share / 100,
                     "rate": "–" if share is None else f"{share:.0f}%",
                     "methods": [fmt_percent(percent(got.get(m, 0), done)) for m in methods]})
    items = [(r["name"], 100 * r["share"]) for r in rows if r["share"] is not None]
    svg = Markup(bar_chart(items, "Share of benefit claims linked to a council-tax account", fmt_percent)) \
        if items else None
    summary = _linkage_summary({k: v for k, v in section.items() if k not in ("districts", "clerical")})
    return {"linkage_summary": summary, "linkage_rows": rows, "linkage_methods": methods, "linkage_svg": svg,
            "has_linkage": bool(summary or rows)}


def _plain(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    return "–" if value is None else str(value)


def quality_context(con: duckdb.DuckDBPyConnection, county_name: str = COUNTY_NAME) -> dict[str, Any]:
    """Rejected rows by district, file and reason (counts only; no values)."""
    if not table_exists(con, "quarantine"):
        return {"quarantine": [], "quarantine_total": 0}
    rows = con.execute("""
        SELECT lad_code, file, coalesce("column", '(row)') AS col, reason, count(*) AS n
        FROM quarantine GROUP BY ALL ORDER BY n DESC, lad_code, file LIMIT 40""").fetchall()
    total = con.execute("SELECT count(*) FROM quarantine").fetchone()
    return {"quarantine": [{"district": f"{county_name} (county files)" if lad == COUNTY_CODE else district_name(
                                str(lad)), "file": file, "column": col,
                            "reason": str(reason)[:120], "rows": f"{n:,}"} for lad, file, col, reason, n in rows],
            "quarantine_total": int(total[0]) if total else 0}


def completeness_context(manifest: dict[str, Any]) -> dict[str, Any]:
    """The banner: each expected district not complete and why, the warnings and the landing notes."""
    section = manifest.get("completeness")
    if not isinstance(section, dict):
        return {"gaps": [], "gap_warnings": [], "gap_notes": [], "complete_names": ""}
    districts = section.get("districts", [])
    gaps = [{"name": district_name(d["lad_code"]), "code": d["lad_code"], "status": d["status"],
             "why": "; ".join(d.get("reasons", []))} for d in districts if d["status"] != "complete"]
    complete = sorted(district_name(d["lad_code"]) for d in districts if d["status"] == "complete")
    return {"gaps": gaps, "gap_warnings": list(section.get("warnings", [])),
            "gap_notes": list(section.get("notes", [])), "expected_count": len(districts),
            "complete_count": len(complete), "complete_names": ", ".join(complete)}


def key_points(bench: dict[str, Any], county_name: str = COUNTY_NAME) -> list[str]:
    """Plain-English sentences for the first screen; they name only districts with complete data,
    and a county figure over some districts says so."""
    if not bench.get("has_benchmarks"):
        return []
    county = bench["county"]
    points = []
    top = bench["comparisons"][0]["top"]
    c_rate = county["in_crisis_or_at_risk"].get("rate")
    if top and c_rate is not None:
        points.append(f"{top[0]} has the highest rate of households in crisis or at risk: {top[1]:.1f} per 1,000 "
                      f"dwellings, against {c_rate:.1f} across {bench.get('county_scope', county_name)}.")
    change = county["in_crisis_or_at_risk"].get("change_since_previous")
    if change is not None:
        points.append(f"Households in crisis or at risk: {fmt_change(change)} since the previous run.")
    pc = county["pension_credit_missing"]
    if pc.get("count") and pc.get("value_gbp") is not None:  # no average: both figures are rounded
        points.append(f"About {pc['count']:,} pensioner households could claim Pension Credit, worth about "
                      f"{fmt_gbp(pc['value_gbp'])} a year between them.")
    return points


def run_warnings(manifest: dict[str, Any]) -> list[str]:
    """The manifest's warnings about the run itself: the parameters about to end, a back-dated run.

    The one list of them: the report, the terminal summary and the Prefect artifact all show these."""
    notices = [(manifest.get("parameters_end") or {}).get("warning"), (manifest.get("history") or {}).get("note")]
    return [str(n) for n in notices if n]


def run_notices(manifest: dict[str, Any]) -> list[str]:
    """:func:`run_warnings` as the report's sentences, shown above everything."""
    return [f"{n[0].upper()}{n[1:]}." for n in run_warnings(manifest)]


def takeup_context(con: duckdb.DuckDBPyConnection, run_id: str | None, manifest: dict[str, Any]) -> dict[str, Any]:
    """Take-up checks by district (households and £ a year, likely and possible apart; disclosure-controlled
    benchmark rows) and the parameters the run used that are assumptions or unverified (docs/TAKEUP.md)."""
    scoring = manifest.get("scoring", {}).get("parameters", {}) if isinstance(manifest.get("scoring"), dict) else {}
    out: dict[str, Any] = {"takeup": [], "takeup_districts": [],
                           "unverified": list(scoring.get("unverified", [])),
                           "assumptions": list(scoring.get("assumptions", []))}
    if run_id is None or not table_exists(con, "district_benchmarks"):
        return out
    rows = _rows(con, "SELECT lad_code, metric, count, value_gbp FROM district_benchmarks WHERE run_id = ?", [run_id])
    cells = {(r["lad_code"], r["metric"]): r for r in rows}
    districts = sorted({r["lad_code"] for r in rows if r["lad_code"] != COUNTY_CODE}, key=district_name)
    out["takeup_districts"] = [district_name(lad) for lad in districts]
    for metric in [*TAKEUP_METRICS, "arrears_signal"]:
        county = cells.get((COUNTY_CODE, metric), {})
        out["takeup"].append({
            "label": METRIC_LABELS[metric], "county": fmt_count(county.get("count")),
            "gbp": fmt_gbp(county.get("value_gbp")) if metric in MONEY_METRICS else "not a missed amount",
            "districts": [fmt_count(cells.get((lad, metric), {}).get("count")) for lad in districts],
        })
    return out


def county_name_of(con: duckdb.DuckDBPyConnection, manifest: dict[str, Any]) -> str:
    """The partnership's name: the manifest's ``county_name`` (the run config's ``[report] county_name``, or
    derived from the districts), else derived from the districts of ``district_benchmarks`` or the manifest."""
    if manifest.get("county_name"):
        return str(manifest["county_name"])
    codes = {str(d.get("lad_code")) for d in manifest.get("districts") or [] if isinstance(d, dict)}
    if not codes and table_exists(con, "district_benchmarks"):
        codes = {str(r[0]) for r in con.execute("SELECT DISTINCT lad_code FROM district_benchmarks").fetchall()}
    return partnership_name(sorted(codes))


def runs_kept(manifest: dict[str, Any], dates: int) -> int:
    """Published runs on disk, this one included (the manifest's ``history.runs_kept``), else the dates known."""
    kept = (manifest.get("history") or {}).get("runs_kept")
    return int(kept) if isinstance(kept, int) and kept > 0 else dates


def quality_for(con: duckdb.DuckDBPyConnection, manifest: dict[str, Any], lad: str | None = None) -> dict[str, Any]:
    """Data quality for people: rows received and set aside per district and file, files refused or
    stale, rows set aside by reason, and (for one district, ``lad``) its own link rate, exact.

    Rows are counts of lines in the districts' files, not of households. With ``lad``, only that
    district's files, rows and links are read."""
    received, refused = [], []
    for d in manifest.get("districts") or []:
        code = str(d.get("lad_code"))
        if lad is not None and code != lad:
            continue
        if d.get("error"):
            refused.append(f"{district_name(code)}: not read ({d['error']})")
        for f in d.get("files") or []:
            received.append({"district": district_name(code), "file": f.get("file"),
                             "read": f"{int(f.get('rows_read') or 0):,}", "valid": f"{int(f.get('rows_valid') or 0):,}",
                             "quarantined": f"{int(f.get('rows_quarantined') or 0):,}",
                             "status": "reused from the last run" if d.get("reused_from") else
                             "refused whole" if f.get("status") == "rejected" else ""})
            if f.get("status") == "rejected":
                refused.append(f"{district_name(code)}: {f.get('file')} refused whole: {f.get('reason')}")
    for g in (manifest.get("completeness") or {}).get("districts") or []:
        if g.get("status") != "complete" and (lad is None or g.get("lad_code") == lad):
            refused.append(f"{district_name(str(g.get('lad_code')))}: {g.get('status')}: "
                           + "; ".join(g.get("reasons") or []))
    out: dict[str, Any] = {"received": received, "refused": refused}
    if lad is None:
        return out
    where = f"WHERE lad_code = {quote_str(lad)}"
    reasons: list[dict[str, str]] = []
    total = 0
    if table_exists(con, "quarantine"):
        rows = con.execute(f"""SELECT file, coalesce("column", '(row)'), reason, count(*) AS n FROM quarantine {where}
                               GROUP BY ALL ORDER BY n DESC, file LIMIT 40""").fetchall()
        reasons = [{"file": str(f), "column": str(c), "reason": str(r)[:120], "rows": f"{n:,}"} for f, c, r, n in rows]
        found = con.execute(f"SELECT count(*) FROM quarantine {where}").fetchone()
        total = int(found[0]) if found else 0
    link = None
    if table_exists(con, "benefits") and table_exists(con, "links"):
        claims = con.execute(f"SELECT count(*) FROM benefits {where}").fetchone()
        linked = con.execute(f"SELECT count(*) FROM links {where}").fetchone()
        if claims and linked and claims[0]:
            link = {"claims": f"{claims[0]:,}", "linked": f"{linked[0]:,}", "rate": f"{linked[0] / claims[0]:.0%}"}
    return out | {"quarantine": reasons, "quarantine_total": total, "link": link}


def write_report(con: duckdb.DuckDBPyConnection, manifest: dict[str, Any], out_path: Path) -> None:
    """Write report.html (UTF-8, self-contained) from the benchmark tables and the manifest."""
    run_id, run_date = latest_run(con, manifest)
    county_name = county_name_of(con, manifest)
    bench = benchmark_context(con, run_id, county_name)
    trends = trend_context(con, county_name)
    context: dict[str, Any] = {
        "title": f"Financial resilience across {county_name}",
        "county_name": county_name, "run_id": run_id or "–",
        "run_date": run_date.strftime("%-d %B %Y") if run_date else manifest.get("as_of", "–"),
        "tax_year": manifest.get("tax_year"), "generated": dt.datetime.now().strftime("%-d %B %Y %H:%M"),
        "css": Markup((HERE / "report.css").read_text(encoding="utf-8")),
        "metric_labels": METRIC_LABELS, "suppressed": SUPPRESSED,
        "fmt_count": fmt_count, "fmt_gbp": fmt_gbp, "fmt_rate": fmt_rate, "fmt_percent": fmt_percent,
        "fmt_change": fmt_change, "key_points": key_points(bench, county_name), "run_notices": run_notices(manifest),
        **bench, **trends, "runs_kept": runs_kept(manifest, trends["runs"]),
        **movement_context(con, run_id, county_name), **area_context(con, run_id),
        **linkage_context(con, manifest), **quality_context(con, county_name), **completeness_context(manifest),
        **takeup_context(con, run_id, manifest), **quality_for(con, manifest),
        **review_context(manifest), "technical": technical_figures(manifest),
    }
    html = template("report_template.html").render(**context)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(html, encoding="utf-8")


def technical_figures(manifest: dict[str, Any]) -> list[tuple[str, str]]:
    """The appendix: stage timings (seconds), for the people who run the pipeline."""
    timings = manifest.get("timings")
    if not isinstance(timings, dict):
        return []
    return [(f"{name.replace('_', ' ')} stage", f"{m['wall_s']:,.1f} s") for name, m in timings.items()
            if isinstance(m, dict) and isinstance(m.get("wall_s"), (int, float))]

def _log2_odds(probability: float) -> float:
    """A probability as a match weight (log2 odds); +-1e9 for 1 and 0."""
    if probability <= 0:
        return -1e9
    if probability >= 1:
        return 1e9
    return math.log2(probability / (1 - probability))


def _weight_bins(histogram: dict[str, Any]) -> list[tuple[float, float, int | None, int | None]]:
    """(weight from, to, links, candidate pairs not linked) per bin, counts under the 10-5 rule."""
    def usable(rows: Any) -> dict[float, dict[str, Any]]:  # bins of another release may lack a key
        return {float(b["weight_from"]): b for b in rows or [] if isinstance(b, dict)
                and isinstance(b.get("weight_from"), (int, float)) and isinstance(b.get("weight_to"), (int, float))}

    links, pairs = usable(histogram.get("links")), usable(histogram.get("candidates"))
    bins = []
    for start in sorted(set(links) | set(pairs)):
        linked = int(links.get(start, {}).get("pairs") or 0)
        others = max(int(pairs.get(start, {}).get("pairs") or 0) - linked, 0)
        end = float((pairs.get(start) or links[start])["weight_to"])
        bins.append((start, end, published_count(linked), published_count(others)))
    return bins


def _dict(parent: dict[str, Any], key: str) -> dict[str, Any]:
    """``parent[key]`` when it is a dict, else an empty one (a manifest from another release)."""
    value = parent.get(key)
    return value if isinstance(value, dict) else {}


def _model_groups(model: dict[str, Any], labels: dict[str, Any]) -> list[tuple[str, list[tuple[str, float, str]]]]:
    """The match weights chart's rows from the manifest's model (prior first, then each comparison's levels)."""
    groups: list[tuple[str, list[tuple[str, float, str]]]] = []
    prior = model.get("prior")
    if isinstance(prior, (int, float)) and 0 < prior < 1:
        groups.append(("Starting odds", [(f"prior: {prior:.3g} of candidate pairs match", _log2_odds(prior),
                                          f"prior match share {prior:.4g}")]))
    for name, levels in (model.get("comparisons") or {}).items():
        if not isinstance(levels, dict):
            continue
        meaning = _dict(labels, name)
        rows = []
        for level in sorted(levels, key=lambda v: -int(v)):
            entry = levels[level]
            text = f"{level}: {meaning.get(str(level), 'level ' + str(level))}"
            rows.append((text, float(entry.get("weight") or 0.0),
                         f"{name} {text}: m {entry.get('m')}, u {entry.get('u')}, weight {entry.get('weight')}"))
        short = name.removesuffix("_level")
        groups.append(({"dob": "Date of birth", "uprn": "UPRN"}.get(short, short.replace("_", " ").capitalize()), rows))
    return groups


def review_context(manifest: dict[str, Any]) -> dict[str, Any]:
    """Clerical review and the model (the report's "Clerical review" section, from the manifest only):
    the precision analysts' decisions estimate, what they did in this run, the match-weight distribution
    of links and other candidate pairs (counts under the 10-5 rule) and the model's match weights."""
    review = _dict(manifest, "clerical_review") or None
    linkage = _dict(manifest, "linkage")
    settings = _dict(linkage, "settings")
    out: dict[str, Any] = {"review": review, "review_applied": linkage.get("clerical") or {},
                           "review_queue_pairs": None, "weight_svg": None, "model_svg": None, "model_notes": []}
    if isinstance(linkage.get("review_queue"), int):
        out["review_queue_pairs"] = _published(linkage["review_queue"])
    if review and review.get("precision") is not None:
        low, high = review.get("precision_95") or (None, None)
        out["review_precision"] = f"{100 * review['precision']:.0f}%" + (
            f" (95% interval {100 * low:.0f}%–{100 * high:.0f}%)" if low is not None and high is not None else "")
    bins = _weight_bins(_dict(linkage, "match_weight_histogram"))
    if bins:
        threshold = float(settings.get("threshold") or 0.9)
        band = (_log2_odds(float(settings.get("review_lower", 0.2))), _log2_odds(float(settings.get("review_upper",
                                                                                                        0.98))))
        out["weight_svg"] = Markup(weight_histogram_chart(
            bins, "Match weight distribution: links and other candidate pairs (log scale)",
            [(_log2_odds(threshold), f"threshold {threshold:g}")], band))
    model = _dict(_dict(linkage, "models"), "within_district")
    groups = _model_groups(model, _dict(linkage, "level_labels"))
    if groups:
        out["model_svg"] = Markup(match_weights_chart(groups, "Match weights of the model: claim to account"))
        out["model_source"] = f"{model.get('source', '–')}, {model.get('iterations', 0)} iterations"
        out["model_notes"] = [str(n) for n in model.get("notes") or []]
    return out
