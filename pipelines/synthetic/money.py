"""Synthetic households and their money for the sample generator: composition, incomes, benefits, council tax.

All amounts are weekly pounds unless the name says monthly or annual. Rates are approximate
2026/27 figures (Pension Credit ones from domain/RULES.md; Universal Credit, disability and
carer rates uprated estimates): good enough to make consistent synthetic claims, never to
assess anyone. Personal data: only synthetic :class:`Person` records flow through here.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

from pipelines.synthetic.people import Person, Weighted
from schemas.vocabulary import RECOVERY_STAGES

HOUSEHOLD_TYPES = ("single_pensioner", "pensioner_couple", "mixed_age_couple", "single_adult",
                   "couple_no_children", "lone_parent", "couple_with_children")
PENSIONER_TYPES = ("single_pensioner", "pensioner_couple")
COUPLE_TYPES = ("pensioner_couple", "mixed_age_couple", "couple_no_children", "couple_with_children")
# Household type mix of the claim caseload, by dwelling kind (flats hold more single people).
TYPE_WEIGHTS_FLAT = (30, 5, 2, 35, 6, 17, 5)
TYPE_WEIGHTS_HOUSE = (20, 12, 4, 13, 6, 22, 23)

PC_GUARANTEE_SINGLE, PC_GUARANTEE_COUPLE = 238.00, 363.25  # RULES.md 2026/27
PC_SEVERE_DISABILITY, PC_CARER = 86.05, 48.15
PC_TAKEUP = 0.64  # share of entitled-looking pensioner households that do receive Pension Credit
UC_SINGLE_UNDER_25, UC_SINGLE, UC_COUPLE = 338.58, 424.90, 666.97  # monthly
UC_CHILD, UC_LCWRA, UC_CARER, UC_NON_DEP = 303.94, 429.80, 209.34, 95.00  # monthly
UC_WORK_ALLOWANCE_HOUSING, UC_WORK_ALLOWANCE, UC_TAPER = 427.00, 711.00, 0.55
AA_LOW, AA_HIGH = 76.70, 114.60  # Attendance Allowance; also PIP daily living standard/enhanced
PIP_MOBILITY_LOW, PIP_MOBILITY_HIGH = 30.30, 80.00
CARERS_ALLOWANCE = 86.45
CHILD_BENEFIT_FIRST, CHILD_BENEFIT_OTHER = 26.05, 17.25
HB_TAPER, CTR_TAPER = 0.65, 0.20
LHA_WEEKLY = {0: 97.00, 1: 172.60, 2: 218.63, 3: 264.66, 4: 339.45}  # Kent-ish Local Housing Allowance
RENT_RANGES = {  # weekly rent ranges by bedrooms
    "council": {1: (92, 108), 2: (105, 122), 3: (118, 138), 4: (130, 150)},
    "housing_association": {1: (102, 122), 2: (118, 138), 3: (132, 155), 4: (145, 170)},
    "private_rented": {1: (160, 230), 2: (200, 285), 3: (240, 345), 4: (300, 440)},
}
BAND_RATIOS = {"A": 6 / 9, "B": 7 / 9, "C": 8 / 9, "D": 1.0, "E": 11 / 9, "F": 13 / 9, "G": 15 / 9, "H": 18 / 9}
SINGLE_PERSON_DISCOUNT = 0.25
_STAGES_IN_ARREARS = Weighted(RECOVERY_STAGES, (28, 30, 16, 11, 8, 4, 3))
# Essentials of RULES.md 2026/27 (weekly food per person, annual energy and water).
FOOD, ENERGY, WATER, OTHER_ADULT, OTHER_CHILD = 33.00, 1641.0, 639.0, 35.0, 20.0
_ENERGY_SIZE = {1: 0.70, 2: 0.90, 3: 1.00, 4: 1.10}
_WATER_SIZE = {1: 0.75, 2: 1.00}


@dataclass(slots=True)
class Household:
    """A claim household's people and its income that does not depend on where it lives."""

    household_id: str
    kind: str  # one of HOUSEHOLD_TYPES
    claimant: Person
    partner: Person | None
    child_ages: list[int]
    non_dependants: int
    earnings: float = 0.0
    state_pension: float = 0.0
    private_pension: float = 0.0
    pension_credit: float = 0.0
    disability: float = 0.0
    carers_allowance: float = 0.0
    child_benefit: float = 0.0
    other_income: float = 0.0
    capital: float = 0.0
    severe_disability: bool = False
    carer: bool = False
    lcwra: bool = False
    liable_is_partner: bool = False
    pc_entitled: bool = False
    pc_value_annual: float = 0.0  # what RULES.md says is missed (0 unless entitled and not receiving)

    @property
    def adults(self) -> int:
        return 2 if self.partner else 1

    @property
    def pensioner(self) -> bool:
        return self.kind in PENSIONER_TYPES


