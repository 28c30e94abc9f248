"""Universal Credit extracts of the synthetic sample (TAKEUP.md section 1), and the households the take-up checks need.

Drawn from a random stream of its own (``{seed}/{lad}/universal_credit``), after every other record of the
district, so that the benefits, council-tax, EPC and postcode files keep their bytes (one exception below).

**Share of the caseload.** :data:`UC_SHARE` of a district's dwellings hold a live UC award: about one
household in six. GB had about 5 million households on Universal Credit in 2025 (DWP's UC statistics,
around 7 to 8 million people) among about 28.5 million households, 17-18%; Kent's claimant share is close
to England's. These are approximate, rounded figures (not checked against Stat-Xplore for this sample).
Every benefits claim with UC (``uc_monthly`` > 0, about 11% of dwellings) gets its award (``source`` both);
the rest are households on UC with no Housing Benefit or Council Tax Reduction claim (UC-only: about 5% of
dwellings, the households TAKEUP.md 2a is for). A UC-only household lives at a billed dwelling without a
claim whose liable person is of working age: that person is the claimant (same name, birth date and
NINO), so the account, which shows no Council Tax Reduction, is theirs.

**Assessment periods.** Each award has its latest AP ending on or before the extract date and, unless it
is a new claim (:data:`NEW_CLAIM_RATE`: one or two APs, the first a ``new_claim``), the two before it.
:data:`TERMINATION_RATE` of UC-only awards end with a ``termination`` (no longer a household); some UC-only
awards are nil (earnings above the award).

**Noise.** ``uc_nino_mistyped`` (a :class:`NoiseRates` rate, per award): every NINO on the award has two
adjacent digits swapped, so its person keys join no claim: the scorer's probabilistic fallback must join
it. DWP's own data carry the address and UPRN of the dwelling, written canonically.

**The one change to the other files.** :data:`HB_GAP_RATE` of pensioner claims that receive Pension Credit
and rent get no Housing Benefit (TAKEUP.md 2g, which no claim showed before: the generator always paid
it). Their ``hb_weekly`` is 0 in the benefits file and their cashflow in ``claims.csv`` follows; nothing
else changes (the accounts are drawn before). Personal data: synthetic people only; raw names and NINOs
go into the rows returned here, never into the truth.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

from pipelines.synthetic.money import (
    RENT_RANGES,
    UC_CARER,
    UC_CHILD,
    UC_COUPLE,
    UC_LCWRA,
    UC_SINGLE,
    UC_SINGLE_UNDER_25,
    UC_TAPER,
    UC_WORK_ALLOWANCE,
    UC_WORK_ALLOWANCE_HOUSING,
    Claim,
)
from pipelines.synthetic.people import NinoMaker, Person, born_between, new_person
from pipelines.synthetic.places import Dwelling
from pipelines.synthetic.records import Account

UC_SHARE = 0.16  # dwellings with a live UC award (see the module docstring)
NEW_CLAIM_RATE = 0.10  # awards with one or two APs, the first a new claim
TERMINATION_RATE = 0.02  # UC-only awards whose latest AP is a termination
HB_GAP_RATE = 0.12  # renting pensioner claims on Pension Credit with no Housing Benefit (judgement: enough to show 2g)
PERSON_BASE = 8_000_000  # person numbers of UC-only partners start here, per district
CT_DEDUCTION_STAGES = ("liability_order", "enforcement_agent", "attachment")
CT_DEDUCTION_MAX = 21.25  # a month: about 5% of the standard allowance, the usual third-party rate


@dataclass
class Award:
    """One UC award: its people, dwelling, assessment periods and monthly money (pounds)."""

    uc_claim_ref: str
    dwelling: Dwelling
    claimant: Person
    partner: Person | None
    child_ages: list[int]
    household_id: str
    claim_ref: str  # the benefits claim it belongs to ('' for a UC-only household)
    account_ref: str  # the dwelling's council-tax account ('' if none)
    money: dict[str, float]
    earnings: list[float]  # take-home pay of each AP, oldest first
    ap_starts: list[dt.date]
    notifications: list[str]
    noise: str = ""
    extras: dict[str, str] = field(default_factory=dict)

    @property
    def live(self) -> bool:
        """Whether the scorer sees the award on the extract date (its latest AP is no termination)."""
        return self.notifications[-1] != "termination"


def _plus_month(day: dt.date, months: int = 1) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, day.day)  # day <= 28 here


def ap_end(start: dt.date) -> dt.date:
    """The last day of the AP starting on ``start`` (a calendar month less a day)."""
    return _plus_month(start) - dt.timedelta(days=1)


def _ap_starts(rng: random.Random, count: int, as_of: dt.date) -> list[dt.date]:
    """``count`` consecutive AP starts, oldest first, the latest AP ending on or before ``as_of``."""
    start = dt.date(as_of.year, as_of.month, rng.randint(1, 28))
    while ap_end(start) > as_of:
        start = _plus_month(start, -1)
    return [_plus_month(start, -k) for k in reversed(range(count))]


def _age(p: Person, as_of: dt.date) -> int:
    b = p.birth_date
    return as_of.year - b.year - ((as_of.month, as_of.day) < (b.month, b.day))


def mistype_nino(nino: str) -> str:
    """Two adjacent digits swapped (the first pair that differs), or the last digit changed."""
    digits = list(nino[2:8])
    for i in range(5):
        if digits[i] != digits[i + 1]:
            digits[i], digits[i + 1] = digits[i + 1], digits[i]
            return nino[:2] + "".join(digits) + nino[8:]
    digits[5] = str((int(digits[5]) + 1) % 10)
    return nino[:2] + "".join(digits) + nino[8:]


def _standard(claimant: Person, partner: Person | None, as_of: dt.date) -> float:
    if partner is not None:
        return UC_COUPLE
    return UC_SINGLE_UNDER_25 if _age(claimant, as_of) < 25 else UC_SINGLE


def _schedule(rng: random.Random, as_of: dt.date, terminate: bool) -> tuple[list[dt.date], list[str]]:
    if rng.random() < NEW_CLAIM_RATE:
        count = rng.randint(1, 2)
        notes = ["new_claim"] + ["change"] * (count - 1)
    else:
        count, notes = 3, ["change"] * 3
    if terminate:
        notes[-1] = "termination"
    return _ap_starts(rng, count, as_of), notes


def _earnings(rng: random.Random, latest: float, count: int) -> list[float]:
    """Take-home pay of each AP, oldest first: the latest as given, earlier ones within 15% of it."""
    earlier = [round(latest * rng.uniform(0.85, 1.15), 2) if latest else 0.0 for _ in range(count - 1)]
    return [*earlier, latest]


def award_for_claim(rng: random.Random, ref: str, claim: Claim, claim_ref: str, account_ref: str,
                    dwelling: Dwelling, as_of: dt.date) -> Award:
    """The award of a benefits claim on UC: its people, children and money as the claim shows them."""
    h = claim.household
    housing = claim.rent * 52 / 12 if claim.tenure not in ("owner_occupier",) and claim.hb == 0 else 0.0
    money = {
        "standard_allowance": _standard(h.claimant, h.partner, as_of),
        "child_element": UC_CHILD * len(h.child_ages),
        "lcwra_element": UC_LCWRA if h.lcwra else 0.0,
        "carer_element": UC_CARER if h.carer else 0.0,
        "housing_element": housing,
        "other_income_monthly": (h.carers_allowance + h.other_income) * 52 / 12,
        "capital": h.capital,
        "award_monthly": claim.uc_monthly,
        "council_tax_deduction_monthly": 0.0,
    }
    starts, notes = _schedule(rng, as_of, terminate=False)
    earnings = _earnings(rng, round(h.earnings * 52 / 12, 2), len(starts))
    return Award(ref, dwelling, h.claimant, h.partner, list(h.child_ages), h.household_id, claim_ref, account_ref,
                 {k: round(v, 2) for k, v in money.items()}, earnings, starts, notes)


def award_alone(rng: random.Random, ref: str, account: Account, household_id: str, partner_of: PartnerMaker,
                as_of: dt.date) -> Award:
    """A UC-only household at an account's dwelling: the liable person claims, with a partner unless the
    account has a single person discount, sometimes children, rent and earnings."""
    claimant = account.liable
    partner = None if account.single_person_discount or rng.random() < 0.2 else partner_of.new(claimant)
    ages: list[int] = []
    if rng.random() < (0.45 if partner is None else 0.55):
        kids = rng.choices((1, 2, 3, 4), weights=(40, 35, 17, 8))[0]
        oldest = max(0, min(17, _age(claimant, as_of) - 16))
        ages = sorted((rng.randint(0, oldest) for _ in range(kids)), reverse=True)
    rooms = min(1 + (0 if not ages else 1 if len(ages) <= 2 else 2), 4)
    rent = 0.0
    if rng.random() < 0.65:
        tenure = "private_rented" if rng.random() < 0.55 else "housing_association"
        rent = rng.uniform(*RENT_RANGES[tenure][rooms]) * 52 / 12
    r = rng.random()
    earned = rng.uniform(350, 1700) if r < 0.40 else rng.uniform(2600, 3600) if r < 0.45 else 0.0
    lcwra, carer = rng.random() < 0.08, rng.random() < 0.04
    other = rng.uniform(50, 300) if rng.random() < 0.05 else 0.0
    maximum = (_standard(claimant, partner, as_of) + UC_CHILD * len(ages) + UC_LCWRA * lcwra + UC_CARER * carer
               + rent)
    allowance = (UC_WORK_ALLOWANCE_HOUSING if rent else UC_WORK_ALLOWANCE) if (ages or lcwra) else 0.0
    award = max(maximum - UC_TAPER * max(round(earned, 2) - allowance, 0.0) - other, 0.0)
    deduction = 0.0
    if award > 0 and account.arrears > 0 and account.recovery_stage in CT_DEDUCTION_STAGES:
        deduction = min(account.arrears / 12, CT_DEDUCTION_MAX)
    money = {
        "standard_allowance": _standard(claimant, partner, as_of), "child_element": UC_CHILD * len(ages),
        "lcwra_element": UC_LCWRA * lcwra, "carer_element": UC_CARER * carer, "housing_element": rent,
        "other_income_monthly": other, "capital": rng.uniform(0, 2500), "award_monthly": award,
        "council_tax_deduction_monthly": deduction,
    }
    starts, notes = _schedule(rng, as_of, terminate=rng.random() < TERMINATION_RATE)
    earnings = _earnings(rng, round(earned, 2), len(starts))
    return Award(ref, account.dwelling, claimant, partner, ages, household_id, "", account.account_ref,
                 {k: round(v, 2) for k, v in money.items()}, earnings, starts, notes)


class PartnerMaker:
    """New partners of UC-only claimants, numbered from the district's UC base (ids never collide)."""

    def __init__(self, rng: random.Random, base: int, as_of: dt.date) -> None:
        self.rng, self.next, self.as_of = rng, base, as_of

    def new(self, claimant: Person) -> Person:
        age = min(max(_age(claimant, self.as_of) + self.rng.randint(-6, 6), 18), 64)
        born_from, born_to = born_between(self.as_of, age, age)
        sex = ("F" if claimant.sex == "M" else "M") if self.rng.random() < 0.95 else claimant.sex
        self.next += 1
        return new_person(self.rng, f"P{self.next:09d}", self.next, born_from, born_to, sex,
                          claimant.surname if self.rng.random() < 0.7 else None)


