"""Across districts: the same claimant or partner in two districts (moves, duplicate claims).

Person records are the claimants and partners of valid claims (``_lk_persons``). Pairs in
different districts are linked first on the keyed NINO hash (method ``nino``); two records
that both carry a NINO key and disagree on it are different people. Pairs where either side
has no key are linked probabilistically on the name encodings and date of birth
(Fellegi-Sunter, EM without labels on those pairs only, and a name agreement of at least
level 3, so that a drifting EM can never link on a birth date alone). Linked records are
clustered (connected components in SQL, :mod:`matching.cluster`); claims that share a person
cluster form one county household. Personal data: keyed hashes and encodings only.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import duckdb

from matching.block import PERSON_RULES, person_candidates_sql
from matching.cluster import connected_components
from matching.compare import dob_level_sql, person_name_level_sql
from matching.estimate import FSModel, probability_sql
from matching.normalise import persons_sql
from matching.settings import person_start_model
from matching.within import estimate_model
from schemas.config import LinkSettings
from schemas.sql import quote_str

PERSON_LEVELS = ["key_level", "name_level", "dob_level"]
MIN_NAME_LEVEL = 3  # a probabilistic person link needs at least a typo-level name agreement


def person_vectors_sql(x_lad: str | None = None) -> str:
    """SQL creating ``_lk_person_vectors``: comparison levels of cross-district person pairs.

    With ``x_lad``, only the pairs whose x side is in that district (x.lad_code < y.lad_code always
    holds), i.e. one partition: the union over every district is the unpartitioned table.
    """
    rules = None if x_lad is None else {
        name: f"({cond}) AND x.lad_code = {quote_str(x_lad)}" for name, cond in PERSON_RULES.items()}
    return f"""
        CREATE OR REPLACE TEMP TABLE _lk_person_vectors AS
        WITH k AS ({person_candidates_sql(rules)})
        SELECT k.pid_x, k.pid_y,
               (CASE WHEN x.person_key IS NULL OR y.person_key IS NULL THEN -1
                     WHEN x.person_key = y.person_key THEN 1 ELSE 0 END)::INTEGER AS key_level,
               ({person_name_level_sql("x.person", "y.person")})::INTEGER AS name_level,
               ({dob_level_sql("x.person", "y.person")})::INTEGER AS dob_level
        FROM k JOIN _lk_persons x ON x.pid = k.pid_x JOIN _lk_persons y ON y.pid = k.pid_y"""


def link_across_districts(
    con: duckdb.DuckDBPyConnection, model: FSModel | None = None, settings: LinkSettings | None = None,
    vectors_loaded: bool = False,
) -> FSModel:
    """Find the same people across districts; create ``person_links`` and ``_lk_claim_clusters``.

    ``person_links(person_cluster, lad_code, claim_ref, role, method, match_probability)``: one
    row per person record whose cluster spans two or more districts. ``_lk_claim_clusters
    (lad_code, claim_ref, cluster, other_districts)``: one row per valid claim. ``vectors_loaded``:
    ``_lk_persons`` and ``_lk_person_vectors`` are already on the connection (from the partition
    files of :mod:`matching.partition`); otherwise they are built here from ``_lk_claims``.
    """
    settings = settings or LinkSettings()
    if not vectors_loaded:
        con.execute(persons_sql())
        con.execute(person_vectors_sql())
    con.execute("CREATE OR REPLACE TEMP VIEW _lk_person_open AS SELECT * FROM _lk_person_vectors WHERE key_level = -1")
    if model is None:
        model = estimate_model(con, "_lk_person_open", person_start_model(), settings)
    weight = model.weight_sql("v")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _lk_person_edges AS
        SELECT v.pid_x, v.pid_y, CASE WHEN v.key_level = 1 THEN 'nino' ELSE 'probabilistic' END AS method,
               CASE WHEN v.key_level = 1 THEN 1.0 ELSE {probability_sql(weight)} END AS match_probability,
               {weight} AS match_weight, v.* EXCLUDE (pid_x, pid_y)
        FROM _lk_person_vectors v
        WHERE v.key_level = 1
           OR (v.key_level = -1 AND v.name_level >= {MIN_NAME_LEVEL}
               AND {probability_sql(weight)} >= {settings.person_threshold})""")
    write_clusters(con)
    return model


