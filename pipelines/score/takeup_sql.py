"""Pure functions that write the take-up checks' SQL (TAKEUP.md section 2) from a tax year's parameters.

Each check (named after its TAKEUP.md section) adds three columns to the row it reads, in three CTE
layers shared by every check (:func:`takeup_ctes`): ``<check>_confidence`` (likely, possible, automatic
or NULL when not flagged),
``<check>_value_annual`` (exact DECIMAL pounds a year: 0 when not flagged, NULL when flagged but
the value is unknown) and ``<check>_reason`` (a plain-English clause for ``reasons``, NULL when
not flagged). The CTEs chain after the ``monthly`` CTE of :mod:`pipelines.score.households_sql`
and read only its columns: benefits amounts, the linked council-tax account, the Pension Credit
working (``everyone_spa``, ``income_pc_w``, ``guarantee_w``) and the Universal Credit award's
``uc_*`` columns (:mod:`pipelines.score.uc_sql`; NULL without an award, when "gets UC" is
``uc_monthly`` > 0 and take-home pay is ``earnings_weekly`` x 52 / 12). ``arrears_signals_sql``
(2h) is a table of its own, per council-tax account. Personal data: reads birth dates (age 80+
sign) and child ages; writes none of them except child ages in reasons.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from pipelines.score.reasons import money
from schemas.households import TAKEUP_CHECKS
from schemas.parameters import Parameters
from schemas.reference import KENT_DISTRICTS
from schemas.sql import quote_str, sql_date, sql_dec

CHECKS = tuple(TAKEUP_CHECKS)
"""The take-up checks in households' column order: TAKEUP.md 2a, 2b, 2c, 2d, 2e, 2f (two), 2g."""

WATER_COMPANIES = {"southern": ("Southern Water", "the Essentials tariff"),
                   "south_east": ("South East Water", "the Social Tariff"),
                   "affinity": ("Affinity Water", "the LIFT tariff")}
SOCIAL_TENURES = ("council", "housing_association")
RENTED_TENURES = (*SOCIAL_TENURES, "private_rented")


def _year(p: Parameters) -> str:
    return p.tax_year.replace("-", "/")


def _by_district(values: dict[str, Decimal], default: Decimal) -> str:
    """CASE lad_code picking a district's figure, else the default."""
    whens = " ".join(f"WHEN {quote_str(lad)} THEN {sql_dec(v)}" for lad, v in sorted(values.items()))
    return f"(CASE lad_code {whens} ELSE {sql_dec(default)} END)" if whens else sql_dec(default)


def _pct_text(share_expr: str) -> str:
    return f"format('{{:g}}', CAST(round({share_expr} * 100, 2) AS DOUBLE)) || '%'"


def _ages_text(ages_expr: str) -> str:
    return f"array_to_string({ages_expr}, ', ')"


@dataclass(frozen=True)
class Columns:
    """A check's SELECT-list items: ``inter`` read ``tu_prepare``'s columns (layer ``tu_inter``), ``final`` read
    those and ``inter``'s (layer ``tu_checks``)."""

    inter: tuple[str, ...] = ()
    final: tuple[str, ...] = ()


