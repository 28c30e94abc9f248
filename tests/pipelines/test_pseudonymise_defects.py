"""pseudonymise keeps every household: rows with half names and invalid NINOs arrive whole at the hub.

A small raw sample from the generator gets one planted defect per claim (a forename or surname
missing, a name part without a letter, a NINO of the wrong shape, a temporary TN number, an
administrative prefix, a bad suffix). Every such claim must be written (with a warning naming line,
column and reason, never the value), pass ``run`` and be scored in ``households.parquet``. Only a
row without a reference or with the wrong number of fields is refused. No planted identifier may
appear in any message.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from pipelines.pseudonymise import name_encoding, nino_problem, pseudonymise_file
from pipelines.run import RunRequest, run_local
from pipelines.synthetic.generator import generate
from tests.cli import AS_OF, AS_OF_DATE, povertylink
from tests.rows import key_file, read_csv, write_csv

KEY = b"defects-test-key-0123456789-abcdefghijkl"
LAD = "E07000105"
# column -> planted value, one claim each; the values are unusual enough to be searched for in messages.
DEFECTS: list[tuple[str, str, str]] = [
    ("claimant_surname", "", "half a name"),
    ("claimant_forename", "", "half a name"),
    ("claimant_forename", "1234", "no letter"),
    ("claimant_nino", "QX12Z", "not NINO-shaped"),
    ("claimant_nino", "TN010203M", "temporary TN"),
    ("claimant_nino", "ZZ987654A", "administrative prefix"),
    ("claimant_nino", "GB987654B", "administrative prefix"),
    ("claimant_nino", "QA987654C", "prefix letter"),
    ("claimant_nino", "JK987654E", "bad suffix"),
    ("partner_nino", "NK112233D", "administrative prefix"),
]

CT_HEAD = "account_ref,address_line_1,postcode,band,annual_charge,ctr_annual,arrears,recovery_stage"
CT_TAIL = "B,1500,0,0,none"


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, list[str], list[str]]:
    """A raw sample with one defect per claim; returns (raw dir, key file, planted values, refs)."""
    root = tmp_path_factory.mktemp("defects")
    raw = root / "raw"
    generate(raw, districts=1, households=120, seed=5, raw=True)
    bens = next((raw / LAD).glob("benefits_*.csv"))
    header, rows = read_csv(bens)
    with_partner = [r for r in rows if r["partner_forename"]]
    targets: list[dict[str, str]] = []
    planted_values: list[str] = []
    for column, value, _ in DEFECTS:
        pool = with_partner if column.startswith("partner") else rows
        row = next(r for r in pool if r not in targets)
        # the original identifiers of the row are searched for in messages too
        planted_values += [row[c] for c in ("claimant_forename", "claimant_surname", "claimant_nino") if row[c]]
        row[column] = value
        if value:
            planted_values.append(value)
        targets.append(row)
    no_postcode = next(r for r in rows if r not in targets)  # a missing postcode is no evidence, not a lost claim
    no_postcode["postcode"] = ""
    write_csv(bens, rows, header)
    key = key_file(root, KEY)
    searchable = sorted({v for v in planted_values if len(v) >= 4 and any(ch.isalpha() for ch in v)})
    return raw, key, searchable, [r["claim_ref"] for r in targets] + [no_postcode["claim_ref"]]


def test_every_row_written_with_a_warning_and_no_value(planted: tuple[Path, Path, list[str], list[str]],
                                                       tmp_path: Path) -> None:
    raw, key, values, refs = planted
    bens = next((raw / LAD).glob("benefits_*.csv"))
    out = tmp_path / "benefits.csv"
    result = povertylink("pseudonymise", str(bens), str(out), "--key-file", str(key), "--kind", "benefits")
    assert result.returncode == 0, result.stderr
    _, raw_rows = read_csv(bens)
    _, written = read_csv(out)
    assert [r["claim_ref"] for r in written] == [r["claim_ref"] for r in raw_rows]
    messages = result.stdout + result.stderr
    for column, _, reason in DEFECTS:
        assert f": {column}: " in messages and reason in messages, (column, reason)
    warned_lines = {int(line.split("line ")[1].split(":")[0]) for line in messages.splitlines()
                    if line.strip().startswith("warning: line")}
    line_of = {r["claim_ref"]: i for i, r in enumerate(raw_rows, 2)}
    assert {line_of[ref] for ref in refs[:-1]} <= warned_lines  # the last has no postcode: written, no warning
    for value in values:
        assert value not in messages, "a planted value was printed"
    by_ref = {r["claim_ref"]: r for r in written}
    half = by_ref[refs[0]]["claimant_name"]
    assert half.startswith("v2|") and half.endswith("|") and by_ref[refs[3]]["claimant_key"] == ""


def test_each_defect_arrives_whole_and_is_scored(planted: tuple[Path, Path, list[str], list[str]],
                                                 tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    raw, key, values, refs = planted
    landing = tmp_path / "landing"
    shutil.copytree(raw, landing, ignore=shutil.ignore_patterns("_truth", "benefits_*", "council_tax_*"))
    for path in sorted(raw.glob("E*/*_*.csv")):
        kind = path.name.rsplit("_", 1)[0]  # benefits, council_tax or universal_credit
        report = pseudonymise_file(key, kind, path, landing / path.parent.name / path.name)
        assert report.rows_written == report.rows_read and not report.rejected
    outcome = run_local(RunRequest(input_dir=landing, output_dir=tmp_path / "out", as_of=AS_OF_DATE))
    assert outcome.exit_code == 0, outcome.errors
    _, raw_rows = read_csv(next((raw / LAD).glob("benefits_*.csv")))
    households = tmp_path / "out" / "current" / "households.parquet"
    scored = duckdb.sql(f"SELECT claim_ref FROM read_parquet('{households}') WHERE source <> 'uc'").fetchall()
    assert sorted(r[0] for r in scored) == sorted(r["claim_ref"] for r in raw_rows)
    assert set(refs) <= {r[0] for r in scored}
    missing = duckdb.sql(f"SELECT postcode FROM read_parquet('{households}') WHERE claim_ref = '{refs[-1]}'").fetchall()
    assert missing == [(None,)]  # C19: the claim with no postcode is scored, its postcode null
    quarantine = tmp_path / "out" / "current" / "quarantine.parquet"
    assert not duckdb.sql(f"SELECT * FROM read_parquet('{quarantine}') WHERE \"column\" = 'postcode'").fetchall()
    captured = capsys.readouterr()
    for value in values:
        assert value not in captured.out + captured.err + "\n".join(outcome.errors)
    assert AS_OF  # the CLI date and the in-process date are the same extract date


def test_only_rows_that_cannot_be_households_are_refused(tmp_path: Path) -> None:
    key = key_file(tmp_path, KEY)
    raw = tmp_path / "ct.csv"
    raw.write_text(f"{CT_HEAD},liable_forename,liable_surname\n"
                   f"A1,1 High St,CT1 1AA,{CT_TAIL},Quintessa,\n"
                   f",2 High St,CT1 1AA,{CT_TAIL},Orlando,Umbridge\n"
                   "A3,3 High St,CT1 1AA,B\n")
    report = pseudonymise_file(key, "council_tax", raw, tmp_path / "out.csv")
    assert (report.rows_read, report.rows_written) == (3, 1)
    assert [(line, col) for line, col, _ in report.rejected] == [(3, "account_ref"), (4, "")]
    assert [(line, col) for line, col, _ in report.warnings] == [(2, "liable_surname")]
    for value in ("Quintessa", "Orlando", "Umbridge"):
        assert value not in report.summary()


def test_no_header_and_huge_field_are_one_line_without_values(tmp_path: Path) -> None:
    key = key_file(tmp_path, KEY)
    headless = tmp_path / "headless.csv"
    headless.write_text(f"A1,1 High St,CT1 1AA,{CT_TAIL},Quintessa,Umbridge,AB123456C\n")
    result = povertylink("pseudonymise", str(headless), str(tmp_path / "o.csv"), "--key-file", str(key),
                         "--kind", "council_tax")
    assert result.returncode == 2 and "the first line is not a header; expected columns" in result.stderr
    for value in ("Quintessa", "Umbridge", "AB123456C", "High St"):
        assert value not in result.stdout + result.stderr
    huge = tmp_path / "huge.csv"
    huge.write_text(f"{CT_HEAD},liable_surname\n"
                    f"A1,1 High St,CT1 1AA,{CT_TAIL},{'Z' * 140_000}\n")
    result = povertylink("pseudonymise", str(huge), str(tmp_path / "o.csv"), "--key-file", str(key),
                         "--kind", "council_tax")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "line 2" in result.stderr and "ZZZZ" not in result.stderr
    assert not (tmp_path / "o.csv").exists()


@pytest.mark.parametrize("nino,reason", [
    ("AB123456C", None), ("ab 12 34 56 c", None), ("TN010203M", "temporary"), ("ZZ123456A", "administrative"),
    ("BG123456A", "administrative"), ("DA123456A", "prefix letter"), ("AO123456A", "prefix letter"),
    ("AB123456E", "suffix"), ("AB123456", "suffix"), ("AB12345C", "shape"), ("", "shape"),
])
def test_nino_validity(nino: str, reason: str | None) -> None:
    problem = nino_problem(nino.replace(" ", "").upper())
    assert (problem is None) if reason is None else (problem is not None and reason in problem)


def test_half_names_compare_on_the_part_present() -> None:
    con = duckdb.connect()
    from matching.compare import person_name_level_sql
    from matching.normalise import name_parts_sql, person_columns_sql

    def person(fore: str, sur: str, short: str) -> str:
        enc = name_encoding(KEY, fore, sur)
        cols = ", ".join(person_columns_sql("n", short, "r"))
        return (f"(SELECT {cols} FROM (SELECT *, {name_parts_sql('n', short, 'r0')} FROM "
                f"(SELECT '{enc}' AS n_name, NULL::VARCHAR AS n_key, NULL::DATE AS n_birth_date) r0) r)")

    def level(x: tuple[str, str], y: tuple[str, str]) -> int:
        sql = f"SELECT {person_name_level_sql('x.x', 'y.y')} FROM {person(*x, 'x')} x, {person(*y, 'y')} y"
        return int(con.execute(sql).fetchone()[0])  # type: ignore[index]

    assert level(("Ann", "Lee"), ("Ann", "Lee")) == 5
    assert level(("", "Lee"), ("Ann", "Lee")) == 2  # surname agrees, the forename carries nothing
    assert level(("", "Lee"), ("Ann", "Smith")) == 0
    assert level(("Ann", ""), ("Ann", "Lee")) == 1
    assert level(("Ann", ""), ("", "Lee")) == -1  # no part in common: no evidence


def test_surname_column_alone_is_encoded(tmp_path: Path) -> None:
    """A raw file with a surname column and no forename column keeps the surname (half a name)."""
    key = key_file(tmp_path, KEY)
    raw = tmp_path / "ct.csv"
    raw.write_text(f"{CT_HEAD},liable_surname\nA1,1 High St,CT1 1AA,{CT_TAIL},Umbridge\n")
    report = pseudonymise_file(key, "council_tax", raw, tmp_path / "out.csv")
    _, rows = read_csv(tmp_path / "out.csv")
    assert report.rows_written == 1 and rows[0]["liable_name"] == name_encoding(KEY, "", "Umbridge")
    assert [(line, col) for line, col, _ in report.warnings] == [(2, "liable_forename")]
