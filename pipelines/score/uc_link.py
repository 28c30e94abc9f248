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

Candidate pairs whose names could not reach the acceptance level are dropped before anything is prepared
(:func:`_may_reach_name_level`: a necessary condition on the forename, nickname and surname hashes, so what
is accepted does not change; at Kent scale it keeps 2,746 of 16,732 award-claim pairs and 6,394 of 25,074
household-account pairs). The remaining sides are prepared with
:func:`matching.normalise.prepare_side_sql` (awards have a claim's columns; their name encodings are
fetched from ``universal_credit`` by the latest AP's rowid, ``uc_row``, through the view ``uc_award_rows``, as
``uc_awards`` does not carry them; the UC-only side's candidate accounts are found in ``council_tax`` by one join and
fetched again by their rowid, ``ct_row``) and scored with
the linkage stage's starting model (:func:`matching.settings.within_start_model`, the same four
comparisons), not re-estimated: the pairs are few and nearly all non-matches, where EM has
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
from pipelines.score.uc_sql import NAME_PARTS
from schemas.config import LinkSettings

ADDRESS_COMPARISONS = ("uprn_level", "postcode_level", "house_number_level", "flat_level", "street_level")
PAIRS = ("c.c", "a.c"), ("c.c", "a.p"), ("c.p", "a.c"), ("c.p", "a.p")
"""Award persons (c: the award prepared as a claim side) against claim persons (a: the claim)."""
NUMBERS = "regexp_extract_all(concat_ws(' ', {t}.address_line_1, {t}.address_line_2), '[0-9]+')"
"""The numbers of an address (house, flat), for blocking a UC-only household against its postcode's accounts."""


PEOPLE = ("claimant", "partner")


def _candidates(awards: str, claims: str) -> str:
    """SQL: the distinct (lad_code, award_ref, claim_ref, award_src, claim_src) of materialised CTEs ``awards`` and
    ``claims`` (columns lad_code, ref, src: the rowid of the record's row in ``universal_credit`` or ``benefits``, and
    :func:`_name_parts`') that share, in a district, a UPRN, a postcode and a number of the
    address (house or flat; or none on both), or a person's birth date with their forename or with their surname
    hash (either person on either side; the hashes as text, parts 2 and 4 of the name encoding). One equality join
    per kind of key, on the typed columns (BIGINT, DATE, text), so no key string is built or unnested but the
    address numbers."""
    def people(side: str) -> str:
        return " UNION ALL ".join(f"SELECT lad_code, ref, src, {p}_birth_date AS bd, {p}_forename AS fn,"
                                  f" {p}_surname AS sn FROM {side} WHERE {p}_birth_date IS NOT NULL" for p in PEOPLE)

    def numbers(side: str) -> str:
        nums = NUMBERS.format(t="r")
        return (f"SELECT lad_code, ref, src, postcode, unnest(CASE WHEN len(nums) = 0 THEN [''] ELSE nums END) AS n"
                f" FROM (SELECT r.lad_code, r.ref, r.src, r.postcode, {nums} AS nums FROM {side} r"
                f" WHERE r.postcode IS NOT NULL)")

    def pairs(x: str, y: str, on: str) -> str:
        cond = " AND ".join(f"x.{c} = y.{c}" for c in ("lad_code", *on.split()))
        return (f"SELECT x.lad_code, x.ref AS award_ref, y.ref AS claim_ref, x.src AS award_src, y.src AS claim_src"
                f" FROM {x} x JOIN {y} y ON {cond}")

    ap, cp = f"({people(awards)})", f"({people(claims)})"
    return "SELECT DISTINCT * FROM (" + " UNION ALL ".join([
        pairs(awards, claims, "uprn"), pairs(ap, cp, "bd fn"), pairs(ap, cp, "bd sn"),
        pairs(f"({numbers(awards)})", f"({numbers(claims)})", "postcode n")]) + ")"


def _name_parts() -> str:
    """The columns of a record that :func:`_candidates` reads, each person's name parts split from the encoding."""
    parts = ", ".join(f"split_part({person}_name, '|', {k}) AS {person}_{part}" for person in PEOPLE
                      for part, k in (("forename", 2), ("surname", 4)))
    return (f"lad_code, uprn, postcode, address_line_1, address_line_2, claimant_birth_date, partner_birth_date, "
            f"{parts}")


