"""Blocking rules: which pairs are compared at all (pure functions returning DuckDB SQL).

Within a district a claim (``c``, ``_lk_claims``) is compared with an account (``a``,
``_lk_accounts``) when any rule holds; the union of the rules' pairs is the candidate set.
Two flats in one building (both with a flat identifier, different) are never candidates.
Across districts, person records (``x``, ``y``) are compared when any person rule holds.

The exact rules (:data:`WITHIN_RULES`) need an exact postcode, street string or keyed name.
The **capped keys** (:data:`CAPPED_KEYS`) make blocking survive an error in any one field, and
in most pairs of fields: each record gets keys built from one or two fields (birth date alone;
surname Metaphone with sector, forename or a street word; forename with a street word; house
number with a street word; two street words). A claim and an account become candidates when
they share keys worth :data:`MIN_SHARED_KEYS` (a strong key, or a key value unique in the
district, counts twice), unless a key is common in the district: a key value is used only where
(claims with it) x (accounts with it) <= :data:`KEY_CAP`, so that candidates stay bounded (a
surname such as Smith in a postcode sector, or a word that names half the district, drops out;
a rare surname or building name stays in).
"""

from __future__ import annotations

from matching.compare import FLAT_CONFLICT
from matching.normalise import ABBREVIATIONS

WITHIN_RULES: dict[str, str] = {
    "postcode": "c.postcode = a.postcode",
    "uprn": "c.uprn = a.uprn",
    "street_house_number": "c.street = a.street AND c.house_no = a.house_no",
    "sector_house_number_line1": "c.pc_sector = a.pc_sector AND c.house_no = a.house_no AND c.line1 = a.line1",
    "claimant_name_outward": "c.c_sn = a.l_sn AND c.c_fn = a.l_fn AND c.pc_outward = a.pc_outward",
    "claimant_surname_house_outward": "c.c_sn = a.l_sn AND c.house_no = a.house_no AND c.pc_outward = a.pc_outward",
    "partner_name_outward": "c.p_sn = a.l_sn AND c.p_fn = a.l_fn AND c.pc_outward = a.pc_outward",
    "partner_surname_house_outward": "c.p_sn = a.l_sn AND c.house_no = a.house_no AND c.pc_outward = a.pc_outward",
}

# A claim with an exact candidate in the same postcode and house number, sharing a surname or a
# forename with its liable person, is settled: it gets no capped keys (most claims, on clean data).
SETTLED = ("c.c_sn = a.l_sn OR c.c_fn = a.l_fn OR c.p_sn = a.l_sn OR c.p_fn = a.l_fn")
MIN_SHARED_KEYS = 2  # capped key values (strong ones count twice) a claim and an account must share
RARE_KEY_PAIRS = 1  # a key value this rare in its district (claims x accounts) counts as strong
KEY_CAP = 40  # most claim x account pairs one capped key value may add in one district
# Street-type words name no street: no key is built from them.
STREET_TYPES = sorted(set(ABBREVIATIONS.values()) | {"flats", "village", "circuit", "the", "of", "and"})
# Capped keys: name -> (parts, strength). Parts are SQL over the record ``r``; ``{x}`` stands for each
# person of the record (claimant and partner; liable), ``w`` for each non-type street word, ``w2`` for
# each later word (so ``w, w2`` is each pair of words). A strong key (2) makes a pair a candidate alone.
CAPPED_KEYS: dict[str, tuple[tuple[str, ...], int]] = {
    "dob": (("{x}_dob",), 2),
    "surname_phonetic_forename": (("{x}_sp", "{x}_fn"), 1),
    "two_words": (("w", "w2"), 2),
    "surname_phonetic_sector": (("{x}_sp", "r.pc_sector"), 1),
    "surname_phonetic_word": (("{x}_sp", "w"), 1),
    "forename_word": (("{x}_fn", "w"), 1),
    "house_word": (("r.house_no", "w"), 1),
}


