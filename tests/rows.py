"""Hand-made valid input rows and a CSV writer, shared by the ingest and validation tests."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

from pipelines.pseudonymise import SAMPLE_KEY, keyed_hash, name_encoding, nino_key
from schemas.columns import column_specs
from schemas.inputs import model_for

MONEY_ZERO = {
    "rent_weekly": "95.50", "council_tax_weekly": "30.00", "hb_weekly": "80.00", "ctr_weekly": "25.00",
    "uc_monthly": "0", "earnings_weekly": "0", "state_pension_weekly": "221.20", "private_pension_weekly": "20",
    "pension_credit_weekly": "0", "disability_benefit_weekly": "0", "carers_allowance_weekly": "0",
    "child_benefit_weekly": "0", "other_income_weekly": "0", "capital": "1200.00",
}


def benefits_row(ref: str = "B1", **changes: str) -> dict[str, str]:
    """A valid pseudonymised benefits row as text, with changes applied."""
    row = {
        "claim_ref": ref, "uprn": "100062000001", "address_line_1": "Flat 2, 10 High Street", "address_line_2": "",
        "town": "Ashford", "postcode": "tn23 1aa", "claimant_key": nino_key(SAMPLE_KEY, "AB123456C"),
        "claimant_name": name_encoding(SAMPLE_KEY, "Ann", "Lee"),
        "claimant_birth_date": "1950-03-01", "partner_key": "", "partner_name": "", "partner_birth_date": "",
        "adults": "1", "children": "0", "child_ages": "", "non_dependants": "", "tenure": "council",
        **MONEY_ZERO, "severe_disability": "N", "carer": "", "claim_start_date": "2020-01-06",
    }
    row.update(changes)
    return row


def council_tax_row(ref: str = "A1", **changes: str) -> dict[str, str]:
    """A valid pseudonymised council-tax row as text, with changes applied."""
    row = {
        "account_ref": ref, "uprn": "100062000001", "address_line_1": "2/10 High St", "address_line_2": "",
        "town": "Ashford", "postcode": "TN23 1AA", "liable_key": "",
        "liable_name": name_encoding(SAMPLE_KEY, "Ann", "Lee"),
        "liable_birth_date": "", "band": "B", "annual_charge": "1750.00", "single_person_discount": "true",
        "disabled_band_reduction": "false", "exemption_class": "", "ctr_annual": "1300.00", "arrears": "0",
        "recovery_stage": "none", "liability_start_date": "2019-05-01",
    }
    row.update(changes)
    return row


def header(kind: str) -> list[str]:
    """The pseudonymised model's columns in order."""
    return [s.name for s in column_specs(model_for(kind))]


def write_csv(path: Path, rows: list[dict[str, str]], columns: list[str] | None = None,
              newline: str = "\n", encoding: str = "utf-8") -> Path:
    """Write rows as CSV with the given columns (default: the first row's keys)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    cols = columns or list(rows[0])
    with path.open("w", newline="", encoding=encoding) as handle:
        writer = csv.DictWriter(handle, fieldnames=cols, lineterminator=newline, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def universal_credit_row(ap_start: str = "2026-10-15", **changes: str) -> dict[str, str]:
    """A valid pseudonymised Universal Credit row (one award's assessment period) as text, with changes."""
    start = dt.date.fromisoformat(ap_start)
    end = (start.replace(day=1) + dt.timedelta(days=32)).replace(day=start.day) - dt.timedelta(days=1)
    row = {
        "award_ref": keyed_hash(SAMPLE_KEY, "uc", "UC-1", 64), "notification_type": "change",
        "ap_start": ap_start, "ap_end": end.isoformat(), "uprn": "100062000001",
        "address_line_1": "Flat 2, 10 High Street", "address_line_2": "", "town": "Ashford", "postcode": "TN23 1AA",
        "claimant_key": nino_key(SAMPLE_KEY, "AB123456C"), "claimant_name": name_encoding(SAMPLE_KEY, "Ann", "Lee"),
        "claimant_birth_date": "1990-03-01", "partner_key": "", "partner_name": "", "partner_birth_date": "",
        "adults": "1", "children": "2", "child_ages": "2;9", "standard_allowance": "400.14",
        "child_element": "631.66", "disabled_child_element": "0", "lcwra_element": "0", "carer_element": "0",
        "childcare_element": "0", "housing_element": "0", "earnings_monthly": "350.00", "other_income_monthly": "0",
        "capital": "0", "benefit_cap_monthly": "0", "sanction_monthly": "0", "award_monthly": "850.00",
        "deductions_monthly": "0", "council_tax_deduction_monthly": "0",
    }
    row.update(changes)
    return row


def read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """A CSV file's header and rows (as :func:`write_csv` writes them)."""
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


def key_file(folder: Path, content: bytes, mode: int = 0o600) -> Path:
    """A key file ``folder/key`` holding ``content``, readable by its owner only (by default)."""
    path = folder / "key"
    path.write_bytes(content)
    path.chmod(mode)
    return path