def _named_awards(where: str) -> str:
    """``uc_award_rows`` matching ``where`` (alias ``a``): the awards with their latest AP's row, name encodings
    included, fetched from ``universal_credit`` by its ``rowid`` (``uc_row``: a join on one integer, built from the
    few awards that match)."""
    return f"(SELECT a.* FROM uc_award_rows a WHERE {where})"


def _hashes(forename: str, nicknames: str, surname: str) -> tuple[str, str, str]:
    """A person's forename, nickname and surname hashes as :func:`matching.normalise.person_columns_sql` casts
    them (``_fn``, ``_fc``, ``_sn``), from the text of those parts of the name encoding."""
    def word(text: str) -> str:
        return f"('0x' || nullif({text}, ''))::UBIGINT"

    nicks = f"list_transform(string_split(nullif({nicknames}, ''), ','), lambda h: ('0x' || h)::UBIGINT)"
    return word(forename), nicks, word(surname)


def _encoded_person(alias: str, person: str) -> tuple[str, str, str]:
    """:func:`_hashes` of a person from a name encoding column (``<person>_name``)."""
    return _hashes(*(f"split_part({alias}.{person}_name, '|', {k})" for _, k in NAME_PARTS))


def _hash_columns(people: dict[str, tuple[str, str, str]]) -> str:
    """SELECT-list items ``<short>_fn``, ``<short>_fc``, ``<short>_sn`` of each person (short name -> hashes)."""
    return ", ".join(f"{sql} AS {short}_{field}" for short, hashes in people.items()
                     for field, sql in zip(("fn", "fc", "sn"), hashes, strict=True))


def _hashed(alias: str, short: str) -> tuple[str, str, str]:
    """The columns of :func:`_hash_columns` of person ``short`` in relation ``alias``."""
    return f"{alias}.{short}_fn", f"{alias}.{short}_fc", f"{alias}.{short}_sn"


