"""The data dictionary, generated from the pydantic models (never written twice).

``write_dictionary(out_dir)`` writes ``data_dictionary.md`` (for people) and
``datapackage.json`` (a Frictionless Data Package: a Table Schema per published Parquet file,
plus the input extracts' schemas under ``povertylink:inputs``). Covers the input models of
:mod:`schemas.inputs`, the scored households (:mod:`schemas.households`), the links
(:mod:`schemas.links`) and the aggregate tables of :mod:`schemas.outputs`; a model module
not present yet is skipped. No data is read: schemas only.
"""

from __future__ import annotations

import importlib
import json
import types
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal, Union, cast, get_args, get_origin

import annotated_types as at
from pydantic import BaseModel

from schemas.columns import FALSE_WORDS, TRUE_WORDS, Kind, column_specs

KIND_TYPES: dict[str, tuple[str, str]] = {  # kind -> (Frictionless type, DuckDB type)
    "text": ("string", "VARCHAR"),
    "postcode": ("string", "VARCHAR"),
    "choice": ("string", "VARCHAR"),
    "ages": ("string", "VARCHAR"),
    "money": ("number", "DECIMAL(18,2)"),
    "integer": ("integer", "BIGINT"),
    "number": ("number", "DOUBLE"),
    "date": ("date", "DATE"),
    "boolean": ("boolean", "BOOLEAN"),
}
_PY_KINDS: dict[type, str] = {bool: "boolean", int: "integer", float: "number", Decimal: "money", date: "date",
                              str: "text"}


@dataclass
class Column:
    """One documented column; ``required``: never empty (CSV) or never null (Parquet)."""

    name: str
    kind: str
    required: bool
    description: str
    unit: str = ""
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    unique: bool = False
    personal: bool | None = None

    @property
    def frictionless_type(self) -> str:
        return KIND_TYPES[self.kind][0]

    @property
    def duckdb_type(self) -> str:
        return KIND_TYPES[self.kind][1]


@dataclass
class Table:
    """One documented table: where it is, who may see it, and its columns."""

    name: str
    path: str
    fmt: str
    description: str
    audience: str
    model: str
    columns: list[Column] = field(default_factory=list)
    key: tuple[str, ...] = ()  # columns that together are unique in the file (its primary key)


def _generic_columns(model: type[BaseModel]) -> list[Column]:
    """Columns of a model whose fields carry plain Python types (no :class:`Kind`)."""
    columns = []
    for name, info in model.model_fields.items():
        annotation: Any = info.annotation
        metadata = list(info.metadata)
        required = info.is_required()
        if get_origin(annotation) in (Union, types.UnionType):
            args = [a for a in get_args(annotation) if a is not type(None)]
            required = required and len(args) == len(get_args(annotation))
            annotation = args[0]
        if get_origin(annotation) is Annotated:
            annotation, *extra = get_args(annotation)
            metadata.extend(extra)
        kind = next((m.name for m in metadata if isinstance(m, Kind)), None)
        unit = next((m.description for m in metadata if isinstance(m, Kind)), "")
        choices: tuple[str, ...] = ()
        if get_origin(annotation) is Literal:
            kind, choices = "choice", tuple(str(a) for a in get_args(annotation))
        if kind is None:
            kind = _PY_KINDS.get(annotation, "text")
        columns.append(Column(
            name=name, kind=kind, required=required, description=info.description or "", unit=unit,
            minimum=next((float(cast(Any, m.ge)) for m in metadata if isinstance(m, at.Ge)), None),
            maximum=next((float(cast(Any, m.le)) for m in metadata if isinstance(m, at.Le)), None),
            choices=choices,
        ))
    return columns


def model_columns(model: type[BaseModel]) -> list[Column]:
    """A model's columns in declaration order: via :func:`column_specs` where every field has a
    kind (the input models), else read from the plain annotations."""
    try:
        specs = column_specs(model)
    except TypeError:
        return _generic_columns(model)
    generic = {c.name: c for c in _generic_columns(model)}
    return [Column(name=s.name, kind=s.kind, required=generic[s.name].required, description=s.description,
                   unit=generic[s.name].unit,
                   minimum=s.ge, maximum=s.le, choices=tuple(str(c) for c in s.choices), unique=s.unique,
                   personal=s.personal) for s in specs]


