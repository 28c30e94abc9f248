"""Pydantic models of one row of each published aggregate table (contract: DESIGN.md outputs).

These models are the one source of the columns, DuckDB types and data dictionary of
``district_benchmarks``, ``area_needs``, ``status_movement``, ``pension_credit_campaign`` and
``quarantine``. Every aggregate table here is disclosure-controlled: counts are rounded to the
nearest 5 and null where ``suppressed``; no row names a person. ``quarantine`` holds a
district's rejected rows by file and line (no values), for that partnership's analysts.
Two row-level models are here too: ``contact_list`` (a district's households to contact, its own
district only) and the ``povertylink target`` list (:class:`TargetListRow`); they carry addresses
as held in the pseudonymised extracts, never a name or NINO.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, Field, create_model

from schemas.columns import KIND_DUCKDB, Kind
from schemas.households import TAKEUP_CHECKS, TAKEUP_LABELS, Confidence
from schemas.vocabulary import ResilienceStatus

OutText = Annotated[str, Kind("text")]
OutInt = Annotated[int, Kind("integer")]
OutMoney = Annotated[Decimal, Kind("money", "pounds")]
OutNumber = Annotated[float, Kind("number")]
OutDate = Annotated[dt.date, Kind("date")]
OutFlag = Annotated[bool, Kind("boolean")]



Metric = Literal[
    "dwellings",
    "households_scored",
    "in_crisis",
    "at_risk",
    "struggling",
    "coping",
    "comfortable",
    "in_crisis_or_at_risk",
    "fuel_poverty",
    "water_poverty",
    "food_poverty",
    "fuel_water_food_poverty",
    "pensioner_households",
    "pension_credit_missing",
    # take-up checks (docs/TAKEUP.md): households by check and confidence, likely and possible apart
    "ctr_likely",
    "ctr_possible",
    "fsm_possible",
    "healthy_start_possible",
    "attendance_allowance_possible",
    "whd_automatic",
    "whd_possible",
    "water_tariff_possible",
    "watersure_possible",
    "hb_pensioner_likely",
    "hb_pensioner_possible",
    "arrears_signal",
]
METRICS: tuple[str, ...] = get_args(Metric)
TAKEUP_METRICS: dict[str, tuple[str, str]] = {
    f"{check}_{confidence}": (check, confidence)
    for check, confidences in TAKEUP_CHECKS.items() for confidence in confidences
}
"""Take-up metric -> (check, confidence); value_gbp is the check's value a year, except for automatic."""

METRIC_LABELS: dict[str, str] = {
    "dwellings": "Dwellings (council-tax accounts)",
    "households_scored": "Households scored",
    "in_crisis": "In crisis",
    "at_risk": "At risk",
    "struggling": "Struggling",
    "coping": "Coping",
    "comfortable": "Comfortable",
    "in_crisis_or_at_risk": "In crisis or at risk",
    "fuel_poverty": "Fuel poverty",
    "water_poverty": "Water poverty",
    "food_poverty": "Food poverty",
    "fuel_water_food_poverty": "Fuel, water and food poverty, and struggling or worse",
    "pensioner_households": "Pensioner households",
    "pension_credit_missing": "Missing out on Pension Credit",
    **{f"{check}_{confidence}": f"{TAKEUP_LABELS[check]} ({confidence})"
       for check, confidences in TAKEUP_CHECKS.items() for confidence in confidences},
    "arrears_signal": "Council-tax accounts in recovery with no benefit claim (signal)",
}

Availability = Literal["available", "partial", "missing", "refused", "stale"]

AreaType = Literal["postcode_sector", "lsoa", "ward"]
AreaMetric = Literal[
    "households_scored", "in_crisis_or_at_risk", "fuel_poverty", "water_poverty", "food_poverty",
    "pension_credit_missing",
]
AREA_METRICS: tuple[str, ...] = get_args(AreaMetric)
FromStatus = Literal[ResilienceStatus, "new", "all"]
ToStatus = Literal[ResilienceStatus, "gone", "all"]
CampaignOutcome = Literal["flagged_previously", "now_receiving", "still_missing", "no_longer_flagged", "not_found"]
CAMPAIGN_OUTCOMES: tuple[str, ...] = get_args(CampaignOutcome)

_CODE = "ONS local-authority code of the district, or 'county' for the whole partnership"


def _f(description: str, default: Any = ...) -> Any:
    return Field(default, description=description)


