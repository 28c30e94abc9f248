"""The review queue picks each claim's best pair (highest weight, then the smaller account_ref) and the runner-up's
weight; strong pairs that were linked stay out; a strong pair not linked is in with its reason."""

from __future__ import annotations

import duckdb

from matching.quality import LEVEL_COLUMNS, update_review_queue


def _queue(pairs: list[tuple[str, str, float, float]], links: list[tuple[str, str]]) -> list[tuple[object, ...]]:
    con = duckdb.connect()
    levels = ", ".join(f"1 AS {c}" for c in LEVEL_COLUMNS)
    con.execute("CREATE TEMP TABLE _p (claim_ref VARCHAR, account_ref VARCHAR, match_probability DOUBLE,"
                " match_weight DOUBLE)")
    con.executemany("INSERT INTO _p VALUES (?, ?, ?, ?)", pairs)
    con.execute(f"CREATE TEMP TABLE _lk_scored AS SELECT 'E07000105' AS lad_code, *, {levels} FROM _p")
    con.execute("CREATE TABLE links (lad_code VARCHAR, claim_ref VARCHAR, account_ref VARCHAR)")
    con.executemany("INSERT INTO links VALUES ('E07000105', ?, ?)", links)
    update_review_queue(con, 0.2, 0.98)
    return con.execute("SELECT claim_ref, account_ref, accepted, runner_up_weight, reason FROM review_queue"
                       " ORDER BY claim_ref").fetchall()


def test_best_pair_runner_up_and_ties() -> None:
    pairs = [("C1", "A3", 0.5, 2.0), ("C1", "A1", 0.3, 1.0), ("C1", "A2", 0.5, 2.0),  # tie on weight: A2 first
             ("C2", "A4", 0.9, 3.0),  # one pair: no runner-up
             ("C3", "A5", 0.99, 9.0), ("C3", "A6", 0.5, 1.5),  # strong and linked: not in the queue
             ("C4", "A7", 0.995, 9.5), ("C4", "A8", 0.1, -2.0),  # strong, account went elsewhere
             ("C5", "A9", 0.1, -2.0)]  # below the band
    assert _queue(pairs, [("C2", "A4"), ("C3", "A5")]) == [
        ("C1", "A2", False, 2.0, "borderline probability, not accepted"),
        ("C2", "A4", True, None, "borderline probability, accepted"),
        ("C4", "A7", False, -2.0, "strong pair not accepted: account linked to another claim"),
    ]
