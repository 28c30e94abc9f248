"""Ground truth of the synthetic sample (``OUT/_truth/``), and the CSV writer the generator uses.

The truth holds references, person and household ids, noise labels and expected figures:
never a raw name or NINO, so it is safe beside pseudonymised extracts. The pipeline never
reads it; tests and the linkage benchmarks do.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from pipelines.synthetic.money import PENSIONER_TYPES, Claim
from schemas.text import csv_safe

LINK_COLUMNS = ["lad_code", "claim_ref", "account_ref"]
PERSON_COLUMNS = ["lad_code", "kind", "ref", "role", "person_id"]
NOISE_COLUMNS = ["lad_code", "kind", "ref", "noise", "role", "detail"]
CLAIM_COLUMNS = ["lad_code", "claim_ref", "household_id", "household_type", "pensioner", "on_uc", "tenure",
                 "pension_credit_entitled", "pension_credit_receiving", "pension_credit_missing",
                 "pension_credit_value_annual", "cashflow_monthly_claim", "moved"]
UC_COLUMNS = ["lad_code", "award_ref", "household_id", "claim_ref", "account_ref", "live",
              "nil_award", "noise"]
TAKEUP_COLUMNS = ["lad_code", "source", "ref", "check", "confidence", "value_annual"]

README = """# Ground truth of this synthetic sample

Written by `povertylink sample`; the pipeline never reads this folder. Nothing here is a raw
name or National Insurance number: only references, synthetic ids and labels.

- `links.csv` (lad_code, claim_ref, account_ref): the true claim-to-account links, one per
  claim that has an account (claims without one are absent). A moved household's older claim
  links to the account at its old address, still in its name.
- `persons.csv` (lad_code, kind [benefits|council_tax], ref, role [claimant|partner|liable],
  person_id): the synthetic person behind each named person of each record. The same person
  has the same person_id in every record and district (moved households appear in two).
