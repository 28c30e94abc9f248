"""Validation's head start (while Prefect starts): each district validated once, its result taken by the run."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines import run as run_module
from pipelines.ingest import cache
from pipelines.ingest.plan import plan_landing
from pipelines.run import RunRequest, head_start, run_local
from pipelines.synthetic.generator import generate
from tests.cli import AS_OF_DATE

pytestmark = pytest.mark.slow


def test_the_run_takes_the_head_start_results_and_validates_each_district_once(tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    landing, output = tmp_path / "landing", tmp_path / "out"
    generate(landing, districts=2, households=120, seed=4, raw=False)
    request = RunRequest(landing, output, AS_OF_DATE)
    built: list[str] = []
    real = run_module.ingest_district

    def counting(plan, as_of, into):  # type: ignore[no-untyped-def]
        built.append(plan.lad_code)
        return real(plan, as_of, into)

    monkeypatch.setattr(run_module, "ingest_district", counting)
    pool = head_start(request)
    assert pool is not None
    assert head_start(request) is None  # already started: nothing more to start
    outcome = run_local(request)
    pool.shutdown(wait=True)
    assert outcome.published is not None
    assert sorted(built) == sorted(p.lad_code for p in plan_landing(landing, AS_OF_DATE))  # once each
    assert {d["cache"] for d in outcome.manifest["districts"]} == {"miss"}  # validated by this run
    assert not run_module._EARLY
    assert all(cache.is_cached(output, p, AS_OF_DATE) for p in plan_landing(landing, AS_OF_DATE))
    assert head_start(request) is None  # every district cached: nothing to start


def test_no_head_start_for_dask_or_a_later_stage(tmp_path: Path) -> None:
    generate(tmp_path / "landing", districts=1, households=30, seed=4, raw=False)
    for request in (RunRequest(tmp_path / "landing", tmp_path / "out", AS_OF_DATE, task_runner="dask"),
                    RunRequest(tmp_path / "landing", tmp_path / "out", AS_OF_DATE, from_stage="link")):
        assert head_start(request) is None