def plan_awards(seed: int, idx: int, lad: str, claims: list[tuple[str, Claim, Dwelling, str]],
                accounts: list[tuple[Account, Claim | None]], dwellings: int, nino_mistyped: float,
                as_of: dt.date) -> list[Award]:
    """Every award of a district, in ``uc_claim_ref`` order.

    ``claims``: (claim_ref, claim, dwelling, account_ref or '') of every claim but a moved household's
    older one; ``accounts``: every account with the claim at its dwelling (or None); ``dwellings``: how many.
    """
    rng = random.Random(f"{seed}/{lad}/universal_credit")
    partners = PartnerMaker(rng, (idx + 1) * 10_000_000 + PERSON_BASE, as_of)
    on_uc = [c for c in claims if c[1].on_uc]
    alone = [a for a, held in accounts if held is None and not a.exemption_class and a.annual_charge > 0
             and 18 <= _age(a.liable, as_of) <= 63]
    wanted = max(0, min(len(alone), round(UC_SHARE * dwellings) - len(on_uc)))
    chosen = sorted(rng.sample(alone, wanted), key=lambda a: a.account_ref)
    refs = [f"UC{idx + 1:02d}{x:08d}" for x in rng.sample(range(10**7, 10**8), len(on_uc) + len(chosen))]
    awards = [award_for_claim(rng, ref, c, claim_ref, account_ref, d, as_of)
              for ref, (claim_ref, c, d, account_ref) in zip(refs, on_uc, strict=False)]
    for n, (ref, account) in enumerate(zip(refs[len(on_uc):], chosen, strict=True)):
        awards.append(award_alone(rng, ref, account, f"U{idx + 1:02d}{n + 1:07d}", partners, as_of))
    for a in awards:
        if nino_mistyped > 0 and rng.random() < nino_mistyped:
            a.noise = "nino_mistyped"
    return sorted(awards, key=lambda a: a.uc_claim_ref)


