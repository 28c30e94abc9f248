"""Column vocabulary shared by every input schema.

The pydantic models in :mod:`schemas.inputs` are the one source of column names, types and
rules. Each field is declared with one of the annotated types below; :func:`column_specs`
reads them back as plain :class:`ColumnSpec` records, from which the vectorised DuckDB checks
(:mod:`pipelines.ingest.validate`), the DuckDB column types and the data dictionary are derived.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, Literal, get_args, get_origin

import annotated_types as at
from pydantic import AfterValidator, BaseModel, BeforeValidator, Field, ValidationInfo
from pydantic.fields import FieldInfo

POSTCODE_PATTERN = r"^[A-Z]{1,2}[0-9][A-Z0-9]? [0-9][A-Z]{2}$"
_POSTCODE_RE = re.compile(POSTCODE_PATTERN)
TRUE_WORDS = ("true", "y", "1")
FALSE_WORDS = ("false", "n", "0")


@dataclass(frozen=True)
class Kind:
    """Marks a field's logical kind where its Python type alone does not say it."""

    name: str  # "text", "postcode", "money", "integer", "date", "boolean", "choice", "ages"
    description: str = ""


@dataclass(frozen=True)
class Unique:
    """The column's values must be unique within one file."""


@dataclass(frozen=True)
class NotFuture:
    """A date that may not fall after the run's as-of date."""


@dataclass(frozen=True)
class NotBefore:
    """A date that may not fall before ``earliest`` (a birth date in year 1 is a typing slip, not a person)."""

    earliest: dt.date


@dataclass(frozen=True)
class DropsInvisible:
    """Invisible format characters (INVISIBLE) are removed from the value before anything else, uniqueness
    included: ``C1``, ``C1\u200b`` and ``\ufeffC1`` are one reference."""


@dataclass(frozen=True)
class Personal:
    """The column carries an identifier or encoding of a person (never published raw)."""

    raw: bool  # True: a raw name or NINO that must never reach the hub


# What Python's str.strip() removes (str.isspace()); the SQL trims exactly these characters too.
WHITESPACE = "".join(chr(c) for c in range(0x110000) if chr(c).isspace())
WHITESPACE_RE2_CLASS = "[" + "".join(f"\\x{{{ord(c):x}}}" for c in WHITESPACE) + "]"
# What pydantic's str_strip_whitespace removes from text (Unicode White_Space: the above less \x1c-\x1f).
PYDANTIC_WHITESPACE = "".join(c for c in WHITESPACE if c not in "\x1c\x1d\x1e\x1f")
_WS_RE = re.compile(f"[{re.escape(WHITESPACE)}]+")
# Characters that show as nothing (zero-width spaces and joiners, BOM, soft hyphen, direction marks and
# embeddings): removed from references so that a copy-and-paste cannot make two 'different' equal references.
INVISIBLE = ("\u00ad\u180e\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
             "\u2060\u2061\u2062\u2063\u2064\u2066\u2067\u2068\u2069\ufeff")
INVISIBLE_RE2_CLASS = "[" + "".join(f"\\x{{{ord(c):x}}}" for c in INVISIBLE) + "]"
_INVISIBLE_RE = re.compile(f"[{INVISIBLE}]")

# Value formats (full-match, anchor-free, valid in both Python re and DuckDB's RE2). The SQL twin of each
# normaliser below is in pipelines/ingest/validation_sql.py; test_validate.py and test_properties.py (in
# tests/pipelines/ingest/) check that both judge and normalise every value alike.
INT_PATTERN = r"-?[0-9]+"
MONEY_PATTERN = r"-?[0-9]+(\.[0-9]{1,2})?"
# Unambiguous council-export money: a pound sign and/or thousands separators in groups of three.
MONEY_EXPORT_PATTERN = r"(-|£|-£|£-)?([0-9]{1,3}(,[0-9]{3})+|[0-9]+)(\.[0-9]{1,2})?"
# Digits with a comma that is not a thousands separator ("1234,50", "1.234,50"): decimal comma or a slip?
MONEY_COMMA_PATTERN = r"[-£]*[0-9.]*[0-9][0-9.]*,[0-9.,]*"
ISO_DATE_PATTERN = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
UK_DATE_PATTERN = r"[0-9]{1,2}/[0-9]{1,2}/[0-9]{4}"
SHORT_ISO_DATE_PATTERN = r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}"
TWO_DIGIT_YEAR_PATTERN = r"[0-9]{1,2}[/.-][0-9]{1,2}[/.-][0-9]{2}"
AGES_PATTERN = r" *[0-9]+ *( *; *[0-9]+ *)*"

# Reasons (never quoting a value), shared by pydantic and SQL.
REASON_INT = "not a whole number"
REASON_MONEY = "not an amount in pounds with up to two decimals"
REASON_MONEY_COMMA = ("ambiguous amount: a comma that is not a thousands separator (decimal comma?); "
                      "write pounds as 1234.50")