def prepare_columns(p: Parameters) -> tuple[str, ...]:
    """tu_prepare: child ages (the claim's, else the award's), benefits received, the benefit named in reasons.

    On UC: ``uc_monthly`` > 0 or a live award with a payment; ``uc_nil``: an award with a nil payment.
    ``earnings_m``: take-home pay a month, the latest AP's where an award is held, else earnings_weekly x 52 / 12.
    ``company``: the water supplier of the postcode (:func:`supplier_sql`).
    """
    return (
        """CASE WHEN nullif(trim(coalesce(child_ages, uc_child_ages)), '') IS NOT NULL
             THEN list_transform(string_split(coalesce(child_ages, uc_child_ages), ';'),
                                 lambda x: CAST(trim(x) AS INTEGER)) END AS ages_l""",
        "uc_monthly > 0 OR coalesce(uc_award_monthly > 0, FALSE) AS on_uc",
        "uc_award_ref IS NOT NULL AND uc_award_monthly = 0 AND uc_monthly = 0 AS uc_nil",
        "pension_credit_weekly > 0 AS on_pc", "hb_weekly > 0 AS on_hb",
        "pension_credit_weekly > 0 AND income_pc_w < guarantee_w AS on_gc",
        """CASE WHEN uc_monthly > 0 OR uc_award_ref IS NOT NULL THEN 'Universal Credit'
             WHEN pension_credit_weekly > 0 THEN 'Pension Credit'
             WHEN hb_weekly > 0 THEN 'Housing Benefit' END AS benefit_name""",
        "CAST(earnings_weekly * 52 AS DECIMAL(18,2)) AS earnings_a",
        "CAST(coalesce(uc_earnings_1, earnings_weekly * 52 / 12) AS DECIMAL(18,6)) AS earnings_m",
        supplier_sql(p, "split_part(postcode, ' ', 1)", "regexp_extract(postcode, '^[A-Z]+')") + " AS company",
    )


def ctr_columns(p: Parameters) -> Columns:
    """2a: liable for council tax, no CTR, on UC (a nil award too), Pension Credit or HB.

    Pension age (everyone over State Pension age): the national scheme, 100%; likely on Guarantee
    Credit. Working age: the district's scheme, ``max_pct`` without earnings (likely), else the lowest
    band (possible). Possible too with non-dependants, one adult and no single-person discount, or a nil award.
    """
    schemes = p.ctr_schemes.value
    default = p.ctr_default_max_pct.value
    top = _by_district({lad: s.max_pct for lad, s in schemes.items()}, default)
    low = _by_district({lad: (min(s.band_pcts) if s.band_pcts else s.max_pct) for lad, s in schemes.items()},
                       default)
    labels = {**KENT_DISTRICTS, **{lad: s.district for lad, s in schemes.items()}}
    names = " ".join(f"WHEN {quote_str(lad)} THEN {quote_str(name)}" for lad, name in sorted(labels.items()))
    scheme = f"(CASE WHEN everyone_spa THEN 'pension-age scheme' ELSE (CASE lad_code {names} ELSE lad_code END) END)"
    inter = (
        """coalesce(account_ref IS NOT NULL AND annual_charge > 0 AND exemption_class IS NULL AND ctr_annual = 0
                 AND ctr_weekly = 0 AND (on_uc OR uc_nil OR on_pc OR on_hb), FALSE) AS ctr_flag""",
        f"CASE WHEN everyone_spa THEN 1 WHEN earnings_m = 0 THEN {top} ELSE {low} END AS ctr_pct",
        """(non_dependants > 0 OR (NOT couple AND single_person_discount IS NOT TRUE) OR uc_nil
         OR CASE WHEN everyone_spa THEN NOT on_gc ELSE earnings_m > 0 END) AS ctr_doubt""",
    )
    final = (
        "CASE WHEN ctr_flag THEN CASE WHEN ctr_doubt THEN 'possible' ELSE 'likely' END END AS ctr_confidence",
        "CAST(CASE WHEN ctr_flag THEN annual_charge * ctr_pct ELSE 0 END AS DECIMAL(18,2)) AS ctr_value_annual",
        f"""CASE WHEN ctr_flag THEN 'Council Tax Reduction: gets ' || benefit_name || ' and pays full council tax of '
            || {money('annual_charge')} || ' a year with no Council Tax Reduction: could get about '
            || {_pct_text('ctr_pct')} || ' off, '
            || {money('CAST(annual_charge * ctr_pct AS DECIMAL(18,2))')} || ' a year ('
            || {scheme} || ' {_year(p)})'
            || CASE WHEN uc_nil THEN ' (a nil Universal Credit award: check entitlement)' ELSE '' END
            || CASE WHEN uc_ct_deduction_monthly > 0 THEN ' (council-tax arrears of '
                    || {money('uc_ct_deduction_monthly')} || ' a month are deducted from Universal Credit)'
                    ELSE '' END END AS ctr_reason""",
    )
    return Columns(inter, final)


