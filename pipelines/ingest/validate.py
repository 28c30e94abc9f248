"""Validate one extract: every row ends valid (typed) or quarantined with line, column and reason.

Reads the text batches of :mod:`pipelines.ingest.reader` into a private DuckDB database (a file up
to HOLD_BYTES is read straight from its Arrow batches; a larger one is streamed into a table
that spills to disk, so memory stays bounded however large the file), checks them with SQL derived from the
pydantic models (:mod:`pipelines.ingest.validation_sql`), and returns data: the valid rows typed per the
model (Arrow, or written straight to Parquet), the quarantine rows (Arrow) and a
:class:`FileReport` whose counts reconcile (rows read = rows valid + rows quarantined) and
which counts the values accepted in a normalised form (``normalised``). Personal data: the
pseudonymised rows pass through; reasons never quote a value.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.ingest.reader import BATCH_ROWS, LINE_COLUMN, ExtractStream, UnreadableFile, open_extract
from pipelines.ingest.validation_sql import (
    cross_checks,
    normalisation_sql,
    quote_ident,
    quote_str,
    reason_sql,
    typed_expr,
    typed_sql,
    with_helpers_sql,
)
from schemas.columns import column_specs
from schemas.inputs import UNIQUE_TOGETHER, model_for, raw_identifier_headers

DUCKDB_MEMORY_LIMIT = "128MB"  # the checks spill to a private temporary folder beyond this
# Problems (quarantine rows) in one file beyond which it is refused whole: a file that bad is the wrong file,
# shifted columns or an attack, and a quarantine of tens of millions of rows would only cost memory.
MAX_PROBLEMS = 1_000_000

QUARANTINE_SCHEMA = pa.schema([
    ("lad_code", pa.string()), ("kind", pa.string()), ("file", pa.string()),
    ("line", pa.int64()), ("column", pa.string()), ("reason", pa.string()),
])
META_COLUMNS = ("lad_code", "extract_date", "source_file", "line")


@dataclass
class FileReport:
    """One file's outcome, as recorded in the manifest."""

    kind: str
    file: str
    lad_code: str
    rows_read: int = 0
    rows_valid: int = 0
    rows_quarantined: int = 0
    blank_lines: int = 0
    status: str = "ok"  # ok | partial | rejected
    reason: str = ""
    unknown_columns: list[str] = field(default_factory=list)
    missing_optional_columns: list[str] = field(default_factory=list)
    problems_by_reason: dict[str, int] = field(default_factory=dict)
    # column -> kind of normalisation -> values accepted in that form, on valid rows
    normalised: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def reconciles(self) -> bool:
        """Rows read = rows valid + rows quarantined."""
        return self.rows_read == self.rows_valid + self.rows_quarantined

    def as_dict(self) -> dict[str, object]:
        """JSON-able form for the manifest."""
        return {**asdict(self), "reconciles": self.reconciles}


@dataclass
class Validated:
    """Valid rows (typed, with META_COLUMNS first), quarantined rows and the report.

    When the valid rows were written to Parquet (``valid_path``), :attr:`valid` reads them back.
    """

    valid_rows: pa.Table | None
    quarantine: pa.Table
    report: FileReport
    valid_path: Path | None = None

    @property
    def valid(self) -> pa.Table:
        """The valid rows as an Arrow table."""
        if self.valid_rows is not None:
            return self.valid_rows
        assert self.valid_path is not None
        return pq.read_table(self.valid_path)


def typed_schema(kind: str) -> list[tuple[str, str]]:
    """(column, DuckDB type) of a validated table: META_COLUMNS, then the model's columns."""
    model = [(s.name, s.duckdb_type) for s in column_specs(model_for(kind))]
    meta = [("lad_code", "VARCHAR"), ("extract_date", "DATE"), ("source_file", "VARCHAR"), ("line", "BIGINT")]
    return [m for m in meta if m[0] not in dict(model)] + model


