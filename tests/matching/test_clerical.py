"""Clerical decisions in the link stage: a "match" forces the link (method clerical), a "non-match" forbids
it, and the review queue shows the decided pairs; hand-made cases, real DuckDB."""

from __future__ import annotations

import duckdb

from matching.clerical import (
    DECISIONS_TABLE,
    clerical_counts,
    create_decisions_table,
    pair_id,
    pair_id_sql,
    published_queue_sql,
)
from matching.within import link_districts
from schemas.review import REVIEW_QUEUE_COLUMNS
from schemas.sql import quote_str
from tests.matching.test_within import LAD, con  # noqa: F401 - the fixture

__all__ = ["con"]


def _links(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[str, str]]:
    return {c: (a, m) for c, a, m in con.execute("SELECT claim_ref, account_ref, method FROM links").fetchall()}


def _decide(con: duckdb.DuckDBPyConnection, decisions: list[tuple[str, str, str]]) -> None:
    create_decisions_table(con)
    for claim, account, decision in decisions:
        con.execute(f"INSERT INTO {DECISIONS_TABLE} VALUES (?, ?, ?, ?, ?)",
                    [pair_id(LAD, claim, account), LAD, claim, account, decision])


def test_pair_id_is_the_same_in_python_and_sql_and_stable(con: duckdb.DuckDBPyConnection) -> None:
    sql = pair_id_sql(quote_str(LAD), quote_str("B1"), quote_str("A1"))
    row = con.execute(f"SELECT {sql}").fetchone()
    assert row is not None and row[0] == pair_id(LAD, "B1", "A1")
    assert pair_id(LAD, "B1", "A1") != pair_id(LAD, "B1", "A10") != pair_id("E07000105", "B1", "A1")
    assert row[0].startswith("P-") and len(row[0]) == 18


def test_match_forces_the_link_and_non_match_forbids_it(con: duckdb.DuckDBPyConnection) -> None:
    link_districts(con, LAD)
    before = _links(con)
    assert before["B1"] == ("A1", "uprn") and "B8" not in before  # B8: no candidate at all
    linked_model = before["B2"]
    _decide(con, [("B1", "A1", "non-match"), ("B8", "A6", "match"), ("B2", linked_model[0], "match")])
    link_districts(con, LAD)
    after = _links(con)
    assert after.get("B1", ("", ""))[0] != "A1"  # forbidden: the model's best pair is never linked
    assert after["B8"] == ("A6", "clerical")  # forced, although blocking never made the pair a candidate
    assert after["B2"] == (linked_model[0], "clerical")
    assert "A6" not in {a for c, (a, _) in after.items() if c != "B8"}  # still one claim per account
    counts = clerical_counts(con)
    assert counts == {"decisions": 3, "forced_links": 2, "forbidden_pairs": 1, "not_applied": 0}


def test_queue_shows_decided_pairs_and_has_no_name_or_key(con: duckdb.DuckDBPyConnection) -> None:
    _decide(con, [("B1", "A1", "non-match"), ("B8", "A6", "match")])
    link_districts(con, LAD)
    queue = con.execute(published_queue_sql())
    columns = [d[0] for d in queue.description]
    rows = {(r[2], r[3]): dict(zip(columns, r, strict=True)) for r in queue.fetchall()}
    assert tuple(columns) == REVIEW_QUEUE_COLUMNS
    assert not [c for c in columns if c.endswith(("_name", "_key", "birth_date"))]
    assert rows[("B1", "A1")]["decision"] == "non-match" and rows[("B1", "A1")]["linked"] is False
    forced = rows[("B8", "A6")]
    assert forced["decision"] == "match" and forced["method"] == "clerical"
    assert forced["claim_address_line_1"] == "99 Nowhere Lane" and forced["account_address_line_1"] == "6 High Street"
    assert forced["pair_id"] == pair_id(LAD, "B8", "A6")
    assert len({r["pair_id"] for r in rows.values()}) == len(rows)
