"""Read one extract CSV as Arrow text in bounded batches, keeping every row's line number.

Nothing is typed or judged here beyond what makes a row a row: each data row becomes one
record of strings plus ``_line`` (its first line in the file, the header being line 1).
Rows that cannot be split into the header's fields are returned as *row problems*; a file
that cannot be read at all raises :class:`UnreadableFile`. Personal data: values pass
through untouched; no value is ever copied into a problem's reason.

The file is streamed: :func:`open_extract` reads the header, and :meth:`ExtractStream.chunks`
yields batches of at most ``batch_rows`` rows (or one pyarrow block), so memory stays bounded
however large the file. Two paths give the same result: a fast one (pyarrow's streaming
parser) for the ordinary well-formed file, and an exact one (Python's csv module) from the
first batch that has anything unusual: non-UTF-8 bytes, quoted newlines, blank lines, ragged
rows. Batches before it were plain one-line rows, so the exact path resumes where they end.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

LINE_COLUMN = "_line"
UTF8_BOM = codecs.BOM_UTF8
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
BATCH_ROWS = 100_000
BLOCK_BYTES = 1 << 20  # pyarrow block: a batch of the fast path (bigger blocks cost more RSS than speed)
FIELD_LIMIT = 131_072  # characters in one field: a runaway quote stops here, not at the end of the file
_SURROGATE = re.compile("[\udc80-\udcff]")


class UnreadableFile(ValueError):
    """The file as a whole cannot be read as a CSV extract; the message says why."""


@dataclass(frozen=True)
class RowProblem:
    """A data row rejected before any column check: its line, the column if known, why."""

    line: int
    column: str | None
    reason: str


@dataclass
class Chunk:
    """A batch of text rows (with ``_line``) and the row problems met while reading it."""

    table: pa.Table
    problems: list[RowProblem] = field(default_factory=list)


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


def _sniff(path: Path) -> None:
    try:
        with path.open("rb") as handle:
            head = handle.read(4096)
    except OSError as err:
        raise UnreadableFile(f"{path}: cannot be read ({err.strerror or err})") from None
    if not head:
        raise UnreadableFile(f"{path}: the file is empty (0 bytes): expected a header row")
    if head.startswith(_UTF16_BOMS) or head[:200].count(b"\x00") > 10:
        raise UnreadableFile(f"{path}: the file is UTF-16 or binary, not UTF-8 text: save it as CSV UTF-8")


def _text_rows(handle: io.BufferedReader) -> Iterator[list[str]]:
    text = io.TextIOWrapper(handle, encoding="utf-8-sig", errors="surrogateescape", newline="")
    return csv.reader(text, strict=True)


def _read_header(path: Path) -> tuple[list[str], list[str]]:
    """(names as checked, names as written) of the header row; UnreadableFile when it is unusable."""
    with path.open("rb") as handle:
        reader = _text_rows(handle)
        try:
            row = next(reader)
        except StopIteration:
            raise UnreadableFile(f"{path}: the file is empty: expected a header row") from None
        except csv.Error as err:
            raise UnreadableFile(f"{path}: line 1: the header cannot be parsed ({err})") from None
        if reader.line_num != 1:  # type: ignore[attr-defined]
            raise UnreadableFile(f"{path}: line 1: the header row has a line break inside a quoted name")
    if any(_SURROGATE.search(h) for h in row):
        raise UnreadableFile(f"{path}: line 1: the header is not UTF-8 text: save the file as CSV UTF-8")
    return _check_header(row, path), row


def _text_table(columns: list[list[str]], lines: list[int], header: list[str]) -> pa.Table:
    arrays = [pa.array(col, pa.string()) for col in columns] + [pa.array(lines, pa.int64())]
    return pa.Table.from_arrays(arrays, names=[*header, LINE_COLUMN])


class _Counts:
    """Running counts of one stream (blank lines skipped, rows returned, problems)."""

    def __init__(self) -> None:
        self.blank_lines = 0
        self.rows = 0
        self.problems = 0


def _exact_chunks(path: Path, header: list[str], counts: _Counts, resume_line: int,
                  batch_rows: int) -> Iterator[Chunk]:
    """Python's csv module over the file as UTF-8 (bad bytes kept as surrogates and reported).

    Rows that start before ``resume_line`` were already returned by the fast path and are skipped.
    """
    width = len(header)
    previous_limit = csv.field_size_limit(FIELD_LIMIT)
    try:
        with path.open("rb") as handle:
            reader = _text_rows(handle)
            next(reader)  # the header, checked by _read_header
            columns: list[list[str]] = [[] for _ in range(width)]
            lines: list[int] = []
            problems: list[RowProblem] = []
            line = reader.line_num + 1  # type: ignore[attr-defined]
            while True:
                try:
                    row = next(reader)
                except StopIteration:
                    break
                except csv.Error as err:
                    start, line = line, reader.line_num + 1  # type: ignore[attr-defined]
                    end = max(start, line - 1)
                    span = f"line {start}" if end == start else f"lines {start}-{end}"
                    problems.append(RowProblem(start, None, f"the row cannot be parsed as CSV ({err}): {span} skipped"))
                    continue
                start, line = line, reader.line_num + 1  # type: ignore[attr-defined]
                if start < resume_line:
                    continue
                if not row or (len(row) == 1 and not row[0].strip()):
                    counts.blank_lines += 1
                    continue
                if len(row) != width:
                    problems.append(RowProblem(start, None, f"the row has {len(row)} fields; the header has {width}"))
                elif _SURROGATE.search("".join(row)):
                    bad = next(i for i, v in enumerate(row) if _SURROGATE.search(v))
                    problems.append(RowProblem(start, header[bad], "not valid UTF-8 text (is the file Latin-1?)"))
                else:
                    for i, value in enumerate(row):
                        columns[i].append(value)
                    lines.append(start)
                if len(lines) + len(problems) >= batch_rows:
                    yield _count(counts, Chunk(_text_table(columns, lines, header), problems))
                    columns, lines, problems = [[] for _ in range(width)], [], []
            yield _count(counts, Chunk(_text_table(columns, lines, header), problems))
    finally:
        csv.field_size_limit(previous_limit)


def _count(counts: _Counts, chunk: Chunk) -> Chunk:
    counts.rows += chunk.table.num_rows
    counts.problems += len(chunk.problems)
    return chunk


def _has_line_break(batch: pa.RecordBatch) -> bool:
    """True when a value may hold CR or LF: looks at each text column's bytes at once (a tenth of the
    time of a regex per value); bytes outside the values can only raise a false alarm, which sends
    the file down the exact path, never a line break missed."""
    for column in batch.columns:
        data = column.buffers()[2] if pa.types.is_string(column.type) else None
        if data is not None and data.size:
            values = np.frombuffer(data, dtype=np.uint8)
            if np.any((values == 0x0A) | (values == 0x0D)):
                return True
        elif data is None and pc.any(pc.match_substring_regex(column.cast(pa.string()), "[\r\n]")).as_py():
            return True
    return False


def _has_empty_row(batch: pa.RecordBatch) -> bool:
    """True when some row has every value empty: pyarrow reads a blank line as such a row (it does
    not raise), so the exact path must decide between a blank line and a line of commas."""
    empty = None
    for column in batch.columns:
        here = pc.equal(column.cast(pa.string()), "")
        empty = here if empty is None else pc.and_(empty, here)
    return bool(empty is not None and pc.any(empty).as_py())


def _fast_chunks(path: Path, header: list[str], written: list[str], counts: _Counts,
                 batch_rows: int) -> Iterator[Chunk]:
    """pyarrow's streaming parser while every row is one plain line; then the exact path takes over."""
    line = 2
    try:
        reader = pacsv.open_csv(
            path,
            read_options=pacsv.ReadOptions(use_threads=True, block_size=BLOCK_BYTES),
            parse_options=pacsv.ParseOptions(
                newlines_in_values=False, ignore_empty_lines=False  # a ragged or blank row raises: exact path
            ),
            convert_options=pacsv.ConvertOptions(
                check_utf8=True, strings_can_be_null=False, quoted_strings_can_be_null=False,
                column_types={name: pa.string() for name in written}, auto_dict_encode=False,
            ),
        )
        names = [n.removeprefix("\ufeff") if i == 0 else n for i, n in enumerate(reader.schema.names)]
        if names != written or any(not pa.types.is_string(f.type) for f in reader.schema):
            reader = None
    except (pa.ArrowInvalid, UnicodeDecodeError):
        reader = None
    while reader is not None:  # on the first batch with anything unusual, the exact path takes over
        try:
            batch = reader.read_next_batch()
        except StopIteration:
            return
        except (pa.ArrowInvalid, UnicodeDecodeError):
            break
        if _has_line_break(batch) or _has_empty_row(batch):
            break
        table = pa.Table.from_batches([batch]).rename_columns(header)
        table = table.append_column(LINE_COLUMN, pa.array(range(line, line + batch.num_rows), pa.int64()))
        line += batch.num_rows
        yield _count(counts, Chunk(table))
    yield from _exact_chunks(path, header, counts, line, batch_rows)