def empty_valid(kind: str) -> pa.Table:
    """A validated table of the kind with no rows (for a district with no such extract)."""
    cols = ", ".join(f"CAST(NULL AS {t}) AS {quote_ident(c)}" for c, t in typed_schema(kind))
    return duckdb.connect().sql(f"SELECT {cols} LIMIT 0").to_arrow_table()


def _quarantine_whole(lines: pa.Array, reason: str, kind: str, file: str, lad: str) -> pa.Table:
    n = len(lines)
    return pa.Table.from_arrays(
        [pa.repeat(pa.scalar(lad), n), pa.repeat(pa.scalar(kind), n), pa.repeat(pa.scalar(file), n),
         lines.cast(pa.int64()), pa.nulls(n, pa.string()), pa.repeat(pa.scalar(reason), n)],
        schema=QUARANTINE_SCHEMA,
    )


def count_data_lines(path: Path) -> int:
    """Lines after the header (for a file that cannot be parsed): newline bytes, plus a last unended line."""
    count, last = 0, b"\n"
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                count += chunk.count(b"\n")
                last = chunk.rstrip(b"\x00")[-1:] or last  # UTF-16 ends a line with a NUL byte
    except OSError:
        return 0
    if last != b"\n":
        count += 1
    return max(count - 1, 0)


def _reject_unreadable(report: FileReport, reason: str, kind: str, data_lines: int) -> Validated:
    """A file that cannot be read at all: each of its data lines quarantined with the reason."""
    report.status, report.reason = "rejected", reason
    report.rows_read = report.rows_quarantined = data_lines
    if data_lines:
        report.problems_by_reason = {reason: data_lines}
    lines = pa.array(range(2, data_lines + 2), pa.int64())
    return Validated(empty_valid(kind), _quarantine_whole(lines, reason, kind, report.file, report.lad_code), report)


def check_header(header: list[str], kind: str) -> tuple[str | None, list[str], list[str]]:
    """(reason to reject the whole file or None, unknown columns, missing optional columns)."""
    specs = column_specs(model_for(kind))
    known = {s.name for s in specs}
    raw_present = raw_identifier_headers(kind, header)
    if raw_present:
        names = ", ".join("".join(c for c in h if c.isprintable()) for h in raw_present)
        return (f"this looks like a raw extract: run pseudonymise at the district first ('povertylink pseudonymise'); "
                f"raw identifier column(s): {names}; nothing from this file is used", [], [])
    missing = [s.name for s in specs if s.required and s.name not in header]
    if missing and len(header) == 1:
        for sep, name in ((";", "semicolons"), ("\t", "tabs"), ("|", "'|'")):
            if sep in header[0]:
                return (f"the header is one column holding {name}: the file is separated by {name}, not commas; "
                        "save it as CSV (comma delimited)", [], [])
    if missing:
        return f"missing required column(s): {', '.join(missing)}", [], []
    unknown = [h for h in header if h not in known]
    absent = [s.name for s in specs if not s.required and s.name not in header]
    return None, unknown, absent


CHECK_ROWS = 50_000  # rows judged at a time in a file streamed into DuckDB: bounds the memory of the checks


# rows per row group of the staged valid Parquet: the writer holds one row group in memory, and DuckDB's default
# (122,880 rows of up to ~40 text columns) does not fit within DUCKDB_MEMORY_LIMIT for a district of 240,000 dwellings
VALID_ROW_GROUP_ROWS = 20_000
HOLD_BYTES = 48 << 20  # a file up to this size is judged straight from its Arrow batches, in one pass


