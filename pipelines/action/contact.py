"""The contact list: each district's households to contact, in order of priority, with what to do.

:func:`build_contact_list` creates the table ``contact_list`` (model :data:`schemas.outputs.ContactListRow`)
from the run's ``households`` and hub tables, and the previous run's households and contact list;
:func:`write_contact_csv` writes one district's rows as a CSV that opens cleanly in Excel.

Who is listed, and the priority (docs/CONTACT.md):

1. council tax at summons or later (every household in crisis is);
2. at risk: spends more than comes in;
3. support likely missed: Pension Credit, or a take-up check with confidence 'likely';
4. support possibly missed: a check with confidence 'possible'.

Order in the district: priority, recovery stage (furthest first), then the shortfall (priorities 1-2,
largest first) or the support missed (3-4, most first), then ``household_id``.
Personal data: row-level, pseudonymised; the address comes from the extracts as the hub holds them
(no name, NINO or keyed hash); each district's files hold its own rows only.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Any

import duckdb

from benchmarks.disclosure import published_count
from pipelines.score.reasons import money
from schemas.households import TAKEUP_CHECKS, TAKEUP_LABELS
from schemas.outputs import ContactListRow
from schemas.reference import KENT_DISTRICTS
from schemas.sql import quote_ident, quote_str, sql_date, table_exists
from schemas.text import FORMULA_STARTS
from schemas.vocabulary import RECOVERY_STAGE_WORDS, RECOVERY_STAGES

URGENT_STAGES: tuple[str, ...] = tuple(RECOVERY_STAGE_WORDS)  # summons or later
STAGE_ACTION_WORDS = {"summons": "summons", "liability_order": "liability order",
                      "enforcement_agent": "enforcement", "attachment": "attachment of earnings or benefits"}
PRIORITY_REASONS = {
    1: "council tax at summons or later",
    2: "spends more than comes in",
    3: "support likely missed",
    4: "support possibly missed",
}
CHECK_ACTIONS = {  # check -> what to do; ": about £X a year" follows where the value is known
    "ctr": "apply for Council Tax Reduction",
    "fsm": "check the children are registered for free school meals",
    "healthy_start": "apply for Healthy Start",
    "attendance_allowance": "apply for Attendance Allowance",
    "whd": "check the £150 Warm Home Discount arrives this winter",
    "water_tariff": "apply for the water company's social tariff",
    "watersure": "apply for WaterSure",
    "hb_pensioner": "apply for Housing Benefit",
}
UPPER_BOUND_CHECKS = ("hb_pensioner",)  # the value is an upper bound: "up to", not "about"
MISSED = ("likely", "possible")
CSV_TRUE, CSV_FALSE = "yes", "no"


def columns(con: duckdb.DuckDBPyConnection, relation: str) -> set[str]:
    """Column names of a table or ``read_parquet(...)`` relation."""
    return {str(r[0]) for r in con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()}


def _checks(have: set[str]) -> list[str]:
    return [c for c in TAKEUP_CHECKS if f"{c}_confidence" in have and f"{c}_value_annual" in have]


def priority_sql(have: set[str]) -> str:
    """SQL: the contact priority 1-4 of a households row (NULL: not to contact), over the columns ``have``."""
    stages = ", ".join(quote_str(s) for s in URGENT_STAGES)
    urgent = f"coalesce(recovery_stage IN ({stages}), FALSE)" if "recovery_stage" in have else "FALSE"
    checks = _checks(have)
    likely = " OR ".join(["coalesce(pension_credit_missing, FALSE)" if "pension_credit_missing" in have else "FALSE",
                          *(f"{c}_confidence = 'likely'" for c in checks)])
    possible = " OR ".join(["FALSE", *(f"{c}_confidence = 'possible'" for c in checks)])
    return f"""CASE WHEN {urgent} OR resilience_status = 'in_crisis' THEN 1
        WHEN resilience_status = 'at_risk' THEN 2
        WHEN coalesce({likely}, FALSE) THEN 3
        WHEN coalesce({possible}, FALSE) THEN 4 END"""


def _pounds(expr: str) -> str:
    """SQL: '£2,140' (to the pound) from a numeric expression."""
    return money(expr, 0)


def _value_words(check: str, value: str) -> str:
    word = "up to" if check in UPPER_BOUND_CHECKS else "about"
    return f"CASE WHEN {value} > 0 THEN ': {word} ' || {_pounds(value)} || ' a year' ELSE '' END"


def next_actions_sql(checks: list[str]) -> str:
    """SQL: the next actions in plain words, most urgent first, joined by '; '."""
    stage_words = " ".join(f"WHEN {quote_str(k)} THEN {quote_str(v)}" for k, v in STAGE_ACTION_WORDS.items())
    stages = ", ".join(quote_str(s) for s in URGENT_STAGES)
    parts = [
        f"CASE WHEN recovery_stage IN ({stages}) THEN 'council tax at ' || (CASE recovery_stage {stage_words} END)"
        " || ': refer to the recovery team before further action' END",
        f"CASE WHEN resilience_status IN ('in_crisis', 'at_risk') THEN 'spends ' || {money('-cashflow_monthly')}"
        " || ' a month more than comes in: offer a money advice appointment and check for crisis support' END",
        f"CASE WHEN pension_credit_missing THEN 'apply for Pension Credit'"
        f" || {_value_words('pension_credit', 'pension_credit_value_annual')} END",
    ]
    for check in checks:
        action = CHECK_ACTIONS.get(check, f"check {TAKEUP_LABELS.get(check, check.replace('_', ' '))}")
        value = f"{check}_value_annual"
        parts.append(f"CASE WHEN {check}_confidence IN ('likely', 'possible') THEN {quote_str(action)}"
                     f" || {_value_words(check, value)} WHEN {check}_confidence = 'automatic' "
                     f"THEN {quote_str(action)} END")
    return f"concat_ws('; ', {', '.join(parts)})"


def checks_fired_sql(checks: list[str]) -> str:
    """SQL: each check that fired with its confidence and £ a year, joined by '; '."""
    parts = [f"CASE WHEN pension_credit_missing THEN 'Pension Credit: ' || {money('pension_credit_value_annual')}"
             " || ' a year' END"]
    for check in checks:
        label = quote_str(TAKEUP_LABELS.get(check, check))
        value = f"{check}_value_annual"
        parts.append(f"CASE WHEN {check}_confidence IS NOT NULL THEN {label} || ' (' || {check}_confidence || ')'"
                     f" || CASE WHEN {value} IS NOT NULL THEN ': ' || {money(value)} || ' a year' ELSE '' END END")
    return f"concat_ws('; ', {', '.join(parts)})"


def addresses_sql(benefits: str | None, council_tax: str | None, universal_credit: str | None) -> str:
    """SQL: one row per claim (``lad_code``, ``claim_ref``) and per account with its address and arrears.

    The relations are tables of the hub or ``read_parquet(...)`` of a run's validated files; None where
    not held. A UC-only household's claim_ref is 'UC-' and 16 characters of its award_ref (uc_sql).
    """
    parts = []
    if benefits:
        parts.append(f"SELECT lad_code, claim_ref, 1 AS pick, address_line_1, address_line_2, town FROM {benefits}")
    if universal_credit:
        parts.append("SELECT lad_code, 'UC-' || left(award_ref, 16) AS claim_ref, 2 AS pick, address_line_1, "
                     f"address_line_2, town FROM {universal_credit} "
                     "QUALIFY row_number() OVER (PARTITION BY lad_code, award_ref ORDER BY ap_start DESC) = 1")
    if not parts:
        parts.append("SELECT NULL::VARCHAR AS lad_code, NULL::VARCHAR AS claim_ref, 1 AS pick, "
                     "NULL::VARCHAR AS address_line_1, NULL::VARCHAR AS address_line_2, NULL::VARCHAR AS town")
    accounts = (f"SELECT lad_code, account_ref, address_line_1, address_line_2, town, arrears FROM {council_tax}"
                if council_tax else
                "SELECT NULL::VARCHAR AS lad_code, NULL::VARCHAR AS account_ref, NULL::VARCHAR AS address_line_1, "
                "NULL::VARCHAR AS address_line_2, NULL::VARCHAR AS town, NULL::DECIMAL(18,2) AS arrears")
    return f"""claim_address AS (SELECT * FROM ({' UNION ALL '.join(parts)})
        QUALIFY row_number() OVER (PARTITION BY lad_code, claim_ref ORDER BY pick) = 1),
    account_address AS ({accounts})"""


def district_name_sql(column: str) -> str:
    """SQL: the district's name from its code (the code itself outside the partnership's list)."""
    cases = " ".join(f"WHEN {quote_str(k)} THEN {quote_str(v)}" for k, v in KENT_DISTRICTS.items())
    return f"CASE {column} {cases} ELSE {column} END"


def _previous_sql(con: duckdb.DuckDBPyConnection, previous: Path | None) -> str:
    """SQL CTEs ``prev_status`` (household_id, status) and ``prev_listed`` (household_id, first_flagged_date).

    ``prev_listed`` comes from the previous run's contact list; a previous run from before contact lists
    is listed by applying :func:`priority_sql` to its households (first flagged: its as-of date).
    """
    households = previous / "households.parquet" if previous else None
    listed = previous / "contact_list.parquet" if previous else None
    if households is None or not households.is_file():
        return ("prev_status AS (SELECT NULL::VARCHAR AS household_id, NULL::VARCHAR AS status WHERE FALSE),\n"
                "prev_listed AS (SELECT NULL::VARCHAR AS household_id, NULL::DATE AS first_flagged_date WHERE FALSE)")
    source = f"read_parquet({quote_str(str(households))})"
    status = (f"prev_status AS (SELECT household_id, resilience_status AS status FROM {source}"
              " QUALIFY row_number() OVER (PARTITION BY household_id ORDER BY lad_code, claim_ref) = 1)")
    if listed is not None and listed.is_file():
        flagged = (f"prev_listed AS (SELECT household_id, min(first_flagged_date) AS first_flagged_date "
                   f"FROM read_parquet({quote_str(str(listed))}) GROUP BY household_id)")
    else:
        have = columns(con, source)
        when = "as_of_date" if "as_of_date" in have else "NULL::DATE"
        flagged = (f"prev_listed AS (SELECT household_id, min({when}) AS first_flagged_date FROM {source} "
                   f"WHERE ({priority_sql(have)}) IS NOT NULL GROUP BY household_id)")
    return f"{status},\n{flagged}"


def _optional(con: duckdb.DuckDBPyConnection, table: str) -> str | None:
    return table if table_exists(con, table) else None


def contact_list_sql(con: duckdb.DuckDBPyConnection, previous: Path | None, as_of: dt.date,
                     households: str = "households", benefits: str | None = "benefits",
                     council_tax: str | None = "council_tax", universal_credit: str | None = "universal_credit",
                     ) -> str:
    """The SELECT of the contact list over ``households`` and the address relations (see :func:`addresses_sql`)."""
    have = columns(con, households)
    checks = _checks(have)
    missed = " + ".join(["CASE WHEN pension_credit_missing THEN coalesce(pension_credit_value_annual, 0) ELSE 0 END",
                         *(f"CASE WHEN {c}_confidence IN ('likely', 'possible') THEN coalesce({c}_value_annual, 0)"
                           " ELSE 0 END" for c in checks)])
    check_cols = ",\n    ".join(
        f"CASE WHEN h.{c}_confidence IS NOT NULL THEN h.{c}_confidence END AS {c}_confidence,\n    "
        f"CAST(CASE WHEN h.{c}_confidence IS NOT NULL THEN h.{c}_value_annual END AS DECIMAL(18,2)) "
        f"AS {c}_value_annual" if c in checks else
        f"NULL::VARCHAR AS {c}_confidence,\n    NULL::DECIMAL(18,2) AS {c}_value_annual" for c in TAKEUP_CHECKS)
    stage_rank = " ".join(f"WHEN {quote_str(s)} THEN {i}" for i, s in enumerate(RECOVERY_STAGES))
    return f"""WITH {addresses_sql(benefits, council_tax, universal_credit)},
{_previous_sql(con, previous)},
listed AS (
    SELECT *, {priority_sql(have)} AS priority,
        CAST({missed} AS DECIMAL(18,2)) AS support_missed,
        coalesce(CASE recovery_stage {stage_rank} END, -1) AS stage_rank,
        {next_actions_sql(checks)} AS actions,
        {checks_fired_sql(checks)} AS fired
    FROM {households})
