"""Score stage: each household's monthly cashflow, resilience status, flags and take-up checks.

``score_households`` creates table ``households`` (one row per row of ``benefits``, plus one per
Universal Credit award that joins no claim) in DuckDB from ``benefits``, ``council_tax``, ``epc``
and, where they exist, ``links``, ``household_keys`` and ``universal_credit``. Money: monthly
amounts are DOUBLE pounds, unrounded (annual DECIMAL / 12; flags are decided on the exact annual
DECIMALs); Pension Credit and take-up amounts are DECIMAL(18,2).
Personal data: birth dates are read to find State Pension age; none is written out, and no
name, NINO, key or name encoding reaches ``households``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import duckdb

from matching.within import budget_bytes
from pipelines.score.households_sql import households_sql
from pipelines.score.takeup_sql import arrears_signals_sql
from pipelines.score.uc_link import join_awards_to_claims, link_uc_only_to_accounts
from pipelines.score.uc_sql import awards_sql, claim_awards_sql, claims_sql
from schemas.config import LinkSettings
from schemas.parameters import Parameters
from schemas.reference import COUNTY_CODE, COUNTY_NAME, district_name
from schemas.sql import table_exists
from schemas.vocabulary import RESILIENCE_STATUSES

FLAGS = ("fuel_poverty", "water_poverty", "food_poverty")
SCORE_ROW_BYTES = 4096
"""DuckDB budget per household scored in one statement: every take-up check and reason of a row is built in
one pipeline with hash joins on its account, links and keys. Four times Kent (635,000 households) scored at
once in the default 1.4 GiB; eight times (1.27 million) ran out of memory. With this figure Kent and twice
Kent still score in one statement, and larger partnerships in batches of districts."""


def claims_by_district(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Rows of the ``claims`` view per district: its benefits claims and UC-only awards (``uc_only``)."""
    sql = ("SELECT lad_code, count(*) FROM (SELECT lad_code FROM benefits UNION ALL SELECT lad_code FROM uc_only)"
           " GROUP BY lad_code")
    return {str(lad): int(n) for lad, n in con.execute(sql).fetchall()}


def district_batches(rows: dict[str, int], budget: int, row_bytes: int = SCORE_ROW_BYTES) -> list[list[str]]:
    """Districts in code order, grouped so that each group's rows at ``row_bytes`` each fit ``budget`` bytes (a
    district larger than that alone); one group when all fit, or when the budget is unknown (0)."""
    limit = budget // row_bytes if budget > 0 else None
    batches: list[list[str]] = []
    held = 0
    for lad in sorted(rows):
        if not batches or (limit is not None and held + rows[lad] > limit):
            batches.append([])
            held = 0
        batches[-1].append(lad)
        held += rows[lad]
    return batches or [[]]


def score_households(con: duckdb.DuckDBPyConnection, as_of: dt.date, params: Parameters, run_id: str,
                     link_settings: LinkSettings | None = None) -> None:
    """Create table ``households``: one scored row per valid claim and per UC award without a claim, with reasons.

    Uses ``links`` (claim -> account), ``household_keys``, ``epc`` and ``universal_credit`` where they exist;
    an award joins its claim by person key, else probabilistically, and a UC-only household its account by
    UPRN, else probabilistically (:mod:`pipelines.score.uc_link`, at ``link_settings``' threshold);
    otherwise every claim is unlinked and its household_id is 'H-' + 12 hex of sha256(lad_code ':' claim_ref)
    (a UC-only household's claim_ref is 'UC-' + 16 hex of its award_ref). The households statement runs on
    batches of districts that fit the database's memory budget (:func:`district_batches`; all at once at
    Kent's size). Raises RuntimeError if the result is
    not exactly one row per claim and UC-only award. Then creates ``arrears_signals`` (TAKEUP.md 2h): accounts
    in recovery that no household is linked to. The working statements before the households statement (awards,
    fallbacks, ``claims``) run on one DuckDB thread (:func:`one_thread`).
    """
    has_uc, has_links = table_exists(con, "universal_credit"), table_exists(con, "links")
    with one_thread(con):
        con.execute(awards_sql(as_of, has_uc))
        con.execute(claim_awards_sql())
        if has_uc:
            join_awards_to_claims(con, link_settings)
        con.execute(claims_sql())
        if has_uc:
            link_uc_only_to_accounts(con, has_links, link_settings)
    per_district = claims_by_district(con)
    batches = district_batches(per_district, budget_bytes(con))
    has_keys, has_epc = table_exists(con, "household_keys"), table_exists(con, "epc")
    for n, batch in enumerate(batches):
        con.execute(households_sql(as_of, params, run_id, has_links=has_links, has_keys=has_keys, has_epc=has_epc,
                                   lad_codes=batch if len(batches) > 1 else None, insert=n > 0))
    check = con.execute("SELECT count(*), count(DISTINCT (lad_code, claim_ref)) FROM households").fetchall()
    claims = sum(per_district.values())
    rows, distinct = check[0]
    if not claims == rows == distinct:
        raise RuntimeError(f"scoring made {rows} rows ({distinct} distinct claims) from {claims} claims and awards")
    con.execute(arrears_signals_sql(params, as_of, run_id))