class DistrictBenchmarkRow(BaseModel):
    """One metric of one district (or the county) in one run; every run's rows are kept."""

    run_date: OutDate = _f("the run's as-of date")
    lad_code: OutText = _f(_CODE)
    district_name: OutText = _f("district name, or the county's name")
    metric: Metric = _f("what is counted (see the metric list)")
    count: OutInt | None = _f("households (dwellings for 'dwellings', accounts for 'arrears_signal'), rounded to "
                                 "the nearest 5; "
                                 "null where suppressed", None)
    denominator: OutInt | None = _f("dwellings (council-tax accounts) in the area, rounded to the "
                                       "nearest 5", None)
    rate: OutNumber | None = _f("count per 1,000 dwellings (from the rounded figures); null where "
                                   "suppressed", None)
    value_gbp: OutMoney | None = _f("pounds a year, to the nearest £1,000: Pension Credit missed for "
                                    "'pension_credit_missing'; for a likely or possible take-up metric the sum of "
                                    "its households' values (a floor: households whose value is unknown add "
                                    "nothing); null for other metrics, automatic ones, or where suppressed", None)
    suppressed: OutFlag = _f("true where the count is hidden by disclosure control (1-9, or secondary)")
    run_id: OutText = _f("the run's id")
    percent_of_scored: OutNumber | None = _f("count as a percentage of households scored, 0-100",
                                                None)
    rank: OutInt | None = _f("rank among districts by rate, 1 = highest; null for the county or "
                                "where suppressed", None)
    county_rate_diff: OutNumber | None = _f("rate minus the county's rate, per 1,000 dwellings",
                                               None)
    change_since_previous: OutInt | None = _f("count minus the previous run's count (both rounded)",
                                                 None)
    rate_change_since_previous: OutNumber | None = _f("rate minus the previous run's rate", None)
    availability: Availability = _f("'available'; for a district whose data were not complete this run, why "
                                    "its figures are null (not 0): 'missing', 'refused' or 'stale'; for the "
                                    "county, 'partial' where it covers only the complete districts", "available")


class AreaNeedsRow(BaseModel):
    """Households with a need in one small area of one district, in one run."""

    run_date: OutDate = _f("the run's as-of date")
    run_id: OutText = _f("the run's id")
    area_type: AreaType = _f("postcode_sector ('CT1 1'), lsoa (2021 LSOA) or ward")
    area_code: OutText = _f("the sector, LSOA or ward code; 'unknown' where the postcode is not in the "
                            "lookup")
    lad_code: OutText = _f("ONS local-authority code of the district")
    district_name: OutText = _f("district name")
    metric: AreaMetric = _f("what is counted")
    count: OutInt | None = _f("households, rounded to the nearest 5; null where suppressed", None)
    suppressed: OutFlag = _f("true where the count is hidden by disclosure control")


class StatusMovementRow(BaseModel):
    """Households by resilience status in the previous run (from) and this run (to)."""

    run_date: OutDate = _f("the run's as-of date")
    run_id: OutText = _f("the run's id")
    previous_run_id: OutText = _f("the earlier run compared with")
    lad_code: OutText = _f(_CODE + " (the household's district now, or then if gone)")
    district_name: OutText = _f("district name, or the county's name")
    from_status: FromStatus = _f("status in the previous run; 'new' if not scored then; 'all' total")
    to_status: ToStatus = _f("status now; 'gone' if not scored now; 'all' total")
    count: OutInt | None = _f("households, rounded to the nearest 5; null where suppressed", None)
    suppressed: OutFlag = _f("true where the count is hidden by disclosure control")


class PensionCreditCampaignRow(BaseModel):
    """Of households flagged missing Pension Credit in the previous run, what happened since."""

    run_date: OutDate = _f("the run's as-of date")
    run_id: OutText = _f("the run's id")
    previous_run_id: OutText = _f("the run in which the households were flagged")
    lad_code: OutText = _f(_CODE)
    district_name: OutText = _f("district name, or the county's name")
    outcome: CampaignOutcome = _f("flagged_previously (all flagged then), now_receiving "
                                  "(Pension Credit in payment now), still_missing, no_longer_flagged, not_found "
                                  "(not scored now)")
    count: OutInt | None = _f("households, rounded to the nearest 5; null where suppressed", None)
    value_gbp: OutMoney | None = _f("pounds a year: now received (now_receiving), still missed "
                                       "(still_missing) or missed when flagged (flagged_previously); to the "
                                       "nearest £1,000", None)
    suppressed: OutFlag = _f("true where the count is hidden by disclosure control")


class QuarantineRow(BaseModel):
    """One rejected input row (or a whole unreadable file, line 0) and why; no values."""

    lad_code: OutText = _f("ONS local-authority code of the district whose file it was; 'county' for the "
                           "county-wide files (epc, postcode_lookup)")
    kind: OutText = _f("the file's kind: benefits, council_tax, epc or postcode_lookup")
    file: OutText = _f("the file's name")
    line: OutInt = _f("line number in the file (1 = header); 0 for the whole file")
    column: OutText | None = _f("the column at fault; null for a row- or file-level problem", None)
    reason: OutText = _f("why the row was rejected")