def _model(module: str, preferred: str) -> type[BaseModel] | None:
    """A model class from a module that may not exist yet."""
    try:
        loaded = importlib.import_module(module)
    except ImportError:
        return None
    found = getattr(loaded, preferred, None)
    if isinstance(found, type) and issubclass(found, BaseModel):
        return found
    rows = [v for v in vars(loaded).values() if isinstance(v, type) and issubclass(v, BaseModel)
            and v.__module__ == module and v.__name__.endswith("Row")]
    return rows[0] if rows else None


_SHARED = "shared across districts: aggregate and disclosure-controlled"
_OUTPUTS: tuple[tuple[str, str, str, str, str], ...] = (
    # table, module, model, audience, description
    ("households", "schemas.households", "HouseholdRow",
     "row-level: the whole file for the hub; districts/<LAD>/households.parquet for that district only",
     "One row per scored household (benefit claim, or UC award with no claim): monthly cashflow, resilience "
     "status, poverty flags, Pension Credit missed and the take-up checks, with reasons."),
    ("arrears_signals", "schemas.households", "ArrearsSignalRow",
     "row-level: the whole file for the hub; districts/<LAD>/arrears_signals.parquet for that district only",
     "Council-tax accounts in recovery that no benefits claim or UC award is linked to: a 'can't pay' signal "
     "for contact before further recovery (docs/TAKEUP.md 2h)."),
    ("contact_list", "schemas.outputs", "ContactListRow",
     "row-level: the whole file for the hub; districts/<LAD>/contact_list.parquet and contact_list.csv for that "
     "district only",
     "The households to contact, one row each, in order of priority within the district: references, address as "
     "held in the extracts, status now and before, first flagged date, every check that fired with its £ value, "
     "council-tax arrears and stage, and next actions in plain words (docs/CONTACT.md). The CSV has the same "
     "columns for spreadsheets: UTF-8 with a BOM, money to the penny, ISO dates, yes/no, and any text cell "
     "starting with = + - @ tab or CR prefixed with an apostrophe."),
    ("links", "schemas.links", "LinkRow", "row-level: the hub, and each district for its own rows",
     "Every accepted claim-to-account link: method, probability and comparison levels."),
    ("review_queue", "schemas.review", "ReviewPairRow",
     "row-level: the whole file for the hub; districts/<LAD>/review_queue.parquet for that district only",
     "Claim-to-account pairs for clerical review (match probability in the [linkage] review band, or decided by an "
     "analyst): both records' references and address fields side by side, comparison levels, weight, probability "
     "and a stable pair_id; no name or key. Export with 'povertylink review export', decide, 'review import'."),
    ("district_benchmarks", "schemas.outputs", "DistrictBenchmarkRow", _SHARED,
     "Each metric for each district and the county, every run kept (long format)."),
    ("area_needs", "schemas.outputs", "AreaNeedsRow", _SHARED,
     "Households with each need by postcode sector, and by LSOA and ward where a postcode lookup is given."),
    ("status_movement", "schemas.outputs", "StatusMovementRow", _SHARED,
     "Households by resilience status in the previous run and now, with totals."),
    ("pension_credit_campaign", "schemas.outputs", "PensionCreditCampaignRow", _SHARED,
     "Of households flagged missing Pension Credit in the previous run, how many now receive it; every run kept."),
    ("quarantine", "schemas.outputs", "QuarantineRow", "the partnership's analysts (no values, no names)",
     "Every rejected input row: district, file, line, column and reason."),
    ("campaigns", "schemas.outputs", "CampaignRow", _SHARED,
     "Each live campaign's fixed cohort by district and for the county: how many now receive the support, £ a "
     "year now received, still missing, no longer flagged, left the caseload (written while a campaign is live; "
     "docs/CAMPAIGNS.md)."),
    ("district_campaigns", "schemas.outputs", "CampaignRow",
     "row-level district figures: districts/<LAD>/campaigns.parquet for that district only (exact counts)",
     "One district's own exact figures for each live campaign: the same columns as campaigns.parquet, no "
     "suppression or rounding (written while a campaign is live)."),
)
_PATHS: dict[str, str] = {"district_campaigns": "districts/<LAD>/campaigns.parquet"}  # tables not at the root
# Each published table's key: no two rows share these values (tests/e2e/test_keys.py checks every run's files).
# households: one row per household, a household being one benefit claim in one district; a person claiming in
# two districts is in two households that share person_cluster_id (see matching/ids.py).
KEYS: dict[str, tuple[str, ...]] = {
    "households": ("household_id",),
    "links": ("lad_code", "claim_ref"),
    "review_queue": ("pair_id",),
    "district_benchmarks": ("run_id", "lad_code", "metric"),
    "area_needs": ("run_id", "area_type", "area_code", "lad_code", "metric"),
    "status_movement": ("run_id", "lad_code", "from_status", "to_status"),
    "pension_credit_campaign": ("run_id", "lad_code", "outcome"),
    "arrears_signals": ("lad_code", "account_ref"),
    "contact_list": ("household_id",),
    "campaigns": ("run_id", "campaign", "district"),
    "district_campaigns": ("run_id", "campaign", "district"),
}
_INPUT_TEXT: dict[tuple[str, bool], tuple[str, str, str]] = {  # path, audience, description
    ("benefits", False): ("landing/<LAD>/benefits_<YYYY-MM-DD>.csv", "sent to the hub (pseudonymised)",
                          "Housing Benefit / Council Tax Reduction caseload, one row per claim household."),
    ("council_tax", False): ("landing/<LAD>/council_tax_<YYYY-MM-DD>.csv", "sent to the hub (pseudonymised)",
                             "Council-tax accounts, one row per liable account."),
    ("universal_credit", False): ("landing/<LAD>/universal_credit_<YYYY-MM-DD>.csv",
                                  "sent to the hub (pseudonymised; optional)",
                                  "DWP's Universal Credit data share: one row per award per assessment period, "
                                  "money monthly (docs/TAKEUP.md)."),
    ("epc", False): ("landing/epc.csv", "sent to the hub (optional)", "A property's current EPC rating."),
    ("postcode_lookup", False): ("landing/postcode_lookup.csv", "sent to the hub (optional)",
                                 "The 2021 LSOA, ward and district of each postcode."),
}
_RAW = ("the district's own raw extract", "district only: never sent; the input to pseudonymise")


