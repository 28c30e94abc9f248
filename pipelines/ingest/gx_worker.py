"""Great Expectations in a worker process of its own, beside the validating threads.

GX is pure Python: run in the ingest's threads it holds the GIL (and its own lock) while the
other district waits, and its import alone costs about 4 s of CPU. One worker process runs
every table's suite while the threads keep validating in DuckDB; :func:`warm_up` starts it
early (``run`` calls it before Prefect starts, so the import overlaps Prefect's start-up).
The worker's CPU seconds and peak memory are added up in :data:`usage` for ``perf/``. Where
a process cannot have children (a Dask worker is a daemon) or ``POVERTYLINK_GX_IN_PROCESS=1``
is set, the suites run in the calling thread as before. Personal data: the worker reads the
validated Parquet (pseudonymised rows) from the staging folder and returns only counts.
"""

from __future__ import annotations

import atexit
import ctypes
import multiprocessing
import os
import resource
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from pipelines.ingest.expectations import SuiteResult, run_suite_file, warm

GX_WORKERS = 1  # GX is about 40% of the ingest's CPU, 3-4 s of it its import: a second worker would import again
IN_PROCESS_ENV = "POVERTYLINK_GX_IN_PROCESS"

T = TypeVar("T")


@dataclass
class WorkerUsage:
    """What the worker processes have used so far: CPU seconds and the largest peak RSS (MB)."""

    cpu_s: float = 0.0
    peak_rss_mb: float = 0.0


usage = WorkerUsage()
_pool: ProcessPoolExecutor | None = None
_lock = threading.Lock()


def _measured(fn: Callable[..., T], *args: Any) -> tuple[T, float, float]:
    """Run in the worker: ``fn(*args)``, its CPU seconds and the worker's peak RSS in MB."""
    start = time.process_time()
    value = fn(*args)
    return value, time.process_time() - start, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _submit(pool: ProcessPoolExecutor, fn: Callable[..., T], *args: Any) -> Future[tuple[T, float, float]]:
    future = pool.submit(_measured, fn, *args)

    def count(done: Future[tuple[T, float, float]]) -> None:
        if not done.cancelled() and done.exception() is None:
            _, cpu, peak = done.result()
            with _lock:
                usage.cpu_s += cpu
                usage.peak_rss_mb = max(usage.peak_rss_mb, peak)

    future.add_done_callback(count)
    return future


def die_with_parent() -> None:
    """In the worker: SIGKILL from the kernel when its parent (the fork server) dies (Linux ``prctl``)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)  # 1: PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: pipelines.lifeline's watchdog still stops it
        return
    if os.getppid() == 1:  # the parent died before the request: nobody would signal
        os._exit(1)


def _own_process_allowed() -> bool:
    return not multiprocessing.current_process().daemon and os.environ.get(IN_PROCESS_ENV) != "1"


def _get_pool() -> ProcessPoolExecutor | None:
    """The worker pool, started on first use; None where the suites run in this process."""
    global _pool
    with _lock:
        started = _pool is None and _own_process_allowed()
        if started:  # forked from a small server process, not from this one with its threads
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(["pipelines.ingest.expectations"])
            _pool = ProcessPoolExecutor(max_workers=GX_WORKERS, mp_context=context, initializer=die_with_parent)
        pool = _pool
    if started and pool is not None:
        _submit(pool, warm)  # the GX import and suites, in the worker, counted in its usage
    return pool


def warm_up() -> None:
    """Start the worker and its GX import in the background, without waiting for them."""
    _get_pool()


def shutdown() -> None:
    """Stop the worker (also at exit); the next suite starts a new one."""
    global _pool
    with _lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)


atexit.register(shutdown)


def submit_table(path: Path, kind: str, name: str, previous_rows: int | None = None) -> Callable[[], SuiteResult]:
    """Start the kind's suite over one validated Parquet file; returns the call that waits for its result.

    In the worker process where there is one, so the caller validates its next file meanwhile;
    otherwise the returned call runs the suite in the calling thread.
    """
    pool = _get_pool()
    if pool is None:
        return lambda: run_suite_file(path, kind, name, previous_rows)
    future = _submit(pool, run_suite_file, path, kind, name, previous_rows)

    def result() -> SuiteResult:
        try:
            return future.result()[0]
        except BrokenProcessPool:  # the worker died (killed, out of memory): start afresh once, then let it raise
            shutdown()
            again = _get_pool()
            assert again is not None
            return _submit(again, run_suite_file, path, kind, name, previous_rows).result()[0]

    return result