SELECT h.lad_code, {district_name_sql('h.lad_code')} AS district_name,
    CAST(row_number() OVER (PARTITION BY h.lad_code ORDER BY h.priority, h.stage_rank DESC,
        CASE WHEN h.priority <= 2 THEN CAST(h.cashflow_monthly AS DOUBLE) ELSE -CAST(h.support_missed AS DOUBLE) END,
        h.household_id) AS BIGINT) AS rank,
    CAST(h.priority AS BIGINT) AS priority,
    CASE h.priority {" ".join(f"WHEN {k} THEN {quote_str(v)}" for k, v in PRIORITY_REASONS.items())} END
        AS priority_reason,
    h.household_id, h.claim_ref, h.account_ref, CAST(h.uprn AS BIGINT) AS uprn,
    coalesce(ca.address_line_1, aa.address_line_1) AS address_line_1,
    CASE WHEN ca.claim_ref IS NOT NULL THEN ca.address_line_2 ELSE aa.address_line_2 END AS address_line_2,
    CASE WHEN ca.claim_ref IS NOT NULL THEN ca.town ELSE aa.town END AS town,
    h.postcode, h.household_type, h.resilience_status, ps.status AS previous_status,
    pl.household_id IS NULL AS new_since_last_run,
    coalesce(pl.first_flagged_date, {sql_date(as_of)}) AS first_flagged_date,
    CAST(round(h.cashflow_monthly, 2) AS DECIMAL(18,2)) AS cashflow_monthly,
    h.support_missed AS support_missed_annual,
    h.fired AS checks_fired,
    CAST(CASE WHEN h.pension_credit_missing THEN h.pension_credit_value_annual END AS DECIMAL(18,2))
        AS pension_credit_value_annual,
    {check_cols},
    CAST(aa.arrears AS DECIMAL(18,2)) AS council_tax_arrears, h.recovery_stage,
    h.actions AS next_actions, h.reasons, h.as_of_date, h.run_id
