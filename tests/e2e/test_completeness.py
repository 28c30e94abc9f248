"""End to end: a run knows which districts it expected and says, everywhere people look, which did not
arrive complete (refused, stale, missing), what it did not use, and what fell; with ``require_complete``
or ``fail_on_warnings`` it publishes nothing and exits 3.

Each test starts from a copy of one good run's output folder (its ingest cache makes unchanged districts
quick) and a copy of its landing area with one thing changed, and runs in this process (``run_local``),
except the exit-status test, which uses the command line. Real files, DuckDB and Parquet throughout.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest

from pipelines.run import EXIT_DISTRICT_FAILED, EXIT_FILES_REJECTED, EXIT_OK, RunOutcome, RunRequest, run_local
from pipelines.summary import artifact_markdown
from pipelines.synthetic.generator import generate
from schemas.reference import district_name
from schemas.text import markdown_escape
from tests.cli import AS_OF, AS_OF_DATE, povertylink

ASH, CANT, DART = "E07000105", "E07000106", "E07000107"  # 172 valid claims and 1,000 dwellings each
BENEFITS, COUNCIL_TAX = "benefits_2026-11-20.csv", "council_tax_2026-11-20.csv"


@dataclass(frozen=True)
class Baseline:
    landing: Path
    output: Path
    run_id: str


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> Baseline:
    """Three districts, all complete: a first good run."""
    root = tmp_path_factory.mktemp("baseline")
    generate(root / "landing", districts=3, households=1000, seed=3, raw=False)
    outcome = run_local(RunRequest(root / "landing", root / "out", AS_OF_DATE), retry_delays=())
    assert outcome.exit_code == EXIT_OK, outcome.summary()
    assert outcome.manifest["completeness"]["complete"] is True
    return Baseline(root / "landing", root / "out", outcome.run_id)


def copy_of(baseline: Baseline, tmp_path: Path) -> tuple[Path, Path]:
    """(landing, output): copies of the baseline's, to change and run again."""
    landing, output = tmp_path / "landing", tmp_path / "out"
    shutil.copytree(baseline.landing, landing)
    shutil.copytree(baseline.output, output, symlinks=True)
    return landing, output


def run(landing: Path, output: Path, config: str | None = None) -> RunOutcome:
    path = None
    if config is not None:
        path = output.parent / "config.toml"
        path.write_text(config, encoding="utf-8")
    return run_local(RunRequest(landing, output, AS_OF_DATE, config=path), retry_delays=())


def benchmarks(output: Path, run_id: str) -> dict[tuple[str, str], dict[str, Any]]:
    """This run's district_benchmarks rows by (district, metric), as published."""
    con = duckdb.connect()
    cursor = con.execute(f"SELECT * FROM read_parquet('{output / 'current' / 'district_benchmarks.parquet'}') "
                         "WHERE run_id = ?", [run_id])
    names = [d[0] for d in cursor.description]
    return {(r["lad_code"], r["metric"]): r for r in (dict(zip(names, row, strict=True)) for row in cursor.fetchall())}


def report(output: Path) -> str:
    return (output / "current" / "report.html").read_text(encoding="utf-8")


def statuses(outcome: RunOutcome) -> dict[str, tuple[str, list[str]]]:
    return {d["lad_code"]: (d["status"], d["reasons"]) for d in outcome.manifest["completeness"]["districts"]}


def test_the_baseline_is_complete_and_names_no_gap(baseline: Baseline) -> None:
    manifest = json.loads((baseline.output / "current" / "manifest.json").read_text())
    assert manifest["completeness"]["expected"] == [ASH, CANT, DART]
    assert manifest["completeness"]["expected_from"] == "landing"
    assert manifest["completeness"]["warnings"] == [] and manifest["completeness"]["notes"] == []
    html = report(baseline.output)
    assert 'class="banner"' not in html and "3 districts" in html
    rows = benchmarks(baseline.output, baseline.run_id)
    rates = {lad: rows[(lad, "in_crisis_or_at_risk")]["rate"] for lad in (ASH, CANT, DART)}
    top = [district_name(lad) for lad, rate in rates.items() if rate == max(rates.values())]
    assert f"{top[0]} has the highest rate" in html and len(top) == 1, rates  # the key point names the top one
    assert {r["availability"] for r in rows.values()} == {"available"}
    assert rows[("county", "dwellings")]["count"] == 3000


