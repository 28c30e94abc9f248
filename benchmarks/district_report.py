"""``districts/<LAD>/report.html``: one district's own page, for that district's officers.

Its own figures are exact (they are its own households: no disclosure control is needed inside
the district); everything about another district or the whole partnership comes only from the
disclosure-controlled ``district_benchmarks`` table, exactly as the county report shows it. Each
section is a function returning its part of the template's context, so a section can be added
without touching the others.

Reads: ``households``, ``council_tax``, ``arrears_signals``, ``quarantine``, ``benefits`` and
``links`` filtered to this district (row-level, personal: only counts and sums leave this module);
``district_benchmarks`` (published); this district's rows of the previous run's
``households.parquet`` (for what changed); ``districts/<LAD>/campaigns.parquet`` when a campaign
has written one; the manifest. No name, reference or address reaches the page.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
from markupsafe import Markup

from benchmarks.charts import bar_chart
from benchmarks.metrics import MONEY_METRICS, raw_counts
from benchmarks.report import KEY_METRICS, county_name_of, fmt_count, fmt_rate, latest_run, quality_for, template
from schemas.outputs import METRIC_LABELS, TAKEUP_METRICS
from schemas.reference import COUNTY_CODE, district_name
from schemas.sql import quote_str, table_exists
from schemas.vocabulary import RESILIENCE_STATUSES

HERE = Path(__file__).parent
CAMPAIGNS_FILE = "campaigns.parquet"
CAMPAIGN_COLUMNS = ("campaign", "check", "started", "cohort", "now_receiving", "value_received_annual",
                    "still_missing", "left_caseload")
FLAG_METRICS = ("fuel_poverty", "water_poverty", "food_poverty", "fuel_water_food_poverty", "pensioner_households")


def exact(n: Any) -> str:
    """An exact count of the district's own households."""
    return "–" if n is None else f"{int(n):,}"


def exact_gbp(value: Any) -> str:
    """Exact pounds a year, to the pound."""
    return "–" if value is None else f"£{float(value):,.0f}"


def _share(part: int, whole: int) -> str:
    return f"{part / whole:.0%}" if whole else "–"


Figures = tuple[dict[str, int], dict[str, Decimal]]  # exact counts, and pounds a year, by metric


def own_figures(con: duckdb.DuckDBPyConnection, lad: str) -> Figures:
    """This district's exact counts and pounds a year by metric (as ``district_benchmarks`` defines them)."""
    return every_district_figures(con).get(lad, ({}, {}))


def every_district_figures(con: duckdb.DuckDBPyConnection) -> dict[str, Figures]:
    """:func:`own_figures` of every district on the connection, from one pass over the tables (a district's
    figures are its own rows' alone: the same whether the other districts' rows are there or not)."""
    if not table_exists(con, "households"):
        return {}
    _, counts, money = raw_counts(con)
    figures: dict[str, Figures] = {}
    for (area, metric), n in counts.items():
        figures.setdefault(area, ({}, {}))[0][metric] = n
    for (area, metric), value in money.items():
        figures.setdefault(area, ({}, {}))[1][metric] = value
    figures.pop(COUNTY_CODE, None)
    return figures


def headline_section(counts: dict[str, int], money: dict[str, Decimal]) -> dict[str, Any]:
    """The tiles: exact counts, and an average only from exact figures."""
    scored = counts.get("households_scored", 0)
    pc_n, pc_gbp = counts.get("pension_credit_missing", 0), money.get("pension_credit_missing", Decimal(0))
    return {"tiles": {
        "scored": exact(scored), "dwellings": exact(counts.get("dwellings")),
        "risk": exact(counts.get("in_crisis_or_at_risk", 0)),
        "risk_share": _share(counts.get("in_crisis_or_at_risk", 0), scored),
        "crisis": exact(counts.get("in_crisis", 0)), "at_risk": exact(counts.get("at_risk", 0)),
        "pc": exact(pc_n), "pc_gbp": exact_gbp(pc_gbp),
        "pc_each": exact_gbp(pc_gbp / pc_n) if pc_n else None,  # exact over exact: never over a rounded count
    }, "has_households": scored > 0}


