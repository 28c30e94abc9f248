"""Publish a run: write its outputs into a staging folder, then promote it atomically.

Layout (DESIGN.md output contract): ``<output>/runs/<run_id>/`` holds every run;
``<output>/current`` is a symbolic link to the newest good run, switched with one atomic
``rename``. A run is written to ``<output>/runs/.staging-<run_id>/`` and renamed into place
only when everything in it is complete, so a failed or killed run never shows half an
output where BI tools read, and the previous good run stays current.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb

from schemas.errors import UserError
from schemas.sql import quote_ident, quote_str

CURRENT = "current"
RUNS = "runs"
STAGING_PREFIX = ".staging-"
DISTRICT_OWN_FIGURES = ("campaigns.parquet",)  # districts/<LAD>/ files with exact figures, not a slice of the root's


@contextmanager
def folder_lock(lock_file: Path, busy: str) -> Iterator[None]:
    """Hold ``flock`` on ``lock_file`` (made, with its folder, when missing) for the block: one writer at a time.

    UserError ``busy`` at once when another process holds it (no waiting). The kernel releases the lock
    when the process ends, so a killed writer never leaves it held.
    """
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with lock_file.open("a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UserError(busy) from None
        yield


def new_run_id(now: dt.datetime, as_of: dt.date) -> str:
    """A sortable run id: UTC start time, then the as-of date (e.g. 20261121T020000Z-as-of-2026-11-20)."""
    return f"{now.astimezone(dt.timezone.utc):%Y%m%dT%H%M%S%fZ}-as-of-{as_of.isoformat()}"


def staging_dir(output: Path, run_id: str) -> Path:
    """Where a run is written before it is promoted."""
    return output / RUNS / f"{STAGING_PREFIX}{run_id}"


def current_dir(output: Path) -> Path | None:
    """The folder the ``current`` link points at, or None before the first good run."""
    link = output / CURRENT
    return link.resolve() if link.exists() else None


def clean_stale_staging(output: Path, keep: str | None = None) -> list[str]:
    """Remove what killed runs left behind; returns the names removed.

    That is: staging folders; then dangling links in ``runs/`` (earlier releases' temporary link to a
    staging folder); ``.current.<run_id>.tmp`` links of :func:`promote`.
    Only called by the run holding the output folder's lock.
    """
    removed = []
    runs = output / RUNS
    if runs.is_dir():
        for folder in runs.iterdir():
            if folder.name.startswith(STAGING_PREFIX) and folder.name != f"{STAGING_PREFIX}{keep}":
                shutil.rmtree(folder, ignore_errors=True)
                removed.append(folder.name)
        for link in runs.iterdir():
            if link.is_symlink() and not link.exists():
                link.unlink()
                removed.append(link.name)
    for link in output.glob(f".{CURRENT}.*.tmp"):
        if link.is_symlink():
            link.unlink()
            removed.append(link.name)
    return removed


def write_parquet(con: duckdb.DuckDBPyConnection, sql_or_table: str, path: Path) -> int:
    """COPY a table or query to one Parquet file (zstd); returns the rows written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    source = sql_or_table if " " in sql_or_table.strip() else f"SELECT * FROM {quote_ident(sql_or_table)}"
    row = con.execute(f"COPY ({source}) TO {quote_str(str(path))} (FORMAT parquet, COMPRESSION zstd)").fetchone()
    return int(row[0]) if row else 0  # COPY's own count of the rows it wrote


JOIN_BATCH_ROWS = 20_000  # rows held at once while joining Parquet files (a few MB of a wide table)