FROM listed h
LEFT JOIN claim_address ca ON ca.lad_code = h.lad_code AND ca.claim_ref = h.claim_ref
LEFT JOIN account_address aa ON aa.lad_code = h.lad_code AND aa.account_ref = h.account_ref
LEFT JOIN prev_status ps ON ps.household_id = h.household_id
LEFT JOIN prev_listed pl ON pl.household_id = h.household_id
WHERE h.priority IS NOT NULL"""


def build_contact_list(con: duckdb.DuckDBPyConnection, previous: Path | None, as_of: dt.date) -> dict[str, Any]:
    """Create ``contact_list`` (every district) from ``households``; returns the manifest's counts (county-wide,
    under the 10-5 rule: the manifest is shared).

    ``previous``: the previous good run's folder (or its view without damaged files), for the previous
    status, "new since the last run" and the first flagged date.
    """
    if not table_exists(con, "households"):
        return {"households": 0}
    select = contact_list_sql(con, previous, as_of, benefits=_optional(con, "benefits"),
                              council_tax=_optional(con, "council_tax"),
                              universal_credit=_optional(con, "universal_credit"))
    names = ", ".join(quote_ident(n) for n in ContactListRow.model_fields)
    con.execute(f"CREATE OR REPLACE TABLE contact_list AS SELECT {names} FROM ({select})")
    rows = con.execute("SELECT priority, count(*), count(*) FILTER (WHERE new_since_last_run) FROM contact_list "
                       "GROUP BY priority ORDER BY priority").fetchall()
    return {"households": published_count(sum(int(r[1]) for r in rows)),  # the manifest is shared: 10-5 rule
            "new_since_last_run": published_count(sum(int(r[2]) for r in rows)),
            "by_priority": {str(r[0]): published_count(int(r[1])) for r in rows}}


def csv_cell_sql(column: str, duckdb_type: str) -> str:
    """SQL for one column as a CSV cell Excel reads as meant: money to the penny, ISO dates, yes/no, and
    text that would start a formula (= + - @ tab CR, but not a plain number) behind an apostrophe (the
    rule of :func:`schemas.text.csv_safe`); NULL and '' as an empty cell. ValueError for a type no list has."""
    col, kind = quote_ident(column), duckdb_type.upper()
    if kind == "BOOLEAN":
        return f"CASE WHEN {col} THEN {quote_str(CSV_TRUE)} WHEN NOT {col} THEN {quote_str(CSV_FALSE)} END"
    if kind.startswith("DECIMAL"):
        return f"CAST(round({col}, 2)::DECIMAL(38, 2) AS VARCHAR)"
    if kind in ("DOUBLE", "FLOAT"):
        return f"printf('%.2f', {col})"
    if kind in ("DATE", "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UINTEGER", "UBIGINT"):
        return f"CAST({col} AS VARCHAR)"
    if kind == "VARCHAR":
        starts = ", ".join(quote_str(c) for c in FORMULA_STARTS)
        number = quote_str(r"[-+]?[0-9]+(\.[0-9]+)?")
        return (f"CASE WHEN {col} = '' THEN NULL WHEN left({col}, 1) IN ({starts}) AND NOT "
                f"regexp_full_match({col}, {number}) THEN {quote_str(chr(39))} || {col} ELSE {col} END")
    raise ValueError(f"column {column}: type {duckdb_type} has no CSV cell rule")


UTF8_BOM = b"\xef\xbb\xbf"


def write_contact_csv(con: duckdb.DuckDBPyConnection, query: str, path: Path, order_by: str = "rank") -> int:
    """Write the rows of ``query`` (in the order of its column ``order_by``) as a CSV for spreadsheets:
    UTF-8 with a BOM, CRLF, every cell through :func:`csv_cell_sql`; returns the rows written."""
    return write_contact_csvs(con, query, {"": path}, order_by, split_by="")[""]


def write_contact_csvs(con: duckdb.DuckDBPyConnection, query: str, paths: dict[str, Path], order_by: str = "rank",
                       split_by: str = "lad_code") -> dict[str, int]:
    """Each district's rows of ``query`` (value of ``split_by`` -> its file in ``paths``; ``split_by`` ''
    for one file of every row) as :func:`write_contact_csv` writes them; returns rows written per file.

    DuckDB makes every cell once (a Python loop took ~5 s a county), then writes each file; the BOM
    goes in front as the file is moved into place."""
    described = con.execute(f"DESCRIBE {query}").fetchall()
    cells = ", ".join(f"{csv_cell_sql(str(r[0]), str(r[1]))} AS {quote_ident(str(r[0]))}" for r in described)
    split = f"q.{quote_ident(split_by)}" if split_by else "''"
    con.execute(f"CREATE OR REPLACE TEMP TABLE _csv_cells AS SELECT {cells}, {split} AS _csv_split, "
                f"q.{quote_ident(order_by)} AS _csv_order FROM ({query}) q")
    written: dict[str, int] = {}
    try:
        for key, path in paths.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            part = path.with_name(f".{path.name}.part")
            row = con.execute(f"COPY (SELECT * EXCLUDE (_csv_split, _csv_order) FROM _csv_cells WHERE _csv_split = "
                              f"{quote_str(key)} ORDER BY _csv_order) TO {quote_str(str(part))} "
                              "(FORMAT csv, HEADER, NEW_LINE '\r\n')").fetchone()
            with path.open("wb") as out, part.open("rb") as body:
                out.write(UTF8_BOM)
                shutil.copyfileobj(body, out, 1 << 20)
            part.unlink()
            written[key] = int(row[0]) if row else 0
    finally:
        con.execute("DROP TABLE IF EXISTS _csv_cells")
    return written
