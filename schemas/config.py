"""The run's configuration file (``povertylink run --config FILE``), typed section by section.

Each section is a pydantic model that refuses unknown keys; the whole file is checked before the
first extract is read, and a problem is one line naming the section, the key and the keys allowed::

    [parameters]          # any tax-year parameter of docs/RULES.md, by name
    food_weekly_per_person = 34.00
    [linkage]             # matching settings (LinkSettings below)
    threshold = 0.95
    [retention]           # how many runs keep their row-level files (RetentionSettings below)
    keep_runs = 13
    [completeness]        # which districts a run expects, and what it must announce (CompletenessSettings)
    require_complete = true
    [report]              # how the report and the terminal name things (ReportSettings)
    county_name = "Kent"
    [resources]           # the run's memory budget and threads for DuckDB (ResourceSettings below)
    memory_limit = "2GB"

No personal data.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from schemas.columns import LAD_PATTERN
from schemas.errors import UserError
from schemas.parameters import Parameters


class LinkSettings(BaseModel):
    """Thresholds and options of the linkage stage (the run config's ``[linkage]`` section)."""

    model_config = ConfigDict(extra="forbid")

    threshold: float = Field(default=0.9, gt=0, lt=1,
        description="least probability of a probabilistic claim-account link")
    person_threshold: float = Field(default=0.9, gt=0, lt=1,
        description="least probability of a cross-district person link")
    review_lower: float = Field(default=0.2, ge=0, le=1,
        description="review band (review_queue.parquet, povertylink review): least match probability of a claim's "
                    "best pair to be reviewed; below it a pair is clearly not a match")
    review_upper: float = Field(default=0.98, ge=0, le=1,
        description="review band: a claim's best pair at this probability or above is clearly a match and is "
                    "reviewed only when it was not linked (its account went to a better claim)")
    use_uprn: bool = Field(default=True,
        description="link first on the same UPRN where the addresses agree")
    min_pairs_for_em: int = Field(default=500, ge=0,
        description="fewer candidate pairs than this: use the starting model (an implausible EM fit falls back "
                    "to it too)")
    em_max_iterations: int = Field(default=200, ge=1,
        description="EM iteration limit")
    estimator: Literal["em", "ecm"] = Field(default="em",
        description="m/u estimator: the project's EM (default, chosen by measurement: matching/README.md) "
                    "or recordlinkage's ECM")
    histogram_bin_width: float = Field(default=2.0, gt=0,
        description="width of the match-weight histogram bins (log2 odds)")


class RetentionSettings(BaseModel):
    """How long row-level personal data is kept (the run config's ``[retention]`` section)."""

    model_config = ConfigDict(extra="forbid")

    keep_runs: int = Field(default=13, ge=1, le=1000,
        description="published runs (this one included) that keep their row-level files: households, districts/, "
                    "validated extracts, links, review queue, quarantine, arrears signals, povertylink.duckdb; older "
                    "runs keep their manifest and aggregate tables only. 13 nightly runs is about a fortnight, as "
                    "long as the ingest cache keeps extracts: enough to rerun or compare with any recent run, and no "
                    "longer (docs/OPERATIONS.md)")


ONS_CODE = re.compile(LAD_PATTERN)  # a local-authority code: E07000112


class CompletenessSettings(BaseModel):
    """What a complete run is, and what it does when it is not (the run config's ``[completeness]`` section).

    The default publishes an incomplete run with its gaps shown (banner, not-available rows, county
    figures over the complete districts only): a partnership still gets the districts that did
    arrive, and ``require_complete = true`` is there for those who would rather publish nothing.
    """

    model_config = ConfigDict(extra="forbid")

    districts: list[str] = Field(default_factory=list,
        description="the partnership's districts by ONS code; empty: the landing folder's district folders")
    stale_after_days: int = Field(default=35, ge=1,
        description="an extract dated more than this many days before the as-of date makes its district stale")
    caseload_drop_share: float = Field(default=0.2, gt=0, le=1,
        description="a fall in a district's valid claims by more than this share since the last run is a warning")
    require_complete: bool = Field(default=False,
        description="true: a run with any district not complete publishes nothing and exits 3")
    fail_on_warnings: bool = Field(default=False,
        description="true: a run with a warning (caseload fall, file with no data rows) publishes nothing and "
                    "exits 3")

    @field_validator("districts")
    @classmethod
    def _ons_codes(cls, value: list[str]) -> list[str]:
        for code in value:
            if not ONS_CODE.match(code):
                raise ValueError(f"{code!r} is not an ONS local-authority code (e.g. E07000112)")
        if len(set(value)) != len(value):
            raise ValueError("a district is listed twice")
        return value


class ReportSettings(BaseModel):
    """How the reports and the terminal summary name the partnership (the run config's ``[report]`` section)."""

    model_config = ConfigDict(extra="forbid")

    county_name: str | None = Field(default=None, min_length=1, max_length=80,
        description="the name of the whole partnership in the reports and the summary (its 'county' rows); "
                    "default: Kent when every district is one of Kent's, else 'the partnership'")

    @field_validator("county_name")
    @classmethod
    def _printable(cls, value: str | None) -> str | None:
        if value is not None and (not value.strip() or any(ord(c) < 32 or ord(c) == 127 for c in value)):
            raise ValueError("must be a name of printable characters")
        return value.strip() if value is not None else None
MEMORY_SHARE = 16  # the default budget is this fraction (1/16) of the machine's memory ...
MIN_MEMORY_BYTES = 1 << 30  # ... and at least 1 GiB
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(MB|GB|MiB|GiB)\s*$", re.IGNORECASE)
_UNITS = {"mb": 10**6, "gb": 10**9, "mib": 2**20, "gib": 2**30}


def machine_memory_bytes() -> int:
    """This machine's physical memory in bytes (0 when the system does not say)."""
    import os

    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):
        return 0


