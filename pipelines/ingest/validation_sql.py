"""DuckDB SQL derived from the input models' column specs: the vectorised twin of pydantic.

Pure functions: each takes :class:`schemas.columns.ColumnSpec` records and returns SQL text.
The rules are the models' (see :mod:`schemas.columns`); ``tests/pipelines/ingest/test_validate.py`` checks that
this SQL and per-row pydantic agree, row for row, on valid and invalid inputs. Reasons never
quote a value, so that quarantine holds no personal data.
"""

from __future__ import annotations

import datetime as dt

from schemas.columns import (
    AGES_PATTERN,
    FALSE_WORDS,
    INT_PATTERN,
    INVISIBLE_RE2_CLASS,
    ISO_DATE_PATTERN,
    MONEY_COMMA_PATTERN,
    MONEY_EXPORT_PATTERN,
    NORMALISED_DATE,
    NORMALISED_MONEY,
    PATTERN_REASONS,
    POSTCODE_PATTERN,
    PYDANTIC_WHITESPACE,
    REASON_AGE_ABOVE,
    REASON_AGES,
    REASON_BOOLEAN,
    REASON_DATE,
    REASON_INT,
    REASON_MONEY,
    REASON_MONEY_COMMA,
    REASON_POSTCODE,
    REASON_SHORT_DATE,
    REASON_TWO_DIGIT_YEAR,
    REASON_US_DATE,
    SHORT_ISO_DATE_PATTERN,
    TRUE_WORDS,
    TWO_DIGIT_YEAR_PATTERN,
    UK_DATE_PATTERN,
    WHITESPACE,
    WHITESPACE_RE2_CLASS,
    ColumnSpec,
    reason_date_before,
    reason_money_above,
)
from schemas.sql import quote_ident, quote_str


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)


def _gap_around_ascii(chars: str) -> tuple[int, int]:
    """The widest range of code points around printable ASCII that holds none of ``chars``."""
    points = sorted({ord(c) for c in chars})
    low = max((p for p in points if p <= ord("!")), default=-1) + 1
    high = min((p for p in points if p >= low), default=0x110000) - 1
    return low, high


def strip_sql(expr: str, chars: str) -> str:
    """``expr`` with leading and trailing ``chars`` removed.

    TRIM with a set of characters costs about 1 us a value (it reads the set each time). A
    value whose first and last code points (``ord`` of it and of ``value[-1]``, both by code
    point) lie in the gap that holds none of ``chars`` (printable ASCII and a little beyond) is
    kept as it is, at a third of the cost of two anchored regexes; only the rest are trimmed.
    The empty value is kept as it is too.
    """
    low, high = _gap_around_ascii(chars)
    edges = f"ord({expr}) NOT BETWEEN {low} AND {high} OR ord({expr}[-1]) NOT BETWEEN {low} AND {high}"
    return (f"CASE WHEN strlen({expr}) = 0 THEN {expr} WHEN {edges} THEN TRIM({expr}, {quote_str(chars)}) "
            f"ELSE {expr} END")


def _trimmed(name: str) -> str:
    return f"NULLIF({strip_sql(quote_ident(name), WHITESPACE)}, '')"


def text_of(spec: ColumnSpec) -> str:
    """The column's text trimmed as Python's str.strip() does, NULL when empty (missing): a helper column."""
    return quote_ident(f"{spec.name}__t")


def stripped_text_of(spec: ColumnSpec) -> str:
    """A text column's value as pydantic keeps it (str_strip_whitespace), NULL when missing.

    pydantic strips fewer characters than the helper ``<col>__t`` does, so a value the helper
    left as it was (same length) is kept as it is, without a second look at its edges.
    """
    raw = quote_ident(spec.name)
    kept = strip_sql(raw, PYDANTIC_WHITESPACE)
    return (f"CASE WHEN {text_of(spec)} IS NULL THEN NULL WHEN strlen({text_of(spec)}) = strlen({raw}) THEN {raw} "
            f"ELSE {kept} END")


