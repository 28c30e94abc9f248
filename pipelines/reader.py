"""Read one extract CSV into an Arrow table of text, keeping every row's line number.

Nothing is typed or judged here beyond what makes a row a row: each data row becomes one
record of strings plus ``_line`` (its first line in the file, the header being line 1).
Rows that cannot be split into the header's fields are returned as *row problems*; a file
that cannot be read at all raises :class:`UnreadableFile`. Personal data: values pass
through untouched; no value is ever copied into a problem's reason.

Two paths give the same result: a fast one (pyarrow's multi-threaded parser) for the
ordinary well-formed file, and an exact one (Python's csv module, streamed) whenever the
file has anything unusual: non-UTF-8 bytes, quoted newlines, blank lines, ragged rows.
"""

from __future__ import annotations

import codecs
import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv

LINE_COLUMN = "_line"
UTF8_BOM = codecs.BOM_UTF8
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


class UnreadableFile(ValueError):
    """The file as a whole cannot be read as a CSV extract; the message says why."""


@dataclass(frozen=True)
class RowProblem:
    """A data row rejected before any column check: its line, the column if known, why."""

    line: int
    column: str | None
    reason: str


@dataclass
class ReadResult:
    """What was read: text rows (with ``_line``), the header, problems, and counts."""

    header: list[str]
    table: pa.Table
    problems: list[RowProblem] = field(default_factory=list)
    blank_lines: int = 0
    path: str = ""

    @property
    def rows_read(self) -> int:
        """Data rows seen: rows returned plus rows rejected."""
        return self.table.num_rows + len(self.problems)


def _check_header(header: list[str], path: Path) -> list[str]:
    names = [h.strip() for h in header]
    if not any(names):
        raise UnreadableFile(f"{path}: line 1: the header row is empty")
    blanks = [str(i + 1) for i, h in enumerate(names) if not h]
    if blanks:
        raise UnreadableFile(f"{path}: line 1: header column(s) {', '.join(blanks)} have no name")
    seen: set[str] = set()
    dupes = sorted({h for h in names if h in seen or seen.add(h)})  # type: ignore[func-returns-value]
    if dupes:
        raise UnreadableFile(f"{path}: line 1: header repeats column(s) {', '.join(dupes)}")
    return names


def _sniff(path: Path) -> bytes:
    try:
        with path.open("rb") as handle:
            head = handle.read(4096)
    except OSError as err:
        raise UnreadableFile(f"{path}: cannot be read ({err.strerror or err})") from None
    if not head:
        raise UnreadableFile(f"{path}: the file is empty (0 bytes): expected a header row")
    if head.startswith(_UTF16_BOMS) or head[:200].count(b"\x00") > 10:
        raise UnreadableFile(f"{path}: the file is UTF-16 or binary, not UTF-8 text: save it as CSV UTF-8")
    return head


def _header_names(path: Path) -> list[str] | None:
    """The header's raw names (first CSV record), or None when it cannot be read simply."""
    try:
        with path.open("r", encoding="utf-8-sig", newline="") as handle:
            return next(csv.reader(handle, strict=True))
    except (UnicodeDecodeError, csv.Error, StopIteration):
        return None


def _fast_read(path: Path) -> ReadResult | None:
    """pyarrow's parser, for a well-formed UTF-8 file; None when the file needs the exact path."""
    names = _header_names(path)
    if names is None:
        return None
    bad_rows = 0

    def on_invalid(_row: object) -> str:
        nonlocal bad_rows
        bad_rows += 1
        return "skip"

    try:
        table = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(use_threads=True, block_size=1 << 24),
            parse_options=pacsv.ParseOptions(
                newlines_in_values=False, ignore_empty_lines=False, invalid_row_handler=on_invalid
            ),
            convert_options=pacsv.ConvertOptions(
                check_utf8=True, strings_can_be_null=False, quoted_strings_can_be_null=False,
                column_types={name: pa.string() for name in names}, auto_dict_encode=False,
            ),
        )
    except (pa.ArrowInvalid, UnicodeDecodeError):
        return None
    if bad_rows:
        return None
    if any(not pa.types.is_string(f.type) for f in table.schema):
        return None  # a column whose name pyarrow read differently (e.g. a BOM): take the exact path
    header = [name.lstrip("\ufeff") for name in table.column_names]
    header = _check_header(header, path)
    table = table.rename_columns(header)
    lines = pa.array(range(2, table.num_rows + 2), pa.int64())
    return ReadResult(header=header, table=table.append_column(LINE_COLUMN, lines), path=str(path))


def _exact_read(path: Path) -> ReadResult:
    """Python's csv module over the file as UTF-8 (bad bytes kept as surrogates and reported)."""
    with path.open("rb") as handle:
        raw = io.TextIOWrapper(handle, encoding="utf-8-sig", errors="surrogateescape", newline="")
        reader = csv.reader(raw, strict=True)
        try:
            header_row = next(reader)
        except StopIteration:
            raise UnreadableFile(f"{path}: the file is empty: expected a header row") from None
        except csv.Error as err:
            raise UnreadableFile(f"{path}: line 1: the header cannot be parsed ({err})") from None
        if any("\udc80" <= ch <= "\udcff" for h in header_row for ch in h):
            raise UnreadableFile(f"{path}: line 1: the header is not UTF-8 text: save the file as CSV UTF-8")
        header = _check_header(header_row, path)
        width = len(header)
        columns: list[list[str]] = [[] for _ in range(width)]
        lines: list[int] = []
        problems: list[RowProblem] = []
        blank = 0
        line = reader.line_num + 1
        while True:
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as err:
                problems.append(RowProblem(line, None, f"the row cannot be parsed as CSV ({err})"))
                break
            start, line = line, reader.line_num + 1
            if not row or (len(row) == 1 and not row[0].strip()):
                blank += 1
                continue
            if len(row) != width:
                problems.append(RowProblem(start, None, f"the row has {len(row)} fields; the header has {width}"))
                continue
            bad = next((i for i, v in enumerate(row) if any("\udc80" <= ch <= "\udcff" for ch in v)), None)
            if bad is not None:
                problems.append(RowProblem(start, header[bad], "not valid UTF-8 text (is the file Latin-1?)"))
                continue
            for i, value in enumerate(row):
                columns[i].append(value)
            lines.append(start)
    arrays = [pa.array(col, pa.string()) for col in columns] + [pa.array(lines, pa.int64())]
    table = pa.Table.from_arrays(arrays, names=[*header, LINE_COLUMN])
    return ReadResult(header=header, table=table, problems=problems, blank_lines=blank, path=str(path))


def read_extract(path: Path) -> ReadResult:
    """Read an extract: every data row returned as text with its line, or reported as a problem."""
    _sniff(path)
    fast = _fast_read(path)
    if fast is not None:
        return fast
    return _exact_read(path)