def _load(con: duckdb.DuckDBPyConnection, stream: ExtractStream, columns: list[str]) -> list[tuple[int, int]]:
    """Stream the file's batches into ``t`` (the given text columns and the line) and ``read_problems``.

    A file of up to HOLD_BYTES stays in Arrow and ``t`` is a view of it (no copy); a larger one
    is streamed into a DuckDB table ``t``, which spills to disk beyond the memory limit.
    Returns the line ranges (first, last) to judge a pass each, covering every row of ``t``: one
    for a file held in Arrow, about CHECK_ROWS rows each for a streamed one.
    """
    ranges: list[tuple[int, int]] = []
    rows_in_last = 0
    con.execute("CREATE TABLE read_problems (line BIGINT, col VARCHAR, reason VARCHAR)")
    keep = [c for c in stream.header if c in set(columns)] + [LINE_COLUMN]
    stream.judged = frozenset(columns)  # a bad byte in a column not read does not cost the row
    try:
        small = stream.path.stat().st_size <= HOLD_BYTES
    except OSError:
        small = False
    held: list[pa.Table] | None = [] if small else None  # None: the rows go into the DuckDB table
    if held is None:
        cols = ", ".join(f"{quote_ident(c)} VARCHAR" for c in columns)
        con.execute(f"CREATE TABLE t ({cols}{', ' if cols else ''}{LINE_COLUMN} BIGINT)")
    for chunk in stream.chunks():
        batch = chunk.table.select(keep)
        if held is not None:
            held.append(batch)
        else:
            con.execute("INSERT INTO t BY NAME SELECT * FROM batch")
        if batch.num_rows:
            lines = batch.column(LINE_COLUMN)
            first, last = lines[0].as_py(), lines[-1].as_py()
            if ranges and rows_in_last + batch.num_rows <= CHECK_ROWS:
                ranges[-1], rows_in_last = (ranges[-1][0], last), rows_in_last + batch.num_rows
            else:
                ranges.append((first, last))
                rows_in_last = batch.num_rows
        if chunk.problems:
            problems = pa.table({  # noqa: F841 (read by DuckDB by name)
                "line": pa.array([p.line for p in chunk.problems], pa.int64()),
                "col": pa.array([p.column for p in chunk.problems], pa.string()),
                "reason": pa.array([p.reason for p in chunk.problems], pa.string()),
            })
            con.execute("INSERT INTO read_problems SELECT * FROM problems")
    if held is not None:
        whole = pa.concat_tables(held) if held else pa.table({LINE_COLUMN: pa.array([], pa.int64())})
        for c in columns:  # columns the file (or an empty file) does not have: missing on every row
            if c not in whole.column_names:
                whole = whole.append_column(c, pa.nulls(whole.num_rows, pa.string()))
        con.register("t", whole)
        return [(ranges[0][0], ranges[-1][1])] if ranges else []  # held in memory anyway: judged in one pass
    return ranges


def unique_keys(kind: str) -> list[tuple[tuple[str, ...], str]]:
    """(columns, SQL of the typed key) of each uniqueness rule: every ``Unique`` column, then the columns
    unique together (``schemas.inputs.UNIQUE_TOGETHER``; a key with a missing part is not compared)."""
    specs = {s.name: s for s in column_specs(model_for(kind))}
    keys: list[tuple[tuple[str, ...], str]] = [((s.name,), typed_expr(s)) for s in specs.values() if s.unique]
    together = UNIQUE_TOGETHER.get(kind)
    if together:
        parts = [typed_expr(specs[name]) for name in together]
        present = " AND ".join(f"{p} IS NOT NULL" for p in parts)
        keys.append((together, f"CASE WHEN {present} THEN row({', '.join(parts)}) END"))
    return keys


def _problems_sql(kind: str, as_of: dt.date) -> tuple[str, str, str | None]:
    """(joins for the uniqueness checks, the list of {column, reason} of each row's field problems,
    the list of its cross-column problems or None): the cross-column rules count only for a row
    whose fields are all good."""
    specs = column_specs(model_for(kind))
    items = [f"{{'column': {quote_str(s.name)}, 'reason': {reason_sql(s, as_of)}}}" for s in specs]
    joins = []
    for i, (names, key) in enumerate(unique_keys(kind)):
        d = f"_dup{i}"
        what = f"{names[0]} appears" if len(names) == 1 else f"{' and '.join(names)} appear together"
        joins.append(f"LEFT JOIN {d} ON {d}.k = {key}")
        items.append(f"{{'column': {quote_str(names[0])}, 'reason': CASE WHEN {d}.n IS NOT NULL THEN "
                     f"'{what} on ' || {d}.n || ' rows of the file (first on line ' || {d}.first || ')' "
                     "END}")
    field_problems = f"list_filter([{', '.join(items)}], lambda x: x.reason IS NOT NULL)"
    cross = [f"{{'column': {quote_str(c)}, 'reason': CASE WHEN {cond} THEN {quote_str(r)} END}}"
             for c, cond, r in cross_checks(kind)]
    cross_problems = f"list_filter([{', '.join(cross)}], lambda x: x.reason IS NOT NULL)" if cross else None
    return " ".join(joins), field_problems, cross_problems