@dataclass
class ExtractStream:
    """An extract opened for reading: its header now, its rows batch by batch from :meth:`chunks`."""

    path: Path
    header: list[str]
    written_header: list[str]
    exact: bool = False
    batch_rows: int = BATCH_ROWS
    _counts: _Counts = field(default_factory=_Counts)

    def chunks(self) -> Iterator[Chunk]:
        """Every data row once, in file order, as text batches with their row problems."""
        self._counts = _Counts()
        if self.exact or len(self.header) == 1:  # one column: a blank line is a row to pyarrow
            return _exact_chunks(self.path, self.header, self._counts, 2, self.batch_rows)
        return _fast_chunks(self.path, self.header, self.written_header, self._counts, self.batch_rows)

    @property
    def blank_lines(self) -> int:
        """Blank lines skipped so far."""
        return self._counts.blank_lines

    @property
    def rows_read(self) -> int:
        """Data rows seen so far: rows returned plus rows rejected."""
        return self._counts.rows + self._counts.problems


def open_extract(path: Path, exact: bool = False, batch_rows: int = BATCH_ROWS) -> ExtractStream:
    """Open an extract and read its header; UnreadableFile when the file cannot be read at all."""
    _sniff(path)
    header, written = _read_header(path)
    return ExtractStream(path, header, written, exact=exact, batch_rows=batch_rows)


def read_extract(path: Path, exact: bool = False) -> ReadResult:
    """Read a whole extract into memory (small files, tests): rows as text with lines, and problems."""
    stream = open_extract(path, exact=exact)
    tables: list[pa.Table] = []
    problems: list[RowProblem] = []
    for chunk in stream.chunks():
        tables.append(chunk.table)
        problems.extend(chunk.problems)
    table = pa.concat_tables(tables) if tables else _text_table([[] for _ in stream.header], [], stream.header)
    return ReadResult(stream.header, table, problems, stream.blank_lines, str(path))