- `noise.csv` (lad_code, kind, ref, noise, role, detail): every noise applied to a record:
  name_typo and nickname (per name written; detail says forename or surname), uprn_missing,
  uprn_mistyped (detail gives the true UPRN), postcode_format and address_format (detail
  names the style), liable_is_partner (the account is in the claimant's partner's name),
  moved (the household moved here; detail names the district of its older claim),
  moved_stale (that older claim; detail names where the household lives now) and no_account
  (the claim's dwelling has no council-tax account in the extract). The rates are constants
  of `pipelines/synthetic/generator.py`.
- `claims.csv`: one row per claim: household_id (the same for a moved household's two
  claims), household_type (single_pensioner, pensioner_couple, mixed_age_couple,
  single_adult, couple_no_children, lone_parent, couple_with_children), pensioner (everyone
  over State Pension age), on_uc, tenure, and Pension Credit as RULES.md 2026/27 sees the
  claim row on 2026-11-20: entitled (income below the guarantee), receiving, missing
  (entitled and not receiving) and the annual value missed; cashflow_monthly_claim is the
  RULES.md cashflow from the claim row alone, with no EPC rating (the pipeline uses the
  linked account's charge and the EPC where known, so its figure can differ slightly).
"""
UC_README = """- `universal_credit.csv`: one row per Universal Credit award (`pipelines/synthetic/universal_credit.py`
  says how many and why): award_ref (the keyed hash of DWP's claim reference under the public
  SAMPLE_KEY, as in the pseudonymised extract; the raw reference is not kept), household_id,
  claim_ref (the benefits claim the award belongs to; empty for a UC-only household), account_ref
  (the dwelling's account), live (false when the latest assessment period is a termination: the
  scorer drops it), nil_award, and noise
  (`nino_mistyped`: every NINO on the award has two digits swapped, so it joins its claim only through the
  probabilistic fallback).
- `takeup.csv` (lad_code, source, ref, check, confidence, value_annual): every take-up check of
  `docs/TAKEUP.md` that should flag, worked in Python (`pipelines/synthetic/takeup_truth.py`) on the true
  values as of the extract date with that tax year's parameters, when each claim is linked to its true
  account and each award joined to its true claim. source is claim, both (a claim with its award; ref the
  claim_ref), uc (a UC-only household; ref as the scorer names it: 'UC-' and the first 16 hex digits of
  award_ref) or account (check not_known_arrears, TAKEUP.md 2h; ref the account_ref).
  value_annual is pounds a year (2h: the arrears), empty where the value is not known. Checks that do not
  flag are absent. The renting pensioners on Pension Credit whose claim has no Housing Benefit (2g,
  `HB_GAP_RATE` of `universal_credit.py`) show here as hb_pensioner.
"""


def write_csv(path: Path, header: list[str], rows: Iterable[list[str] | tuple[str, ...]]) -> None:
    """UTF-8 CSV with a header row, '\\n' line ends, minimal quoting."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(header)
        writer.writerows([csv_safe(v) if isinstance(v, str) else v for v in row] for row in rows)


class CsvStream:
    """A CSV file written a batch at a time (UTF-8, header row, '\\n' line ends)."""

    def __init__(self, path: Path, header: list[str]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.file: IO[str] = path.open("w", encoding="utf-8", newline="")
        self.writer: Any = csv.writer(self.file, lineterminator="\n")
        self.writer.writerow(header)
        self.rows = 0

    def write(self, rows: list[list[str]] | list[tuple[str, ...]]) -> None:
        self.writer.writerows([csv_safe(v) if isinstance(v, str) else v for v in row] for row in rows)
        self.rows += len(rows)

    def close(self) -> None:
        self.file.close()


class TruthWriter:
    """Collects one district's truth rows at a time and appends them to the truth files.

    Every row starts with its district's code, districts come in code order and, within one,
    the generator adds links, persons and claims in reference order (noise is sorted here),
    so the files are sorted as a whole while only one district is held in memory.
    """

    def __init__(self, folder: Path, readme_extra: str = "", universal_credit: bool = False) -> None:
        self.folder, self.readme_extra, self.universal_credit = folder, readme_extra, universal_credit
        self.links: list[tuple[str, ...]] = []
        self.persons: list[tuple[str, ...]] = []
        self.noises: list[tuple[str, ...]] = []
        self.claims: list[tuple[str, ...]] = []
        self.awards: list[tuple[str, ...]] = []
        self.takeups: list[tuple[str, ...]] = []
        self.files = {
            "links": CsvStream(folder / "links.csv", LINK_COLUMNS),
            "persons": CsvStream(folder / "persons.csv", PERSON_COLUMNS),
            "noise": CsvStream(folder / "noise.csv", NOISE_COLUMNS),
            "claims": CsvStream(folder / "claims.csv", CLAIM_COLUMNS),
        }
        if universal_credit:  # written only with the UC extracts, so a sample without them has the files it had
            self.files["universal_credit"] = CsvStream(folder / "universal_credit.csv", UC_COLUMNS)
            self.files["takeup"] = CsvStream(folder / "takeup.csv", TAKEUP_COLUMNS)

    def __enter__(self) -> TruthWriter:
        return self

    def __exit__(self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def link(self, lad: str, claim_ref: str, account_ref: str) -> None:
        self.links.append((lad, claim_ref, account_ref))

    def person(self, lad: str, kind: str, ref: str, role: str, person_id: str) -> None:
        self.persons.append((lad, kind, ref, role, person_id))

    def noise(self, rows: list[tuple[str, ...]]) -> None:
        self.noises.extend(rows)

    def claim(self, lad: str, ref: str, c: Claim, moved: str, cashflow: float) -> None:
        h = c.household
        self.claims.append((
            lad, ref, h.household_id, h.kind, _flag(h.kind in PENSIONER_TYPES), _flag(c.on_uc), c.tenure,
            _flag(h.pc_entitled), _flag(h.pension_credit > 0), _flag(h.pc_value_annual > 0),
            f"{h.pc_value_annual:.2f}", f"{cashflow:.2f}", moved,
        ))

    def award(self, row: tuple[str, ...]) -> None:
        self.awards.append(row)

    def takeup(self, rows: list[tuple[str, ...]]) -> None:
        self.takeups.extend(rows)

    def flush(self) -> None:
        """Append the district's rows and forget them."""
        self.noises.sort()
        self.takeups.sort()
        for name, rows in (("links", self.links), ("persons", self.persons), ("noise", self.noises),
                           ("claims", self.claims), ("universal_credit", self.awards), ("takeup", self.takeups)):
            if name in self.files:
                self.files[name].write(rows)
            rows.clear()

    def close(self) -> None:
        self.flush()
        for f in self.files.values():
            f.close()
        readme = README + (UC_README if self.universal_credit else "")
        (self.folder / "README.md").write_text(readme + self.readme_extra, encoding="utf-8")


def _flag(value: bool) -> str:
    return "true" if value else "false"
