"""Pure functions that write the scoring SQL (RULES.md) from a tax year's parameters.

Amounts are computed EXACTLY as annual DECIMALs (weekly x 52, monthly x 12, annual as given)
and every threshold is compared on the annual scale (a monthly band B is compared as B x 12),
so that boundaries such as cashflow = £0.00 a month fall exactly where RULES.md puts them.
The monthly figures in the output are those annual amounts / 12 as DOUBLE, unrounded.
Personal data: reads birth dates to derive State Pension age; no birth date, name or key is output.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from matching.within import district_filter
from pipelines.score.pension_age import spa_date_sql
from pipelines.score.reasons import reasons_sql
from pipelines.score.takeup_sql import takeup_columns, takeup_ctes, takeup_reasons
from schemas.parameters import Parameters
from schemas.sql import quote_str, sql_date, sql_dec


def size_factor_sql(people: str, factors: dict[int, Decimal]) -> str:
    """CASE picking a size factor by people; the largest key applies to that many or more."""
    top = max(factors)
    whens = " ".join(f"WHEN {n} THEN {sql_dec(f)}" for n, f in sorted(factors.items()))
    return f"(CASE least({people}, {top}) {whens} END)"


def epc_factor_sql(rating: str, factors: dict[str, Decimal]) -> str:
    """CASE picking the EPC factor by rating; 1 where no rating is known."""
    whens = " ".join(f"WHEN {quote_str(r)} THEN {sql_dec(f)}" for r, f in sorted(factors.items()))
    return f"(CASE {rating} {whens} ELSE {sql_dec(1)} END)"


def links_cte(has_links: bool, lad_codes: list[str] | None = None) -> str:
    """At most one linked account per claim, keeping only links whose account is in council_tax.

    Claims' links come from ``links`` (the link stage); UC-only households' from ``uc_links`` (by UPRN).
    ``lad_codes``: only these districts' (None: all).
    """
    where = district_filter(lad_codes)
    uc = f"SELECT lad_code, claim_ref, account_ref, method, match_probability FROM uc_links WHERE {where}"
    found = (f"SELECT lad_code, claim_ref, account_ref, CAST(method AS VARCHAR) AS method,"
             f" CAST(match_probability AS DOUBLE) AS match_probability FROM links WHERE {where} UNION ALL {uc}"
             ) if has_links else uc
    return (
        "link AS (SELECT l.lad_code, l.claim_ref, l.account_ref, l.method, l.match_probability"
        f" FROM ({found}) l"
        f" SEMI JOIN (SELECT lad_code, account_ref FROM council_tax WHERE {where}) c"
        " ON c.lad_code = l.lad_code AND c.account_ref = l.account_ref"
        " QUALIFY row_number() OVER (PARTITION BY l.lad_code, l.claim_ref"
        " ORDER BY l.match_probability DESC NULLS LAST, l.account_ref) = 1)"
    )


def keys_cte(has_keys: bool, lad_codes: list[str] | None = None) -> str:
    """household_id, person_cluster_id, other_districts and linked_household_ids per claim (empty where
    household_keys is not there yet); ``lad_codes``: only these districts' (None: all)."""
    if not has_keys:
        return ("hkeys AS (SELECT NULL::VARCHAR AS lad_code, NULL::VARCHAR AS claim_ref,"
                " NULL::VARCHAR AS household_id, NULL::VARCHAR AS person_cluster_id,"
                " NULL::VARCHAR AS other_districts, NULL::VARCHAR AS linked_household_ids WHERE FALSE)")
    return ("hkeys AS (SELECT lad_code, claim_ref, min(household_id) AS household_id,"
            " min(person_cluster_id) AS person_cluster_id, min(other_districts) AS other_districts,"
            " min(linked_household_ids) AS linked_household_ids FROM household_keys"
            f" WHERE {district_filter(lad_codes)} GROUP BY lad_code, claim_ref)")


def epc_cte(has_epc: bool, ratings: str) -> str:
    """One EPC rating per UPRN (the worse where several are held); empty where ``epc`` is not there."""
    if not has_epc:
        return "epc_best AS (SELECT NULL::BIGINT AS uprn, NULL::VARCHAR AS rating WHERE FALSE)"
    return ("epc_best AS (SELECT uprn, max(upper(trim(current_energy_rating))) AS rating FROM epc"
            f" WHERE uprn IS NOT NULL AND upper(trim(current_energy_rating)) IN ({ratings}) GROUP BY uprn)")


