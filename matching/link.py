"""Entry point of the linkage stage: within districts, across districts, stable ids, quality.

``link_households`` creates ``links``, ``household_keys``, ``person_links`` and
``review_queue`` on the connection and returns a :class:`LinkReport` for the manifest.
The per-district pieces (:func:`matching.within.link_districts`,
:func:`matching.persons.link_across_districts`, :func:`matching.ids.assign_household_ids`)
can be run as separate tasks on the same connection. Blocking, comparison, scoring and assignment
go district by district (the EM model is fitted on every district's patterns together), so the
stage's working set is the largest district's, not the county's. With ``partitions`` the comparison
vectors are not built here but loaded from the per-district Parquet partitions of
:mod:`matching.partition` (built on Dask workers); everything global stays here. Personal data:
pseudonymised encodings in, references and levels out.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from matching.clerical import clerical_counts
from matching.compare import ADDRESS_LEVEL, within_comparisons
from matching.estimate import FSModel
from matching.ids import assign_household_ids
from matching.partition import Partitions, load_partitions
from matching.persons import link_across_districts
from matching.quality import link_rates, weight_histogram
from matching.within import create_links_table, link_districts
from schemas.config import LinkSettings
from schemas.sql import table_exists

__all__ = ["LinkReport", "link_households"]


@dataclass
class LinkReport:
    """What the linkage stage did, as figures for the manifest (no personal data)."""

    settings: LinkSettings
    districts: list[dict[str, Any]] = field(default_factory=list)
    candidate_pairs: int = 0
    links: int = 0
    review_pairs: int = 0
    weight_histogram: list[dict[str, Any]] = field(default_factory=list)
    candidate_weight_histogram: list[dict[str, Any]] = field(default_factory=list)
    person_links: dict[str, int] = field(default_factory=dict)
    ids: dict[str, int] = field(default_factory=dict)
    within_model: dict[str, Any] = field(default_factory=dict)
    person_model: dict[str, Any] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    partitions: dict[str, Any] = field(default_factory=dict)
    clerical: dict[str, int] = field(default_factory=dict)

    def as_manifest(self) -> dict[str, Any]:
        """JSON-able summary: rates by district and method, histograms, review count, models, timings."""
        return {
            "settings": self.settings.model_dump(),
            "districts": self.districts,
            "candidate_pairs": self.candidate_pairs,
            "links": self.links,
            "review_queue": self.review_pairs,
            "match_weight_histogram": {"links": self.weight_histogram, "candidates": self.candidate_weight_histogram},
            "cross_district": self.person_links,
            "household_ids": self.ids,
            "models": {"within_district": self.within_model, "cross_district_persons": self.person_model},
            "level_labels": level_labels(),
            "clerical": self.clerical,
            "seconds": self.seconds,
            "partitions": self.partitions,
        }


def level_labels() -> dict[str, dict[str, str]]:
    """What each level of each claim -> account comparison means (for the report's model chart)."""
    return {c.name: {str(level): label for level, label in c.levels.items()}
            for c in [*within_comparisons(), ADDRESS_LEVEL]}


def _count(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    row = next(iter(con.execute(sql).fetchall()), None)
    return int(row[0]) if row and row[0] is not None else 0


def link_households(
    con: duckdb.DuckDBPyConnection, previous_dir: Path | None, settings: LinkSettings | None = None,
    partitions: Partitions | None = None,
) -> LinkReport:
    """Run the whole linkage stage on ``benefits`` and ``council_tax``; ids carried from ``previous_dir``.

    ``previous_dir`` is the previous good run's output folder (its ``households.parquet``), or None.
    ``partitions``: load the comparison vectors from these per-district files instead of building
    them (same results: EM, scoring, assignment, clustering and ids run here on their union).
    """
    settings = settings or LinkSettings()
    report = LinkReport(settings=settings)
    t0 = time.perf_counter()
    create_links_table(con)
    loaded = partitions is not None
    if partitions is not None:
        report.partitions = {"source": "partitions"} | load_partitions(con, partitions)
    else:
        report.partitions = {"source": "hub"}
    tl = time.perf_counter()
    codes = [str(r[0]) for r in con.execute(
        "SELECT DISTINCT lad_code FROM (SELECT lad_code FROM benefits UNION ALL SELECT lad_code FROM council_tax) "
        "WHERE lad_code IS NOT NULL ORDER BY 1").fetchall()]
    # district by district (memory follows the largest district); the model from every district's patterns
    within: FSModel = link_districts(con, codes, settings=settings, vectors_loaded=loaded, one_at_a_time=True)
    t1 = time.perf_counter()
    persons: FSModel = link_across_districts(con, settings=settings, vectors_loaded=loaded)
    t2 = time.perf_counter()
    report.ids = assign_household_ids(con, previous_dir)
    t3 = time.perf_counter()
    report.districts = link_rates(con)
    report.candidate_pairs = _count(con, "SELECT count(*) FROM _lk_scored")
    report.links = _count(con, "SELECT count(*) FROM links")
    report.review_pairs = _count(con, "SELECT count(*) FROM review_queue") if table_exists(con, "review_queue") else 0
    report.weight_histogram = weight_histogram(con, "links", settings.histogram_bin_width)
    report.candidate_weight_histogram = weight_histogram(con, "_lk_scored", settings.histogram_bin_width)
    report.person_links = {
        "person_records_linked": _count(con, "SELECT count(*) FROM person_links"),
        "person_clusters": _count(con, "SELECT count(DISTINCT person_cluster) FROM person_links"),
        "by_nino": _count(con, "SELECT count(*) FROM _lk_person_edges WHERE method = 'nino'"),
        "by_probabilistic": _count(con, "SELECT count(*) FROM _lk_person_edges WHERE method = 'probabilistic'"),
        "claims_in_other_districts": _count(con, "SELECT count(*) FROM household_keys WHERE other_districts <> ''"),
    }
    report.within_model, report.person_model = within.as_dict(), persons.as_dict()
    report.clerical = clerical_counts(con)
    report.seconds = {"load_partitions": round(tl - t0, 3), "within_districts": round(t1 - tl, 3),
                      "across_districts": round(t2 - t1, 3),
                      "household_ids": round(t3 - t2, 3), "total": round(time.perf_counter() - t0, 3)}
    return report