def _key_rows_sql(table: str, persons: tuple[str, ...], words_in: str = "") -> str:
    """SELECT of (lad_code, ref, flat, k) rows: the capped keys of every record of ``table``.

    ``words_in``: a relation of (lad_code, w); when given, only street words found there make keys
    (the accounts' words are cut down to those of the claims that need keys, which saves memory).

    Plain vectorised expressions (no lambdas): scalar keys straight from the prepared table, word keys
    from its street words unnested once, word pairs from a join of those on the record. The lowest bit
    of ``k`` says whether the key is strong.
    """
    types = ", ".join(f"'{t}'" for t in STREET_TYPES)
    person_cols = ", ".join(f"{x}_{f}" for x in persons for f in ("sp", "fn", "dob"))
    selects: list[str] = []
    for name, (parts, strength) in CAPPED_KEYS.items():
        uses_w, uses_w2 = "w" in parts, "w2" in parts
        source = "_kww" if uses_w2 else "_kw" if uses_w else table
        for x in persons if any("{x}" in p for p in parts) else ("",):
            cols = [p.replace("{x}", x).replace("r.", "") for p in parts]
            present = " AND ".join(f"{c} IS NOT NULL" for c in cols)
            selects.append(f"SELECT lad_code, ref, flat, (hash('{name}', {', '.join(cols)}) >> 1 << 1) "
                           f"| {strength - 1}::UBIGINT AS k FROM {source} WHERE {present}")
    only = f"SEMI JOIN {words_in} ON r.lad_code = {words_in}.lad_code AND r.w = {words_in}.w" if words_in else ""
    return f"""WITH _kw AS (
            SELECT * FROM (SELECT lad_code, ref, flat, house_no, {person_cols}, unnest(words) AS w FROM {table}) r
            {only} WHERE length(r.w) > 1 AND r.w NOT IN ({types})),
        _kww AS (SELECT x.lad_code, x.ref, x.flat, x.w, y.w AS w2 FROM _kw x
                 JOIN _kw y ON x.lad_code = y.lad_code AND x.ref = y.ref AND x.w < y.w)
        {" UNION ALL ".join(selects)}"""


def capped_candidates_sql() -> str:
    """SELECT of (lad_code, claim_ref, account_ref) pairs sharing capped key values that are not common.

    A key value counts only where (claims with it) x (accounts with it) <= KEY_CAP in its district,
    and a pair needs MIN_SHARED_KEYS of them (a strong key counts twice).
    """
    return f"""
        WITH settled AS (
            SELECT DISTINCT c.lad_code, c.ref FROM _lk_claims c JOIN _lk_accounts a
              ON c.lad_code = a.lad_code AND c.postcode = a.postcode AND c.house_no = a.house_no
            WHERE ({SETTLED}) AND NOT coalesce({FLAT_CONFLICT}, FALSE)),
             open_claims AS (SELECT * FROM _lk_claims r
                             ANTI JOIN settled ON r.lad_code = settled.lad_code AND r.ref = settled.ref),
             open_words AS (SELECT DISTINCT lad_code, unnest(words) AS w FROM open_claims),
             kc AS (SELECT DISTINCT * FROM ({_key_rows_sql("open_claims", ("c", "p"))})),
             nc AS (SELECT lad_code, k, count(*) AS n FROM kc GROUP BY ALL),
             ka AS (SELECT * FROM ({_key_rows_sql("_lk_accounts", ("l",), "open_words")}) r
                    SEMI JOIN nc ON r.lad_code = nc.lad_code AND r.k = nc.k),
             na AS (SELECT lad_code, k, count(*) AS n FROM ka GROUP BY ALL),
             ok AS (SELECT nc.lad_code, nc.k, nc.n * na.n AS pairs FROM nc
                    JOIN na ON nc.lad_code = na.lad_code AND nc.k = na.k WHERE nc.n * na.n <= {KEY_CAP})
        SELECT kc.lad_code, kc.ref AS claim_ref, ka.ref AS account_ref
        FROM kc JOIN ok ON kc.lad_code = ok.lad_code AND kc.k = ok.k
                JOIN ka ON ka.lad_code = ok.lad_code AND ka.k = ok.k
        WHERE NOT coalesce(kc.flat IS NOT NULL AND ka.flat IS NOT NULL AND kc.flat <> ka.flat, FALSE)
        GROUP BY ALL
        HAVING sum(CASE WHEN kc.k & 1 = 1 OR ok.pairs <= {RARE_KEY_PAIRS} THEN 2 ELSE 1 END) >= {MIN_SHARED_KEYS}"""