def fsm_columns(p: Parameters, as_of: dt.date) -> Columns:
    """2b: UC (earnings test until ``fsm_all_uc_from``) or Guarantee Credit, with a school-age child.

    The earnings test: take-home pay in the last AP, or the last two, or three, at or below the limits where
    an award's APs are held; else earnings_weekly x 52 against the one-AP limit x 12.

    Ages 4-6 infant (already fed: £0, register for pupil premium); 7-18 valued at ``fsm_value_per_child``
    each; no ages held: value NULL. Always possible (receipt is not in the data).
    """
    all_uc = as_of >= p.fsm_all_uc_from.value
    one, two, three = (p.fsm_earnings_limit_1ap.value, p.fsm_earnings_limit_2ap.value,
                       p.fsm_earnings_limit_3ap.value)
    test = (f"CASE WHEN uc_earnings_1 IS NOT NULL THEN uc_earnings_1 <= {sql_dec(one)}"
            f" OR coalesce(uc_earnings_2 <= {sql_dec(two)}, FALSE)"
            f" OR coalesce(uc_earnings_3 <= {sql_dec(three)}, FALSE)"
            f" ELSE earnings_a <= {sql_dec(one * 12)} END")
    uc_ok = "on_uc" if all_uc else f"(on_uc AND {test})"
    each = p.fsm_value_per_child.value
    shown = "fsm_passport AND (ages_l IS NULL OR len(fsm_ages) > 0 OR len(fsm_infants) > 0)"
    inter = (f"({uc_ok} OR on_gc) AND children > 0 AS fsm_passport",
             "list_filter(ages_l, lambda a: a BETWEEN 7 AND 18) AS fsm_ages",
             "list_filter(ages_l, lambda a: a BETWEEN 4 AND 6) AS fsm_infants")
    final = (
        f"CASE WHEN {shown} THEN 'possible' END AS fsm_confidence",
        f"""CAST(CASE WHEN NOT fsm_passport THEN 0 WHEN ages_l IS NULL THEN NULL
                  ELSE {sql_dec(each)} * len(fsm_ages) END AS DECIMAL(18,2)) AS fsm_value_annual""",
        f"""CASE WHEN fsm_passport AND ages_l IS NULL
                THEN 'Free school meals: gets ' || benefit_name || ' with ' || children
                     || ' child(ren), ages not held: any at school can get free school meals '
                     || '({money_text(each, 0)} a year each): check they are registered'
             WHEN {shown}
                THEN concat_ws('; ',
                    CASE WHEN len(fsm_ages) > 0 THEN 'Free school meals: gets ' || benefit_name || ' with '
                        || len(fsm_ages) || ' child(ren) aged ' || {_ages_text('fsm_ages')}
                        || ' who can get free school meals ({money_text(each, 0)} a year each): '
                        || 'check they are registered' END,
                    CASE WHEN len(fsm_infants) > 0 THEN 'Free school meals: child(ren) aged '
                        || {_ages_text('fsm_infants')} || ' get infant free school meals already: '
                        || 'register them for free school meals so that the school gets the pupil premium' END)
             END AS fsm_reason""",
    )
    return Columns(inter, final)


