"""What-if scenarios: the current run's households scored again under changed parameters, side by side.

``povertylink scenario FILE --output OUT`` (:func:`run_scenario`) reads a TOML file (:func:`load_scenario`)::

    name = "fh-band-one-100"            # names the folder OUT/scenarios/<name>/
    description = "F&H band one at 100%"
    district = ["E07000112"]            # optional: the districts reported (default every district)
    base_year = "2026-27"               # optional: must be the current run's tax year
    [parameters]                        # any tax-year parameter, as in `run --config` (not state_pension_age)
    energy_annual = 1805.10

It loads the current run's validated extracts and links (read only: nothing under ``current/`` or
``runs/`` is written), scores every household twice with the scoring SQL of :mod:`pipelines.score`
(baseline: the run's own parameters; scenario: those plus the file's), and writes into
``OUT/scenarios/<name>/`` (replaced whole, atomically):

- ``comparison.parquet``: every benchmark metric per district and the county, baseline and scenario
  side by side, with the households that change: shared, so disclosure-controlled (10-5 rule,
  money to £1,000; a cell hidden in either column is hidden in both);
- ``districts/<LAD>/comparison.parquet``: that district's exact figures;
- ``districts/<LAD>/changed_households.parquet``: its households whose status, a flag, or a check's
  confidence or value changes, before and after (row-level: that district only);
- ``scenario.json``: the file, every override with its baseline and scenario value, the run scored.

Personal data: pseudonymised extracts are read on the hub; row-level output only per district.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import tomllib
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from benchmarks.disclosure import Line, protect, round_money
from benchmarks.metrics import MONEY_METRICS, benchmark_lines, raw_counts
from pipelines.publish import current_dir, write_json, write_parquet
from schemas.columns import LAD_PATTERN
from schemas.config import LinkSettings
from schemas.errors import UserError
from schemas.households import TAKEUP_CHECKS
from schemas.outputs import METRICS
from schemas.parameters import Parameters
from schemas.reference import COUNTY_CODE, COUNTY_NAME, district_name
from schemas.sql import quote_str

SCENARIOS = "scenarios"
FORBIDDEN = ("state_pension_age",)  # TAKEUP.md section 4: a scenario may not change State Pension age rules
CHANGE_METRICS = ("households_changed", "status_changed")
COMPARED = ("resilience_status", "fuel_poverty", "water_poverty", "food_poverty", "pension_credit_missing",
            "pension_credit_value_annual",
            *(f"{check}_{part}" for check in TAKEUP_CHECKS for part in ("confidence", "value_annual")))
"""Columns whose change puts a household in changed_households (cashflow alone does not)."""


class ScenarioFile(BaseModel):
    """A scenario file: unknown keys are refused, so that a typo is never ignored."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$",
                      description="names the output folder: letters, digits, '-' and '_'")
    description: str = ""
    district: list[str] = Field(default_factory=list, description="districts reported (default every district)")
    base_year: str | None = Field(default=None, pattern=r"^\d{4}-\d{2}$",
                                  description="the tax year the scenario was written for: must be the run's")
    parameters: dict[str, Any] = Field(default_factory=dict, description="tax-year parameter overrides, by name")

    @field_validator("district")
    @classmethod
    def _codes(cls, value: list[str]) -> list[str]:
        for code in value:
            if not re.fullmatch(LAD_PATTERN, code):
                raise ValueError(f"{code!r} is not an ONS local-authority code (e.g. E07000112)")
        return sorted(set(value))

    @field_validator("parameters")
    @classmethod
    def _known(cls, value: dict[str, Any]) -> dict[str, Any]:
        Parameters.refuse_unknown(value, "parameter")
        forbidden = sorted(set(value) & set(FORBIDDEN))
        if forbidden:
            raise ValueError(f"{forbidden[0]} may not be changed by a scenario (TAKEUP.md section 4)")
        if not value:
            raise ValueError("no override: a scenario changes at least one parameter")
        return value


