"""Within a district: each benefit claim -> at most one council-tax account (and vice versa).

Order of work (all heavy lifting is DuckDB SQL from :mod:`matching.normalise`,
:mod:`matching.block`, :mod:`matching.compare`; this module only runs it): prepare both
sides, build candidate pairs by blocking, compute comparison vectors, estimate the
Fellegi-Sunter model without labels (EM over the patterns), score, then assign one-to-one:
first same-UPRN pairs whose addresses agree (method ``uprn``), then the rest above the
threshold (method ``probabilistic``). Personal data: pseudonymised encodings only.
"""

from __future__ import annotations

import duckdb
import numpy as np

from matching.assign import assign_one_to_one
from matching.block import within_candidates_sql
from matching.clerical import CLERICAL, decided_sql, has_decisions, missing_decided_pairs_sql
from matching.compare import ADDRESS_LEVEL, within_comparisons
from matching.estimate import FSModel, estimate_ecm, estimate_em, implausible, probability_sql
from matching.normalise import prepare_sql
from matching.quality import update_review_queue
from matching.settings import within_start_model
from schemas.config import LinkSettings
from schemas.sql import quote_str, table_exists

LEVEL_COLUMNS = [c.name for c in within_comparisons()] + [ADDRESS_LEVEL.name]
LINK_COLUMNS: list[tuple[str, str]] = [
    ("lad_code", "VARCHAR"), ("claim_ref", "VARCHAR"), ("account_ref", "VARCHAR"), ("method", "VARCHAR"),
    ("match_probability", "DOUBLE"), ("match_weight", "DOUBLE"),
] + [(c, "INTEGER") for c in LEVEL_COLUMNS]
UPRN_CONSISTENT = ("v.uprn_level = 1 AND v.flat_level >= 1 AND v.house_number_level <> 0 "
                   "AND v.postcode_level >= 2")


def district_filter(lad_codes: list[str] | None, column: str = "lad_code") -> str:
    """SQL condition restricting ``column`` to the given districts (all when None)."""
    if lad_codes is None:
        return "TRUE"
    quoted = ", ".join(quote_str(code) for code in lad_codes)
    return f"{column} IN ({quoted})" if quoted else "FALSE"


def create_links_table(con: duckdb.DuckDBPyConnection) -> None:
    """Create the ``links`` table if it is not there (see :mod:`schemas.links`)."""
    con.execute(f"CREATE TABLE IF NOT EXISTS links ({', '.join(f'{n} {t}' for n, t in LINK_COLUMNS)})")


def vectors_sql() -> str:
    """SQL creating ``_lk_vectors`` (one row per candidate pair, its comparison levels) from the prepared sides."""
    return f"CREATE OR REPLACE TEMP TABLE _lk_vectors AS {pair_vectors_sql(within_candidates_sql())}"


def pair_vectors_sql(pairs: str) -> str:
    """SELECT of the comparison levels of the pairs ``pairs`` selects (lad_code, claim_ref, account_ref)."""
    levels = ",\n       ".join(f"({c.sql})::INTEGER AS {c.name}" for c in within_comparisons())
    return f"""
        WITH k AS ({pairs}), v AS (
        SELECT k.lad_code, k.claim_ref, k.account_ref,
               {levels}
        FROM k JOIN _lk_claims c ON c.lad_code = k.lad_code AND c.ref = k.claim_ref
               JOIN _lk_accounts a ON a.lad_code = k.lad_code AND a.ref = k.account_ref)
        SELECT v.*, ({ADDRESS_LEVEL.sql})::INTEGER AS {ADDRESS_LEVEL.name} FROM v"""


def build_vectors(con: duckdb.DuckDBPyConnection, lad_codes: list[str] | None = None) -> int:
    """Prepare both sides, block and compare; creates ``_lk_vectors``; returns its pair count."""
    for sql in prepare_sql(district_filter(lad_codes, "r.lad_code")):
        con.execute(sql)
    con.execute(vectors_sql())
    row = next(iter(con.execute("SELECT count(*) FROM _lk_vectors").fetchall()), None)
    return int(row[0]) if row else 0


def _append(con: duckdb.DuckDBPyConnection, target: str, source: str, first: bool) -> None:
    """Copy temp table ``source`` into temp table ``target`` (created from it on the ``first`` call)."""
    if first:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {target} AS SELECT * FROM {source}")
    else:
        con.execute(f"INSERT INTO {target} SELECT * FROM {source}")


