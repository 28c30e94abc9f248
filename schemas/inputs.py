"""Pydantic models of the input extracts, exactly as DESIGN.md's input contract.

Models of ``benefits``, ``council_tax`` and the optional ``universal_credit`` (TAKEUP.md section 1),
each in its pseudonymised form (what the hub receives) and its raw form (what a district holds
before ``pseudonymise``), and of the optional county files ``epc`` and ``postcode_lookup``. Personal data:
raw models carry names and NINOs and must never be given to ``run``; the pseudonymised
models carry only keyed hashes and name encodings.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, create_model, model_validator

from schemas.columns import (
    Adults,
    Ages,
    BirthDate,
    Count,
    Date,
    Flag,
    LadCode,
    LsoaCode,
    Money,
    NameEncoding,
    PastDate,
    PersonKey,
    Postcode,
    RawIdentifier,
    Ref,
    Text,
    Unique,
    Uprn,
    WardCode,
    money,
)
from schemas.vocabulary import RecoveryStage

Tenure = Literal["council", "housing_association", "private_rented", "owner_occupier", "other"]
Band = Literal["A", "B", "C", "D", "E", "F", "G", "H"]
ExemptionClass = Literal[tuple(chr(c) for c in range(ord("B"), ord("W") + 1))]  # type: ignore[valid-type]

KINDS = ("benefits", "council_tax", "epc", "postcode_lookup", "universal_credit")
EXTRACT_KINDS = ("benefits", "council_tax")  # per-district, dated extracts; the others are optional county files
OPTIONAL_EXTRACT_KINDS = ("universal_credit",)  # per-district, dated, optional: a district without one runs as before
UNIQUE_TOGETHER: dict[str, tuple[str, ...]] = {"universal_credit": ("award_ref", "ap_start")}
"""Columns unique together within one file (single unique columns are marked ``Unique`` in the model)."""
RAW_IDENTIFIER_COLUMNS: dict[str, tuple[str, ...]] = {
    "epc": (),
    "postcode_lookup": (),
    "benefits": ("claimant_nino", "claimant_forename", "claimant_surname",
                 "partner_nino", "partner_forename", "partner_surname"),
    "council_tax": ("liable_nino", "liable_forename", "liable_surname"),
    "universal_credit": ("uc_claim_ref", "claimant_nino", "claimant_forename", "claimant_surname",
                         "partner_nino", "partner_forename", "partner_surname"),
}
# A raw identifier column in any spelling: a header name, lower-cased with everything but letters and digits
# removed, then without one person prefix and trailing digits, that is one of these ("Claimant nino",
# "CLAIMANT_SURNAME", "Liable_NINO", "ni_number", "First Name", "DOB", "partner2_dob"). A column of the
# pseudonymised contract, spelled exactly, is never one (claimant_birth_date is a date, not a raw identifier).
RAW_IDENTIFIER_ALIASES = frozenset({
    "nino", "ninumber", "nationalinsurance", "nationalinsuranceno", "nationalinsurancenumber", "insurancenumber",
    "forename", "forenames", "firstname", "firstnames", "givenname", "givennames", "christianname",
    "middlename", "middlenames", "surname", "lastname", "familyname", "fullname", "dob", "dateofbirth",
})
RAW_IDENTIFIER_PREFIXES = ("claimant", "partner", "liableperson", "liableparty", "liable", "applicant", "customer",
                           "resident", "person", "taxpayer", "main", "second", "joint")


def _header_word(name: str) -> str:
    word = re.sub(r"[^a-z0-9]", "", name.lower())
    for prefix in RAW_IDENTIFIER_PREFIXES:
        if word.startswith(prefix) and len(word) > len(prefix):
            word = word[len(prefix):]
            break
    return word.lstrip("0123456789").rstrip("0123456789") or word


def raw_identifier_headers(kind: str, header: list[str]) -> list[str]:
    """The header names of a pseudonymised ``kind`` extract that hold raw names, NINOs or birth dates in any
    spelling (empty for the county files, which hold no people). Personal data: reads names, never values."""
    if not RAW_IDENTIFIER_COLUMNS.get(kind):
        return []
    known = set(model_for(kind).model_fields)
    raw = set(RAW_IDENTIFIER_COLUMNS[kind])  # exact raw names (uc_claim_ref) and any spelling of a person's identifiers
    return [h for h in header if h in raw or (h not in known and _header_word(h) in RAW_IDENTIFIER_ALIASES)]


class InputRow(BaseModel):
    """Base of every input row: empty text means missing, unknown columns are refused."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @model_validator(mode="before")
    @classmethod
    def _empty_is_missing(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if not (isinstance(v, str) and v.strip() == "")}
        return data


