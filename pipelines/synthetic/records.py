"""Raw extract rows of the sample generator, and the noise that makes matching them realistic.

A claim or account becomes one raw row (column -> text, in the raw model's column order),
then noise is applied at the rates of :mod:`pipelines.synthetic.generator` and logged, with no raw
value, as truth rows ``(lad_code, kind, ref, noise, role, detail)``. Personal data: raw
names and NINOs of synthetic people flow into the rows returned here, never into the log.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

from pipelines.synthetic.money import Claim
from pipelines.synthetic.people import SURNAMES, NinoMaker, Person, nickname_share, nicknames_of, phonetic, typo
from pipelines.synthetic.places import (
    VOCABULARY,
    Dwelling,
    address_variant,
    flat_split,
    mistype_postcode,
    mistype_street,
    mistype_uprn,
    postcode_variant,
    without_house_number,
)


@dataclass(frozen=True)
class NoiseRates:
    """Noise rates (probabilities) with the unit each one is counted in."""

    name_typo: float  # per name written (claimant, partner or liable person of a record)
    nickname: float  # per name written
    uprn_missing: float  # per record (claim or account)
    uprn_mistyped: float  # per record
    postcode_format: float  # per record
    address_format: float  # per claim
    liable_identifiers: float  # per account: liable NINO and birth date given
    # Household-level rates (used by the generator, not by ``add_noise``).
    liable_partner: float = 0.0  # per couple: the account is in the partner's name
    moved: float = 0.0  # per claim: the household moved here from another district
    no_account: float = 0.0  # per claim: the dwelling has no council-tax account
    liable_other: float = 0.0  # per claim with an account: the liable person is not in the claim at all
    neighbour_same_surname: float = 0.0  # per account without a claim next door to one: the claimant's surname
    namesake_relative: float = 0.0  # per account without a claim: a claimant's namesake parent or adult child
    # Noise types that ``typical`` does not use: each is drawn only when its rate is above 0, so
    # adding them leaves the random stream (and the bytes) of ``typical`` unchanged.
    name_phonetic: float = 0.0  # per name written: a phonetic respelling (Catherine/Kathryn)
    name_initial: float = 0.0  # per name written: the forename as its initial only
    forename_missing: float = 0.0  # per name written: the forename left empty
    name_swap: float = 0.0  # per name written: forename and surname swapped
    surname_double: float = 0.0  # per name written: a hyphenated or double-barrelled surname
    surname_changed: float = 0.0  # per name written: another surname (marriage, divorce)
    uprn_wrong: float = 0.0  # per record: the UPRN of another dwelling of the district
    street_typo: float = 0.0  # per record: one typo in the street name
    house_number_missing: float = 0.0  # per record of a house: the house number left out
    flat_split: float = 0.0  # per record of a flat without a building name: flat on line 1, house on line 2
    postcode_typo: float = 0.0  # per record: one character of the inward code wrong
    postcode_missing: float = 0.0  # per record: no postcode (a claim is still valid, C19; an account is quarantined)
    uc_nino_mistyped: float = 0.0  # per UC award: every NINO on it has two digits swapped (universal_credit.py)


@dataclass
class Account:
    """A council-tax account: the liable person and the account's money."""

    account_ref: str
    dwelling: Dwelling
    liable: Person
    band: str
    annual_charge: float
    single_person_discount: bool
    disabled_band_reduction: bool
    exemption_class: str
    ctr_annual: float
    arrears: float
    recovery_stage: str
    liability_start: dt.date
    structural_noise: str = ""  # liable_other, neighbour_same_surname or namesake_relative (hard), else ''


@dataclass
class NoiseLog:
    """Truth rows: what noise was applied to which record (no raw value is ever logged)."""

    lad_code: str
    rows: list[tuple[str, ...]] = field(default_factory=list)

    def add(self, kind: str, ref: str, noise: str, role: str = "", detail: str = "") -> None:
        self.rows.append((self.lad_code, kind, ref, noise, role, detail))


def _money(value: float) -> str:
    return f"{value + 0.0:.2f}"  # + 0.0 turns -0.0 into 0.0; amounts are never negative


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _person_columns(prefix: str, person: Person | None, nino: NinoMaker, with_ids: bool = True
                    ) -> dict[str, str]:
    if person is None:
        return {f"{prefix}_nino": "", f"{prefix}_forename": "", f"{prefix}_surname": "",
                f"{prefix}_birth_date": ""}
    return {
        f"{prefix}_nino": nino.nino(person.number) if with_ids else "",
        f"{prefix}_forename": person.forename,
        f"{prefix}_surname": person.surname,
        f"{prefix}_birth_date": person.birth_date.isoformat() if with_ids else "",
    }


