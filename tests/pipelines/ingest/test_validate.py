"""Validation: every rule of every schema quarantines the right column with its reason; files
that are odd (BOM, CRLF, empty, header only, Latin-1, extra columns) are handled; counts reconcile;
and the vectorised SQL agrees with per-row pydantic."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import pytest
from pydantic import ValidationError

from pipelines.ingest.validate import validate_path
from schemas.inputs import model_for
from tests.cli import AS_OF_DATE as AS_OF
from tests.rows import benefits_row, council_tax_row, header, write_csv

CAPITAL_ABOVE = "must be at most 100,000,000 pounds (this column's plausible bound: see the data dictionary)"
RENT_ABOVE = "must be at most 5,000 pounds (this column's plausible bound: see the data dictionary)"

# (kind, column, bad text, expected reason): one case per rule of each schema.
RULE_CASES = [
    ("benefits", "claim_ref", "", "required value is missing"),
    ("benefits", "uprn", "12x", "not a whole number"),
    ("benefits", "uprn", "0", "must be at least 1"),
    ("benefits", "uprn", "1000000000000", "must be at most 999999999999"),
    ("benefits", "address_line_1", "  ", "required value is missing"),
    ("council_tax", "postcode", "", "required value is missing"),  # a claim's postcode is optional (C19)
    ("benefits", "postcode", "ZZ", "not a UK postcode"),
    ("benefits", "postcode", "CT1 1AAA", "not a UK postcode"),
    ("benefits", "claimant_key", "AB123456C", "not in the format made by 'povertylink pseudonymise'"),
    ("benefits", "claimant_name", "Ann Lee", "not in the format made by 'povertylink pseudonymise'"),
    ("benefits", "partner_name", "v1|aa", "not in the format made by 'povertylink pseudonymise'"),
    ("benefits", "claimant_birth_date", "", "required value is missing"),
    ("benefits", "claimant_birth_date", "12/31/1950", "looks like a US month-first date (MM/DD/YYYY): write YYYY-MM-DD "
     "or day-first DD/MM/YYYY"),
    ("benefits", "claimant_birth_date", "1950-3-1", "ambiguous date: a one-digit month or day; write YYYY-MM-DD"),
    ("benefits", "claimant_birth_date", "01/03/50", "ambiguous date: a two-digit year; write YYYY-MM-DD"),
    ("benefits", "claimant_birth_date", "31/02/1950", "not a valid date YYYY-MM-DD"),
    ("benefits", "claimant_birth_date", "0000-01-01", "not a valid date YYYY-MM-DD"),
    ("benefits", "claimant_birth_date", "21/11/2026", "is after the as-of date 2026-11-20"),
    ("benefits", "claimant_birth_date", "1950-02-30", "not a valid date YYYY-MM-DD"),
    ("benefits", "claimant_birth_date", "2026-11-21", "is after the as-of date 2026-11-20"),
    ("benefits", "partner_birth_date", "2027-01-01", "is after the as-of date 2026-11-20"),
    ("benefits", "adults", "", "required value is missing"),
    ("benefits", "adults", "0", "must be at least 1"),
    ("benefits", "adults", "1.5", "not a whole number"),
    ("benefits", "children", "-1", "must not be negative"),
    ("benefits", "child_ages", "3,4", "child_ages must be whole numbers separated by ';'"),
    ("benefits", "child_ages", "25", "a child age is above 19"),
    ("benefits", "non_dependants", "-2", "must not be negative"),
    ("benefits", "tenure", "squat", "not one of: council, housing_association, private_rented, owner_occupier, other"),
    ("benefits", "tenure", "", "required value is missing"),
    ("benefits", "rent_weekly", "-1.00", "must not be negative"),
    ("benefits", "rent_weekly", "12.345", "not an amount in pounds with up to two decimals"),
    ("benefits", "rent_weekly", "", "required value is missing"),
    ("benefits", "uc_monthly", "abc", "not an amount in pounds with up to two decimals"),
    ("benefits", "uc_monthly", "1234,50", "ambiguous amount: a comma that is not a thousands separator (decimal "
     "comma?); write pounds as 1234.50"),
    ("benefits", "uc_monthly", "1.234,50", "ambiguous amount: a comma that is not a thousands separator (decimal "
     "comma?); write pounds as 1234.50"),
    ("benefits", "rent_weekly", "-£1,234.50", "must not be negative"),
    ("benefits", "rent_weekly", "£1,23.50", "ambiguous amount: a comma that is not a thousands separator (decimal "
     "comma?); write pounds as 1234.50"),
    ("benefits", "other_income_weekly", "NaN", "not an amount in pounds with up to two decimals"),
    ("benefits", "other_income_weekly", "inf", "not an amount in pounds with up to two decimals"),
    ("benefits", "other_income_weekly", "null", "not an amount in pounds with up to two decimals"),
    ("benefits", "adults", "\u0663", "not a whole number"),
    ("benefits", "uprn", "1" * 40, "must be at most 999999999999"),
    ("benefits", "postcode", "\u00df1 1AA", "not a UK postcode"),
    ("benefits", "tenure", " council", "not one of: council, housing_association, private_rented, owner_occupier, "
     "other"),
    ("benefits", "capital", "99999999999999999.00", CAPITAL_ABOVE),
    ("benefits", "capital", "£99,999,999,999,999,999.00", CAPITAL_ABOVE),
    ("benefits", "capital", "100000000.01", CAPITAL_ABOVE),
    ("benefits", "rent_weekly", "9999999999999999.99", RENT_ABOVE),
    ("benefits", "rent_weekly", "5000.01", RENT_ABOVE),
    ("benefits", "uc_monthly", "£20,000.01", "must be at most 20,000 pounds (this column's plausible bound: see the "
     "data dictionary)"),
    ("benefits", "claimant_birth_date", "1899-12-31", "is before 1900-01-01: not a plausible date"),
    ("benefits", "claimant_birth_date", "0001-01-01", "is before 1900-01-01: not a plausible date"),
    ("benefits", "partner_birth_date", "01/01/1850", "is before 1900-01-01: not a plausible date"),
    ("benefits", "claim_start_date", "2099-01-01", "is after the as-of date 2026-11-20"),
    ("benefits", "severe_disability", "maybe", "not a boolean (true/false, Y/N, 1/0)"),
    ("benefits", "carer", "yes", "not a boolean (true/false, Y/N, 1/0)"),
    ("benefits", "claim_start_date", "2020-13-01", "not a valid date YYYY-MM-DD"),
    ("council_tax", "account_ref", "", "required value is missing"),
    ("council_tax", "uprn", "-5", "must be at least 1"),
    ("council_tax", "postcode", "12345", "not a UK postcode"),
    ("council_tax", "liable_key", "x" * 64, "not in the format made by 'povertylink pseudonymise'"),
    ("council_tax", "band", "I", "not one of: A, B, C, D, E, F, G, H"),
    ("council_tax", "annual_charge", "-10", "must not be negative"),
    ("council_tax", "annual_charge", "100000.01", "must be at most 100,000 pounds (this column's plausible bound: "
     "see the data dictionary)"),
    ("council_tax", "arrears", "1000000.01", "must be at most 1,000,000 pounds (this column's plausible bound: "
     "see the data dictionary)"),
    ("council_tax", "single_person_discount", "X", "not a boolean (true/false, Y/N, 1/0)"),
    ("council_tax", "exemption_class", "A",
     "not one of: B, C, D, E, F, G, H, I, J, K, L, M, N, O, P, Q, R, S, T, U, V, W"),
    ("council_tax", "ctr_annual", "1,300,00", "ambiguous amount: a comma that is not a thousands separator (decimal "
     "comma?); write pounds as 1234.50"),
    ("council_tax", "arrears", "", "required value is missing"),
    ("council_tax", "recovery_stage", "bailiff", "not one of: none, reminder, final_notice, summons, liability_order, "
     "enforcement_agent, attachment"),
    ("council_tax", "liable_birth_date", "3000-01-01", "is after the as-of date 2026-11-20"),
    ("council_tax", "liability_start_date", "yesterday", "not a valid date YYYY-MM-DD"),
]


def _row(kind: str, ref: str, **changes: str) -> dict[str, str]:
    return benefits_row(ref, **changes) if kind == "benefits" else council_tax_row(ref, **changes)


def _check(tmp_path: Path, kind: str, rows: list[dict[str, str]], columns: list[str] | None = None):
    path = write_csv(tmp_path / f"{kind}.csv", rows, columns or header(kind))
    return validate_path(path, kind, AS_OF, "E07000105")


@pytest.mark.parametrize(("kind", "column", "bad", "reason"), RULE_CASES)
def test_each_rule_quarantines_its_column_with_its_reason(tmp_path, kind, column, bad, reason):
    result = _check(tmp_path, kind, [_row(kind, "R1"), _row(kind, "R2", **{column: bad})])
    problems = result.quarantine.to_pylist()
    assert [(p["line"], p["column"], p["reason"]) for p in problems] == [(3, column, reason)]
    assert result.report.rows_read == 2 and result.report.rows_valid == 1 and result.report.rows_quarantined == 1
    assert result.valid.column("line").to_pylist() == [2]
    # the per-row pydantic model rejects the same row
    with pytest.raises(ValidationError):
        model_for(kind).model_validate(_row(kind, "R2", **{column: bad}), context={"as_of": AS_OF})


def test_a_claim_without_a_postcode_is_valid(tmp_path):
    """C19: a missing postcode is missing evidence; the claim is kept (its postcode null), never quarantined."""
    result = _check(tmp_path, "benefits", [_row("benefits", "R1"), _row("benefits", "R2", postcode="")])
    assert result.quarantine.num_rows == 0 and result.report.rows_valid == 2
    assert result.valid.column("postcode").to_pylist()[1] is None


def test_valid_rows_are_typed_and_normalised(tmp_path):
    result = _check(tmp_path, "benefits", [benefits_row("R1", postcode=" tn23  1aa ", severe_disability="Y",
                                                        carer="", non_dependants="", child_ages="3; 7", children="2")])
    row = result.valid.to_pylist()[0]
    assert row["postcode"] == "TN23 1AA"
    assert row["severe_disability"] is True and row["carer"] is False
    assert row["non_dependants"] == 0
    assert row["child_ages"] == "3;7"
    assert str(row["rent_weekly"]) == "95.50"
    assert row["claimant_birth_date"] == dt.date(1950, 3, 1)
    assert row["lad_code"] == "E07000105" and row["line"] == 2


def test_council_export_money_and_uk_dates_are_accepted_and_counted(tmp_path):
    rows = [benefits_row("R1", rent_weekly="£1,234.50", capital="1,200", claimant_birth_date="01/02/1950"),
            benefits_row("R2", rent_weekly="£95", claimant_birth_date="1/2/1950", claim_start_date="6/1/2020"),
            benefits_row("R3", rent_weekly="95.50"),
            benefits_row("R4", rent_weekly="£1,234.50", uc_monthly="1234,50")]  # quarantined: not counted
    result = _check(tmp_path, "benefits", rows)
    valid = result.valid.to_pylist()
    assert [str(r["rent_weekly"]) for r in valid] == ["1234.50", "95.00", "95.50"]
    assert str(valid[0]["capital"]) == "1200.00"
    assert [r["claimant_birth_date"] for r in valid] == [dt.date(1950, 2, 1)] * 2 + [dt.date(1950, 3, 1)]
    assert valid[1]["claim_start_date"] == dt.date(2020, 1, 6)
    assert result.report.normalised == {
        "rent_weekly": {"pound_sign_or_thousands": 2}, "capital": {"pound_sign_or_thousands": 1},
        "claimant_birth_date": {"uk_day_first_date": 2}, "claim_start_date": {"uk_day_first_date": 1}}
    assert result.report.as_dict()["normalised"] == result.report.normalised  # goes to the manifest
    assert [(p["line"], p["column"]) for p in result.quarantine.to_pylist()] == [(5, "uc_monthly")]


def test_valid_rows_can_be_written_straight_to_parquet(tmp_path):
    path = write_csv(tmp_path / "b.csv", [benefits_row("R1"), benefits_row("R2", adults="0")], header("benefits"))
    out = tmp_path / "out" / "benefits.parquet"
    result = validate_path(path, "benefits", AS_OF, "E07000105", valid_out=out)
    assert out.is_file() and result.valid_path == out
    assert result.valid.column("claim_ref").to_pylist() == ["R1"]
    assert result.report.rows_valid == 1 and result.report.reconciles


def test_child_ages_must_match_children(tmp_path):
    result = _check(tmp_path, "benefits", [benefits_row("R1", children="2", child_ages="4")])
    assert [(p["column"], p["reason"]) for p in result.quarantine.to_pylist()] == [
        ("child_ages", "child_ages must give one age per child")]


def test_duplicate_references_are_all_quarantined(tmp_path):
    result = _check(tmp_path, "council_tax", [council_tax_row("A1"), council_tax_row("A2"), council_tax_row("A1")])
    problems = result.quarantine.to_pylist()
    assert [(p["line"], p["column"]) for p in problems] == [(2, "account_ref"), (4, "account_ref")]
    assert problems[0]["reason"] == "account_ref appears on 2 rows of the file (first on line 2)"
    assert result.report.rows_valid == 1 and result.report.reconciles


def test_several_bad_columns_on_one_row_each_reported(tmp_path):
    result = _check(tmp_path, "benefits", [benefits_row("R1", adults="0", tenure="x", capital="-1")])
    assert sorted(p["column"] for p in result.quarantine.to_pylist()) == ["adults", "capital", "tenure"]
    assert result.report.rows_quarantined == 1


def test_missing_required_column_quarantines_the_whole_file(tmp_path):
    cols = [c for c in header("benefits") if c != "tenure"]
    result = _check(tmp_path, "benefits", [benefits_row("R1"), benefits_row("R2")], cols)
    assert result.report.status == "rejected"
    assert result.report.reason == "missing required column(s): tenure"
    assert result.valid.num_rows == 0
    assert [p["line"] for p in result.quarantine.to_pylist()] == [2, 3]
    assert result.report.reconciles


def test_missing_optional_column_is_filled_and_noted(tmp_path):
    cols = [c for c in header("benefits") if c not in ("claim_start_date", "carer")]
    result = _check(tmp_path, "benefits", [benefits_row("R1")], cols)
    assert result.report.status == "ok" and result.valid.num_rows == 1
    assert result.report.missing_optional_columns == ["carer", "claim_start_date"]
    assert result.valid.to_pylist()[0]["carer"] is False


def test_extra_unknown_columns_are_kept_out_and_reported(tmp_path):
    rows = [benefits_row("R1") | {"notes": "phoned 3/4"}]
    result = _check(tmp_path, "benefits", rows, [*header("benefits"), "notes"])
    assert result.report.unknown_columns == ["notes"]
    assert "notes" not in result.valid.column_names
    assert result.valid.num_rows == 1


def test_raw_identifier_columns_refuse_the_file(tmp_path):
    raw_cols = [c for c in header("benefits") if c not in ("claimant_key", "claimant_name")] + [
        "claimant_nino", "claimant_forename", "claimant_surname"]
    row = benefits_row("R1") | {"claimant_nino": "AB123456C", "claimant_forename": "Ann", "claimant_surname": "Lee"}
    result = _check(tmp_path, "benefits", [row], raw_cols)
    assert result.report.status == "rejected"
    assert result.report.reason.startswith("this looks like a raw extract: run pseudonymise at the district first")
    assert "raw identifier column(s): claimant_nino, claimant_forename, claimant_surname;" in result.report.reason
    assert result.valid.num_rows == 0
    assert "Lee" not in str(result.quarantine.to_pylist()) and "AB123456C" not in str(result.quarantine.to_pylist())


@pytest.mark.parametrize("spelling", [
    ["Claimant_Nino"], ["CLAIMANT_SURNAME"], ["Claimant nino"], ["nino"], ["forename", "surname"], ["Liable_NINO"],
    ["ni_number"], ["First Name", "Last-Name"], ["DOB"], ["date_of_birth"], ["Partner2 D.O.B."],
    ["National Insurance No."], ["Claimant\x07 nino"]])
def test_raw_identifiers_in_any_spelling_refuse_the_file(tmp_path, spelling):
    """Case, spaces, punctuation, a person prefix and a number do not hide a raw column; the values never show."""
    row = benefits_row("R1") | {s: "Zebedee" for s in spelling}
    result = _check(tmp_path, "benefits", [row, benefits_row("R2")], [*header("benefits"), *spelling])
    r = result.report
    assert r.status == "rejected" and r.rows_quarantined == 2 and result.valid.num_rows == 0
    shown = ", ".join("".join(c for c in s if c.isprintable()) for s in spelling)
    assert r.reason == ("this looks like a raw extract: run pseudonymise at the district first ('povertylink "
                        f"pseudonymise'); raw identifier column(s): {shown}; nothing from this file is used")
    assert "Zebedee" not in str(result.quarantine.to_pylist()) and "\x07" not in r.reason


@pytest.mark.parametrize("kind, extra", [("benefits", ["Claimant_Birth_Date_checked", "notes", "claimant_name_src"]),
                                         ("council_tax", ["nameplate", "surname_flag_count"]),
                                         ("epc", ["nino"])])
def test_ordinary_unknown_columns_are_not_taken_for_raw_identifiers(tmp_path, kind, extra):
    rows = {"benefits": [benefits_row("R1")], "council_tax": [council_tax_row("A1")],
            "epc": [{"uprn": "100", "current_energy_rating": "D"}]}[kind]
    columns = header(kind) if kind != "epc" else ["uprn", "current_energy_rating"]
    result = _check(tmp_path, kind, rows, [*columns, *extra])
    assert result.report.status == "ok" and result.report.unknown_columns == extra


def test_utf8_bom_and_crlf_are_accepted(tmp_path):
    path = write_csv(tmp_path / "b.csv", [benefits_row("R1"), benefits_row("R2")], header("benefits"),
                     newline="\r\n", encoding="utf-8-sig")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    result = validate_path(path, "benefits", AS_OF)
    assert result.report.status == "ok" and result.valid.num_rows == 2
    assert result.valid.column("claim_ref").to_pylist() == ["R1", "R2"]
    assert result.valid.column("claim_start_date").to_pylist()[0] == dt.date(2020, 1, 6)


def test_empty_file_is_rejected_with_reason(tmp_path):
    path = tmp_path / "benefits.csv"
    path.write_bytes(b"")
    result = validate_path(path, "benefits", AS_OF)
    assert result.report.status == "rejected" and "empty" in result.report.reason
    assert result.report.rows_read == 0 and result.report.reconciles


def test_header_only_file_has_no_rows_and_no_problems(tmp_path):
    path = tmp_path / "benefits.csv"
    path.write_text(",".join(header("benefits")) + "\n")
    result = validate_path(path, "benefits", AS_OF)
    assert result.report.status == "ok" and result.report.rows_read == 0 and result.valid.num_rows == 0


def test_non_utf8_bytes_quarantine_that_row_only(tmp_path):
    path = write_csv(tmp_path / "b.csv", [benefits_row("R1"), benefits_row("R2", town="Ashford"),
                                          benefits_row("R3")], header("benefits"))
    data = path.read_bytes().replace(b"Ashford", b"Ashf\xf6rd", 2)  # Latin-1 o-umlaut in rows 1 and 2
    path.write_bytes(data)
    result = validate_path(path, "benefits", AS_OF)
    problems = result.quarantine.to_pylist()
    assert [(p["line"], p["column"]) for p in problems] == [(2, "town"), (3, "town")]
    assert problems[0]["reason"] == "not valid UTF-8 text (is the file Latin-1?)"
    assert result.valid.column("claim_ref").to_pylist() == ["R3"]
    assert result.report.reconciles


def test_utf16_file_is_rejected_whole(tmp_path):
    path = tmp_path / "b.csv"
    text = ",".join(header("benefits")) + "\n" + ",".join(benefits_row("R1").values()) + "\n"
    path.write_bytes(text.encode("utf-16"))
    result = validate_path(path, "benefits", AS_OF)
    assert result.report.status == "rejected" and "UTF-16" in result.report.reason
    assert result.report.rows_read == 1 and result.report.rows_quarantined == 1


def _line(values: list[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(values)
    return buffer.getvalue().removesuffix("\n")


def test_ragged_rows_quoted_newlines_and_blank_lines_keep_true_line_numbers(tmp_path):
    cols = header("benefits")
    lines = [",".join(cols)]
    lines.append(_line(list(benefits_row("R1").values())))
    lines.append(_line(list(benefits_row("R2", address_line_2="Block A\nRear").values())))  # spans lines 3-4
    lines.append("")  # blank line 5
    lines.append("R9,only,three")  # line 6: ragged
    lines.append(_line(list(benefits_row("R4", adults="0").values())))  # line 7
    path = tmp_path / "b.csv"
    path.write_text("\n".join(lines) + "\n")
    result = validate_path(path, "benefits", AS_OF)
    problems = [(p["line"], p["column"], p["reason"]) for p in result.quarantine.to_pylist()]
    assert problems == [(6, None, f"the row has 3 fields; the header has {len(cols)}"),
                        (7, "adults", "must be at least 1")]
    assert result.valid.column("line").to_pylist() == [2, 3]
    assert result.valid.column("address_line_2").to_pylist()[1] == "Block A\nRear"
    assert result.report.blank_lines == 1
    assert result.report.rows_read == 4 and result.report.reconciles


@pytest.mark.parametrize("kind", ["benefits", "council_tax"])
def test_sql_and_pydantic_agree_row_by_row(tmp_path, kind):
    """Every RULE_CASES value of this kind, plus edge values, judged the same by both."""
    edge = {"benefits": [("adults", "1"), ("children", "0"), ("capital", "0.5"), ("postcode", "sw1a1aa"),
                         ("severe_disability", "TRUE"), ("carer", "0"), ("uprn", "999999999999"),
                         ("rent_weekly", "£1,234.50"), ("capital", "1,234,567"), ("capital", "-£0"),
                         ("rent_weekly", "5000.00"), ("rent_weekly", "£5,000"), ("capital", "100,000,000.00"),
                         ("claimant_birth_date", "1900-01-01"), ("claimant_birth_date", "01/01/1900"),
                         ("claim_start_date", "2026-11-20"), ("claim_start_date", "2026-11-21"),
                         ("capital", "00000000000000000001.00"), ("claimant_birth_date", "1/2/1950"),
                         ("claimant_birth_date", "29/02/2024"), ("claimant_birth_date", "29/02/2023"),
                         ("claim_start_date", "01/12/2020"), ("adults", "\u00a02 "), ("postcode", "ct1\u30001aa"),
                         ("tenure", "council "), ("child_ages", "\t"), ("address_line_1", "\x1f")],
            "council_tax": [("band", "H"), ("arrears", "0.00"), ("exemption_class", "W"), ("postcode", "EC1A 1BB"),
                            ("annual_charge", "£1,750"), ("liability_start_date", "13/12/2019"),
                            ("arrears", "1000000"), ("arrears", "1000000.01"),
                            ("liable_name", "\x1c" + council_tax_row()["liable_name"])]}
    cases = [(c, v) for k, c, v, _ in RULE_CASES if k == kind] + edge[kind]
    rows = [_row(kind, f"R{i}", **{col: val}) for i, (col, val) in enumerate(cases) if col not in
            ("claim_ref", "account_ref")]
    result = _check(tmp_path, kind, rows)
    sql_bad = {p["line"] - 2 for p in result.quarantine.to_pylist()}
    for i, row in enumerate(rows):
        try:
            model_for(kind).model_validate(row, context={"as_of": AS_OF})
            py_ok = True
        except ValidationError:
            py_ok = False
        assert py_ok == (i not in sql_bad), (row, py_ok)


def test_encoding_patterns_match_what_pseudonymise_makes():
    import re

    from pipelines.pseudonymise import SAMPLE_KEY, name_encoding, nino_key
    from schemas.columns import NAME_ENCODING_PATTERN, PERSON_KEY_PATTERN

    for fore, sur in [("Ann", "Lee"), ("David", "O'Brien-Smith"), ("Zoë", "Ng")]:
        assert re.fullmatch(NAME_ENCODING_PATTERN[1:-1], name_encoding(SAMPLE_KEY, fore, sur))
    assert re.fullmatch(PERSON_KEY_PATTERN[1:-1], nino_key(SAMPLE_KEY, "ab 12 34 56 c"))


def test_unique_integer_and_postcode_keys_of_the_county_files(tmp_path):
    epc = write_csv(tmp_path / "epc.csv", [{"uprn": "100", "current_energy_rating": "D"},
                                           {"uprn": "101", "current_energy_rating": "C"},
                                           {"uprn": "0100", "current_energy_rating": "E"}])
    result = validate_path(epc, "epc", AS_OF)
    assert [(p["line"], p["column"]) for p in result.quarantine.to_pylist()] == [(2, "uprn"), (4, "uprn")]
    assert result.valid.column("uprn").to_pylist() == [101]
    lookup = write_csv(tmp_path / "pc.csv", [
        {"postcode": "CT1 1AA", "lsoa21cd": "E01000001", "ward_code": "E05000001", "lad_code": "E07000106"},
        {"postcode": "CT1 1AB", "lsoa21cd": "E01000001", "ward_code": "E05000001", "lad_code": "E07000106"}])
    result = validate_path(lookup, "postcode_lookup", AS_OF)
    assert result.report.status == "ok" and result.valid.num_rows == 2
    assert result.valid.column("lad_code").to_pylist() == ["E07000106", "E07000106"]


@pytest.mark.parametrize("values, expected", [
    (["12 High St", "Flat 2", ""], False),
    (["12 High St", "Flat\n2", ""], True),
    (["12 High St\r", "Flat 2", ""], True),
    (["", "", ""], False),
    (["12 High St", "Flat\x002", ""], True),
    (["12 High St", "x" * 70_000, ""], True),
    (["12 High St", "x" * 30_000, "y" * 30_000], False),
])
def test_line_break_check_reads_every_value(values, expected):
    """The fast reader hands a batch to the exact path when any value holds CR, LF or NUL, or a row may come
    near ROW_LIMIT."""
    import pyarrow as pa

    from pipelines.ingest.reader import _needs_exact_path

    batch = pa.record_batch([pa.array(["a", "b", "c"]), pa.array(values)], names=["x", "y"])
    assert _needs_exact_path(batch) is expected
    tail = batch.slice(1)  # bytes outside a slice may raise a false alarm, never hide a break inside it
    assert _needs_exact_path(tail) or not any("\n" in v or "\r" in v or "\x00" in v for v in values[1:])


EDGE_VALUES = ["", " ", "a", " a ", "\u3000a\u00a0", "a\u0085", "\x1ca\x1f", "é", "aé", "é ", "\u2028é\u202f",
               "\ta\tb\t", "a" * 300 + " ", "!~", "\x7f", "\x84a"]


@pytest.mark.parametrize("chars", ["WHITESPACE", "PYDANTIC_WHITESPACE"])
def test_strip_sql_trims_as_python_does(chars):
    """The first/last code point shortcut of strip_sql gives exactly str.strip(chars), edge cases included."""
    import duckdb

    import schemas.columns as columns
    from pipelines.ingest.validation_sql import strip_sql

    strip = getattr(columns, chars)
    con = duckdb.connect()
    got = con.execute(f"SELECT {strip_sql('v', strip)} FROM unnest(?) AS u(v)", [EDGE_VALUES]).fetchall()
    assert [g for (g,) in got] == [v.strip(strip) for v in EDGE_VALUES]


def test_small_and_large_files_are_checked_alike(tmp_path, monkeypatch):
    """A file held in Arrow (up to HOLD_BYTES) and one streamed into DuckDB give the same outcome."""
    import pipelines.ingest.validate as validate

    rows = [benefits_row(f"C{i}") for i in range(40)]
    rows[7]["adults"] = "0"
    rows[9]["claim_ref"] = "C8"
    path = write_csv(tmp_path / "benefits_2026-11-01.csv", rows)
    held = validate_path(path, "benefits", AS_OF)
    monkeypatch.setattr(validate, "HOLD_BYTES", 0)
    monkeypatch.setattr(validate, "CHECK_ROWS", 12)
    streamed = validate_path(path, "benefits", AS_OF)
    assert held.valid.equals(streamed.valid) and held.quarantine.equals(streamed.quarantine)
    assert held.report.as_dict() == streamed.report.as_dict() and held.report.rows_quarantined == 3


def test_a_streamed_file_is_staged_in_line_order_in_small_row_groups(tmp_path, monkeypatch):
    """A file streamed into DuckDB is staged without a sort (a sort of every valid row of a district of
    240,000 dwellings did not fit the validator's memory limit) yet in line order, in row groups of about
    VALID_ROW_GROUP_ROWS (the writer holds one row group in memory; DuckDB rounds the size to its vectors)."""
    import pyarrow.parquet as pq

    import pipelines.ingest.validate as validate

    rows = [benefits_row(f"C{i:04d}") for i in range(4500)]
    rows[20]["adults"] = "0"
    path = write_csv(tmp_path / "benefits_2026-11-01.csv", rows)
    monkeypatch.setattr(validate, "HOLD_BYTES", 0)
    monkeypatch.setattr(validate, "CHECK_ROWS", 1000)
    monkeypatch.setattr(validate, "VALID_ROW_GROUP_ROWS", 2048)  # DuckDB's smallest (one vector)
    out = tmp_path / "valid.parquet"
    result = validate_path(path, "benefits", AS_OF, valid_out=out)
    staged = pq.ParquetFile(out)
    lines = staged.read(columns=["line"]).column("line").to_pylist()
    assert lines == [n for n in range(2, 4502) if n != 22] and result.report.rows_valid == 4499
    sizes = [staged.metadata.row_group(i).num_rows for i in range(staged.metadata.num_row_groups)]
    assert len(sizes) > 1 and sum(sizes) == 4499  # DuckDB's default: one row group of up to 122,880 rows


def test_a_file_with_too_many_problems_is_refused_whole(tmp_path, monkeypatch):
    """Past MAX_PROBLEMS a file is refused whole (each row once, with the one reason), not quarantined value by
    value: a million junk rows would otherwise make tens of millions of quarantine rows."""
    import pipelines.ingest.validate as validate

    monkeypatch.setattr(validate, "MAX_PROBLEMS", 5)
    rows = [benefits_row("R1"), benefits_row("R2", adults="0", tenure="x"), benefits_row("R3", adults="0", tenure="x"),
            benefits_row("R4", adults="0", tenure="x")]
    out = tmp_path / "valid.parquet"
    result = validate_path(write_csv(tmp_path / "b.csv", rows, header("benefits")), "benefits", AS_OF, valid_out=out)
    reason = ("more than 5 problems (6): the file is refused whole; is it the right file, or are its columns "
              "shifted?")
    assert (result.report.status, result.report.reason, result.report.rows_valid) == ("rejected", reason, 0)
    assert [(q["line"], q["column"], q["reason"]) for q in result.quarantine.to_pylist()] == [
        (line, None, reason) for line in (2, 3, 4, 5)]
    assert result.report.reconciles and result.valid.num_rows == 0 and result.report.normalised == {}
    monkeypatch.setattr(validate, "MAX_PROBLEMS", 6)
    assert validate_path(tmp_path / "b.csv", "benefits", AS_OF).report.status == "partial"


@pytest.mark.parametrize("rows_end", [",", "", ",,"])
def test_trailing_nameless_header_columns_are_dropped(tmp_path, rows_end):
    """Excel's trailing comma: the header's empty last names are dropped, and a row may or may not carry them;
    a row with more fields than the header still has is quarantined."""
    cols = header("benefits")
    lines = [",".join(cols) + ","] + [_line(list(benefits_row(f"R{i}").values())) + rows_end for i in (1, 2)]
    path = tmp_path / "b.csv"
    path.write_text("\n".join(lines) + "\n")
    result = validate_path(path, "benefits", AS_OF)
    if rows_end == ",,":
        assert [(p["line"], p["reason"]) for p in result.quarantine.to_pylist()] == [
            (2, f"the row has {len(cols) + 2} fields; the header has {len(cols) + 1}"),
            (3, f"the row has {len(cols) + 2} fields; the header has {len(cols) + 1}")]
    else:
        assert result.report.status == "ok" and result.valid.column("claim_ref").to_pylist() == ["R1", "R2"]
        assert result.report.unknown_columns == [] and "" not in result.valid.column_names


def test_invisible_characters_in_header_names_are_dropped(tmp_path):
    """A second byte-order mark (files saved twice) or a zero-width space does not hide a column."""
    cols = header("benefits")
    lines = ["\ufeff\ufeff" + ",".join(c + ("\u200b" if c == "tenure" else "") for c in cols),
             _line(list(benefits_row("R1").values()))]
    path = tmp_path / "b.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = validate_path(path, "benefits", AS_OF)
    assert result.report.status == "ok" and result.valid.column("tenure").to_pylist() == ["council"]


def test_invisible_characters_do_not_make_references_differ(tmp_path):
    result = _check(tmp_path, "benefits", [benefits_row("R1"), benefits_row("R1\u200b"), benefits_row("\u2060R2"),
                                           benefits_row("\ufeff")])
    assert [(p["line"], p["column"], p["reason"]) for p in result.quarantine.to_pylist()] == [
        (2, "claim_ref", "claim_ref appears on 2 rows of the file (first on line 2)"),
        (3, "claim_ref", "claim_ref appears on 2 rows of the file (first on line 2)"),
        (5, "claim_ref", "required value is missing")]
    assert result.valid.column("claim_ref").to_pylist() == ["R2"]
