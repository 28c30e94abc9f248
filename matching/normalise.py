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
    """SELECT-list items splitting person ``full``'s name encoding into ``{short}_*`` columns."""
    name = f"{alias}.{full}_name"

    def part(k: int) -> str:
        return f"nullif(split_part({name}, '|', {k}), '')"

    def word(k: int) -> str:
        return f"('0x' || {part(k)})::UBIGINT"

    cols = [
        f"{word(2)} AS {short}_fn",
        f"list_transform(string_split({part(3)}, ','), lambda h: ('0x' || h)::UBIGINT) AS {short}_fc",
        f"{word(4)} AS {short}_sn",
        f"{word(5)} AS {short}_sp",
        f"{alias}.{full}_key AS {short}_key",
        f"{alias}.{full}_birth_date AS {short}_dob",
    ]
    for field, k in (("fb", 6), ("sb", 7)):
        words = [f"('0x' || substr({part(k)}, {16 * i + 1}, 16))::UBIGINT" for i in range(BLOOM_WORDS)]
        cols += [f"{w} AS {short}_{field}{i}" for i, w in enumerate(words)]
        count = " + ".join(f"bit_count({w})" for w in words)
        cols.append(f"({count})::INTEGER AS {short}_{field}c")
    return cols


def persons_sql(where: str = "TRUE") -> str:
    """SQL creating ``_lk_persons``: one row per claimant or partner of a claim (columns ``p_*``), ``pid`` 1..n."""
    selects = [
        f"""SELECT r.lad_code, r.claim_ref, '{role}' AS role, {", ".join(person_columns_sql(role, "p"))}
            FROM benefits r WHERE ({where}) AND (r.{role}_name IS NOT NULL OR r.{role}_key IS NOT NULL)"""
        for role in ("claimant", "partner")
    ]
    return f"""CREATE OR REPLACE TEMP TABLE _lk_persons AS
        SELECT row_number() OVER (ORDER BY lad_code, claim_ref, role) AS pid, *
        FROM ({" UNION ALL ".join(selects)})"""


def _clean(text: str) -> str:
    """SQL normalising address text: lower case, '4/12' -> 'flat 4 12', punctuation to spaces, '12 a' -> '12a'."""
    return (f"regexp_replace(regexp_replace(regexp_replace(lower({text}), "
            f"'\\b([0-9]+[a-z]?)/([0-9]+[a-z]?)\\b', 'flat \\1 \\2', 'g'), "
            f"'[^a-z0-9]+', ' ', 'g'), '\\b([0-9]+) ([a-z])\\b', '\\1\\2', 'g')")


def prepare_side_sql(side: str, source: str, ref: str, where: str = "TRUE") -> str:
    """SQL creating the prepared table ``_lk_<side>`` from ``source`` (benefits or council_tax)."""
    flat_re = rf"\b(?:{FLAT_WORDS})\s*([0-9]+[a-z]?|[a-z])\b"
    number_re = r"\b[0-9]+[a-z]?\b"
    abbrev = _map_literal(ABBREVIATIONS)
    person_cols = [c for short in PERSONS[side] for c in person_columns_sql(PERSON_COLUMNS[short], short)]
    return f"""
CREATE OR REPLACE TEMP TABLE _lk_{side} AS
WITH a AS (
    SELECT r.*, {_clean("concat_ws(' ', r.address_line_1, r.address_line_2)")} AS _addr,
           {_clean("r.address_line_1")} AS _addr1
    FROM {source} r WHERE {where}
), b AS (
    SELECT a.*, nullif(regexp_extract(_addr, '{flat_re}', 1), '') AS _flat,
           trim(regexp_replace(_addr, '{flat_re}', ' ', 'g')) AS _rest,
           trim(regexp_replace(_addr1, '{flat_re}', ' ', 'g')) AS _rest1
    FROM a
), c AS (
    SELECT b.*, regexp_extract_all(_rest, '{number_re}') AS _numbers,
           list_sort(list_distinct(list_filter(list_transform(
               string_split(trim(regexp_replace(_rest, '{number_re}', ' ', 'g')), ' '),
               lambda t: coalesce({abbrev}[t], t)), lambda t: t <> ''))) AS _words,
           list_filter(list_transform(string_split(trim(regexp_replace(_rest1, '{number_re}', ' ', 'g')), ' '),
               lambda t: coalesce({abbrev}[t], t)), lambda t: t <> '') AS _words1
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
