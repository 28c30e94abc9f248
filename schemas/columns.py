"""Column vocabulary shared by every input schema.

The pydantic models in :mod:`schemas.inputs` are the one source of column names, types and
rules. Each field is declared with one of the annotated types below; :func:`column_specs`
reads them back as plain :class:`ColumnSpec` records, from which the vectorised DuckDB checks
(:mod:`pipelines.validate`), the DuckDB column types and the data dictionary are derived.
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
class Personal:
    """The column carries an identifier or encoding of a person (never published raw)."""

    raw: bool  # True: a raw name or NINO that must never reach the hub


def normalise_postcode(value: str) -> str:
    """Upper-case, drop spaces, and put one space before the inward code (last 3 chars)."""
    compact = re.sub(r"\s+", "", value).upper()
    return f"{compact[:-3]} {compact[-3:]}" if len(compact) > 3 else compact


def _postcode(value: str) -> str:
    normal = normalise_postcode(value)
    if not _POSTCODE_RE.match(normal):
        raise ValueError("not a UK postcode")
    return normal


def _boolean(value: Any) -> Any:
    if isinstance(value, str):
        word = value.strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        raise ValueError("not a boolean (true/false, Y/N, 1/0)")
    return value


def _ages(value: Any) -> Any:
    if isinstance(value, str):
        parts = [p.strip() for p in value.split(";")]
        if not all(p.isdigit() for p in parts):
            raise ValueError("child_ages must be whole numbers separated by ';'")
        ages = [int(p) for p in parts]
        if any(a > 19 for a in ages):
            raise ValueError("a child age is above 19")
        return ages
    return value


def _strict_date(value: Any) -> Any:
    if isinstance(value, str) and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        raise ValueError("not an ISO date YYYY-MM-DD")
    return value


def _not_after_as_of(value: dt.date, info: ValidationInfo) -> dt.date:
    as_of = (info.context or {}).get("as_of")
    if as_of is not None and value > as_of:
        raise ValueError(f"is after the as-of date {as_of}")
    return value


def _strict_money(value: Any) -> Any:
    if isinstance(value, str) and not re.fullmatch(r"-?\d+(\.\d{1,2})?", value.strip()):
        raise ValueError("not an amount in pounds with up to two decimals")
    return value


def _strict_int(value: Any) -> Any:
    if isinstance(value, str) and not re.fullmatch(r"-?\d+", value.strip()):
        raise ValueError("not a whole number")
    return value


Text = Annotated[str, Kind("text"), Field(min_length=1)]
Ref = Annotated[str, Kind("text"), Field(min_length=1), Unique()]
Postcode = Annotated[str, Kind("postcode"), BeforeValidator(_postcode)]
Money = Annotated[
    Decimal, Kind("money", "pounds"), BeforeValidator(_strict_money), Field(ge=0, decimal_places=2, max_digits=18)
]
Count = Annotated[int, Kind("integer"), BeforeValidator(_strict_int), Field(ge=0, le=99)]
Adults = Annotated[int, Kind("integer"), BeforeValidator(_strict_int), Field(ge=1, le=99)]
Uprn = Annotated[int, Kind("integer"), BeforeValidator(_strict_int), Field(ge=1, le=999_999_999_999)]
BirthDate = Annotated[dt.date, Kind("date"), BeforeValidator(_strict_date), AfterValidator(_not_after_as_of),
                      NotFuture()]
Date = Annotated[dt.date, Kind("date"), BeforeValidator(_strict_date)]
Flag = Annotated[bool, Kind("boolean"), BeforeValidator(_boolean)]
Ages = Annotated[list[int], Kind("ages"), BeforeValidator(_ages)]
# Formats made by pipelines.pseudonymise (tests/test_validate.py checks they agree with it).
PERSON_KEY_PATTERN = r"^[0-9a-f]{64}$"
NAME_ENCODING_PATTERN = r"^v2\|[0-9a-f]{16}\|[0-9a-f]{16}(,[0-9a-f]{16}){4}\|[0-9a-f]{16}\|[0-9a-f]{16}\|[0-9a-f]{64}\|[0-9a-f]{64}$"
PersonKey = Annotated[str, Kind("text", "a keyed hash made by pseudonymise"), Personal(raw=False),
                      Field(pattern=PERSON_KEY_PATTERN)]
NameEncoding = Annotated[str, Kind("text", "a name encoding made by pseudonymise"), Personal(raw=False),
                         Field(pattern=NAME_ENCODING_PATTERN)]
RawIdentifier = Annotated[str, Kind("text"), Personal(raw=True), Field(min_length=1)]


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
    pattern: str | None = None
    personal: bool | None = None  # None: not personal; False: pseudonymised; True: raw

    @property
    def duckdb_type(self) -> str:
        """The DuckDB type a valid value of this column is stored as."""
        return {
            "text": "VARCHAR",
            "postcode": "VARCHAR",
            "choice": "VARCHAR",
            "ages": "VARCHAR",
            "money": "DECIMAL(18,2)",
            "integer": "BIGINT",
            "date": "DATE",
            "boolean": "BOOLEAN",
        }[self.kind]


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
                pattern=next((m.pattern for m in metadata if getattr(m, "pattern", None)), None),
                personal=personal,
            )
        )
    return specs