EARLIEST_BIRTH_DATE = dt.date(1900, 1, 1)
REASON_DATE = "not a valid date YYYY-MM-DD"
REASON_US_DATE = "looks like a US month-first date (MM/DD/YYYY): write YYYY-MM-DD or day-first DD/MM/YYYY"
REASON_SHORT_DATE = "ambiguous date: a one-digit month or day; write YYYY-MM-DD"
REASON_TWO_DIGIT_YEAR = "ambiguous date: a two-digit year; write YYYY-MM-DD"
REASON_POSTCODE = "not a UK postcode"
REASON_BOOLEAN = "not a boolean (true/false, Y/N, 1/0)"
REASON_AGES = "child_ages must be whole numbers separated by ';'"
REASON_AGE_ABOVE = "a child age is above 19"

# Kinds of normalisation recorded per column in each file's report.
NORMALISED_MONEY = "pound_sign_or_thousands"
NORMALISED_DATE = "uk_day_first_date"


def _full(pattern: str, value: str) -> bool:
    return re.fullmatch(pattern, value) is not None


def normalise_postcode(value: str) -> str:
    """Upper-case, drop spaces, and put one space before the inward code (last 3 chars)."""
    compact = _WS_RE.sub("", value).upper()
    return f"{compact[:-3]} {compact[-3:]}" if len(compact) > 3 else compact


def _postcode(value: str) -> str:
    if not isinstance(value, str) or not _WS_RE.sub("", value).isascii():  # "ß".upper() is "SS"
        raise ValueError(REASON_POSTCODE)
    normal = normalise_postcode(value)
    if not _POSTCODE_RE.match(normal):
        raise ValueError(REASON_POSTCODE)
    return normal


def _boolean(value: Any) -> Any:
    if isinstance(value, str):
        word = value.strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        raise ValueError(REASON_BOOLEAN)
    return value


def _ages(value: Any) -> Any:
    if isinstance(value, str):
        text = value.strip()
        if not _full(AGES_PATTERN, text):
            raise ValueError(REASON_AGES)
        ages = [int(p) for p in text.split(";")]
        if any(a > 19 for a in ages):
            raise ValueError(REASON_AGE_ABOVE)
        return ages
    return value


def _iso_date(year: str, month: str, day: str) -> dt.date | None:
    try:
        return dt.date(int(year), int(month), int(day))
    except ValueError:
        return None


def normalise_date(value: str) -> tuple[str, str | None]:
    """(ISO text, kind of normalisation or None) of a date as text; ValueError(reason) when not a date.

    Accepted: ``YYYY-MM-DD`` and UK day-first ``D/M/YYYY`` (``01/02/2024`` is 1 February 2024).
    Refused with their own reason: US month-first dates that cannot be day-first (``12/31/2024``),
    one-digit months or days in ISO order (``2024-2-1``) and two-digit years.
    """
    text = value.strip()
    if _full(ISO_DATE_PATTERN, text):
        if _iso_date(text[:4], text[5:7], text[8:]) is None:
            raise ValueError(REASON_DATE)
        return text, None
    if _full(UK_DATE_PATTERN, text):
        day, month, year = text.split("/")
        if _iso_date(year, month, day) is not None:
            return f"{year}-{int(month):02d}-{int(day):02d}", NORMALISED_DATE
        raise ValueError(REASON_US_DATE if _iso_date(year, day, month) is not None else REASON_DATE)
    if _full(SHORT_ISO_DATE_PATTERN, text):
        raise ValueError(REASON_SHORT_DATE)
    if _full(TWO_DIGIT_YEAR_PATTERN, text):
        raise ValueError(REASON_TWO_DIGIT_YEAR)
    raise ValueError(REASON_DATE)


def _date(value: Any) -> Any:
    return normalise_date(value)[0] if isinstance(value, str) else value


def reason_date_before(earliest: dt.date) -> str:
    """The reason a date before ``earliest`` is refused (shared by pydantic and SQL)."""
    return f"is before {earliest.isoformat()}: not a plausible date"


def reason_money_above(bound: float) -> str:
    """The reason an amount above a money column's bound is refused (shared by pydantic and SQL)."""
    return f"must be at most {bound:,.0f} pounds (this column's plausible bound: see the data dictionary)"


def _not_before_1900(value: dt.date) -> dt.date:
    if value < EARLIEST_BIRTH_DATE:
        raise ValueError(reason_date_before(EARLIEST_BIRTH_DATE))
    return value


def drop_invisible(value: Any) -> Any:
    """The text with INVISIBLE characters removed (anything else as it is)."""
    return _INVISIBLE_RE.sub("", value) if isinstance(value, str) else value


