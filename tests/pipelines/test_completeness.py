"""Completeness of a run from names, ingest sections and the previous manifest (pure functions):
each expected district complete, refused, stale or missing with its reasons; warnings; landing notes."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from pipelines.completeness import (
    assess,
    caseload_warnings,
    district_status,
    expectation_findings,
    expected_districts,
    landing_notes,
    near_miss,
)
from pipelines.ingest.plan import plan_landing
from schemas.config import CompletenessSettings, parse_config
from schemas.errors import UserError

AS_OF = dt.date(2026, 11, 20)
ASH, CANT, DART, DOVER = "E07000105", "E07000106", "E07000107", "E07000108"


def file(kind: str, day: str = "2026-11-20", rows: int = 86, status: str = "ok", reason: str = "",
         valid: int | None = None) -> dict[str, Any]:
    """A file entry of a district's ingest section, as :func:`pipelines.ingest.district.ingest_district` makes."""
    return {"kind": kind, "file": f"{kind}_{day}.csv", "extract_date": day, "status": status, "reason": reason,
            "rows_read": rows, "rows_valid": rows if valid is None else valid, "rows_quarantined": 0}


def section(lad: str, *files: dict[str, Any]) -> dict[str, Any]:
    return {"lad_code": lad, "files": list(files) or [file("benefits"), file("council_tax")], "notes": []}


@pytest.mark.parametrize(("name", "expected"), [
    ("E07000107", None),
    ("e07000107", ("E07000107", "looks like E07000107 in lower case")),
    ("E07000109 copy", ("E07000109", "looks like a copy of E07000109")),
    ("E07000109 (1)", ("E07000109", "looks like a copy of E07000109")),
    ("e07000109_old", ("E07000109", "looks like a copy of E07000109")),
    ("E07000109 ", ("E07000109", "looks like E07000109 with spaces around it")),
    ("Ashford", None),
    ("E0700010", None),
])
def test_near_misses_of_an_ons_code_are_named(name: str, expected: tuple[str, str] | None) -> None:
    assert near_miss(name) == expected


def test_landing_notes_name_every_folder_and_file_not_used() -> None:
    notes = landing_notes(["E07000105", "e07000107", "E07000109 copy", "old stuff", "_truth", ".git"],
                          ["epc.csv", "postcode_lookup.csv", "benefits_2026-11-20.csv", ".DS_Store"])
    assert notes == [
        "folder 'E07000109 copy' in the landing area looks like a copy of E07000109: not used",
        "folder 'e07000107' in the landing area looks like E07000107 in lower case: not used",
        "folder 'old stuff' in the landing area not named by an ONS code (e.g. E07000112): not used",
        "file 'benefits_2026-11-20.csv' in the landing area is not a county file (epc.csv, postcode_lookup.csv) "
        "and not in a district folder: not used",
    ]


def test_expected_districts_come_from_the_config_else_the_landing_folders_and_their_near_misses() -> None:
    folders = [ASH, "e07000107", "E07000105 copy", "misc", "_truth"]
    assert expected_districts(CompletenessSettings(districts=[DOVER, ASH]), folders) == ([ASH, DOVER], "config")
    assert expected_districts(CompletenessSettings(), folders) == ([ASH, DART], "landing")


def test_a_complete_district_has_no_reasons() -> None:
    got = district_status(ASH, section(ASH), AS_OF, 35)
    assert (got.status, got.reasons) == ("complete", ())


def test_a_file_refused_whole_makes_the_district_refused() -> None:
    got = district_status(ASH, section(ASH, file("benefits", rows=86, valid=0, status="rejected",
                                                  reason="missing required column(s): rent_weekly"),
                                      file("council_tax")), AS_OF, 35)
    assert got.status == "refused"
    assert got.reasons == ("benefits_2026-11-20.csv refused whole (missing required column(s): rent_weekly)",)
    assert got.describe() == ("Ashford (E07000105) refused: benefits_2026-11-20.csv refused whole "
                              "(missing required column(s): rent_weekly)")


def test_an_old_extract_makes_the_district_stale() -> None:
    got = district_status(ASH, section(ASH, file("benefits"), file("council_tax", "2019-04-01")), AS_OF, 35)
    assert got.status == "stale"
    assert got.reasons == ("council_tax_2019-04-01.csv is 2,790 days older than the as-of date (more than 35 days)",)
    edge = district_status(ASH, section(ASH, file("benefits", "2026-10-16"), file("council_tax")), AS_OF, 35)
    assert edge.status == "complete"  # 35 days old: not more than 35
    assert district_status(ASH, section(ASH, file("benefits", "2026-10-15"), file("council_tax")),
                           AS_OF, 35).status == "stale"