class ResourceSettings(BaseModel):
    """How much memory and how many threads a run's DuckDB work may use (the ``[resources]`` section).

    ``memory_limit`` is the run's DuckDB budget: the hub's database gets all of it, each linkage
    partition step (per district, on the run's threads or a Dask worker) a share of it, and beyond it
    DuckDB spills to the run's private staging folder (``_work``, deleted at the end). The hub links,
    scores and writes district by district, so the budget needed follows the largest district, not
    the county (docs/DESIGN.md C31).
    """

    model_config = ConfigDict(extra="forbid")

    memory_limit: str = Field(default="",
        description="DuckDB memory budget of the run, e.g. \"1.5GB\" or \"1536MiB\"; empty: a sixteenth of this "
                    "machine's memory and at least 1 GiB (1.5 GB on a 24 GB machine). The process's peak is about "
                    "this plus ~0.5 GB of Python")
    threads: int = Field(default=0, ge=0, le=256,
        description="DuckDB threads of the hub's database; 0: one per core")

    @field_validator("memory_limit")
    @classmethod
    def _size(cls, value: str) -> str:
        if value and not _SIZE.match(value):
            raise ValueError(f"{value!r} is not a size like \"2GB\", \"1.5GB\" or \"1536MiB\"")
        if value and cls.parse_bytes(value) < 256 * 2**20:  # below this some DuckDB operators cannot run
            raise ValueError(f"{value!r} is too small: at least 256 MiB")
        return value

    @staticmethod
    def parse_bytes(text: str) -> int:
        """Bytes of a size written like \"2GB\" (10^9) or \"1536MiB\" (2^20)."""
        found = _SIZE.match(text)
        if not found:
            raise ValueError(f"not a size: {text!r}")
        return int(float(found.group(1)) * _UNITS[found.group(2).lower()])

    def memory_bytes(self) -> int:
        """The budget in bytes: ``memory_limit`` or the default share of this machine."""
        if self.memory_limit:
            return self.parse_bytes(self.memory_limit)
        return max(machine_memory_bytes() // MEMORY_SHARE, MIN_MEMORY_BYTES)


def duckdb_size(nbytes: int) -> str:
    """A byte count as DuckDB's ``memory_limit`` takes it (whole MiB)."""
    return f"{max(nbytes // 2**20, 1)}MiB"


class RunConfig(BaseModel):
    """Overrides by stage; unknown sections and keys are refused so that a typo is never ignored."""

    model_config = ConfigDict(extra="forbid")

    parameters: dict[str, Any] = Field(default_factory=dict,
        description="tax-year parameter overrides, by name (validated against the as-of year's file)")
    linkage: LinkSettings = Field(default_factory=LinkSettings, description="linkage settings")
    retention: RetentionSettings = Field(default_factory=RetentionSettings, description="retention of runs")
    completeness: CompletenessSettings = Field(default_factory=CompletenessSettings,
        description="expected districts, staleness, warnings, and whether an incomplete run publishes")
    report: ReportSettings = Field(default_factory=ReportSettings,
        description="how the reports and the terminal summary name the partnership")
    resources: ResourceSettings = Field(default_factory=ResourceSettings,
        description="DuckDB memory budget and threads (spilling beyond the budget)")

    @field_validator("parameters")
    @classmethod
    def _known_parameters(cls, value: dict[str, Any]) -> dict[str, Any]:
        return Parameters.refuse_unknown(value)


def _allowed(section: str) -> list[str]:
    if section == "parameters":
        return Parameters.parameter_names()
    field = RunConfig.model_fields.get(section)
    model = field.annotation if field is not None else None
    if isinstance(model, type) and issubclass(model, BaseModel):
        return list(model.model_fields)
    return list(RunConfig.model_fields)


def describe_config_error(err: ValidationError) -> str:
    """One line for the first problem: ``[section] key: what is wrong; allowed: ...`` where a key is unknown."""
    first = err.errors()[0]
    loc = [str(p) for p in first["loc"]]
    if len(loc) == 1 and first["type"] == "extra_forbidden":
        return f"unknown section [{loc[0]}]; allowed: {', '.join(f'[{s}]' for s in RunConfig.model_fields)}"
    section, key = loc[0], ".".join(loc[1:])
    if first["type"] == "extra_forbidden":
        return f"[{section}] unknown key {key!r}; allowed: {', '.join(_allowed(section))}"
    message = str(first["msg"]).removeprefix("Value error, ")
    if message.startswith("unknown key"):
        return f"[{section}] {message}; allowed: {', '.join(_allowed(section))}"
    return f"[{section}] {key}: {message}" if key else f"[{section}]: {message}"


def parse_config(text: str, where: str) -> RunConfig:
    """The configuration in TOML ``text``; UserError naming ``where`` and the first problem."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise UserError(f"{where}: not valid TOML ({err})") from None
    try:
        return RunConfig.model_validate(data)
    except ValidationError as err:
        raise UserError(f"{where}: {describe_config_error(err)}") from None


def load_config(path: Path | None) -> RunConfig:
    """Read and check a config file; UserError naming the file and problem when it is bad."""
    if path is None:
        return RunConfig()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise UserError(f"--config {path}: cannot be read ({err.strerror or err})") from None
    except UnicodeDecodeError as err:
        raise UserError(f"--config {path}: not valid TOML ({err})") from None
    return parse_config(text, f"--config {path}")
