"""Partitioned linkage: the union of the per-district partitions is the hub's vectors, and the
linked outputs are identical (synthetic data, real DuckDB and Parquet)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pytest

from matching.landing_tables import load_landing_csvs
from matching.link import link_households
from matching.partition import Partitions, load_validated_sql, person_vectors, within_vectors
from pipelines.synthetic.generator import generate

OUTPUT_TABLES = {  # table -> its canonical order
    "links": "lad_code, claim_ref",
    "household_keys": "lad_code, claim_ref",
    "person_links": "person_cluster, lad_code, claim_ref, role",
    "review_queue": "lad_code, claim_ref",
    "_lk_claim_clusters": "lad_code, claim_ref",
}


@pytest.fixture(scope="module")
def stage(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """A staging folder as ingest leaves it: ``validated/<LAD>/{benefits,council_tax}.parquet``, 3 districts."""
    root = tmp_path_factory.mktemp("partition")
    generate(root / "landing", districts=3, households=500, seed=11, raw=False)  # > U_SAMPLE_MIN_PAIRS pairs
    con = duckdb.connect()
    load_landing_csvs(con, root / "landing")
    lads = [r[0] for r in con.execute("SELECT DISTINCT lad_code FROM benefits ORDER BY 1").fetchall()]
    for lad in lads:
        folder = root / "stage" / "validated" / lad
        folder.mkdir(parents=True)
        for table in ("benefits", "council_tax"):
            con.execute(f"COPY (SELECT * FROM {table} WHERE lad_code = '{lad}') TO '{folder / table}.parquet' "
                        "(FORMAT parquet)")
    return root / "stage", lads


def _hub(stage: Path, lads: list[str]) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    for table in ("benefits", "council_tax"):
        con.execute(load_validated_sql(stage, lads, table))
    return con


def _rows(con: duckdb.DuckDBPyConnection, table: str, order: str) -> list[tuple[Any, ...]]:
    return con.execute(f"SELECT * FROM {table} ORDER BY {order}").fetchall()


def _partition(stage: Path, lads: list[str], root: Path) -> Partitions:
    parts = Partitions(root, tuple(lads))
    for lad in lads:
        within_vectors(stage, lad, parts.path("within", lad), parts.path("persons", lad))
    for lad in reversed(lads):
        person_vectors(stage, lads, lad, parts.path("person_vectors", lad), parts)
    return parts


def test_union_of_partitions_is_the_hubs_vectors_and_outputs_are_identical(stage, tmp_path) -> None:
    folder, lads = stage
    hub = _hub(folder, lads)
    hub_report = link_households(hub, None)
    parts = _partition(folder, lads, tmp_path / "parts")
    assert all(parts.path(kind, lad).is_file() for kind in ("within", "persons", "person_vectors", "u_sample")
               for lad in lads)

    part = _hub(folder, lads)
    part_report = link_households(part, None, partitions=parts)

    order = "lad_code, claim_ref, account_ref"
    assert _rows(part, "_lk_vectors", order) == _rows(hub, "_lk_vectors", order)
    assert _rows(part, "_lk_u_sample", "ALL") == _rows(hub, "_lk_u_sample", "ALL")
    assert _rows(part, "_lk_persons", "pid") == _rows(hub, "_lk_persons", "pid")
    assert _rows(part, "_lk_person_vectors", "pid_x, pid_y") == _rows(hub, "_lk_person_vectors", "pid_x, pid_y")
    persons = hub.execute("SELECT count(*) FROM _lk_person_vectors").fetchone()
    assert persons and persons[0] > 0  # movers between districts make cross-district pairs

    for table, table_order in OUTPUT_TABLES.items():
        assert _rows(part, table, table_order) == _rows(hub, table, table_order), table
    links = hub.execute("SELECT count(*) FROM links").fetchone()
    assert links and links[0] > 0

    got, want = part_report.as_manifest(), hub_report.as_manifest()
    for key in ("districts", "candidate_pairs", "links", "review_queue", "match_weight_histogram",
                "cross_district", "household_ids", "models"):
        assert got[key] == want[key], key
    assert want["partitions"] == {"source": "hub"}
    assert got["partitions"]["source"] == "partitions" and got["partitions"]["districts"] == lads
    assert sum(got["partitions"]["within_pairs"].values()) == got["candidate_pairs"]


def test_person_vectors_without_person_partitions_prepares_the_claims_itself(stage, tmp_path) -> None:
    folder, lads = stage
    parts = _partition(folder, lads, tmp_path / "parts")
    for lad in lads:
        alone = tmp_path / "alone" / f"{lad}.parquet"
        count = person_vectors(folder, lads, lad, alone)
        con = duckdb.connect()
        ordered = "SELECT * FROM read_parquet('{}') ORDER BY pid_x, pid_y"
        assert con.execute(ordered.format(alone)).fetchall() == \
            con.execute(ordered.format(parts.path("person_vectors", lad))).fetchall()
        assert count == len(con.execute(ordered.format(alone)).fetchall())
    last = lads[-1]  # x.lad_code < y.lad_code: the last district's partition is empty
    assert person_vectors(folder, lads, last, tmp_path / "last.parquet") == 0


def test_a_missing_partition_is_an_error(stage, tmp_path) -> None:
    folder, lads = stage
    parts = _partition(folder, lads, tmp_path / "parts")
    parts.path("within", lads[0]).unlink()
    with pytest.raises(FileNotFoundError, match=lads[0]):
        link_households(_hub(folder, lads), None, partitions=parts)


def test_district_by_district_on_the_hub_is_the_county_at_once(stage) -> None:
    """The hub's district-by-district linkage (bounded memory) gives exactly the all-at-once tables."""
    from matching.within import link_districts

    folder, lads = stage
    whole, by_district = _hub(folder, lads), _hub(folder, lads)
    model_whole = link_districts(whole, None)
    model_each = link_districts(by_district, lads, one_at_a_time=True)
    assert model_each.as_dict() == model_whole.as_dict()
    order = "lad_code, claim_ref, account_ref"
    for table, table_order in (("_lk_vectors", order), ("_lk_scored", order), ("links", order),
                               ("review_queue", order), ("_lk_claims", "lad_code, ref")):
        assert _rows(by_district, table, table_order) == _rows(whole, table, table_order), table
    counts = dict(by_district.execute("SELECT lad_code, count(*) FROM links GROUP BY ALL").fetchall())
    assert sorted(counts) == lads and all(counts.values())
