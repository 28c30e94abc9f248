"""Issue 17's measure: the score stage on a run's captured inputs, with and without UC, repeated."""

from __future__ import annotations

from pathlib import Path

import duckdb

from perf.harness import AS_OF, linked_copy, run_stages_capturing
from perf.score_ratio import best_of
from schemas.config import RunConfig

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"


def test_the_score_stage_runs_again_on_each_runs_captured_inputs(tmp_path: Path) -> None:
    with_uc = tmp_path / "with.duckdb"
    timer = run_stages_capturing(SAMPLE, tmp_path / "out", with_uc)
    hidden = linked_copy(SAMPLE, tmp_path / "landing", lambda rel: not rel.name.startswith("universal_credit_"))
    without = tmp_path / "without.duckdb"
    run_stages_capturing(hidden, tmp_path / "out2", without)
    assert timer.stages["score"]["cpu_s"] > 0  # the copy's seconds were taken off, not more
    with duckdb.connect(str(with_uc), read_only=True) as con:
        tables = {t for (t,) in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        uc_rows = con.execute("SELECT count(*) FROM universal_credit").fetchall()[0][0]
    assert {"benefits", "council_tax", "links", "household_keys"} <= tables and "households" not in tables
    assert uc_rows > 0
    with duckdb.connect(str(without), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM universal_credit").fetchall()[0][0] == 0
    best = best_of({"with UC": with_uc, "without UC": without}, AS_OF, RunConfig(), repeats=2)
    for figures in best.values():
        assert len(figures["cpu_s"]) == 2 and figures["best_cpu_s"] == min(figures["cpu_s"]) > 0
