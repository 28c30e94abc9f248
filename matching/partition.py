"""Linkage partitioned by district, so that the heavy pair work can run on Dask workers.

Splink-style split: candidate pairs and comparison vectors are built per district, each in its
own private in-memory DuckDB, from the staged validated Parquet (``<staging>/validated/<LAD>/``)
and written as Parquet; the hub loads the union of the partitions into ``_lk_vectors``,
``_lk_persons`` and ``_lk_person_vectors`` and keeps the global steps (EM on the aggregated
patterns, scoring, one-to-one assignment, clustering, household ids). The union of the
partitions is exactly what the hub builds unpartitioned, so the outputs are identical.

Files under a partition root (:class:`Partitions`):

- ``within/<LAD>.parquet``: that district's claim-account comparison vectors (references and
  levels only);
- ``persons/<LAD>.parquet``: that district's person records (claimants and partners of valid
  claims). Personal data: keyed NINO hashes, name hashes, Bloom filters and birth dates, as in
  ``_lk_persons``; the root lives in the run's staging folder and is deleted after the link stage;
- ``person_vectors/<LAD>.parquet``: comparison levels of the cross-district person pairs whose x
  side is in that district (``pid`` numbers and levels only);
- ``u_sample/<LAD>.parquet``: that district's random claim-account pairs as level patterns and counts
  (for u, :func:`matching.within.u_sample_sql`), written by :func:`within_vectors` beside its ``within``
  file (levels and counts only).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb

from matching.normalise import persons_sql, prepare_side_sql, prepare_sql
from matching.persons import person_vectors_sql
from matching.within import district_filter, u_sample_sql, vectors_sql
from schemas.sql import quote_str

KINDS = ("within", "persons", "person_vectors", "u_sample")
PERSON_ORDER = "lad_code, claim_ref, role"  # the order that numbers pid (as matching.normalise.persons_sql)
WITHIN_ORDER = "lad_code, claim_ref, account_ref"
PERSON_VECTOR_ORDER = "pid_x, pid_y"


@dataclass(frozen=True)
class Partitions:
    """Where one run's partition files are, and for which districts."""

    root: Path
    lad_codes: tuple[str, ...]

    def path(self, kind: str, lad_code: str) -> Path:
        """The Parquet file of one kind (``within``, ``persons``, ``person_vectors``) for one district."""
        if kind not in KINDS:
            raise ValueError(f"unknown partition kind {kind!r}")
        return self.root / kind / f"{lad_code}.parquet"

    def files(self, kind: str) -> list[Path]:
        """Every district's file of one kind, in district order; FileNotFoundError when one is missing."""
        files = [self.path(kind, lad) for lad in sorted(self.lad_codes)]
        missing = [f.name for f in files if not f.is_file()]
        if missing:
            raise FileNotFoundError(f"linkage partitions missing in {self.root / kind}: {', '.join(missing)}")
        return files


def parquet_list_sql(files: Sequence[Path]) -> str:
    """A DuckDB list literal of file paths, for ``read_parquet``."""
    return "[" + ", ".join(quote_str(str(f)) for f in files) + "]"


def load_validated_sql(staging: Path, lad_codes: Sequence[str], table: str) -> str:
    """SQL creating ``table`` (benefits or council_tax) from these districts' staged validated Parquet.

    Read as :func:`pipelines.hub_database.load_hub` reads it (``union_by_name``), so the types are the hub's.
    """
    files = [staging / "validated" / lad / f"{table}.parquet" for lad in lad_codes]
    return (f"CREATE OR REPLACE TABLE {table} AS "
            f"SELECT * FROM read_parquet({parquet_list_sql(files)}, union_by_name = true)")


def load_persons_sql(files: Sequence[Path]) -> str:
    """SQL creating ``_lk_persons`` from person-record partitions, numbered exactly as the hub numbers them."""
    return f"""CREATE OR REPLACE TEMP TABLE _lk_persons AS
        SELECT row_number() OVER (ORDER BY {PERSON_ORDER}) AS pid, *
        FROM read_parquet({parquet_list_sql(files)})"""


def load_table_sql(table: str, files: Sequence[Path], order: str) -> str:
    """SQL creating temp ``table`` as the union of Parquet partition files, in a fixed order."""
    return f"""CREATE OR REPLACE TEMP TABLE {table} AS
        SELECT * FROM read_parquet({parquet_list_sql(files)}) ORDER BY {order}"""


def _connect(memory_limit: str = "", spill: Path | None = None) -> duckdb.DuckDBPyConnection:
    """A private in-memory DuckDB; with ``memory_limit`` (a share of the run's ``[resources]`` budget) it
    spills into ``spill`` beyond it, with one thread (the steps themselves run side by side)."""
    con = duckdb.connect()
    con.execute("SET preserve_insertion_order = false")
    if memory_limit:
        con.execute(f"SET memory_limit = {quote_str(memory_limit)}")
        con.execute("SET threads = 1")
        if spill is not None:
            spill.mkdir(parents=True, exist_ok=True)
            con.execute(f"SET temp_directory = {quote_str(str(spill))}")
    return con