@dataclass(slots=True)
class Claim:
    """A household placed in a dwelling: housing costs, council tax and the benefits that follow."""

    household: Household
    tenure: str
    rent: float
    council_tax_weekly: float
    annual_charge: float
    single_person_discount: bool
    disabled_band_reduction: bool
    hb: float = 0.0
    ctr: float = 0.0
    uc_monthly: float = 0.0
    on_uc: bool = False
    claim_start: dt.date = dt.date(2020, 1, 1)
    extras: dict[str, str] = field(default_factory=dict)


def annual_charge(band_d: float, band: str, single_person: bool, disabled_reduction: bool) -> float:
    """Council tax a year for a band, after the single person discount and disabled band reduction."""
    ratio = BAND_RATIOS[band]
    if disabled_reduction:
        ratio = 5 / 9 if band == "A" else BAND_RATIOS["ABCDEFGH"["ABCDEFGH".index(band) - 1]]
    return round(band_d * ratio * (1 - SINGLE_PERSON_DISCOUNT * single_person), 2)


def pension_credit_terms(h: Household) -> tuple[float, float]:
    """(income for Pension Credit, appropriate minimum guarantee), weekly, as RULES.md."""
    disregard = 10.0 if h.partner else 5.0
    excess_capital = max(h.capital - 10_000, 0.0)
    tariff = float(-(-excess_capital // 500)) if excess_capital > 0 else 0.0
    income = (max(h.earnings - disregard, 0.0) + h.state_pension + h.private_pension + h.carers_allowance
              + h.other_income + tariff)
    guarantee = (PC_GUARANTEE_COUPLE if h.partner else PC_GUARANTEE_SINGLE) + PC_SEVERE_DISABILITY * \
        h.severe_disability + PC_CARER * h.carer
    return income, guarantee


def make_household(rng: random.Random, household_id: str, kind: str, claimant: Person, partner: Person | None,
                   child_ages: list[int], as_of: dt.date) -> Household:
    """Draw the incomes of a household of a given type, consistent with its people."""
    h = Household(household_id, kind, claimant, partner, child_ages, 0)
    if kind not in ("single_adult",) or rng.random() < 0.5:
        r = rng.random()
        h.non_dependants = 1 if r < 0.07 else 2 if r < 0.085 else 0
    if child_ages:
        h.child_benefit = CHILD_BENEFIT_FIRST + CHILD_BENEFIT_OTHER * (len(child_ages) - 1)
    if rng.random() < 0.08:
        h.other_income = round(rng.uniform(10, 60), 2)
    if kind in PENSIONER_TYPES or kind == "mixed_age_couple":
        _pensioner_income(rng, h)
    if kind not in PENSIONER_TYPES:
        _working_age_income(rng, h)
    if kind in PENSIONER_TYPES:
        income, guarantee = pension_credit_terms(h)
        h.pc_entitled = income < guarantee
        if h.pc_entitled and rng.random() < PC_TAKEUP:
            h.pension_credit = round(guarantee - income, 2)
        elif h.pc_entitled:
            h.pc_value_annual = round((guarantee - income) * 52, 2)
    return h


def _pensioner_income(rng: random.Random, h: Household) -> None:
    pensioners = [h.claimant] if h.kind == "mixed_age_couple" else [p for p in (h.claimant, h.partner) if p]
    if h.kind == "mixed_age_couple" and h.partner and h.partner.birth_date < h.claimant.birth_date:
        pensioners = [h.partner]
    for i, _ in enumerate(pensioners):
        if i == 1 and rng.random() < 0.25:
            h.state_pension += rng.uniform(110, 180)  # a reduced record (older women's basic pension)
        elif rng.random() < 0.55:
            h.state_pension += rng.uniform(190, 241.30)  # new State Pension
        else:
            h.state_pension += rng.uniform(176, 230)  # basic plus additional State Pension
        if rng.random() < (0.55 if i == 0 else 0.35):
            h.private_pension += min(rng.lognormvariate(3.4, 0.8), 200.0)
        if rng.random() < (0.22 if i == 0 else 0.15):
            h.disability += AA_HIGH if rng.random() < 0.4 else AA_LOW
    h.state_pension, h.private_pension = round(h.state_pension, 2), round(h.private_pension, 2)
    r = rng.random()
    h.capital = round(rng.uniform(0, 3000) if r < 0.62 else rng.uniform(3000, 10_000) if r < 0.86
                      else rng.uniform(10_000, 20_000), 2)
    if h.kind in PENSIONER_TYPES:
        h.carer = rng.random() < 0.05
        if h.disability and h.non_dependants == 0 and not h.carer and (h.partner is None or rng.random() < 0.2):
            h.severe_disability = rng.random() < 0.55
        if rng.random() < 0.04:
            h.earnings = round(rng.uniform(20, 120), 2)


def _working_age_income(rng: random.Random, h: Household) -> None:
    kind = h.kind
    if kind == "single_adult" and rng.random() < 0.45:
        h.earnings = rng.uniform(110, 420)
    elif kind == "couple_no_children" and rng.random() < 0.55:
        h.earnings = rng.uniform(150, 450)
    elif kind == "lone_parent" and rng.random() < 0.50:
        h.earnings = rng.uniform(90, 360)
    elif kind == "couple_with_children":
        r = rng.random()
        h.earnings = rng.uniform(180, 500) if r < 0.55 else 0.0
        if r < 0.12:
            h.earnings += rng.uniform(80, 300)
    elif kind == "mixed_age_couple" and rng.random() < 0.50:
        h.earnings = rng.uniform(120, 400)
    h.earnings = round(h.earnings, 2)
    if rng.random() < 0.30:
        h.disability += _pip(rng)
        h.lcwra = rng.random() < 0.7
    elif rng.random() < 0.10:
        h.lcwra = True
    if h.partner and rng.random() < 0.15:
        h.disability += _pip(rng)
    h.disability = round(h.disability, 2)
    if rng.random() < 0.06:
        h.carer, h.carers_allowance = True, CARERS_ALLOWANCE
    if kind != "mixed_age_couple":
        r = rng.random()
        h.capital = round(rng.uniform(0, 1000) if r < 0.8 else rng.uniform(1000, 6000) if r < 0.95
                          else rng.uniform(6000, 16_000), 2)


def _pip(rng: random.Random) -> float:
    r, m = rng.random(), rng.random()
    daily = AA_LOW if r < 0.5 else AA_HIGH if r < 0.85 else 0.0
    mobility = 0.0 if m < 0.4 else PIP_MOBILITY_LOW if m < 0.75 else PIP_MOBILITY_HIGH
    return daily + mobility or AA_LOW


def bedrooms(h: Household) -> int:
    """Bedrooms the household needs (a simplified size criteria), 0 for a single renter under 35."""
    kids = len(h.child_ages)
    need = 1 + (0 if kids == 0 else 1 if kids <= 2 else 2 if kids <= 4 else 3) + h.non_dependants
    return min(need, 4)


def place(rng: random.Random, h: Household, band_d: float, band: str, stock_transfer: bool,
          ctr_max_share: float, as_of: dt.date) -> Claim:
    """Put a household in a dwelling of a band: tenure, rent, council tax, then HB, UC and CTR."""
    r = rng.random()
    if h.kind in PENSIONER_TYPES:
        tenure = ("owner_occupier" if r < 0.32 else "council" if r < 0.57 else "housing_association" if r < 0.82
                  else "private_rented" if r < 0.98 else "other")
    else:
        tenure = ("owner_occupier" if r < 0.07 else "council" if r < 0.32 else "housing_association" if r < 0.62
                  else "private_rented" if r < 0.98 else "other")
    if tenure == "council" and stock_transfer:
        tenure = "housing_association"
    rooms = bedrooms(h)
    rent = round(rng.uniform(*RENT_RANGES[tenure][rooms]), 2) if tenure in RENT_RANGES else (
        round(rng.uniform(0, 80), 2) if tenure == "other" else 0.0)
    single = h.adults == 1 and h.non_dependants == 0
    disabled = rng.random() < 0.02
    charge = annual_charge(band_d, band, single, disabled)
    claim = Claim(h, tenure, rent, round(charge / 52, 2), charge, single, disabled)
    lha = LHA_WEEKLY[0 if (rooms == 1 and h.adults == 1 and _age(h.claimant, as_of) < 35) else rooms]
    eligible_rent = min(rent, lha) if tenure == "private_rented" else rent
    if h.kind in PENSIONER_TYPES:
        _pensioner_support(claim, eligible_rent)
    else:
        _working_age_support(rng, claim, eligible_rent, ctr_max_share, as_of)
    return claim


def _age(p: Person, as_of: dt.date) -> int:
    return as_of.year - p.birth_date.year - ((as_of.month, as_of.day) < (p.birth_date.month, p.birth_date.day))


def _pensioner_support(claim: Claim, eligible_rent: float) -> None:
    h = claim.household
    income, guarantee = pension_credit_terms(h)
    excess = 0.0 if h.pension_credit else max(income - guarantee, 0.0)
    claim.hb = round(max(eligible_rent - HB_TAPER * excess, 0.0), 2) if claim.rent > 0 else 0.0
    claim.ctr = round(max(claim.council_tax_weekly - CTR_TAPER * max(excess - eligible_rent / HB_TAPER, 0.0),
                          0.0), 2)
    if claim.hb == 0 and claim.ctr == 0:  # keep every caseload row a live claim: a minimum award
        claim.ctr = round(min(claim.council_tax_weekly, 1.0), 2)


def _working_age_support(rng: random.Random, claim: Claim, eligible_rent: float, ctr_max_share: float,
                         as_of: dt.date) -> None:
    h = claim.household
    legacy_hb = claim.tenure not in ("owner_occupier", "other") and rng.random() < 0.05
    if legacy_hb:
        claim.hb = round(max(eligible_rent - 15.0 * h.non_dependants, 0.0), 2)
    housing = 0.0 if legacy_hb or claim.tenure == "owner_occupier" else eligible_rent * 52 / 12
    housing = max(housing - UC_NON_DEP * h.non_dependants, 0.0)
    young = _age(h.claimant, as_of) < 25 and (h.partner is None or _age(h.partner, as_of) < 25)
    standard = UC_COUPLE if h.partner else (UC_SINGLE_UNDER_25 if young else UC_SINGLE)
    maximum = (standard + UC_CHILD * len(h.child_ages) + UC_LCWRA * h.lcwra + UC_CARER * h.carer + housing)
    allowance = (UC_WORK_ALLOWANCE_HOUSING if housing else UC_WORK_ALLOWANCE) if (h.child_ages or h.lcwra) else 0
    unearned = (h.carers_allowance + h.state_pension + h.private_pension + h.other_income) * 52 / 12
    tariff = max(h.capital - 6000, 0) // 250 * 4.35
    for _ in range(8):
        award = maximum - UC_TAPER * max(h.earnings * 52 / 12 - allowance, 0) - unearned - tariff
        if award >= 30 or h.earnings == 0 or h.kind == "mixed_age_couple":
            break
        h.earnings = round(h.earnings * 0.7, 2)  # too well off to be a claimant: earn less
    claim.uc_monthly = round(max(award, 0.0), 2)
    claim.on_uc = claim.uc_monthly > 0
    excess = max(h.earnings - 100.0, 0.0)
    claim.ctr = round(claim.council_tax_weekly * ctr_max_share * max(0.1, 1 - excess / 600), 2)


def claim_start(rng: random.Random, h: Household, as_of: dt.date) -> dt.date:
    """When the claim started: pensioners' claims can be old, working-age ones date from UC."""
    earliest = dt.date(2008, 4, 1) if h.pensioner else dt.date(2016, 1, 1)
    return earliest + dt.timedelta(days=rng.randint(0, (as_of - earliest).days - 30))


def arrears_and_stage(rng: random.Random, p_arrears: float) -> tuple[float, str]:
    """Council-tax arrears (pounds) and the recovery stage reached; stages only with arrears."""
    if rng.random() >= p_arrears:
        return 0.0, "none"
    arrears = round(min(rng.lognormvariate(5.8, 0.9), 4000.0) + 5, 2)
    return arrears, _STAGES_IN_ARREARS.pick(rng)


def cashflow_monthly(c: Claim) -> float:
    """Monthly cashflow under RULES.md 2026/27 (no EPC known), as the claim row alone says."""
    h = c.household
    weekly = (h.earnings + c.hb + h.state_pension + h.private_pension + h.pension_credit + h.disability
              + h.carers_allowance + h.child_benefit + h.other_income)
    income = weekly * 52 / 12 + c.uc_monthly
    people = h.adults + len(h.child_ages)
    energy = ENERGY * (_ENERGY_SIZE.get(people, 1.25)) / 12
    water = WATER * _WATER_SIZE.get(people, 1.15) / 12
    essentials = (FOOD * people + OTHER_ADULT * h.adults + OTHER_CHILD * len(h.child_ages)) * 52 / 12
    council_tax = max(c.council_tax_weekly - c.ctr, 0) * 52 / 12
    return income - c.rent * 52 / 12 - council_tax - essentials - energy - water
