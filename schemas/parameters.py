"""Pydantic model of one tax year's scoring parameters (RULES.md), loaded from a TOML data file.

Every parameter is a :class:`Param`: its value with the unit, the source it comes from, the date
of that source and whether it is an *assumption* (no single official source). No personal data.
Money is in pounds (``Decimal``, exact); shares are fractions (0.10 is 10%).
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from schemas.vocabulary import RecoveryStage

T = TypeVar("T")

Pounds = Annotated[Decimal, Field(ge=0, max_digits=18)]
Share = Annotated[Decimal, Field(gt=0, le=1)]
Factor = Annotated[Decimal, Field(gt=0, le=10)]
EPC_RATINGS = ("A", "B", "C", "D", "E", "F", "G")


class Param(BaseModel, Generic[T]):
    """One parameter: its value, unit, source, date of the source, and whether it is an assumption.

    ``unverified`` marks a figure not confirmed from an official source (TAKEUP.md's **unverified**):
    the run uses it, the manifest lists it, and a council should confirm or replace it.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    value: T
    unit: str = Field(min_length=1)
    source: str = Field(min_length=1)
    date: dt.date
    assumption: bool = False
    unverified: bool = False


class SpaBand(BaseModel):
    """A band of birth dates and the State Pension age it gives (inclusive bounds; None: open).

    With ``monthly_steps`` the age rises by one month for each whole month of birth after
    ``born_from`` (birth months run from ``born_from``'s day of month, e.g. 6th to 5th).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    born_from: dt.date | None = None
    born_to: dt.date | None = None
    years: int = Field(ge=55, le=75)
    months: int = Field(default=0, ge=0, le=11)
    monthly_steps: bool = False


class CtrScheme(BaseModel):
    """A district's working-age Council Tax Reduction scheme for one year (TAKEUP.md 2a).

    ``max_pct`` is the most a household can get off its charge; ``band_pcts`` the scheme's income
    bands, highest first (empty where the bands are not known). Band ceilings are not held: a
    household with no earnings gets ``max_pct``, one with earnings the lowest non-zero band.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    district: str = Field(min_length=1)
    max_pct: Share
    band_pcts: list[Share] = Field(default_factory=list)
    source: str = Field(min_length=1)
    assumption: bool = False
    unverified: bool = False

    @model_validator(mode="after")
    def _bands_fall(self) -> CtrScheme:
        if self.band_pcts and (self.band_pcts != sorted(self.band_pcts, reverse=True)
                               or self.band_pcts[0] != self.max_pct):
            raise ValueError("band_pcts must fall from max_pct (the first band) down")
        return self


LadCode = Annotated[str, Field(pattern=r"^[EWSN]\d{8}$")]
WaterCompany = Literal["southern", "south_east", "affinity"]


def _check_size_factors(factors: dict[int, Decimal]) -> dict[int, Decimal]:
    if sorted(factors) != list(range(1, len(factors) + 1)):
        raise ValueError("size factors need keys 1, 2, ... n (the last one applies to n or more people)")
    return factors


class Parameters(BaseModel):
    """The parameters of one tax year (6 April to 5 April), as RULES.md lists them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tax_year: str = Field(pattern=r"^\d{4}-\d{2}$", description="e.g. '2026-27'")
    starts: dt.date
    ends: dt.date
    overridden: dict[str, Any] = Field(default_factory=dict, description="name -> default value replaced by config")

    # essentials
    food_weekly_per_person: Param[Pounds]
    energy_annual: Param[Pounds]
    energy_size_factors: Param[dict[int, Factor]]
    energy_epc_factors: Param[dict[str, Factor]]
    water_annual: Param[Pounds]
    water_size_factors: Param[dict[int, Factor]]
    other_essentials_weekly_per_adult: Param[Pounds]
    other_essentials_weekly_per_child: Param[Pounds]
    # financial resilience
    resilience_struggling_from: Param[Decimal]
    resilience_coping_from: Param[Decimal]
    resilience_comfortable_from: Param[Decimal]
    crisis_recovery_stages: Param[list[RecoveryStage]]
    # poverty flags
    fuel_poverty_method: Param[Literal["ten_percent", "lilee"]]
    fuel_poverty_share: Param[Share]
    water_poverty_share: Param[Share]
    food_poverty_share: Param[Share]
    # Pension Credit
    pc_guarantee_single: Param[Pounds]
    pc_guarantee_couple: Param[Pounds]
    pc_severe_disability_addition: Param[Pounds]
    pc_carer_addition: Param[Pounds]
    pc_earnings_disregard_single: Param[Pounds]
    pc_earnings_disregard_couple: Param[Pounds]
    pc_capital_disregarded: Param[Pounds]
    pc_tariff_step: Param[Annotated[Decimal, Field(gt=0)]]
    pc_tariff_per_step: Param[Pounds]
    state_pension_age: Param[list[SpaBand]]
    # take-up checks (TAKEUP.md section 2)
    ctr_default_max_pct: Param[Share]
    ctr_schemes: Param[dict[LadCode, CtrScheme]]
    fsm_value_per_child: Param[Pounds]
    fsm_all_uc_from: Param[dt.date]
    fsm_earnings_limit_1ap: Param[Pounds]
    fsm_earnings_limit_2ap: Param[Pounds]
    fsm_earnings_limit_3ap: Param[Pounds]
    healthy_start_weekly: Param[Pounds]
    healthy_start_under_one_weekly: Param[Pounds]
    healthy_start_earnings_limit_monthly: Param[Pounds]
    aa_lower_weekly: Param[Pounds]
    aa_higher_weekly: Param[Pounds]
    aa_sign_age: Param[Annotated[int, Field(ge=60, le=120)]]
    whd_amount: Param[Pounds]
    whd_core_group_2_automatic: Param[bool]
    water_suppliers: Param[dict[str, WaterCompany]]
    water_southern_pc_discount: Param[Share]
    water_southern_bill_share: Param[Share]
    water_southern_capital_limit: Param[Pounds]
    water_south_east_income_limit: Param[Pounds]
    water_affinity_income_limit: Param[Pounds]
    watersure_min_children: Param[Annotated[int, Field(ge=1, le=20)]]
    watersure_cap_annual: Param[Pounds]
    arrears_signal_stages: Param[list[RecoveryStage]]
    arrears_signal_min: Param[Pounds]

    @field_validator("energy_size_factors", "water_size_factors")
    @classmethod
    def _size_factors(cls, param: Param[dict[int, Decimal]]) -> Param[dict[int, Decimal]]:
        _check_size_factors(param.value)
        return param

    @field_validator("energy_epc_factors")
    @classmethod
    def _epc_factors(cls, param: Param[dict[str, Decimal]]) -> Param[dict[str, Decimal]]:
        if sorted(param.value) != list(EPC_RATINGS):
            raise ValueError("energy_epc_factors needs one factor for each rating A to G")
        return param

    @field_validator("water_suppliers")
    @classmethod
    def _water_prefixes(cls, param: Param[dict[str, str]]) -> Param[dict[str, str]]:
        bad = [k for k in param.value if not re.fullmatch(r"[A-Z]{1,2}(\d[A-Z\d]?)?", k)]
        if bad:
            raise ValueError(f"water_suppliers keys must be postcode areas or outward codes (e.g. CT, CT16): {bad}")
        return param

    @field_validator("fuel_poverty_method")
    @classmethod
    def _fuel_method(cls, param: Param[str]) -> Param[str]:
        if param.value == "lilee":
            raise ValueError(
                "fuel_poverty_method 'lilee' is not offered yet: its thresholds must first be sourced from the "
                "Households Below Average Income tables; use 'ten_percent'"
            )
        return param

    @field_validator("state_pension_age")
    @classmethod
    def _spa_schedule(cls, param: Param[list[SpaBand]]) -> Param[list[SpaBand]]:
        bands = param.value
        if not bands or bands[0].born_from is not None or bands[-1].born_to is not None:
            raise ValueError("state_pension_age bands must start and end open (no born_from first, no born_to last)")
        for before, after in zip(bands, bands[1:], strict=False):
            if before.born_to is None or after.born_from is None:
                raise ValueError("state_pension_age: only the first band may omit born_from, only the last born_to")
            if after.born_from != before.born_to + dt.timedelta(days=1):
                raise ValueError(f"state_pension_age bands must be contiguous: gap or overlap at {after.born_from}")
        return param

    @model_validator(mode="after")
    def _ordered(self) -> Parameters:
        if not (self.resilience_struggling_from.value <= self.resilience_coping_from.value
                <= self.resilience_comfortable_from.value):
            raise ValueError("resilience bands must rise: struggling_from <= coping_from <= comfortable_from")
        if self.ends <= self.starts:
            raise ValueError("the tax year must end after it starts")
        return self

    @classmethod
    def parameter_names(cls) -> list[str]:
        """Names of the parameters a run config may override (every field that is a Param)."""
        return [name for name in cls.model_fields if name not in ("tax_year", "starts", "ends", "overridden")]

    @classmethod
    def refuse_unknown(cls, overrides: dict[str, Any], noun: str = "key") -> dict[str, Any]:
        """``overrides`` when every name is a parameter (for a pydantic validator of a ``[parameters]`` table);
        ValueError ``unknown <noun> 'name'`` naming the first unknown one, in sorted order."""
        unknown = sorted(set(overrides) - set(cls.parameter_names()))
        if unknown:
            raise ValueError(f"unknown {noun} {unknown[0]!r}")
        return overrides

    def param(self, name: str) -> Param[Any]:
        """One parameter by name."""
        value = getattr(self, name)
        assert isinstance(value, Param)
        return value

    def manifest(self) -> dict[str, Any]:
        """JSON-able record for the run manifest: values, units, sources, assumption and override flags."""
        entries: dict[str, Any] = {}
        for name in self.parameter_names():
            param = self.param(name)
            entry = param.model_dump(mode="json")
            entry["value"] = _jsonable(param.value)
            entry["overridden"] = name in self.overridden
            if name in self.overridden:
                entry["default"] = _jsonable(self.overridden[name])
            entries[name] = entry
        return {
            "tax_year": self.tax_year,
            "starts": self.starts.isoformat(),
            "ends": self.ends.isoformat(),
            "overridden": sorted(self.overridden),
            "assumptions": self.flagged("assumption"),
            "unverified": self.flagged("unverified"),
            "parameters": entries,
        }

    def flagged(self, flag: Literal["assumption", "unverified"]) -> list[str]:
        """Names of the parameters (and 'ctr_schemes.<LAD>' entries) carrying ``flag``, for the manifest."""
        names = [n for n in self.parameter_names() if getattr(self.param(n), flag)]
        names += [f"ctr_schemes.{lad}" for lad, scheme in sorted(self.ctr_schemes.value.items())
                  if getattr(scheme, flag)]
        return sorted(names)


def _jsonable(value: Any) -> Any:
    """Decimals as JSON numbers (int where whole), dates as ISO strings, models as dicts."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, BaseModel):
        return {k: _jsonable(v) for k, v in value.model_dump().items()}
    if isinstance(value, dt.date):
        return value.isoformat()
    return value