WEEKLY_INCOMES = ("hb_weekly", "state_pension_weekly", "private_pension_weekly", "pension_credit_weekly",
                  "disability_benefit_weekly", "carers_allowance_weekly", "child_benefit_weekly", "other_income_weekly")


def base_cte(p: Parameters, as_of: dt.date, lad_codes: list[str] | None = None) -> str:
    """``base``: each claim (the ``claims`` view of :mod:`uc_sql`: benefits and UC-only awards) with its
    linked account, EPC rating, stable id, size and State Pension age.

    RULES.md "Units" (people = adults + children) and "Missing out on Pension Credit" (State Pension
    age from birth date and the tax year's table). ``lad_codes``: only these districts' claims (None: all).
    Personal data: birth dates are read here, not output.
    """
    as_of_sql = sql_date(as_of)
    return f"""base AS (
    SELECT b.*, l.account_ref, l.method AS link_method, l.match_probability AS link_probability,
        c.annual_charge, c.ctr_annual, c.recovery_stage, c.arrears AS account_arrears, c.uprn AS account_uprn,
        c.exemption_class, c.single_person_discount, c.disabled_band_reduction,
        coalesce(e1.rating, e2.rating) AS epc_rating,
        k.household_id AS key_household_id, k.other_districts AS key_other_districts,
        k.person_cluster_id AS key_person_cluster_id, k.linked_household_ids AS key_linked_household_ids,
        b.adults + b.children AS people,
        (b.adults >= 2 OR b.partner_birth_date IS NOT NULL) AS couple,
        {spa_date_sql("b.claimant_birth_date", p.state_pension_age.value)} <= {as_of_sql} AS claimant_spa,
        {spa_date_sql("b.partner_birth_date", p.state_pension_age.value)} <= {as_of_sql} AS partner_spa
    FROM claims b
    LEFT JOIN link l ON l.lad_code = b.lad_code AND l.claim_ref = b.claim_ref
    LEFT JOIN council_tax c ON c.lad_code = l.lad_code AND c.account_ref = l.account_ref
        AND {district_filter(lad_codes, "c.lad_code")}
    LEFT JOIN epc_best e1 ON e1.uprn = b.uprn
    LEFT JOIN epc_best e2 ON e2.uprn = c.uprn
    LEFT JOIN hkeys k ON k.lad_code = b.lad_code AND k.claim_ref = b.claim_ref
    WHERE {district_filter(lad_codes, "b.lad_code")})"""


def cashflow_cte(p: Parameters) -> str:
    """``annual``: RULES.md "Cashflow (monthly)", every line as an exact annual DECIMAL (£ a year):
    income, housing, council tax after reduction, food, energy (size and EPC factors), water, other
    essentials; and the Pension Credit guarantee and assessed income (£ a week) of "Missing out on
    Pension Credit"."""
    d = sql_dec
    return f"""annual AS (
    SELECT *,
        earnings_weekly * 52 + uc_monthly * 12 + ({' + '.join(WEEKLY_INCOMES)}) * 52 AS income_a,
        rent_weekly * 52 AS housing_a,
        CASE WHEN account_ref IS NOT NULL THEN greatest(annual_charge - ctr_annual, 0)
             ELSE greatest(council_tax_weekly - ctr_weekly, 0) * 52 END AS council_tax_a,
        {d(p.food_weekly_per_person.value)} * people * 52 AS food_a,
        {d(p.energy_annual.value)} * {size_factor_sql("people", p.energy_size_factors.value)}
            * {epc_factor_sql("epc_rating", p.energy_epc_factors.value)} AS energy_a,
        {d(p.water_annual.value)} * {size_factor_sql("people", p.water_size_factors.value)} AS water_a,
        ({d(p.other_essentials_weekly_per_adult.value)} * adults
            + {d(p.other_essentials_weekly_per_child.value)} * children) * 52 AS other_a,
        claimant_spa AND (partner_birth_date IS NULL OR partner_spa) AS pensioner,
        claimant_spa AND (NOT couple OR partner_spa IS TRUE) AS everyone_spa,
        {pension_credit_guarantee_sql(p)} AS guarantee_w,
        {pension_credit_income_sql(p)} AS income_pc_w
    FROM base)"""


