"""Linkage quality outputs: link rates, match-weight histograms and the clerical-review queue.

All computed in DuckDB from ``links``, ``_lk_scored`` (every scored candidate pair) and the
input tables; results are small JSON-able dicts for the run manifest. No personal data:
references, levels and weights only.
"""

from __future__ import annotations

from typing import Any

import duckdb

from matching.clerical import DECISIONS_TABLE, claim_decided_match_sql, decided_sql, has_decisions
from matching.compare import ADDRESS_LEVEL, within_comparisons

LEVEL_COLUMNS = [c.name for c in within_comparisons()] + [ADDRESS_LEVEL.name]
REVIEW_COLUMNS: list[tuple[str, str]] = [
    ("lad_code", "VARCHAR"), ("claim_ref", "VARCHAR"), ("account_ref", "VARCHAR"),
    ("match_probability", "DOUBLE"), ("match_weight", "DOUBLE"), ("accepted", "BOOLEAN"),
    ("runner_up_weight", "DOUBLE"), ("reason", "VARCHAR"),
] + [(c, "INTEGER") for c in LEVEL_COLUMNS] + [("decision", "VARCHAR")]
METHODS = ("uprn", "probabilistic", "clerical")


def update_review_queue(con: duckdb.DuckDBPyConnection, lower: float, upper: float, where: str = "TRUE") -> None:
    """Replace these districts' rows of ``review_queue``: each claim's best candidate when borderline, and
    every scored pair with an analyst's decision in force.

    Borderline: its probability is in [lower, upper), or it was not accepted though its probability
    reached ``lower`` (its account went to a better claim). A claim decided "match" with an account is
    settled, and a pair decided "non-match" is out: the claim's best candidate is sought among the rest.
    Needs ``_lk_scored`` and ``links`` (and ``clerical_decisions`` when there are decisions). A claim's best pair
    (highest weight, then account_ref) and the runner-up's weight are taken by one aggregation per claim
    (``min_by``), not by ranking every pair in a window (which sorts them all).
    """
    con.execute(f"CREATE TABLE IF NOT EXISTS review_queue ({', '.join(f'{n} {t}' for n, t in REVIEW_COLUMNS)})")
    con.execute(f"DELETE FROM review_queue WHERE {where}")
    levels = ", ".join(f"b.{c}" for c in LEVEL_COLUMNS)
    decided = has_decisions(con)
    open_pair = f"NOT {decided_sql('s', 'non-match')} AND NOT {claim_decided_match_sql('s')}" if decided else "TRUE"
    linked = "ON l.lad_code = b.lad_code AND l.claim_ref = b.claim_ref AND l.account_ref = b.account_ref"
    first = "struct_pack(w := -s.match_weight, a := s.account_ref)"  # the claim's pairs, best first
    con.execute(f"""
        INSERT INTO review_queue
        WITH ranked AS (
            SELECT lad_code, claim_ref,
                   unnest(min_by(struct_pack(account_ref, match_probability, match_weight,
                                             {", ".join(LEVEL_COLUMNS)}), {first})),
                   min_by(match_weight, {first}, 2)[2] AS runner_up_weight
            FROM _lk_scored s WHERE ({where}) AND {open_pair}
            GROUP BY lad_code, claim_ref)
        SELECT b.lad_code, b.claim_ref, b.account_ref, b.match_probability, b.match_weight,
               l.claim_ref IS NOT NULL AS accepted, b.runner_up_weight,
               CASE WHEN l.claim_ref IS NULL AND b.match_probability >= {upper}
                    THEN 'strong pair not accepted: account linked to another claim'
                    WHEN l.claim_ref IS NULL THEN 'borderline probability, not accepted'
                    ELSE 'borderline probability, accepted' END AS reason,
               {levels}, NULL AS decision
        FROM ranked b LEFT JOIN links l {linked}
        WHERE b.match_probability >= {lower}
          AND (b.match_probability < {upper} OR l.claim_ref IS NULL)
        ORDER BY b.lad_code, b.claim_ref""")
    if decided:
        con.execute(f"""
            INSERT INTO review_queue
            SELECT b.lad_code, b.claim_ref, b.account_ref, b.match_probability, b.match_weight,
                   l.claim_ref IS NOT NULL AS accepted, NULL AS runner_up_weight,
                   'decided by an analyst: ' || d.decision AS reason, {levels}, d.decision
            FROM (SELECT * FROM _lk_scored WHERE {where}) b JOIN {DECISIONS_TABLE} d
              ON d.lad_code = b.lad_code AND d.claim_ref = b.claim_ref AND d.account_ref = b.account_ref
            LEFT JOIN links l {linked}
            ORDER BY b.lad_code, b.claim_ref""")


def link_rates(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Per district: claims, links by method, unlinked claims and the link rate."""
    by_method = ", ".join(f"count(*) FILTER (WHERE l.method = '{m}')" for m in METHODS)
    rows = con.execute(f"""
        SELECT b.lad_code, count(*) AS claims, {by_method}, count(*) FILTER (WHERE l.method IS NULL) AS unlinked
        FROM benefits b LEFT JOIN links l ON l.lad_code = b.lad_code AND l.claim_ref = b.claim_ref
        GROUP BY ALL ORDER BY ALL""").fetchall()
    out = []
    for lad, n, *counts, unlinked in rows:
        linked = dict(zip(METHODS, counts, strict=True))
        out.append({"lad_code": lad, "claims": n, **{f"linked_{m}": v for m, v in linked.items()},
                    "unlinked": unlinked, "link_rate": round(sum(counts) / n, 4) if n else None})
    return out


def weight_histogram(con: duckdb.DuckDBPyConnection, table: str, width: float) -> list[dict[str, Any]]:
    """Counts of ``table``'s match weights in bins [lower, lower + width)."""
    rows = con.execute(f"""
        SELECT floor(match_weight / {width}) * {width} AS lower, count(*)
        FROM {table} GROUP BY ALL ORDER BY ALL""").fetchall()
    return [{"weight_from": float(lo), "weight_to": float(lo) + width, "pairs": n} for lo, n in rows]