def join_parquet(parts: list[Path], path: Path) -> int:
    """Write the Parquet files ``parts`` one after another into one file ``path`` (zstd); returns the rows written.

    Streamed batch by batch in file order (pyarrow, about JOIN_BATCH_ROWS rows in memory at once): a county
    file made of its districts' sorted files is sorted without sorting it again. (DuckDB keeping insertion order
    buffered whole row groups and ran out of its memory at eight times Kent.) Written beside ``path`` and moved
    into place once complete.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    part_file = path.with_name(f".{path.name}.part")
    # DuckDB marks a column "not null" in a file where it holds no null (and not in an empty file): the joined
    # file's columns are all nullable, each batch cast to that
    schema = pa.schema([field.with_nullable(True) for field in pq.read_schema(parts[0])])
    rows = 0
    try:
        with pq.ParquetWriter(part_file, schema, compression="zstd") as writer:
            for part in parts:
                with pq.ParquetFile(part) as reader:
                    for batch in reader.iter_batches(batch_size=JOIN_BATCH_ROWS):
                        # a row group of up to JOIN_BATCH_ROWS rows
                        writer.write_table(pa.Table.from_batches([batch]).cast(schema))
                        rows += batch.num_rows
        os.replace(part_file, path)
    except BaseException:
        part_file.unlink(missing_ok=True)
        raise
    return rows


def write_json(data: Any, path: Path) -> None:
    """Write JSON (sorted keys, dates as ISO text) and fsync it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=2, sort_keys=True, default=str)
        handle.flush()
        os.fsync(handle.fileno())


def database_table_name(parquet_name: str) -> str:
    """The table of ``povertylink.duckdb`` holding a published Parquet file (``districts/E07000105/households.parquet``
    -> ``districts_E07000105_households``)."""
    return parquet_name.removesuffix(".parquet").replace("/", "_")


DATABASE_MEMORY = "256MB"  # povertylink.duckdb is written beside the hub's database: its own small budget


def write_database(folder: Path, parquet_names: list[str]) -> None:
    """``povertylink.duckdb``: one table per published Parquet file, copied in (not views over the files).

    Tables rather than views over the Parquet: a view holds its file's path, which DuckDB resolves from
    the working directory, so it breaks when the output folder is copied or opened from another mount;
    a table goes wherever the file goes. A district's own file (``districts/<LAD>/households.parquet``,
    ``districts/<LAD>/arrears_signals.parquet``) whose county-wide file is published too is a view over
    that file's table (same rows, no second copy; views inside the database hold no path). The database
    holds about as many bytes as the Parquet files again (12 MB for 123,000 households).
    """
    database = folder / "povertylink.duckdb"
    views = {name: name.split("/") for name in parquet_names
             if name.startswith("districts/") and name.count("/") == 2 and name.split("/")[2] in parquet_names
             and name.split("/")[2] not in DISTRICT_OWN_FIGURES}
    con = duckdb.connect(str(database))
    try:
        con.execute(f"SET memory_limit = {quote_str(DATABASE_MEMORY)}")  # table copies stream: little is needed
        for name in (n for n in parquet_names if n not in views):
            source = quote_str(str(folder / name))
            con.execute(f"CREATE OR REPLACE TABLE {quote_ident(database_table_name(name))} AS "
                        f"SELECT * FROM read_parquet({source})")
        for name, (_, lad, whole) in views.items():
            con.execute(f"CREATE OR REPLACE VIEW {quote_ident(database_table_name(name))} AS SELECT * FROM "
                        f"{quote_ident(database_table_name(whole))} WHERE lad_code = {quote_str(lad)}")
        con.execute("CHECKPOINT")
    finally:
        con.close()


def _fsync_tree(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            with path.open("rb") as handle:
                os.fsync(handle.fileno())
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def promote(output: Path, run_id: str, make_current: bool = True) -> Path:
    """Rename the staged run into ``runs/<run_id>`` and point ``current`` at it, atomically.

    ``make_current=False`` (a back-dated run): the run is renamed into ``runs/`` and ``current`` stays.
    """
    from pipelines.faults import failpoint

    staged = staging_dir(output, run_id)
    final = output / RUNS / run_id
    failpoint("publish")
    _fsync_tree(staged)
    os.rename(staged, final)
    if not make_current:
        return final
    tmp_link = output / f".{CURRENT}.{run_id}.tmp"
    if tmp_link.is_symlink() or tmp_link.exists():
        tmp_link.unlink()
    os.symlink(Path(RUNS) / run_id, tmp_link)
    link = output / CURRENT
    if link.exists() and not link.is_symlink():
        raise RuntimeError(f"{link} is a real folder, not the link povertylink manages: move it away first")
    os.replace(tmp_link, link)
    fd = os.open(output, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    return final