def healthy_start_columns(p: Parameters) -> Columns:
    """2c: a child under 4, on UC with take-home pay <= the limit, or on Pension Credit.

    Value over the next 52 weeks, birthdays unknown (half the year of age left): age 0 = 26 weeks at the
    under-one rate + 26 at r; 1-2 = 52r; 3 = 26r. Always possible. No ages held: not flagged.
    """
    r = sql_dec(p.healthy_start_weekly.value)
    under_one = sql_dec(p.healthy_start_under_one_weekly.value)
    limit_a = sql_dec(p.healthy_start_earnings_limit_monthly.value * 12)
    per_child = f"CASE WHEN a = 0 THEN 26 * {under_one} + 26 * {r} WHEN a = 3 THEN 26 * {r} ELSE 52 * {r} END"
    flag = "hs_passport AND len(hs_ages) > 0"
    value = f"list_sum(list_transform(hs_ages, lambda a: {per_child}))"
    inter = (f"((on_uc AND earnings_m * 12 <= {limit_a}) OR (on_pc AND children > 0)) AS hs_passport",
             "coalesce(list_filter(ages_l, lambda a: a BETWEEN 0 AND 3), []) AS hs_ages")
    final = (
        f"CASE WHEN {flag} THEN 'possible' END AS healthy_start_confidence",
        f"CAST(CASE WHEN {flag} THEN {value} ELSE 0 END AS DECIMAL(18,2)) AS healthy_start_value_annual",
        f"""CASE WHEN {flag} THEN 'Healthy Start: ' || benefit_name
            || ' with take-home pay ' || {money('earnings_m')} || ' a month and child(ren) aged '
            || {_ages_text('hs_ages')} || ': could get Healthy Start worth about '
            || {money(value)} || ' a year' END AS healthy_start_reason""",
    )
    return Columns(inter, final)


def attendance_allowance_columns(p: Parameters, as_of: dt.date) -> Columns:
    """2d: everyone over State Pension age, no disability benefit, and a sign.

    Signs: the linked account's disabled band reduction, ``severe_disability`` (inconsistent without a
    disability benefit), or the oldest aged ``aa_sign_age``+. Value = lower rate x 52, plus the severe
    disability addition it would bring to someone living alone: SDA x 52 on Pension Credit, else the rise in
    the Pension Credit shortfall. Always possible.
    """
    lower, higher = p.aa_lower_weekly.value, p.aa_higher_weekly.value
    sda = sql_dec(p.pc_severe_disability_addition.value)
    years = p.aa_sign_age.value
    aged = (f"(claimant_birth_date + INTERVAL {years} YEAR <= {sql_date(as_of)}"
            f" OR partner_birth_date + INTERVAL {years} YEAR <= {sql_date(as_of)})")
    knock = (f"CASE WHEN adults = 1 AND NOT couple AND non_dependants = 0 AND NOT severe_disability THEN"
             f" CASE WHEN on_pc THEN {sda} * 52 ELSE (greatest(guarantee_w + {sda} - income_pc_w, 0)"
             f" - greatest(guarantee_w - income_pc_w, 0)) * 52 END ELSE 0 END")
    candidate = "everyone_spa AND disability_benefit_weekly = 0"
    flag = f"{candidate} AND aa_signs <> ''"
    inter = (
        f"""CASE WHEN {candidate} THEN concat_ws(', ',
                  CASE WHEN disabled_band_reduction THEN 'a disabled band reduction on the council tax' END,
                  CASE WHEN severe_disability THEN 'severe disability recorded' END,
                  CASE WHEN coalesce({aged}, FALSE) THEN 'aged {years} or over' END) ELSE '' END AS aa_signs""",
        f"CAST(CASE WHEN {candidate} THEN {knock} ELSE 0 END AS DECIMAL(18,2)) AS aa_knock_a",
    )
    final = (
        f"CASE WHEN {flag} THEN 'possible' END AS attendance_allowance_confidence",
        f"""CAST(CASE WHEN {flag} THEN {sql_dec(lower)} * 52 + aa_knock_a ELSE 0 END AS DECIMAL(18,2))
            AS attendance_allowance_value_annual""",
        f"""CASE WHEN {flag}
            THEN 'Attendance Allowance: pensioner with signs of care needs (' || aa_signs
                || ') and no disability benefit: may get Attendance Allowance, {money_text(lower * 52, 2)}'
                || '–{money_text(higher * 52, 2)} a year'
                || CASE WHEN aa_knock_a > 0 THEN ', which could add ' || {money('aa_knock_a')}
                        || ' a year of Pension Credit' ELSE '' END END AS attendance_allowance_reason""",
    )
    return Columns(inter, final)