def _address_columns(d: Dwelling) -> dict[str, str]:
    line1, line2, town = d.address()
    return {"address_line_1": line1, "address_line_2": line2, "town": town, "postcode": d.postcode}


def claim_row(claim_ref: str, claim: Claim, dwelling: Dwelling, nino: NinoMaker) -> dict[str, str]:
    """The raw benefits row of a claim, canonical (before noise)."""
    h = claim.household
    return {
        "claim_ref": claim_ref,
        "uprn": str(dwelling.uprn),
        **_address_columns(dwelling),
        **_person_columns("claimant", h.claimant, nino),
        **_person_columns("partner", h.partner, nino),
        "adults": str(h.adults),
        "children": str(len(h.child_ages)),
        "child_ages": ";".join(str(a) for a in h.child_ages),
        "non_dependants": str(h.non_dependants),
        "tenure": claim.tenure,
        "rent_weekly": _money(claim.rent),
        "council_tax_weekly": _money(claim.council_tax_weekly),
        "hb_weekly": _money(claim.hb),
        "ctr_weekly": _money(claim.ctr),
        "uc_monthly": _money(claim.uc_monthly),
        "earnings_weekly": _money(h.earnings),
        "state_pension_weekly": _money(h.state_pension),
        "private_pension_weekly": _money(h.private_pension),
        "pension_credit_weekly": _money(h.pension_credit),
        "disability_benefit_weekly": _money(h.disability),
        "carers_allowance_weekly": _money(h.carers_allowance),
        "child_benefit_weekly": _money(h.child_benefit),
        "other_income_weekly": _money(h.other_income),
        "capital": _money(h.capital),
        "severe_disability": _flag(h.severe_disability),
        "carer": _flag(h.carer),
        "claim_start_date": claim.claim_start.isoformat(),
    }


def account_row(a: Account, nino: NinoMaker, with_ids: bool) -> dict[str, str]:
    """The raw council-tax row of an account, canonical (before noise)."""
    return {
        "account_ref": a.account_ref,
        "uprn": str(a.dwelling.uprn),
        **_address_columns(a.dwelling),
        **_person_columns("liable", a.liable, nino, with_ids),
        "band": a.band,
        "annual_charge": _money(a.annual_charge),
        "single_person_discount": _flag(a.single_person_discount),
        "disabled_band_reduction": _flag(a.disabled_band_reduction),
        "exemption_class": a.exemption_class,
        "ctr_annual": _money(a.ctr_annual),
        "arrears": _money(a.arrears),
        "recovery_stage": a.recovery_stage,
        "liability_start_date": a.liability_start.isoformat(),
    }


def _typo(rng: random.Random, word: str) -> str:
    """A typo that is not also an address word (so no name can pass for part of an address)."""
    for _ in range(50):
        out = typo(rng, word)
        if out.lower() not in VOCABULARY:
            return out
    return word + "x"


def add_noise(rng: random.Random, row: dict[str, str], kind: str, ref: str, dwelling: Dwelling,
              rates: NoiseRates, taken_uprns: set[int], log: NoiseLog, other_uprn: int = 0) -> None:
    """Apply record noise in place (names, UPRN, postcode, and for claims the address); log each."""
    roles = ("claimant", "partner") if kind == "benefits" else ("liable",)
    nickname_p = min(rates.nickname / nickname_share(), 1.0)
    for role in roles:
        forename = row[f"{role}_forename"]
        if not forename:
            continue
        if rng.random() < nickname_p and nicknames_of(forename):
            row[f"{role}_forename"] = rng.choice(nicknames_of(forename))
            log.add(kind, ref, "nickname", role, "forename")
        if rng.random() < rates.name_typo:
            part = "forename" if rng.random() < 0.5 else "surname"
            word = row[f"{role}_{part}"]
            row[f"{role}_{part}"] = _typo(rng, word)
            log.add(kind, ref, "name_typo", role, part)
        _hard_name_noise(rng, row, kind, ref, role, rates, log)
    r = rng.random()
    if r < rates.uprn_missing:
        row["uprn"] = ""
        log.add(kind, ref, "uprn_missing")
    elif r < rates.uprn_missing + rates.uprn_mistyped:
        row["uprn"] = str(mistype_uprn(rng, dwelling.uprn, taken_uprns))
        log.add(kind, ref, "uprn_mistyped", "", f"true_uprn={dwelling.uprn}")
    elif other_uprn and r < rates.uprn_missing + rates.uprn_mistyped + rates.uprn_wrong:
        row["uprn"] = str(other_uprn)
        log.add(kind, ref, "uprn_wrong", "", f"true_uprn={dwelling.uprn}")
    if rng.random() < rates.postcode_format:
        row["postcode"], style = postcode_variant(rng, dwelling.postcode)
        log.add(kind, ref, "postcode_format", "", style)
    if kind == "benefits" and rng.random() < rates.address_format:
        (row["address_line_1"], row["address_line_2"], row["town"]), styles = address_variant(rng, dwelling)
        log.add(kind, ref, "address_format", "", styles)
    _hard_address_noise(rng, row, kind, ref, dwelling, rates, log)


