"""Across districts: the same claimant or partner in two districts (moves, duplicate claims).

Person records are the claimants and partners of valid claims (``_lk_persons``). Pairs in
different districts are linked first on the keyed NINO hash (method ``nino``); two records
that both carry a NINO key and disagree on it are different people. Pairs where either side
has no key are linked probabilistically on the name encodings and date of birth
(Fellegi-Sunter, EM without labels on those pairs only, and a name agreement of at least
level 3, so that a drifting EM can never link on a birth date alone). Linked records are
clustered (union-find); claims that share a person cluster form
one county household. Personal data: keyed hashes and encodings only.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Sequence

import duckdb

from matching.block import person_candidates_sql
from matching.compare import dob_level_sql, person_name_level_sql
from matching.estimate import FSModel, probability_sql
from matching.normalise import persons_sql
from matching.settings import LinkSettings, person_start_model
from matching.within import estimate_model

PERSON_LEVELS = ["key_level", "name_level", "dob_level"]
MIN_NAME_LEVEL = 3  # a probabilistic person link needs at least a typo-level name agreement


class UnionFind:
    """Disjoint sets over hashable items; the root of a set is its smallest member."""

    def __init__(self) -> None:
        self.parent: dict[object, object] = {}

    def find(self, item: object) -> object:
        """The set's root, with path halving."""
        self.parent.setdefault(item, item)
        while self.parent[item] != item:
            self.parent[item] = self.parent[self.parent[item]]
            item = self.parent[item]
        return item

    def union(self, a: object, b: object) -> None:
        """Join the sets of a and b; the smaller root (by sort order) wins."""
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            low, high = sorted((ra, rb), key=repr)
            self.parent[high] = low


def person_vectors_sql() -> str:
    """SQL creating ``_lk_person_vectors``: comparison levels of cross-district person pairs."""
    return f"""
        CREATE OR REPLACE TEMP TABLE _lk_person_vectors AS
        WITH k AS ({person_candidates_sql()})
        SELECT k.pid_x, k.pid_y,
               (CASE WHEN x.p_key IS NULL OR y.p_key IS NULL THEN -1
                     WHEN x.p_key = y.p_key THEN 1 ELSE 0 END)::INTEGER AS key_level,
               ({person_name_level_sql("x.p", "y.p")})::INTEGER AS name_level,
               ({dob_level_sql("x.p", "y.p")})::INTEGER AS dob_level
        FROM k JOIN _lk_persons x ON x.pid = k.pid_x JOIN _lk_persons y ON y.pid = k.pid_y"""


def link_across_districts(
    con: duckdb.DuckDBPyConnection, model: FSModel | None = None, settings: LinkSettings | None = None
) -> FSModel:
    """Find the same people across districts; create ``person_links`` and ``_lk_claim_clusters``.

    ``person_links(person_cluster, lad_code, claim_ref, role, method, match_probability)``: one
    row per person record whose cluster spans two or more districts. ``_lk_claim_clusters
    (lad_code, claim_ref, cluster, other_districts)``: one row per valid claim.
    """
    settings = settings or LinkSettings()
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
    edges = con.execute("SELECT pid_x, pid_y, method, match_probability FROM _lk_person_edges").fetchall()
    persons = con.execute("SELECT pid, lad_code, claim_ref, role FROM _lk_persons").fetchall()
    _write_clusters(con, edges, persons)
    return model


def cluster_key(members: list[tuple[str, str]]) -> str:
    """Deterministic key of a set of (lad_code, claim_ref): hash of the smallest member."""
    lad, ref = min(members)
    return hashlib.sha256(f"{lad}\x1f{ref}".encode()).hexdigest()[:16]


def _write_clusters(
    con: duckdb.DuckDBPyConnection, edges: list[tuple[int, int, str, float]],
    persons: list[tuple[int, str, str, str]],
) -> None:
    info = {pid: (lad, ref, role) for pid, lad, ref, role in persons}
    people = UnionFind()
    best: dict[int, tuple[str, float]] = {}
    for x, y, method, prob in edges:
        people.union(x, y)
        for pid in (x, y):
            old = best.get(pid)
            rank = (method == "nino", prob)
            if old is None or rank > (old[0] == "nino", old[1]):
                best[pid] = (method, prob)
    groups: dict[object, list[int]] = defaultdict(list)
    for pid in best:
        groups[people.find(pid)].append(pid)
    claims = UnionFind()
    person_rows = []
    for pids in groups.values():
        members = sorted({info[p][:2] for p in pids})
        if len({lad for lad, _ in members}) < 2:
            continue
        first = min(info[p] for p in pids)
        key = "P-" + cluster_key([(first[0], f"{first[1]}\x1f{first[2]}")])[:12]
        for other in members[1:]:
            claims.union(members[0], other)
        person_rows += [(key, *info[p], *best[p]) for p in sorted(pids)]
    con.execute("""CREATE OR REPLACE TABLE person_links (person_cluster VARCHAR, lad_code VARCHAR,
        claim_ref VARCHAR, role VARCHAR, method VARCHAR, match_probability DOUBLE)""")
    if person_rows:
        insert_rows(con, "person_links", person_rows)
    all_claims = con.execute("SELECT lad_code, claim_ref FROM benefits ORDER BY ALL").fetchall()
    members_of: dict[object, list[tuple[str, str]]] = defaultdict(list)
    for lad, ref in all_claims:
        members_of[claims.find((lad, ref))].append((lad, ref))
    rows = []
    for members in members_of.values():
        key = cluster_key(members)
        lads = sorted({lad for lad, _ in members})
        rows += [(lad, ref, key, ",".join(x for x in lads if x != lad)) for lad, ref in members]
    con.execute("""CREATE OR REPLACE TEMP TABLE _lk_claim_clusters (lad_code VARCHAR, claim_ref VARCHAR,
        cluster VARCHAR, other_districts VARCHAR)""")
    if rows:
        insert_rows(con, "_lk_claim_clusters", rows)


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