def counts_section(counts: dict[str, int], money: dict[str, Decimal]) -> dict[str, Any]:
    """Lists of the district's own counts: statuses, poverty flags, take-up checks with pounds a year."""
    scored = counts.get("households_scored", 0)
    statuses = [{"label": METRIC_LABELS[s], "status": s, "count": exact(counts.get(s, 0)),
                 "share": _share(counts.get(s, 0), scored)} for s in RESILIENCE_STATUSES]
    flags = [{"label": METRIC_LABELS[m], "count": exact(counts.get(m, 0)), "share": _share(counts.get(m, 0), scored)}
             for m in (*FLAG_METRICS, "pension_credit_missing")]
    takeup = [{"label": METRIC_LABELS[m], "count": exact(counts.get(m, 0)),
               "gbp": exact_gbp(money.get(m)) if m in MONEY_METRICS else "paid automatically"}
              for m in TAKEUP_METRICS if counts.get(m)]
    signals = counts.get("arrears_signal", 0)
    return {"statuses": statuses, "flags": flags, "takeup": takeup, "arrears_signals": exact(signals)}


def place_section(con: duckdb.DuckDBPyConnection, run_id: str | None, lad: str, county: str) -> dict[str, Any]:
    """Where the district stands among the others: published (rounded, suppressed) figures only."""
    if run_id is None or not table_exists(con, "district_benchmarks"):
        return {"place": [], "place_charts": []}
    cursor = con.execute("SELECT lad_code, metric, count, rate, rank, availability FROM district_benchmarks "
                         "WHERE run_id = ?", [run_id])
    names = [d[0] for d in cursor.description]
    cells = {(str(r[0]), str(r[1])): dict(zip(names, r, strict=True)) for r in cursor.fetchall()}

    def get(area: str, metric: str, key: str) -> Any:
        return cells.get((area, metric), {}).get(key)

    districts = sorted({area for area, _ in cells if area != COUNTY_CODE}, key=district_name)
    gone = {district_name(d): str(get(d, "households_scored", "availability")) for d in districts
            if (get(d, "households_scored", "availability") or "available") != "available"}
    place, charts = [], []
    for metric in KEY_METRICS:
        rank = get(lad, metric, "rank")
        ranked = sum(1 for d in districts if get(d, metric, "rate") is not None)
        place.append({"label": METRIC_LABELS[metric], "count": fmt_count(get(lad, metric, "count")),
                      "rate": fmt_rate(get(lad, metric, "rate")),
                      "county_rate": fmt_rate(get(COUNTY_CODE, metric, "rate")),
                      "rank": f"{rank} of {ranked}" if rank else "not ranked (suppressed)"})
        items = [(district_name(d), get(d, metric, "rate")) for d in districts]
        charts.append({"label": METRIC_LABELS[metric], "svg": Markup(bar_chart(
            items, f"{METRIC_LABELS[metric]} per 1,000 dwellings by district", fmt_rate,
            get(COUNTY_CODE, metric, "rate"), county, highlight=district_name(lad), unavailable=gone))})
    return {"place": place, "place_charts": charts, "place_districts": len(districts)}


def campaigns_section(folder: Path, lad: str) -> dict[str, Any]:
    """This district's campaigns, from ``campaigns.parquet`` in its folder (nothing when there is none)."""
    path = folder / CAMPAIGNS_FILE
    if not path.is_file():
        return {"campaigns": None}
    with duckdb.connect() as con:
        have = {r[0] for r in con.execute(f"DESCRIBE SELECT * FROM read_parquet({quote_str(path)})").fetchall()}
        where = f"WHERE CAST(district AS VARCHAR) IN ({quote_str(lad)}, {quote_str(district_name(lad))})" \
            if "district" in have else ""
        picked = [c for c in CAMPAIGN_COLUMNS if c in have]
        if not picked:
            return {"campaigns": []}
        cursor = con.execute(f"SELECT {', '.join(chr(34) + c + chr(34) for c in picked)} "
                             f"FROM read_parquet({quote_str(path)}) {where} ORDER BY ALL")
        found = [dict(zip(picked, r, strict=True)) for r in cursor.fetchall()]
    out = []
    for r in found:
        started = r.get("started")
        out.append({"campaign": str(r.get("campaign", "")), "check": str(r.get("check", "")).replace("_", " "),
                    "started": started.strftime("%-d %b %Y") if isinstance(started, dt.date) else str(started or "–"),
                    **{k: exact(r.get(k)) for k in ("cohort", "now_receiving", "still_missing", "left_caseload")},
                    "value_received_annual": exact_gbp(r.get("value_received_annual"))})
    return {"campaigns": out}