def _check(con: duckdb.DuckDBPyConnection, kind: str, as_of: dt.date, lad_code: str, extract_date: dt.date | None,
           source_file: str, valid_out: Path | None,
           ranges: list[tuple[int, int]]) -> tuple[pa.Table | None, int, dict[str, dict[str, int]]]:
    """Judge every row of ``t``; (valid rows or None when written to ``valid_out``, count, normalised).

    One pass a range builds ``c``: each row's typed values, its list of problems and a flag per
    counted normalisation. The text columns and helpers are never stored, only read.
    """
    specs = column_specs(model_for(kind))
    joins, field_problems, cross_problems = _problems_sql(kind, as_of)
    for i, (parts, key) in enumerate(unique_keys(kind)):  # duplicates across the whole file, first
        keyed = [s for s in specs if s.name in parts]
        con.execute(f"CREATE TABLE _dup{i} AS SELECT k, COUNT(*) AS n, MIN({LINE_COLUMN}) AS first FROM "
                    f"(SELECT {key} AS k, {LINE_COLUMN} FROM {with_helpers_sql(keyed, 't')}) "
                    "WHERE k IS NOT NULL GROUP BY k HAVING COUNT(*) > 1")
    date_sql = f"DATE '{extract_date.isoformat()}'" if extract_date else "CAST(NULL AS DATE)"
    meta = {"lad_code": quote_str(lad_code), "extract_date": date_sql, "source_file": quote_str(source_file),
            "line": LINE_COLUMN}
    names = {s.name for s in specs}
    columns = [c for c, _ in typed_schema(kind)]
    meta_sql = ", ".join(f"{meta[c]} AS {c}" for c in columns if c in meta and c not in names)
    counted = [(s.name, *n) for s in specs if (n := normalisation_sql(s))]
    flags = "".join(f", COALESCE({cond}, FALSE) AS _norm{j}" for j, (_, cond, _) in enumerate(counted))
    # each list is built once: a row's field problems, then its cross-column ones only where there are none
    lists, outer = f"{field_problems} AS _problems", "*"
    if cross_problems is not None:
        lists = f"{field_problems} AS _fields, {cross_problems} AS _cross"
        outer = "* EXCLUDE (_fields, _cross), CASE WHEN len(_fields) > 0 THEN _fields ELSE _cross END AS _problems"
    for i, (first, last) in enumerate(ranges or [(0, -1)]):  # a range at a time: memory stays bounded
        rows = with_helpers_sql(specs, f"t WHERE {LINE_COLUMN} BETWEEN {first} AND {last}")
        con.execute(f"{'INSERT INTO c' if i else 'CREATE TEMP TABLE c AS'} SELECT {outer} FROM (SELECT {meta_sql}, "
                    f"{', '.join(typed_sql(s) for s in specs)}{flags}, {lists} FROM {rows} t {joins})")
    problems = con.sql("SELECT (SELECT COALESCE(SUM(len(_problems)), 0) FROM c) + (SELECT COUNT(*) FROM "
                       "read_problems)").fetchall()[0][0]
    if problems > MAX_PROBLEMS:
        raise TooManyProblems(int(problems))
    con.execute("INSERT INTO read_problems SELECT line, p.column, p.reason FROM "
                "(SELECT line, UNNEST(_problems) AS p FROM c WHERE len(_problems) > 0)")
    sums = "".join(f", COUNT(*) FILTER (WHERE _norm{j})" for j in range(len(counted)))
    totals = [int(n) for n in con.sql(f"SELECT COUNT(*){sums} FROM c WHERE len(_problems) = 0").fetchall()[0]]
    normalised = {name: {how: n} for (name, _, how), n in zip(counted, totals[1:], strict=True) if n}
    # in line order without a sort (which would not fit the memory limit for a large file): ``c`` was filled range
    # by range in line order, and with preserve_insertion_order a scan keeps it
    valid_sql = f"SELECT {', '.join(quote_ident(c) for c in columns)} FROM c WHERE len(_problems) = 0"
    if valid_out is not None:
        valid_out.parent.mkdir(parents=True, exist_ok=True)
        con.execute(f"COPY ({valid_sql}) TO {quote_str(str(valid_out))} "
                    f"(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE {VALID_ROW_GROUP_ROWS})")
        return None, totals[0], normalised
    valid = con.sql(valid_sql).to_arrow_table()
    return valid, valid.num_rows, normalised