def cluster_key(members: list[tuple[str, str]]) -> str:
    """Deterministic key of a set of (lad_code, claim_ref): hash of the smallest member (as :func:`cluster_key_sql`)."""
    lad, ref = min(members)
    return hashlib.sha256(f"{lad}\x1f{ref}".encode()).hexdigest()[:16]


def cluster_key_sql(*parts: str) -> str:
    """SQL of the 16 hex digits of SHA-256 of the parts joined by U+001F (the same as :func:`cluster_key`)."""
    return f"left(sha256(concat_ws(chr(31), {', '.join(parts)})), 16)"


def write_clusters(con: duckdb.DuckDBPyConnection) -> None:
    """From ``_lk_person_edges`` and ``_lk_persons``: ``person_links`` and ``_lk_claim_clusters`` (all in SQL).

    Person clusters are the connected components of the person edges; claims that share a person
    cluster are one claim cluster (components of the edges mapped to claims). A claim's node id is
    the smallest ``pid`` of its persons; ``pid`` follows (lad_code, claim_ref, role), so the smallest
    label of a component is also its smallest member, whose hash names the cluster.
    """
    connected_components(con, "SELECT pid_x AS a, pid_y AS b FROM _lk_person_edges", "_lk_person_cc")
    con.execute(f"""CREATE OR REPLACE TABLE person_links AS
        WITH ends AS (SELECT pid_x AS pid, method, match_probability FROM _lk_person_edges
                      UNION ALL SELECT pid_y, method, match_probability FROM _lk_person_edges),
        best AS (SELECT pid, CASE WHEN bool_or(method = 'nino') THEN 'nino' ELSE 'probabilistic' END AS method,
                        coalesce(max(match_probability) FILTER (WHERE method = 'nino'), max(match_probability))
                          AS match_probability
                 FROM ends GROUP BY pid)
        SELECT 'P-' || left({cluster_key_sql("f.lad_code", "f.claim_ref", "f.role")}, 12) AS person_cluster,
               p.lad_code, p.claim_ref, p.role, b.method, b.match_probability::DOUBLE AS match_probability
        FROM _lk_person_cc c JOIN best b ON b.pid = c.node JOIN _lk_persons p ON p.pid = c.node
             JOIN _lk_persons f ON f.pid = c.label
        ORDER BY person_cluster, c.node""")
    con.execute("""CREATE OR REPLACE TEMP TABLE _lk_claim_node AS
        SELECT pid, min(pid) OVER (PARTITION BY lad_code, claim_ref) AS cid FROM _lk_persons""")
    connected_components(con, """SELECT x.cid AS a, y.cid AS b FROM _lk_person_edges e
        JOIN _lk_claim_node x ON x.pid = e.pid_x JOIN _lk_claim_node y ON y.pid = e.pid_y""", "_lk_claim_cc")
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _lk_claim_clusters AS
        WITH m AS (
            SELECT p.lad_code, p.claim_ref, f.lad_code AS first_lad, f.claim_ref AS first_ref,
                   list_sort(list_distinct(list(p.lad_code) OVER (PARTITION BY c.label))) AS lads
            FROM _lk_claim_cc c JOIN _lk_persons p ON p.pid = c.node JOIN _lk_persons f ON f.pid = c.label)
        SELECT b.lad_code, b.claim_ref,
               {cluster_key_sql("coalesce(m.first_lad, b.lad_code)", "coalesce(m.first_ref, b.claim_ref)")}
                 AS cluster,
               coalesce(array_to_string(list_filter(m.lads, lambda x: x <> b.lad_code), ','), '') AS other_districts
        FROM benefits b LEFT JOIN m ON m.lad_code = b.lad_code AND m.claim_ref = b.claim_ref
        ORDER BY b.lad_code, b.claim_ref""")


def insert_rows(con: duckdb.DuckDBPyConnection, table: str, rows: Sequence[tuple[object, ...]]) -> None:
    """Append Python rows to ``table`` (columns in table order) through Arrow (fast for many rows)."""
    import pyarrow as pa

    names = [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()]
    arrow = pa.table({n: [row[i] for row in rows] for i, n in enumerate(names)})
    con.register("_lk_arrow", arrow)
    try:
        con.execute(f"INSERT INTO {table} SELECT * FROM _lk_arrow")
    finally:
        con.unregister("_lk_arrow")
