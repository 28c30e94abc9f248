"""schemas/text.py: text from input files made safe for terminals, Markdown and CSV cells."""

from __future__ import annotations

import csv
import io

import pytest

from schemas.text import REPLACEMENT, csv_safe, is_visible, markdown_escape, one_line, printable

HOSTILE = "name\x1b]0;owned\x07\x1b[2J\x9b31m\u202eevil\x00.csv"


def test_printable_replaces_every_control_character_and_keeps_lines() -> None:
    out = printable(HOSTILE + "\nsecond\tline")
    assert not any(ord(c) < 32 and c not in "\n\t" or 0x7F <= ord(c) <= 0x9F for c in out)
    assert "\u202e" not in out and "\x1b" not in out and "\x00" not in out
    assert out.count(REPLACEMENT) == 6 and out.endswith("\nsecond\tline")
    assert printable("plain £ text, é") == "plain £ text, é"


def test_one_line_flattens_and_cuts() -> None:
    assert one_line("a\r\nb\nc\td") == "a b c d"
    assert one_line("x" * 50, limit=10) == "x" * 9 + "…"
    assert "\n" not in one_line(HOSTILE + "\n" + HOSTILE)


@pytest.mark.parametrize("text", ["**bold** _x_ `code`", "<img src=x onerror=alert(1)>", "[link](javascript:x)",
                                  "| cell | table |", "# heading", "&lt;"])
def test_markdown_escape_leaves_no_markup(text: str) -> None:
    out = markdown_escape(text)
    for special in "*_`<>[]()|#&":
        assert all(out[i - 1] == "\\" for i, c in enumerate(out) if c == special), (text, out)


@pytest.mark.parametrize("cell", ["=HYPERLINK(\"x\",\"y\")", "+1+cmd", "-2+3", "@SUM(A1)", "\tx", "\rx"])
def test_csv_safe_neutralises_formulas(cell: str) -> None:
    assert csv_safe(cell) == "'" + cell
    buffer = io.StringIO()
    csv.writer(buffer).writerow([csv_safe(cell)])
    assert not buffer.getvalue().lstrip('"').startswith(("=", "+", "-", "@", "\t", "\r"))


@pytest.mark.parametrize("cell", ["-12.50", "+3", "12", "", None, "CLAIM-1", "a=b"])
def test_csv_safe_leaves_data_alone(cell: str | None) -> None:
    assert csv_safe(cell) == cell


def test_is_visible() -> None:
    assert is_visible("a") and is_visible("£")
    assert not is_visible("\u200b") and not is_visible("\ufeff") and not is_visible("\x1b")
