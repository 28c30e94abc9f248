"""Stable ids: each household (one benefit claim) keeps its ``household_id`` from run to run, and each
group of households that share a person across districts keeps its ``person_cluster_id``.

A household is one claim in one district: ``household_id`` is unique in ``households.parquet``. A
person claiming in two districts is one person in two households; the two rows share a
``person_cluster_id`` (a cluster of claims linked through their people, :mod:`matching.persons`) and
name each other in ``linked_household_ids``. A lone claim is a cluster of one.

Each id is carried from the previous run's ``households.parquet``: a household's by its lad_code +
claim_ref, failing that by its linked lad_code + account_ref; a cluster's by the votes of its claims.
A new one is ``H-`` (household) or ``C-`` (cluster) + 12 hex digits of SHA-256 of its smallest
(lad_code, claim_ref): identical inputs give identical ids; never random. No personal data.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb

from matching.persons import insert_rows

ID_PREFIX = "H-"
CLUSTER_PREFIX = "C-"


def new_household_id(lad_code: str, claim_ref: str, salt: int = 0, prefix: str = ID_PREFIX) -> str:
    """The deterministic id of a new household (or, with ``CLUSTER_PREFIX``, cluster) whose smallest
    claim is (lad_code, claim_ref)."""
    text = f"{lad_code}\x1f{claim_ref}" + (f"\x1f{salt}" if salt else "")
    return prefix + hashlib.sha256(text.encode()).hexdigest()[:12]


def _previous_table(con: duckdb.DuckDBPyConnection, previous_dir: Path | None) -> None:
    """Temp table ``_lk_prev(household_id, lad_code, claim_ref, account_ref, person_cluster_id)`` of the
    previous run (maybe empty; person_cluster_id null before the runs that publish it)."""
    path = None if previous_dir is None else Path(previous_dir) / "households.parquet"
    if path is None or not path.is_file():
        con.execute("""CREATE OR REPLACE TEMP TABLE _lk_prev (household_id VARCHAR, lad_code VARCHAR,
            claim_ref VARCHAR, account_ref VARCHAR, person_cluster_id VARCHAR)""")
        return
    columns = {r[0] for r in con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(path)]).fetchall()}
    account = "account_ref::VARCHAR" if "account_ref" in columns else "NULL::VARCHAR"
    cluster = "person_cluster_id::VARCHAR" if "person_cluster_id" in columns else "NULL::VARCHAR"
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _lk_prev AS
        SELECT household_id::VARCHAR AS household_id, lad_code::VARCHAR AS lad_code,
               claim_ref::VARCHAR AS claim_ref, {account} AS account_ref, {cluster} AS person_cluster_id
        FROM read_parquet('{str(path).replace("'", "''")}') WHERE household_id IS NOT NULL""")


def read_previous(con: duckdb.DuckDBPyConnection, previous_dir: Path | None) -> list[tuple[str, str, str, str | None]]:
    """(household_id, lad_code, claim_ref, account_ref) rows of the previous run, or [] when there is none."""
    _previous_table(con, previous_dir)
    rows = con.execute("SELECT household_id, lad_code, claim_ref, account_ref FROM _lk_prev ORDER BY ALL").fetchall()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def _greedy(wishes: list[tuple[str, str]]) -> dict[str, str]:
    """Clusters in order, each taking its first previous id not taken by an earlier one: cluster -> id."""
    taken: set[str] = set()
    chosen: dict[str, str] = {}
    for cluster, hid in wishes:
        if cluster not in chosen and hid not in taken:
            taken.add(hid)
            chosen[cluster] = hid
    return chosen


def assign_household_ids(con: duckdb.DuckDBPyConnection, previous_dir: Path | None) -> dict[str, int]:
    """Create ``household_keys(lad_code, claim_ref, household_id, person_cluster_id, other_districts,
    linked_household_ids)`` from ``_lk_claim_clusters``: one row, and one household_id, per claim.

    Needs ``links`` (claim -> account) and ``_lk_claim_clusters``; returns counts of ids carried and new.
    """
    _previous_table(con, previous_dir)
    households = _assign(con, "k.lad_code || chr(31) || k.claim_ref", "household_id", ID_PREFIX)
    clusters = _assign(con, "k.cluster", "person_cluster_id", CLUSTER_PREFIX)
    con.execute("""CREATE OR REPLACE TABLE household_keys AS
        WITH k AS (
            SELECT k.lad_code, k.claim_ref, h.id AS household_id, c.id AS person_cluster_id, k.other_districts
            FROM _lk_claim_clusters k
                 JOIN _lk_ids_household_id h ON h.cluster = k.lad_code || chr(31) || k.claim_ref
                 JOIN _lk_ids_person_cluster_id c ON c.cluster = k.cluster)
        SELECT k.*, array_to_string(list_filter(list_sort(list(k.household_id) OVER (PARTITION BY
                   k.person_cluster_id)), lambda x: x <> k.household_id), ',') AS linked_household_ids
        FROM k ORDER BY lad_code, claim_ref""")
    return {"households": households[0], "ids_carried": households[1], "ids_new": households[0] - households[1],
            "claims": households[0], "person_clusters": clusters[0], "person_cluster_ids_carried": clusters[1]}