def _drawn(rng: random.Random, rate: float) -> bool:
    """True at ``rate``; draws a random number only when the rate is above 0 (``typical`` stays byte-identical)."""
    return rate > 0 and rng.random() < rate


def _hard_name_noise(rng: random.Random, row: dict[str, str], kind: str, ref: str, role: str, rates: NoiseRates,
                     log: NoiseLog) -> None:
    """Name noise that ``typical`` does not use (every rate 0 there, and then no random draw)."""
    fore, sur = f"{role}_forename", f"{role}_surname"
    if _drawn(rng, rates.name_phonetic):
        part = "forename" if rng.random() < 0.5 else "surname"
        spelt = phonetic(rng, row[f"{role}_{part}"])
        if spelt and spelt.lower() not in VOCABULARY:
            row[f"{role}_{part}"] = spelt
            log.add(kind, ref, "name_phonetic", role, part)
    if _drawn(rng, rates.surname_changed):
        other = rng.choice(SURNAMES)
        if other != row[sur]:
            row[sur] = other
            log.add(kind, ref, "surname_changed", role, "surname")
    if _drawn(rng, rates.surname_double):
        other = rng.choice(SURNAMES)
        hyphen = rng.random() < 0.5
        if other != row[sur] and not set(other.lower().split()) & VOCABULARY:
            row[sur] = f"{other}-{row[sur]}" if hyphen else f"{row[sur]} {other}"
            log.add(kind, ref, "surname_double", role, "hyphenated" if hyphen else "double_barrelled")
    if _drawn(rng, rates.name_swap):
        row[fore], row[sur] = row[sur], row[fore]
        log.add(kind, ref, "name_swap", role)
    if _drawn(rng, rates.name_initial) and len(row[fore]) > 1:
        row[fore] = row[fore][0].upper()
        log.add(kind, ref, "name_initial", role, "forename")
    elif _drawn(rng, rates.forename_missing) and row[sur]:
        row[fore] = ""
        log.add(kind, ref, "forename_missing", role, "forename")


def _hard_address_noise(rng: random.Random, row: dict[str, str], kind: str, ref: str, dwelling: Dwelling,
                        rates: NoiseRates, log: NoiseLog) -> None:
    """Address and postcode noise that ``typical`` does not use (no random draw at rate 0)."""
    lines = ("address_line_1", "address_line_2")
    if dwelling.flat is not None and not dwelling.building and _drawn(rng, rates.flat_split):
        split = flat_split(row["address_line_1"], row["address_line_2"])
        if split:
            row["address_line_1"], row["address_line_2"] = split
            log.add(kind, ref, "flat_split")
    if dwelling.flat is None and _drawn(rng, rates.house_number_missing):
        line1 = without_house_number(row["address_line_1"], dwelling.number)
        if line1 != row["address_line_1"]:
            row["address_line_1"] = line1
            log.add(kind, ref, "house_number_missing")
    if _drawn(rng, rates.street_typo):
        for col in lines:
            typoed = mistype_street(rng, row[col], dwelling.street_base)
            if typoed != row[col]:
                row[col] = typoed
                log.add(kind, ref, "street_typo")
                break
    if _drawn(rng, rates.postcode_missing):
        row["postcode"] = ""
        log.add(kind, ref, "postcode_missing")
    elif _drawn(rng, rates.postcode_typo):
        row["postcode"] = mistype_postcode(rng, row["postcode"])
        log.add(kind, ref, "postcode_typo", "", "inward")
