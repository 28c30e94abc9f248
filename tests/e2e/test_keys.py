"""Every published table's documented key (pipelines/dictionary.py KEYS) is unique, on the sample
data (which has people claiming in two districts), in a first run and the run after it; and the
movement between them counts the same households as the headline."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import pytest

from pipelines.dictionary import KEYS, datapackage
from pipelines.run import RunRequest, run_local

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> list[Path]:
    out = tmp_path_factory.mktemp("out")
    folders = []
    for day in ("2026-11-20", "2026-11-21"):
        outcome = run_local(RunRequest(SAMPLE, out, dt.date.fromisoformat(day)), retry_delays=())
        assert outcome.exit_code == 0 and outcome.published is not None, outcome.errors
        folders.append(outcome.published)
    return folders


def _con() -> duckdb.DuckDBPyConnection:
    return duckdb.connect()


def test_every_published_table_has_a_documented_key():
    documented = {r["name"]: r["schema"].get("primaryKey") for r in datapackage()["resources"]}
    assert {name: tuple(key) for name, key in documented.items() if key} == KEYS
    assert set(documented) - set(KEYS) == {"quarantine"}  # a row can have several problems: no key


# written only while a campaign is live: their keys are checked in tests/e2e/test_campaigns.py
LIVE_CAMPAIGNS_ONLY = ("campaigns", "district_campaigns")


@pytest.mark.parametrize("which", [0, 1], ids=["first-run", "next-run"])
@pytest.mark.parametrize("table", sorted(set(KEYS) - set(LIVE_CAMPAIGNS_ONLY)))
def test_documented_key_is_unique(runs, which, table):
    path = runs[which] / f"{table}.parquet"
    key = ", ".join(f'"{c}"' for c in KEYS[table])
    any_null = " OR ".join(f'"{c}" IS NULL' for c in KEYS[table])
    with _con() as con:
        rows, keys, null_keys = con.execute(
            f"SELECT count(*), count(DISTINCT ({key})), count(*) FILTER (WHERE {any_null}) "
            f"FROM read_parquet('{path}')").fetchone()
    compares = table in ("status_movement", "pension_credit_campaign")  # empty in a first run: nothing before it
    assert rows > 0 or (compares and which == 0), table
    assert rows == keys and null_keys == 0, (table, rows, keys, null_keys)


def test_a_person_in_two_districts_is_two_households_in_one_cluster(runs):
    with _con() as con:
        rows = con.execute(f"""SELECT household_id, person_cluster_id, lad_code, other_districts, linked_household_ids
            FROM read_parquet('{runs[1]}/households.parquet')""").fetchall()
    clusters: dict[str, list[tuple]] = {}
    for row in rows:
        clusters.setdefault(row[1], []).append(row)
    shared = [members for members in clusters.values() if len(members) > 1]
    assert shared, "the sample has people who claim in two districts"
    for members in shared:
        assert len({m[2] for m in members}) == len(members)  # one household per district
        for hid, _, lad, others, linked in members:
            assert sorted(linked.split(",")) == sorted(m[0] for m in members if m[0] != hid)
            assert sorted(others.split(",")) == sorted(m[2] for m in members if m[2] != lad)
    lone = [members[0] for members in clusters.values() if len(members) == 1]
    assert all(m[4] == "" for m in lone)


def test_ids_are_stable_and_movement_counts_the_headline(runs):
    first, second = runs
    with _con() as con:
        ids = "SELECT lad_code, claim_ref, household_id, person_cluster_id FROM read_parquet('{}') ORDER BY ALL"
        assert con.execute(ids.format(first / "households.parquet")).fetchall() == \
            con.execute(ids.format(second / "households.parquet")).fetchall()
        moved = con.execute(f"""SELECT to_status, count FROM read_parquet('{second}/status_movement.parquet')
            WHERE lad_code = 'county' AND from_status = 'all' AND to_status IN ('all', 'gone')""").fetchall()
        scored = con.execute(f"""SELECT count FROM read_parquet('{second}/district_benchmarks.parquet')
            WHERE lad_code = 'county' AND metric = 'households_scored' AND run_date = DATE '2026-11-21'""").fetchone()
    assert dict(moved) == {"all": scored[0], "gone": 0}
    manifest = json.loads((second / "manifest.json").read_text())
    assert manifest["benchmarks"]["county_headline"]["households_scored"] == scored[0]
