"""End to end through the real command line: a real Prefect flow run (no server), real DuckDB,
real Parquet. Checks the contracts a user sees: exit codes, one-line errors, the output layout,
reconciled counts, the newest extract chosen by as-of date, and raw files refused."""

from __future__ import annotations

import json
import os
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from tests.cli import error_lines, povertylink
from tests.rows import benefits_row, council_tax_row, header, write_csv


@pytest.fixture(scope="module")
def landing(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("landing")
    ash, cant = root / "E07000105", root / "E07000106"
    write_csv(ash / "benefits_2026-10-20.csv", [benefits_row("OLD1")], header("benefits"))
    write_csv(ash / "benefits_2026-11-20.csv", [
        benefits_row("B1"), benefits_row("B2", uprn="100062000002", adults="0"),
        benefits_row("B3", uprn="100062000003", claimant_birth_date="1990-01-01", state_pension_weekly="0",
                     uc_monthly="650.00", earnings_weekly="120.00"),
    ], header("benefits"))
    write_csv(ash / "benefits_2026-12-01.csv", [benefits_row("FUTURE")], header("benefits"))
    write_csv(ash / "council_tax_2026-11-20.csv", [
        council_tax_row("A1"), council_tax_row("A2", uprn="100062000002", band="Z"),
        council_tax_row("A3", uprn="100062000003", address_line_1="3 High St"),
    ], header("council_tax"))
    write_csv(cant / "benefits_2026-11-19.csv", [benefits_row("C1", postcode="CT1 2AB", uprn="200000000001")],
              header("benefits"))
    write_csv(cant / "council_tax_2026-11-19.csv", [council_tax_row("D1", postcode="CT1 2AB", uprn="200000000001")],
              header("council_tax"))
    return root


@pytest.fixture(scope="module")
def first_run(landing, tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    result = povertylink("run", "--input", str(landing), "--output", str(out), "--as-of", "2026-11-20")
    return out, result


def test_run_publishes_the_output_layout(first_run):
    out, result = first_run
    assert result.returncode == 0, result.stderr
    current = out / "current"
    assert current.is_symlink() and (current / "manifest.json").is_file()
    for name in ("households.parquet", "quarantine.parquet", "povertylink.duckdb",
                 "districts/E07000105/households.parquet", "districts/E07000106/households.parquet",
                 "validated/E07000105/benefits.parquet", "validated/E07000105/council_tax.parquet"):
        assert (current / name).exists(), name
    assert not [p for p in (out / "runs").iterdir() if p.name.startswith(".staging")]


def test_manifest_reconciles_every_file(first_run):
    out, _ = first_run
    manifest = json.loads((out / "current" / "manifest.json").read_text())
    files = [f for d in manifest["districts"] for f in d["files"]]
    assert len(files) == 4
    for f in files:
        assert f["rows_read"] == f["rows_valid"] + f["rows_quarantined"], f
        assert len(f["sha256"]) == 64
    rec = manifest["reconciliation"]
    assert (rec["rows_read"], rec["rows_valid"], rec["rows_quarantined"]) == (8, 6, 2)
    assert rec["all_reconcile"]
    assert manifest["status"] == "complete" and manifest["as_of"] == "2026-11-20"
    assert {"duckdb", "prefect", "pydantic"} <= set(manifest["versions"])


def test_newest_extract_on_or_before_as_of_is_used(first_run):
    out, _ = first_run
    manifest = json.loads((out / "current" / "manifest.json").read_text())
    ashford = next(d for d in manifest["districts"] if d["lad_code"] == "E07000105")
    assert sorted(f["file"] for f in ashford["files"]) == ["benefits_2026-11-20.csv", "council_tax_2026-11-20.csv"]
    claims = pq.read_table(out / "current" / "validated/E07000105/benefits.parquet").column("claim_ref").to_pylist()
    assert claims == ["B1", "B3"]


def test_quarantine_lists_each_bad_row_with_file_line_column(first_run):
    out, _ = first_run
    rows = pq.read_table(out / "current" / "quarantine.parquet").to_pylist()
    got = {(r["lad_code"], r["file"], r["line"], r["column"]) for r in rows}
    assert got == {("E07000105", "benefits_2026-11-20.csv", 3, "adults"),
                   ("E07000105", "council_tax_2026-11-20.csv", 3, "band")}


def test_every_valid_claim_is_one_household_in_its_own_district(first_run):
    out, _ = first_run
    con = duckdb.connect()
    base = out / "current"
    sql = f"SELECT lad_code, claim_ref FROM read_parquet('{base}/households.parquet') ORDER BY 1, 2"
    rows = con.execute(sql).fetchall()
    assert rows == [("E07000105", "B1"), ("E07000105", "B3"), ("E07000106", "C1")]
    own = con.execute(f"SELECT DISTINCT lad_code FROM read_parquet('{base}/districts/E07000106/households.parquet')")
    assert own.fetchall() == [("E07000106",)]


def test_views_database_opens_elsewhere(first_run, tmp_path):
    out, _ = first_run
    con = duckdb.connect(str(out / "current" / "povertylink.duckdb"), read_only=True)
    os.chdir(tmp_path)
    assert con.execute("SELECT COUNT(*) FROM households").fetchone() == (3,)
    assert con.execute("SELECT COUNT(*) FROM quarantine").fetchone() == (2,)


def test_raw_file_is_refused_and_nothing_from_it_published(tmp_path):
    land, out = tmp_path / "land", tmp_path / "out"
    raw_cols = [c for c in header("benefits") if c not in ("claimant_key", "claimant_name", "partner_key",
                                                            "partner_name")]
    raw_cols[6:6] = ["claimant_nino", "claimant_forename", "claimant_surname"]
    row = benefits_row("RAW1") | {"claimant_nino": "QQ123456C", "claimant_forename": "Zebedee",
                                  "claimant_surname": "Quartermaine"}
    write_csv(land / "E07000105" / "benefits_2026-11-20.csv", [row], raw_cols)
    write_csv(land / "E07000106" / "benefits_2026-11-20.csv", [benefits_row("C1")], header("benefits"))
    result = povertylink("run", "--input", str(land), "--output", str(out), "--as-of", "2026-11-20")
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("povertylink: error:") and "this looks like a raw extract: run pseudonymise" in last
    assert "Traceback" not in result.stderr
    current = out / "current"
    claims = pq.read_table(current / "households.parquet").column("claim_ref").to_pylist()
    assert claims == ["C1"]
    for path in current.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert b"Zebedee" not in data and b"Quartermaine" not in data and b"QQ123456C" not in data, path


@pytest.mark.parametrize(("args", "message"), [
    (["--input", "/nonexistent/landing", "--output", "/tmp/x"], "--input /nonexistent/landing: no such folder"),
    (["--input", ".", "--output", "/tmp/x", "--as-of", "20-11-2026"], "--as-of '20-11-2026' is not a date"),
    (["--input", ".", "--output", "/tmp/x", "--as-of", "2019-01-01"], None),
])
def test_bad_run_arguments_give_one_line_and_exit_2(args, message):
    result = povertylink("run", *args)
    assert result.returncode == 2
    lines = error_lines(result.stderr)  # `run` first says it is starting (a progress line), then the one error
    assert len(lines) == 1 and lines[0].startswith("povertylink: error:"), result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    if message:
        assert message in lines[0]


def test_validate_command_reports_lines_and_exit_status(tmp_path):
    bad = write_csv(tmp_path / "b.csv", [benefits_row("B1"), benefits_row("B2", tenure="tent")], header("benefits"))
    result = povertylink("validate", "--kind", "benefits", str(bad))
    assert result.returncode == 1
    assert "2 rows read, 1 valid, 1 quarantined" in result.stdout
    assert "line 3, column tenure: not one of" in result.stdout
    good = write_csv(tmp_path / "g.csv", [council_tax_row("A1")], header("council_tax"))
    ok = povertylink("validate", "--kind", "council_tax", str(good))
    assert ok.returncode == 0 and ok.stdout.strip().endswith("OK")
    missing = povertylink("validate", "--kind", "benefits", str(tmp_path / "nope.csv"))
    assert missing.returncode == 2 and "no such file" in missing.stderr
    wrong_kind = povertylink("validate", "--kind", "pets", str(good))
    assert wrong_kind.returncode == 2 and "unknown extract kind" in wrong_kind.stderr
