"""Probabilistic fallback for Universal Credit awards, with the linkage stage's own machinery (``matching``).

Two joins fall back to a Fellegi-Sunter comparison when the exact one fails:

- **award -> claim**: an award whose person keys (claimant or partner NINO hash) join no claim of its
  district (a NINO missing or keyed wrong in either system) is compared with the district's claims
  that no award joined and that share with it a postcode and an address number, a UPRN, or a birth date
  and a forename or surname: address (UPRN, postcode, house number, flat, street words: the comparisons of
  :func:`matching.compare.within_comparisons` and its ``address_level``), names (the better of the
  award's claimant and partner against the claim's, :func:`matching.compare.person_name_level_sql`)
  and birth dates (:func:`matching.compare.dob_level_sql`). Joined pairs go into ``claim_awards``.
- **UC-only household -> council-tax account**: a UC-only award with no account at its UPRN is
  compared, as the link stage compares a claim with an account, with the accounts of its postcode that
  share a number of its address and that nothing else is linked to. Linked pairs go into ``uc_links``
  (method ``probabilistic``).

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
from matching.compare import ADDRESS_LEVEL, dob_level_sql, person_name_level_sql, within_comparisons
from matching.estimate import probability_sql
from matching.normalise import prepare_side_sql
from matching.persons import MIN_NAME_LEVEL
from matching.settings import within_start_model
from schemas.config import LinkSettings

ADDRESS_COMPARISONS = ("uprn_level", "postcode_level", "house_number_level", "flat_level", "street_level")
PAIRS = ("c.c", "a.c"), ("c.c", "a.p"), ("c.p", "a.c"), ("c.p", "a.p")
"""Award persons (c: the award prepared as a claim side) against claim persons (a: the claim)."""
NUMBERS = "regexp_extract_all(concat_ws(' ', {t}.address_line_1, {t}.address_line_2), '[0-9]+')"
"""The numbers of an address (house, flat), for blocking a UC-only household against its postcode's accounts."""