def money_text(value: Decimal, places: int | None = None) -> str:
    """'£3,988.40' (or '£150' where whole, unless ``places`` is given) for a constant inside a SQL literal."""
    if places is None:
        places = 0 if value == value.to_integral_value() else 2
    return f"£{value:,.{places}f}"


def whd_columns(p: Parameters) -> Columns:
    """2e: Guarantee Credit (Core Group 1), or HB, UC or Savings Credit (Core Group 2).

    Paid by data matching: automatic, never counted as missing; Core Group 2 is possible in a year
    whose ``whd_core_group_2_automatic`` is false (a high energy-cost score, not held, was needed).
    """
    amount = p.whd_amount.value
    group_2 = "'automatic'" if p.whd_core_group_2_automatic.value else "'possible'"
    final = (
        f"CASE WHEN on_gc THEN 'automatic' WHEN on_uc OR on_hb OR on_pc THEN {group_2} END AS whd_confidence",
        f"""CAST(CASE WHEN on_gc OR on_uc OR on_hb OR on_pc THEN {sql_dec(amount)} ELSE 0 END AS DECIMAL(18,2))
            AS whd_value_annual""",
        f"""CASE WHEN on_gc OR ({group_2} = 'automatic' AND (on_uc OR on_hb OR on_pc))
                THEN 'Warm Home Discount: gets ' || CASE WHEN on_gc THEN 'Pension Credit' ELSE benefit_name END
                     || ': should get {money_text(amount)} Warm Home Discount automatically this winter if named on '
                     || 'the electricity bill (if it has not arrived, call the Warm Home Discount helpline)'
             WHEN on_uc OR on_hb OR on_pc
                THEN 'Warm Home Discount: gets ' || benefit_name || ': may get {money_text(amount)} Warm Home '
                     || 'Discount this winter if the home is scored high-cost to heat and they are named on the '
                     || 'electricity bill' END AS whd_reason""",
    )
    return Columns((), final)


def supplier_sql(p: Parameters, outward: str, area: str) -> str:
    """CASE giving the water company from SQL expressions of a postcode's outward code and its letters (area):
    the longest matching outward code or area in the table."""
    whens = []
    for key, company in sorted(p.water_suppliers.value.items(), key=lambda kv: (-len(kv[0]), kv[0])):
        test = f"{area} = {quote_str(key)}" if key.isalpha() else f"{outward} = {quote_str(key)}"
        whens.append(f"WHEN {test} THEN {quote_str(company)}")
    return f"(CASE {' '.join(whens)} END)" if whens else "CAST(NULL AS VARCHAR)"