def pension_credit_guarantee_sql(p: Parameters) -> str:
    """The Pension Credit standard minimum guarantee, £ a week: single or couple, plus the severe
    disability and carer additions (RULES.md "Missing out on Pension Credit")."""
    d = sql_dec
    return (f"CASE WHEN couple THEN {d(p.pc_guarantee_couple.value)} ELSE {d(p.pc_guarantee_single.value)} END\n"
            f"            + CASE WHEN severe_disability THEN {d(p.pc_severe_disability_addition.value)} ELSE 0 END\n"
            f"            + CASE WHEN carer THEN {d(p.pc_carer_addition.value)} ELSE 0 END")


def pension_credit_income_sql(p: Parameters) -> str:
    """Income Pension Credit counts, £ a week: earnings over the disregard, pensions, carer's allowance,
    other income, and tariff income of £1 per £500 (or part) of capital over £10,000."""
    d = sql_dec
    return f"""greatest(earnings_weekly - CASE WHEN couple THEN {d(p.pc_earnings_disregard_couple.value)}
                                        ELSE {d(p.pc_earnings_disregard_single.value)} END, 0)
            + state_pension_weekly + private_pension_weekly + carers_allowance_weekly + other_income_weekly
            + {d(p.pc_tariff_per_step.value)} * (
                (CAST(greatest(capital - {d(p.pc_capital_disregarded.value)}, 0) * 100 AS BIGINT)
                 + CAST({d(p.pc_tariff_step.value)} * 100 AS BIGINT) - 1)
                // CAST({d(p.pc_tariff_step.value)} * 100 AS BIGINT))"""


def flags_cte(p: Parameters) -> str:
    """``flags``: RULES.md "Poverty flags" (fuel, water, food) and "Missing out on Pension Credit"
    (missing, or unchecked where a partner's birth date is not held), on the exact annual amounts."""
    d = sql_dec
    return f"""flags AS (
    SELECT *,
        food_a + energy_a + water_a + other_a AS essentials_a,
        income_a - housing_a - council_tax_a - (food_a + energy_a + water_a + other_a) AS cashflow_a,
        income_a - housing_a - council_tax_a - energy_a - water_a - other_a AS left_for_food_a,
        energy_a > {d(p.fuel_poverty_share.value)} * income_a AS fuel_poverty,
        (income_a - housing_a <= 0 OR water_a > {d(p.water_poverty_share.value)} * (income_a - housing_a))
            AS water_poverty,
        income_a - housing_a - council_tax_a - energy_a - water_a - other_a
            < {d(p.food_poverty_share.value)} * food_a AS food_poverty,
        coalesce(everyone_spa AND pension_credit_weekly = 0 AND income_pc_w < guarantee_w, FALSE)
            AS pension_credit_missing,
        coalesce(claimant_spa AND couple AND partner_birth_date IS NULL AND pension_credit_weekly = 0
                 AND income_pc_w < guarantee_w, FALSE) AS pension_credit_unchecked
    FROM annual)"""


def resilience_cte(p: Parameters) -> str:
    """``status``: RULES.md "Financial resilience status" from the annual cashflow against the monthly
    bands x 12; below struggling, in crisis where council-tax recovery has reached a crisis stage."""
    d = sql_dec
    crisis = ", ".join(quote_str(s) for s in p.crisis_recovery_stages.value) or "NULL"
    return f"""status AS (
    SELECT *,
        CASE WHEN cashflow_a < {d(p.resilience_struggling_from.value * 12)}
                  THEN CASE WHEN recovery_stage IN ({crisis}) THEN 'in_crisis' ELSE 'at_risk' END
             WHEN cashflow_a < {d(p.resilience_coping_from.value * 12)} THEN 'struggling'
             WHEN cashflow_a < {d(p.resilience_comfortable_from.value * 12)} THEN 'coping'
             ELSE 'comfortable' END AS resilience_status
    FROM flags)"""


