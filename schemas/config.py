"""The run's optional TOML config file (``povertylink run --config FILE``).

Each section overrides one stage's settings without touching code::

    [parameters]          # any tax-year parameter of domain/RULES.md, by name
    food_weekly_per_person = 34.00
    [linkage]             # matching settings (see matching.settings)
    match_threshold = 0.9
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from schemas.errors import UserError


class RunConfig(BaseModel):
    """Overrides by stage; unknown sections are refused so that a typo is not silently ignored."""

    model_config = ConfigDict(extra="forbid")

    parameters: dict[str, Any] = Field(default_factory=dict, description="tax-year parameter overrides")
    linkage: dict[str, Any] = Field(default_factory=dict, description="linkage settings overrides")
    scoring: dict[str, Any] = Field(default_factory=dict, description="scoring options, e.g. fuel_poverty_method")


def load_config(path: Path | None) -> RunConfig:
    """Read and check a config file; UserError naming the file and problem when it is bad."""
    if path is None:
        return RunConfig()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise UserError(f"--config {path}: cannot be read ({err.strerror or err})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise UserError(f"--config {path}: not valid TOML ({err})") from None
    try:
        return RunConfig.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise UserError(f"--config {path}: {where}: {first['msg']}") from None
