"""One-to-one assignment, best weight first, in DuckDB SQL (plus a tiny loop that runs it).

Greedy assignment over a strict total order (weight descending, then claim_ref, then
account_ref): each round accepts every pair that is the best remaining pair of both its
claim and its account, then drops pairs that touch an accepted claim or account. The
globally best remaining pair is always such a pair, so this gives exactly the greedy result.
"""

from __future__ import annotations

import duckdb

ORDER = "match_weight DESC, claim_ref, account_ref"


def mutual_best_sql(pool: str) -> str:
    """SELECT of the pool's pairs that are the best of both their claim and their account."""
    return f"""
        SELECT * EXCLUDE (_rc, _ra) FROM (
            SELECT *, row_number() OVER (PARTITION BY lad_code, claim_ref ORDER BY {ORDER}) AS _rc,
                      row_number() OVER (PARTITION BY lad_code, account_ref ORDER BY {ORDER}) AS _ra
            FROM {pool}) WHERE _rc = 1 AND _ra = 1"""


def prune_sql(pool: str, accepted: str) -> str:
    """DELETE of pool pairs whose claim or account is already in ``accepted``."""
    return f"""
        DELETE FROM {pool} p
        WHERE EXISTS (SELECT 1 FROM {accepted} s WHERE s.lad_code = p.lad_code AND s.claim_ref = p.claim_ref)
           OR EXISTS (SELECT 1 FROM {accepted} s WHERE s.lad_code = p.lad_code AND s.account_ref = p.account_ref)"""


def assign_one_to_one(con: duckdb.DuckDBPyConnection, pool: str, accepted: str, max_rounds: int = 1000) -> int:
    """Move a greedy one-to-one selection of ``pool`` into ``accepted`` (same columns); return rounds run.

    ``pool`` is consumed. Pairs whose claim or account is already in ``accepted`` are dropped first.
    """
    con.execute(prune_sql(pool, accepted))
    for rounds in range(1, max_rounds + 1):
        con.execute(f"CREATE OR REPLACE TEMP TABLE _lk_round AS {mutual_best_sql(pool)}")
        added = next(iter(con.execute("SELECT count(*) FROM _lk_round").fetchall()), None)
        if not added or added[0] == 0:
            return rounds
        con.execute(f"INSERT INTO {accepted} SELECT * FROM _lk_round")
        con.execute(prune_sql(pool, "_lk_round"))
    return max_rounds