def helper_columns(spec: ColumnSpec) -> tuple[tuple[str, str], list[tuple[str, str]]]:
    """(name, expression) of the columns computed once per row that the checks of this column read.

    First ``<col>__t``, the trimmed text; then the columns derived from it: a money column adds
    ``<col>__money`` (plain decimal text of an accepted amount, else NULL); a date column adds
    ``<col>__date`` (the date, else NULL) and ``<col>__us_date`` (the date a D/M/YYYY value
    would be if it were month-first); a postcode adds ``<col>__postcode`` (its normalised form).
    The derived ones read ``<col>__t``, so it is computed once.
    """
    t = text_of(spec)
    derived = []
    if spec.kind == "postcode":
        derived.append((f"{spec.name}__postcode", normalised_postcode_sql(t)))
    if spec.kind == "money":
        accepted = _match(t, MONEY_EXPORT_PATTERN)
        derived.append((f"{spec.name}__money", f"CASE WHEN {accepted} THEN {money_text_sql(t)} END"))
    if spec.kind == "date":
        iso, us = date_text_sql(t), _dmy_iso(t, 2, 1)
        derived.append((f"{spec.name}__date", f"CASE WHEN {_is_date_sql(iso)} THEN CAST({iso} AS DATE) END"))
        derived.append((f"{spec.name}__us_date",
                        f"CASE WHEN {_day_first_sql(t)} AND {_is_date_sql(us)} THEN CAST({us} AS DATE) END"))
    return (f"{spec.name}__t", _trimmed(spec.name)), derived


def with_helpers_sql(specs: list[ColumnSpec], source: str) -> str:
    """A subquery of ``source``'s rows with every helper column of ``specs`` added (two levels).

    A column that drops invisible characters (a reference) has them removed first, in place, so that
    every check, the uniqueness test and the typed value all see the cleaned text.
    """
    pairs = [helper_columns(s) for s in specs]
    texts = ", ".join(f"{expr} AS {quote_ident(name)}" for (name, expr), _ in pairs)
    derived = ", ".join(f"{expr} AS {quote_ident(name)}" for _, more in pairs for name, expr in more)
    cleaned = [f"{_without_invisible(quote_ident(s.name))} AS {quote_ident(s.name)}"
               for s in specs if s.drops_invisible]
    if cleaned:
        source = f"(SELECT * REPLACE ({', '.join(cleaned)}) FROM {source})"
    inner = f"(SELECT *, {texts} FROM {source})"
    return f"(SELECT *, {derived} FROM {inner})" if derived else inner


def _without_invisible(expr: str) -> str:
    """SQL: ``expr`` with the invisible characters removed. Every one of them is outside ASCII, so the regex
    runs only on text with a character of more than one byte (byte length above character length)."""
    return (f"CASE WHEN strlen({expr}) = length({expr}) THEN {expr} "
            f"ELSE regexp_replace({expr}, {quote_str(INVISIBLE_RE2_CLASS)}, '', 'g') END")


def _match(expr: str, pattern: str) -> str:
    return f"regexp_full_match({expr}, {quote_str(pattern)})"


def normalised_postcode_sql(expr: str) -> str:
    """Upper case, no whitespace, then one space before the last three characters."""
    compact = f"UPPER(REGEXP_REPLACE({expr}, {quote_str(WHITESPACE_RE2_CLASS + '+')}, '', 'g'))"
    spaced = f"LEFT({compact}, LENGTH({compact}) - 3) || ' ' || RIGHT({compact}, 3)"
    return f"CASE WHEN LENGTH({compact}) > 3 THEN {spaced} ELSE {compact} END"


def money_text_sql(t: str) -> str:
    """Plain decimal text of an accepted amount (pound sign and thousands separators dropped)."""
    return f"REPLACE(REPLACE({t}, '£', ''), ',', '')"


def _dmy_iso(t: str, day: int, month: int) -> str:
    return (f"split_part({t}, '/', 3) || '-' || lpad(split_part({t}, '/', {month}), 2, '0') || '-' || "
            f"lpad(split_part({t}, '/', {day}), 2, '0')")


def _day_first_sql(t: str) -> str:
    """TRUE for a UK day-first D/M/YYYY value; the '/' test first spares the regex for ISO dates."""
    return f"(contains({t}, '/') AND {_match(t, UK_DATE_PATTERN)})"


def date_text_sql(t: str) -> str:
    """ISO text of a date as written: UK day-first D/M/YYYY turned round, anything else as is."""
    return f"CASE WHEN {_day_first_sql(t)} THEN {_dmy_iso(t, 1, 2)} ELSE {t} END"