class BenefitsCheck(InputRow):
    """Cross-column rule of a benefits row: one child age per child."""

    @model_validator(mode="after")
    def _ages_match_children(self) -> BenefitsCheck:
        ages = getattr(self, "child_ages", None)
        if ages is not None and len(ages) != getattr(self, "children", len(ages)):
            raise ValueError("child_ages must give one age per child")
        return self


def _f(annotation: Any, default: Any = ..., description: str = "") -> tuple[Any, Any]:
    return (annotation, Field(default, description=description))


def _person(prefix: str, raw: bool, required_birth: bool, who: str) -> dict[str, tuple[Any, Any]]:
    birth = _f(BirthDate, description=f"{who}'s date of birth") if required_birth else _f(
        Optional[BirthDate], None, f"{who}'s date of birth")
    if raw:
        return {
            f"{prefix}_nino": _f(Optional[RawIdentifier], None, f"{who}'s National Insurance number (raw)"),
            f"{prefix}_forename": _f(Optional[RawIdentifier], None, f"{who}'s forename (raw)"),
            f"{prefix}_surname": _f(Optional[RawIdentifier], None, f"{who}'s surname (raw)"),
            f"{prefix}_birth_date": birth,
        }
    return {
        f"{prefix}_key": _f(Optional[PersonKey], None, f"keyed HMAC-SHA256 of {who}'s NINO"),
        f"{prefix}_name": _f(Optional[NameEncoding], None, f"{who}'s name encoding from pseudonymise"),
        f"{prefix}_birth_date": birth,
    }


def _address(optional_postcode: bool = False) -> dict[str, tuple[Any, Any]]:
    """Address columns. ``optional_postcode``: a missing postcode is missing evidence, not a reason to refuse
    the row (benefits claims, DESIGN.md C19: a household with no postcode on file is still a household)."""
    postcode = (_f(Optional[Postcode], None, "UK postcode, stored as 'OUT IN' upper case; may be missing (the "
                   "claim is still linked on its other fields and counted under the 'unknown' area)")
                if optional_postcode else _f(Postcode, description="UK postcode, stored as 'OUT IN' upper case"))
    return {
        "address_line_1": _f(Text, description="first line of the address"),
        "address_line_2": _f(Optional[Text], None, "second line of the address"),
        "town": _f(Optional[Text], None, "town"),
        "postcode": postcode,
    }


def _benefits_fields(raw: bool) -> dict[str, tuple[Any, Any]]:
    per_week = "weekly, pounds"
    return {
        "claim_ref": _f(Ref, description="the district's claim reference, unique in the file"),
        "uprn": _f(Optional[Uprn], None, "Unique Property Reference Number"),
        **_address(optional_postcode=True),
        **_person("claimant", raw, True, "the claimant"),
        **_person("partner", raw, False, "the partner"),
        "adults": _f(Adults, description="adults in the claim household (claimant and partner)"),
        "children": _f(Count, description="dependent children"),
        "child_ages": _f(Optional[Ages], None, "ages of the children, ';'-separated, one per child"),
        "non_dependants": _f(Count, 0, "non-dependants living in the household"),
        "tenure": _f(Tenure, description="tenure of the home"),
        # Bounds: far above any real household (so a real value is never refused) and far below what
        # scoring's DECIMAL(18,2) arithmetic holds (schemas/columns.py MONEY_BOUND); a value beyond its
        # bound is a typing slip, a yearly figure in a weekly column, or an attack, and the row is quarantined.
        "rent_weekly": _f(money(5_000), description=f"contractual rent, {per_week}; 0 for owners; at most 5,000 "
                          "(supported and temporary housing rarely passes 1,500 a week)"),
        "council_tax_weekly": _f(money(1_000), description=f"council tax liability, {per_week}; at most 1,000 "
                                 "(band H with the largest premium is about 600 a week)"),
        "hb_weekly": _f(money(5_000), description=f"Housing Benefit, {per_week}; at most 5,000 (never above the rent)"),
        "ctr_weekly": _f(money(1_000), description=f"Council Tax Reduction, {per_week}; at most 1,000 "
                         "(never above the council tax)"),
        "uc_monthly": _f(money(20_000), description="Universal Credit award, monthly, pounds; at most 20,000 "
                         "(the largest awards, housing included, are a few thousand a month)"),
        "earnings_weekly": _f(money(100_000), description=f"net earnings, {per_week}; at most 100,000 "
                              "(over 5 million a year)"),
        "state_pension_weekly": _f(money(2_000), description=f"State Pension, {per_week}; at most 2,000 "
                                   "(the full new State Pension is about 230 a week, deferral included)"),
        "private_pension_weekly": _f(money(100_000), description=f"private and occupational pensions, {per_week}; "
                                     "at most 100,000"),
        "pension_credit_weekly": _f(money(2_000), description=f"Pension Credit in payment, {per_week}; at most 2,000 "
                                    "(the couple guarantee with every addition is under 700 a week)"),
        "disability_benefit_weekly": _f(money(2_000), description=f"Attendance Allowance, DLA, PIP, {per_week}; "
                                        "at most 2,000 (the top rates for two people are under 500 a week)"),
        "carers_allowance_weekly": _f(money(2_000), description=f"Carer's Allowance, {per_week}; at most 2,000 "
                                      "(about 80 a week a carer)"),
        "child_benefit_weekly": _f(money(2_000), description=f"Child Benefit, {per_week}; at most 2,000 "
                                   "(ten children are under 200 a week)"),
        "other_income_weekly": _f(money(100_000), description=f"other income, {per_week}; at most 100,000"),
        "capital": _f(money(100_000_000), description="savings and capital, pounds; at most 100 million"),
        "severe_disability": _f(Flag, False, "qualifies for the severe disability addition"),
        "carer": _f(Flag, False, "qualifies for the carer addition"),
        "claim_start_date": _f(Optional[PastDate], None, "date the claim started; not after the as-of date"),
    }


