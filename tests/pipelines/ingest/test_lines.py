"""Lines: the csv module's source stops a row past the limit and skips it to its true end (small limits here;
tests/pipelines/ingest/test_corpus.py runs the real limit on generated files)."""

from __future__ import annotations

import csv
import io

import pytest

from pipelines.ingest.lines import Lines, TooLong


def _rows(text: str, limit: int) -> list[tuple[int, list[str] | str]]:
    """(first line, fields or 'too long') of each record, read as the exact path reads them."""
    lines = Lines(io.TextIOWrapper(io.BytesIO(text.encode()), encoding="utf-8", newline=""), limit)
    reader = csv.reader(lines, strict=True)
    out: list[tuple[int, list[str] | str]] = []
    while True:
        start = lines.lines + 1
        lines.start_record()
        try:
            out.append((start, next(reader)))
        except StopIteration:
            return out
        except TooLong:
            lines.skip_record()
            out.append((start, f"too long to line {lines.lines}"))


@pytest.mark.parametrize(("text", "expected"), [
    # a quoted field across lines, with doubled quotes, commas and a quote right after a line break
    ('a,b\n"x\n""y"",\n""\n' + "p" * 10 + 'z",q\nc,d\n', [(1, ["a", "b"]), (2, "too long to line 5"),
                                                         (6, ["c", "d"])]),
    # a quote in an unquoted field is text, not an opening quote
    ('a,b\nx"' + "y" * 30 + ',z\nc,d\n', [(1, ["a", "b"]), (2, "too long to line 2"), (3, ["c", "d"])]),
    # a line longer than the limit with no quote: that line only
    ("a,b\n" + "x" * 100 + "\nc,d\n", [(1, ["a", "b"]), (2, "too long to line 2"), (3, ["c", "d"])]),
    # a quote never closed: to the end of the file
    ('a,b\n"' + "x\n" * 20, [(1, ["a", "b"]), (2, "too long to line 21")]),
    # CR LF and a lone CR end lines too
    ('a,b\r\n"' + "x\r" * 20 + '",1\r\nc,d\r\n', [(1, ["a", "b"]), (2, "too long to line 22"), (23, ["c", "d"])]),
    # rows within the limit are read as the csv module reads them
    ('a,b\n"x\ny",z\n', [(1, ["a", "b"]), (2, ["x\ny", "z"])]),
])
def test_a_row_past_the_limit_is_skipped_to_its_end(text: str, expected: list[tuple[int, object]]) -> None:
    assert _rows(text, 24) == expected