def tables() -> tuple[list[Table], list[Table]]:
    """(input tables, output tables) documented from the models present."""
    from schemas.inputs import MODELS

    inputs = []
    for (kind, raw), model in MODELS.items():
        name = f"{kind}_raw" if raw else kind
        path, audience, description = _RAW + (
            f"The {kind.replace('_', '-')} extract before pseudonymise: names and NINOs in place of keys and "
            "encodings.",) if raw else _INPUT_TEXT.get(
                (kind, raw), (f"landing/{kind}.csv", "sent to the hub", (model.__doc__ or "").strip()))
        inputs.append(Table(name, path, "csv", description, audience, model.__name__, model_columns(model)))
    inputs.sort(key=lambda t: (t.name.endswith("_raw"), list(_INPUT_TEXT).index((t.name, False))
                               if (t.name, False) in _INPUT_TEXT else 99, t.name))
    outputs = []
    for name, module, preferred, audience, description in _OUTPUTS:
        found = _model(module, preferred)
        if found is not None:
            outputs.append(Table(name, _PATHS.get(name, f"{name}.parquet"), "parquet", description, audience,
                                 found.__name__,
                                 model_columns(found), KEYS.get(name, ())))
    return inputs, outputs


def table_schema(table: Table, csv: bool) -> dict[str, Any]:
    """A Frictionless Table Schema for one table."""
    fields = []
    for c in table.columns:
        entry: dict[str, Any] = {"name": c.name, "type": c.frictionless_type,
                                 "description": c.description + (f" ({c.unit})" if c.unit else "")}
        constraints: dict[str, Any] = {}
        if c.required:
            constraints["required"] = True
        if c.minimum is not None:
            constraints["minimum"] = int(c.minimum) if c.minimum.is_integer() else c.minimum
        if c.maximum is not None:
            constraints["maximum"] = int(c.maximum) if c.maximum.is_integer() else c.maximum
        if c.choices:
            constraints["enum"] = list(c.choices)
        if c.unique:
            constraints["unique"] = True
        if c.kind == "ages":
            constraints["pattern"] = r"\d+(;\d+)*"
        if constraints:
            entry["constraints"] = constraints
        if c.kind == "boolean" and csv:
            entry["trueValues"] = sorted({w for t in TRUE_WORDS for w in (t, t.upper(), t.capitalize())})
            entry["falseValues"] = sorted({w for f in FALSE_WORDS for w in (f, f.upper(), f.capitalize())})
        if not csv:
            entry["povertylink:duckdbType"] = c.duckdb_type
        if c.personal is not None:
            entry["povertylink:personal"] = "raw identifier" if c.personal else "pseudonymised identifier"
        fields.append(entry)
    schema: dict[str, Any] = {"fields": fields}
    if table.key:
        schema["primaryKey"] = list(table.key)
    if csv:
        schema["missingValues"] = [""]
    return schema