def _is_date_sql(iso: str) -> str:
    return f"({_match(iso, ISO_DATE_PATTERN)} AND LEFT({iso}, 4) <> '0000' AND TRY_CAST({iso} AS DATE) IS NOT NULL)"


def _range_checks(spec: ColumnSpec, value: str) -> list[tuple[str, str]]:
    checks = []
    if spec.ge is not None:
        reason = "must not be negative" if spec.ge == 0 else f"must be at least {_num(spec.ge)}"
        checks.append((f"{value} < {_num(spec.ge)}", reason))
    if spec.le is not None:
        checks.append((f"{value} > {_num(spec.le)}", f"must be at most {_num(spec.le)}"))
    return checks


def value_checks(spec: ColumnSpec, as_of: dt.date) -> list[tuple[str, str]]:
    """(condition that is TRUE for a bad present value, reason), first failing wins."""
    t = text_of(spec)
    if spec.pattern:
        return [(f"NOT {_match(stripped_text_of(spec), spec.pattern[1:-1])}",
                 PATTERN_REASONS.get(spec.pattern, "not in the format made by 'povertylink pseudonymise'"))]
    if spec.kind == "integer":
        # DOUBLE, not HUGEINT: a 40-digit number is out of range, not silently NULL
        return [(f"NOT {_match(t, INT_PATTERN)}", REASON_INT), *_range_checks(spec, f"TRY_CAST({t} AS DOUBLE)")]
    if spec.kind == "money":
        m = quote_ident(f"{spec.name}__money")
        digits = f"LTRIM(SPLIT_PART(LTRIM({m}, '-'), '.', 1), '0')"
        amount = f"TRY_CAST({m} AS DECIMAL(38,2))"
        checks = [(f"{m} IS NULL AND {_match(t, MONEY_COMMA_PATTERN)}", REASON_MONEY_COMMA),
                  (f"{m} IS NULL", REASON_MONEY)]
        if spec.ge is not None:
            checks.append((f"{amount} < {_num(spec.ge)}", "must not be negative" if spec.ge == 0 else
                           f"must be at least {_num(spec.ge)}"))
        if spec.le is not None:  # more than 16 digits is above any bound (and beyond DECIMAL(38,2) past 36)
            checks.append((f"(strlen({m}) > 16 AND LENGTH({digits}) > 16) OR {amount} > {_num(spec.le)}",
                           reason_money_above(spec.le)))
        return checks
    if spec.kind == "date":
        d, us = quote_ident(f"{spec.name}__date"), quote_ident(f"{spec.name}__us_date")
        checks = [(f"{d} IS NULL AND {us} IS NOT NULL", REASON_US_DATE),
                  (f"{d} IS NULL AND NOT {_match(t, ISO_DATE_PATTERN)} AND {_match(t, SHORT_ISO_DATE_PATTERN)}",
                   REASON_SHORT_DATE),
                  (f"{d} IS NULL AND NOT {_match(t, SHORT_ISO_DATE_PATTERN)} AND {_match(t, TWO_DIGIT_YEAR_PATTERN)}",
                   REASON_TWO_DIGIT_YEAR),
                  (f"{d} IS NULL", REASON_DATE)]
        if spec.not_future:
            checks.append((f"{d} > DATE '{as_of.isoformat()}'", f"is after the as-of date {as_of}"))
        if spec.not_before is not None:
            checks.append((f"{d} < DATE '{spec.not_before.isoformat()}'", reason_date_before(spec.not_before)))
        return checks
    if spec.kind == "boolean":
        words = ", ".join(quote_str(w) for w in TRUE_WORDS + FALSE_WORDS)
        return [(f"LOWER({t}) NOT IN ({words})", REASON_BOOLEAN)]
    if spec.kind == "choice":
        # pydantic's Literal takes the value as written: no trimming (only empty-as-missing)
        allowed = ", ".join(quote_str(c) for c in spec.choices)
        return [(f"{quote_ident(spec.name)} NOT IN ({allowed})", f"not one of: {', '.join(spec.choices)}")]
    if spec.kind == "postcode":
        return [(f"NOT {_match(quote_ident(spec.name + '__postcode'), POSTCODE_PATTERN[1:-1])}", REASON_POSTCODE)]
    if spec.kind == "ages":
        return [(f"NOT {_match(t, AGES_PATTERN)}", REASON_AGES),
                (f"list_bool_or(list_transform(string_split({t}, ';'), lambda x: TRY_CAST(TRIM(x) AS DOUBLE) > 19))",
                 REASON_AGE_ABOVE)]
    return []


