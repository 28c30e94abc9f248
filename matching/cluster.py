"""Connected components in DuckDB: iterative min-label propagation with pointer jumping (no Python loop over rows).

Used to cluster linked person records across districts and the claims they belong to. Each
node ends with the smallest node id of its component as its label, so a label is also a
deterministic choice of the component's representative. The loop runs a few SQL statements
per round and needs O(log(diameter)) rounds thanks to pointer jumping; linkage graphs are
tiny in diameter. No personal data: integer ids only.
"""

from __future__ import annotations

import duckdb


def _scalar(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    row = next(iter(con.execute(sql).fetchall()), None)
    return int(row[0]) if row and row[0] is not None else 0


def connected_components(
    con: duckdb.DuckDBPyConnection, edges_sql: str, out: str, max_rounds: int = 100
) -> int:
    """Create temp table ``out(node BIGINT, label BIGINT)`` for every node of the edges ``(a, b)``; return rounds.

    ``edges_sql`` is a SELECT of two integer columns ``a`` and ``b`` (undirected edges; self loops fine).
    ``label`` is the smallest node id in the node's component.
    """
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _lk_cc_adj AS
        WITH e AS ({edges_sql})
        SELECT DISTINCT node, nb FROM (
            SELECT a::BIGINT AS node, b::BIGINT AS nb FROM e UNION ALL SELECT b, a FROM e
            UNION ALL SELECT a, a FROM e UNION ALL SELECT b, b FROM e)""")
    con.execute(f"CREATE OR REPLACE TEMP TABLE {out} AS SELECT node, min(nb) AS label FROM _lk_cc_adj GROUP BY node")
    rounds = 0
    while rounds < max_rounds:
        rounds += 1
        # one step of propagation (each node takes its neighbours' smallest label), then pointer jumping
        con.execute(f"""CREATE OR REPLACE TEMP TABLE _lk_cc_next AS
            WITH p AS (SELECT a.node, min(l.label) AS label FROM _lk_cc_adj a JOIN {out} l ON l.node = a.nb
                       GROUP BY a.node)
            SELECT p.node, least(p.label, j.label) AS label FROM p JOIN p j ON j.node = p.label""")
        changed = _scalar(con, f"""SELECT count(*) FROM _lk_cc_next n JOIN {out} o USING (node)
                                   WHERE n.label <> o.label""")
        con.execute(f"CREATE OR REPLACE TEMP TABLE {out} AS SELECT * FROM _lk_cc_next")
        if changed == 0:
            break
    con.execute("DROP TABLE IF EXISTS _lk_cc_next")
    con.execute("DROP TABLE IF EXISTS _lk_cc_adj")
    return rounds