def changes_section(con: duckdb.DuckDBPyConnection, lad: str, previous_dir: Path | None,
                    manifest: dict[str, Any]) -> dict[str, Any]:
    """Exact movement of the district's own households between the previous run and this one."""
    previous = previous_dir / "households.parquet" if previous_dir is not None else None
    if previous is None or not previous.is_file() or not table_exists(con, "households"):
        return {"changes": None}
    own = quote_str(lad)
    rows = con.execute(f"""
        WITH before AS (SELECT household_id, resilience_status FROM read_parquet({quote_str(previous)})
                        WHERE lad_code = {own}
                        QUALIFY row_number() OVER (PARTITION BY household_id ORDER BY claim_ref) = 1),
        now AS (SELECT household_id, resilience_status FROM households WHERE lad_code = {own})
        SELECT coalesce(before.resilience_status, 'new'), coalesce(now.resilience_status, 'gone'), count(*)
        FROM before FULL OUTER JOIN now ON before.household_id = now.household_id GROUP BY ALL""").fetchall()
    cell = {(str(f), str(t)): int(n) for f, t, n in rows}
    then = {s: sum(n for (f, _), n in cell.items() if f == s) for s in RESILIENCE_STATUSES}
    now = {s: sum(n for (_, t), n in cell.items() if t == s) for s in RESILIENCE_STATUSES}
    lines = [{"label": METRIC_LABELS[s], "then": exact(then[s]), "now": exact(now[s]),
              "change": _signed(now[s] - then[s])} for s in RESILIENCE_STATUSES]
    worse = sum(n for (f, t), n in cell.items() if f in RESILIENCE_STATUSES and t in RESILIENCE_STATUSES
                and RESILIENCE_STATUSES.index(t) < RESILIENCE_STATUSES.index(f))
    better = sum(n for (f, t), n in cell.items() if f in RESILIENCE_STATUSES and t in RESILIENCE_STATUSES
                 and RESILIENCE_STATUSES.index(t) > RESILIENCE_STATUSES.index(f))
    froms, tos = [*RESILIENCE_STATUSES, "new"], [*RESILIENCE_STATUSES, "gone"]
    matrix = [(f.replace("_", " "), [(exact(cell.get((f, t), 0)), f == t) for t in tos]) for f in froms]
    return {"changes": {
        "previous": manifest.get("previous_run") or (previous_dir.name if previous_dir else None),
        "lines": lines, "new": exact(sum(n for (f, _), n in cell.items() if f == "new")),
        "gone": exact(sum(n for (_, t), n in cell.items() if t == "gone")),
        "worse": exact(worse), "better": exact(better),
        "columns": [t.replace("_", " ") for t in tos], "matrix": matrix}}


def _signed(n: int) -> str:
    return f"+{n:,}" if n > 0 else (f"−{abs(n):,}" if n < 0 else "no change")


def write_district_report(con: duckdb.DuckDBPyConnection, manifest: dict[str, Any], lad: str, folder: Path,
                          previous_dir: Path | None = None, generated: dt.datetime | None = None,
                          figures: Figures | None = None) -> Path:
    """Write ``folder/report.html`` for district ``lad`` (UTF-8, self-contained, no script); returns its path.
    ``figures``: its :func:`own_figures` when already computed (:func:`every_district_figures`)."""
    run_id, run_date = latest_run(con, manifest)
    county = county_name_of(con, manifest)
    name = district_name(lad)
    counts, money = figures if figures is not None else own_figures(con, lad)
    context: dict[str, Any] = {
        "title": f"{name}: financial resilience", "district_name": name, "lad_code": lad, "county_name": county,
        "run_id": run_id or "–",
        "run_date": run_date.strftime("%-d %B %Y") if run_date else manifest.get("as_of", "–"),
        "generated": (generated or dt.datetime.now()).strftime("%-d %B %Y %H:%M"),
        "css": Markup((HERE / "report.css").read_text(encoding="utf-8")),
        **headline_section(counts, money), **counts_section(counts, money),
        **place_section(con, run_id, lad, county), **campaigns_section(folder, lad),
        **changes_section(con, lad, previous_dir, manifest), **quality_for(con, manifest, lad),
    }
    html = template("district_report_template.html").render(**context)
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / "report.html"
    out.write_text(html, encoding="utf-8")
    return out

