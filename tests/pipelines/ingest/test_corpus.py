"""A corpus of malformed extracts (tests/pipelines/ingest/corpus/), each with the exact outcome expected, and a
generated extract of about 500 MB validated with bounded memory (streaming; marked slow).

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
from tests.cli import AS_OF_DATE as AS_OF
from tests.rows import benefits_row, header

CORPUS = Path(__file__).parent / "corpus"
SEMICOLONS = ("the header is one column holding semicolons: the file is separated by semicolons, not commas; "
              "save it as CSV (comma delimited)")
TABS = ("the header is one column holding tabs: the file is separated by tabs, not commas; "
        "save it as CSV (comma delimited)")
UTF16 = "the file is UTF-16 or binary, not UTF-8 text: save it as CSV UTF-8"
WIDTH = len(header("benefits"))

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
}


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
    if valid:
        assert result.valid.column("claim_ref").to_pylist() == ["C1", "C2"]
        assert result.valid.column("line").to_pylist() == [2, 3]


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