def normalisation_sql(spec: ColumnSpec) -> tuple[str, str] | None:
    """(condition TRUE when a present value on a valid row was accepted in a normalised form, kind), or None.

    Only valid rows are counted, so the condition may lean on the value being valid: an
    accepted amount was normalised when dropping its pound sign and separators shortened it
    (the rest is the plain form), and a valid date was day-first when it holds a '/'.
    """
    t = text_of(spec)
    if spec.kind == "money":
        m = quote_ident(f"{spec.name}__money")
        return f"{m} IS NOT NULL AND strlen({m}) <> strlen({t})", NORMALISED_MONEY
    if spec.kind == "date":
        return f"{t} IS NOT NULL AND contains({t}, '/')", NORMALISED_DATE
    return None


def reason_sql(spec: ColumnSpec, as_of: dt.date) -> str:
    """A CASE giving the first reason this column's value is bad, or NULL when it is good."""
    t = text_of(spec)
    whens = []
    if spec.required:
        whens.append(f"WHEN {t} IS NULL THEN 'required value is missing'")
    for condition, reason in value_checks(spec, as_of):
        whens.append(f"WHEN {t} IS NOT NULL AND ({condition}) THEN {quote_str(reason)}")
    if not whens:
        return "NULL"
    return "CASE " + " ".join(whens) + " END"


def typed_sql(spec: ColumnSpec) -> str:
    """The column's valid value in its DuckDB type (defaults applied for missing values), named."""
    return f"{typed_expr(spec)} AS {quote_ident(spec.name)}"


def typed_expr(spec: ColumnSpec) -> str:
    """The column's valid value in its DuckDB type (defaults applied for missing values)."""
    t = text_of(spec)
    default = "NULL"
    if spec.default is not None:
        default = ("TRUE" if spec.default else "FALSE") if spec.kind == "boolean" else _num(float(spec.default))
    if spec.kind == "boolean":
        trues = ", ".join(quote_str(w) for w in TRUE_WORDS)
        expr = f"CASE WHEN {t} IS NULL THEN NULL ELSE LOWER({t}) IN ({trues}) END"
    elif spec.kind == "postcode":
        expr = quote_ident(f"{spec.name}__postcode")
    elif spec.kind == "ages":
        expr = f"REPLACE({t}, ' ', '')"
    elif spec.kind == "text":
        expr = stripped_text_of(spec)
    elif spec.kind == "choice":
        expr = t
    elif spec.kind == "money":
        expr = f"TRY_CAST({quote_ident(spec.name + '__money')} AS {spec.duckdb_type})"
    elif spec.kind == "date":
        expr = quote_ident(f"{spec.name}__date")
    else:
        expr = f"TRY_CAST({t} AS {spec.duckdb_type})"
    if default != "NULL":
        expr = f"COALESCE({expr}, {default})"
    return f"CAST({expr} AS {spec.duckdb_type})"


def cross_checks(kind: str) -> list[tuple[str, str, str]]:
    """Rules across columns: (column reported, condition TRUE when bad, reason)."""
    rules: list[tuple[str, str, str]] = []
    if kind in ("benefits", "universal_credit"):
        ages = quote_ident("child_ages__t")
        children = f"TRY_CAST({quote_ident('children__t')} AS DOUBLE)"
        rules.append(("child_ages",
                      f"{ages} IS NOT NULL AND {children} IS NOT NULL AND len(string_split({ages}, ';')) <> {children}",
                      "child_ages must give one age per child"))
    if kind == "universal_credit":
        adults = f"TRY_CAST({quote_ident('adults__t')} AS DOUBLE)"
        rules.append(("adults", f"{adults} > 2", "adults must be 1 or 2 on a Universal Credit award"))
        rules.append(("ap_end", f"{quote_ident('ap_end__date')} < {quote_ident('ap_start__date')}",
                      "ap_end must not be before ap_start"))
    return rules