def build_vectors_by_district(con: duckdb.DuckDBPyConnection, lad_codes: list[str]) -> int:
    """:func:`build_vectors` one district at a time; ``_lk_vectors`` and ``_lk_claims`` (the person
    records' source) end as the union over the districts and ``_lk_accounts`` is dropped (nothing after
    comparison reads it), so the working set of blocking and comparison is one district's, not the
    county's. The same rows as building all at once: blocking, comparison and their frequencies never
    look across districts (as :mod:`matching.partition` relies on too)."""
    codes = sorted(lad_codes)
    if not codes:
        return build_vectors(con, [])
    kept = ("_lk_vectors", "_lk_claims")
    for n, lad in enumerate(codes):
        build_vectors(con, [lad])
        for table in kept:
            _append(con, f"{table}_all", table, n == 0)
    con.execute("DROP TABLE _lk_accounts")
    for table in kept:
        con.execute(f"DROP TABLE {table}")
        con.execute(f"ALTER TABLE {table}_all RENAME TO {table}")
    row = next(iter(con.execute("SELECT count(*) FROM _lk_vectors").fetchall()), None)
    return int(row[0]) if row else 0


def patterns(con: duckdb.DuckDBPyConnection, table: str, columns: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Distinct comparison patterns of ``table`` and their counts."""
    cols = ", ".join(columns)
    rows = con.execute(f"SELECT {cols}, count(*) FROM {table} GROUP BY ALL ORDER BY ALL").fetchall()
    if not rows:
        return np.zeros((0, len(columns)), dtype=int), np.zeros(0)
    data = np.array(rows, dtype=np.int64)
    return data[:, :-1], data[:, -1]


def estimate_model(
    con: duckdb.DuckDBPyConnection, table: str, start: FSModel, settings: LinkSettings
) -> FSModel:
    """EM (or ECM, ``settings.estimator``) on the table's patterns; the starting model when there are too few pairs."""
    pats, counts = patterns(con, table, start.comparisons)
    if counts.sum() < max(settings.min_pairs_for_em, 1):
        return FSModel(m=start.m, u=start.u, prior=start.prior, source="prior", pairs=int(counts.sum()))
    if settings.estimator == "ecm":
        fitted = estimate_ecm(pats, counts, start, max_iter=settings.em_max_iterations)
    else:
        fitted = estimate_em(pats, counts, start, max_iter=settings.em_max_iterations)
    problems = implausible(fitted)
    if problems:  # fall back to the starting model, and say so in the manifest (model notes)
        note = f"{fitted.source} fit implausible, starting model used: " + "; ".join(problems)
        return FSModel(m=start.m, u=start.u, prior=start.prior, source="prior", pairs=int(counts.sum()),
                       log=[*fitted.log, note])
    return fitted


def add_decided_pairs(con: duckdb.DuckDBPyConnection, lad_codes: list[str] | None = None) -> int:
    """Append to ``_lk_vectors`` the pairs decided "match" that blocking did not make candidates, compared
    from the prepared sides (only when they are on the connection: not with partitions); returns how many."""
    if not (has_decisions(con) and table_exists(con, "_lk_claims") and table_exists(con, "_lk_accounts")):
        return 0
    before = _count(con, "SELECT count(*) FROM _lk_vectors")
    con.execute(f"INSERT INTO _lk_vectors BY NAME "
                f"{pair_vectors_sql(missing_decided_pairs_sql(district_filter(lad_codes, 'd.lad_code')))}")
    return _count(con, "SELECT count(*) FROM _lk_vectors") - before


def _count(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    row = next(iter(con.execute(sql).fetchall()), None)
    return int(row[0]) if row else 0


def score_and_assign(
    con: duckdb.DuckDBPyConnection, model: FSModel, settings: LinkSettings, lad_codes: list[str] | None = None
) -> None:
    """Score ``_lk_vectors`` (creates ``_lk_scored``) and replace these districts' rows of ``links``.

    With ``clerical_decisions`` on the connection: pairs decided "match" are linked first (method
    ``clerical``), pairs decided "non-match" are never linked (:mod:`matching.clerical`).
    """
    weight = model.weight_sql("v")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _lk_scored AS
        SELECT v.lad_code, v.claim_ref, v.account_ref,
               CASE WHEN {UPRN_CONSISTENT} THEN 'uprn' ELSE 'probabilistic' END AS method,
               {probability_sql(weight)} AS match_probability, {weight} AS match_weight,
               {", ".join(f"v.{c}" for c in LEVEL_COLUMNS)}
        FROM _lk_vectors v""")
    create_links_table(con)
    con.execute(f"DELETE FROM links WHERE {district_filter(lad_codes)}")
    con.execute("CREATE OR REPLACE TEMP TABLE _lk_accepted AS SELECT * FROM links LIMIT 0")
    allowed = "TRUE"
    if has_decisions(con):
        con.execute(f"""CREATE OR REPLACE TEMP TABLE _lk_pool AS
            SELECT * REPLACE ('{CLERICAL}' AS method) FROM _lk_scored s WHERE {decided_sql("s", "match")}""")
        assign_one_to_one(con, "_lk_pool", "_lk_accepted")
        allowed = f"NOT {decided_sql('s', 'non-match')}"
    if settings.use_uprn:
        con.execute(f"CREATE OR REPLACE TEMP TABLE _lk_pool AS SELECT * FROM _lk_scored s "
                    f"WHERE method = 'uprn' AND {allowed}")
        assign_one_to_one(con, "_lk_pool", "_lk_accepted")
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _lk_pool AS
        SELECT * REPLACE ('probabilistic' AS method) FROM _lk_scored s
        WHERE match_probability >= {settings.threshold} AND {allowed}""")
    assign_one_to_one(con, "_lk_pool", "_lk_accepted")
    con.execute("INSERT INTO links SELECT * FROM _lk_accepted ORDER BY lad_code, claim_ref")


def score_and_assign_by_district(con: duckdb.DuckDBPyConnection, model: FSModel, settings: LinkSettings,
                                 lad_codes: list[str]) -> None:
    """:func:`score_and_assign` one district at a time (``_lk_scored`` ends as the union): the same links,
    since scoring is row by row and the one-to-one assignment never crosses a district, with the working
    set of the assignment's window functions one district's."""
    codes = sorted(lad_codes)
    if not codes:
        score_and_assign(con, model, settings, [])
        return
    con.execute("ALTER TABLE _lk_vectors RENAME TO _lk_vectors_all")
    try:
        for n, lad in enumerate(codes):
            con.execute(f"CREATE OR REPLACE TEMP TABLE _lk_vectors AS SELECT * FROM _lk_vectors_all "
                        f"WHERE lad_code = {quote_str(lad)}")
            score_and_assign(con, model, settings, [lad])
            _append(con, "_lk_scored_all", "_lk_scored", n == 0)
    finally:
        con.execute("DROP TABLE IF EXISTS _lk_vectors")
        con.execute("ALTER TABLE _lk_vectors_all RENAME TO _lk_vectors")
    con.execute("DROP TABLE IF EXISTS _lk_scored")
    con.execute("ALTER TABLE _lk_scored_all RENAME TO _lk_scored")


def link_districts(
    con: duckdb.DuckDBPyConnection, lad_code: str | list[str] | None,
    model: FSModel | None = None, settings: LinkSettings | None = None, vectors_loaded: bool = False,
    one_at_a_time: bool = False,
) -> FSModel:
    """Link one district's claims to its accounts (or several; None: all) into ``links``; return the model.

    Without ``model`` the model is estimated on these districts' candidate pairs.
    ``vectors_loaded``: ``_lk_vectors`` is already on the connection (loaded from the partition
    files of :mod:`matching.partition`), so preparation, blocking and comparison are skipped.
    Also replaces these districts' rows of ``review_queue``. Leaves ``_lk_scored`` (every candidate
    pair with its weight and probability). ``one_at_a_time`` (with a list of codes): blocking,
    comparison, scoring and assignment district by district, the model still estimated on every
    district's patterns together (the same links; memory follows the largest district).
    """
    settings = settings or LinkSettings()
    codes = [lad_code] if isinstance(lad_code, str) else lad_code
    by_district = one_at_a_time and codes is not None
    if not vectors_loaded:
        build_vectors_by_district(con, codes or []) if by_district else build_vectors(con, codes)
    if model is None:
        model = estimate_model(con, "_lk_vectors", within_start_model(), settings)
    add_decided_pairs(con, codes)  # after the fit: analysts' pairs are no evidence for the model
    if by_district:
        score_and_assign_by_district(con, model, settings, codes or [])
    else:
        score_and_assign(con, model, settings, codes)
    update_review_queue(con, settings.review_lower, settings.review_upper, district_filter(codes))
    return model