def _raw_keys(table: str, ref: str) -> str:
    """(lad_code, ref, k) blocking keys from raw columns, before any preparation: postcode with a number of the
    address (house or flat; or none on both), UPRN, and each person's birth date with the forename or the
    surname hash of their name encoding."""
    parts = [("u", "uprn")] + [
        (tag, f"{person}_birth_date || split_part({person}_name, '|', {part})")
        for person in ("claimant", "partner") for tag, part in (("f", 2), ("s", 4))]
    numbers = NUMBERS.format(t=table)
    at = (f"SELECT lad_code, {ref} AS ref, 'p' || postcode || ':' || unnest(CASE WHEN len({numbers}) = 0"
          f" THEN [''] ELSE {numbers} END) AS k FROM {table} WHERE postcode IS NOT NULL")
    return " UNION ALL ".join([at] + [f"SELECT lad_code, {ref} AS ref, '{tag}' || {col} AS k FROM {table}"
                                      f" WHERE {col} IS NOT NULL" for tag, col in parts])


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

    Candidates share, in one district, a postcode and a number of the address, a UPRN, or a person's birth
    date and forename or surname (either person on either side), found on the raw columns, so that only the
    awards and claims of some candidate pair are prepared.
    Reads ``uc_awards``, ``benefits`` and ``claim_awards``; returns how many were joined.
    """
    settings = settings or LinkSettings()
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _uc_award_pairs AS
        WITH oa AS (SELECT * FROM uc_awards a WHERE NOT EXISTS
                    (SELECT 1 FROM claim_awards j WHERE j.lad_code = a.lad_code AND j.award_ref = a.award_ref)),
             oc AS (SELECT * FROM benefits b WHERE NOT EXISTS
                    (SELECT 1 FROM claim_awards j WHERE j.lad_code = b.lad_code AND j.claim_ref = b.claim_ref))
        SELECT DISTINCT x.lad_code, x.ref AS award_ref, y.ref AS claim_ref
        FROM ({_raw_keys("oa", "award_ref")}) x JOIN ({_raw_keys("oc", "claim_ref")}) y
          ON x.lad_code = y.lad_code AND x.k = y.k""")
    con.execute(_prepare("claims", "uc_awards", "award_ref", "_uc_award_side",
                         "EXISTS (SELECT 1 FROM _uc_award_pairs k WHERE k.lad_code = r.lad_code"
                         " AND k.award_ref = r.award_ref)"))
    con.execute(_prepare("claims", "benefits", "claim_ref", "_uc_claim_side",
                         "EXISTS (SELECT 1 FROM _uc_award_pairs k WHERE k.lad_code = r.lad_code"
                         " AND k.claim_ref = r.claim_ref)"))
    address = {c.name: c.sql for c in within_comparisons() if c.name in ADDRESS_COMPARISONS}
    levels = ",\n".join(f"({sql})::INTEGER AS {name}" for name, sql in address.items())
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _uc_award_vectors AS
        WITH v AS (
            SELECT k.lad_code, k.claim_ref, k.award_ref AS account_ref, {levels},
                ({_best([person_name_level_sql(x, y) for x, y in PAIRS])})::INTEGER AS name_level,
                ({_best([dob_level_sql(x, y) for x, y in PAIRS])})::INTEGER AS dob_level
            FROM _uc_award_pairs k JOIN _uc_award_side c ON c.lad_code = k.lad_code AND c.ref = k.award_ref
                 JOIN _uc_claim_side a ON a.lad_code = k.lad_code AND a.ref = k.claim_ref)
        SELECT v.*, ({ADDRESS_LEVEL.sql})::INTEGER AS {ADDRESS_LEVEL.name} FROM v""")
    _accept(con, "_uc_award_vectors", settings, "_uc_award_joins")
    con.execute("INSERT INTO claim_awards SELECT lad_code, claim_ref, account_ref AS award_ref FROM _uc_award_joins")
    row = con.execute("SELECT count(*) FROM _uc_award_joins").fetchone()
    return int(row[0]) if row else 0


def link_uc_only_to_accounts(con: duckdb.DuckDBPyConnection, has_links: bool,
                             settings: LinkSettings | None = None) -> int:
    """Add to ``uc_links`` the UC-only households with no account at their UPRN that match an account of their
    postcode that nothing else is linked to, sharing a number of the address (house or flat; or both without
    one), with the link stage's comparisons.

    Reads ``claims``, ``council_tax``, ``uc_links`` and, where it exists, ``links``; returns how many were linked.
    """
    settings = settings or LinkSettings()
    claimed = "SELECT lad_code, account_ref FROM uc_links" + (
        " UNION ALL SELECT lad_code, account_ref FROM links" if has_links else "")
    numbers_o, numbers_t = NUMBERS.format(t="o"), NUMBERS.format(t="t")
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _uc_account_pairs AS
        WITH o AS (SELECT * FROM claims c WHERE c.source = 'uc' AND NOT EXISTS
                   (SELECT 1 FROM uc_links l WHERE l.lad_code = c.lad_code AND l.claim_ref = c.claim_ref))
        SELECT o.lad_code, o.claim_ref, t.account_ref
        FROM o JOIN council_tax t ON t.lad_code = o.lad_code AND t.postcode = o.postcode
        WHERE NOT EXISTS (SELECT 1 FROM ({claimed}) l WHERE l.lad_code = t.lad_code AND l.account_ref = t.account_ref)
          AND (list_has_any({numbers_o}, {numbers_t}) OR (len({numbers_o}) = 0 AND len({numbers_t}) = 0))""")
    con.execute("""CREATE OR REPLACE TEMP TABLE _uc_pair_accounts AS SELECT * FROM council_tax t
        SEMI JOIN (SELECT DISTINCT lad_code, account_ref FROM _uc_account_pairs) k
          ON k.lad_code = t.lad_code AND k.account_ref = t.account_ref""")
    pair = "EXISTS (SELECT 1 FROM _uc_account_pairs k WHERE k.lad_code = r.lad_code AND k.claim_ref = r.claim_ref)"
    con.execute(_prepare("claims", "claims", "claim_ref", "_uc_only_side", pair))
    con.execute(_prepare("accounts", "_uc_pair_accounts", "account_ref", "_uc_account_side"))
    levels = ",\n".join(f"({c.sql})::INTEGER AS {c.name}" for c in within_comparisons())
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _uc_account_vectors AS
        WITH v AS (
            SELECT k.lad_code, k.claim_ref, k.account_ref, {levels}
            FROM _uc_account_pairs k JOIN _uc_only_side c ON c.lad_code = k.lad_code AND c.ref = k.claim_ref
                 JOIN _uc_account_side a ON a.lad_code = k.lad_code AND a.ref = k.account_ref)
        SELECT v.*, ({ADDRESS_LEVEL.sql})::INTEGER AS {ADDRESS_LEVEL.name} FROM v""")
    _accept(con, "_uc_account_vectors", settings, "_uc_account_links")
    con.execute("""INSERT INTO uc_links SELECT lad_code, claim_ref, account_ref, 'probabilistic',
        CAST(match_probability AS DOUBLE) FROM _uc_account_links""")
    row = con.execute("SELECT count(*) FROM _uc_account_links").fetchone()
    return int(row[0]) if row else 0
