"""Validate one extract: every row ends valid (typed) or quarantined with line, column and reason.

Takes the text rows of :mod:`pipelines.reader` and returns data: the valid rows typed per the
model (Arrow), the quarantine rows (Arrow) and a :class:`FileReport` whose counts reconcile
(rows read = rows valid + rows quarantined). The checks are SQL derived from the pydantic
models (:mod:`pipelines.rules_sql`), run in a private in-memory DuckDB. Personal data: the
pseudonymised rows pass through; reasons never quote a value.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa

from pipelines.reader import LINE_COLUMN, ReadResult, UnreadableFile, read_extract
from pipelines.rules_sql import cross_checks, quote_ident, quote_str, reason_sql, typed_sql
from schemas.columns import column_specs
from schemas.inputs import RAW_IDENTIFIER_COLUMNS, model_for

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

    @property
    def reconciles(self) -> bool:
        """Rows read = rows valid + rows quarantined."""
        return self.rows_read == self.rows_valid + self.rows_quarantined

    def as_dict(self) -> dict[str, object]:
        """JSON-able form for the manifest."""
        return {**asdict(self), "reconciles": self.reconciles}


@dataclass
class Validated:
    """Valid rows (typed, with META_COLUMNS first), quarantined rows and the report."""

    valid: pa.Table
    quarantine: pa.Table
    report: FileReport


def typed_schema(kind: str) -> list[tuple[str, str]]:
    """(column, DuckDB type) of a validated table: META_COLUMNS, then the model's columns."""
    model = [(s.name, s.duckdb_type) for s in column_specs(model_for(kind))]
    meta = [("lad_code", "VARCHAR"), ("extract_date", "DATE"), ("source_file", "VARCHAR"), ("line", "BIGINT")]
    return [m for m in meta if m[0] not in dict(model)] + model


def empty_valid(kind: str) -> pa.Table:
    """A validated table of the kind with no rows (for a district with no such extract)."""
    cols = ", ".join(f"CAST(NULL AS {t}) AS {quote_ident(c)}" for c, t in typed_schema(kind))
    return duckdb.connect().sql(f"SELECT {cols} LIMIT 0").to_arrow_table()