class TooManyProblems(Exception):
    """A file has more than MAX_PROBLEMS problems: it is refused whole."""

    def __init__(self, problems: int) -> None:
        super().__init__(problems)
        self.problems = problems


def _refuse_for_problems(con: duckdb.DuckDBPyConnection, problems: int) -> str:
    """Make ``read_problems`` hold each row's line once and return the reason the file is refused whole."""
    con.execute(f"CREATE TABLE whole AS SELECT line, CAST(NULL AS VARCHAR) AS col, CAST(NULL AS VARCHAR) AS reason "
                f"FROM (SELECT line FROM read_problems UNION SELECT {LINE_COLUMN} FROM t)")
    con.execute("DROP TABLE read_problems")
    con.execute("ALTER TABLE whole RENAME TO read_problems")
    return (f"more than {MAX_PROBLEMS:,} problems ({problems:,}): the file is refused whole; is it the right file, "
            "or are its columns shifted?")


def validate_stream(stream: ExtractStream, kind: str, as_of: dt.date, lad_code: str = "",
                    extract_date: dt.date | None = None, source_file: str = "",
                    valid_out: Path | None = None) -> Validated:
    """Check every row of an opened extract against the model's rules; typed valid rows and quarantine."""
    report = FileReport(kind=kind, file=source_file, lad_code=lad_code)
    reject, unknown, absent = check_header(stream.header, kind)
    specs = column_specs(model_for(kind))
    columns = [] if reject else [s.name for s in specs]
    with tempfile.TemporaryDirectory(prefix="povertylink-validate-") as tmp:
        # in memory up to the limit; beyond it DuckDB spills to the private temporary folder
        con = duckdb.connect(":memory:")
        try:
            con.execute(f"SET temp_directory = {quote_str(tmp)}")
            con.execute("SET threads = 1")
            con.execute(f"SET memory_limit = '{DUCKDB_MEMORY_LIMIT}'")
            con.execute("SET preserve_insertion_order = true")  # valid rows go in line order: no sort needed
            ranges = _load(con, stream, columns)
            report.rows_read, report.blank_lines = stream.rows_read, stream.blank_lines
            if reject:
                con.execute(f"INSERT INTO read_problems SELECT {LINE_COLUMN}, NULL, NULL FROM t")
                valid, report.rows_valid = empty_valid(kind), 0
                report.status, report.reason = "rejected", reject
            else:
                report.unknown_columns, report.missing_optional_columns = unknown, absent
                try:
                    valid, report.rows_valid, report.normalised = _check(
                        con, kind, as_of, lad_code, extract_date, source_file, valid_out, ranges)
                except TooManyProblems as err:
                    reject = _refuse_for_problems(con, err.problems)
                    valid, report.rows_valid = empty_valid(kind), 0
                    report.status, report.reason = "rejected", reject
            reason = quote_str(reject) if reject else "reason"  # a rejected file: every row for the one reason
            quarantine = con.sql(  # streamed out: DuckDB holds no copy of it within its memory limit
                f"SELECT {quote_str(lad_code)} AS lad_code, {quote_str(kind)} AS kind, "
                f"{quote_str(source_file)} AS file, line, col AS column, {reason} AS reason FROM (SELECT line, col, "
                "reason FROM read_problems ORDER BY line, col NULLS FIRST)").to_arrow_reader(BATCH_ROWS).read_all()
            quarantine = quarantine.cast(QUARANTINE_SCHEMA)
            by_reason = con.sql(f"SELECT {reason}, COUNT(*) FROM read_problems GROUP BY ALL").fetchall()
        finally:
            con.close()
    report.problems_by_reason = {str(r): int(n) for r, n in sorted(by_reason, key=lambda rn: (-rn[1], rn[0]))}
    report.rows_quarantined = report.rows_read - report.rows_valid
    if not reject:
        report.status = "ok" if quarantine.num_rows == 0 else "partial"
    if reject and valid_out is not None:
        pq.write_table(valid, valid_out)
        valid = None
    return Validated(valid, quarantine, report, valid_out if valid is None else None)


