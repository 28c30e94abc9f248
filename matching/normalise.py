"""Normalise both sides of the within-district linkage into prepared tables (SQL only).

``_lk_claims`` (from ``benefits``) and ``_lk_accounts`` (from ``council_tax``) hold, per
record: district, reference, UPRN, postcode and its parts, the address split into flat,
house number(s) and street words, and for each person (claimant ``c``, partner ``p``,
liable ``l``) the parts of the name encoding (keyed hashes as UBIGINTs, Bloom filters as four
UBIGINTs each) and the date of birth. Personal data: only the pseudonymised encodings flow
through here; no raw name or NINO exists in the hub's tables.
"""

from __future__ import annotations

ABBREVIATIONS: dict[str, str] = {
    "st": "street", "rd": "road", "ave": "avenue", "av": "avenue", "ln": "lane", "cl": "close",
    "dr": "drive", "ct": "court", "crt": "court", "gdns": "gardens", "gdn": "gardens", "cres": "crescent",
    "pl": "place", "sq": "square", "tce": "terrace", "ter": "terrace", "terr": "terrace", "hse": "house", "ho": "house",
    "pk": "park", "gr": "grove", "gro": "grove", "wy": "way", "mws": "mews", "hl": "hill", "cotts": "cottages",
    "bldgs": "buildings", "blvd": "boulevard", "est": "estate", "grn": "green", "rise": "rise",
}
FLAT_WORDS = "flat|apartment|apt|unit|room|maisonette|suite|flt"
BLOOM_WORDS = 4  # a 256-bit Bloom filter as four 64-bit words

PERSONS = {"claims": ("c", "p"), "accounts": ("l",)}
PERSON_COLUMNS = {"c": "claimant", "p": "partner", "l": "liable"}


def _map_literal(mapping: dict[str, str]) -> str:
    return "MAP {" + ", ".join(f"'{k}': '{v}'" for k, v in sorted(mapping.items())) + "}"


def person_columns_sql(full: str, short: str, alias: str = "r") -> list[str]:
    """SELECT-list items splitting person ``full``'s name encoding into ``{short}_*`` columns.

    The encoding is split once (``string_split``) into a list whose parts are then cast; the
    row must come from a relation where ``_{short}_parts`` is that list (see :func:`name_parts_sql`).
    """
    parts = f"{alias}._{short}_parts"

    def part(k: int) -> str:
        return f"nullif({parts}[{k}], '')"

    def word(k: int) -> str:
        return f"('0x' || {part(k)})::UBIGINT"

    cols = [
        f"{word(2)} AS {short}_fn",
        f"list_transform(string_split({part(3)}, ','), lambda h: ('0x' || h)::UBIGINT) AS {short}_fc",
        f"{word(4)} AS {short}_sn",
        f"{word(5)} AS {short}_sp",
        f"{alias}.{full}_key AS {short}_key",
        f"{alias}.{full}_birth_date AS {short}_dob",
        f"{alias}.{full}_name IS NOT NULL AS {short}_present",
    ]
    for field, k in (("fb", 6), ("sb", 7)):
        words = [f"('0x' || substr({part(k)}, {16 * i + 1}, 16))::UBIGINT" for i in range(BLOOM_WORDS)]
        cols += [f"{w} AS {short}_{field}{i}" for i, w in enumerate(words)]
        # bit_count gives INT8 (at most 64): sum as INTEGER, or a name with over 127 bits set overflows
        count = " + ".join(f"bit_count({short}_{field}{i})::INTEGER" for i in range(BLOOM_WORDS))
        cols.append(f"({count}) AS {short}_{field}c")
    return cols


def name_parts_sql(full: str, short: str, alias: str = "r") -> str:
    """SELECT-list item ``_{short}_parts``: person ``full``'s name encoding split on ``|`` (once)."""
    return f"string_split({alias}.{full}_name, '|') AS _{short}_parts"


PERSON_OUT = ["fn", "fc", "sn", "sp", "key", "dob"] + [
    f"{field}{i}" for field in ("fb", "sb") for i in [*range(BLOOM_WORDS), "c"]]


def persons_sql(where: str = "TRUE") -> str:
    """SQL creating ``_lk_persons``: one row per claimant or partner of a claim (columns ``person_*``), ``pid`` 1..n.

    Built from the prepared ``_lk_claims`` (names already split and cast), not from ``benefits`` again.
    """
    selects = [
        f"""SELECT c.lad_code, c.ref AS claim_ref, '{role}' AS role,
                   {", ".join(f"c.{short}_{col} AS person_{col}" for col in PERSON_OUT)}
            FROM _lk_claims c WHERE ({where}) AND (c.{short}_fn IS NOT NULL OR c.{short}_key IS NOT NULL
                                                   OR c.{short}_present)"""
        for role, short in (("claimant", "c"), ("partner", "p"))
    ]
    return f"""CREATE OR REPLACE TEMP TABLE _lk_persons AS
        SELECT row_number() OVER (ORDER BY lad_code, claim_ref, role) AS pid, *
        FROM ({" UNION ALL ".join(selects)})"""


