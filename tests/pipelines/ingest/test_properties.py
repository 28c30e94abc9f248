"""Property-based tests of the reader and the validators (hypothesis).

For any input: no unhandled exception; every row ends valid or quarantined with a reason; the
counts reconcile; line numbers are true; the fast (pyarrow) and exact (csv module) reading paths
agree; and the vectorised SQL checks agree with per-row pydantic on every row, value by value.
Settings are modest (deadline off, 100 examples a property) so the suite stays quick.
"""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from pipelines.ingest.reader import read_extract
from pipelines.ingest.validate import Validated, validate_path
from schemas.columns import column_specs
from schemas.inputs import model_for
from tests.cli import AS_OF_DATE as AS_OF
from tests.conftest import examples
from tests.rows import benefits_row, council_tax_row, header

SETTINGS = settings(max_examples=examples(100), deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                           HealthCheck.data_too_large])

# Values a council export may hold, hostile or merely odd, for any column.
TRICKY = [
    "", " ", "\t", "\x1f", "\u00a0", "0", "1", "-1", "-0", "12", " 12 ", "1.5", "1e3", "\u0663", "0001",
    "99999999999999999999", "1" * 40, "£1,234.50", "1,234.50", "1,234", "£95", "-£5", "£-5", "1234,50",
    "1.234,50", "£1,23.50", "12.345", "NaN", "nan", "inf", "-inf", "null", "NULL", "None", "01/02/2024",
    "1/2/2024", "12/31/2024", "31/02/2024", "29/02/2024", "01/02/24", "2024-2-1", "2024-02-30", "2024-02-29",
    "0000-01-01", "2026-11-21", "1950-03-01", "9999-12-31", "true", "FALSE", "Y", "n", "yes", "council",
    " council", "private_rented", "A", "H", "W", "none", "summons", "CT1 1AA", "ct11aa", "ct1\u30001aa",
    "\u00df1 1AA", "3", "3;4", "3; 7", "25", "3,4", "a,b", 'he said "hi"', "line\nbreak", "cr\rhere",
    "x" * 300, "\ufeffbom",
]
VALUE = st.one_of(st.sampled_from(TRICKY), st.text(max_size=12),
                  st.from_regex(r"-?£?[0-9]{1,7}([.,][0-9]{1,3})*", fullmatch=True),
                  st.from_regex(r"[0-9]{1,4}[/-][0-9]{1,2}[/-][0-9]{1,4}", fullmatch=True))


def _row(kind: str, ref: str, **changes: str) -> dict[str, str]:
    return benefits_row(ref, **changes) if kind == "benefits" else council_tax_row(ref, **changes)


def _write(path: Path, columns: list[str], rows: list[list[str]], newline: str = "\n") -> Path:
    buffer = io.StringIO()
    bare_cr = any("\r" in v for row in rows for v in row)  # QUOTE_MINIMAL leaves a lone CR unquoted
    writer = csv.writer(buffer, lineterminator=newline, quoting=csv.QUOTE_ALL if bare_cr else csv.QUOTE_MINIMAL)
    writer.writerow(columns)
    writer.writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8", newline="")
    return path


def _invariants(result: Validated) -> None:
    """Every row valid or quarantined with a reason; counts reconcile; lines disjoint; no value quoted."""
    r = result.report
    assert r.reconciles, r
    assert r.rows_read == r.rows_valid + r.rows_quarantined
    q = result.quarantine.to_pylist()
    assert all(p["reason"] for p in q)
    bad_lines = {p["line"] for p in q}
    valid_lines = result.valid.column("line").to_pylist() if r.status != "rejected" else []
    assert len(valid_lines) == r.rows_valid
    assert not bad_lines & set(valid_lines)
    assert len(bad_lines) == r.rows_quarantined
    assert r.status in ("ok", "partial", "rejected")
    assert sum(r.problems_by_reason.values()) == len(q)


@SETTINGS
@given(data=st.binary(max_size=3000), with_header=st.booleans(), kind=st.sampled_from(["benefits", "council_tax"]))
def test_random_bytes_never_crash_and_reconcile(tmp_path: Path, data: bytes, with_header: bool, kind: str) -> None:
    path = tmp_path / "random.csv"
    path.write_bytes((",".join(header(kind)).encode() + b"\n" if with_header else b"") + data)
    _invariants(validate_path(path, kind, AS_OF))


@st.composite
def csv_texts(draw: st.DrawFn) -> str:
    """A CSV-ish text: a header, rows of random fields, random quoting, blank lines and trailing commas."""
    width = draw(st.integers(1, 5))
    names = [f"c{i}" for i in range(width)]
    lines = [",".join(names)]
    for _ in range(draw(st.integers(0, 12))):
        shape = draw(st.sampled_from(["row", "row", "row", "blank", "ragged", "trailing"]))
        if shape == "blank":
            lines.append(draw(st.sampled_from(["", " ", "\t"])))
            continue
        n = width + (draw(st.sampled_from([-1, 1])) if shape == "ragged" else 0)
        fields = []
        for _ in range(max(n, 0)):
            value = draw(st.one_of(st.sampled_from(TRICKY), st.text(alphabet=st.characters(codec="utf-8"),
                                                                     max_size=8)))
            if draw(st.booleans()) or any(c in value for c in ',"\r\n'):
                value = '"' + value.replace('"', '""') + '"'
            fields.append(value)
        lines.append(",".join(fields) + ("," if shape == "trailing" else ""))
    end = draw(st.sampled_from(["\n", "\r\n"]))
    return end.join(lines) + draw(st.sampled_from([end, ""]))