def validate_path(path: Path, kind: str, as_of: dt.date, lad_code: str = "", extract_date: dt.date | None = None,
                  source_file: str | None = None, valid_out: Path | None = None) -> Validated:
    """Read and validate one file; an unreadable file is quarantined whole, never raised.

    With ``valid_out`` the valid rows are written there as Parquet without ever being held in
    memory whole (``Validated.valid`` then reads them back on demand).
    """
    name = source_file or path.name
    try:
        stream = open_extract(path)
    except UnreadableFile as err:
        report = FileReport(kind=kind, file=name, lad_code=lad_code)
        validated = _reject_unreadable(report, str(err).removeprefix(f"{path}: "), kind, count_data_lines(path))
        if valid_out is not None:
            valid_out.parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(validated.valid, valid_out)
            validated.valid_rows, validated.valid_path = None, valid_out
        return validated
    return validate_stream(stream, kind, as_of, lad_code, extract_date, name, valid_out)


@dataclass
class FileCheck:
    """What ``povertylink validate`` prints."""

    validated: Validated
    path: Path

    @property
    def ok(self) -> bool:
        """True when every row is valid and nothing was reported."""
        r = self.validated.report
        return r.status == "ok" and not r.unknown_columns

    def summary(self, limit: int = 50) -> str:
        """A readable summary: counts, then up to ``limit`` problems with line and column."""
        r = self.validated.report
        lines = [f"{self.path}: {r.kind}: {r.rows_read} rows read, {r.rows_valid} valid, "
                 f"{r.rows_quarantined} quarantined"
                 + (f", {r.blank_lines} blank lines skipped" if r.blank_lines else "")]
        if r.status == "rejected":
            lines.append(f"  whole file rejected: {r.reason}")
        if r.unknown_columns:
            lines.append(f"  unknown columns ignored: {', '.join(r.unknown_columns)}")
        quarantine = self.validated.quarantine
        if r.status != "rejected":
            for row in quarantine.slice(0, limit).to_pylist():  # never the whole quarantine as Python objects
                where = f"line {row['line']}" + (f", column {row['column']}" if row["column"] else "")
                lines.append(f"  {where}: {row['reason']}")
            if quarantine.num_rows > limit:
                lines.append(f"  ... and {quarantine.num_rows - limit} more problems")
        if r.problems_by_reason:
            lines.append("  problems by reason:")
            for reason, n in sorted(r.problems_by_reason.items(), key=lambda kv: -kv[1]):
                lines.append(f"    {n:>7}  {reason}")
        lines.append("OK" if self.ok else "PROBLEMS FOUND")
        return "\n".join(lines)


def validate_file(path: Path, kind: str, as_of: dt.date) -> FileCheck:
    """Check one file for ``povertylink validate``; raises ValueError for an unknown kind or missing file."""
    model_for(kind)
    if not path.is_file():
        raise ValueError(f"{path}: no such file")
    return FileCheck(validate_path(path, kind, as_of), path)
