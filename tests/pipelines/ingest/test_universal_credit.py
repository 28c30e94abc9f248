"""The optional Universal Credit extract (TAKEUP.md section 1): validation, planning, pseudonymising, hub load."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import duckdb
import pytest
from pydantic import ValidationError

from pipelines.hub_database import load_hub
from pipelines.ingest.district import ingest_district, ingest_reference
from pipelines.ingest.expectations import expectation_specs, suite_columns
from pipelines.ingest.plan import plan_district
from pipelines.ingest.validate import validate_path
from pipelines.pseudonymise import pseudonymise_file
from schemas.inputs import model_for
from tests.cli import AS_OF_DATE as AS_OF
from tests.rows import benefits_row, council_tax_row, header, universal_credit_row, write_csv

KIND = "universal_credit"
LAD = "E07000105"


def _check(tmp_path: Path, rows: list[dict[str, str]]):
    path = write_csv(tmp_path / "universal_credit_2026-11-01.csv", rows, header(KIND))
    return validate_path(path, KIND, AS_OF, LAD)


def test_three_assessment_periods_are_valid_and_typed(tmp_path: Path) -> None:
    rows = [universal_credit_row(start) for start in ("2026-08-15", "2026-09-15", "2026-10-15")]
    result = _check(tmp_path, rows)
    assert result.report.rows_valid == 3 and result.quarantine.num_rows == 0
    valid = result.valid.to_pylist()
    assert valid[2]["ap_end"] == dt.date(2026, 11, 14) and str(valid[2]["earnings_monthly"]) == "350.00"
    assert valid[0]["lad_code"] == LAD and valid[0]["council_tax_deduction_monthly"] == 0


@pytest.mark.parametrize(("column", "bad", "reason"), [
    ("adults", "3", "adults must be 1 or 2 on a Universal Credit award"),
    ("ap_end", "2026-10-14", "ap_end must not be before ap_start"),
    ("child_ages", "2", "child_ages must give one age per child"),
    ("notification_type", "renewal", None),
    ("award_monthly", "-1.00", None),
    ("claimant_key", "", None),
    ("award_ref", "UC-1", None),
])
def test_each_rule_quarantines_its_column(tmp_path: Path, column: str, bad: str, reason: str | None) -> None:
    result = _check(tmp_path, [universal_credit_row("2026-09-15"), universal_credit_row(**{column: bad})])
    problems = result.quarantine.to_pylist()
    assert [(p["line"], p["column"]) for p in problems] == [(3, column)]
    if reason:
        assert problems[0]["reason"] == reason
    with pytest.raises(ValidationError):
        model_for(KIND).model_validate(universal_credit_row(**{column: bad}), context={"as_of": AS_OF})
    model_for(KIND).model_validate(universal_credit_row(), context={"as_of": AS_OF})


def test_award_and_period_are_unique_together(tmp_path: Path) -> None:
    other = universal_credit_row(award_ref="b" * 64)
    result = _check(tmp_path, [universal_credit_row("2026-09-15"), universal_credit_row(), other,
                               universal_credit_row()])
    problems = result.quarantine.to_pylist()
    assert [(p["line"], p["column"]) for p in problems] == [(3, "award_ref"), (5, "award_ref")]
    assert problems[0]["reason"] == "award_ref and ap_start appear together on 2 rows of the file (first on line 3)"
    assert ("ExpectCompoundColumnsToBeUnique", {"column_list": ["award_ref", "ap_start"]}) in expectation_specs(KIND)
    assert {"award_ref", "ap_start"} <= set(suite_columns(KIND))


def test_plan_takes_the_newest_award_file_and_notes_nothing_when_absent(tmp_path: Path) -> None:
    folder = tmp_path / LAD
    write_csv(folder / "benefits_2026-11-01.csv", [benefits_row()], header("benefits"))
    write_csv(folder / "council_tax_2026-11-01.csv", [council_tax_row()], header("council_tax"))
    plan = plan_district(folder, AS_OF)
    assert [e.kind for e in plan.extracts] == ["benefits", "council_tax"] and plan.notes == []
    write_csv(folder / "universal_credit_2026-10-01.csv", [universal_credit_row()], header(KIND))
    write_csv(folder / "universal_credit_2026-11-01.csv", [universal_credit_row()], header(KIND))
    write_csv(folder / "universal_credit_2099-01-01.csv", [universal_credit_row()], header(KIND))
    plan = plan_district(folder, AS_OF)
    chosen = {e.kind: e.path.name for e in plan.extracts}
    assert chosen[KIND] == "universal_credit_2026-11-01.csv" and plan.previous[KIND].name.endswith("10-01.csv")


def test_ingest_and_hub_load_with_and_without_an_award_file(tmp_path: Path) -> None:
    landing, staging = tmp_path / "landing", tmp_path / "staging"
    for lad, with_uc in ((LAD, True), ("E07000106", False)):
        write_csv(landing / lad / "benefits_2026-11-01.csv", [benefits_row()], header("benefits"))
        write_csv(landing / lad / "council_tax_2026-11-01.csv", [council_tax_row()], header("council_tax"))
        if with_uc:
            write_csv(landing / lad / "universal_credit_2026-11-01.csv",
                      [universal_credit_row(), universal_credit_row("2026-09-15", adults="3")], header(KIND))
        section = ingest_district(plan_district(landing / lad, AS_OF), AS_OF, staging, check_tables=False)
        assert [f["kind"] for f in section["files"]] == ["benefits", "council_tax", *([KIND] if with_uc else [])]
    ingest_reference(landing, AS_OF, staging)
    con = duckdb.connect()
    counts = load_hub(con, staging, ["E07000106"])
    assert counts[KIND] == 0 and con.execute(f"SELECT count(*) FROM {KIND}").fetchone() == (0,)
    counts = load_hub(con, staging, [LAD, "E07000106"])
    assert (counts[KIND], counts["quarantine"]) == (1, 1), counts
    types = dict(con.execute("SELECT column_name, data_type FROM information_schema.columns "
                             f"WHERE table_name = '{KIND}'").fetchall())
    assert types["ap_start"] == "DATE" and types["award_monthly"] == "DECIMAL(18,2)"


def test_pseudonymise_hashes_the_claim_reference_and_people(tmp_path: Path) -> None:
    key = tmp_path / "key"
    key.write_bytes(b"test-key-for-pseudonymise-0123456789abcdef")  # a strong key: weak ones are refused
    key.chmod(0o600)
    pseudo = universal_credit_row()
    raw_row = {c: pseudo.get(c, "") for c in model_for(KIND, raw=True).model_fields}
    raw_row.update(uc_claim_ref="UC-998877", claimant_nino="AB123456C", claimant_forename="Zebedee",
                   claimant_surname="Quillfeather")
    raw = write_csv(tmp_path / "raw.csv", [raw_row], list(model_for(KIND, raw=True).model_fields))
    out = tmp_path / "out.csv"
    report = pseudonymise_file(key, KIND, raw, out)
    assert report.rows_written == 1
    with out.open() as f:
        reader = csv.DictReader(f)
        assert reader.fieldnames == header(KIND)
        row = next(reader)
    assert len(row["award_ref"]) == 64 and len(row["claimant_key"]) == 64 and row["claimant_name"].startswith("v2|")
    text = out.read_text()
    assert all(v not in text for v in ("UC-998877", "AB123456C", "Zebedee", "Quillfeather"))
    assert _check(tmp_path, [row]).report.rows_valid == 1