@SETTINGS
@given(text=csv_texts(), latin1=st.booleans())
def test_fast_and_exact_reading_paths_agree(tmp_path: Path, text: str, latin1: bool) -> None:
    path = tmp_path / "x.csv"
    path.write_bytes(text.encode("latin-1", "replace") if latin1 else text.encode("utf-8"))
    try:
        fast = read_extract(path)
    except ValueError as err:  # UnreadableFile: both paths read the header the same way
        assert "line 1" in str(err) or "empty" in str(err)
        return
    exact = read_extract(path, exact=True)
    assert fast.header == exact.header
    assert fast.table.to_pylist() == exact.table.to_pylist()
    assert fast.problems == exact.problems
    assert fast.blank_lines == exact.blank_lines
    # true line numbers: each row starts on the line its line number says (CR LF, LF and a lone CR end a line)
    physical = re.split("\r\n|\r|\n", path.read_bytes().decode("utf-8", "surrogateescape"))  # as written
    for row in fast.table.to_pylist():
        first = re.split("\r\n|\r|\n", row["c0"])[0]
        assert first in physical[row["_line"] - 1] or first.replace('"', '""') in physical[row["_line"] - 1]


@pytest.mark.parametrize("text", ["c0,c1\n\nA,B\n", "c0,c1\nA,B\n\n", "c0,c1\r\nA,B\r\n\r\n"])
def test_a_blank_line_is_blank_on_both_reading_paths(tmp_path: Path, text: str) -> None:
    """pyarrow reads a blank line as a row of empty values; the fast path must not publish it as a row."""
    path = tmp_path / "x.csv"
    path.write_text(text, newline="")
    for result in (read_extract(path), read_extract(path, exact=True)):
        assert [row["c0"] for row in result.table.to_pylist()] == ["A"]
        assert result.blank_lines == 1


@st.composite
def extracts(draw: st.DrawFn) -> tuple[str, list[str], list[list[str]]]:
    """A benefits or council-tax file: columns shuffled, some extra, missing or repeated; tricky values."""
    kind = draw(st.sampled_from(["benefits", "council_tax"]))
    cols = draw(st.permutations(header(kind)))
    drop = draw(st.sets(st.sampled_from(cols), max_size=2)) if draw(st.integers(0, 4)) == 0 else set()
    cols = [c for c in cols if c not in drop]
    if draw(st.integers(0, 4)) == 0:
        cols.append(draw(st.sampled_from(["notes", "Unnamed: 0", cols[0]])))  # extra or duplicated header
    rows = []
    for i in range(draw(st.integers(0, 8))):
        base = _row(kind, f"R{i}")
        for col in draw(st.sets(st.sampled_from(cols), max_size=3)):
            base[col] = draw(VALUE)
        rows.append([base.get(c, "x") for c in cols])
    return kind, cols, rows


@SETTINGS
@given(extract=extracts(), newline=st.sampled_from(["\n", "\r\n"]))
def test_shuffled_odd_headers_and_tricky_values_reconcile(tmp_path: Path, extract: tuple[str, list[str],
                                                          list[list[str]]], newline: str) -> None:
    kind, cols, rows = extract
    result = validate_path(_write(tmp_path / "e.csv", cols, rows, newline), kind, AS_OF)
    _invariants(result)
    assert result.report.rows_read == len(rows)
    if len(set(cols)) < len(cols):
        assert result.report.status == "rejected" and "repeats column" in result.report.reason
    if "notes" in cols and result.report.status != "rejected":
        assert "notes" in result.report.unknown_columns


def _typed(value: object) -> object:
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    if isinstance(value, Decimal):
        return value.quantize(Decimal("0.01"))
    return value


@SETTINGS
@given(kind=st.sampled_from(["benefits", "council_tax"]), data=st.data())
def test_sql_and_pydantic_agree_on_every_value(tmp_path: Path, kind: str, data: st.DataObject) -> None:
    """Rows with 1-3 tricky values each: the same rows valid, with the same typed values."""
    specs = column_specs(model_for(kind))
    cols = [s.name for s in specs]
    rows = []
    for i in range(10):
        row = _row(kind, f"R{i}")
        for col in data.draw(st.sets(st.sampled_from(cols[1:]), min_size=1, max_size=3)):
            row[col] = data.draw(VALUE)
        rows.append(row)
    result = validate_path(_write(tmp_path / "a.csv", cols, [list(r.values()) for r in rows]), kind, AS_OF)
    _invariants(result)
    ref = cols[0]  # never changed above: it names the row whatever lines the row spans
    valid = {v[ref]: v for v in result.valid.to_pylist()}
    for row in rows:
        try:
            model = model_for(kind).model_validate(row, context={"as_of": AS_OF})
        except ValidationError:
            assert row[ref] not in valid, (row, "SQL accepts a row pydantic refuses")
            continue
        assert row[ref] in valid, (row, "SQL refuses a row pydantic accepts", result.quarantine.to_pylist())
        for spec in specs:
            if spec.kind != "text" or spec.pattern:
                assert _typed(getattr(model, spec.name)) == _typed(valid[row[ref]][spec.name]), (spec.name, row)