def water_columns(p: Parameters) -> Columns:
    """2f, water_tariff and watersure. Both possible (receipt and meters are not in the data).

    Social tariff: Southern Water and Pension Credit: ``water_southern_pc_discount`` x the water estimate;
    the income routes (Southern: water > share of income after housing, savings <= limit; South East:
    income without disability benefits and HB < limit; Affinity: income < limit or a benefit) are flagged
    with value NULL (``water_route``: 'pc', 'income' or NULL). WaterSure: UC, HB or Pension Credit and
    ``watersure_min_children``+ children: max(water estimate - cap, 0).
    """
    southern_pc = "company = 'southern' AND on_pc"
    southern_income = (f"company = 'southern' AND income_a - housing_a > 0"
                       f" AND water_a > {sql_dec(p.water_southern_bill_share.value)} * (income_a - housing_a)"
                       f" AND capital <= {sql_dec(p.water_southern_capital_limit.value)}")
    south_east = (f"company = 'south_east' AND income_a - (disability_benefit_weekly + hb_weekly) * 52"
                  f" < {sql_dec(p.water_south_east_income_limit.value)}")
    affinity = (f"company = 'affinity' AND (income_a < {sql_dec(p.water_affinity_income_limit.value)}"
                f" OR on_uc OR on_hb OR on_pc)")
    company_name = " ".join(f"WHEN {quote_str(k)} THEN {quote_str(v[0])}" for k, v in WATER_COMPANIES.items())
    scheme_name = " ".join(f"WHEN {quote_str(k)} THEN {quote_str(v[1])}" for k, v in WATER_COMPANIES.items())
    who = "CASE WHEN benefit_name IS NOT NULL THEN 'on ' || benefit_name ELSE 'income of ' || " \
          f"{money('income_a', 0)} || ' a year' END"
    discount = sql_dec(p.water_southern_pc_discount.value)
    cap = sql_dec(p.watersure_cap_annual.value)
    sure = f"(on_uc OR on_hb OR on_pc) AND children >= {p.watersure_min_children.value}"
    inter = (f"""CASE WHEN {southern_pc} THEN 'pc'
                  WHEN {' OR '.join(f'({x})' for x in (southern_income, south_east, affinity))} THEN 'income'
                  END AS water_route""",)
    final = (
        "CASE WHEN water_route IS NOT NULL THEN 'possible' END AS water_tariff_confidence",
        f"""CAST(CASE WHEN water_route = 'pc' THEN {discount} * water_a
                  WHEN water_route = 'income' THEN NULL ELSE 0 END AS DECIMAL(18,2)) AS water_tariff_value_annual""",
        f"""CASE WHEN water_route IS NOT NULL
            THEN 'Water: ' || {who} || ' in the ' || (CASE company {company_name} END) || ' area: may qualify for '
                || (CASE company {scheme_name} END)
                || CASE WHEN water_route = 'pc' THEN ', saving about '
                        || {money(f'CAST({discount} * water_a AS DECIMAL(18,2))')} || ' a year on water'
                        ELSE ' (saving not estimated: the company''s charges are not configured)' END
            END AS water_tariff_reason""",
        f"CASE WHEN {sure} THEN 'possible' END AS watersure_confidence",
        f"""CAST(CASE WHEN {sure} THEN greatest(water_a - {cap}, 0) ELSE 0 END AS DECIMAL(18,2))
            AS watersure_value_annual""",
        f"""CASE WHEN {sure} THEN 'WaterSure: on ' || benefit_name || ' with ' || children || ' children: if the home '
            || 'has a water meter, WaterSure caps the bill at {money_text(p.watersure_cap_annual.value)} a year, '
            || 'saving about ' || {money(f'greatest(water_a - {cap}, 0)')} || ' a year' END AS watersure_reason""",
    )
    return Columns(inter, final)


def hb_pensioner_columns(p: Parameters) -> Columns:
    """2g: everyone over State Pension age, Pension Credit, renting, rent > 0, no HB.

    Value = rent x 52 (an upper bound: ineligible service charges and Local Housing Allowance are not held):
    likely for social tenants on Guarantee Credit without non-dependants, else possible.
    """
    rented = ", ".join(quote_str(t) for t in RENTED_TENURES)
    social = ", ".join(quote_str(t) for t in SOCIAL_TENURES)
    flag = f"everyone_spa AND on_pc AND tenure IN ({rented}) AND rent_weekly > 0 AND hb_weekly = 0"
    final = (
        f"""CASE WHEN {flag} THEN CASE WHEN tenure IN ({social}) AND non_dependants = 0 AND on_gc THEN 'likely'
                                   ELSE 'possible' END END AS hb_pensioner_confidence""",
        f"CAST(CASE WHEN {flag} THEN rent_weekly * 52 ELSE 0 END AS DECIMAL(18,2)) AS hb_pensioner_value_annual",
        f"""CASE WHEN {flag} THEN 'Housing Benefit: pensioner on Pension Credit paying ' || {money('rent_weekly')}
            || ' a week rent with no Housing Benefit: could get up to ' || {money('rent_weekly * 52')}
            || ' a year' END AS hb_pensioner_reason""",
    )
    return Columns((), final)