def _assign(con: duckdb.DuckDBPyConnection, cluster_sql: str, column: str, prefix: str) -> tuple[int, int]:
    """Temp table ``_lk_ids_<column>(cluster, id)``: an id per cluster of ``_lk_claim_clusters k``
    (``cluster_sql`` over ``k``), carried from the previous run's ``column``; returns (clusters, carried).

    Set-based: each cluster's claims vote for previous ids (by claim first, then by linked account);
    clusters in order of their best wish take their first wish not taken by an earlier cluster. Only
    clusters that share a wished id with another cluster go through the (Python) greedy loop; a new
    id only needs the salted loop when its hash collides with an id in use.
    """
    # the previous run's lookups; where a key had several ids, the largest wins (as a dict over sorted rows)
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _lk_members AS
        WITH by_claim AS (SELECT lad_code, claim_ref, max({column}) AS hid FROM _lk_prev GROUP BY ALL),
             by_account AS (SELECT lad_code, account_ref, max({column}) AS hid FROM _lk_prev
                            WHERE account_ref IS NOT NULL GROUP BY ALL)
        SELECT {cluster_sql} AS cluster, k.lad_code, k.claim_ref,
               min(k.lad_code || chr(31) || k.claim_ref) OVER (PARTITION BY {cluster_sql}) AS first_member,
               CASE WHEN c.hid IS NOT NULL THEN 0 WHEN a.hid IS NOT NULL THEN 1 END AS priority,
               coalesce(c.hid, a.hid) AS hid
        FROM _lk_claim_clusters k
             LEFT JOIN links l ON l.lad_code = k.lad_code AND l.claim_ref = k.claim_ref
             LEFT JOIN by_claim c ON c.lad_code = k.lad_code AND c.claim_ref = k.claim_ref
             LEFT JOIN by_account a ON a.lad_code = k.lad_code AND a.account_ref = l.account_ref""")
    con.execute("""CREATE OR REPLACE TEMP TABLE _lk_wishes AS
        WITH w AS (SELECT cluster, any_value(first_member) AS first_member, priority, hid, count(*) AS votes
                   FROM _lk_members WHERE hid IS NOT NULL GROUP BY cluster, priority, hid),
        r AS (SELECT *, row_number() OVER (PARTITION BY cluster ORDER BY priority, votes DESC, hid) AS wish,
                     count(*) OVER (PARTITION BY hid) AS wanted_by FROM w)
        SELECT *, first_value(priority) OVER c AS best_priority, first_value(votes) OVER c AS best_votes,
               first_value(hid) OVER c AS best_hid, max(wanted_by) OVER (PARTITION BY cluster) > 1 AS contested
        FROM r WINDOW c AS (PARTITION BY cluster ORDER BY wish)""")
    # uncontested clusters (every id they wish for is wished for by no other cluster) take their first wish
    con.execute("""CREATE OR REPLACE TEMP TABLE _lk_chosen AS
        SELECT cluster, hid AS household_id FROM _lk_wishes WHERE NOT contested AND wish = 1""")
    contested = con.execute("""SELECT cluster, hid FROM _lk_wishes WHERE contested
        ORDER BY best_priority, -best_votes, best_hid, first_member, wish""").fetchall()
    if contested:
        insert_rows(con, "_lk_chosen", list(_greedy(contested).items()))
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _lk_new AS
        SELECT cluster, any_value(first_member) AS first_member,
               '{prefix}' || left(sha256(any_value(first_member)), 12) AS household_id
        FROM _lk_members WHERE cluster NOT IN (SELECT cluster FROM _lk_chosen) GROUP BY cluster""")
    used = f"""SELECT household_id FROM _lk_chosen UNION ALL SELECT max({column}) FROM _lk_prev
        GROUP BY lad_code, claim_ref UNION ALL SELECT max({column}) FROM _lk_prev
        WHERE account_ref IS NOT NULL GROUP BY lad_code, account_ref"""
    n_collide = sum(r[0] for r in con.execute(f"""
        SELECT count(*) FROM (SELECT household_id FROM _lk_new GROUP BY ALL HAVING count(*) > 1)
        UNION ALL SELECT count(*) FROM _lk_new WHERE household_id IN ({used})""").fetchall())
    if n_collide:
        _salt_new_ids(con, used, prefix)
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _lk_ids_{column} AS
        SELECT cluster, household_id AS id FROM _lk_chosen UNION ALL SELECT cluster, household_id FROM _lk_new""")
    row = next(iter(con.execute("""SELECT (SELECT count(DISTINCT cluster) FROM _lk_members),
        (SELECT count(*) FROM _lk_chosen)""").fetchall()))
    return int(row[0]), int(row[1])


def _salt_new_ids(con: duckdb.DuckDBPyConnection, used_sql: str, prefix: str) -> None:
    """Rebuild ``_lk_new`` one cluster at a time (by first member), salting ids that collide with ids in use."""
    used = {r[0] for r in con.execute(used_sql).fetchall()}
    rows = []
    for cluster, first in con.execute("SELECT cluster, first_member FROM _lk_new ORDER BY first_member").fetchall():
        lad, ref = first.split("\x1f", 1)
        salt = 0
        hid = new_household_id(lad, ref, prefix=prefix)
        while hid in used:
            salt += 1
            hid = new_household_id(lad, ref, salt, prefix)
        used.add(hid)
        rows.append((cluster, first, hid))
    con.execute("DELETE FROM _lk_new")
    if rows:
        insert_rows(con, "_lk_new", rows)