def test_a_refused_district_is_named_not_zero_and_left_out_of_the_county(baseline: Baseline, tmp_path: Path) -> None:
    landing, output = copy_of(baseline, tmp_path)
    path = landing / CANT / BENEFITS
    head, rest = path.read_text(encoding="utf-8").split("\n", 1)
    path.write_text(head.replace("rent_weekly", "rent_per_week") + "\n" + rest, encoding="utf-8")
    outcome = run(landing, output)
    assert outcome.exit_code == EXIT_FILES_REJECTED and outcome.published is not None
    why = f"{BENEFITS} refused whole (missing required column(s): rent_weekly)"
    assert statuses(outcome)[CANT] == ("refused", [why])
    assert outcome.errors[0] == f"2 of 3 expected districts complete; Canterbury (E07000106) refused: {why}"
    rows = benchmarks(output, outcome.run_id)
    for metric in ("households_scored", "dwellings", "in_crisis_or_at_risk", "pension_credit_missing"):
        row = rows[(CANT, metric)]
        assert (row["count"], row["rate"], row["denominator"], row["availability"]) == (None, None, None, "refused")
    county = rows[("county", "in_crisis_or_at_risk")]
    assert county["availability"] == "partial" and county["denominator"] == 2000  # Ashford's and Dartford's
    assert rows[("county", "households_scored")]["count"] == 455  # claims and UC-only households, rounded to 5
    assert county["rate"] == round(county["count"] / 2000 * 1000, 4)
    html = report(output)
    assert html.index('class="banner"') < html.index('class="headline"')
    assert f"<strong>Canterbury (E07000106): refused</strong> · {why}" in html
    assert "Kent figures cover the 2 districts with complete data only (Ashford, Dartford)" in html
    assert "2 of 3 districts with complete data" in html and "not available: refused data" in html
    assert "Canterbury has the highest" not in html
    assert "Dartford has the highest rate" in html and "across the 2 districts of Kent with complete data." in html
    summary = outcome.summary()
    assert "Completeness: 2 of 3 expected districts complete" in summary
    assert f"REFUSED: {why}" in summary
    assert "| Canterbury (E07000106) | **refused** |" in artifact_markdown(outcome.manifest)


def test_a_district_expected_by_the_config_with_no_folder_is_missing(baseline: Baseline, tmp_path: Path) -> None:
    landing, output = copy_of(baseline, tmp_path)
    outcome = run(landing, output, "[completeness]\ndistricts = ['E07000105', 'E07000106', 'E07000107', "
                                   "'E07000108']\n")
    assert outcome.exit_code == EXIT_FILES_REJECTED and outcome.published is not None
    assert statuses(outcome)["E07000108"] == ("missing", ["no folder E07000108 in the landing area"])
    assert outcome.manifest["completeness"]["expected_from"] == "config"
    rows = benchmarks(output, outcome.run_id)
    assert rows[("E07000108", "households_scored")]["availability"] == "missing"
    assert rows[("E07000108", "households_scored")]["count"] is None
    assert rows[("county", "dwellings")]["count"] == 3000 and rows[("county", "dwellings")]["availability"] == "partial"
    assert "<strong>Dover (E07000108): missing</strong> · no folder E07000108 in the landing area" in report(output)


def test_a_district_whose_extract_is_old_is_stale(baseline: Baseline, tmp_path: Path) -> None:
    landing, output = copy_of(baseline, tmp_path)
    (landing / CANT / COUNCIL_TAX).rename(landing / CANT / "council_tax_2019-04-01.csv")
    outcome = run(landing, output)
    assert outcome.exit_code == EXIT_FILES_REJECTED and outcome.published is not None
    why = "council_tax_2019-04-01.csv is 2,790 days older than the as-of date (more than 35 days)"
    assert statuses(outcome)[CANT] == ("stale", [why])
    assert rows_status(output, outcome.run_id, CANT) == {"stale"}
    assert f"<strong>Canterbury (E07000106): stale</strong> · {why}" in report(output)
    assert f"STALE: {why}" in outcome.summary()


def rows_status(output: Path, run_id: str, lad: str) -> set[str]:
    return {r["availability"] for (code, _), r in benchmarks(output, run_id).items() if code == lad}


def test_misnamed_folders_are_announced_and_their_district_is_missing(baseline: Baseline, tmp_path: Path) -> None:
    landing, output = copy_of(baseline, tmp_path)
    (landing / DART).rename(landing / "e07000107")
    shutil.copytree(landing / ASH, landing / "E07000105 copy")
    outcome = run(landing, output)
    assert outcome.exit_code == EXIT_FILES_REJECTED and outcome.published is not None
    assert statuses(outcome)[DART] == ("missing", [
        "no folder E07000107 in the landing area (folder 'e07000107' looks like E07000107 in lower case)"])
    notes = ["folder 'E07000105 copy' in the landing area looks like a copy of E07000105: not used",
             "folder 'e07000107' in the landing area looks like E07000107 in lower case: not used"]
    assert outcome.manifest["completeness"]["notes"] == notes
    summary, html, artifact = outcome.summary(), report(output), artifact_markdown(outcome.manifest)
    for note in notes:
        assert f"note: {note}" in summary and f"**Note:** {markdown_escape(note)}" in artifact
        assert note.replace("'", "&#39;") in html
    assert [d["lad_code"] for d in outcome.manifest["districts"]] == [ASH, CANT]