def load_scenario(path: Path) -> ScenarioFile:
    """The scenario file, checked; UserError naming the file and the first problem."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise UserError(f"{path}: cannot be read ({err.strerror or err})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise UserError(f"{path}: not valid TOML ({err})") from None
    try:
        return ScenarioFile.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        message = str(first["msg"]).removeprefix("Value error, ")
        if first["type"] == "extra_forbidden":
            message = f"unknown key; allowed: {', '.join(ScenarioFile.model_fields)}"
        raise UserError(f"{path}: {where}: {message}") from None


@dataclass
class ScenarioResult:
    """What a scenario run wrote, and the county's shared figures for the terminal."""

    folder: Path
    run_id: str
    county: list[dict[str, Any]] = field(default_factory=list)

    def summary(self) -> str:
        lines = [f"scenario scored on run {self.run_id}: written to {self.folder}",
                 f"{'county metric':<32} {'baseline':>9} {'scenario':>9} {'change':>8}"]
        for row in self.county:
            if row["metric"] in CHANGE_METRICS or row["change"]:
                cells = [("*" if v is None else f"{v:,}") for v in
                         (row["baseline_count"], row["scenario_count"], row["change"])]
                if row["metric"] in CHANGE_METRICS:
                    cells[0] = ""
                lines.append(f"{row['metric'][:32]:<32} {cells[0]:>9} {cells[1]:>9} {cells[2]:>8}")
        lines.append("(shared figures: counts rounded to 5, * hidden; each district's exact figures are in "
                     "districts/<LAD>/comparison.parquet)")
        return "\n".join(lines)


def _score(con: duckdb.DuckDBPyConnection, as_of: dt.date, params: Parameters, run_id: str,
           exclude: set[str], linkage: LinkSettings
           ) -> tuple[list[str], dict[tuple[str, str], int], dict[tuple[str, str], Decimal]]:
    """Score ``households`` as the run did (its link settings: UC awards join claims and accounts at its
    threshold) under ``params``; the benchmark counts."""
    from pipelines.score.households import score_households

    score_households(con, as_of, params, run_id, linkage)
    return raw_counts(con, exclude)


def _load(con: duckdb.DuckDBPyConnection, run: Path, lad_codes: list[str]) -> None:
    """The run's validated extracts and links into the work database (read only)."""
    from pipelines.hub import restore_stage
    from pipelines.hub_database import load_hub

    load_hub(con, run, lad_codes)
    restore_stage(con, "link", run)


def _changes_sql() -> str:
    """Households (baseline b, scenario s) whose compared columns differ, with what changed in words."""
    said = ", ".join(f"CASE WHEN b.{c} IS DISTINCT FROM s.{c} THEN '{c}: ' || coalesce(CAST(b.{c} AS VARCHAR), "
                     f"'none') || ' -> ' || coalesce(CAST(s.{c} AS VARCHAR), 'none') END" for c in COMPARED)
    side = ", ".join(f"b.{c} AS baseline_{c}, s.{c} AS scenario_{c}"
                     for c in ("resilience_status", "cashflow_monthly", *COMPARED[1:]))
    differ = " OR ".join(f"b.{c} IS DISTINCT FROM s.{c}" for c in COMPARED)
    return f"""CREATE OR REPLACE TABLE changed AS
        SELECT b.household_id, b.lad_code, b.claim_ref, b.account_ref, concat_ws('; ', {said}) AS changes, {side}
        FROM baseline b JOIN households s ON s.household_id = b.household_id
        WHERE {differ}"""


def _comparison_rows(name: str, run_id: str, areas: list[str], base: dict[tuple[str, str], Any],
                     scen: dict[tuple[str, str], Any], money_b: dict[tuple[str, str], Decimal],
                     money_s: dict[tuple[str, str], Decimal], changed: dict[tuple[str, str], Any],
                     exact: bool, county_name: str = COUNTY_NAME) -> list[dict[str, Any]]:
    """Rows of comparison.parquet; ``base``/``scen``/``changed``: count per (area, metric), None where hidden;
    ``county_name``: the county rows' ``district_name`` (the run's manifest ``county_name``)."""
    rows = []
    for area in areas:
        label = county_name if area == COUNTY_CODE else district_name(area)
        for metric in METRICS:
            b, s = base[(area, metric)], scen[(area, metric)]
            hidden = b is None or s is None
            value_b = value_s = None
            if metric in MONEY_METRICS and not hidden:
                value_b, value_s = money_b[(area, metric)], money_s[(area, metric)]
                if not exact:
                    value_b, value_s = round_money(value_b), round_money(value_s)
            rows.append({"scenario": name, "run_id": run_id, "lad_code": area, "district_name": label,
                         "metric": metric, "baseline_count": None if hidden else b,
                         "scenario_count": None if hidden else s, "change": None if hidden else s - b,
                         "baseline_value_gbp": value_b, "scenario_value_gbp": value_s,
                         "value_change_gbp": None if value_b is None or value_s is None else value_s - value_b,
                         "suppressed": hidden})
        for metric in CHANGE_METRICS:
            n = changed[(area, metric)]
            rows.append({"scenario": name, "run_id": run_id, "lad_code": area, "district_name": label,
                         "metric": metric, "baseline_count": None, "scenario_count": n, "change": n,
                         "baseline_value_gbp": None, "scenario_value_gbp": None, "value_change_gbp": None,
                         "suppressed": n is None})
    return rows