def _clean(text: str) -> str:
    """SQL normalising address text: lower case, '4/12' -> 'flat 4 12', punctuation to spaces, '12 a' -> '12a'.

    The '/' rewrite only runs where there is a '/' (the regex would leave the text unchanged otherwise).
    """
    low = f"lower({text})"
    slash = (f"CASE WHEN contains({low}, '/') THEN regexp_replace({low}, "
             f"'\\b([0-9]+[a-z]?)/([0-9]+[a-z]?)\\b', 'flat \\1 \\2', 'g') ELSE {low} END")
    return (f"regexp_replace(regexp_replace({slash}, '[^a-z0-9]+', ' ', 'g'), "
            f"'\\b([0-9]+) ([a-z])\\b', '\\1\\2', 'g')")


def _has_flat_word(text: str) -> str:
    """SQL: whether the text contains any flat word (a cheap superset of where the flat regex can match)."""
    return "(" + " OR ".join(f"contains({text}, '{w}')" for w in FLAT_WORDS.split("|")) + ")"


def _is_number(token: str) -> str:
    """SQL: whether a token of ``[a-z0-9]`` is a house number, i.e. fully matches ``[0-9]+[a-z]?``."""
    return f"regexp_full_match({token}, '[0-9]+[a-z]?')"


def prepare_side_sql(side: str, source: str, ref: str, where: str = "TRUE") -> str:
    """SQL creating the prepared table ``_lk_<side>`` from ``source`` (benefits or council_tax).

    One set-based pass over all districts. Regexes only where they can change something: the flat
    regex runs only on addresses containing a flat word, and numbers and street words come from
    splitting the cleaned text into tokens (a token is a number when it is digits and at most one
    letter), which is what the earlier word-boundary regexes matched. Line 1 alone is cleaned
    again only where there is a line 2.
    """
    flat_re = rf"\b(?:{FLAT_WORDS})\s*([0-9]+[a-z]?|[a-z])\b"
    abbrev = _map_literal(ABBREVIATIONS)
    shorts = PERSONS[side]
    person_cols = [c for short in shorts for c in person_columns_sql(PERSON_COLUMNS[short], short)]
    parts = ", ".join(name_parts_sql(PERSON_COLUMNS[short], short) for short in shorts)

    def unflat(text: str) -> str:
        return f"CASE WHEN {_has_flat_word(text)} THEN regexp_replace({text}, '{flat_re}', ' ', 'g') ELSE {text} END"

    def tokens(text: str) -> str:
        return f"list_filter(string_split({text}, ' '), lambda t: t <> '')"

    def words(toks: str) -> str:
        return (f"list_transform(list_filter({toks}, lambda t: NOT {_is_number('t')}), "
                f"lambda t: coalesce({abbrev}[t], t))")

    return f"""
CREATE OR REPLACE TEMP TABLE _lk_{side} AS
WITH a AS (
    SELECT r.*, {_clean("concat_ws(' ', r.address_line_1, r.address_line_2)")} AS _addr,
           CASE WHEN r.address_line_2 IS NOT NULL THEN {_clean("r.address_line_1")} END AS _addr1,
           {parts}
    FROM {source} r WHERE {where}
), b AS (
    SELECT a.*, CASE WHEN {_has_flat_word("_addr")} THEN nullif(regexp_extract(_addr, '{flat_re}', 1), '') END
                  AS _flat,
           {tokens(unflat("_addr"))} AS _toks,
           CASE WHEN _addr1 IS NOT NULL THEN {tokens(unflat("_addr1"))} END AS _toks1
    FROM a
), c AS (
    SELECT b.*, list_filter(_toks, lambda t: {_is_number('t')}) AS _numbers,
           list_sort(list_distinct({words("_toks")})) AS _words,
           {words("coalesce(_toks1, _toks)")} AS _words1
    FROM b
)
SELECT r.lad_code, r.{ref} AS ref, r.uprn, r.postcode,
       split_part(r.postcode, ' ', 1) AS pc_outward,
       split_part(r.postcode, ' ', 1) || ' ' || left(split_part(r.postcode, ' ', 2), 1) AS pc_sector,
       r._flat AS flat, nullif(r._numbers[1], '') AS house_no, r._numbers AS numbers,
       nullif(array_to_string(r._words, ' '), '') AS street, r._words AS words,
       nullif(array_to_string(r._words1, ' '), '') AS line1,
       {", ".join(person_cols)}
FROM c r
"""


def prepare_sql(where: str = "TRUE") -> list[str]:
    """Statements that (re)build ``_lk_claims`` and ``_lk_accounts``; ``where`` filters both sources."""
    return [
        prepare_side_sql("claims", "benefits", "claim_ref", where),
        prepare_side_sql("accounts", "council_tax", "account_ref", where),
    ]