def _not_after_as_of(value: dt.date, info: ValidationInfo) -> dt.date:
    as_of = (info.context or {}).get("as_of")
    if as_of is not None and value > as_of:
        raise ValueError(f"is after the as-of date {as_of}")
    return value


def normalise_money(value: str) -> tuple[str, str | None]:
    """(plain decimal text, kind of normalisation or None) of an amount; ValueError(reason) when not one.

    Accepted: ``1234.50`` and the council-export form with a pound sign and thousands separators
    (``£1,234.50`` -> ``1234.50``). Refused with its own reason: a comma that is not a thousands
    separator (``1234,50``: a decimal comma, or a slip?).
    """
    text = value.strip()
    if _full(MONEY_PATTERN, text):
        return text, None
    if _full(MONEY_EXPORT_PATTERN, text):
        return text.replace("£", "").replace(",", ""), NORMALISED_MONEY
    raise ValueError(REASON_MONEY_COMMA if _full(MONEY_COMMA_PATTERN, text) else REASON_MONEY)


def _money(value: Any) -> Any:
    return normalise_money(value)[0] if isinstance(value, str) else value


def _strict_int(value: Any) -> Any:
    if isinstance(value, str):
        text = value.strip()
        if not _full(INT_PATTERN, text):
            raise ValueError(REASON_INT)
        return int(text)
    return value


# Every amount is held as DECIMAL(18,2) (at most 9,999,999,999,999,999.99) and scoring multiplies weekly
# amounts by 52 and sums a dozen of them in that type (pipelines/score/households_sql.py). Each money column
# therefore has an upper bound plausible for its meaning (set in schemas/inputs.py, reasoned in DESIGN.md's
# input contract); none is above MONEY_BOUND, so the worst case (every column at its bound) stays below a
# millionth of what DECIMAL(18,2) holds. tests/pipelines/ingest/test_money_bounds.py scores that worst case.
MONEY_BOUND = 100_000_000
DECIMAL_18_2_MAX = Decimal("9999999999999999.99")


def money(bound: int) -> Any:
    """The type of a money column: pounds, up to two decimals, from 0 to ``bound`` (at most MONEY_BOUND)."""
    if not 0 < bound <= MONEY_BOUND:
        raise ValueError(f"a money bound must be in 1..{MONEY_BOUND}")
    return Annotated[Decimal, Kind("money", "pounds"), BeforeValidator(_money),
                     Field(ge=0, le=Decimal(bound), decimal_places=2, max_digits=18)]


Text = Annotated[str, Kind("text"), Field(min_length=1)]
Ref = Annotated[str, Kind("text"), BeforeValidator(drop_invisible), DropsInvisible(), Field(min_length=1), Unique()]
Postcode = Annotated[str, Kind("postcode"), BeforeValidator(_postcode)]
Money = money(MONEY_BOUND)  # the loosest bound; a column of known meaning uses money(its own bound)
Count = Annotated[int, Kind("integer"), BeforeValidator(_strict_int), Field(ge=0, le=99)]
Adults = Annotated[int, Kind("integer"), BeforeValidator(_strict_int), Field(ge=1, le=99)]
Uprn = Annotated[int, Kind("integer"), BeforeValidator(_strict_int), Field(ge=1, le=999_999_999_999)]
BirthDate = Annotated[dt.date, Kind("date"), BeforeValidator(_date), AfterValidator(_not_after_as_of),
                      AfterValidator(_not_before_1900), NotFuture(), NotBefore(EARLIEST_BIRTH_DATE)]
Date = Annotated[dt.date, Kind("date"), BeforeValidator(_date)]
PastDate = Annotated[dt.date, Kind("date"), BeforeValidator(_date), AfterValidator(_not_after_as_of), NotFuture()]
Flag = Annotated[bool, Kind("boolean"), BeforeValidator(_boolean)]
Ages = Annotated[list[int], Kind("ages"), BeforeValidator(_ages)]
# Formats made by pipelines.pseudonymise (tests/pipelines/ingest/test_validate.py checks they agree with it).
PERSON_KEY_PATTERN = r"^[0-9a-f]{64}$"
# A name encoding v2|FN|FC|SN|SP|FB|SB: whole, or half a name (the missing part's fields empty).
_FORE = r"[0-9a-f]{16}\|[0-9a-f]{16}(?:,[0-9a-f]{16}){4}"  # FN|FC
_SUR = r"[0-9a-f]{16}\|[0-9a-f]{16}"  # SN|SP
_BLOOM = r"[0-9a-f]{64}"
NAME_ENCODING_PATTERN = (rf"^v2\|(?:{_FORE}\|{_SUR}\|{_BLOOM}\|{_BLOOM}"
                         rf"|{_FORE}\|\|\|{_BLOOM}\||\|\|{_SUR}\|\|{_BLOOM})$")
