"""DuckDB SQL derived from the input models' column specs: the vectorised twin of pydantic.

Pure functions: each takes :class:`schemas.columns.ColumnSpec` records and returns SQL text.
The rules are the models' (see :mod:`schemas.columns`); ``tests/test_validate.py`` checks that
this SQL and per-row pydantic agree, row for row, on valid and invalid inputs. Reasons never
quote a value, so that quarantine holds no personal data.
"""

from __future__ import annotations

import datetime as dt

from schemas.columns import FALSE_WORDS, POSTCODE_PATTERN, TRUE_WORDS, ColumnSpec

INT_RE = r"^-?[0-9]+$"
MONEY_RE = r"^-?[0-9]+(\.[0-9]{1,2})?$"
DATE_RE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
AGES_RE = r"^ *[0-9]+ *( *; *[0-9]+ *)*$"


def quote_ident(name: str) -> str:
    """A DuckDB identifier in double quotes."""
    return '"' + name.replace('"', '""') + '"'


def quote_str(value: str) -> str:
    """A DuckDB string literal."""
    return "'" + value.replace("'", "''") + "'"


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)


def text_of(spec: ColumnSpec) -> str:
    """The column's trimmed text, NULL when empty (empty means missing)."""
    return f"NULLIF(TRIM({quote_ident(spec.name)}), '')"


def normalised_postcode_sql(expr: str) -> str:
    """Upper case, no spaces, then one space before the last three characters."""
    compact = f"UPPER(REGEXP_REPLACE({expr}, '\\s+', '', 'g'))"
    return f"CASE WHEN LENGTH({compact}) > 3 THEN LEFT({compact}, LENGTH({compact}) - 3) || ' ' || RIGHT({compact}, 3) ELSE {compact} END"


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
        return [(f"NOT regexp_full_match({t}, {quote_str(spec.pattern[1:-1])})",
                 "not in the format made by 'povertylink pseudonymise'")]
    if spec.kind == "integer":
        n = f"TRY_CAST({t} AS HUGEINT)"
        return [(f"NOT regexp_full_match({t}, '{INT_RE[1:-1]}')", "not a whole number"),
                *_range_checks(spec, n)]
    if spec.kind == "money":
        m = f"TRY_CAST({t} AS DECIMAL(38,2))"
        return [(f"NOT regexp_full_match({t}, '{MONEY_RE[1:-1]}')", "not an amount in pounds with up to two decimals"),
                (f"LENGTH(SPLIT_PART(LTRIM({t}, '-'), '.', 1)) > 16", "amount is too large"),
                *_range_checks(spec, m)]
    if spec.kind == "date":
        checks = [(f"NOT regexp_full_match({t}, '{DATE_RE[1:-1]}') OR TRY_CAST({t} AS DATE) IS NULL",
                   "not a valid date YYYY-MM-DD")]
        if spec.not_future:
            checks.append((f"TRY_CAST({t} AS DATE) > DATE '{as_of.isoformat()}'", f"is after the as-of date {as_of}"))
        return checks
    if spec.kind == "boolean":
        words = ", ".join(quote_str(w) for w in TRUE_WORDS + FALSE_WORDS)
        return [(f"LOWER({t}) NOT IN ({words})", "not a boolean (true/false, Y/N, 1/0)")]
    if spec.kind == "choice":
        allowed = ", ".join(quote_str(c) for c in spec.choices)
        return [(f"{t} NOT IN ({allowed})", f"not one of: {', '.join(spec.choices)}")]
    if spec.kind == "postcode":
        return [(f"NOT regexp_full_match({normalised_postcode_sql(t)}, '{POSTCODE_PATTERN[1:-1]}')",
                 "not a UK postcode")]
    if spec.kind == "ages":
        return [(f"NOT regexp_full_match({t}, '{AGES_RE[1:-1]}')", "child_ages must be whole numbers separated by ';'"),
                (f"list_max(list_transform(string_split({t}, ';'), lambda x: TRY_CAST(TRIM(x) AS INTEGER))) > 19",
                 "a child age is above 19")]
    return []


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
    """The column's valid value in its DuckDB type (defaults applied for missing values)."""
    t = text_of(spec)
    default = "NULL"
    if spec.default is not None:
        default = ("TRUE" if spec.default else "FALSE") if spec.kind == "boolean" else _num(float(spec.default))
    if spec.kind == "boolean":
        trues = ", ".join(quote_str(w) for w in TRUE_WORDS)
        expr = f"CASE WHEN {t} IS NULL THEN NULL ELSE LOWER({t}) IN ({trues}) END"
    elif spec.kind == "postcode":
        expr = normalised_postcode_sql(t)
    elif spec.kind == "ages":
        expr = f"REGEXP_REPLACE({t}, '\\s+', '', 'g')"
    elif spec.kind in ("text", "choice"):
        expr = t
    else:
        expr = f"TRY_CAST({t} AS {spec.duckdb_type})"
    if default != "NULL":
        expr = f"COALESCE({expr}, {default})"
    return f"CAST({expr} AS {spec.duckdb_type}) AS {quote_ident(spec.name)}"


def cross_checks(kind: str) -> list[tuple[str, str, str]]:
    """Rules across columns: (column reported, condition TRUE when bad, reason)."""
    if kind == "benefits":
        ages = "NULLIF(TRIM(child_ages), '')"
        return [("child_ages",
                 f"{ages} IS NOT NULL AND TRY_CAST(NULLIF(TRIM(children), '') AS HUGEINT) IS NOT NULL "
                 f"AND len(string_split({ages}, ';')) <> TRY_CAST(NULLIF(TRIM(children), '') AS HUGEINT)",
                 "child_ages must give one age per child")]
    return []