def _spill(out: Path) -> Path:
    """A private spill folder for the step writing ``out`` (beside the partition folders, removed with them)."""
    return out.parent.parent / "_work" / f"{out.stem}-{out.parent.name}-{os.getpid()}"


def _copy(con: duckdb.DuckDBPyConnection, select: str, out: Path) -> int:
    """Write a SELECT to ``out`` as Parquet atomically (a retried task never leaves half a file); row count."""
    out.parent.mkdir(parents=True, exist_ok=True)
    part = out.with_name(f".{out.name}.{os.getpid()}.part")
    con.execute(f"COPY ({select}) TO {quote_str(str(part))} (FORMAT parquet)")
    os.replace(part, out)
    row = con.execute(f"SELECT count(*) FROM read_parquet({quote_str(str(out))})").fetchone()
    return int(row[0]) if row else 0


def within_vectors(staging: Path, lad_code: str, out: Path, persons_out: Path | None = None,
                   memory_limit: str = "") -> int:
    """One district's claim-account comparison vectors, built as the hub builds them, written to ``out``.

    Opens a private in-memory DuckDB, loads the district's validated benefits and council tax,
    prepares both sides, blocks and compares. With ``persons_out``, also writes the district's
    person records (from the claims already prepared) for :func:`person_vectors` and the hub.
    Returns the number of candidate pairs. Personal data in: pseudonymised encodings; out (``out``):
    references and comparison levels only. ``memory_limit``: DuckDB's limit for this step (spilling beyond).
    """
    con = _connect(memory_limit, _spill(out))
    try:
        for table in ("benefits", "council_tax"):
            con.execute(load_validated_sql(staging, [lad_code], table))
        for sql in prepare_sql(district_filter([lad_code], "r.lad_code")):
            con.execute(sql)
        con.execute(vectors_sql())
        for sql in u_sample_sql():
            con.execute(sql)
        _copy(con, "SELECT * FROM _lk_u_sample ORDER BY ALL", out.parent.parent / "u_sample" / out.name)
        if persons_out is not None:
            con.execute(persons_sql())
            _copy(con, f"SELECT * EXCLUDE (pid) FROM _lk_persons ORDER BY {PERSON_ORDER}", persons_out)
        return _copy(con, f"SELECT * FROM _lk_vectors ORDER BY {WITHIN_ORDER}", out)
    finally:
        con.close()


def person_vectors(staging: Path, lad_codes: list[str], lad_code: str, out: Path,
                   persons: Partitions | None = None, memory_limit: str = "") -> int:
    """Cross-district person comparison vectors of the pairs whose x side is in ``lad_code``, to ``out``.

    Needs every district's person records (``lad_codes``): from the ``persons`` partitions written by
    :func:`within_vectors` when given, else prepared here from the staged claims. ``pid`` is numbered
    over all districts exactly as on the hub, so the union over districts is the hub's
    ``_lk_person_vectors``. Returns the number of pairs. Personal data in: keyed hashes and
    encodings; out: ``pid`` numbers and comparison levels only.
    """
    con = _connect(memory_limit, _spill(out))
    try:
        if persons is not None:
            con.execute(load_persons_sql(persons.files("persons")))
        else:
            con.execute(load_validated_sql(staging, lad_codes, "benefits"))
            con.execute(prepare_side_sql("claims", "benefits", "claim_ref"))
            con.execute(persons_sql())
        con.execute(person_vectors_sql(lad_code))
        return _copy(con, f"SELECT * FROM _lk_person_vectors ORDER BY {PERSON_VECTOR_ORDER}", out)
    finally:
        con.close()


def load_partitions(con: duckdb.DuckDBPyConnection, partitions: Partitions) -> dict[str, object]:
    """On the hub: ``_lk_vectors``, ``_lk_u_sample``, ``_lk_persons`` and ``_lk_person_vectors`` from the files.

    Loaded in a fixed order (the outputs do not depend on it, but a fixed order keeps any
    order-sensitive step reproducible). Returns pair counts by district for the manifest.
    """
    con.execute(load_table_sql("_lk_vectors", partitions.files("within"), WITHIN_ORDER))
    con.execute(load_table_sql("_lk_u_sample", partitions.files("u_sample"), "ALL"))
    con.execute(load_persons_sql(partitions.files("persons")))
    con.execute(load_table_sql("_lk_person_vectors", partitions.files("person_vectors"), PERSON_VECTOR_ORDER))
    within = dict(con.execute("SELECT lad_code, count(*) FROM _lk_vectors GROUP BY ALL ORDER BY ALL").fetchall())
    across = dict(con.execute("""SELECT p.lad_code, count(*) FROM _lk_person_vectors v
                                 JOIN _lk_persons p ON p.pid = v.pid_x GROUP BY ALL ORDER BY ALL""").fetchall())
    return {
        "districts": list(partitions.lad_codes),
        "within_pairs": {lad: int(within.get(lad, 0)) for lad in sorted(partitions.lad_codes)},
        "person_pairs": {lad: int(across.get(lad, 0)) for lad in sorted(partitions.lad_codes)},
    }
