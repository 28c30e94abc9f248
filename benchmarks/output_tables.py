"""DuckDB helpers shared by the benchmark stage: create tables from output models, insert
rows, read the previous run's Parquet, and check tables and Parquet for BI-safe types.

No personal data is handled here beyond what callers pass in.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
from pydantic import BaseModel

from schemas.outputs import create_table_sql
from schemas.sql import quote_str, table_exists

_SAFE_DUCKDB = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "DOUBLE", "DECIMAL(18,2)", "DATE", "VARCHAR", "BOOLEAN"}


def columns_of(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    """Column names of a table, in order (empty if the table does not exist)."""
    if not table_exists(con, table):
        return []
    return [str(r[0]) for r in con.execute(f"DESCRIBE {table}").fetchall()]


def create_from_model(con: duckdb.DuckDBPyConnection, table: str, model: type[BaseModel]) -> None:
    """Create (or replace) an empty table with the model's columns and BI-safe types."""
    con.execute(create_table_sql(table, model))


def insert_rows(con: duckdb.DuckDBPyConnection, table: str, rows: list[dict[str, Any]]) -> None:
    """Append rows (dicts keyed by column name) to a table, matching columns by name."""
    if not rows:
        return
    data = pa.Table.from_pylist(rows)
    name = f"_rows_{table}"
    con.register(name, data)
    try:
        con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM {name}")
    finally:
        con.unregister(name)


def append_parquet(
    con: duckdb.DuckDBPyConnection, table: str, path: Path | None, where: str = "TRUE", params: list[Any] | None = None
) -> int:
    """Append the rows of an earlier run's Parquet file (if it exists) that satisfy ``where``.

    Columns are matched by name; columns the file lacks are left null, extra ones ignored.
    Returns the number of rows appended.
    """
    if path is None or not path.is_file():
        return 0
    wanted = set(columns_of(con, table))
    have = con.execute(f"DESCRIBE SELECT * FROM read_parquet({quote_str(path)})").fetchall()
    common = [str(c[0]) for c in have if str(c[0]) in wanted]
    if not common:
        return 0
    cols = ", ".join(f'"{c}"' for c in common)
    before = _count(con, table)
    source = f"read_parquet({quote_str(path)})"
    con.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {source} WHERE {where}", params or [])
    return _count(con, table) - before


def merge_backfills(con: duckdb.DuckDBPyConnection, table: str, file: str,
                    backfills: tuple[tuple[Path, str], ...], run_date: Any) -> int:
    """Insert into a long-format table the rows of back-dated runs (``--backfill``), in date order.

    ``backfills``: (run folder, run_id), oldest first. A run already in the table is skipped; a
    backfill replaces the rows of an earlier run of the same date. Returns the rows inserted.
    """
    added = 0
    for folder, backfill_id in backfills:
        path = folder / file
        present = con.execute(f"SELECT count(*) FROM {table} WHERE run_id = ?", [backfill_id]).fetchone()
        if not path.is_file() or (present and present[0]):
            continue
        dates = con.execute(f"SELECT DISTINCT run_date FROM read_parquet({quote_str(path)}) WHERE run_id = ?",
                            [backfill_id]).fetchall()
        for (day,) in dates:
            if day >= run_date:
                continue
            con.execute(f"DELETE FROM {table} WHERE run_date = ?", [day])
            added += append_parquet(con, table, path, where="run_id = ? AND run_date = ?", params=[backfill_id, day])
    return added


def _count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    row = con.execute(f"SELECT count(*) FROM {table}").fetchone()
    return int(row[0]) if row else 0


def bi_safe_problems(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    """Columns of a DuckDB table whose type Power BI or Tableau cannot take; empty if all safe.

    Safe: signed integers, DECIMAL(18,2), DOUBLE, DATE, plain VARCHAR, BOOLEAN.
    """
    if not table_exists(con, table):
        return [f"{table}: no such table"]
    problems = []
    for name, kind, *_ in con.execute(f"DESCRIBE {table}").fetchall():
        if str(kind).upper() not in _SAFE_DUCKDB:
            problems.append(f"{table}.{name}: {kind} is not BI-safe")
    return problems


def bi_safe_arrow_problems(schema: pa.Schema) -> list[str]:
    """As :func:`bi_safe_problems`, for an Arrow schema (e.g. read back from Parquet)."""
    problems = []
    for f in schema:
        t = f.type
        ok = (
            (pa.types.is_integer(t) and pa.types.is_signed_integer(t))
            or pa.types.is_float64(t)
            or (pa.types.is_decimal(t) and (t.precision, t.scale) == (18, 2))
            or pa.types.is_date32(t)
            or pa.types.is_string(t)
            or pa.types.is_large_string(t)
            or pa.types.is_boolean(t)
        )
        if not ok or pa.types.is_dictionary(t):
            problems.append(f"{f.name}: {t} is not BI-safe")
    return problems


def sql_name(name: str) -> str:
    """A safe SQL identifier (letters, digits, underscore only)."""
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise ValueError(f"not a plain identifier: {name!r}")
    return name
