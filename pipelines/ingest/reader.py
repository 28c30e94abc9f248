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

Hostile or damaged files cost bounded memory and time: a row longer than ROW_LIMIT characters
(a quote left open runs into the rest of the file) is skipped as one row problem, to the end
of its quoted field, never read whole and never re-read as many rows; a row of only empty
fields (what Excel writes for formatted empty rows) is counted as blank and skipped, not
judged; an empty trailing header column (Excel's trailing comma) is dropped with its values.
Only the columns being judged (:attr:`ExtractStream.judged`) are checked for bad UTF-8 and NUL
bytes: a Latin-1 byte in a column the contract ignores does not cost the row.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from pipelines.ingest.lines import ROW_LIMIT, Lines, TooLong
from schemas.columns import WHITESPACE_RE2_CLASS, drop_invisible

LINE_COLUMN = "_line"
UTF8_BOM = codecs.BOM_UTF8
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
BATCH_ROWS = 100_000
BLOCK_BYTES = 1 << 20  # pyarrow block: a batch of the fast path (bigger blocks cost more RSS than speed)
_SURROGATE = re.compile("[\udc80-\udcff]")
_BLANK_RE2 = f"^{WHITESPACE_RE2_CLASS}*$"
REASON_NUL = "holds a NUL byte (a damaged or binary file?)"
REASON_NOT_UTF8 = "not valid UTF-8 text (is the file Latin-1?)"


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
    """The names as checked: without invisible characters (a second BOM, a zero-width space) or surrounding
    whitespace, and without empty trailing names (Excel's trailing comma)."""
    names = [drop_invisible(h).strip() for h in header]
    while len(names) > 1 and not names[-1]:
        names.pop()
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


def _text_rows(handle: io.BufferedReader) -> tuple[Lines, Iterator[list[str]]]:
    text = io.TextIOWrapper(handle, encoding="utf-8-sig", errors="surrogateescape", newline="")
    lines = Lines(text)
    return lines, csv.reader(lines, strict=True)


def _read_header(path: Path) -> tuple[list[str], list[str]]:
    """(names as checked, names as written) of the header row; UnreadableFile when it is unusable."""
    with path.open("rb") as handle:
        lines, reader = _text_rows(handle)
        previous_limit = csv.field_size_limit(2 * ROW_LIMIT + 2)
        try:
            row = next(reader)
        except StopIteration:
            raise UnreadableFile(f"{path}: the file is empty: expected a header row") from None
        except TooLong:
            raise UnreadableFile(f"{path}: line 1: the header is longer than {ROW_LIMIT:,} characters") from None
        except csv.Error as err:
            raise UnreadableFile(f"{path}: line 1: the header cannot be parsed ({err})") from None
        finally:
            csv.field_size_limit(previous_limit)
        if lines.lines != 1:
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


def _exact_chunks(path: Path, header: list[str], width: int, judged: Sequence[int], counts: _Counts,
                  resume_line: int, batch_rows: int) -> Iterator[Chunk]:
    """Python's csv module over the file as UTF-8 (bad bytes kept as surrogates and reported).

    A row has ``width`` fields (the header as written); its first ``len(header)`` are returned.
    Only the fields at ``judged`` are checked for bad UTF-8 and NUL bytes; a bad byte elsewhere is
    replaced, as that column is not read. Rows that start before ``resume_line`` were already
    returned by the fast path and are skipped.
    """
    keep = len(header)
    previous_limit = csv.field_size_limit(2 * ROW_LIMIT + 2)  # Lines stops a row first
    try:
        with path.open("rb") as handle:
            lines, reader = _text_rows(handle)
            next(reader)  # the header, checked by _read_header
            columns: list[list[str]] = [[] for _ in range(keep)]
            row_lines: list[int] = []
            problems: list[RowProblem] = []
            while True:
                start = lines.lines + 1
                lines.start_record()
                try:
                    row = next(reader)
                except StopIteration:
                    break
                except TooLong:
                    lines.skip_record()
                    if start >= resume_line:
                        problems.append(RowProblem(start, None, f"the row is longer than {ROW_LIMIT:,} characters "
                                                   f"(a quote left open?): {_span(start, lines.lines)} skipped"))
                except csv.Error as err:
                    if start >= resume_line:
                        problems.append(RowProblem(start, None, f"the row cannot be parsed as CSV ({err}): "
                                                   f"{_span(start, lines.lines)} skipped"))
                else:
                    if start < resume_line:
                        continue
                    if _is_blank(row):
                        counts.blank_lines += 1
                    elif (problem := _row_problem(row, start, header, width, judged)) is not None:
                        problems.append(problem)
                    else:
                        if _SURROGATE.search("".join(row)):  # only in columns not judged: not read
                            row = [_SURROGATE.sub("\ufffd", v) for v in row]
                        for i in range(keep):
                            columns[i].append(row[i])
                        row_lines.append(start)
                if len(row_lines) + len(problems) >= batch_rows:
                    yield _count(counts, Chunk(_text_table(columns, row_lines, header), problems))
                    columns, row_lines, problems = [[] for _ in range(keep)], [], []
            yield _count(counts, Chunk(_text_table(columns, row_lines, header), problems))
    finally:
        csv.field_size_limit(previous_limit)


def _span(start: int, end: int) -> str:
    end = max(start, end)
    return f"line {start}" if end == start else f"lines {start}-{end}"


def _is_blank(row: list[str]) -> bool:
    """True for a row of only empty or whitespace fields (any number of them), or an empty line."""
    return all(not v.strip() for v in row)  # str.strip() removes exactly WHITESPACE, as _BLANK_RE2


def _row_problem(row: list[str], start: int, header: list[str], width: int,
                 judged: Sequence[int]) -> RowProblem | None:
    """Why a row that is not blank cannot be returned, or None.

    Where the header ends in nameless columns (Excel's trailing comma), a row may stop before them.
    """
    if not len(header) <= len(row) <= width:
        return RowProblem(start, None, f"the row has {len(row)} fields; the header has {width}")
    for i in judged:
        if "\x00" in row[i]:
            return RowProblem(start, header[i], REASON_NUL)
        if _SURROGATE.search(row[i]):
            return RowProblem(start, header[i], REASON_NOT_UTF8)
    return None


def _count(counts: _Counts, chunk: Chunk) -> Chunk:
    counts.rows += chunk.table.num_rows
    counts.problems += len(chunk.problems)
    return chunk


_NEEDS_EXACT = np.zeros(256, dtype=bool)
_NEEDS_EXACT[[0x00, 0x0A, 0x0D]] = True  # NUL, LF, CR


def _value_lengths(column: pa.Array) -> np.ndarray:
    """Bytes of each value of a string column, from its offsets (no copy of the values)."""
    offsets = np.frombuffer(column.buffers()[1], dtype=np.int32)[column.offset: column.offset + len(column) + 1]
    return np.diff(offsets)


def _needs_exact_path(batch: pa.RecordBatch) -> bool:
    """True when a value may hold CR, LF or NUL, or a row may be near ROW_LIMIT: the exact path decides.

    Looks at each text column's bytes at once (a tenth of the time of a regex per value); bytes
    outside the values can only raise a false alarm, which sends the file down the exact path,
    never a line break missed. A row is near the limit when twice its values' bytes (every quote
    doubled) plus three characters a field (quotes and comma) could pass ROW_LIMIT.
    """
    longest = 0  # the sum of each column's longest value: no row is longer
    for column in batch.columns:
        data = column.buffers()[2] if pa.types.is_string(column.type) else None
        if data is not None and data.size:
            values = np.frombuffer(data, dtype=np.uint8)
            low = values < 0x0E  # one pass; the few control bytes are looked at again
            if low.any() and _NEEDS_EXACT[values[low]].any():
                return True
            longest += int(_value_lengths(column).max(initial=0))
        elif data is None and pc.any(pc.match_substring_regex(column.cast(pa.string()), "[\\r\\n\\x00]")).as_py():
            return True
    if 2 * longest + 3 * batch.num_columns + 2 <= ROW_LIMIT:
        return False
    lengths = sum(_value_lengths(c) for c in batch.columns if pa.types.is_string(c.type))
    return int(np.max(lengths, initial=0)) * 2 + 3 * batch.num_columns + 2 > ROW_LIMIT


def _blank_rows(batch: pa.RecordBatch) -> pa.Array | None:
    """A mask of the rows whose every field is empty or whitespace, or None when there is none.

    The first column is looked at first: a row with anything in it is not blank, so an ordinary
    batch costs one regex pass over one column.
    """
    mask = pc.match_substring_regex(batch.column(0), _BLANK_RE2)
    if not pc.any(mask).as_py():
        return None
    for column in batch.columns[1:]:
        mask = pc.and_(mask, pc.match_substring_regex(column, _BLANK_RE2))
    return mask if pc.any(mask).as_py() else None


def _fast_chunks(path: Path, header: list[str], written: list[str], counts: _Counts,
                 batch_rows: int, judged: Sequence[int]) -> Iterator[Chunk]:
    """pyarrow's streaming parser while every row is one plain line; then the exact path takes over.

    Blank rows are counted and dropped here; a trailing nameless column is read and dropped.
    """
    line = 2
    width = len(written)
    trailing = width > len(header)  # Excel's trailing comma: names of our own for the nameless columns
    names = [*header, *(f"_trailing_{i}" for i in range(width - len(header)))]
    try:
        reader = pacsv.open_csv(
            path,
            read_options=pacsv.ReadOptions(use_threads=True, block_size=BLOCK_BYTES,
                                           column_names=names if trailing else None, skip_rows=1 if trailing else 0),
            parse_options=pacsv.ParseOptions(
                newlines_in_values=False, ignore_empty_lines=False  # a ragged or blank row raises: exact path
            ),
            convert_options=pacsv.ConvertOptions(
                check_utf8=True, strings_can_be_null=False, quoted_strings_can_be_null=False,
                column_types={name: pa.string() for name in (names if trailing else written)}, auto_dict_encode=False,
            ),
        )
        seen = [n.removeprefix("\ufeff") if i == 0 else n for i, n in enumerate(reader.schema.names)]
        if seen != (names if trailing else written) or any(not pa.types.is_string(f.type) for f in reader.schema):
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
        if _needs_exact_path(batch):
            break
        table = pa.Table.from_batches([batch]).rename_columns(names)
        table = table.append_column(LINE_COLUMN, pa.array(range(line, line + batch.num_rows), pa.int64()))
        line += batch.num_rows
        blank = _blank_rows(batch)
        if blank is not None:
            counts.blank_lines += pc.sum(blank).as_py()
            table = table.filter(pc.invert(blank))
        yield _count(counts, Chunk(table.select([*header, LINE_COLUMN])))
    yield from _exact_chunks(path, header, width, judged, counts, line, batch_rows)


@dataclass
class ExtractStream:
    """An extract opened for reading: its header now, its rows batch by batch from :meth:`chunks`."""

    path: Path
    header: list[str]
    written_header: list[str]
    exact: bool = False
    batch_rows: int = BATCH_ROWS
    judged: frozenset[str] | None = None  # columns checked for bad UTF-8 and NUL bytes (None: all)
    _counts: _Counts = field(default_factory=_Counts)

    def chunks(self) -> Iterator[Chunk]:
        """Every data row once, in file order, as text batches with their row problems."""
        self._counts = _Counts()
        judged = [i for i, h in enumerate(self.header) if self.judged is None or h in self.judged]
        width = len(self.written_header)
        if self.exact or width == 1:  # one column: a blank line is a row to pyarrow
            return _exact_chunks(self.path, self.header, width, judged, self._counts, 2, self.batch_rows)
        return _fast_chunks(self.path, self.header, self.written_header, self._counts, self.batch_rows, judged)

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
