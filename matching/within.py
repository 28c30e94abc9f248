"""Within a district: each benefit claim -> at most one council-tax account (and vice versa).

Order of work (all heavy lifting is DuckDB SQL from :mod:`matching.normalise`,
:mod:`matching.block`, :mod:`matching.compare`; this module only runs it): prepare both
sides, build candidate pairs by blocking, compute comparison vectors, estimate the
Fellegi-Sunter model without labels (EM over the patterns), score, then assign one-to-one:
first same-UPRN pairs whose addresses agree (method ``uprn``), then the rest above the
threshold (method ``probabilistic``). Personal data: pseudonymised encodings only.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import duckdb
import numpy as np

from matching.assign import assign_one_to_one
from matching.block import within_candidates_sql
from matching.clerical import CLERICAL, decided_sql, has_decisions, missing_decided_pairs_sql
from matching.compare import ADDRESS_LEVEL, MODEL_COMPARISONS, within_comparisons
from matching.estimate import (
    FSModel,
    estimate_ecm,
    estimate_em,
    implausible,
    probability_sql,
    random_pair_prior,
    u_from_sample,
    with_random_u,
)
from matching.normalise import prepare_sql
from matching.quality import update_review_queue
from matching.settings import U_FROM_RANDOM_PAIRS, U_SAMPLE_MIN_PAIRS, U_SAMPLE_PAIRS, U_SAMPLE_SEED, within_start_model
from schemas.config import LinkSettings, ResourceSettings
from schemas.sql import quote_str, table_exists

LEVEL_COLUMNS = [c.name for c in within_comparisons()] + [ADDRESS_LEVEL.name]
LINK_COLUMNS: list[tuple[str, str]] = [
    ("lad_code", "VARCHAR"), ("claim_ref", "VARCHAR"), ("account_ref", "VARCHAR"), ("method", "VARCHAR"),
    ("match_probability", "DOUBLE"), ("match_weight", "DOUBLE"), ("tf_weight", "DOUBLE"),
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


# Term frequencies (as Splink's term-frequency adjustments): an exact agreement on a value as common as
# Smith, or a street name found in several towns, is weaker evidence than the level's average, a rare one
# stronger. Per district: p(value) = its share of the district's records (claims and accounts together);
# the average agreement rate u = sum over values of p_claims(value) * p_accounts(value) (the chance that a
# random claim-account pair agrees). The adjustment of an agreeing pair is log2(u / p(value)), added to
# its match weight. name: (value on claims, values on claims, value on accounts, applies when).
TF_TERMS: dict[str, tuple[tuple[str, ...], str, str]] = {
    # the surname the pair agrees on (claimant's or partner's = the liable person's), when the name level
    # holds an exact surname agreement (2 and above)
    "surname": (("c_sn", "p_sn"), "l_sn", "v.name_level >= 2 AND v._tf_surname_eq"),
    # the street words, where the postcode does not place the pair in one sector (address levels 4 and
    # 1: the street is then the evidence of place; within a sector it is not)
    "street": (("street",), "street", "v.street_level = 3 AND v.postcode_level <= 1"),
}


def _tf_ctes() -> list[str]:
    """CTEs ``_tf_<term>`` (lad_code, val, w): the term-frequency adjustment of agreeing on each value."""
    ctes = []
    for term, (claim_cols, account_col, _) in TF_TERMS.items():
        claims = " UNION ALL ".join(f"SELECT lad_code, {col} AS val FROM _lk_claims" for col in claim_cols)
        ctes.append(f"""_tfc_{term} AS (SELECT lad_code, val, count(*) AS n FROM ({claims}) WHERE val IS NOT NULL
                GROUP BY ALL),
            _tfa_{term} AS (SELECT lad_code, {account_col} AS val, count(*) AS n FROM _lk_accounts
                WHERE {account_col} IS NOT NULL GROUP BY ALL),
            _tfu_{term} AS (SELECT c.lad_code, sum(c.n * a.n) / any_value(sc.n * sa.n) AS u
                FROM _tfc_{term} c JOIN _tfa_{term} a ON a.lad_code = c.lad_code AND a.val = c.val
                JOIN (SELECT lad_code, sum(n) AS n FROM _tfc_{term} GROUP BY ALL) sc ON sc.lad_code = c.lad_code
                JOIN (SELECT lad_code, sum(n) AS n FROM _tfa_{term} GROUP BY ALL) sa ON sa.lad_code = c.lad_code
                GROUP BY ALL),
            _tf_{term} AS (SELECT t.lad_code, t.val, log2(u.u / (t.n / sum(t.n) OVER (PARTITION BY t.lad_code))) AS w
                FROM (SELECT lad_code, val, sum(n) AS n FROM (SELECT * FROM _tfc_{term} UNION ALL
                                                              SELECT * FROM _tfa_{term}) GROUP BY ALL) t
                JOIN _tfu_{term} u ON u.lad_code = t.lad_code)""")
    return ctes


def levels_select_sql(pairs: str, tf: bool = True) -> str:
    """SELECT of (lad_code, claim_ref, account_ref, every level[, tf_weight]) for the pairs of ``pairs``.

    ``pairs``: a SELECT of (lad_code, claim_ref, account_ref). With ``tf`` the term-frequency adjustment
    of the pair (:data:`TF_TERMS`; 0 where none applies) is the column ``tf_weight``.
    """
    levels = ",\n       ".join(f"({c.sql})::INTEGER AS {c.name}" for c in within_comparisons())
    if not tf:
        return f"""
        WITH k AS ({pairs}), v AS (
        SELECT k.lad_code, k.claim_ref, k.account_ref,
               {levels}
        FROM k JOIN _lk_claims c ON c.lad_code = k.lad_code AND c.ref = k.claim_ref
               JOIN _lk_accounts a ON a.lad_code = k.lad_code AND a.ref = k.account_ref)
        SELECT v.*, ({ADDRESS_LEVEL.sql})::INTEGER AS {ADDRESS_LEVEL.name} FROM v"""
    joins = "\n               ".join(
        f"LEFT JOIN _tf_{term} t_{term} ON t_{term}.lad_code = k.lad_code AND t_{term}.val = a.{account_col}"
        for term, (_, account_col, _) in TF_TERMS.items())
    tf_cols = ", ".join(f"t_{term}.w AS _tf_{term}" for term in TF_TERMS)
    applies = " + ".join(f"coalesce(CASE WHEN {when} THEN v._tf_{term} END, 0)"
                         for term, (_, _, when) in TF_TERMS.items())
    temp = ", ".join([f"_tf_{term}" for term in TF_TERMS] + ["_tf_surname_eq"])
    return f"""
        WITH k AS ({pairs}), {", ".join(_tf_ctes())}, v AS (
        SELECT k.lad_code, k.claim_ref, k.account_ref,
               {levels},
               coalesce(c.c_sn = a.l_sn OR c.p_sn = a.l_sn, FALSE) AS _tf_surname_eq, {tf_cols}
        FROM k JOIN _lk_claims c ON c.lad_code = k.lad_code AND c.ref = k.claim_ref
               JOIN _lk_accounts a ON a.lad_code = k.lad_code AND a.ref = k.account_ref
               {joins}), w AS (
        SELECT v.*, ({ADDRESS_LEVEL.sql})::INTEGER AS {ADDRESS_LEVEL.name} FROM v)
        SELECT w.* EXCLUDE ({temp}), ({applies.replace("v.", "w.")})::DOUBLE AS tf_weight FROM w"""


def vectors_sql() -> str:
    """SQL creating ``_lk_vectors`` (one row per candidate pair, its comparison levels and tf_weight)."""
    return f"CREATE OR REPLACE TEMP TABLE _lk_vectors AS {levels_select_sql(within_candidates_sql())}"


def random_pairs_sql(per_district: int = U_SAMPLE_PAIRS, seed: int = U_SAMPLE_SEED) -> str:
    """SELECT of up to ``per_district`` random (lad_code, claim_ref, account_ref) pairs in each district.

    Deterministic: claims and accounts are numbered in each district by reference, and draw ``k`` takes
    the claim and the account at positions hash(seed, side, district, k) modulo their counts (with
    replacement, as Splink's ``estimate_u_using_random_sampling``). A district with fewer pairs than
    ``per_district`` gives as many draws as it has pairs.
    """
    return f"""
        WITH cn AS (SELECT lad_code, ref, row_number() OVER (PARTITION BY lad_code ORDER BY ref) - 1 AS i
                    FROM _lk_claims),
             an AS (SELECT lad_code, ref, row_number() OVER (PARTITION BY lad_code ORDER BY ref) - 1 AS i
                    FROM _lk_accounts),
             sizes AS (SELECT c.lad_code, c.n AS nc, a.n AS na FROM
                         (SELECT lad_code, count(*) AS n FROM cn GROUP BY ALL) c
                         JOIN (SELECT lad_code, count(*) AS n FROM an GROUP BY ALL) a ON a.lad_code = c.lad_code),
             draws AS (SELECT s.lad_code, hash({seed}, 'c', s.lad_code, r.k) % s.nc AS ci,
                              hash({seed}, 'a', s.lad_code, r.k) % s.na AS ai
                       FROM sizes s CROSS JOIN range({per_district}) r(k) WHERE r.k < s.nc * s.na)
        SELECT d.lad_code, cn.ref AS claim_ref, an.ref AS account_ref
        FROM draws d JOIN cn ON cn.lad_code = d.lad_code AND cn.i = d.ci
                     JOIN an ON an.lad_code = d.lad_code AND an.i = d.ai"""


def u_sample_sql() -> list[str]:
    """Statements creating ``_lk_u_sample``: per district, the model's level patterns of random pairs, their
    counts, and the district's claims x accounts (``all_pairs``). The pairs are materialised first: left as
    a subquery, DuckDB may compare far more pairs than were drawn."""
    return [f"CREATE OR REPLACE TEMP TABLE _lk_random_pairs AS {random_pairs_sql()}",
            f"""CREATE OR REPLACE TEMP TABLE _lk_u_sample AS
        SELECT s.lad_code, {", ".join(f"s.{c}" for c in MODEL_COMPARISONS)}, count(*) AS n, any_value(p.n) AS all_pairs
        FROM ({levels_select_sql("SELECT * FROM _lk_random_pairs", tf=False)}) s
        JOIN (SELECT c.lad_code, c.n * a.n AS n FROM (SELECT lad_code, count(*) AS n FROM _lk_claims GROUP BY ALL) c
              JOIN (SELECT lad_code, count(*) AS n FROM _lk_accounts GROUP BY ALL) a ON a.lad_code = c.lad_code) p
          ON p.lad_code = s.lad_code
        GROUP BY ALL ORDER BY ALL""", "DROP TABLE _lk_random_pairs"]


def build_vectors(con: duckdb.DuckDBPyConnection, lad_codes: list[str] | None = None) -> int:
    """Prepare both sides, block and compare; creates ``_lk_vectors``; returns its pair count."""
    for sql in prepare_sql(district_filter(lad_codes, "r.lad_code")):
        con.execute(sql)
    con.execute(vectors_sql())
    for sql in u_sample_sql():
        con.execute(sql)
    row = next(iter(con.execute("SELECT count(*) FROM _lk_vectors").fetchall()), None)
    return int(row[0]) if row else 0


def _append(con: duckdb.DuckDBPyConnection, target: str, source: str, first: bool, temp: bool = True) -> None:
    """Copy table ``source`` into table ``target`` (created from it on the ``first`` call: temporary, or an
    ordinary table that every cursor of the database sees)."""
    if first:
        con.execute(f"CREATE OR REPLACE {'TEMP ' if temp else ''}TABLE {target} AS SELECT * FROM {source}")
    else:
        con.execute(f"INSERT INTO {target} SELECT * FROM {source}")


DECIDED = "_lk_decided"  # pairs decided "match" that blocking missed, held apart until the model is fitted
LINK_LANES = 2  # districts prepared and compared at once, each on a cursor of its own (one district's run on ~1 core)
# budget per council-tax row of a district in a lane: two lanes of 240,000 rows fit 1.4 GiB (measured), of 480,000 not
LANE_ROW_BYTES = 3072


def lanes_for(budget_bytes: int, largest_district_rows: int, most: int = LINK_LANES) -> int:
    """How many districts to build at once: ``most`` while that many of the largest district (its council-tax
    rows at :data:`LANE_ROW_BYTES` each) fit the DuckDB budget, else fewer (at least one)."""
    fits = budget_bytes // max(largest_district_rows * LANE_ROW_BYTES, 1)
    return int(max(1, min(most, fits)))


def budget_bytes(con: duckdb.DuckDBPyConnection) -> int:
    """The database's memory limit in bytes, 0 when unreadable (DuckDB shows it as text rounded to a tenth,
    e.g. '1.4 GiB', which the ``[resources]`` size parser reads)."""
    row = con.execute("SELECT current_setting('memory_limit')").fetchone()
    try:
        return ResourceSettings.parse_bytes(str(row[0] if row else ""))
    except ValueError:
        return 0


def build_vectors_by_district(con: duckdb.DuckDBPyConnection, lad_codes: list[str], lanes: int | None = None) -> int:
    """:func:`build_vectors` one district at a time in each of ``lanes`` threads (districts dealt out in turn;
    None: :func:`lanes_for` the database's budget and the largest district);
    ``_lk_vectors``, ``_lk_u_sample`` and ``_lk_claims`` (the person records' source) end on ``con`` as the
    union over the districts, the pairs analysts decided "match" that blocking missed are compared into
    ``_lk_decided`` while the district's sides are there, and no ``_lk_accounts`` is left (nothing after
    comparison reads it), so the working set of blocking and comparison is ``lanes`` districts', not the
    county's. The same rows as building all at once: blocking, comparison and their frequencies never look
    across districts (as :mod:`matching.partition` relies on too).

    Each lane works on a cursor of ``con``'s database (its temporary tables its own) and appends its results
    to ordinary tables ``<table>_lane<i>``, which are gathered into ``con``'s temporary tables and dropped:
    one district's preparation is a single pipeline over one row group (one core), so two lanes keep two
    cores busy."""
    codes = sorted(lad_codes)
    if not codes:
        return build_vectors(con, [])
    kept = ("_lk_vectors", "_lk_u_sample", "_lk_claims", DECIDED)
    if lanes is None:
        largest = _count(con, f"SELECT max(n) FROM (SELECT count(*) AS n FROM council_tax WHERE "
                              f"{district_filter(codes)} GROUP BY lad_code)")
        lanes = lanes_for(budget_bytes(con), largest)
    groups = [codes[i::lanes] for i in range(max(1, min(lanes, len(codes))))]
    for table in ("_lk_accounts", DECIDED, *(f"{t}_lane{i}" for t in kept for i in range(len(groups)))):
        con.execute(f"DROP TABLE IF EXISTS {table}")

    def lane(i: int, group: list[str]) -> None:
        with con.cursor() as cursor:
            for lad in group:
                build_vectors(cursor, [lad])
                add_decided_pairs(cursor, [lad], DECIDED)
                for table in kept:
                    if table_exists(cursor, table):  # _lk_decided: only where analysts have decided pairs
                        target = f"{table}_lane{i}"
                        _append(cursor, target, table, not table_exists(cursor, target), temp=False)

    with ThreadPoolExecutor(len(groups), thread_name_prefix="povertylink-link") as pool:
        for job in [pool.submit(lane, i, group) for i, group in enumerate(groups)]:
            job.result()
    for table in kept:  # each lane's rows moved, then dropped: at most one lane's copy is held twice
        parts = [name for i in range(len(groups)) if table_exists(con, name := f"{table}_lane{i}")]
        for n, name in enumerate(parts):
            _append(con, table, name, n == 0)
            con.execute(f"DROP TABLE {name}")
    return _count(con, "SELECT count(*) FROM _lk_vectors")


def add_decided_pairs(con: duckdb.DuckDBPyConnection, lad_codes: list[str] | None = None,
                      target: str = "_lk_vectors") -> int:
    """Append to ``target`` the pairs decided "match" that blocking did not make candidates, compared
    from the prepared sides (only when they are on the connection: not with partitions); returns how many.
    A ``target`` other than ``_lk_vectors`` is created when missing, with ``_lk_vectors``' columns."""
    if not (has_decisions(con) and table_exists(con, "_lk_claims") and table_exists(con, "_lk_accounts")):
        return 0
    if not table_exists(con, target):
        con.execute(f"CREATE TEMP TABLE {target} AS SELECT * FROM _lk_vectors LIMIT 0")
    before = _count(con, f"SELECT count(*) FROM {target}")
    con.execute(f"INSERT INTO {target} BY NAME "
                f"{levels_select_sql(missing_decided_pairs_sql(district_filter(lad_codes, 'd.lad_code')))}")
    return _count(con, f"SELECT count(*) FROM {target}") - before


def _count(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    """The first column of the first row as an int; 0 when there is no row or it is NULL (``max`` of nothing)."""
    row = next(iter(con.execute(sql).fetchall()), None)
    return int(row[0]) if row and row[0] is not None else 0


def patterns(con: duckdb.DuckDBPyConnection, table: str, columns: list[str], weight: str = ""
             ) -> tuple[np.ndarray, np.ndarray]:
    """Distinct comparison patterns of ``table`` and their counts (rows, or the sum of column ``weight``)."""
    cols = ", ".join(columns)
    count = f"sum({weight})" if weight else "count(*)"
    rows = con.execute(f"SELECT {cols}, {count} FROM {table} GROUP BY ALL ORDER BY ALL").fetchall()
    if not rows:
        return np.zeros((0, len(columns)), dtype=int), np.zeros(0)
    data = np.array(rows, dtype=np.int64)
    return data[:, :-1], data[:, -1]


def _fit(pats: np.ndarray, counts: np.ndarray, start: FSModel, settings: LinkSettings) -> FSModel:
    """EM (or ECM, ``settings.estimator``) on the patterns; the starting model when there are too few pairs."""
    if counts.sum() < max(settings.min_pairs_for_em, 1):
        return FSModel(m=start.m, u=start.u, prior=start.prior, source="prior", pairs=int(counts.sum()))
    if settings.estimator == "ecm":
        return estimate_ecm(pats, counts, start, max_iter=settings.em_max_iterations)
    return estimate_em(pats, counts, start, max_iter=settings.em_max_iterations)


def _all_pairs(con: duckdb.DuckDBPyConnection, table: str) -> int:
    """Claim-account pairs of all districts (claims x accounts, summed), from the random sample's table."""
    return _count(con, f"SELECT sum(pairs) FROM (SELECT any_value(all_pairs) AS pairs FROM {table} "
                       "GROUP BY lad_code)")


def estimate_model(
    con: duckdb.DuckDBPyConnection, table: str, start: FSModel, settings: LinkSettings,
    u_sample: str | None = None,
) -> FSModel:
    """The within-district model: m (and the share of matches) by EM on the candidate pairs of ``table``,
    u from the random pairs of ``u_sample`` (as Splink does) when there are enough, else from the EM.

    Why u from random pairs: among random pairs the two records are independent, so the comparisons are
    (nearly) independent among non-matches, as the model assumes; among candidate pairs they are not
    (blocking picked pairs that agree on something). The prior is then the share of matches among all
    pairs. An implausible model (:func:`implausible`) is not used: the starting m is, and the manifest
    says so (``implausible_fit``).
    """
    pats, counts = patterns(con, table, start.comparisons)
    fitted = _fit(pats, counts, start, settings)
    all_pairs = _all_pairs(con, u_sample) if u_sample and table_exists(con, u_sample) else 0
    if all_pairs >= U_SAMPLE_MIN_PAIRS:
        u_pats, u_counts = patterns(con, u_sample, start.comparisons, weight="n")  # type: ignore[arg-type]

        def full(model: FSModel) -> FSModel:
            if U_FROM_RANDOM_PAIRS:
                return with_random_u(model, u_pats, u_counts, int(counts.sum()), all_pairs)
            prior = random_pair_prior(model, int(counts.sum()), all_pairs)  # reported beside the model's u
            return replace(model, u_random=u_from_sample(u_pats, u_counts, model, prior), u_pairs=int(u_counts.sum()))
    else:
        def full(model: FSModel) -> FSModel:
            return model
    model = full(fitted)
    problems = implausible(model)
    if problems:  # fall back to the starting m, and say so in the manifest (implausible_fit and notes)
        note = f"{fitted.source} fit implausible, starting model used: " + "; ".join(problems)
        model = full(FSModel(m=start.m, u=start.u, prior=start.prior, source="prior", pairs=int(counts.sum()),
                             log=[*fitted.log, note], implausible_problems=problems))
    return model


def score_and_assign(
    con: duckdb.DuckDBPyConnection, model: FSModel, settings: LinkSettings, lad_codes: list[str] | None = None
) -> None:
    """Score ``_lk_vectors`` (creates ``_lk_scored``) and replace these districts' rows of ``links``.

    With ``clerical_decisions`` on the connection: pairs decided "match" are linked first (method
    ``clerical``), pairs decided "non-match" are never linked (:mod:`matching.clerical`).
    """
    weight = model.weight_sql("v", "v.tf_weight")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _lk_scored AS
        SELECT v.lad_code, v.claim_ref, v.account_ref,
               CASE WHEN {UPRN_CONSISTENT} THEN 'uprn' ELSE 'probabilistic' END AS method,
               {probability_sql(weight)} AS match_probability, {weight} AS match_weight, v.tf_weight,
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
    """:func:`score_and_assign` one district at a time (``_lk_scored`` ends as the union), and each district's
    rows of ``review_queue`` while its scored pairs are all of ``_lk_scored``: the same links and queue, since
    scoring is row by row and neither the one-to-one assignment nor the queue crosses a district, with the
    working set of the assignment's window functions and of the queue's per-claim aggregation one district's
    (the queue over every district at once ran out of memory at eight times Kent, and a pass per district over
    the whole scored table read it again each time)."""
    codes = sorted(lad_codes)
    if not codes:
        score_and_assign(con, model, settings, [])
        update_review_queue(con, settings.review_lower, settings.review_upper, "FALSE")
        return
    con.execute("ALTER TABLE _lk_vectors RENAME TO _lk_vectors_all")
    try:
        for n, lad in enumerate(codes):
            con.execute(f"CREATE OR REPLACE TEMP TABLE _lk_vectors AS SELECT * FROM _lk_vectors_all "
                        f"WHERE lad_code = {quote_str(lad)}")
            score_and_assign(con, model, settings, [lad])
            update_review_queue(con, settings.review_lower, settings.review_upper, district_filter([lad]))
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
    con.execute(f"DROP TABLE IF EXISTS {DECIDED}")
    if not vectors_loaded:
        build_vectors_by_district(con, codes or []) if by_district else build_vectors(con, codes)
    if model is None:
        model = estimate_model(con, "_lk_vectors", within_start_model(), settings, u_sample="_lk_u_sample")
    # after the fit: analysts' pairs are no evidence for the model
    if table_exists(con, DECIDED):
        con.execute(f"INSERT INTO _lk_vectors BY NAME SELECT * FROM {DECIDED}")
        con.execute(f"DROP TABLE {DECIDED}")
    else:
        add_decided_pairs(con, codes)
    if by_district:
        score_and_assign_by_district(con, model, settings, codes or [])  # and each district's review queue
    else:
        score_and_assign(con, model, settings, codes)
        update_review_queue(con, settings.review_lower, settings.review_upper, district_filter(codes))
    return model
