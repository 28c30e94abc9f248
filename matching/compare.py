"""Comparison vectors of candidate pairs, as DuckDB SQL (pure functions returning SQL text).

Each comparison maps a pair to an integer level: -1 means "no information" (a value missing
on either side; weight 0), 0 disagreement, higher levels closer agreement. Names are
compared through their encodings only: keyed-hash equality (exact, canonical forename,
surname and its Metaphone) and Dice similarity of the Bloom filters, ``bit_count`` over the
four 64-bit words. Claimant OR partner is compared with the liable person; the better
person counts. Aliases: ``c`` claim (``_lk_claims``), ``a`` account (``_lk_accounts``).
"""

from __future__ import annotations

from dataclasses import dataclass

from matching.normalise import BLOOM_WORDS


@dataclass(frozen=True)
class Comparison:
    """One comparison: its column name, level labels (level -> meaning) and CASE SQL."""

    name: str
    levels: dict[int, str]
    sql: str


def dice_sql(x: str, y: str, field: str) -> str:
    """Dice similarity of Bloom filter ``field`` (fb forename, sb surname) of persons x and y."""
    # each bit_count is INT8: summed as INTEGER, since two long names can share over 127 bits
    inter = " + ".join(f"bit_count({x}_{field}{i} & {y}_{field}{i})::INTEGER" for i in range(BLOOM_WORDS))
    return f"(2.0 * ({inter}) / nullif({x}_{field}c + {y}_{field}c, 0))"


def person_name_level_sql(x: str, y: str) -> str:
    """Name agreement level of persons x and y (qualified prefixes such as ``c.c`` and ``a.l``).

    Levels: 5 same forename and surname; 4 same surname and a nickname forename; 3 same surname
    and a similar forename (Dice >= 0.55), or same/nickname forename and same surname Metaphone or
    similar surname (Dice >= 0.6); 2 same surname or Metaphone or surname Dice >= 0.75; 1 same or
    nickname forename; 0 otherwise; -1 a name missing. Half a name (one part missing on either
    side) is compared on the part both have, the missing part carrying no evidence: the surname
    alone gives 2 (agrees) or 0, the forename alone 1 or 0; no part in common gives -1. Written as
    nested CASEs so that the costly nickname test (``list_has_any``) runs at most once for most pairs.
    """
    fn_eq, sn_eq, sp_eq = f"{x}_fn = {y}_fn", f"{x}_sn = {y}_sn", f"{x}_sp = {y}_sp"
    nick = f"list_has_any({x}_fc, {y}_fc)"
    fd, sd = dice_sql(x, y, "fb"), dice_sql(x, y, "sb")
    both_sn = f"{x}_sn IS NOT NULL AND {y}_sn IS NOT NULL"
    both_fn = f"{x}_fn IS NOT NULL AND {y}_fn IS NOT NULL"
    return f"""CASE
        WHEN NOT ({both_fn}) OR NOT ({both_sn}) THEN CASE
            WHEN {both_sn} THEN CASE WHEN {sn_eq} OR {sp_eq} OR {sd} >= 0.75 THEN 2 ELSE 0 END
            WHEN {both_fn} THEN CASE WHEN {fn_eq} OR {nick} THEN 1 ELSE 0 END
            ELSE -1 END
        WHEN {fn_eq} AND {sn_eq} THEN 5
        WHEN {fn_eq} OR {nick} THEN CASE
            WHEN {sn_eq} AND {nick} THEN 4
            WHEN ({sn_eq} AND {fd} >= 0.55) OR {sp_eq} OR {sd} >= 0.6 THEN 3
            WHEN {sn_eq} OR {sd} >= 0.75 THEN 2
            ELSE 1 END
        WHEN {sn_eq} AND {fd} >= 0.55 THEN 3
        WHEN {sn_eq} OR {sp_eq} OR {sd} >= 0.75 THEN 2
        ELSE 0 END"""


def dob_level_sql(x: str, y: str) -> str:
    """Date-of-birth level: 2 same, 1 one part differs or day/month swapped, 0 differs, -1 missing."""
    a, b = f"{x}_dob", f"{y}_dob"
    return f"""CASE
        WHEN {a} IS NULL OR {b} IS NULL THEN -1
        WHEN {a} = {b} THEN 2
        WHEN (year({a}) = year({b})) :: INT + (month({a}) = month({b})) :: INT + (day({a}) = day({b})) :: INT = 2
          OR (year({a}) = year({b}) AND month({a}) = day({b}) AND day({a}) = month({b})) THEN 1
        ELSE 0 END"""


