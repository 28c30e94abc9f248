"""Probabilistic fallback for Universal Credit awards, with the linkage stage's own machinery (``matching``).

Two joins fall back to a Fellegi-Sunter comparison when the exact one fails:

- **award -> claim**: an award whose person keys (claimant or partner NINO hash) join no claim of its
  district (a NINO missing or keyed wrong in either system) is compared with the district's claims
  that no award joined: address (UPRN, postcode, house number, flat, street words: the comparisons of
  :func:`matching.compare.within_comparisons` and its ``address_level``), names (the better of the
  award's claimant and partner against the claim's, :func:`matching.compare.person_name_level_sql`)
  and birth dates (:func:`matching.compare.dob_level_sql`). Joined pairs go into ``claim_awards``.
- **UC-only household -> council-tax account**: a UC-only award with no account at its UPRN is
  compared, exactly as the link stage compares a claim with an account, with the accounts in its
  postcode that no claim is linked to. Linked pairs go into ``uc_links`` (method ``probabilistic``).

Both sides are prepared with :func:`matching.normalise.prepare_side_sql` (awards have a claim's
columns) and scored with the linkage stage's starting model (:func:`matching.settings.within_start_model`,
the same four comparisons), not re-estimated: the pairs are few and nearly all non-matches, where EM has
nothing to learn from. A pair is accepted at :class:`schemas.config.LinkSettings` ``threshold`` with a
name agreement of at least :data:`matching.persons.MIN_NAME_LEVEL` (never on address and birth date
alone), one to one, best weight first (:func:`matching.assign.assign_one_to_one`). Personal data: keyed
hashes and name encodings in working tables; references out.
"""

from __future__ import annotations

import duckdb

from matching.assign import assign_one_to_one
from matching.block import within_candidates_sql
from matching.compare import ADDRESS_LEVEL, dob_level_sql, person_name_level_sql, within_comparisons
from matching.estimate import probability_sql
from matching.normalise import prepare_side_sql
from matching.persons import MIN_NAME_LEVEL
from matching.settings import within_start_model
from schemas.config import LinkSettings

ADDRESS_COMPARISONS = ("uprn_level", "postcode_level", "house_number_level", "flat_level", "street_level")
PAIRS = ("c.c", "a.c"), ("c.c", "a.p"), ("c.p", "a.c"), ("c.p", "a.p")
"""Award persons (c: the award prepared as a claim side) against claim persons (a: the claim)."""
AWARD_BLOCKS = (
    "c.postcode = a.postcode", "c.uprn = a.uprn",
    *(f"{x}_dob = {y}_dob" for x, y in PAIRS),
    *(f"{x}_sn = {y}_sn AND {x}_fn = {y}_fn" for x, y in PAIRS),
)
"""Blocking of award -> claim pairs (same district): same postcode, UPRN, a birth date, or a whole name."""


def _prepare(side: str, source: str, ref: str, name: str, where: str = "TRUE") -> str:
    """matching's preparation of one side, into the working table ``name`` (not the link stage's own)."""
    return prepare_side_sql(side, source, ref, where).replace(f"TEMP TABLE _lk_{side} AS", f"TEMP TABLE {name} AS")


def _best(levels: list[str]) -> str:
    return f"greatest({', '.join(levels)})"


