"""Scoring parameters as data: one TOML file per tax year in this package, validated on load.

``load_parameters(as_of)`` picks the tax year of the run's as-of date (6 April to 5 April) and
applies the run config's ``[parameters]`` overrides. No personal data.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from importlib import resources
from typing import Any

from pydantic import ValidationError

from schemas.errors import UserError
from schemas.parameters import Parameters

__all__ = ["held_tax_years", "load_parameters", "tax_year_for"]


def tax_year_for(as_of: dt.date) -> str:
    """The UK tax year holding ``as_of``, as 'YYYY-YY' (5 Apr 2026 -> '2025-26', 6 Apr 2026 -> '2026-27')."""
    start = as_of.year if as_of >= dt.date(as_of.year, 4, 6) else as_of.year - 1
    return f"{start}-{(start + 1) % 100:02d}"


def held_tax_years() -> list[str]:
    """Tax years with a parameter file in this package, oldest first."""
    files = resources.files(__name__).iterdir()
    return sorted(f.name.removesuffix(".toml") for f in files if f.name.endswith(".toml"))


def _read(tax_year: str) -> dict[str, Any]:
    text = resources.files(__name__).joinpath(f"{tax_year}.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def _describe(err: ValidationError) -> str:
    first = err.errors()[0]
    where = ".".join(str(p) for p in first["loc"])
    return f"{where}: {first['msg']}"


def load_parameters(as_of: dt.date, overrides: dict[str, Any] | None = None) -> Parameters:
    """The parameters of the tax year of ``as_of``, with ``overrides`` (name -> value) applied.

    Raises UserError for an as-of date outside the years held, an unknown parameter name or an
    override that fails validation (e.g. a negative amount, or ``fuel_poverty_method = 'lilee'``).
    """
    tax_year = tax_year_for(as_of)
    held = held_tax_years()
    if tax_year not in held:
        raise UserError(
            f"no scoring parameters for tax year {tax_year} (as-of date {as_of.isoformat()}); "
            f"parameters are held for {', '.join(held)}"
        )
    data = _read(tax_year)
    overrides = dict(overrides or {})
    names = Parameters.parameter_names()
    unknown = sorted(set(overrides) - set(names))
    if unknown:
        raise UserError(f"unknown scoring parameter(s) in [parameters]: {', '.join(unknown)}; "
                        f"known: {', '.join(names)}")
    defaults: dict[str, Any] = {}
    for name, value in overrides.items():
        defaults[name] = data[name]["value"]
        data[name] = {**data[name], "value": value}
    try:
        params = Parameters.model_validate({**data, "overridden": {}})
        if defaults:  # keep the validated default values, for the manifest
            base = Parameters.model_validate(_read(tax_year))
            params = params.model_copy(update={"overridden": {n: base.param(n).value for n in defaults}})
    except ValidationError as err:
        which = f" (overrides: {', '.join(sorted(overrides))})" if overrides else ""
        raise UserError(f"scoring parameters for {tax_year} are not valid{which}: {_describe(err)}") from err
    return params
