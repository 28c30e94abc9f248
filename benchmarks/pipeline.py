"""The benchmark stage's public entry points, as the lead's hub stages import them."""

from __future__ import annotations

from benchmarks.build import TABLES, BenchmarkReport, build_benchmarks
from benchmarks.report import write_report
from benchmarks.tables import bi_safe_arrow_problems, bi_safe_problems

__all__ = ["TABLES", "BenchmarkReport", "bi_safe_arrow_problems", "bi_safe_problems", "build_benchmarks",
           "write_report"]