def _best_of(levels: list[str]) -> str:
    return levels[0] if len(levels) == 1 else f"greatest({', '.join(levels)})"


def within_comparisons() -> list[Comparison]:
    """The comparisons of a benefit claim (c) with a council-tax account (a)."""
    return [
        Comparison("uprn_level", {1: "same UPRN", 0: "different UPRN"},
                   "CASE WHEN c.uprn IS NULL OR a.uprn IS NULL THEN -1 WHEN c.uprn = a.uprn THEN 1 ELSE 0 END"),
        Comparison("postcode_level", {3: "same postcode", 2: "same sector, or one character or swap apart",
                                      1: "same outward code", 0: "different"},
                   """CASE WHEN c.postcode IS NULL OR a.postcode IS NULL THEN -1
                       WHEN c.postcode = a.postcode THEN 3
                       WHEN c.pc_sector = a.pc_sector OR damerau_levenshtein(c.postcode, a.postcode) <= 1 THEN 2
                       WHEN c.pc_outward = a.pc_outward THEN 1 ELSE 0 END"""),
        Comparison("house_number_level", {2: "same first number", 1: "a number in common", 0: "different"},
                   """CASE WHEN c.house_no IS NULL OR a.house_no IS NULL THEN -1
                       WHEN c.house_no = a.house_no THEN 2
                       WHEN list_has_any(c.numbers, a.numbers) THEN 1 ELSE 0 END"""),
        Comparison("flat_level", {2: "same flat", 1: "neither is a flat", 0: "only one is a flat"},
                   """CASE WHEN c.flat = a.flat THEN 2 WHEN c.flat IS NULL AND a.flat IS NULL THEN 1
                       ELSE 0 END"""),
        Comparison("street_level", {3: "same address words", 2: "one side's words all in the other's",
                                    1: "half the words in common or Jaro-Winkler >= 0.9", 0: "different"},
                   """CASE WHEN c.street IS NULL OR a.street IS NULL THEN -1
                       WHEN c.street = a.street THEN 3
                       WHEN list_has_all(c.words, a.words) OR list_has_all(a.words, c.words) THEN 2
                       WHEN len(list_intersect(c.words, a.words)) * 2 >= least(len(c.words), len(a.words))
                         OR jaro_winkler_similarity(c.street, a.street) >= 0.9 THEN 1
                       ELSE 0 END"""),
        Comparison("name_level", {5: "same forename and surname", 4: "same surname, nickname forename",
                                  3: "same surname and similar forename, or same forename and similar surname",
                                  2: "same or similar surname only", 1: "same forename only", 0: "different"},
                   _best_of([person_name_level_sql("c.c", "a.l"), person_name_level_sql("c.p", "a.l")])),
        Comparison("dob_level", {2: "same date of birth", 1: "one part differs or day/month swapped",
                                 0: "different"},
                   _best_of([dob_level_sql("c.c", "a.l"), dob_level_sql("c.p", "a.l")])),
    ]


ADDRESS_LEVEL = Comparison(
    "address_level",
    {6: "same address: postcode, number, flat and street words", 5: "same number and flat, postcode sector or "
     "street words near", 4: "same number, flat and near street, another postcode; or same postcode and street, "
     "no number", 3: "same building, but a flat on one side only", 2: "same postcode sector, another dwelling",
     1: "another sector, street words near", 0: "different"},
    """CASE
        WHEN v.postcode_level = 3 AND v.house_number_level = 2 AND v.flat_level >= 1 AND v.street_level >= 2 THEN 6
        WHEN v.postcode_level >= 2 AND v.house_number_level >= 1 AND v.flat_level >= 1 AND v.street_level >= 1 THEN 5
        WHEN (v.house_number_level = 2 AND v.flat_level >= 1 AND v.street_level >= 1)
          OR (v.postcode_level = 3 AND v.house_number_level = -1 AND v.flat_level >= 1 AND v.street_level >= 2) THEN 4
        WHEN v.postcode_level >= 2 AND v.house_number_level >= 1 AND v.flat_level = 0 THEN 3
        WHEN v.postcode_level >= 2 THEN 2
        WHEN v.street_level >= 1 THEN 1
        ELSE 0 END""",
)
MODEL_COMPARISONS = ["uprn_level", "address_level", "name_level", "dob_level"]

FLAT_CONFLICT = "c.flat IS NOT NULL AND a.flat IS NOT NULL AND c.flat <> a.flat"
