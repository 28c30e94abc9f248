"""Clerical review in the link stage: analysts' decisions honoured, and the published review queue.

The decisions in force are a table ``clerical_decisions`` (pair_id, lad_code, claim_ref, account_ref,
decision) that the caller loads on the connection before linking (:mod:`pipelines.review` reads them
from ``<output>/review/decisions.csv``; at most one "match" per claim and per account). Linking then:

- links every pair decided "match" first, with method ``clerical`` (the pair is scored as usual; a pair
  that blocking did not make a candidate this run is compared on its own first);
- never links a pair decided "non-match" (the claim may still link to another account);
- leaves the rest to the model, as without decisions.

A pair is named by :func:`pair_id`: a hash of the district code and the two references, so a decision
made on one run's queue applies to the same pair in every later run. Personal data: references and
address fields of the district's own extracts; never a name encoding, NINO key or birth date.
"""

from __future__ import annotations

import hashlib

import duckdb

from schemas.review import PAIR_ID_HEX, REVIEW_QUEUE_COLUMNS
from schemas.sql import table_exists

DECISIONS_TABLE = "clerical_decisions"
CLERICAL = "clerical"
SEPARATOR = "\x1f"  # ASCII unit separator between the parts hashed into a pair id: in no reference


def pair_id(lad_code: str, claim_ref: str, account_ref: str) -> str:
    """The stable id of a claim -> account pair: ``P-`` and 16 hex characters of SHA-256."""
    text = SEPARATOR.join((lad_code, claim_ref, account_ref))
    return "P-" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:PAIR_ID_HEX]


def pair_id_sql(lad: str, claim: str, account: str) -> str:
    """SQL of :func:`pair_id` over three text expressions (the same value)."""
    return f"'P-' || left(sha256({lad} || chr(31) || {claim} || chr(31) || {account}), {PAIR_ID_HEX})"


def create_decisions_table(con: duckdb.DuckDBPyConnection) -> None:
    """An empty ``clerical_decisions`` table (the caller inserts the decisions in force)."""
    con.execute(f"""CREATE OR REPLACE TABLE {DECISIONS_TABLE} (pair_id VARCHAR, lad_code VARCHAR, claim_ref VARCHAR,
                    account_ref VARCHAR, decision VARCHAR)""")


def has_decisions(con: duckdb.DuckDBPyConnection) -> bool:
    """True when a ``clerical_decisions`` table is on the connection."""
    return table_exists(con, DECISIONS_TABLE)


def decided_sql(alias: str, decision: str) -> str:
    """SQL condition: the pair of row ``alias`` (lad_code, claim_ref, account_ref) was decided ``decision``."""
    return (f"EXISTS (SELECT 1 FROM {DECISIONS_TABLE} d WHERE d.lad_code = {alias}.lad_code AND "
            f"d.claim_ref = {alias}.claim_ref AND d.account_ref = {alias}.account_ref AND d.decision = '{decision}')")


def claim_decided_match_sql(alias: str) -> str:
    """SQL condition: the claim of row ``alias`` has a pair decided "match" (with any account)."""
    return (f"EXISTS (SELECT 1 FROM {DECISIONS_TABLE} d WHERE d.lad_code = {alias}.lad_code AND "
            f"d.claim_ref = {alias}.claim_ref AND d.decision = 'match')")


def missing_decided_pairs_sql(where: str) -> str:
    """SELECT (lad_code, claim_ref, account_ref) of pairs decided "match" in these districts that are not in
    ``_lk_vectors`` (blocking did not make them candidates this run)."""
    return f"""SELECT d.lad_code, d.claim_ref, d.account_ref FROM {DECISIONS_TABLE} d
        WHERE d.decision = 'match' AND ({where}) AND NOT EXISTS (SELECT 1 FROM _lk_vectors v
            WHERE v.lad_code = d.lad_code AND v.claim_ref = d.claim_ref AND v.account_ref = d.account_ref)"""


def clerical_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """What the decisions did in this run: decisions in force, links forced (method clerical), pairs kept
    apart (every "non-match" is honoured), and "match" decisions not applied (the pair could not be
    compared this run: a record not in this run's extracts, or, with partitions, not a candidate)."""
    if not has_decisions(con):
        return {"decisions": 0, "forced_links": 0, "forbidden_pairs": 0, "not_applied": 0}
    row = con.execute(f"""
        SELECT (SELECT count(*) FROM {DECISIONS_TABLE}),
               (SELECT count(*) FROM links WHERE method = '{CLERICAL}'),
               (SELECT count(*) FROM {DECISIONS_TABLE} WHERE decision = 'non-match'),
               (SELECT count(*) FROM {DECISIONS_TABLE} d WHERE d.decision = 'match'
                    AND NOT EXISTS (SELECT 1 FROM _lk_scored s WHERE s.lad_code = d.lad_code
                                    AND s.claim_ref = d.claim_ref AND s.account_ref = d.account_ref))
        """).fetchone()
    assert row is not None
    return {"decisions": int(row[0]), "forced_links": int(row[1]), "forbidden_pairs": int(row[2]),
            "not_applied": int(row[3])}


def published_queue_sql() -> str:
    """SELECT of ``review_queue.parquet``'s rows (:class:`schemas.review.ReviewPairRow`) from ``review_queue``,
    ``links``, ``benefits`` and ``council_tax``: address fields only from the two records, no name or key."""
    select = {
        "pair_id": pair_id_sql("q.lad_code", "q.claim_ref", "q.account_ref"),
        "linked": "l.claim_ref IS NOT NULL", "method": "l.method",
        "claim_uprn": "b.uprn", "account_uprn": "c.uprn", "claim_postcode": "b.postcode",
        "account_postcode": "c.postcode",
        **{f"{side}_{field}": f"{alias}.{field}" for side, alias in (("claim", "b"), ("account", "c"))
           for field in ("address_line_1", "address_line_2", "town")},
    }
    columns = ", ".join(f"{select.get(name, f'q.{name}')} AS {name}" for name in REVIEW_QUEUE_COLUMNS)
    return f"""SELECT {columns}
        FROM review_queue q
        LEFT JOIN links l ON l.lad_code = q.lad_code AND l.claim_ref = q.claim_ref AND l.account_ref = q.account_ref
        LEFT JOIN benefits b ON b.lad_code = q.lad_code AND b.claim_ref = q.claim_ref
        LEFT JOIN council_tax c ON c.lad_code = q.lad_code AND c.account_ref = q.account_ref
        ORDER BY q.lad_code, q.claim_ref, q.account_ref"""