def takeup_ctes(p: Parameters, as_of: dt.date, src: str) -> tuple[str, str]:
    """The take-up CTEs reading ``src``, and the name of the last one (to select from).

    Three layers, whatever the number of checks (each layer is one projection over every column, so a CTE per
    check made the plan deep and its planning slow): ``tu_prepare`` (benefits received, ages, take-home pay),
    ``tu_inter`` (each check's working: flags, passports, age lists, the water company) and ``tu_checks``
    (each check's confidence, value and reason).
    """
    checks = [ctr_columns(p), fsm_columns(p, as_of), healthy_start_columns(p), attendance_allowance_columns(p, as_of),
              whd_columns(p), water_columns(p), hb_pensioner_columns(p)]
    sep = ",\n        "
    inter = [c for check in checks for c in check.inter]
    final = [c for check in checks for c in check.final]
    return (f"tu_prepare AS (\n    SELECT *,\n        {sep.join(prepare_columns(p))}\n    FROM {src}),\n"
            f"tu_inter AS (\n    SELECT *,\n        {sep.join(inter)}\n    FROM tu_prepare),\n"
            f"tu_checks AS (\n    SELECT *,\n        {sep.join(final)}\n    FROM tu_inter)"), "tu_checks"


def takeup_columns() -> str:
    """The output columns of every check, for the households SELECT."""
    return ", ".join(f"{c}_confidence, {c}_value_annual" for c in CHECKS)


def takeup_reasons() -> list[str]:
    """SQL expressions of each check's reason clause (NULL when not flagged), in check order."""
    return [f"{c}_reason" for c in CHECKS]


STAGE_RANK = ("attachment", "enforcement_agent", "liability_order", "summons")
"""Recovery stages from the furthest, for ranking the arrears signal (TAKEUP.md 2h)."""


def arrears_signals_sql(p: Parameters, as_of: dt.date, run_id: str) -> str:
    """CREATE TABLE arrears_signals (2h): council-tax accounts at a recovery stage in ``arrears_signal_stages``,
    with arrears >= ``arrears_signal_min``, that no scored household (benefits claim or UC award) is linked to.

    Not an entitlement: confidence 'signal', value = arrears (debt, not missing support). One row per
    account, ranked in its district by stage (furthest first), arrears high to low, account_ref. Reads
    ``council_tax`` and ``households``; row-level, for the account's own district only.
    """
    stages = [s for s in STAGE_RANK if s in p.arrears_signal_stages.value]
    stages += [s for s in p.arrears_signal_stages.value if s not in stages]
    listed = ", ".join(quote_str(s) for s in stages) or "NULL"
    order = " ".join(f"WHEN {quote_str(s)} THEN {i}" for i, s in enumerate(stages))
    words = "replace(c.recovery_stage, '_', ' ')"
    return f"""CREATE OR REPLACE TABLE arrears_signals AS
SELECT c.lad_code, c.account_ref, c.uprn, c.postcode, c.recovery_stage,
    CAST(c.arrears AS DECIMAL(18,2)) AS arrears,
    CAST(row_number() OVER (PARTITION BY c.lad_code ORDER BY CASE c.recovery_stage {order} END,
                            c.arrears DESC, c.account_ref) AS BIGINT) AS rank,
    'signal' AS not_known_arrears_confidence,
    'Council tax account at ' || {words} || ' with ' || {money('c.arrears')} || ' arrears and no benefit claim: '
        || 'check for Council Tax Reduction, Universal Credit or hardship help before further recovery' AS reason,
    {sql_date(as_of)} AS as_of_date, {quote_str(run_id)} AS run_id
FROM council_tax c
WHERE c.recovery_stage IN ({listed}) AND c.arrears >= {sql_dec(p.arrears_signal_min.value)}
  AND NOT EXISTS (SELECT 1 FROM households h WHERE h.lad_code = c.lad_code AND h.account_ref = c.account_ref)"""