def _council_tax_fields(raw: bool) -> dict[str, tuple[Any, Any]]:
    return {
        "account_ref": _f(Ref, description="the district's council-tax account reference, unique in the file"),
        "uprn": _f(Optional[Uprn], None, "Unique Property Reference Number"),
        **_address(),
        **_person("liable", raw, False, "the liable person"),
        "band": _f(Band, description="council-tax valuation band"),
        "annual_charge": _f(money(100_000), description="annual charge after discounts and exemptions, before "
                            "CTR, pounds; at most 100,000 (band H with the largest premium is about 30,000)"),
        "single_person_discount": _f(Flag, False, "single person discount applies"),
        "disabled_band_reduction": _f(Flag, False, "disabled band reduction applies"),
        "exemption_class": _f(Optional[ExemptionClass], None, "exemption class letter B..W"),
        "ctr_annual": _f(money(100_000), description="Council Tax Reduction, annual, pounds; at most 100,000 "
                         "(never above the charge)"),
        "arrears": _f(money(1_000_000), description="arrears owed, pounds; at most 1 million (years of band H "
                      "with costs are under 300,000)"),
        "recovery_stage": _f(RecoveryStage, description="furthest recovery stage reached"),
        "liability_start_date": _f(Optional[Date], None, "date the liability started"),
    }


Benefits: type[InputRow] = create_model(  # type: ignore[call-overload]
    "Benefits", __base__=BenefitsCheck, __doc__="A pseudonymised benefits claim row.", **_benefits_fields(raw=False))
BenefitsRaw: type[InputRow] = create_model(  # type: ignore[call-overload]
    "BenefitsRaw", __base__=BenefitsCheck, __doc__="A raw benefits claim row (district only).",
    **_benefits_fields(raw=True))
CouncilTax: type[InputRow] = create_model(  # type: ignore[call-overload]
    "CouncilTax", __base__=InputRow, __doc__="A pseudonymised council-tax account row.",
    **_council_tax_fields(raw=False))
CouncilTaxRaw: type[InputRow] = create_model(  # type: ignore[call-overload]
    "CouncilTaxRaw", __base__=InputRow, __doc__="A raw council-tax account row (district only).",
    **_council_tax_fields(raw=True))

class UniversalCreditCheck(BenefitsCheck):
    """Cross-column rules of a Universal Credit row: one child age per child, 1 or 2 adults, AP in order."""

    @model_validator(mode="after")
    def _award_rules(self) -> UniversalCreditCheck:
        if getattr(self, "adults", 1) > 2:
            raise ValueError("adults must be 1 or 2 on a Universal Credit award")
        start, end = getattr(self, "ap_start", None), getattr(self, "ap_end", None)
        if start is not None and end is not None and end < start:
            raise ValueError("ap_end must not be before ap_start")
        return self


