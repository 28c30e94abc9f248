"""Stable household ids: carried forward from the previous run, new ones derived deterministically.

A county household is a cluster of claims (one claim, or claims in several districts that
share a person). It keeps the id the previous run's ``households.parquet`` gave any of its
claims (matched on lad_code + claim_ref; failing that, on the linked lad_code + account_ref).
A household with no previous id gets ``H-`` + 12 hex digits of SHA-256 of its smallest
(lad_code, claim_ref): identical inputs give identical ids; never random. No personal data.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb

from matching.persons import insert_rows

ID_PREFIX = "H-"


def new_household_id(lad_code: str, claim_ref: str, salt: int = 0) -> str:
    """The deterministic id of a new household whose smallest claim is (lad_code, claim_ref)."""
    text = f"{lad_code}\x1f{claim_ref}" + (f"\x1f{salt}" if salt else "")
    return ID_PREFIX + hashlib.sha256(text.encode()).hexdigest()[:12]


def _previous_table(con: duckdb.DuckDBPyConnection, previous_dir: Path | None) -> None:
    """Temp table ``_lk_prev(household_id, lad_code, claim_ref, account_ref)`` of the previous run (maybe empty)."""
    path = None if previous_dir is None else Path(previous_dir) / "households.parquet"
    if path is None or not path.is_file():
        con.execute("""CREATE OR REPLACE TEMP TABLE _lk_prev (household_id VARCHAR, lad_code VARCHAR,
            claim_ref VARCHAR, account_ref VARCHAR)""")
        return
    columns = {r[0] for r in con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(path)]).fetchall()}
    account = "account_ref::VARCHAR" if "account_ref" in columns else "NULL::VARCHAR"
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _lk_prev AS
        SELECT household_id::VARCHAR AS household_id, lad_code::VARCHAR AS lad_code,
               claim_ref::VARCHAR AS claim_ref, {account} AS account_ref
        FROM read_parquet('{str(path).replace("'", "''")}') WHERE household_id IS NOT NULL""")


def read_previous(con: duckdb.DuckDBPyConnection, previous_dir: Path | None) -> list[tuple[str, str, str, str | None]]:
    """(household_id, lad_code, claim_ref, account_ref) rows of the previous run, or [] when there is none."""
    _previous_table(con, previous_dir)
    return [tuple(r) for r in con.execute("SELECT * FROM _lk_prev ORDER BY ALL").fetchall()]  # type: ignore[misc]


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
    """Create ``household_keys(lad_code, claim_ref, household_id, other_districts)`` from ``_lk_claim_clusters``.

    Needs ``links`` (claim -> account) and ``_lk_claim_clusters``; returns counts of ids carried and new.
    Set-based: each cluster's claims vote for previous ids (by claim first, then by linked account);
    clusters in order of their best wish take their first wish not taken by an earlier cluster. Only
    clusters that share a wished id with another cluster go through the (Python) greedy loop; a new
    id only needs the salted loop when its hash collides with an id in use.
    """
    _previous_table(con, previous_dir)
    # the previous run's lookups; where a key had several ids, the largest wins (as a dict over sorted rows)
    con.execute("""CREATE OR REPLACE TEMP TABLE _lk_members AS
        WITH by_claim AS (SELECT lad_code, claim_ref, max(household_id) AS hid FROM _lk_prev GROUP BY ALL),
             by_account AS (SELECT lad_code, account_ref, max(household_id) AS hid FROM _lk_prev
                            WHERE account_ref IS NOT NULL GROUP BY ALL)
        SELECT k.cluster, k.lad_code, k.claim_ref, k.other_districts,
               min(k.lad_code || chr(31) || k.claim_ref) OVER (PARTITION BY k.cluster) AS first_member,
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
               '{ID_PREFIX}' || left(sha256(any_value(first_member)), 12) AS household_id
        FROM _lk_members WHERE cluster NOT IN (SELECT cluster FROM _lk_chosen) GROUP BY cluster""")
    n_collide = sum(r[0] for r in con.execute("""
        SELECT count(*) FROM (SELECT household_id FROM _lk_new GROUP BY ALL HAVING count(*) > 1)
        UNION ALL SELECT count(*) FROM _lk_new WHERE household_id IN (
            SELECT household_id FROM _lk_chosen UNION ALL SELECT max(household_id) FROM _lk_prev
            GROUP BY lad_code, claim_ref UNION ALL SELECT max(household_id) FROM _lk_prev
            WHERE account_ref IS NOT NULL GROUP BY lad_code, account_ref)""").fetchall())
    if n_collide:
        _salt_new_ids(con)
    con.execute("""CREATE OR REPLACE TABLE household_keys AS
        SELECT m.lad_code, m.claim_ref, coalesce(c.household_id, n.household_id) AS household_id, m.other_districts
        FROM _lk_members m LEFT JOIN _lk_chosen c USING (cluster) LEFT JOIN _lk_new n USING (cluster)
        ORDER BY ALL""")
    row = next(iter(con.execute("""SELECT (SELECT count(DISTINCT cluster) FROM _lk_members),
        (SELECT count(*) FROM _lk_members), (SELECT count(*) FROM _lk_chosen)""").fetchall()))
    households, claims, carried = int(row[0]), int(row[1]), int(row[2])
    return {"households": households, "ids_carried": carried, "ids_new": households - carried,
            "claims": claims}


def _salt_new_ids(con: duckdb.DuckDBPyConnection) -> None:
    """Rebuild ``_lk_new`` one cluster at a time (by first member), salting ids that collide with ids in use."""
    used = {r[0] for r in con.execute("""SELECT household_id FROM _lk_chosen UNION SELECT max(household_id)
        FROM _lk_prev GROUP BY lad_code, claim_ref UNION SELECT max(household_id) FROM _lk_prev
        WHERE account_ref IS NOT NULL GROUP BY lad_code, account_ref""").fetchall()}
    rows = []
    for cluster, first in con.execute("SELECT cluster, first_member FROM _lk_new ORDER BY first_member").fetchall():
        lad, ref = first.split("\x1f", 1)
        salt = 0
        hid = new_household_id(lad, ref)
        while hid in used:
            salt += 1
            hid = new_household_id(lad, ref, salt)
        used.add(hid)
        rows.append((cluster, first, hid))
    con.execute("DELETE FROM _lk_new")
    if rows:
        insert_rows(con, "_lk_new", rows)