COMPARISON_COLUMNS = ("scenario VARCHAR, run_id VARCHAR, lad_code VARCHAR, district_name VARCHAR, metric VARCHAR, "
                      "baseline_count BIGINT, scenario_count BIGINT, change BIGINT, baseline_value_gbp DECIMAL(18,2), "
                      "scenario_value_gbp DECIMAL(18,2), value_change_gbp DECIMAL(18,2), suppressed BOOLEAN")


def _write_rows(con: duckdb.DuckDBPyConnection, rows: list[dict[str, Any]], path: Path) -> int:
    con.execute(f"CREATE OR REPLACE TEMP TABLE comparison_rows ({COMPARISON_COLUMNS})")
    names = [c.split()[0] for c in COMPARISON_COLUMNS.split(", ")]
    if rows:
        con.executemany(f"INSERT INTO comparison_rows VALUES ({', '.join('?' for _ in names)})",
                        [[r[n] for n in names] for r in rows])
    return write_parquet(con, "SELECT * FROM comparison_rows", path)


def run_scenario(output: Path, scenario: ScenarioFile) -> ScenarioResult:
    """Score the current run's households under ``scenario`` into ``output/scenarios/<name>/``.

    The caller holds the output folder's lock (:func:`pipelines.run.output_lock`): no run moves
    ``current`` or prunes its files meanwhile. UserError: no current run, its validated extracts pruned,
    a tax year other than the run's, districts not in the run, or overrides that fail validation.
    """
    from pipelines.hub_database import connect
    from pipelines.score.params import load_parameters, tax_year_for

    run = current_dir(output)
    if run is None or not (run / "manifest.json").is_file():
        raise UserError(f"--output {output}: there is no current run to score again; run povertylink run first")
    manifest = json.loads((run / "manifest.json").read_text(encoding="utf-8"))
    as_of, run_id = dt.date.fromisoformat(manifest["as_of"]), str(manifest["run_id"])
    lad_codes = sorted(d["lad_code"] for d in manifest.get("districts", [])
                       if (run / "validated" / d["lad_code"] / "benefits.parquet").is_file())
    if not lad_codes or not (run / "links.parquet").is_file():
        raise UserError(f"the current run {run_id} has no validated extracts or links to score again")
    if scenario.base_year and scenario.base_year != tax_year_for(as_of):
        raise UserError(f"base_year {scenario.base_year}: the current run ({run_id}) is scored with the "
                        f"{tax_year_for(as_of)} parameters; write the scenario for that year")
    unknown = [d for d in scenario.district if d not in lad_codes]
    if unknown:
        raise UserError(f"district {unknown[0]}: not in the current run (it has {', '.join(lad_codes)})")
    own = dict((manifest.get("config") or {}).get("parameters") or {})
    linkage = LinkSettings.model_validate((manifest.get("config") or {}).get("linkage") or {})  # the run's
    baseline_params = load_parameters(as_of, own or None)
    scenario_params = load_parameters(as_of, own | scenario.parameters)
    exclude = {d["lad_code"] for d in (manifest.get("completeness") or {}).get("districts", [])
               if d.get("status") != "complete"}  # outside the county's figures, as in the run's benchmarks
    root = output / SCENARIOS
    building = root / f".building-{scenario.name}-{os.getpid()}"
    shutil.rmtree(building, ignore_errors=True)
    building.mkdir(parents=True)
    con = connect(building / "_work")
    try:
        _load(con, run, lad_codes)
        districts, base, money_b = _score(con, as_of, baseline_params, run_id, exclude, linkage)
        con.execute("CREATE OR REPLACE TABLE baseline AS SELECT * FROM households")
        _, scen, money_s = _score(con, as_of, scenario_params, run_id, exclude, linkage)
        con.execute(_changes_sql())
        published = quote_str(str(run / "households.parquet"))
        differ = con.execute(f"""SELECT count(*) FROM baseline b FULL JOIN read_parquet({published}) p
            USING (household_id) WHERE b.resilience_status IS DISTINCT FROM p.resilience_status
            OR b.pension_credit_missing IS DISTINCT FROM p.pension_credit_missing""").fetchall()[0][0]
        changed: dict[tuple[str, str], int] = {}
        for lad in districts:
            row = con.execute("SELECT count(*), count(*) FILTER (WHERE baseline_resilience_status IS DISTINCT FROM "
                              "scenario_resilience_status) FROM changed WHERE lad_code = ?", [lad]).fetchall()[0]
            changed[(lad, "households_changed")], changed[(lad, "status_changed")] = int(row[0]), int(row[1])
        for metric in CHANGE_METRICS:
            changed[(COUNTY_CODE, metric)] = sum(changed[(lad, metric)] for lad in districts)
        areas = [*(d for d in districts if not scenario.district or d in scenario.district), COUNTY_CODE]
        county_rows = _write_outputs(con, building, scenario.name, run_id, districts, areas, base, scen, money_b,
                                     money_s, changed, str(manifest.get("county_name") or COUNTY_NAME))
        before, after = baseline_params.manifest(), scenario_params.manifest()
        summary = {"name": scenario.name, "description": scenario.description, "run_id": run_id,
                   "as_of": as_of.isoformat(), "tax_year": tax_year_for(as_of),
                   "created_at": dt.datetime.now(dt.timezone.utc).isoformat(),
                   "districts": [a for a in areas if a != COUNTY_CODE],
                   "overrides": {n: {"baseline": before["parameters"][n]["value"],
                                     "scenario": after["parameters"][n]["value"]}
                                 for n in sorted(scenario.parameters)},
                   "run_parameters": own, "baseline_matches_published": differ == 0,
                   "outputs": ["comparison.parquet", "districts/<LAD>/comparison.parquet",
                               "districts/<LAD>/changed_households.parquet"],
                   "note": "baseline: the current run's households scored again with its own parameters; scenario: "
                           "the same with the overrides. Shared counts are rounded to 5 and hidden (null) for 1 to 9 "
                           "or where they would reveal one; money to £1,000."}
        write_json(summary, building / "scenario.json")
    except Exception:
        con.close()
        shutil.rmtree(building, ignore_errors=True)
        raise
    con.close()
    shutil.rmtree(building / "_work", ignore_errors=True)
    final = root / scenario.name
    old = root / f".old-{scenario.name}-{os.getpid()}"
    if final.exists():
        os.rename(final, old)
    os.rename(building, final)
    shutil.rmtree(old, ignore_errors=True)
    return ScenarioResult(final, run_id, county_rows)