@contextmanager
def one_thread(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Run the block's statements on one DuckDB thread, then restore the connection's thread count.

    For many small statements (the Universal Credit working tables and fallbacks: thousands to a hundred
    thousand rows each, most of a second's work split over some thirty statements): with more threads, each
    statement's short pipelines leave the other threads waiting, and DuckDB's waiting threads spin before
    they sleep, so they cost CPU time without saving wall time (Kent scale with UC, 2 threads: about 1.2
    CPU-s of the score stage's 7-8, wall time unchanged). The setting is the database's: nothing else runs
    on the hub's database while it scores."""
    row = con.execute("SELECT current_setting('threads')").fetchone()
    threads = int(row[0]) if row else 1
    con.execute("SET threads = 1")
    try:
        yield
    finally:
        con.execute(f"SET threads = {threads}")


def summarise(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Per district and a county total: households, each status, each flag, Pension Credit missed (count, £/year).

    Exact counts (for the analyst's own terminal, not for publication across districts).
    """
    statuses = ", ".join(f"count(*) FILTER (WHERE resilience_status = '{s}') AS {s}" for s in RESILIENCE_STATUSES)
    flags = ", ".join(f"count(*) FILTER (WHERE {f}) AS {f}" for f in FLAGS)
    sql = f"""
        SELECT coalesce(lad_code, '{COUNTY_CODE}') AS lad_code, count(*) AS households, {statuses}, {flags},
            count(*) FILTER (WHERE pension_credit_missing) AS pension_credit_missing,
            CAST(coalesce(sum(pension_credit_value_annual), 0) AS DECIMAL(18,2)) AS pension_credit_value_annual
        FROM households GROUP BY ROLLUP (lad_code)
        ORDER BY lad_code IS NULL, lad_code"""
    cursor = con.execute(sql)
    names = [d[0] for d in cursor.description]
    rows = [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]
    if not any(r["lad_code"] != COUNTY_CODE for r in rows):  # no households: still a county row
        rows = [{n: (COUNTY_CODE if n == "lad_code" else 0) for n in names}]
    for row in rows:
        row["district_name"] = COUNTY_NAME if row["lad_code"] == COUNTY_CODE else district_name(row["lad_code"])
    return rows


def published_summary(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """:func:`summarise`'s rows as the manifest, terminal and Prefect artifact show them: exactly the
    figures ``district_benchmarks`` publishes (the same suppression, one view of the counts, not two
    that could be combined): hidden counts None, others rounded to 5, money to £1,000."""
    from benchmarks.disclosure import protect, round_money
    from benchmarks.metrics import benchmark_lines
    from schemas.outputs import METRICS

    column = {"households_scored": "households"}  # benchmark metric -> summary column (else the same name)
    districts = [str(r["lad_code"]) for r in rows if r["lad_code"] != COUNTY_CODE]
    counts: dict[tuple[str, str], int] = {}
    for row in rows:
        for metric in METRICS:  # metrics the summary lacks count 0: their lines are apart from the others
            value = row["in_crisis"] + row["at_risk"] if metric == "in_crisis_or_at_risk" \
                else row.get(column.get(metric, metric), 0)
            counts[(str(row["lad_code"]), metric)] = int(value or 0)
    shown = protect(counts, benchmark_lines(districts), keep={(COUNTY_CODE, m): 1 for m in METRICS})
    out = []
    for row in rows:
        lad = str(row["lad_code"])
        new = dict(row) | {column.get(m, m): shown[(lad, m)].count for m in METRICS if column.get(m, m) in row}
        pc = shown[(lad, "pension_credit_missing")]
        new["pension_credit_value_annual"] = None if pc.suppressed else round_money(row["pension_credit_value_annual"])
        out.append(new)
    return out


def format_summary(rows: list[dict[str, Any]]) -> str:
    """A fixed-width table of :func:`summarise`'s rows, one line per district and the county total last.

    Hidden figures (None, see :func:`published_summary`) are shown as ``*``."""
    columns = [("district_name", "district", 22), ("households", "households", 10),
               *[(s, s.replace("_", " "), len(s) if len(s) > 8 else 8) for s in RESILIENCE_STATUSES],
               ("fuel_poverty", "fuel", 6), ("water_poverty", "water", 6), ("food_poverty", "food", 6),
               ("pension_credit_missing", "PC missed", 9), ("pension_credit_value_annual", "PC £ a year", 14)]
    lines = []
    head = [f"{title:<{width}}" if key == "district_name" else f"{title:>{width}}" for key, title, width in columns]
    lines.append("  ".join(head).rstrip())
    lines.append("-" * len(lines[0]))
    for row in rows:
        cells = []
        for key, _title, width in columns:
            value = row.get(key, "")
            if key == "district_name":
                cells.append(f"{str(value)[:width]:<{width}}")
            elif value is None:
                cells.append(f"{'*':>{width}}")
            elif key == "pension_credit_value_annual":
                cells.append(f"{'£' + format(float(value or 0), ',.0f'):>{width}}")
            else:
                cells.append(f"{int(value or 0):>{width},}")
        if row.get("lad_code") == COUNTY_CODE and len(rows) > 1:
            lines.append("-" * len(lines[0]))
        lines.append("  ".join(cells).rstrip())
    if any(value is None for row in rows for value in row.values()):
        lines.append("* hidden: a count of 1 to 9, or one that would reveal it (others rounded to 5, £ to £1,000)")
    return "\n".join(lines)