def test_a_caseload_that_collapses_is_a_warning_and_a_failure_where_configured(baseline: Baseline,
                                                                                tmp_path: Path) -> None:
    landing, output = copy_of(baseline, tmp_path)
    path = landing / ASH / BENEFITS
    shutil.copy(path, landing / ASH / "benefits_2026-11-13.csv")  # the week before's, left in the folder
    path.write_text("\n".join(path.read_text(encoding="utf-8").splitlines()[:6]) + "\n", encoding="utf-8")
    # 1 of the 4 table-wide expectations of a benefits file (DESIGN C35)
    checks = (f"Ashford (E07000105): {BENEFITS} failed 1 of 4 data expectations: "
              "expect_table_row_count_to_be_between: 5 rows")  # against the 172 rows of the week before
    fell = (f"Ashford (E07000105): valid claims fell from 172 to 5 (-97%) since run {baseline.run_id}; "
            "more than the 20% allowed")
    strict = run(landing, output, "[completeness]\nfail_on_warnings = true\n")
    assert strict.exit_code == EXIT_DISTRICT_FAILED and strict.published is None
    assert strict.errors == [f"warning, nothing published ([completeness] fail_on_warnings): {checks} (and 1 more)"]
    assert (output / "current").resolve().name == baseline.run_id
    outcome = run(landing, output)
    assert outcome.exit_code == EXIT_FILES_REJECTED and outcome.published is not None
    assert outcome.manifest["completeness"]["complete"] is True
    assert outcome.manifest["completeness"]["warnings"] == [checks, fell]
    assert outcome.errors == [f"3 of 3 expected districts complete; 2 warnings: {checks}"]
    summary, artifact, html = outcome.summary(), artifact_markdown(outcome.manifest), report(output)
    for warning in (checks, fell):
        assert f"WARNING: {warning}" in summary and warning in html
        assert f"**Warning:** {markdown_escape(warning)}" in artifact


def test_a_file_with_no_data_rows_is_a_warning_and_its_district_missing(baseline: Baseline, tmp_path: Path) -> None:
    landing, output = copy_of(baseline, tmp_path)
    path = landing / CANT / BENEFITS
    path.write_text(path.read_text(encoding="utf-8").splitlines()[0] + "\n", encoding="utf-8")
    outcome = run(landing, output)
    assert outcome.exit_code == EXIT_FILES_REJECTED and outcome.published is not None
    assert statuses(outcome)[CANT] == ("missing", [f"{BENEFITS} has no data rows (header only)"])
    assert outcome.manifest["completeness"]["warnings"] == [
        f"Canterbury (E07000106): {BENEFITS} has no data rows (header only)"]
    assert rows_status(output, outcome.run_id, CANT) == {"missing"}


def test_require_complete_publishes_nothing_and_exits_3(baseline: Baseline, tmp_path: Path) -> None:
    landing, output = copy_of(baseline, tmp_path)
    (landing / DART / BENEFITS).unlink()
    config = tmp_path / "config.toml"
    config.write_text("[completeness]\nrequire_complete = true\n", encoding="utf-8")
    result = povertylink("run", "--input", str(landing), "--output", str(output), "--as-of", AS_OF,
                         "--config", str(config), "--quiet")
    assert result.returncode == EXIT_DISTRICT_FAILED, result.stderr[-3000:]
    assert result.stderr.strip().splitlines()[-1] == (
        "povertylink: error: incomplete run, nothing published ([completeness] require_complete): 2 of 3 "
        "expected districts complete; Dartford (E07000107) missing: no benefits extract dated on or before "
        "2026-11-20")
    assert (output / "current").resolve().name == baseline.run_id
    assert sorted(p.name for p in (output / "runs").iterdir() if not p.name.startswith(".")) == [baseline.run_id]
    assert "RUN FAILED: nothing was published" in result.stdout


def test_a_configured_partnership_name_names_every_county_row(baseline: Baseline, tmp_path: Path) -> None:
    """C33: [report] county_name reaches the aggregate tables' county rows (the kept runs' too) and the
    manifest's scoring summary; the key lad_code stays 'county'."""
    landing, output = copy_of(baseline, tmp_path)
    outcome = run(landing, output, '[report]\ncounty_name = "Kent and Medway"\n')
    assert outcome.exit_code == EXIT_OK, outcome.summary()
    con = duckdb.connect()
    for table in ("district_benchmarks", "status_movement", "pension_credit_campaign"):
        names = con.execute(f"SELECT DISTINCT lad_code, district_name FROM read_parquet("
                            f"'{output / 'current' / table}.parquet') WHERE lad_code = 'county' "
                            "OR district_name = 'Kent'").fetchall()
        assert names == [("county", "Kent and Medway")], table
    county = [r for r in outcome.manifest["scoring"]["summary"] if r["lad_code"] == "county"]
    assert [r["district_name"] for r in county] == ["Kent and Medway"]
    assert outcome.manifest["county_name"] == "Kent and Medway"