def test_no_folder_no_extract_or_no_rows_makes_the_district_missing() -> None:
    none = district_status(DART, None, AS_OF, 35, ["e07000107", ASH])
    assert none.status == "missing"
    assert none.reasons == ("no folder E07000107 in the landing area "
                            "(folder 'e07000107' looks like E07000107 in lower case)",)
    assert district_status(DOVER, None, AS_OF, 35).reasons == ("no folder E07000108 in the landing area",)
    assert district_status(CANT, None, AS_OF, 35, [CANT]).reasons == (
        "folder E07000106 is in the landing area but was not part of this run (--district), and no earlier run "
        "had it to reuse",)
    no_ct = district_status(ASH, section(ASH, file("benefits")), AS_OF, 35)
    assert (no_ct.status, no_ct.reasons) == ("missing", ("no council_tax extract dated on or before 2026-11-20",))
    header_only = district_status(ASH, section(ASH, file("benefits", rows=0), file("council_tax")), AS_OF, 35)
    assert (header_only.status, header_only.reasons) == (
        "missing", ("benefits_2026-11-20.csv has no data rows (header only)",))


def test_missing_outranks_refused_which_outranks_stale_and_every_reason_is_kept() -> None:
    got = district_status(ASH, section(ASH, file("benefits", "2019-01-01", status="rejected", reason="raw NINO")),
                          AS_OF, 35)
    assert got.status == "missing"
    assert got.reasons == ("no council_tax extract dated on or before 2026-11-20",
                           "benefits_2019-01-01.csv refused whole (raw NINO)",
                           "benefits_2019-01-01.csv is 2,880 days older than the as-of date (more than 35 days)")


def test_a_caseload_that_falls_by_more_than_the_share_is_a_warning() -> None:
    previous = {"run_id": "R1", "districts": [section(ASH, file("benefits", rows=86)),
                                              section(CANT, file("benefits", rows=100))]}
    now = [section(ASH, file("benefits", rows=9, valid=5)), section(CANT, file("benefits", rows=81))]
    assert caseload_warnings(now, previous, 0.2) == [
        "Ashford (E07000105): valid claims fell from 86 to 5 (-94%) since run R1; more than the 20% allowed"]
    assert caseload_warnings(now, previous, 0.2, skip=[ASH]) == []
    assert caseload_warnings([section(CANT, file("benefits", rows=79))], previous, 0.2) == [
        "Canterbury (E07000106): valid claims fell from 100 to 79 (-21%) since run R1; more than the 20% allowed"]
    assert caseload_warnings(now, {}, 0.2) == []  # a first run has nothing to compare with


def test_assess_a_run_with_every_kind_of_gap() -> None:
    settings = CompletenessSettings(districts=[ASH, CANT, DART, DOVER])
    sections = [section(ASH, file("benefits", rows=0), file("council_tax")),
                section(CANT, file("benefits", rows=90, valid=6), file("council_tax")),
                section(DOVER, file("benefits"), file("council_tax", "2019-04-01")),
                section("E07000110")]
    previous = {"run_id": "R1", "districts": [section(ASH), section(CANT)]}
    got = assess(settings, sections, AS_OF, [ASH, CANT, DOVER, "E07000110", "e07000107"], ["epc.csv"], previous)
    assert got.expected_from == "config" and not got.complete
    assert got.unavailable() == {ASH: "missing", DART: "missing", DOVER: "stale"}
    assert got.warnings == (
        "Ashford (E07000105): benefits_2026-11-20.csv has no data rows (header only)",
        "Canterbury (E07000106): valid claims fell from 86 to 6 (-93%) since run R1; more than the 20% allowed",
    )
    assert got.notes == (
        "folder 'e07000107' in the landing area looks like E07000107 in lower case: not used",
        "Maidstone (E07000110): a district folder not among the [completeness] districts; included as usual",
    )
    assert got.headline().startswith("1 of 4 expected districts complete; Ashford (E07000105) missing: ")
    assert got.refusal() is None
    assert got.attention() == got.headline() + "; 2 warnings: " + got.warnings[0]
    manifest = got.as_manifest()
    assert manifest["expected"] == [ASH, CANT, DART, DOVER] and manifest["complete"] is False
    assert [d["status"] for d in manifest["districts"]] == ["missing", "complete", "missing", "stale"]
    assert manifest["settings"]["stale_after_days"] == 35


