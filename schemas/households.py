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
LinkMethod = Literal["uprn", "probabilistic", "unlinked"]

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
    """One scored household (a benefit claim) of one district, as RULES.md scores it."""

    model_config = ConfigDict(extra="forbid")

    household_id: Text = _f("stable household id ('H-' and 12 hex characters), the same from run to run; unique: "
                            "one row per household, a household being one benefit claim in one district (a person "
                            "claiming in two districts is in two households, linked by person_cluster_id)")
    lad_code: Text = _f("ONS local-authority code of the district holding the claim")
    claim_ref: Text = _f("the district's benefit claim reference")
    account_ref: Text | None = _f("the linked council-tax account reference; null where unlinked")
    uprn: Annotated[int, Kind("integer")] | None = _f(
        "Unique Property Reference Number: the claim's, else the linked account's; null where neither has one")
    postcode: Text = _f("the claim's postcode, 'OUT IN' upper case")
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
    link_method: LinkMethod = _f("how the claim was linked to its council-tax account: uprn, probabilistic, or "
                                 "unlinked")
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