def monthly_cte() -> str:
    """``monthly``: the published monthly figures (annual DECIMAL / 12 as DOUBLE, £ a month, unrounded)
    and the Pension Credit missed, £ a year to the penny."""
    return """monthly AS (
    SELECT *,
        CAST(income_a AS DOUBLE) / 12 AS income_monthly,
        CAST(housing_a AS DOUBLE) / 12 AS housing_costs_monthly,
        CAST(council_tax_a AS DOUBLE) / 12 AS council_tax_monthly,
        CAST(food_a AS DOUBLE) / 12 AS food_monthly,
        CAST(energy_a AS DOUBLE) / 12 AS energy_monthly,
        CAST(water_a AS DOUBLE) / 12 AS water_monthly,
        CAST(other_a AS DOUBLE) / 12 AS other_essentials_monthly,
        CAST(essentials_a AS DOUBLE) / 12 AS essentials_monthly,
        CAST(cashflow_a AS DOUBLE) / 12 AS cashflow_monthly,
        CAST(left_for_food_a AS DOUBLE) / 12 AS left_for_food_monthly,
        CAST(CASE WHEN pension_credit_missing THEN (guarantee_w - income_pc_w) * 52 ELSE 0 END AS DECIMAL(18,2))
            AS pension_credit_value_annual
    FROM status)"""


def households_select_sql(p: Parameters, as_of: dt.date, run_id: str, last: str) -> str:
    """The published columns of ``households`` (schemas/households.py), household type, take-up and reasons,
    from the last CTE ``last``."""
    return f"""SELECT
    coalesce(key_household_id, 'H-' || left(sha256(lad_code || ':' || claim_ref), 12)) AS household_id,
    lad_code, claim_ref, source, account_ref, coalesce(uprn, account_uprn) AS uprn, postcode,
    CASE WHEN children > 0 THEN CASE WHEN couple THEN 'couple_with_children' ELSE 'lone_parent' END
         WHEN couple THEN CASE WHEN pensioner THEN 'pensioner_couple'
                               WHEN claimant_spa OR partner_spa IS TRUE THEN 'mixed_age_couple'
                               ELSE 'couple_no_children' END
         WHEN pensioner THEN 'single_pensioner' ELSE 'single_adult' END AS household_type,
    CAST(people AS BIGINT) AS people, CAST(adults AS BIGINT) AS adults, CAST(children AS BIGINT) AS children,
    pensioner, tenure,
    income_monthly, housing_costs_monthly, council_tax_monthly,
    food_monthly, energy_monthly, water_monthly, other_essentials_monthly, essentials_monthly,
    cashflow_monthly, resilience_status, recovery_stage, epc_rating,
    fuel_poverty, water_poverty, food_poverty,
    pension_credit_missing, pension_credit_value_annual,
    CAST(pension_credit_weekly AS DECIMAL(18,2)) AS pension_credit_weekly,
    CAST(CASE WHEN everyone_spa THEN income_pc_w END AS DECIMAL(18,2)) AS pension_credit_income_weekly,
    CAST(CASE WHEN everyone_spa THEN guarantee_w END AS DECIMAL(18,2)) AS pension_credit_guarantee_weekly,
    {takeup_columns()},
    coalesce(link_method, 'unlinked') AS link_method, link_probability,
    coalesce(key_person_cluster_id, 'C-' || left(sha256(lad_code || ':' || claim_ref), 12)) AS person_cluster_id,
    coalesce(key_other_districts, '') AS other_districts,
    coalesce(key_linked_household_ids, '') AS linked_household_ids,
    {reasons_sql(p, takeup_reasons())} AS reasons,
    extract_date, {sql_date(as_of)} AS as_of_date, {quote_str(p.tax_year)} AS tax_year, {quote_str(run_id)} AS run_id
FROM {last}"""


def households_sql(as_of: dt.date, params: Parameters, run_id: str, has_links: bool, has_keys: bool,
                   has_epc: bool = True, lad_codes: list[str] | None = None, insert: bool = False) -> str:
    """The CREATE TABLE households statement: one row per row of the ``claims`` view (:mod:`uc_sql`), built
    from the CTEs above in order, then the take-up checks (:mod:`takeup_sql`). ``lad_codes``: only these
    districts' claims (None: all); ``insert``: INSERT them into the existing table instead."""
    p = params
    ratings = ", ".join(quote_str(r) for r in sorted(p.energy_epc_factors.value))
    takeup, last = takeup_ctes(p, as_of, "monthly")
    ctes = [links_cte(has_links, lad_codes), keys_cte(has_keys, lad_codes), epc_cte(has_epc, ratings),
            base_cte(p, as_of, lad_codes),
            cashflow_cte(p), flags_cte(p), resilience_cte(p), monthly_cte(), takeup]
    with_list = ",\n".join(ctes)
    head = "INSERT INTO households" if insert else "CREATE OR REPLACE TABLE households AS"
    return f"""
{head}
WITH {with_list}
{households_select_sql(p, as_of, run_id, last)}
"""