def test_the_settings_decide_whether_an_incomplete_or_warned_run_publishes() -> None:
    sections = [section(ASH), section(CANT, file("benefits"))]
    strict = assess(CompletenessSettings(require_complete=True), sections, AS_OF, [ASH, CANT])
    assert strict.refusal() == (
        "incomplete run, nothing published ([completeness] require_complete): 1 of 2 expected districts "
        "complete; Canterbury (E07000106) missing: no council_tax extract dated on or before 2026-11-20")
    previous = {"run_id": "R1", "districts": [section(ASH)]}
    fell = [section(ASH, file("benefits", rows=10), file("council_tax")), section(CANT)]
    warned = assess(CompletenessSettings(fail_on_warnings=True), fell, AS_OF, [ASH, CANT], (), previous)
    assert warned.complete and warned.refusal() == (
        "warning, nothing published ([completeness] fail_on_warnings): Ashford (E07000105): valid claims fell "
        "from 86 to 10 (-88%) since run R1; more than the 20% allowed")
    relaxed = assess(CompletenessSettings(), fell, AS_OF, [ASH, CANT], (), previous)
    assert relaxed.refusal() is None and relaxed.attention() is not None
    clean = assess(CompletenessSettings(), [section(ASH)], AS_OF, [ASH])
    assert clean.complete and clean.attention() is None and clean.refusal() is None


def test_the_completeness_section_of_the_config() -> None:
    config = parse_config("[completeness]\ndistricts = ['E07000105', 'E07000106']\nstale_after_days = 60\n"
                          "require_complete = true\n", "x")
    assert config.completeness.districts == [ASH, CANT] and config.completeness.stale_after_days == 60
    assert config.completeness.caseload_drop_share == 0.2 and not config.completeness.fail_on_warnings
    for text, message in [
        ("[completeness]\ndistricts = ['e07000105']\n",
         "x: [completeness] districts: 'e07000105' is not an ONS local-authority code (e.g. E07000112)"),
        ("[completeness]\ncaseload_drop_share = 1.5\n",
         "x: [completeness] caseload_drop_share: Input should be less than or equal to 1"),
        ("[completeness]\nstale_days = 3\n", "x: [completeness] unknown key 'stale_days'; allowed: districts, "
         "stale_after_days, caseload_drop_share, require_complete, fail_on_warnings"),
    ]:
        with pytest.raises(UserError) as caught:
            parse_config(text, "x")
        assert str(caught.value) == message


def test_a_failed_row_count_expectation_is_a_warning_other_checks_a_note_never_a_value() -> None:
    suite = {"table": "E07000105_benefits", "success": False, "evaluated": 44, "failures": [
        {"expectation": "expect_table_row_count_to_be_between", "column": None, "observed": 5},
        {"expectation": "expect_column_values_to_be_between", "column": "capital",
         "observed": {"unexpected_count": 1, "unexpected_percent": 20.0}}]}
    sections = [section(ASH, file("benefits") | {"expectations": suite}, file("council_tax")),
                section(CANT, file("benefits") | {"expectations": suite | {"success": True, "failures": []}})]
    assert expectation_findings(sections, row_count=True) == [
        "Ashford (E07000105): benefits_2026-11-20.csv failed 1 of 44 data expectations: "
        "expect_table_row_count_to_be_between: 5 rows"]
    assert expectation_findings(sections, row_count=False) == [
        "Ashford (E07000105): benefits_2026-11-20.csv failed 1 of 44 data expectations: "
        "expect_column_values_to_be_between (capital)"]
    got = assess(CompletenessSettings(), sections, AS_OF, [ASH, CANT])
    assert got.warnings == tuple(expectation_findings(sections, row_count=True))
    assert got.notes == tuple(expectation_findings(sections, row_count=False))


def test_a_district_whose_ingest_failed_is_refused_with_the_error() -> None:
    failed = {"lad_code": ASH, "files": [], "notes": [], "error": "OSError: [Errno 5] Input/output error"}
    got = district_status(ASH, failed, AS_OF, 35)
    assert (got.status, got.reasons) == ("refused", ("ingest failed after retries: OSError: [Errno 5] "
                                                     "Input/output error",))


def test_a_landing_area_of_only_mis_named_folders_names_them(tmp_path) -> None:
    """Nothing to run: the one-line error names each near miss rather than only 'no district folders'."""
    (tmp_path / "e07000107").mkdir()
    (tmp_path / "E07000109 copy").mkdir()
    (tmp_path / "photos").mkdir()
    with pytest.raises(UserError) as err:
        plan_landing(tmp_path, dt.date(2026, 11, 20))
    assert str(err.value) == (f"--input {tmp_path}: no district folders named by ONS code (e.g. E07000112); "
                              "'E07000109 copy' looks like a copy of E07000109; "
                              "'e07000107' looks like E07000107 in lower case")