def _quarantine_table(rows: list[tuple[int, str | None, str]], kind: str, file: str, lad: str) -> pa.Table:
    return pa.Table.from_pylist(
        [{"lad_code": lad, "kind": kind, "file": file, "line": ln, "column": col, "reason": why} for ln, col, why in rows],
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


def _reject_whole(read: ReadResult | None, report: FileReport, reason: str, kind: str,
                  unread_lines: int = 0) -> Validated:
    lines = read.table.column(LINE_COLUMN).to_pylist() if read is not None else list(range(2, unread_lines + 2))
    rows = [(ln, None, reason) for ln in lines] + [(p.line, p.column, reason) for p in (read.problems if read else [])]
    report.status, report.reason = "rejected", reason
    report.rows_read = read.rows_read if read is not None else unread_lines
    report.rows_quarantined = report.rows_read
    report.blank_lines = read.blank_lines if read is not None else 0
    if rows:
        report.problems_by_reason = {reason: len(rows)}
    return Validated(empty_valid(kind), _quarantine_table(rows, kind, report.file, report.lad_code), report)


def check_header(header: list[str], kind: str) -> tuple[str | None, list[str], list[str]]:
    """(reason to reject the whole file or None, unknown columns, missing optional columns)."""
    specs = column_specs(model_for(kind))
    known = {s.name for s in specs}
    raw_present = [c for c in RAW_IDENTIFIER_COLUMNS[kind] if c in header]
    if raw_present:
        return (f"raw identifiers present ({', '.join(raw_present)}): run 'povertylink pseudonymise' "
                "at the district first; nothing from this file is used", [], [])
    missing = [s.name for s in specs if s.required and s.name not in header]
    if missing:
        return f"missing required column(s): {', '.join(missing)}", [], []
    unknown = [h for h in header if h not in known]
    absent = [s.name for s in specs if not s.required and s.name not in header]
    return None, unknown, absent


def validate_rows(read: ReadResult, kind: str, as_of: dt.date, lad_code: str, extract_date: dt.date | None,
                  source_file: str) -> Validated:
    """Check every text row against the model's rules; return typed valid rows and quarantine."""
    report = FileReport(kind=kind, file=source_file, lad_code=lad_code, blank_lines=read.blank_lines)
    reject, unknown, absent = check_header(read.header, kind)
    if reject:
        return _reject_whole(read, report, reject, kind)
    report.unknown_columns, report.missing_optional_columns = unknown, absent
    specs = column_specs(model_for(kind))
    con = duckdb.connect()
    try:
        con.execute("SET preserve_insertion_order = true")
        text = read.table.drop_columns(unknown) if unknown else read.table
        con.register("text_rows", text)
        fill = ", ".join(f"CAST(NULL AS VARCHAR) AS {quote_ident(c)}" for c in absent)
        con.execute(f"CREATE TEMP TABLE t AS SELECT *{', ' + fill if fill else ''} FROM text_rows")
        con.unregister("text_rows")
        items = [f"{{'column': {quote_str(s.name)}, 'reason': {reason_sql(s, as_of)}}}" for s in specs]
        for s in specs:
            if s.unique:
                ref = f"NULLIF(TRIM({quote_ident(s.name)}), '')"
                items.append(
                    f"{{'column': {quote_str(s.name)}, 'reason': CASE WHEN {ref} IS NOT NULL AND "
                    f"COUNT(*) OVER (PARTITION BY {ref}) > 1 THEN '{s.name} appears on ' || COUNT(*) OVER (PARTITION BY {ref}) || "
                    f"' rows of the file (first on line ' || MIN({LINE_COLUMN}) OVER (PARTITION BY {ref}) || ')' END}}")
        field_problems = f"list_filter([{', '.join(items)}], lambda x: x.reason IS NOT NULL)"
        cross = [f"{{'column': {quote_str(c)}, 'reason': CASE WHEN {cond} THEN {quote_str(r)} END}}"
                 for c, cond, r in cross_checks(kind)]
        problems = field_problems
        if cross:
            problems = (f"CASE WHEN len({field_problems}) > 0 THEN {field_problems} "
                        f"ELSE list_filter([{', '.join(cross)}], lambda x: x.reason IS NOT NULL) END")
        con.execute(f"CREATE TEMP TABLE checked AS SELECT *, {problems} AS problems FROM t")
        date_sql = f"DATE '{extract_date.isoformat()}'" if extract_date else "CAST(NULL AS DATE)"
        typed = ", ".join(typed_sql(s) for s in specs)
        meta = {"lad_code": quote_str(lad_code), "extract_date": date_sql, "source_file": quote_str(source_file),
                "line": LINE_COLUMN}
        meta_sql = ", ".join(f"{meta[c]} AS {c}" for c, _ in typed_schema(kind) if c in meta and c not in
                             {s.name for s in specs})
        valid = con.sql(
            f"SELECT {meta_sql}, {typed} FROM checked WHERE len(problems) = 0 ORDER BY {LINE_COLUMN}"
        ).to_arrow_table()
        bad = con.execute(
            f"SELECT {LINE_COLUMN} AS line, p.column AS col, p.reason AS reason FROM "
            f"(SELECT {LINE_COLUMN}, UNNEST(problems) AS p FROM checked WHERE len(problems) > 0) ORDER BY 1, 2"
        ).fetchall()
    finally:
        con.close()
    rows = [(p.line, p.column, p.reason) for p in read.problems] + [(int(ln), c, r) for ln, c, r in bad]
    quarantine = _quarantine_table(sorted(rows, key=lambda r: (r[0], r[1] or "")), kind, source_file, lad_code)
    report.rows_read = read.rows_read
    report.rows_valid = valid.num_rows
    report.rows_quarantined = read.rows_read - valid.num_rows
    report.status = "ok" if not rows else "partial"
    for _, _, reason in rows:
        report.problems_by_reason[reason] = report.problems_by_reason.get(reason, 0) + 1
    return Validated(valid, quarantine, report)


def validate_path(path: Path, kind: str, as_of: dt.date, lad_code: str = "", extract_date: dt.date | None = None,
                  source_file: str | None = None) -> Validated:
    """Read and validate one file; an unreadable file is quarantined whole, never raised."""
    name = source_file or path.name
    try:
        read = read_extract(path)
    except UnreadableFile as err:
        report = FileReport(kind=kind, file=name, lad_code=lad_code)
        return _reject_whole(None, report, str(err).removeprefix(f"{path}: "), kind, count_data_lines(path))
    return validate_rows(read, kind, as_of, lad_code, extract_date, name)


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
                 f"{r.rows_quarantined} quarantined" + (f", {r.blank_lines} blank lines skipped" if r.blank_lines else "")]
        if r.status == "rejected":
            lines.append(f"  whole file rejected: {r.reason}")
        if r.unknown_columns:
            lines.append(f"  unknown columns ignored: {', '.join(r.unknown_columns)}")
        q = self.validated.quarantine.to_pylist()
        if r.status != "rejected":
            for row in q[:limit]:
                where = f"line {row['line']}" + (f", column {row['column']}" if row["column"] else "")
                lines.append(f"  {where}: {row['reason']}")
            if len(q) > limit:
                lines.append(f"  ... and {len(q) - limit} more problems")
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