def hb_gaps(seed: int, lad: str, claims: list[Claim]) -> list[Claim]:
    """Renting pensioner claims on Pension Credit that get no Housing Benefit (2g): set ``hb`` to 0, return them."""
    rng = random.Random(f"{seed}/{lad}/hb_gap")
    gaps = []
    for c in claims:
        h = c.household
        if h.pensioner and h.pension_credit > 0 and c.hb > 0 and c.tenure != "other" and rng.random() < HB_GAP_RATE:
            c.hb = 0.0
            gaps.append(c)
    return gaps


def _money(value: float) -> str:
    return f"{value + 0.0:.2f}"


def award_rows(a: Award, nino: NinoMaker) -> list[dict[str, str]]:
    """The raw rows of an award, one per AP (oldest first), canonical but for its noise."""
    line1, line2, town = a.dwelling.address()

    def person(prefix: str, p: Person | None) -> dict[str, str]:
        if p is None:
            return {f"{prefix}_nino": "", f"{prefix}_forename": "", f"{prefix}_surname": "",
                    f"{prefix}_birth_date": ""}
        code = nino.nino(p.number)
        return {f"{prefix}_nino": mistype_nino(code) if a.noise == "nino_mistyped" else code,
                f"{prefix}_forename": p.forename, f"{prefix}_surname": p.surname,
                f"{prefix}_birth_date": p.birth_date.isoformat()}

    fixed = {
        "uc_claim_ref": a.uc_claim_ref, "uprn": str(a.dwelling.uprn), "address_line_1": line1,
        "address_line_2": line2, "town": town, "postcode": a.dwelling.postcode,
        **person("claimant", a.claimant), **person("partner", a.partner),
        "adults": str(2 if a.partner else 1), "children": str(len(a.child_ages)),
        "child_ages": ";".join(str(x) for x in a.child_ages),
        "disabled_child_element": "0.00", "childcare_element": "0.00", "benefit_cap_monthly": "0.00",
        "sanction_monthly": "0.00",
        **{k: _money(v) for k, v in a.money.items()},
        "deductions_monthly": _money(a.money["council_tax_deduction_monthly"]),
    }
    return [fixed | {"notification_type": note, "ap_start": start.isoformat(), "ap_end": ap_end(start).isoformat(),
                     "earnings_monthly": _money(pay)}
            for start, note, pay in zip(a.ap_starts, a.notifications, a.earnings, strict=True)]