def _universal_credit_fields(raw: bool) -> dict[str, tuple[Any, Any]]:
    money = "monthly, pounds"
    claimant = _person("claimant", raw, True, "the claimant")
    if raw:
        award = {"uc_claim_ref": _f(RawIdentifier, description="DWP's Universal Credit claim reference (raw)")}
        claimant["claimant_nino"] = _f(RawIdentifier, description="the claimant's National Insurance number (raw)")
    else:
        award = {"award_ref": _f(PersonKey, description="keyed hash of the UC claim reference; unique with ap_start")}
        claimant["claimant_key"] = _f(PersonKey, description="keyed HMAC-SHA256 of the claimant's NINO")
    return {
        **award,
        "notification_type": _f(Literal["new_claim", "change", "termination"],
                                description="DWP notification: new_claim, change or termination"),
        "ap_start": _f(Date, description="first day of the assessment period"),
        "ap_end": _f(Date, description="last day of the assessment period (not before ap_start)"),
        "uprn": _f(Optional[Uprn], None, "Unique Property Reference Number"),
        **_address(),
        **claimant,
        **_person("partner", raw, False, "the partner"),
        "adults": _f(Adults, description="adults on the award: 1 or 2"),
        "children": _f(Count, description="children on the award"),
        "child_ages": _f(Optional[Ages], None, "ages of the children on ap_end, ';'-separated, one per child"),
        "standard_allowance": _f(Money, description=f"standard allowance, {money}"),
        "child_element": _f(Money, Decimal(0), f"child element for all children, {money}"),
        "disabled_child_element": _f(Money, Decimal(0), f"disabled child element for all children, {money}"),
        "lcwra_element": _f(Money, Decimal(0), f"limited capability for work-related activity element, {money}"),
        "carer_element": _f(Money, Decimal(0), f"carer element, {money}"),
        "childcare_element": _f(Money, Decimal(0), f"childcare costs element, {money}"),
        "housing_element": _f(Money, Decimal(0), f"housing costs element, {money}"),
        "earnings_monthly": _f(Money, description="take-home pay (earned income after tax, NI and pension "
                                                  "contributions) of claimant and partner in the AP, pounds"),
        "other_income_monthly": _f(Money, Decimal(0), f"unearned income UC deducts, {money}"),
        "capital": _f(Money, Decimal(0), "savings and capital, pounds"),
        "benefit_cap_monthly": _f(Money, Decimal(0), f"benefit cap reduction applied, {money}"),
        "sanction_monthly": _f(Money, Decimal(0), f"sanction reduction applied, {money}"),
        "award_monthly": _f(Money, description="entitlement after income, cap and sanction, before deductions, "
                                               f"{money}; 0 is a nil award"),
        "deductions_monthly": _f(Money, Decimal(0), f"all deductions (advances, third parties), {money}"),
        "council_tax_deduction_monthly": _f(Money, Decimal(0), f"third-party deduction for council-tax arrears, "
                                                                f"{money}"),
    }


UniversalCredit: type[InputRow] = create_model(  # type: ignore[call-overload]
    "UniversalCredit", __base__=UniversalCreditCheck,
    __doc__="A pseudonymised Universal Credit award row: one award's assessment period (TAKEUP.md section 1).",
    **_universal_credit_fields(raw=False))
UniversalCreditRaw: type[InputRow] = create_model(  # type: ignore[call-overload]
    "UniversalCreditRaw", __base__=UniversalCreditCheck,
    __doc__="A raw Universal Credit award row (district only).", **_universal_credit_fields(raw=True))

EnergyRating = Literal["A", "B", "C", "D", "E", "F", "G"]
Epc: type[InputRow] = create_model(  # type: ignore[call-overload]
    "Epc", __base__=InputRow, __doc__="Optional landing/epc.csv: a property's current EPC rating.",
    uprn=_f(Annotated[Uprn, Unique()], description="Unique Property Reference Number, unique in the file"),
    current_energy_rating=_f(EnergyRating, description="current energy efficiency rating, A (best) to G"),
)
PostcodeLookup: type[InputRow] = create_model(  # type: ignore[call-overload]
    "PostcodeLookup", __base__=InputRow, __doc__="Optional landing/postcode_lookup.csv: areas of each postcode.",
    postcode=_f(Annotated[Postcode, Unique()], description="UK postcode, unique in the file"),
    lsoa21cd=_f(Optional[LsoaCode], None, "2021 Lower layer Super Output Area code, e.g. E01024031"),
    ward_code=_f(Optional[WardCode], None, "electoral ward code, e.g. E05005004"),
    lad_code=_f(Optional[LadCode], None, "local authority district code, e.g. E07000105"),
)

MODELS: dict[tuple[str, bool], type[InputRow]] = {
    ("epc", False): Epc,
    ("postcode_lookup", False): PostcodeLookup,
    ("benefits", False): Benefits,
    ("benefits", True): BenefitsRaw,
    ("council_tax", False): CouncilTax,
    ("council_tax", True): CouncilTaxRaw,
    ("universal_credit", False): UniversalCredit,
    ("universal_credit", True): UniversalCreditRaw,
}


def model_for(kind: str, raw: bool = False) -> type[InputRow]:
    """The pydantic model of an extract kind, pseudonymised (default) or raw."""
    if kind not in KINDS:
        raise ValueError(f"unknown extract kind {kind!r}: expected one of {', '.join(KINDS)}")
    if (kind, raw) not in MODELS:
        raise ValueError(f"{kind} has no raw form")
    return MODELS[(kind, raw)]
