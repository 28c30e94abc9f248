"""Pydantic model of one row of ``households.parquet`` (contract: DESIGN.md outputs).

The one source of the scored table's columns, DuckDB types, units and data-dictionary text.
Each field is annotated with a :class:`schemas.columns.Kind` whose description is the unit.
Money: monthly amounts are DOUBLE pounds, unrounded (annual amounts / 12: RULES.md says round
only for display); Pension Credit amounts are exact DECIMAL(18,2) pounds.
Personal data: row-level, for the household's own district only; holds no name, NINO, keyed
hash, name encoding or birth date.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

from schemas.columns import Kind, column_specs
from schemas.vocabulary import ResilienceStatus

HouseholdType = Literal[
    "single_adult", "single_pensioner", "couple_no_children", "pensioner_couple", "mixed_age_couple",
    "couple_with_children", "lone_parent",
]
LinkMethod = Literal["uprn", "probabilistic", "clerical", "unlinked"]
HouseholdSource = Literal["claim", "uc", "both"]
Confidence = Literal["likely", "possible", "automatic", "signal"]
CONFIDENCES: tuple[str, ...] = get_args(Confidence)
MISSING_CONFIDENCES = ("likely", "possible")  # automatic and signal never enter a "missing £" total
TAKEUP_CHECKS: dict[str, tuple[str, ...]] = {
    # check (TAKEUP.md section 2) -> the confidences it can give, in households' column order
    "ctr": ("likely", "possible"),
    "fsm": ("possible",),
    "healthy_start": ("possible",),
    "attendance_allowance": ("possible",),
    "whd": ("automatic", "possible"),
    "water_tariff": ("possible",),
    "watersure": ("possible",),
    "hb_pensioner": ("likely", "possible"),
}
TAKEUP_LABELS: dict[str, str] = {
    "ctr": "Council Tax Reduction not claimed",
    "fsm": "Free school meals",
    "healthy_start": "Healthy Start",
    "attendance_allowance": "Attendance Allowance (pensioners)",
    "whd": "Warm Home Discount",
    "water_tariff": "Water social tariff",
    "watersure": "WaterSure",
    "hb_pensioner": "Housing Benefit for pensioners who rent",
}

Text = Annotated[str, Kind("text")]
Count = Annotated[int, Kind("integer", "people")]
Flag = Annotated[bool, Kind("boolean")]
Day = Annotated[dt.date, Kind("date")]
Monthly = Annotated[float, Kind("number", "pounds a month")]
Weekly = Annotated[Decimal, Kind("money", "pounds a week")]
Yearly = Annotated[Decimal, Kind("money", "pounds a year")]

KIND_DUCKDB = {"text": "VARCHAR", "choice": "VARCHAR", "integer": "BIGINT", "number": "DOUBLE",
               "money": "DECIMAL(18,2)", "date": "DATE", "boolean": "BOOLEAN"}


def _f(description: str) -> Any:
    return Field(description=description)


class HouseholdRow(BaseModel):
    """One scored household (a benefit claim, or a UC award with no claim) of one district, as RULES.md scores it."""

    model_config = ConfigDict(extra="forbid")

    household_id: Text = _f("stable household id ('H-' and 12 hex characters), the same from run to run; unique: "
                            "one row per household, a household being one benefit claim in one district (a person "
                            "claiming in two districts is in two households, linked by person_cluster_id)")
    lad_code: Text = _f("ONS local-authority code of the district holding the claim")
    claim_ref: Text = _f("the district's benefit claim reference; for a household known only from the Universal "
                         "Credit extract, 'UC-' and 16 hex characters of its award's keyed reference")
    source: HouseholdSource = _f("where the household comes from: claim (a benefits claim), uc (a Universal Credit "
                                 "award with no benefits claim) or both (a claim joined by an award)")
    account_ref: Text | None = _f("the linked council-tax account reference; null where unlinked")
    uprn: Annotated[int, Kind("integer")] | None = _f(
        "Unique Property Reference Number: the claim's, else the linked account's; null where neither has one")
    postcode: Text | None = _f("the claim's postcode, 'OUT IN' upper case; null where the claim has none (it is "
                               "still linked on its other fields, and counted under the 'unknown' area)")
    household_type: HouseholdType = _f(
        "single_adult, single_pensioner, couple_no_children, pensioner_couple, mixed_age_couple (one partner "
        "over State Pension age), couple_with_children or lone_parent; a couple is adults >= 2 or a partner's "
        "birth date held")
    people: Count = _f("people in the benefit unit: adults + children (non-dependants not counted)")
    adults: Count = _f("adults in the benefit unit (claimant and partner)")
    children: Count = _f("dependent children")
    pensioner: Flag = _f("the claimant, and the partner where their birth date is held, have reached State "
                         "Pension age on the as-of date")
    tenure: Text = _f("tenure of the home (council, housing_association, private_rented, owner_occupier, other)")
    income_monthly: Monthly = _f("income: earnings, UC, HB, pensions, Pension Credit, disability and carer's "
                                 "benefits, child benefit and other income")
    housing_costs_monthly: Monthly = _f("contractual rent (0 for owners)")
    council_tax_monthly: Monthly = _f("council tax to pay after Council Tax Reduction: the linked account's "
                                      "(annual charge - CTR) / 12, else the claim's weekly figures x 52 / 12; >= 0")
    food_monthly: Monthly = _f("food line: food_weekly_per_person x people x 52 / 12")
    energy_monthly: Monthly = _f("energy: energy_annual x size factor x EPC factor (1 with no rating) / 12")
    water_monthly: Monthly = _f("water: water_annual x size factor / 12")
    other_essentials_monthly: Monthly = _f("clothing, household goods, phone, internet and travel: per adult "
                                           "and per child weekly amounts x 52 / 12")
    essentials_monthly: Monthly = _f("food + energy + water + other essentials")
    cashflow_monthly: Monthly = _f("income - housing - council tax - essentials; negative is a shortfall")
    resilience_status: ResilienceStatus = _f(
        "in_crisis (shortfall and council-tax recovery at summons or later), at_risk (shortfall), struggling "
        "(under £100 a month left), coping (under £200), comfortable; bands are parameters")
    recovery_stage: Text | None = _f("the linked council-tax account's furthest recovery stage; null where "
                                        "unlinked")
    epc_rating: Text | None = _f("EPC energy rating A-G of the home (the claim's UPRN, else the account's; "
                                    "the worse where several are held); null where unknown")
    fuel_poverty: Flag = _f("energy is more than fuel_poverty_share (10%) of income (method ten_percent)")
    water_poverty: Flag = _f("water is more than water_poverty_share (5%) of income after housing costs, or "
                             "nothing is left after housing costs")
    food_poverty: Flag = _f("what is left for food (income - housing - council tax - energy - water - other "
                            "essentials) is below food_poverty_share (75%) of the food line")
    pension_credit_missing: Flag = _f(
        "everyone in the household has reached State Pension age, receives no Pension Credit, and weekly income "
        "for Pension Credit is below the guarantee (couples without a partner's birth date are not flagged)")
    pension_credit_value_annual: Yearly = _f("Pension Credit missed: (guarantee - income) x 52 where flagged, "
                                             "else 0")
    pension_credit_weekly: Weekly = _f("Pension Credit received now")
    pension_credit_income_weekly: Weekly | None = _f(
        "income for Pension Credit: earnings above the £5/£10 disregard, pensions, carer's allowance, other "
        "income and tariff income from capital; null unless everyone has reached State Pension age")
    pension_credit_guarantee_weekly: Weekly | None = _f(
        "appropriate minimum guarantee: standard (single or couple) plus severe disability and carer additions; "
        "null unless everyone has reached State Pension age")
    ctr_confidence: Confidence | None = _f(
        "Council Tax Reduction not claimed (TAKEUP.md 2a): liable (linked account, charge > 0, no exemption), no "
        "CTR, on UC, Pension Credit or HB; likely, possible (earnings, non-dependants, no single-person discount "
        "for one adult, or Savings Credit only) or null")
    ctr_value_annual: Yearly | None = _f(
        "CTR missed: annual charge x the district scheme's max_pct (no earnings) or lowest band (earnings); 100% "
        "at pension age; 0 where not flagged")
    fsm_confidence: Confidence | None = _f(
        "free school meals (2b): UC (earnings test before fsm_all_uc_from) or Guarantee Credit with a school-age "
        "child (4-18, or ages not held); possible (receipt is not in the data) or null")
    fsm_value_annual: Yearly | None = _f(
        "fsm_value_per_child (£500) for each child aged 7-18 (ages 4-6 get infant meals: £0); null where flagged "
        "without child ages; 0 where not flagged")
    healthy_start_confidence: Confidence | None = _f(
        "Healthy Start (2c): a child under 4 and UC with take-home pay at or below the monthly limit, or Pension "
        "Credit with children; possible or null")
    healthy_start_value_annual: Yearly | None = _f(
        "Healthy Start over the next 52 weeks: age 0 = 26 weeks at the under-one rate + 26 at the 1-3 rate; "
        "ages 1-2 = 52 weeks; age 3 = 26 weeks; 0 where not flagged")
    attendance_allowance_confidence: Confidence | None = _f(
        "Attendance Allowance (2d): everyone over State Pension age, no disability benefit and a sign (disabled "
        "band reduction, severe_disability, or aged 80+); possible or null")
    attendance_allowance_value_annual: Yearly | None = _f(
        "AA lower rate x 52, plus the Pension Credit severe disability addition it brings to someone living "
        "alone; 0 where not flagged")
    whd_confidence: Confidence | None = _f(
        "Warm Home Discount (2e): Guarantee Credit, or HB, UC or Savings Credit; automatic (paid by data "
        "matching: never a missed amount), possible in 2024/25 for Core Group 2, or null")
    whd_value_annual: Yearly | None = _f("whd_amount (£150) where flagged, else 0")
    water_tariff_confidence: Confidence | None = _f(
        "water social tariff (2f) of the supplier (water_suppliers by postcode): Southern Water via Pension "
        "Credit or bill > 3% of income after housing; South East Water or Affinity Water income limits; "
        "possible or null")
    water_tariff_value_annual: Yearly | None = _f(
        "Southern Water via Pension Credit: 20% of the water estimate; null for the income routes (charges "
        "not configured); 0 where not flagged")
    watersure_confidence: Confidence | None = _f(
        "WaterSure (2f): UC, HB or Pension Credit and 3+ children (a meter is not in the data); possible or "
        "null")
    watersure_value_annual: Yearly | None = _f("max(water estimate - watersure_cap_annual, 0); 0 where not "
                                               "flagged")
    hb_pensioner_confidence: Confidence | None = _f(
        "Housing Benefit for pensioners who rent (2g): everyone over State Pension age, Pension Credit, rent > 0, "
        "no HB; likely (social tenant on Guarantee Credit, no non-dependants) or possible")
    hb_pensioner_value_annual: Yearly | None = _f("rent_weekly x 52 (an upper bound); 0 where not flagged")
    link_method: LinkMethod = _f("how the claim was linked to its council-tax account: uprn, probabilistic, "
                                 "clerical (an analyst's decision), or unlinked")
    link_probability: Annotated[float, Kind("number", "probability 0-1")] | None = _f(
        "match probability of the link; null where unlinked")
    person_cluster_id: Text = _f("stable id ('C-' and 12 hex characters) of the households, across districts, "
                                 "that share a claimant or partner; a household with no such link is a cluster of "
                                 "one. Group by it to count people rather than claims")
    other_districts: Text = _f("comma-separated LAD codes of other districts where the same people also appear; "
                               "'' when none")
    linked_household_ids: Text = _f("comma-separated household_id of the other households in the same "
                                    "person_cluster_id (other districts' claims by the same people); '' when none")
    reasons: Text = _f("plain-English reasons: one clause per flag that holds, then the resilience status, "
                       "joined by '; '")
    extract_date: Day | None = _f("date of the benefits extract the claim came from")
    as_of_date: Day = _f("the run's as-of date (State Pension age and the tax year are taken on it)")
    tax_year: Text = _f("tax year of the parameters used, e.g. '2026-27'")
    run_id: Text = _f("the run's id")


class ArrearsSignalRow(BaseModel):
    """A council-tax account in recovery that no scored household is linked to (TAKEUP.md 2h, "can't pay")."""

    model_config = ConfigDict(extra="forbid")

    lad_code: Text = _f("ONS local-authority code of the district holding the account")
    account_ref: Text = _f("the district's council-tax account reference")
    uprn: Annotated[int, Kind("integer")] | None = _f("Unique Property Reference Number of the account; null "
                                                       "where not held")
    postcode: Text = _f("the account's postcode, 'OUT IN' upper case")
    recovery_stage: Text = _f("furthest recovery stage reached: one of arrears_signal_stages")
    arrears: Annotated[Decimal, Kind("money", "pounds")] = _f("arrears owed (debt, not missing support)")
    rank: Annotated[int, Kind("integer")] = _f("rank in the district: furthest stage first (attachment, "
                                               "enforcement_agent, liability_order, summons), then arrears high "
                                               "to low, then account_ref")
    not_known_arrears_confidence: Literal["signal"] = _f("always 'signal': not an entitlement, for contact; "
                                                         "never in a missing total")
    reason: Text = _f("plain-English reason for contact")
    as_of_date: Day = _f("the run's as-of date")
    run_id: Text = _f("the run's id")


HOUSEHOLD_TYPES: tuple[str, ...] = get_args(HouseholdType)


def household_columns() -> list[tuple[str, str]]:
    """(name, DuckDB type) of ``households`` in order, from :class:`HouseholdRow`."""
    return [(s.name, KIND_DUCKDB[s.kind]) for s in column_specs(HouseholdRow)]


def _unit(annotation: Any) -> str:
    for arg in annotation if isinstance(annotation, tuple) else get_args(annotation):
        found = arg.description if isinstance(arg, Kind) else _unit(arg)
        if found:
            return found
    return ""


def data_dictionary() -> list[dict[str, str]]:
    """One entry per ``households`` column: name, DuckDB type, unit ('' where none) and description."""
    types = dict(household_columns())
    return [{"column": name, "type": types[name], "unit": _unit((None, *field.metadata)) or _unit(field.annotation),
             "description": field.description or ""} for name, field in HouseholdRow.model_fields.items()]
