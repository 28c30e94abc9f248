"""Text from input files made safe for where it is shown: terminals, Markdown, CSV cells.

Values that came from a file (header names, file names, codes, reasons quoting them) may carry
terminal escape sequences, Markdown or HTML, or spreadsheet formulas. These helpers are the one
place that neutralises them; callers apply them where text leaves the program:

- :func:`printable`: control characters (C0, DEL, C1, bidirectional overrides) replaced, for a terminal;
- :func:`one_line`: :func:`printable` on one line, optionally shortened;
- :func:`markdown_escape`: Markdown and HTML special characters escaped, for the Prefect artifact;
- :func:`csv_safe`: a cell that a spreadsheet would run as a formula made plain text.
No personal data is added; callers decide what text may be shown at all.
"""

from __future__ import annotations

import re
import unicodedata

REPLACEMENT = "\N{REPLACEMENT CHARACTER}"
# C0 controls (but tab and newline, handled by the callers), DEL, C1 controls, and the
# bidirectional controls that can reorder what a terminal shows (Trojan Source).
_CONTROL_RE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_MARKDOWN_RE = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>&~])")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def printable(text: object) -> str:
    """``text`` with every control character replaced by U+FFFD; tabs and newlines kept."""
    return _CONTROL_RE.sub(REPLACEMENT, str(text))


def one_line(text: object, limit: int | None = None) -> str:
    """``text`` printable on one line: newlines and tabs become spaces; cut to ``limit`` characters with '…'."""
    flat = printable(str(text).replace("\r\n", " ").replace("\n", " ").replace("\r", " ").replace("\t", " "))
    if limit is not None and len(flat) > limit:
        return flat[: max(limit - 1, 0)] + "…"
    return flat


def markdown_escape(text: object) -> str:
    """``text`` on one line with Markdown and HTML special characters backslash-escaped (``<`` and ``&`` too)."""
    return _MARKDOWN_RE.sub(r"\\\1", one_line(text))


def csv_safe(text: str | None) -> str | None:
    """A CSV cell a spreadsheet shows as text: one starting with = + - @ tab or CR gets a leading apostrophe.

    A plain number (``-12.5``) is left as it is: it is data, not a formula.
    """
    if not text or not text.startswith(FORMULA_STARTS):
        return text
    if re.fullmatch(r"[-+]?[0-9]+(\.[0-9]+)?", text):
        return text
    return "'" + text


def is_visible(char: str) -> bool:
    """True for a character a reader sees (not a control, format or unassigned code point)."""
    return unicodedata.category(char)[0] != "C"
