"""A corpus of malformed and hostile extracts (tests/pipelines/ingest/corpus/), each with the exact outcome
expected; generated hostile files too large to commit (a million comma-only lines, a 10 MB quoted field)
with their outcomes and a memory ceiling measured on the command line; and a generated extract of about
500 MB validated with bounded memory (streaming; marked slow).

The small files are committed; tests/pipelines/ingest/corpus/README.md says what each one is.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from pipelines.ingest.validate import validate_path
from tests.cli import AS_OF as AS_OF_TEXT
from tests.cli import AS_OF_DATE as AS_OF
from tests.cli import CLI, ENV
from tests.rows import benefits_row, header, write_csv

CORPUS = Path(__file__).parent / "corpus"
SEMICOLONS = ("the header is one column holding semicolons: the file is separated by semicolons, not commas; "
              "save it as CSV (comma delimited)")
TABS = ("the header is one column holding tabs: the file is separated by tabs, not commas; "
        "save it as CSV (comma delimited)")
UTF16 = "the file is UTF-16 or binary, not UTF-8 text: save it as CSV UTF-8"
WIDTH = len(header("benefits"))
RAW = ("this looks like a raw extract: run pseudonymise at the district first ('povertylink pseudonymise'); "
       "raw identifier column(s): Claimant nino, CLAIMANT_SURNAME, first_name; nothing from this file is used")
BOUND = "must be at most {} pounds (this column's plausible bound: see the data dictionary)"
BEFORE_1900 = "is before 1900-01-01: not a plausible date"


def _dup(first: int) -> str:
    return f"claim_ref appears on 2 rows of the file (first on line {first})"


# file -> (status, rows read, valid, quarantined, whole-file reason, [(line, column, reason)])
EXPECTED = {
    "truncated_mid_row.csv": ("partial", 3, 2, 1, "", [(4, None, f"the row has 7 fields; the header has {WIDTH}")]),
    "truncated_in_quote.csv": ("partial", 3, 2, 1, "",
                               [(4, None, "the row cannot be parsed as CSV (unexpected end of data): line 4 skipped")]),
    "semicolon.csv": ("rejected", 2, 0, 2, SEMICOLONS, [(2, None, SEMICOLONS), (3, None, SEMICOLONS)]),
    "tab.csv": ("rejected", 2, 0, 2, TABS, [(2, None, TABS), (3, None, TABS)]),
    "latin1.csv": ("partial", 3, 2, 1, "", [(4, "town", "not valid UTF-8 text (is the file Latin-1?)")]),
    "utf16_bom.csv": ("rejected", 2, 0, 2, UTF16, [(2, None, UTF16), (3, None, UTF16)]),
    "header_only.csv": ("ok", 0, 0, 0, "", []),
    "zero_bytes.csv": ("rejected", 0, 0, 0, "the file is empty (0 bytes): expected a header row", []),
    # the second round of attacks (issue 16)
    "huge_money.csv": ("partial", 4, 2, 2, "", [(4, "rent_weekly", BOUND.format("5,000")),
                                                (5, "capital", BOUND.format("100,000,000"))]),
    "raw_identifiers_spelled.csv": ("rejected", 2, 0, 2, RAW, [(2, None, RAW), (3, None, RAW)]),
    "excel_trailing_column.csv": ("ok", 2, 2, 0, "", []),
    "excel_empty_rows.csv": ("ok", 2, 2, 0, "", []),
    "latin1_ignored_column.csv": ("ok", 2, 2, 0, "", []),
    "invisible_duplicate_refs.csv": ("partial", 4, 0, 4, "", [(2, "claim_ref", _dup(2)), (3, "claim_ref", _dup(3)),
                                                              (4, "claim_ref", _dup(2)), (5, "claim_ref", _dup(3))]),
    "nul_byte.csv": ("partial", 3, 2, 1, "", [(4, "town", "holds a NUL byte (a damaged or binary file?)")]),
    "impossible_dates.csv": ("partial", 5, 2, 3, "", [(4, "claimant_birth_date", BEFORE_1900),
                                                      (5, "partner_birth_date", BEFORE_1900),
                                                      (6, "claim_start_date", "is after the as-of date 2026-11-20")]),
}
VALID_LINES = {"excel_empty_rows.csv": [2, 5]}  # where not [2, 3]
BLANK_LINES = {"excel_empty_rows.csv": 8}  # comma-only and whitespace-only rows: counted, not judged
UNKNOWN_COLUMNS = {"latin1_ignored_column.csv": ["notes"]}


def test_every_corpus_file_has_an_expectation():
    assert sorted(p.name for p in CORPUS.glob("*.csv")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus_file_outcome(name: str) -> None:
    status, read, valid, quarantined, reason, problems = EXPECTED[name]
    result = validate_path(CORPUS / name, "benefits", AS_OF, "E07000105")
    r = result.report
    assert (r.status, r.rows_read, r.rows_valid, r.rows_quarantined, r.reason) == (status, read, valid, quarantined,
                                                                                    reason)
    assert [(q["line"], q["column"], q["reason"]) for q in result.quarantine.to_pylist()] == problems
    assert r.reconciles and result.valid.num_rows == valid
    assert (r.blank_lines, r.unknown_columns) == (BLANK_LINES.get(name, 0), UNKNOWN_COLUMNS.get(name, []))
    if valid:
        assert result.valid.column("claim_ref").to_pylist() == ["C1", "C2"]
        assert result.valid.column("line").to_pylist() == VALID_LINES.get(name, [2, 3])
        names = result.valid.column_names
        assert "notes" not in names and not any(c.startswith("_") for c in names)


PEAK = textwrap.dedent("""
    import json, resource, subprocess, sys, time
    start = time.time()
    done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
    print(json.dumps({"rc": done.returncode, "out": done.stdout, "err": done.stderr, "seconds": time.time() - start,
                      "peak_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))
""")


def validate_cli(path: Path) -> dict[str, object]:
    """``povertylink validate`` on a file in a fresh process: exit status, output, seconds and peak RSS (MB)."""
    env = {**ENV, "PYTHONPATH": str(Path(__file__).resolve().parents[3])}
    done = subprocess.run([sys.executable, "-c", PEAK, *CLI, "validate", "--kind", "benefits", "--as-of", AS_OF_TEXT,
                           str(path)], capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, object] = json.loads(done.stdout)
    return result


# Ceilings for a hostile file on the command line: the interpreter, DuckDB and pyarrow take about 200 MB before
# the first row; a million comma-only lines cost 6.3 GB and 89 s (run) before the second round.
PEAK_CEILING_MB = 450
SECONDS_CEILING = 60  # a few seconds on an idle machine; generous for a shared one


@pytest.mark.slow  # a resource ceiling, measured on a child process: the slow tier
@pytest.mark.parametrize("line", ["," * (WIDTH - 1), ",,,,,,"], ids=["header_width", "short"])
def test_a_million_comma_only_lines_are_counted_and_skipped(tmp_path: Path, line: str) -> None:
    """What Excel writes for a million formatted empty rows: blank lines, not a million rows to judge."""
    path = tmp_path / "benefits.csv"
    with path.open("w") as handle:
        handle.write(",".join(header("benefits")) + "\n")
        handle.write((line + "\n") * 1_000_000)
    m = validate_cli(path)
    print(f"\n{path.stat().st_size / 1e6:.0f} MB of comma-only lines: {m['seconds']:.1f} s, peak {m['peak_mb']:.0f} MB")
    assert m["rc"] == 0, m["err"]
    assert m["out"] == (f"{path}: benefits: 0 rows read, 0 valid, 0 quarantined, 1000000 blank lines skipped\nOK\n")
    assert m["peak_mb"] < PEAK_CEILING_MB and m["seconds"] < SECONDS_CEILING


@pytest.mark.slow  # a resource ceiling, measured on a child process: the slow tier
def test_a_ten_megabyte_quoted_field_is_one_row_problem(tmp_path: Path) -> None:
    """A quoted field of 10 MB across 1.7 million lines: one row skipped to its end, not millions of rows."""
    rows = [benefits_row(f"C{i}") for i in range(86)]
    rows[40]["address_line_2"] = 'Flat,"B"\n' * 1_100_000
    path = write_csv(tmp_path / "benefits.csv", rows, header("benefits"))
    last = 42 + 1_100_000
    reason = f"the row is longer than 131,072 characters (a quote left open?): lines 42-{last} skipped"
    m = validate_cli(path)
    print(f"\n{path.stat().st_size / 1e6:.0f} MB, one quoted field: {m['seconds']:.1f} s, peak {m['peak_mb']:.0f} MB")
    assert m["rc"] == 1, m["err"]
    assert str(m["out"]).splitlines()[:2] == [f"{path}: benefits: 86 rows read, 85 valid, 1 quarantined",
                                              f"  line 42: {reason}"]
    assert m["peak_mb"] < PEAK_CEILING_MB and m["seconds"] < SECONDS_CEILING
    result = validate_path(path, "benefits", AS_OF)
    assert result.valid.column("line").to_pylist() == [*range(2, 42), *range(last + 1, last + 46)]


def test_a_quote_left_open_and_a_line_longer_than_the_limit(tmp_path: Path) -> None:
    """A quote never closed runs to the end of the file as one problem; a 1 MB line without a quote is one row."""
    rows = [benefits_row(f"C{i}") for i in range(4)]
    rows[1]["town"] = "x" * 1_000_000
    path = write_csv(tmp_path / "benefits.csv", rows, header("benefits"))
    with path.open("a") as handle:
        handle.write('C9,1,"never closed\n' + "C10,\n" * 50_000)
    result = validate_path(path, "benefits", AS_OF)
    long_row = "the row is longer than 131,072 characters (a quote left open?): {} skipped"
    assert [(q["line"], q["reason"]) for q in result.quarantine.to_pylist()] == [
        (3, long_row.format("line 3")), (6, long_row.format("lines 6-50006"))]
    assert result.valid.column("claim_ref").to_pylist() == ["C0", "C2", "C3"]
    assert result.report.rows_read == 5 and result.report.reconciles


def write_large_extract(path: Path, target_bytes: int) -> int:
    """A valid benefits extract of about ``target_bytes``, every 1000th row bad; returns its row count."""
    cols = header("benefits")
    template = ",".join(
        "{ref}" if c == "claim_ref" else "{adults}" if c == "adults" else f'"{v}"' if "," in v else v
        for c, v in benefits_row("X").items())
    rows = 0
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write(",".join(cols) + "\n")
        written = 0
        while written < target_bytes:
            block = "".join(template.format(ref=f"L{rows + i}", adults="0" if (rows + i) % 1000 == 999 else "1") + "\n"
                            for i in range(10_000))
            handle.write(block)
            written += len(block)
            rows += 10_000
    return rows


MEASURE = textwrap.dedent("""
    import datetime as dt, json, sys, threading, time
    from pathlib import Path
    import psutil
    from pipelines.ingest.validate import validate_path
    src, out, tiny = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    validate_path(tiny, "benefits", dt.date(2026, 11, 20))  # warm: imports, DuckDB, pyarrow pools
    proc = psutil.Process()
    base = proc.memory_info().rss
    peak, done = [base], []
    def sample():
        while not done:
            peak.append(proc.memory_info().rss)
            time.sleep(0.05)
    thread = threading.Thread(target=sample, daemon=True)  # an error ends the script, not a wait for ever
    thread.start()
    start = time.time()
    result = validate_path(src, "benefits", dt.date(2026, 11, 20), valid_out=out)
    done.append(1)
    thread.join()
    r = result.report
    print(json.dumps({"base": base, "peak": max(peak), "seconds": time.time() - start, "read": r.rows_read,
                      "valid": r.rows_valid, "quarantined": r.rows_quarantined, "q_rows": result.quarantine.num_rows}))
""")


@pytest.mark.slow
def test_large_extract_streams_with_bounded_memory(tmp_path: Path) -> None:
    big = tmp_path / "benefits_big.csv"
    rows = write_large_extract(big, 500_000_000)
    size = big.stat().st_size
    tiny = CORPUS / "truncated_mid_row.csv"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[3])}
    done = subprocess.run([sys.executable, "-c", MEASURE, str(big), str(tmp_path / "valid.parquet"), str(tiny)],
                          capture_output=True, text=True, env=env, timeout=1200)
    assert done.returncode == 0, done.stderr[-3000:]
    m = json.loads(done.stdout.strip().splitlines()[-1])
    growth = m["peak"] - m["base"]
    print(f"\n{size / 1e6:.0f} MB, {rows} rows in {m['seconds']:.0f} s; RSS growth {growth / 1e6:.0f} MB")
    assert (m["read"], m["valid"], m["quarantined"], m["q_rows"]) == (rows, rows - rows // 1000, rows // 1000,
                                                                      rows // 1000)
    # bounded: DuckDB's memory limit (128 MB) plus pyarrow blocks and batches, whatever the file size
    assert growth < min(size / 2, 256e6), f"RSS grew {growth / 1e6:.0f} MB reading a {size / 1e6:.0f} MB file"
    assert pq.ParquetFile(tmp_path / "valid.parquet").metadata.num_rows == rows - rows // 1000