PersonKey = Annotated[str, Kind("text", "a keyed hash made by pseudonymise"), Personal(raw=False),
                      Field(pattern=PERSON_KEY_PATTERN)]
NameEncoding = Annotated[str, Kind("text", "a name encoding made by pseudonymise"), Personal(raw=False),
                         Field(pattern=NAME_ENCODING_PATTERN)]
RawIdentifier = Annotated[str, Kind("text"), Personal(raw=True), Field(min_length=1)]
# ONS geography codes (a letter for the nation, an entity code, six digits): checked as codes, so that
# no free text (a spreadsheet formula, markup) reaches area_needs.area_code from the postcode lookup.
LSOA_PATTERN = r"^[EW]01[0-9]{6}$"
WARD_PATTERN = r"^[EW]05[0-9]{6}$"
LAD_PATTERN = r"^[ENSW][0-9]{8}$"
LsoaCode = Annotated[str, Kind("text", "an ONS LSOA code, e.g. E01024031"), Field(pattern=LSOA_PATTERN)]
WardCode = Annotated[str, Kind("text", "an ONS ward code, e.g. E05005004"), Field(pattern=WARD_PATTERN)]
LadCode = Annotated[str, Kind("text", "an ONS district code, e.g. E07000105"), Field(pattern=LAD_PATTERN)]
PATTERN_REASONS = {LSOA_PATTERN: "not an LSOA code (E01 or W01 and 6 digits)",
                   WARD_PATTERN: "not a ward code (E05 or W05 and 6 digits)",
                   LAD_PATTERN: "not a district code (a letter and 8 digits, e.g. E07000105)"}


# The DuckDB (and so Parquet) type of each column kind: BI-safe types only.
KIND_DUCKDB = {
    "text": "VARCHAR",
    "postcode": "VARCHAR",
    "choice": "VARCHAR",
    "ages": "VARCHAR",
    "money": "DECIMAL(18,2)",
    "integer": "BIGINT",
    "number": "DOUBLE",
    "date": "DATE",
    "boolean": "BOOLEAN",
}


@dataclass(frozen=True)
class ColumnSpec:
    """One input column as the vectorised checks and the data dictionary see it."""

    name: str
    kind: str
    required: bool
    default: Any
    description: str
    ge: float | None = None
    le: float | None = None
    choices: tuple[str, ...] = ()
    unique: bool = False
    not_future: bool = False
    not_before: dt.date | None = None
    drops_invisible: bool = False
    pattern: str | None = None
    personal: bool | None = None  # None: not personal; False: pseudonymised; True: raw

    @property
    def duckdb_type(self) -> str:
        """The DuckDB type a valid value of this column is stored as."""
        return KIND_DUCKDB[self.kind]


def _unwrap_optional(annotation: Any) -> Any:
    args = get_args(annotation)
    if args and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        return rest[0]
    return annotation


def column_specs(model: type[BaseModel]) -> list[ColumnSpec]:
    """Read a model's fields back as column specs, in declaration order."""
    specs = []
    for name, field in model.model_fields.items():
        annotation = _unwrap_optional(field.annotation)
        metadata = list(field.metadata)
        if get_origin(annotation) is Annotated:
            annotation, *extra = get_args(annotation)
            for item in extra:  # a Field(...) inside Annotated keeps its constraints in .metadata
                metadata.extend(getattr(item, "metadata", [item]) if isinstance(item, FieldInfo) else [item])
        kind = next((m.name for m in metadata if isinstance(m, Kind)), None)
        choices: tuple[str, ...] = ()
        if get_origin(annotation) is Literal:
            kind, choices = "choice", tuple(get_args(annotation))
        if kind is None:
            raise TypeError(f"{model.__name__}.{name} has no column kind")
        ge = next((float(m.ge) for m in metadata if isinstance(m, at.Ge)), None)  # type: ignore[arg-type]
        le = next((float(m.le) for m in metadata if isinstance(m, at.Le)), None)  # type: ignore[arg-type]
        personal = next((m.raw for m in metadata if isinstance(m, Personal)), None)
        specs.append(
            ColumnSpec(
                name=name,
                kind=kind,
                required=field.is_required(),
                default=None if field.is_required() else field.default,
                description=field.description or "",
                ge=ge,
                le=le,
                choices=choices,
                unique=any(isinstance(m, Unique) for m in metadata),
                not_future=any(isinstance(m, NotFuture) for m in metadata),
                not_before=next((m.earliest for m in metadata if isinstance(m, NotBefore)), None),
                drops_invisible=any(isinstance(m, DropsInvisible) for m in metadata),
                pattern=next((m.pattern for m in metadata if getattr(m, "pattern", None)), None),
                personal=personal,
            )
        )
    return specs