_DOB_PART_AGREES = ("(year(x.person_dob) = year(y.person_dob)"
                    " OR (month(x.person_dob) = month(y.person_dob) AND day(x.person_dob) = day(y.person_dob)))")
PERSON_RULES: dict[str, str] = {
    "nino_key": "x.person_key = y.person_key",
    "dob_surname": "x.person_dob = y.person_dob AND x.person_sn = y.person_sn",
    "dob_surname_sound": "x.person_dob = y.person_dob AND x.person_sp = y.person_sp",
    "dob_forename": "x.person_dob = y.person_dob AND x.person_fn = y.person_fn",
    "dob_nickname": "x.person_dob = y.person_dob AND x.person_nick = y.person_nick",
    "forename_surname": ("x.person_fn = y.person_fn AND x.person_sn = y.person_sn"
                         f" AND coalesce({_DOB_PART_AGREES}, TRUE)"),
}
"""Cross-district person blocking, each rule an equality join. The same forename and surname alone would pair
everyone of a common name with everyone else of it in every other district, which grows with the square of
the county (399,293 pairs of Kent's 161,063 person records, 24.7 million at eight times Kent), so that rule
also needs the birth date's year or its month and day to agree (one wrong part of a birth date is still
found; a record without a birth date still pairs on its names). A birth date with a forename or surname is
split into one rule per name part, so that each joins on equal values instead of testing every pair of
records born on the same day (which also grows with the square of the county)."""
PERSON_RULE_SOURCES = {"dob_nickname": "(SELECT pid, lad_code, person_dob, unnest(person_fc) AS person_nick"
                                       " FROM _lk_persons)"}
"""Rules that join another relation than ``_lk_persons`` (aliases x and y, with its ``pid`` and ``lad_code``):
one row per nickname of a forename (a shared nickname is ``list_has_any`` of the two lists, as an equality)."""


def within_candidates_sql(rules: dict[str, str] | None = None, where: str = "TRUE", capped: bool = True) -> str:
    """SELECT of distinct (lad_code, claim_ref, account_ref) candidate pairs inside each district.

    The exact ``rules`` (default :data:`WITHIN_RULES`), and unless ``capped`` is False the capped keys.
    """
    rules = rules or WITHIN_RULES
    selects = [
        f"""SELECT c.lad_code, c.ref AS claim_ref, a.ref AS account_ref
            FROM _lk_claims c JOIN _lk_accounts a ON c.lad_code = a.lad_code AND ({cond})
            WHERE ({where}) AND NOT coalesce({FLAT_CONFLICT}, FALSE)"""
        for cond in rules.values()
    ]
    if capped:
        selects.append(f"SELECT * FROM ({capped_candidates_sql()})")
    return "\nUNION\n".join(selects)


def person_candidates_sql(rules: dict[str, str] | None = None) -> str:
    """SELECT of distinct person-record pairs in different districts (x.pid < y.pid)."""
    rules = rules or PERSON_RULES
    selects = [
        f"""SELECT x.pid AS pid_x, y.pid AS pid_y FROM {(source := PERSON_RULE_SOURCES.get(name, "_lk_persons"))} x
            JOIN {source} y ON x.lad_code < y.lad_code AND ({cond})"""
        for name, cond in rules.items()
    ]
    return "\nUNION\n".join(selects)
