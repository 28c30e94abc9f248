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


def test_the_runs_cache_pruning_spares_its_own_head_start_still_building(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """At scale validation outlasts Prefect's start: the run's cache.prune met the head start's
    ``<key>.building-<pid>-*`` folders while they were being written and removed them (the files written so
    far lost, or the whole build, validated again). Its own process's builds are kept."""
    import threading

    landing, output = tmp_path / "landing", tmp_path / "out"
    generate(landing, districts=1, households=60, seed=4, raw=False)
    request = RunRequest(landing, output, AS_OF_DATE)
    built: list[str] = []
    real, real_prune = run_module.ingest_district, cache.prune
    written, pruned = threading.Event(), threading.Event()

    def pruning(out: Path) -> int:  # the run's prune, once the head start has written its files
        written.wait(120)
        removed = real_prune(out)
        pruned.set()
        return removed

    def built_before_the_prune(plan, as_of, into):  # type: ignore[no-untyped-def]
        built.append(plan.lad_code)
        section = real(plan, as_of, into)
        if threading.current_thread().name.startswith("povertylink-head-start"):
            written.set()
            assert pruned.wait(120)  # the run has started and pruned the cache meanwhile
        return section

    monkeypatch.setattr(run_module, "ingest_district", built_before_the_prune)
    monkeypatch.setattr(cache, "prune", pruning)
    pool = head_start(request)
    assert pool is not None
    outcome = run_local(request)
    pool.shutdown(wait=True)
    assert outcome.published is not None
    assert built == [p.lad_code for p in plan_landing(landing, AS_OF_DATE)]  # once: the head start's result used


def test_a_failed_build_leaves_no_half_built_folder(tmp_path: Path) -> None:
    def failing(into: Path) -> dict:
        (into / "validated").mkdir(parents=True)
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        run_module._cached(tmp_path, "k" * 16, failing)
    assert list((tmp_path / cache.CACHE_DIR).iterdir()) == []


def test_no_head_start_while_another_run_holds_the_output(tmp_path: Path) -> None:
    """Another run is writing the output folder: this one will stop at its lock, so it starts nothing in the
    shared cache meanwhile (flock conflicts between two open files, as between two processes)."""
    landing, output = tmp_path / "landing", tmp_path / "out"
    generate(landing, districts=1, households=60, seed=4, raw=False)
    request = RunRequest(landing, output, AS_OF_DATE)
    with run_module.output_lock(output):
        assert run_module.output_busy(output)
        assert head_start(request) is None
    assert not run_module.output_busy(output)
    pool = head_start(request)
    assert pool is not None
    pool.shutdown(wait=True)
    run_module._EARLY.clear()