def _accept(con: duckdb.DuckDBPyConnection, vectors: str, settings: LinkSettings, accepted: str) -> None:
    """Score ``vectors`` (lad_code, claim_ref, account_ref and the model's levels) with the starting model and
    keep a one-to-one selection above the threshold with a name agreement, into table ``accepted``."""
    model = within_start_model()
    weight = model.weight_sql("v")
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _uc_pool AS
        SELECT v.lad_code, v.claim_ref, v.account_ref, {weight} AS match_weight,
               {probability_sql(weight)} AS match_probability
        FROM {vectors} v
        WHERE v.name_level >= {MIN_NAME_LEVEL} AND {probability_sql(weight)} >= {settings.threshold}""")
    con.execute(f"CREATE OR REPLACE TEMP TABLE {accepted} AS SELECT * FROM _uc_pool LIMIT 0")
    assign_one_to_one(con, "_uc_pool", accepted)


def join_awards_to_claims(con: duckdb.DuckDBPyConnection, settings: LinkSettings | None = None) -> int:
    """Add to ``claim_awards`` the awards that join no claim by person key but match one probabilistically.

    Reads ``uc_awards``, ``benefits`` and ``claim_awards``; returns how many were joined.
    """
    settings = settings or LinkSettings()
    con.execute("""CREATE OR REPLACE TEMP VIEW _uc_open_awards AS SELECT * FROM uc_awards a
        WHERE NOT EXISTS (SELECT 1 FROM claim_awards j WHERE j.lad_code = a.lad_code AND j.award_ref = a.award_ref)""")
    con.execute("""CREATE OR REPLACE TEMP VIEW _uc_open_claims AS SELECT * FROM benefits b
        WHERE NOT EXISTS (SELECT 1 FROM claim_awards j WHERE j.lad_code = b.lad_code AND j.claim_ref = b.claim_ref)""")
    con.execute(_prepare("claims", "_uc_open_awards", "award_ref", "_uc_award_side"))
    con.execute(_prepare("claims", "_uc_open_claims", "claim_ref", "_uc_claim_side",
                         "EXISTS (SELECT 1 FROM _uc_open_awards o WHERE o.lad_code = r.lad_code)"))
    address = {c.name: c.sql for c in within_comparisons() if c.name in ADDRESS_COMPARISONS}
    blocks = "\nUNION\n".join(
        f"SELECT c.lad_code, c.ref AS award_ref, a.ref AS claim_ref FROM _uc_award_side c"
        f" JOIN _uc_claim_side a ON a.lad_code = c.lad_code AND {cond}" for cond in AWARD_BLOCKS)
    levels = ",\n".join(f"({sql})::INTEGER AS {name}" for name, sql in address.items())
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _uc_award_vectors AS
        WITH k AS ({blocks}), v AS (
            SELECT k.lad_code, k.claim_ref, k.award_ref AS account_ref, {levels},
                ({_best([person_name_level_sql(x, y) for x, y in PAIRS])})::INTEGER AS name_level,
                ({_best([dob_level_sql(x, y) for x, y in PAIRS])})::INTEGER AS dob_level
            FROM k JOIN _uc_award_side c ON c.lad_code = k.lad_code AND c.ref = k.award_ref
                   JOIN _uc_claim_side a ON a.lad_code = k.lad_code AND a.ref = k.claim_ref)
        SELECT v.*, ({ADDRESS_LEVEL.sql})::INTEGER AS {ADDRESS_LEVEL.name} FROM v""")
    _accept(con, "_uc_award_vectors", settings, "_uc_award_joins")
    con.execute("INSERT INTO claim_awards SELECT lad_code, claim_ref, account_ref AS award_ref FROM _uc_award_joins")
    row = con.execute("SELECT count(*) FROM _uc_award_joins").fetchone()
    return int(row[0]) if row else 0


def link_uc_only_to_accounts(con: duckdb.DuckDBPyConnection, has_links: bool,
                             settings: LinkSettings | None = None) -> int:
    """Add to ``uc_links`` the UC-only households with no account at their UPRN that match an account of their
    postcode that nothing else is linked to (the link stage's comparisons and blocking without capped keys).

    Reads ``claims``, ``council_tax``, ``uc_links`` and, where it exists, ``links``; returns how many were linked.
    """
    settings = settings or LinkSettings()
    claimed = "SELECT lad_code, account_ref FROM uc_links" + (
        " UNION ALL SELECT lad_code, account_ref FROM links" if has_links else "")
    con.execute("""CREATE OR REPLACE TEMP VIEW _uc_only_open AS SELECT * FROM claims c
        WHERE c.source = 'uc'
          AND NOT EXISTS (SELECT 1 FROM uc_links l WHERE l.lad_code = c.lad_code AND l.claim_ref = c.claim_ref)""")
    con.execute(f"""CREATE OR REPLACE TEMP VIEW _uc_free_accounts AS SELECT * FROM council_tax t
        WHERE t.postcode IN (SELECT postcode FROM _uc_only_open)
          AND NOT EXISTS (SELECT 1 FROM ({claimed}) l
                          WHERE l.lad_code = t.lad_code AND l.account_ref = t.account_ref)""")
    con.execute(_prepare("claims", "_uc_only_open", "claim_ref", "_uc_only_side"))
    con.execute(_prepare("accounts", "_uc_free_accounts", "account_ref", "_uc_account_side"))
    levels = ",\n".join(f"({c.sql})::INTEGER AS {c.name}" for c in within_comparisons())
    candidates = within_candidates_sql(capped=False).replace("_lk_claims", "_uc_only_side").replace(
        "_lk_accounts", "_uc_account_side")
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _uc_account_vectors AS
        WITH k AS ({candidates}), v AS (
            SELECT k.lad_code, k.claim_ref, k.account_ref, {levels}
            FROM k JOIN _uc_only_side c ON c.lad_code = k.lad_code AND c.ref = k.claim_ref
                   JOIN _uc_account_side a ON a.lad_code = k.lad_code AND a.ref = k.account_ref)
        SELECT v.*, ({ADDRESS_LEVEL.sql})::INTEGER AS {ADDRESS_LEVEL.name} FROM v""")
    _accept(con, "_uc_account_vectors", settings, "_uc_account_links")
    con.execute("""INSERT INTO uc_links SELECT lad_code, claim_ref, account_ref, 'probabilistic',
        CAST(match_probability AS DOUBLE) FROM _uc_account_links""")
    row = con.execute("SELECT count(*) FROM _uc_account_links").fetchone()
    return int(row[0]) if row else 0