_ROW_CODE = "ONS local-authority code of the household's district"
_STAGE_WORDS = "the linked council-tax account's furthest recovery stage; null where unlinked"


def _contact_fields() -> dict[str, Any]:
    """The contact list's columns in order: who, where, why, what it is worth, what to do.

    Every take-up check of :data:`schemas.households.TAKEUP_CHECKS` gets its two columns, so a check added
    there is on the list without a change here.
    """
    money = "pounds a year, to the penny"
    fields: dict[str, Any] = {
        "lad_code": (OutText, _f(_ROW_CODE)),
        "district_name": (OutText, _f("the district's name")),
        "rank": (OutInt, _f("order of contact in the district, 1 first: priority, then council-tax recovery stage "
                            "(furthest first), then the shortfall (priorities 1-2, largest first) or the support "
                            "missed (priorities 3-4, most first), then household_id")),
        "priority": (Annotated[int, Kind("integer"), Field(ge=1, le=4)], _f(
            "1 council tax at summons or later (every household in crisis); 2 at risk (spends more than comes in); "
            "3 support likely missed (Pension Credit or a 'likely' check); 4 support possibly missed")),
        "priority_reason": (OutText, _f("the priority in words")),
        "household_id": (OutText, _f("stable household id, as in households.parquet")),
        "claim_ref": (OutText, _f("the district's benefit claim reference ('UC-' and 16 hex characters for a "
                                  "household known only from the Universal Credit extract)")),
        "account_ref": (OutText | None, _f("the linked council-tax account reference; null where unlinked", None)),
        "uprn": (OutInt | None, _f("Unique Property Reference Number; null where not held", None)),
        "address_line_1": (OutText | None, _f("first line of the address as held in the benefits extract (else the "
                                              "Universal Credit extract, else the council-tax account)", None)),
        "address_line_2": (OutText | None, _f("second line of the address", None)),
        "town": (OutText | None, _f("town", None)),
        "postcode": (OutText | None, _f("postcode, 'OUT IN' upper case; null where the claim has none (C19)", None)),
        "household_type": (OutText, _f("household type, as in households.parquet")),
        "resilience_status": (ResilienceStatus, _f("resilience status in this run")),
        "previous_status": (ResilienceStatus | None, _f(
            "resilience status in the previous run; null where the household was not scored then", None)),
        "new_since_last_run": (OutFlag, _f("not on the previous run's contact list (true for every row of a "
                                           "first run)")),
        "first_flagged_date": (OutDate, _f("as-of date of the first run in an unbroken series of runs that listed "
                                           "the household (carried over from the previous run's list)")),
        "cashflow_monthly": (Annotated[Decimal, Kind("money", "pounds a month, to the penny")], _f(
            "income - housing - council tax - essentials; negative is a shortfall")),
        "support_missed_annual": (Annotated[Decimal, Kind("money", money)], _f(
            "Pension Credit missed plus every 'likely' and 'possible' check's value (automatic support and "
            "unknown values not counted)")),
        "checks_fired": (OutText, _f("each check that fired: name, confidence and £ a year; '' when none")),
        "pension_credit_value_annual": (Annotated[Decimal, Kind("money", money)] | None, _f(
            "Pension Credit missed; null where not flagged", None)),
    }
    for check in TAKEUP_CHECKS:
        label = TAKEUP_LABELS[check]
        fields[f"{check}_confidence"] = (Confidence | None, _f(f"{label}: confidence; null where not flagged", None))
        fields[f"{check}_value_annual"] = (Annotated[Decimal, Kind("money", money)] | None, _f(
            f"{label}: value; null where not flagged or not known", None))
    fields |= {
        "council_tax_arrears": (Annotated[Decimal, Kind("money", "pounds, to the penny")] | None, _f(
            "arrears on the linked council-tax account; null where unlinked", None)),
        "recovery_stage": (OutText | None, _f(_STAGE_WORDS, None)),
        "next_actions": (OutText, _f("what to do, in plain words, most urgent first, joined by '; '")),
        "reasons": (OutText, _f("the household's reasons, as in households.parquet")),
        "as_of_date": (OutDate, _f("the run's as-of date")),
        "run_id": (OutText, _f("the run's id")),
    }
    return fields


ContactListRow: type[BaseModel] = create_model(  # type: ignore[call-overload]
    "ContactListRow", __doc__="One household to contact, in order of priority (docs/CONTACT.md).",
    **_contact_fields())


