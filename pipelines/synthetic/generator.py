"""Synthetic landing folder for demos and tests (``povertylink sample``): no real person in it.

``generate`` writes, for the first N districts (Kent's 12 in code order, then the rest of England's,
then synthetic ones: :mod:`pipelines.synthetic.districts`), ``OUT/<LAD>/council_tax_<date>.csv``
(one account per dwelling) and ``OUT/<LAD>/benefits_<date>.csv`` (about 17% of dwellings claim),
``OUT/epc.csv`` and ``OUT/postcode_lookup.csv``, and the ground truth in ``OUT/_truth/`` (which
the pipeline never reads). Same seed, same bytes. Rows are written raw (names, NINOs) or, by
default, pseudonymised row for row with the public ``SAMPLE_KEY``: raw names and NINOs of the
synthetic people exist only in memory and, with ``raw=True``, in the written files.

Noise, each applied at random at its rate and logged in ``_truth/noise.csv``:

- ``name_typo`` NAME_TYPO_RATE of names written (a claimant, partner or liable person of a record);
- ``nickname`` NICKNAME_RATE of names written (a known nickname of the forename, from ``nicknames``);
- ``liable_is_partner`` LIABLE_PARTNER_RATE of couples: the account is in the partner's name;
- ``uprn_missing`` UPRN_MISSING_RATE and ``uprn_mistyped`` UPRN_MISTYPED_RATE (one digit) of records;
- ``address_format`` ADDRESS_FORMAT_RATE of claims: the claim writes the address differently;
- ``postcode_format`` POSTCODE_FORMAT_RATE of records: another case or spacing;
- ``moved`` MOVED_RATE of claims: the household moved here from another district, where an older
  claim of the same people (``moved_stale``) is still live, at an account still in their name;
- ``no_account`` NO_ACCOUNT_RATE of claims: the dwelling has no council-tax account in the extract.

Only LIABLE_IDENTIFIERS_RATE of accounts give the liable person's NINO and birth date.

These are the rates of ``--noise typical`` (``RATES``, the default: the committed ``data/sample``).
``--noise clean`` (``CLEAN``) sets every rate to 0; ``--noise hard`` (``HARD``) raises them and adds
the error types real extracts carry that ``typical`` lacks, each with its rate and why beside it.
A new type draws a random number only when its rate is above 0, so ``typical`` gives the same
bytes as before the levels existed.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.pseudonymise import SAMPLE_KEY, pseudonymise_record
from pipelines.synthetic.districts import band_d, ctr_max_share, district_list, district_name, stock_transfer
from pipelines.synthetic.money import (
    COUPLE_TYPES,
    HOUSEHOLD_TYPES,
    TYPE_WEIGHTS_FLAT,
    TYPE_WEIGHTS_HOUSE,
    Claim,
    Household,
    annual_charge,
    arrears_and_stage,
    cashflow_monthly,
    claim_start,
    make_household,
    place,
)
from pipelines.synthetic.people import NINO_NUMBERS, NinoMaker, Person, Weighted, born_between, new_person
from pipelines.synthetic.places import BANDS, Dwelling, build_places, epc_rating
from pipelines.synthetic.records import Account, NoiseLog, NoiseRates, account_row, add_noise, claim_row
from pipelines.synthetic.truth import CsvStream, TruthWriter, write_csv
from pipelines.synthetic.universal_credit import Award, award_rows, hb_gaps, plan_awards, truth_rows
from schemas.inputs import RAW_IDENTIFIER_COLUMNS, model_for

EXTRACT_DATE = dt.date(2026, 11, 20)
BENEFIT_RATE = 0.17  # claims per dwelling (before moved households' older claims, ~+1%)
NAME_TYPO_RATE = 0.05
NICKNAME_RATE = 0.05
LIABLE_PARTNER_RATE = 0.10
UPRN_MISSING_RATE = 0.15
UPRN_MISTYPED_RATE = 0.02
ADDRESS_FORMAT_RATE = 0.30
POSTCODE_FORMAT_RATE = 0.10
MOVED_RATE = 0.01
NO_ACCOUNT_RATE = 0.01
LIABLE_IDENTIFIERS_RATE = 0.10
EPC_RATE = 0.60
EXEMPT_RATE = 0.012  # accounts (without a claim) exempt, charge 0
UC_NINO_MISTYPED_RATE = 0.03  # per UC award (a keying slip in DWP's or the council's record of the NINO)
RATES = NoiseRates(NAME_TYPO_RATE, NICKNAME_RATE, UPRN_MISSING_RATE, UPRN_MISTYPED_RATE, POSTCODE_FORMAT_RATE,
                   ADDRESS_FORMAT_RATE, LIABLE_IDENTIFIERS_RATE, liable_partner=LIABLE_PARTNER_RATE,
                   moved=MOVED_RATE, no_account=NO_ACCOUNT_RATE, uc_nino_mistyped=UC_NINO_MISTYPED_RATE)
# ``--noise clean``: no noise at all (only the council-tax extract's sparse liable identifiers, which
# are how such extracts are, not an error).
CLEAN = NoiseRates(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, LIABLE_IDENTIFIERS_RATE)
# ``--noise hard``: what a poorly kept extract carries. The rates are judgement, not measurement (no
# published error rates of UK council extracts were at hand): a few per cent for each kind of error,
# the scale that FEBRL's data generator simulates (Christen, *Data Matching*, Springer 2012), more
# where the reason beside it says the error is routine (sparse UPRNs, address formats, flat layouts).
HARD = NoiseRates(
    name_typo=0.12,  # keyboard slips (swap, drop, double, neighbouring key): typed in a hurry at a counter
    nickname=0.08,  # 'Bob' for 'Robert': people give the name they use, forms take it
    uprn_missing=0.40,  # sparse UPRNs: many benefits systems never stored one, or only for new claims
    uprn_mistyped=0.03,  # one digit wrong, keyed from a letter
    postcode_format=0.20,  # case and spacing: free-text postcode fields
    address_format=0.50,  # the claim's address written its own way (abbreviations, flat styles, case)
    liable_identifiers=LIABLE_IDENTIFIERS_RATE,  # council tax rarely holds a NINO or a birth date
    liable_partner=0.25,  # couples: the bill in one partner's name, the claim in the other's
    moved=0.02,  # a household that moved district, its old claim not yet closed
    no_account=0.02,  # a claim whose dwelling is missing from the council-tax extract (timing, new build)
    liable_other=0.03,  # the claimant is not liable: a landlord (HMO), a parent or an ex-partner on the bill
    neighbour_same_surname=0.05,  # families live near each other: next door shares the claimant's surname
    namesake_relative=0.01,  # 'John Smith' senior and junior at two addresses: same name, other birth date
    name_phonetic=0.03,  # names taken by telephone are written by ear (Kathryn / Catherine, Mc / Mac)
    name_initial=0.03,  # legacy bills hold 'Mr J Smith': the forename as an initial only
    forename_missing=0.01,  # a surname-only record ('Occupier'-style or a half-completed form)
    name_swap=0.01,  # forename and surname in each other's fields (non-British name order, form layout)
    surname_double=0.02,  # a hyphenated or double-barrelled surname held whole in one system, in part in another
    surname_changed=0.02,  # a surname changed at marriage or divorce and updated in one system only
    uprn_wrong=0.02,  # the UPRN of another dwelling: an address-matching tool picked the neighbour
    street_typo=0.03,  # a keyboard slip in the street's name
    house_number_missing=0.02,  # a house written without its number (named houses, careless entry)
    flat_split=0.25,  # 'Flat 3' on line 1 and '12 X Road' on line 2: systems that split flat and building
    postcode_typo=0.02,  # one character of the inward code wrong: keyed by hand, never checked against PAF
    postcode_missing=0.01,  # no postcode at all (the raw model requires one: such a row is quarantined)
    uc_nino_mistyped=0.06,  # a UC award whose NINOs were keyed wrong: it joins its claim only probabilistically
)
LEVELS = {"clean": CLEAN, "typical": RATES, "hard": HARD}
_HARD_LABELS = """name_phonetic (detail: forename or surname), name_initial, forename_missing, name_swap,
surname_double (detail: hyphenated or double_barrelled), surname_changed, uprn_wrong (the
neighbour's UPRN; detail gives the true one), street_typo, house_number_missing, flat_split,
postcode_typo, postcode_missing (such a row fails the raw model: a postcode is required),
liable_other (the liable person is not in the claim), neighbour_same_surname and
namesake_relative (on an account without a claim: a claimant's surname next door, or a
claimant's forename and surname a generation apart)"""
NOISE_README = {  # appended to _truth/README.md (typical's README is unchanged, byte for byte)
    "clean": "\nThis sample was made with `--noise clean`: no noise at all, `noise.csv` is empty.\n",
    "hard": f"\nThis sample was made with `--noise hard`: the rates of `HARD` in\n"
            f"`pipelines/synthetic/generator.py`, and these labels too: {_HARD_LABELS}.\n",
}
_TYPES_FLAT = Weighted(HOUSEHOLD_TYPES, TYPE_WEIGHTS_FLAT)
_TYPES_HOUSE = Weighted(HOUSEHOLD_TYPES, TYPE_WEIGHTS_HOUSE)
_CLAIM_BAND_WEIGHTS = dict(zip(BANDS, (3.0, 2.2, 1.3, 0.7, 0.35, 0.15, 0.08, 0.02), strict=True))
_CLAIM_PREFIX = ("", "C", "HB", "B", "", "R", "CL", "", "S", "T", "", "W")
MOVER_BASE = 9_000_000  # person and household numbers of moved households start here, per district
KENT_PEOPLE = 13 * 10_000_000  # person numbers of Kent's 12 districts (10 million each) end below this


def people_base(idx: int, households: int) -> tuple[int, int]:
    """(first person number, first mover's person number) of district ``idx``. Kent's 12 districts keep
    blocks of 10 million (the committed sample's numbers); later districts get blocks of 3 numbers a
    dwelling (a district numbers ~1.4 a dwelling), so that every person number stays inside the NINO
    space (~3.7e8 numbers) for ~300 districts of 80,000 dwellings (England) or 160 of 500,000."""
    if idx < 12:
        return (idx + 1) * 10_000_000, (idx + 1) * 10_000_000 + MOVER_BASE
    stride = 3 * households + 10_000
    base = KENT_PEOPLE + (idx - 12) * stride
    if base + stride > NINO_NUMBERS:
        raise ValueError(f"too many people for the NINO space: {idx + 1} districts of {households:,} dwellings")
    return base, base + 2 * households + 5_000


@dataclass
class DistrictCount:
    """What was written for one district."""

    lad_code: str
    name: str
    accounts: int
    claims: int
    links: int


@dataclass
class SampleSummary:
    """What ``generate`` wrote; ``str()`` is the CLI's summary."""

    out: Path
    raw: bool
    seed: int
    noise: str = "typical"
    districts: list[DistrictCount] = field(default_factory=list)
    epc_rows: int = 0
    postcodes: int = 0

    def __str__(self) -> str:
        form = "raw (names and NINOs)" if self.raw else "pseudonymised (SAMPLE_KEY)"
        level = "" if self.noise == "typical" else f", noise {self.noise}"
        lines = [f"wrote a synthetic landing folder to {self.out} ({form}, seed {self.seed}{level}, extract "
                 f"{EXTRACT_DATE.isoformat()}):"]
        for d in self.districts:
            lines.append(f"  {d.lad_code} {d.name}: {d.accounts} council-tax accounts, {d.claims} benefit claims "
                         f"({d.links} truly linked)")
        lines.append(f"  epc.csv {self.epc_rows} rows, postcode_lookup.csv {self.postcodes} postcodes; "
                     f"ground truth in {self.out / '_truth'}")
        return "\n".join(lines)


@dataclass
class _Mover:
    household: Household
    new_lad: str
    old_lad: str


class _People:
    """Numbers people of one district (or of its movers) from a base, so ids never collide."""

    def __init__(self, rng: random.Random, base: int) -> None:
        self.rng, self.next = rng, base

    def new(self, min_age: int, max_age: int, sex: str | None = None, surname: str | None = None) -> Person:
        born_from, born_to = born_between(EXTRACT_DATE, min_age, max_age)
        self.next += 1
        return new_person(self.rng, f"P{self.next:09d}", self.next, born_from, born_to, sex, surname)


def _age(p: Person) -> int:
    b = p.birth_date
    return EXTRACT_DATE.year - b.year - ((EXTRACT_DATE.month, EXTRACT_DATE.day) < (b.month, b.day))


def _compose(rng: random.Random, kind: str, people: _People) -> tuple[Person, Person | None, list[int]]:
    """The claimant, partner and children's ages of a household of one type."""
    def partner_of(p: Person, lo: int, hi: int) -> Person:
        sex = ("F" if p.sex == "M" else "M") if rng.random() < 0.95 else p.sex
        age = min(max(_age(p) + rng.randint(-6, 6), lo), hi)
        return people.new(age, age, sex, p.surname if rng.random() < 0.7 else None)

    if kind == "single_pensioner":
        return people.new(67, 95), None, []
    if kind == "pensioner_couple":
        first = people.new(67, 92)
        return first, partner_of(first, 67, 97), []
    if kind == "mixed_age_couple":
        older = people.new(67, 85)
        younger = people.new(45, 64, "F" if older.sex == "M" else "M", older.surname)
        return (older, younger, []) if rng.random() < 0.5 else (younger, older, [])
    if kind == "single_adult":
        return (people.new(18, 24) if rng.random() < 0.1 else people.new(25, 64)), None, []
    if kind == "couple_no_children":
        first = people.new(20, 64)
        return first, partner_of(first, 18, 64), []
    if kind == "lone_parent":
        parent = people.new(18, 55, "F" if rng.random() < 0.88 else "M")
        kids = rng.choices((1, 2, 3, 4), weights=(45, 35, 14, 6))[0]
        return parent, None, sorted((rng.randint(0, min(17, _age(parent) - 16)) for _ in range(kids)), reverse=True)
    first = people.new(20, 58)
    partner = partner_of(first, 18, 64)
    kids = rng.choices((1, 2, 3, 4, 5), weights=(35, 38, 18, 7, 2))[0]
    oldest = min(17, min(_age(first), _age(partner)) - 16)
    return first, partner, sorted((rng.randint(0, oldest) for _ in range(kids)), reverse=True)


def _household(rng: random.Random, people: _People, household_id: str, kind: str, rates: NoiseRates) -> Household:
    claimant, partner, ages = _compose(rng, kind, people)
    h = make_household(rng, household_id, kind, claimant, partner, ages, EXTRACT_DATE)
    h.liable_is_partner = kind in COUPLE_TYPES and rng.random() < rates.liable_partner
    return h


def _claim_count(households: int) -> int:
    return max(1, round(households * BENEFIT_RATE))


def _plan_movers(seed: int, lads: list[str], households: int, rates: NoiseRates) -> list[_Mover]:
    """Households that moved between districts: drawn first so each district can be built alone."""
    movers: list[_Mover] = []
    if len(lads) < 2:
        return movers
    for idx, lad in enumerate(lads):
        rng = random.Random(f"{seed}/{lad}/movers")
        people = _People(rng, people_base(idx, households)[1])
        for k in range(round(_claim_count(households) * rates.moved)):
            kind = _TYPES_HOUSE.pick(rng)
            h = _household(rng, people, f"H{idx + 1:02d}{MOVER_BASE + k:07d}", kind, rates)
            movers.append(_Mover(h, lad, rng.choice([x for x in lads if x != lad])))
    return movers


def _weighted_sample(rng: random.Random, items: list[int], weights: list[float], k: int) -> list[int]:
    """k distinct items, each drawn with probability proportional to its weight (Efraimidis-Spirakis)."""
    keyed = sorted(((rng.random() ** (1.0 / w), i) for i, w in zip(items, weights, strict=True)), reverse=True)
    return [i for _, i in keyed[:k]]


def _refs(rng: random.Random, n: int, prefix: str, digits: int) -> list[str]:
    return [f"{prefix}{x:0{digits}d}" for x in rng.sample(range(10 ** (digits - 1), 10**digits), n)]


class _District:
    """Builds one district's claims and accounts (and their truth), then hands over its rows."""

    def __init__(self, seed: int, idx: int, lad: str, households: int, movers: list[_Mover], nino: NinoMaker,
                 rates: NoiseRates, universal_credit: bool = True):
        self.seed, self.idx, self.lad, self.nino, self.rates = seed, idx, lad, nino, rates
        self.rng = random.Random(f"{seed}/{lad}/people")
        n_claims = _claim_count(households)
        n_none = round(n_claims * rates.no_account)
        self.places = build_places(random.Random(f"{seed}/{lad}/places"), lad, idx, households + n_none)
        dwellings = self.places.dwellings
        self.no_account = set(self.rng.sample(range(len(dwellings)), n_none))
        billed = [i for i in range(len(dwellings)) if i not in self.no_account]
        chosen = _weighted_sample(self.rng, billed, [_CLAIM_BAND_WEIGHTS[dwellings[i].band] for i in billed],
                                  n_claims - n_none)
        self.rng.shuffle(chosen)
        arriving = [m for m in movers if m.new_lad == lad]
        leaving = [m for m in movers if m.old_lad == lad]
        free = sorted(set(billed) - set(chosen))
        stale_at = self.rng.sample(free, min(len(leaving), len(free)))
        people = _People(self.rng, people_base(idx, households)[0])
        self.claims: list[tuple[int, Claim, str, str]] = []  # (dwelling, claim, ''/moved/moved_stale, detail)
        for n, d in enumerate(chosen + sorted(self.no_account)):
            if n < len(arriving):
                h, moved, detail = arriving[n].household, "moved", f"older_claim_in={arriving[n].old_lad}"
            else:
                kind = (_TYPES_FLAT if dwellings[d].flat is not None else _TYPES_HOUSE).pick(self.rng)
                h, moved, detail = _household(self.rng, people, f"H{idx + 1:02d}{n + 1:07d}", kind, rates), "", ""
            self.claims.append((d, self._place(h, dwellings[d]), moved, detail))
        for d, mover in zip(stale_at, leaving, strict=False):
            self.claims.append((d, self._place(mover.household, dwellings[d]), "moved_stale",
                                f"now_in={mover.new_lad}"))
        self._dates()
        self.claim_refs = _refs(self.rng, len(self.claims), _CLAIM_PREFIX[idx % len(_CLAIM_PREFIX)], 7)
        self.account_refs = _refs(self.rng, len(billed), str(idx % 9 + 1), 8)
        self.accounts = self._accounts(billed, people)
        self.awards = self._universal_credit() if universal_credit else None

    def _universal_credit(self) -> list[Award]:
        """Universal Credit awards, and the renting pensioners without HB (universal_credit.py): own random streams,
        drawn after the accounts, so every other record keeps its values."""
        hb_gaps(self.seed, self.lad, [c for _, c, _, _ in self.claims])
        return plan_awards(self.seed, self.idx, self.lad, self._claims_with_accounts(stale=False), self.accounts,
                           len(self.places.dwellings), self.rates.uc_nino_mistyped, EXTRACT_DATE)

    def _claims_with_accounts(self, stale: bool) -> list[tuple[str, Claim, Dwelling, str]]:
        """(claim_ref, claim, dwelling, true account_ref or ''), a moved household's older claim only if ``stale``."""
        account_of = {id(c): a.account_ref for a, c in self.accounts if c is not None}
        return [(ref, c, self.places.dwellings[d], account_of.get(id(c), ""))
                for ref, (d, c, moved, _) in zip(self.claim_refs, self.claims, strict=True)
                if stale or moved != "moved_stale"]

    def _place(self, h: Household, d: Dwelling) -> Claim:
        c = place(self.rng, h, band_d(self.lad), d.band, stock_transfer(self.lad), ctr_max_share(self.lad),
                  EXTRACT_DATE)
        c.claim_start = claim_start(self.rng, h, EXTRACT_DATE)
        return c

    def _dates(self) -> None:
        """A moved household's claim here is recent; its older claim elsewhere started years before."""
        for _, c, moved, _ in self.claims:
            if moved:
                rng = random.Random(f"{self.seed}/{c.household.household_id}/dates")  # same in both districts
                new_start = EXTRACT_DATE - dt.timedelta(days=rng.randint(30, 540))
                old_start = new_start - dt.timedelta(days=rng.randint(365, 2500))
                c.claim_start = new_start if moved == "moved" else old_start

    def _accounts(self, billed: list[int], people: _People) -> list[tuple[Account, Claim | None]]:
        dwellings = self.places.dwellings
        by_dwelling = {d: c for d, c, _, _ in self.claims if d not in self.no_account}
        out = []
        for ref, d in zip(self.account_refs, billed, strict=True):
            dw, claim = dwellings[d], by_dwelling.get(d)
            if claim is not None:
                h = claim.household
                liable = h.partner if (h.liable_is_partner and h.partner) else h.claimant
                other = self.rates.liable_other > 0 and self.rng.random() < self.rates.liable_other
                if other:  # drawn only at a rate above 0: typical's random stream is unchanged
                    liable = people.new(25, 95, surname=liable.surname if self.rng.random() < 0.5 else None)
                arrears, stage = arrears_and_stage(self.rng, 0.45 if cashflow_monthly(claim) < 0 else 0.14)
                lag = self.rng.randint(0, 30) if claim.claim_start > EXTRACT_DATE.replace(year=2025) else \
                    self.rng.randint(0, 2000)
                start = max(claim.claim_start - dt.timedelta(days=lag), dt.date(1993, 4, 1))
                account = Account(ref, dw, liable, dw.band, claim.annual_charge, claim.single_person_discount,
                                  claim.disabled_band_reduction, "", round(claim.ctr * 52, 2), arrears, stage, start,
                                  "liable_other" if other else "")
            else:
                liable, noise = self._unclaimed_liable(d, by_dwelling, people)
                exempt = self.rng.random() < EXEMPT_RATE
                single = not exempt and self.rng.random() < 0.33
                disabled = not exempt and self.rng.random() < 0.007
                charge = 0.0 if exempt else annual_charge(band_d(self.lad), dw.band, single, disabled)
                arrears, stage = (0.0, "none") if exempt else arrears_and_stage(self.rng, 0.05)
                start = dt.date(1993, 4, 1) + dt.timedelta(days=int(self.rng.random() * 12_000))
                exemption = self.rng.choice("CEFNUW") if exempt else ""
                account = Account(ref, dw, liable, dw.band, charge, single, disabled, exemption, 0.0, arrears, stage,
                                  min(start, EXTRACT_DATE), noise)
            out.append((account, claim))
        return out

    def _unclaimed_liable(self, d: int, by_dwelling: dict[int, Claim], people: _People) -> tuple[Person, str]:
        """The liable person of a dwelling without a claim, and the structural noise it carries ('' if none).

        A namesake (a claimant's parent or adult child: same forename and surname, a generation
        apart) or, next door to a claim, a neighbour of the claimant's surname. Random numbers are
        drawn only at rates above 0, so ``typical`` (both 0) draws exactly ``people.new(18, 95)``.
        """
        rates = self.rates
        if by_dwelling and rates.namesake_relative > 0 and self.rng.random() < rates.namesake_relative:
            claimant = by_dwelling[self.rng.choice(sorted(by_dwelling))].household.claimant
            age = _age(claimant)
            lo, hi = (age + 22, age + 35) if age < 60 else (max(age - 35, 18), age - 22)
            relative = people.new(lo, hi, claimant.sex, claimant.surname)
            relative.forename = claimant.forename
            return relative, "namesake_relative"
        nearby = [by_dwelling[n] for n in (d - 1, d + 1) if n in by_dwelling]
        if nearby and rates.neighbour_same_surname > 0 and self.rng.random() < rates.neighbour_same_surname:
            return people.new(18, 95, surname=nearby[0].household.claimant.surname), "neighbour_same_surname"
        return people.new(18, 95), ""

    def write(self, out: Path, raw: bool, truth: TruthWriter) -> DistrictCount:
        """Write the district's two extracts (noise applied, pseudonymised unless raw) and its truth."""
        rng = random.Random(f"{self.seed}/{self.lad}/noise")
        log = NoiseLog(self.lad)
        dwellings = self.places.dwellings
        taken = {d.uprn for d in dwellings}
        # another dwelling's UPRN, for uprn_wrong: the next one in street order (the neighbour)
        other = {d.uprn: dwellings[(i + 1) % len(dwellings)].uprn for i, d in enumerate(dwellings)}
        account_of = {id(c): a.account_ref for a, c in self.accounts if c is not None}
        benefits = []  # records go in reference order, so rows and truth come out sorted
        for ref, (d, c, moved, detail) in sorted(zip(self.claim_refs, self.claims, strict=True), key=_first):
            dw, h = self.places.dwellings[d], c.household
            row = claim_row(ref, c, dw, self.nino)
            add_noise(rng, row, "benefits", ref, dw, self.rates, taken, log, other[dw.uprn])
            if moved:
                log.add("benefits", ref, moved, "", detail)
            if d in self.no_account:
                log.add("benefits", ref, "no_account")
            else:
                truth.link(self.lad, ref, account_of[id(c)])
            truth.person(self.lad, "benefits", ref, "claimant", h.claimant.person_id)
            if h.partner:
                truth.person(self.lad, "benefits", ref, "partner", h.partner.person_id)
            truth.claim(self.lad, ref, c, moved, cashflow_monthly(c))
            benefits.append(row)
        council_tax = []
        for a, held_by in sorted(self.accounts, key=lambda pair: pair[0].account_ref):
            row = account_row(a, self.nino, rng.random() < self.rates.liable_identifiers)
            add_noise(rng, row, "council_tax", a.account_ref, a.dwelling, self.rates, taken, log,
                      other[a.dwelling.uprn])
            if held_by is not None and held_by.household.liable_is_partner and not a.structural_noise:
                log.add("council_tax", a.account_ref, "liable_is_partner", "liable")
            if a.structural_noise:
                log.add("council_tax", a.account_ref, a.structural_noise, "liable")
            truth.person(self.lad, "council_tax", a.account_ref, "liable", a.liable.person_id)
            council_tax.append(row)
        truth.noise(log.rows)
        folder = out / self.lad
        folder.mkdir(parents=True, exist_ok=True)
        stamp = EXTRACT_DATE.isoformat()
        _write_extract(folder / f"benefits_{stamp}.csv", "benefits", benefits, raw)
        _write_extract(folder / f"council_tax_{stamp}.csv", "council_tax", council_tax, raw)
        if self.awards is not None:
            claims = sorted(self._claims_with_accounts(stale=True), key=lambda c: c[0])
            uc, takeup = truth_rows(self.lad, claims, [a for a, _ in self.accounts], self.awards, self.nino,
                                    EXTRACT_DATE)
            for award_row in uc:
                truth.award(award_row)
            truth.takeup(takeup)
            _write_extract(folder / f"universal_credit_{stamp}.csv", "universal_credit",
                           [r for a in self.awards for r in award_rows(a, self.nino)], raw)
        return DistrictCount(self.lad, district_name(self.lad), len(council_tax), len(benefits),
                             len(benefits) - len(self.no_account))


def _first(pair: tuple[str, object]) -> str:
    return pair[0]


def _write_extract(path: Path, kind: str, rows: list[dict[str, str]], raw: bool) -> None:
    """Write rows in the model's column order; pseudonymised unless raw.

    Only the identifier columns are handed to ``pseudonymise_record`` (it encodes column by
    column, so the result is the same as for the whole row, and the generator saves its loop
    over the other columns), each distinct set of identifiers once (a UC award's assessment periods
    share theirs); the tests check the two agree row for row.
    """
    columns = list(model_for(kind, raw).model_fields)
    if rows and not raw:
        identifiers = RAW_IDENTIFIER_COLUMNS[kind]
        done: dict[tuple[str, ...], dict[str, str]] = {}  # an award's assessment periods share its identifiers
        for r in rows:
            ids = tuple(r[c] for c in identifiers)
            if ids not in done:
                done[ids] = pseudonymise_record(SAMPLE_KEY, kind, dict(zip(identifiers, ids, strict=True)))
            r.update(done[ids])
    if rows and not set(columns) <= set(rows[0]):
        raise AssertionError(f"{kind} columns drifted from the model: {sorted(set(columns) - set(rows[0]))}")
    write_csv(path, columns, ([r[c] for c in columns] for r in rows))


def generate(out: Path, districts: int, households: int, seed: int, raw: bool, noise: str = "typical",
             progress: Callable[[str], None] | None = None, universal_credit: bool = True) -> SampleSummary:
    """Write the synthetic landing folder and its truth to ``out`` (see the module docstring).

    ``noise`` is ``clean`` (no noise), ``typical`` (the default, the committed sample) or ``hard``;
    ``progress`` is called with each district's code once its files are written.
    ``universal_credit=False`` leaves out the UC extracts and everything drawn for the take-up checks
    (``universal_credit.py``): the files are then those of the generator before them, byte for byte.
    """
    if noise not in LEVELS:
        raise ValueError(f"noise must be one of {', '.join(LEVELS)}, not {noise!r}")
    rates = LEVELS[noise]
    lads = district_list(districts)
    nino = NinoMaker(seed)
    movers = _plan_movers(seed, lads, households, rates)
    out.mkdir(parents=True, exist_ok=True)
    summary = SampleSummary(out, raw, seed, noise)
    epc = CsvStream(out / "epc.csv", ["uprn", "current_energy_rating"])
    lookup = CsvStream(out / "postcode_lookup.csv", ["postcode", "lsoa21cd", "ward_code", "lad_code"])
    with TruthWriter(out / "_truth", "" if noise == "typical" else NOISE_README[noise], universal_credit) as truth:
        for idx, lad in enumerate(lads):
            district = _District(seed, idx, lad, households, movers, nino, rates, universal_credit)
            summary.districts.append(district.write(out, raw, truth))
            truth.flush()
            rng = random.Random(f"{seed}/{lad}/epc")
            epc.write([[str(d.uprn), epc_rating(rng, d)] for d in district.places.dwellings if rng.random() < EPC_RATE])
            lookup.write([[pc, lsoa, ward, lad] for pc, lsoa, ward in district.places.postcodes])
            del district
            if progress is not None:
                progress(lad)
    epc.close()
    lookup.close()
    summary.epc_rows, summary.postcodes = epc.rows, lookup.rows
    return summary