def truth_rows(lad: str, claims: list[tuple[str, Claim, Dwelling, str]], accounts: list[Account],
               awards: list[Award], nino: NinoMaker, as_of: dt.date) -> tuple[list[tuple[str, ...]],
                                                                              list[tuple[str, ...]]]:
    """The district's rows of ``_truth/universal_credit.csv`` and ``_truth/takeup.csv``.

    ``claims``: (claim_ref, claim, dwelling, true account_ref or '') of every claim.
    """
    from pipelines.pseudonymise import SAMPLE_KEY, keyed_hash
    from pipelines.score.params import load_parameters
    from pipelines.synthetic.records import account_row, claim_row
    from pipelines.synthetic.takeup_truth import Seen, arrears_signal, evaluate, uc_only_claim

    params = load_parameters(as_of)
    rows = {a.account_ref: account_row(a, nino, False) for a in accounts}
    latest = {a.uc_claim_ref: award_rows(a, nino)[-1] for a in awards if a.live}
    by_claim = {a.claim_ref: a for a in awards if a.claim_ref and a.live}
    linked: set[str] = set()
    takeup: list[tuple[str, ...]] = []

    def add(source: str, ref: str, seen: Seen) -> None:
        for check, (confidence, value) in evaluate(seen, params, as_of).items():
            takeup.append((lad, source, ref, check, confidence, "" if value is None else f"{value:.2f}"))

    for ref, c, d, account_ref in claims:
        award = by_claim.get(ref)
        linked.add(account_ref)
        add("both" if award else "claim", ref,
            Seen(lad, ref, claim_row(ref, c, d, nino), rows.get(account_ref),
                 latest[award.uc_claim_ref] if award else None))
    for a in awards:
        if a.live and not a.claim_ref:
            linked.add(a.account_ref)
            ap = latest[a.uc_claim_ref]
            ref = "UC-" + keyed_hash(SAMPLE_KEY, "uc", a.uc_claim_ref, 64)[:16]  # as the scorer names it
            add("uc", ref, Seen(lad, a.uc_claim_ref, uc_only_claim(ap), rows[a.account_ref], ap))
    for account in accounts:
        arrears = arrears_signal(rows[account.account_ref], account.account_ref in linked, params)
        if arrears is not None:
            takeup.append((lad, "account", account.account_ref, "not_known_arrears", "signal", f"{arrears:.2f}"))
    uc: list[tuple[str, ...]] = [
        (lad, keyed_hash(SAMPLE_KEY, "uc", a.uc_claim_ref, 64), a.household_id, a.claim_ref,
         a.account_ref, "true" if a.live else "false", "true" if a.money["award_monthly"] == 0 else "false",
         a.noise) for a in awards]
    return uc, takeup
