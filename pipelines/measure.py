"""Wall time, CPU time and peak resident memory per stage, for the manifest and ``perf/``."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from typing import Any

from pipelines.faults import failpoint

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def rss_bytes() -> int:
    """This process's resident memory now, in bytes (Linux /proc; 0 elsewhere)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as handle:
            return int(handle.read().split()[1]) * _PAGE
    except OSError:
        return 0


class _PeakSampler(threading.Thread):
    def __init__(self, interval: float = 0.02) -> None:
        super().__init__(daemon=True)
        self.interval, self.peak, self._done = interval, rss_bytes(), threading.Event()

    def run(self) -> None:
        while not self._done.wait(self.interval):
            self.peak = max(self.peak, rss_bytes())

    def stop(self) -> int:
        self._done.set()
        self.join()
        return max(self.peak, rss_bytes())


class StageTimer:
    """Records, per stage name: wall seconds, CPU seconds (all threads) and peak RSS in MB."""

    def __init__(self) -> None:
        self.stages: dict[str, dict[str, float]] = {}

    @property
    def seconds(self) -> dict[str, float]:
        """Wall seconds per stage."""
        return {name: m["wall_s"] for name, m in self.stages.items()}

    def record(self, name: str, wall: float, cpu: float, peak_mb: float) -> None:
        """Add a stage measured elsewhere (e.g. in a task)."""
        self.stages[name] = {"wall_s": round(wall, 3), "cpu_s": round(cpu, 3), "peak_rss_mb": round(peak_mb, 1)}

    def run(self, name: str, fn: Callable[[], Any]) -> Any:
        """Run ``fn`` and record its wall time, CPU time and peak memory under ``name``."""
        failpoint(name)
        sampler = _PeakSampler()
        sampler.start()
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            return fn()
        finally:
            peak = sampler.stop()
            self.record(name, time.perf_counter() - wall, time.process_time() - cpu, peak / 2**20)
