"""Typed input tables for the linker from Python rows or landing CSVs (tests and perf).

The pipeline's own ingest stage builds ``benefits``, ``council_tax`` and (where a district has the
optional extract) ``universal_credit``; this module builds the same shapes (column types from
:func:`schemas.columns.column_specs`) for tests, the linkage benchmark and the take-up truth test.
Personal data: pseudonymised rows only.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import duckdb

from schemas.columns import column_specs
from schemas.inputs import model_for

TABLES = {"benefits": "benefits", "council_tax": "council_tax", "universal_credit": "universal_credit"}
LEAD_COLUMNS = [("lad_code", "VARCHAR"), ("extract_date", "DATE"), ("source_file", "VARCHAR"), ("line", "BIGINT")]


def table_columns(kind: str) -> list[tuple[str, str]]:
    """(name, DuckDB type) of an input table: the lead columns, then the pseudonymised model's."""
    return LEAD_COLUMNS + [(s.name, s.duckdb_type) for s in column_specs(model_for(kind))]


def create_table(con: duckdb.DuckDBPyConnection, kind: str, rows: list[dict[str, Any]]) -> None:
    """(Re)create table ``kind`` and insert rows (missing columns take the model default or NULL)."""
    columns = table_columns(kind)
    defaults = {s.name: s.default for s in column_specs(model_for(kind))}
    con.execute(f"CREATE OR REPLACE TABLE {kind} ({', '.join(f'{n} {t}' for n, t in columns)})")
    if not rows:
        return
    names = [n for n, _ in columns]
    values = []
    for i, row in enumerate(rows):
        full: dict[str, Any] = {"extract_date": dt.date(2026, 11, 20), "source_file": f"{kind}.csv", "line": i + 2}
        full.update({n: defaults.get(n) for n in names if n not in full})
        full.update(row)
        if isinstance(full.get("child_ages"), list):
            ages: list[Any] = full["child_ages"]
            full["child_ages"] = ";".join(str(a) for a in ages)
        values.append([full[n] for n in names])
    con.executemany(f"INSERT INTO {kind} VALUES ({', '.join('?' for _ in names)})", values)


def load_landing_csvs(con: duckdb.DuckDBPyConnection, landing: Path) -> None:
    """Load every ``landing/<LAD>/<kind>_*.csv`` (newest per district) into typed tables; no validation."""
    for kind in TABLES:
        con.execute(f"CREATE OR REPLACE TABLE {kind} ({', '.join(f'{n} {t}' for n, t in table_columns(kind))})")
        model_cols = [(s.name, s.duckdb_type, s.default) for s in column_specs(model_for(kind))]
        for district in sorted(p for p in landing.iterdir() if p.is_dir() and not p.name.startswith("_")):
            files = sorted(district.glob(f"{kind}_*.csv"))
            if not files:
                continue
            path = files[-1]
            select = []
            for name, typ, default in model_cols:
                expr = f"TRY_CAST(nullif(trim(\"{name}\"), '') AS {typ})" if typ != "BOOLEAN" else (
                    f"coalesce(lower(trim(\"{name}\")) IN ('true', 'y', '1'), {str(bool(default)).upper()})")
                if name == "postcode":
                    expr = (f"regexp_replace(upper(replace(\"{name}\", ' ', '')), '^(.*)(...)$', '\\1 \\2')")
                select.append(f"{expr} AS {name}")
            con.execute(
                f"""INSERT INTO {kind} SELECT '{district.name}', DATE '{path.stem.rsplit('_', 1)[-1]}',
                    '{path.name}', row_number() OVER () + 1, {', '.join(select)}
                    FROM read_csv('{path}', all_varchar = true, header = true)""")
