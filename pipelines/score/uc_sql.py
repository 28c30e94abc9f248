"""Pure functions that write the SQL reading the optional Universal Credit extract (TAKEUP.md section 1).

Working temporary tables (dropped with the connection; personal data stays in the hub's database).
``uc_awards``: one row per award live on the as-of date: its latest assessment period (AP) ending on
or before it (an award whose latest notification is a termination is dropped), with take-home pay
of the last one, two and three APs (NULL where fewer are held) for the free-school-meals test.

``claims`` (a view): what the households SQL scores: every benefits claim (``source`` 'claim', or 'both'
where an award joins it by person key: the award's claimant or partner is the claim's claimant or
partner in the same district), plus each award that joins no claim as a household of its own
(table ``uc_only``: ``source`` 'uc', ``claim_ref`` 'UC-' and 16 hex of its award_ref), its money turned
into the benefits columns (monthly x 12 / 52). ``uc_links``: those UC-only households' council-tax
accounts by UPRN. Personal data: person keys are compared and kept in these working tables, never output.
"""

from __future__ import annotations

import datetime as dt

from schemas.sql import sql_date

UC_COLUMNS = ("uc_award_ref", "uc_award_monthly", "uc_earnings_1", "uc_earnings_2", "uc_earnings_3",
              "uc_child_ages", "uc_ct_deduction_monthly")
"""Award columns the households SQL reads (NULL for a claim without an award)."""
NAME_PARTS = (("forename", 2), ("nicknames", 3), ("surname", 4))
"""Parts of a name encoding (``|``-separated, :mod:`matching.normalise`) the UC fallbacks read per person, as text."""


AWARD_ROW = (("extract_date", "DATE"), ("uprn", "BIGINT"), ("address_line_1", "VARCHAR"), ("address_line_2", "VARCHAR"),
             ("town", "VARCHAR"), ("postcode", "VARCHAR"), ("ap_start", "DATE"), ("claimant_birth_date", "DATE"),
             ("partner_birth_date", "DATE"), ("adults", "BIGINT"), ("children", "BIGINT"),
             ("carer_element", "DECIMAL(18,2)"), ("housing_element", "DECIMAL(18,2)"),
             ("other_income_monthly", "DECIMAL(18,2)"), ("capital", "DECIMAL(18,2)"),
             ("earnings_monthly", "DECIMAL(18,2)"), ("claimant_name", "VARCHAR"), ("partner_name", "VARCHAR"))
"""Columns of an award's latest AP row that ``uc_award_rows`` adds to ``uc_awards`` (with their types when there is no
extract): the household's, for the UC-only households and the fallbacks."""
AWARD_KEEP = (("lad_code", "VARCHAR"), ("award_ref", "VARCHAR"), ("uc_row", "BIGINT"), ("claimant_key", "VARCHAR"),
              ("partner_key", "VARCHAR"), ("child_ages", "VARCHAR"), ("award_monthly", "DECIMAL(18,2)"),
              ("council_tax_deduction_monthly", "DECIMAL(18,2)"), ("earnings_1", "DECIMAL(18,2)"),
              ("earnings_2", "DECIMAL(18,2)"), ("earnings_3", "DECIMAL(18,2)"))
"""Columns of ``uc_awards``: what every award needs (joining claims by person key, and the award columns)."""


def awards_sql(as_of: dt.date, has_uc: bool) -> str:
    """CREATE TEMP TABLE uc_awards: the live awards on ``as_of`` (empty without a universal_credit table), and TEMP
    VIEW uc_award_rows: each with the rest of its latest AP's row (:data:`AWARD_ROW`, name encodings included).

    One aggregation per award (``_uc_latest``): its latest AP's start, that AP row's ``rowid`` in
    ``universal_credit`` (``uc_row``; award_ref and ap_start are unique together in a district's extract:
    validation quarantines duplicates) and the take-home pay of its last three APs, newest first
    (``max_by(..., 3)``); then that row joined by ``uc_row`` (one integer), which is much cheaper than carrying
    the whole row through the aggregation (``arg_max`` of a struct, or ``arg_max_null`` per column).
    ``uc_awards`` keeps only :data:`AWARD_KEEP` (about two thirds of the awards join a claim by person key and need
    no more); ``uc_award_rows`` fetches the other columns from ``universal_credit`` by ``uc_row`` for the awards it
    is read for (the UC-only households, the few the fallbacks compare; valid within the stage:
    ``universal_credit`` is not changed while scoring)."""
    if not has_uc:
        empty = ", ".join(f"NULL::{kind} AS {name}" for name, kind in AWARD_KEEP + AWARD_ROW)
        return (f"CREATE OR REPLACE TEMP TABLE uc_awards AS SELECT {empty} WHERE FALSE;\n"
                "CREATE OR REPLACE TEMP VIEW uc_award_rows AS SELECT * FROM uc_awards")
    row = ", ".join(f"CAST(u.{name} AS BIGINT) AS {name}" if name in ("adults", "children") else f"u.{name}"
                    for name, _ in AWARD_ROW)
    return f"""CREATE OR REPLACE TEMP TABLE _uc_latest AS
SELECT lad_code, award_ref, max(ap_start) AS ap_start, arg_max(rowid, ap_start) AS uc_row,
    max_by(earnings_monthly, ap_start, 3) AS last3
FROM universal_credit WHERE ap_end <= {sql_date(as_of)} GROUP BY lad_code, award_ref;
CREATE OR REPLACE TEMP TABLE uc_awards AS
SELECT u.lad_code, u.award_ref, g.uc_row, u.claimant_key, u.partner_key, u.child_ages, u.award_monthly,
    u.council_tax_deduction_monthly, u.earnings_monthly AS earnings_1,
    CASE WHEN len(g.last3) >= 2 THEN g.last3[1] + g.last3[2] END AS earnings_2,
    CASE WHEN len(g.last3) >= 3 THEN g.last3[1] + g.last3[2] + g.last3[3] END AS earnings_3
FROM universal_credit u
JOIN _uc_latest g ON g.uc_row = u.rowid
WHERE u.notification_type <> 'termination';
CREATE OR REPLACE TEMP VIEW uc_award_rows AS
SELECT a.*, {row} FROM uc_awards a JOIN universal_credit u ON u.rowid = a.uc_row"""