def _may_reach_name_level(x: tuple[str, str, str], y: tuple[str, str, str]) -> str:
    """SQL: whether persons x and y could reach :data:`MIN_NAME_LEVEL` (3) in
    :func:`matching.compare.person_name_level_sql`: only with a forename and a surname on both sides and an
    equal forename, a shared nickname or an equal surname. A necessary condition, so pairs failing it for
    every pair of persons are dropped before preparation without changing what is accepted."""
    (xf, xc, xs), (yf, yc, ys) = x, y
    return (f"({xf} IS NOT NULL AND {yf} IS NOT NULL AND {xs} IS NOT NULL AND {ys} IS NOT NULL"
            f" AND ({xf} = {yf} OR {xs} = {ys} OR coalesce(list_has_any({xc}, {yc}), FALSE)))")


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
    opened = "NOT EXISTS (SELECT 1 FROM claim_awards j WHERE j.lad_code = {t}.lad_code AND j.{ref} = {t}.{ref})"
    awards = (f"SELECT award_ref AS ref, uc_row AS src, {_name_parts()}"
              f" FROM {_named_awards(opened.format(t='a', ref='award_ref'))} n")
    claims = (f"SELECT claim_ref AS ref, rowid AS src, {_name_parts()} FROM benefits b"
              f" WHERE {opened.format(t='b', ref='claim_ref')}")
    names = " OR ".join(_may_reach_name_level(_hashed("ah", x), _hashed("bh", y)) for x in "cp" for y in "cp")
    award_hashes = _hash_columns({"c": _encoded_person("u", "claimant"), "p": _encoded_person("u", "partner")})
    claim_hashes = _hash_columns({"c": _encoded_person("b", "claimant"), "p": _encoded_person("b", "partner")})
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _uc_award_pairs AS
        WITH oa AS MATERIALIZED ({awards}), oc AS MATERIALIZED ({claims}),
             k AS MATERIALIZED ({_candidates("oa", "oc")}),
             ah AS MATERIALIZED (SELECT u.rowid AS src, {award_hashes} FROM universal_credit u
                    JOIN (SELECT DISTINCT award_src FROM k) r ON u.rowid = r.award_src),
             bh AS MATERIALIZED (SELECT b.rowid AS src, {claim_hashes} FROM benefits b
                    JOIN (SELECT DISTINCT claim_src FROM k) r ON b.rowid = r.claim_src)
        SELECT k.lad_code, k.award_ref, k.claim_ref
        FROM k JOIN ah ON ah.src = k.award_src JOIN bh ON bh.src = k.claim_src
        WHERE {names}""")
    paired = "EXISTS (SELECT 1 FROM _uc_award_pairs k WHERE k.lad_code = {t}.lad_code AND k.{ref} = {t}.{ref})"
    con.execute(_prepare("claims", _named_awards(paired.format(t="a", ref="award_ref")), "award_ref",
                         "_uc_award_side"))
    con.execute(_prepare("claims", "benefits", "claim_ref", "_uc_claim_side", paired.format(t="r", ref="claim_ref")))
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

    Reads ``uc_only``, ``uc_awards``, ``council_tax``, ``uc_links`` and, where it exists, ``links``; returns how many
    were linked.
    """
    settings = settings or LinkSettings()
    claimed = "SELECT lad_code, account_ref FROM uc_links" + (
        " UNION ALL SELECT lad_code, account_ref FROM links" if has_links else "")
    numbers_t = NUMBERS.format(t="t")
    address_t = "concat_ws(' ', t.address_line_1, t.address_line_2)"
    names = " OR ".join(_may_reach_name_level(_hashed("ah", x), _hashed("th", "l")) for x in "cp")
    award_hashes = _hash_columns({"c": _encoded_person("a", "claimant"), "p": _encoded_person("a", "partner")})
    liable_hashes = _hash_columns({"l": _encoded_person("t", "liable")})
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _uc_open AS
        SELECT c.lad_code, c.claim_ref, c.uc_award_ref, c.postcode, {NUMBERS.format(t="c")} AS numbers
        FROM uc_only c WHERE NOT EXISTS
            (SELECT 1 FROM uc_links l WHERE l.lad_code = c.lad_code AND l.claim_ref = c.claim_ref)""")
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _uc_address_pairs AS
        SELECT o.lad_code, o.claim_ref, o.uc_award_ref, t.account_ref, t.rowid AS ct_row
        FROM _uc_open o JOIN council_tax t ON t.lad_code = o.lad_code AND t.postcode = o.postcode
        WHERE (len(o.numbers) = 0 OR list_bool_or(list_transform(o.numbers, lambda n: contains({address_t}, n))))
          AND (list_has_any(o.numbers, {numbers_t}) OR (len(o.numbers) = 0 AND len({numbers_t}) = 0))""")
    # (the first test, that the account's address contains one of the numbers as text, is a cheap necessary
    # condition of the second: it spares the regex on most of the postcode's accounts)
    in_pairs = ("EXISTS (SELECT 1 FROM _uc_address_pairs k"
                " WHERE k.lad_code = a.lad_code AND k.uc_award_ref = a.award_ref)")
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _uc_account_pairs AS
        WITH ah AS MATERIALIZED (SELECT a.lad_code, a.award_ref, {award_hashes} FROM {_named_awards(in_pairs)} a),
             th AS MATERIALIZED (SELECT t.lad_code, t.account_ref, t.rowid AS ct_row, {liable_hashes}
                    FROM council_tax t JOIN (SELECT DISTINCT ct_row FROM _uc_address_pairs) k ON t.rowid = k.ct_row
                    WHERE NOT EXISTS (SELECT 1 FROM ({claimed}) l
                                      WHERE l.lad_code = t.lad_code AND l.account_ref = t.account_ref))
        SELECT k.lad_code, k.claim_ref, k.account_ref, k.ct_row
        FROM _uc_address_pairs k JOIN ah ON ah.lad_code = k.lad_code AND ah.award_ref = k.uc_award_ref
             JOIN th ON th.ct_row = k.ct_row
        WHERE {names}""")
    paired = "EXISTS (SELECT 1 FROM _uc_account_pairs k WHERE k.lad_code = {t}.lad_code AND k.{ref} = {t}.{ref})"
    named = ("(SELECT c.*, u.claimant_name, u.partner_name FROM uc_only c JOIN uc_awards a"
             " ON a.lad_code = c.lad_code AND a.award_ref = c.uc_award_ref"
             " JOIN universal_credit u ON u.rowid = a.uc_row"
             f" WHERE {paired.format(t='c', ref='claim_ref')})")
    con.execute(_prepare("claims", named, "claim_ref", "_uc_only_side"))
    accounts = ("(SELECT t.* FROM council_tax t"
                " JOIN (SELECT DISTINCT ct_row FROM _uc_account_pairs) k ON t.rowid = k.ct_row)")
    con.execute(_prepare("accounts", accounts, "account_ref", "_uc_account_side"))
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
