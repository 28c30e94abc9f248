"""Issue 17's measure: the score stage with and without the Universal Credit extracts, on the same inputs, repeated.

One run's score stage swings by a half from one run to the next on a shared machine (the without-UC stage
has measured anywhere from 2.2 to 4.6 CPU-s at Kent scale), so a ratio of two single runs says more about
the machine than the code. Here each run's hub is captured as its score stage starts (its tables copied
into a DuckDB file, :func:`capturing_score_inputs`); then the stage is run again on fresh copies of both
captures, with and without in turn, ``repeats`` times, in a working database opened as the run opens its
own (:func:`pipelines.hub_database.connect`, the run's ``[resources]``). The best CPU seconds of each are
compared: the least disturbed run of the same work, as ``timeit`` takes its minimum. No personal data
leaves the temporary folder the captures are written to.
"""

from __future__ import annotations

import datetime as dt
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb

import pipelines.hub as hub
from pipelines.hub_database import connect
from schemas.config import RunConfig, duckdb_size
from schemas.sql import quote_str


def copy_tables(con: duckdb.DuckDBPyConnection, source: str, target: str) -> None:
    """Copy every ordinary table of the attached database ``source`` into the attached database ``target``."""
    tables = con.execute("SELECT table_name FROM duckdb_tables() WHERE database_name = ? AND NOT temporary "
                         "ORDER BY table_name", [source]).fetchall()
    for (table,) in tables:
        con.execute(f'CREATE TABLE "{target}"."{table}" AS SELECT * FROM "{source}"."{table}"')


@contextmanager
def capturing_score_inputs(into: Path, spent: dict[str, float]) -> Iterator[None]:
    """While active, a run's score stage first copies the hub's tables into ``into``; the copy's wall and CPU
    seconds go to ``spent`` (to be taken off the stage's figures: the copy is not scoring)."""
    original: Callable[..., dict[str, Any]] = hub.score_stage

    def capture_then_score(con: duckdb.DuckDBPyConnection, *args: Any, **kwargs: Any) -> dict[str, Any]:
        wall, cpu = time.perf_counter(), time.process_time()
        working = con.execute("SELECT current_database()").fetchall()[0][0]
        con.execute(f"ATTACH {quote_str(str(into))} AS score_capture")
        try:
            copy_tables(con, working, "score_capture")
        finally:
            con.execute("DETACH score_capture")
        spent["wall_s"], spent["cpu_s"] = time.perf_counter() - wall, time.process_time() - cpu
        return original(con, *args, **kwargs)

    hub.score_stage = capture_then_score
    try:
        yield
    finally:
        hub.score_stage = original


def score_captured(capture: Path, as_of: dt.date, config: RunConfig) -> tuple[float, float]:
    """Load a capture into a fresh working database and run the score stage on it: (wall s, CPU s) of the stage."""
    with tempfile.TemporaryDirectory(prefix="povertylink-score-") as spill:
        resources = config.resources
        con = connect(Path(spill), duckdb_size(resources.memory_bytes()), resources.threads or None)
        try:
            working = con.execute("SELECT current_database()").fetchall()[0][0]
            con.execute(f"ATTACH {quote_str(str(capture))} AS score_capture (READ_ONLY)")
            copy_tables(con, "score_capture", working)
            con.execute("DETACH score_capture")
            wall, cpu = time.perf_counter(), time.process_time()
            hub.score_stage(con, as_of, "perf-score", config)
            return time.perf_counter() - wall, time.process_time() - cpu
        finally:
            con.close()


def best_of(captures: dict[str, Path], as_of: dt.date, config: RunConfig, repeats: int = 3
            ) -> dict[str, dict[str, Any]]:
    """Score each capture ``repeats`` times, in turn (a, b, a, b, ...); per capture: each run's figures and the best."""
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in captures}
    for _ in range(repeats):
        for name, capture in captures.items():
            runs[name].append(score_captured(capture, as_of, config))
    return {name: {"wall_s": [round(w, 3) for w, _ in figures], "cpu_s": [round(c, 3) for _, c in figures],
                   "best_wall_s": round(min(w for w, _ in figures), 3),
                   "best_cpu_s": round(min(c for _, c in figures), 3)}
            for name, figures in runs.items()}