def claim_awards_sql() -> str:
    """CREATE TEMP TABLE claim_awards: claim -> award where a person key is equal (claimant or partner, either side).

    :func:`pipelines.score.uc_link.join_awards_to_claims` then adds the awards it joins probabilistically."""
    people = ("SELECT lad_code, {ref}, claimant_key AS person_key FROM {table} WHERE claimant_key IS NOT NULL"
              " UNION ALL SELECT lad_code, {ref}, partner_key FROM {table} WHERE partner_key IS NOT NULL")
    return f"""CREATE OR REPLACE TEMP TABLE claim_awards AS
SELECT b.lad_code, b.claim_ref, min(a.award_ref) AS award_ref
FROM ({people.format(ref="claim_ref", table="benefits")}) b
JOIN ({people.format(ref="award_ref", table="uc_awards")}) a ON a.lad_code = b.lad_code AND a.person_key = b.person_key
GROUP BY b.lad_code, b.claim_ref"""


def claims_sql() -> str:
    """CREATE TEMP TABLE uc_only (the UC-only households, in the benefits columns), TEMP VIEW claims (benefits plus
    uc_only, with the award columns) from ``claim_awards``, and TEMP TABLE uc_links (UC-only households' accounts by
    UPRN). ``claims`` is a view so that the benefits rows are not copied (each households statement reads its
    districts of it once, with the joins to the award columns); ``uc_only`` is a table as the UC-only fallback
    reads it several times. Neither holds a name encoding (scoring reads none; the fallback fetches the few it
    compares)."""
    award_cols = ("a.award_ref AS uc_award_ref, a.award_monthly AS uc_award_monthly, a.earnings_1 AS uc_earnings_1,"
                  " a.earnings_2 AS uc_earnings_2, a.earnings_3 AS uc_earnings_3, a.child_ages AS uc_child_ages,"
                  " a.council_tax_deduction_monthly AS uc_ct_deduction_monthly")
    weekly = "CAST(round({} * 12 / 52, 2) AS DECIMAL(18,2))"
    return f"""CREATE OR REPLACE TEMP TABLE uc_only AS
SELECT a.lad_code, a.extract_date, 'UC-' || left(a.award_ref, 16) AS claim_ref, a.uprn, a.address_line_1,
    a.address_line_2, a.town, a.postcode, a.claimant_key, a.claimant_birth_date, a.partner_key,
    a.partner_birth_date, a.adults, a.children, a.child_ages, CAST(0 AS BIGINT) AS non_dependants,
    'other' AS tenure, {weekly.format('a.housing_element')} AS rent_weekly,
    CAST(0 AS DECIMAL(18,2)) AS council_tax_weekly, CAST(0 AS DECIMAL(18,2)) AS hb_weekly,
    CAST(0 AS DECIMAL(18,2)) AS ctr_weekly, a.award_monthly AS uc_monthly,
    {weekly.format('a.earnings_monthly')} AS earnings_weekly, CAST(0 AS DECIMAL(18,2)) AS state_pension_weekly,
    CAST(0 AS DECIMAL(18,2)) AS private_pension_weekly, CAST(0 AS DECIMAL(18,2)) AS pension_credit_weekly,
    CAST(0 AS DECIMAL(18,2)) AS disability_benefit_weekly, CAST(0 AS DECIMAL(18,2)) AS carers_allowance_weekly,
    CAST(0 AS DECIMAL(18,2)) AS child_benefit_weekly, {weekly.format('a.other_income_monthly')} AS other_income_weekly,
    a.capital, FALSE AS severe_disability, a.carer_element > 0 AS carer, NULL::DATE AS claim_start_date,
    'uc' AS source, {award_cols}
FROM uc_award_rows a
WHERE NOT EXISTS (SELECT 1 FROM claim_awards ca WHERE ca.lad_code = a.lad_code AND ca.award_ref = a.award_ref);
CREATE OR REPLACE TEMP VIEW claims AS
SELECT b.* EXCLUDE (claimant_name, partner_name),
    CASE WHEN a.award_ref IS NULL THEN 'claim' ELSE 'both' END AS source, {award_cols}
FROM benefits b
LEFT JOIN claim_awards ca ON ca.lad_code = b.lad_code AND ca.claim_ref = b.claim_ref
LEFT JOIN uc_awards a ON a.lad_code = ca.lad_code AND a.award_ref = ca.award_ref
UNION ALL BY NAME
SELECT * FROM uc_only;
CREATE OR REPLACE TEMP TABLE uc_links AS
SELECT c.lad_code, c.claim_ref, t.account_ref, 'uprn' AS method, CAST(1.0 AS DOUBLE) AS match_probability
FROM uc_only c JOIN council_tax t ON t.lad_code = c.lad_code AND t.uprn = c.uprn
QUALIFY row_number() OVER (PARTITION BY c.lad_code, c.claim_ref ORDER BY t.account_ref) = 1"""