def _write_outputs(con: duckdb.DuckDBPyConnection, folder: Path, name: str, run_id: str, districts: list[str],
                   areas: list[str], base: dict[tuple[str, str], int], scen: dict[tuple[str, str], int],
                   money_b: dict[tuple[str, str], Decimal], money_s: dict[tuple[str, str], Decimal],
                   changed: dict[tuple[str, str], int], county_name: str = COUNTY_NAME) -> list[dict[str, Any]]:
    """comparison.parquet (shared), and each reported district's exact comparison and changed households."""
    lines = benchmark_lines(districts)
    keep = {(COUNTY_CODE, metric): 1 for metric in METRICS}
    shown_b, shown_s = protect(base, lines, keep=keep), protect(scen, lines, keep=keep)
    hidden = {k for k in base if shown_b[k].suppressed or shown_s[k].suppressed}  # hidden in either: in both
    base_pub = {k: None if k in hidden else shown_b[k].count for k in base}
    scen_pub = {k: None if k in hidden else shown_s[k].count for k in scen}
    change_lines = [Line(tuple((lad, m) for lad in districts), (COUNTY_CODE, m)) for m in CHANGE_METRICS]
    shown_c = protect(changed, change_lines, keep={(COUNTY_CODE, m): 1 for m in CHANGE_METRICS})
    changed_pub = {k: v.count for k, v in shown_c.items()}
    shared = _comparison_rows(name, run_id, areas, base_pub, scen_pub, money_b, money_s, changed_pub, exact=False,
                              county_name=county_name)
    _write_rows(con, shared, folder / "comparison.parquet")
    for lad in (a for a in areas if a != COUNTY_CODE):
        own = _comparison_rows(name, run_id, [lad], base, scen, money_b, money_s, changed, exact=True)
        _write_rows(con, own, folder / "districts" / lad / "comparison.parquet")
        write_parquet(con, f"SELECT {quote_str(name)} AS scenario, * FROM changed WHERE lad_code = {quote_str(lad)} "
                           "ORDER BY household_id", folder / "districts" / lad / "changed_households.parquet")
    return [r for r in shared if r["lad_code"] == COUNTY_CODE]