def datapackage() -> dict[str, Any]:
    """The Frictionless Data Package describing the published folder and the inputs."""
    inputs, outputs = tables()
    return {
        "name": "povertylink",
        "title": "povertylink outputs",
        "profile": "tabular-data-package",
        "description": "Published outputs of one povertylink run; counts in shared tables are rounded to the "
                       "nearest 5 and null where suppressed; money to the nearest £1,000.",
        "resources": [
            {"name": t.name, "path": t.path, "profile": "tabular-data-resource", "format": "parquet",
             "mediatype": "application/vnd.apache.parquet", "description": t.description,
             "povertylink:audience": t.audience, "povertylink:model": t.model, "schema": table_schema(t, csv=False)}
            for t in outputs
        ],
        "povertylink:inputs": [
            {"name": t.name, "path": t.path, "format": "csv", "encoding": "utf-8", "description": t.description,
             "povertylink:audience": t.audience, "povertylink:model": t.model,
             "dialect": {"delimiter": ",", "header": True}, "schema": table_schema(t, csv=True)}
            for t in inputs
        ],
    }


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _rules(c: Column) -> str:
    parts = []
    if c.minimum is not None or c.maximum is not None:
        low = "" if c.minimum is None else f"{c.minimum:g}"
        high = "" if c.maximum is None else f"{c.maximum:g}"
        parts.append(f">= {low}" if not high else (f"<= {high}" if not low else f"{low}..{high}"))
    if c.choices:
        parts.append("one of " + ", ".join(f"`{v}`" for v in c.choices))
    if c.unique:
        parts.append("unique in the file")
    if c.personal is not None:
        parts.append("**raw identifier: never sent to the hub**" if c.personal else "pseudonymised identifier")
    return "; ".join(parts)


def markdown() -> str:
    """The data dictionary for people."""
    inputs, outputs = tables()
    lines = [
        "# povertylink data dictionary",
        "",
        "Generated from the pydantic models in `schemas/` by `pipelines/dictionary.py`; do not edit by hand.",
        "Types of outputs are the DuckDB/Parquet types (BI-safe: signed integers, DECIMAL(18,2), DOUBLE, DATE,",
        "VARCHAR, BOOLEAN). In shared tables, counts are rounded to the nearest 5 and null where `suppressed`; "
        "money to the nearest £1,000.",
        "",
        "## Contents",
        "",
    ]
    lines += [f"- [{t.name}](#{t.name.replace('_', '-')}) — {t.path}" for t in (*outputs, *inputs)]
    for heading, group, csv in (("Outputs", outputs, False), ("Inputs", inputs, True)):
        lines += ["", f"## {heading}"]
        for t in group:
            lines += ["", f"### {t.name}", "", t.description, "",
                      f"- File: `{t.path}` ({t.fmt}); model `{t.model}`", f"- Who may see it: {t.audience}",
                      *([f"- Key (unique in the file): {', '.join(f'`{k}`' for k in t.key)}"] if t.key else []), "",
                      "| column | type | required | description | rules |", "|---|---|---|---|---|"]
            for c in t.columns:
                kind = c.kind if csv else c.duckdb_type
                unit = f" ({c.unit})" if c.unit else ""
                lines.append(f"| `{c.name}` | {kind} | {'yes' if c.required else 'no'} | "
                             f"{_cell(c.description + unit)} | {_cell(_rules(c))} |")
    return "\n".join(lines) + "\n"


def write_dictionary(out_dir: Path) -> None:
    """Write ``data_dictionary.md`` and ``datapackage.json`` into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "data_dictionary.md").write_text(markdown(), encoding="utf-8")
    (out_dir / "datapackage.json").write_text(json.dumps(datapackage(), indent=2) + "\n", encoding="utf-8")
