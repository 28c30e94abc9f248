"""The county hub's DuckDB: one database per run, loaded from the staged Parquet.

The only module that opens the run's database. Tables after :func:`load_hub`: ``benefits``,
``council_tax`` (valid rows of every district), ``universal_credit`` (the districts that sent one;
empty otherwise), ``epc``, ``postcode_lookup`` and ``quarantine``. Personal data: pseudonymised
keys and name encodings only.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from pipelines.ingest.validate import typed_schema
from schemas.columns import column_specs
from schemas.inputs import model_for
from schemas.sql import quote_ident, quote_str

HUB_TABLES = ("benefits", "council_tax", "quarantine")
REFERENCE_TABLES = ("epc", "postcode_lookup")
OPTIONAL_TABLES = ("universal_credit",)  # per-district optional extracts (TAKEUP.md section 1)


def connect(spill: Path, memory_limit: str = "1536MiB", threads: int | None = None) -> duckdb.DuckDBPyConnection:
    """Open the run's working database: in memory up to ``memory_limit`` (the run's ``[resources]``
    budget), spilling to the private folder ``spill`` beyond it; ``threads`` None: one per core.

    In memory rather than a file: nothing is checkpointed to disk that is thrown away at the end.
    """
    spill.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(":memory:")
    con.execute(f"SET temp_directory = {quote_str(str(spill))}")
    con.execute(f"SET memory_limit = {quote_str(memory_limit)}")
    con.execute("SET preserve_insertion_order = false")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    return con


def load_hub(con: duckdb.DuckDBPyConnection, staging: Path, lad_codes: list[str]) -> dict[str, int]:
    """Create the hub tables from ``staging/validated``; returns their row counts."""
    validated = staging / "validated"
    counts: dict[str, int] = {}
    for table in HUB_TABLES:
        files = [str(validated / lad / f"{table}.parquet") for lad in lad_codes]
        if table == "quarantine":
            files.append(str(validated / "_reference" / "quarantine.parquet"))
        listing = ", ".join(quote_str(f) for f in files)
        con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM read_parquet([{listing}], union_by_name = true)")
        counts[table] = _count(con, table)
    for table in OPTIONAL_TABLES:  # only districts that sent one; an empty typed table where none did
        found = [p for lad in lad_codes if (p := validated / lad / f"{table}.parquet").is_file()]
        empty = ", ".join(f"CAST(NULL AS {t}) AS {quote_ident(n)}" for n, t in typed_schema(table))
        con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT {empty} WHERE FALSE")
        if found:
            listing = ", ".join(quote_str(str(f)) for f in found)
            con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM read_parquet([{listing}], union_by_name = true)")
        counts[table] = _count(con, table)
    for table in REFERENCE_TABLES:
        path = quote_str(str(validated / "_reference" / f"{table}.parquet"))
        columns = ", ".join(quote_ident(s.name) for s in column_specs(model_for(table)))
        con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT {columns} FROM read_parquet({path})")
        counts[table] = _count(con, table)
    return counts


def _count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    row = con.execute(f"SELECT COUNT(*) FROM {table}").fetchone()
    return int(row[0]) if row else 0