class TargetListRow(BaseModel):
    """One household selected by ``povertylink target`` (crisis-fund targeting, TAKEUP.md section 3)."""

    lad_code: OutText = _f(_ROW_CODE)
    district_name: OutText = _f("the district's name")
    rank: OutInt = _f("order in the district: status (worst first), cashflow ascending, household_id")
    household_id: OutText = _f("stable household id, as in households.parquet")
    claim_ref: OutText = _f("the district's benefit claim reference")
    account_ref: OutText | None = _f("the linked council-tax account reference; null where unlinked", None)
    uprn: OutInt | None = _f("Unique Property Reference Number; null where not held", None)
    address_line_1: OutText | None = _f("first line of the address as held in the extracts", None)
    address_line_2: OutText | None = _f("second line of the address", None)
    town: OutText | None = _f("town", None)
    postcode: OutText | None = _f("postcode, 'OUT IN' upper case; null where the claim has none (C19)", None)
    household_type: OutText = _f("household type, as in households.parquet")
    resilience_status: ResilienceStatus = _f("resilience status in the run targeted")
    cashflow_monthly: Annotated[Decimal, Kind("money", "pounds a month, to the penny")] = _f(
        "income - housing - council tax - essentials; negative is a shortfall")
    award: Annotated[Decimal, Kind("money", "pounds")] = _f("the award to pay")
    cumulative_total: Annotated[Decimal, Kind("money", "pounds")] = _f("awards of this and every higher rank")
    reason: OutText = _f("why selected: rank, status and cashflow in words")
    targeting: OutText = _f("the targeting's name")
    as_of_date: OutDate = _f("the targeted run's as-of date")
    run_id: OutText = _f("the targeted run's id")
class CampaignRow(BaseModel):
    """One live campaign's fixed cohort in one district (or the county), as this run finds it
    (``povertylink campaign start``; pipelines/action/campaigns.py). The shared ``campaigns.parquet``
    is disclosure-controlled; ``districts/<LAD>/campaigns.parquet`` holds that district's exact figures.
    Every cohort household is in exactly one of now_receiving, still_missing, no_longer_flagged and
    left_caseload."""

    run_date: OutDate = _f("the run's as-of date")
    run_id: OutText = _f("the run's id")
    campaign: OutText = _f("the campaign's name")
    check: OutText = _f("the check whose flagged households make the cohort: pension_credit or a take-up check")
    district: OutText = _f(_CODE + " (where the cohort household was flagged)")
    district_name: OutText = _f("district name, or the county's name")
    started: OutDate = _f("as-of date of the run whose flagged households were frozen as the cohort")
    cohort: OutInt | None = _f("households in the cohort (fixed when the campaign started)", None)
    now_receiving: OutInt | None = _f("cohort households now receiving the support (more of it than when the "
                                      "campaign started; the rule per check is in docs/CAMPAIGNS.md); null where "
                                      "receipt is not in the data (receipt_visible false)", None)
    value_received_annual: OutMoney | None = _f("pounds a year now received by the now_receiving households, "
                                                 "above what they received when the campaign started", None)
    still_missing: OutInt | None = _f("cohort households still in the caseload, not receiving, and still "
                                      "flagged by the check", None)
    value_still_missing_annual: OutMoney | None = _f("pounds a year still missed by the still_missing households "
                                                      "(this run's value of the check; unknown values add nothing)",
                                                      None)
    no_longer_flagged: OutInt | None = _f("cohort households still in the caseload, not receiving, that the check "
                                          "no longer flags (their circumstances or the rules changed)", None)
    left_caseload: OutInt | None = _f("cohort households no longer scored (their claim ended, or it is now a "
                                      "different household)", None)
    receipt_visible: OutFlag = _f("true where the extracts show receipt of this support (pension_credit, ctr, "
                                  "attendance_allowance, hb_pensioner); false where they cannot")
    availability: Availability = _f("'available'; for a district whose data were not complete this run, why its "
                                    "figures are null: 'missing', 'refused' or 'stale'; for the county, "
                                    "'partial' where it covers only the complete districts", "available")
    suppressed: OutFlag = _f("true where any count of the row is hidden by disclosure control (always false in "
                             "a district's own file, whose figures are exact)")


OUTPUT_MODELS: dict[str, type[BaseModel]] = {
    "district_benchmarks": DistrictBenchmarkRow,
    "area_needs": AreaNeedsRow,
    "status_movement": StatusMovementRow,
    "pension_credit_campaign": PensionCreditCampaignRow,
    "quarantine": QuarantineRow,
    "contact_list": ContactListRow,
    "campaigns": CampaignRow,
}


def duckdb_columns(model: type[BaseModel]) -> list[tuple[str, str]]:
    """(column, DuckDB type) of a model, in declaration order; all BI-safe."""
    from schemas.columns import column_specs

    return [(spec.name, KIND_DUCKDB[spec.kind]) for spec in column_specs(model)]


def create_table_sql(table: str, model: type[BaseModel]) -> str:
    """``CREATE OR REPLACE TABLE`` for a model's columns."""
    columns = ", ".join(f'"{name}" {kind}' for name, kind in duckdb_columns(model))
    return f"CREATE OR REPLACE TABLE {table} ({columns})"
