"""Campaigns that keep their cohort: freeze a run's flagged households, then follow them run after run.

``povertylink campaign start NAME --check CHECK`` (:func:`start_campaign`) copies the current run's
households flagged by CHECK (Pension Credit or a take-up check of docs/TAKEUP.md), with their values
and what they received then, into ``<output>/campaigns/<NAME>/cohort.parquet`` beside
``campaign.json``. Every later run (:func:`campaign_stage`, called by the hub after the benchmarks)
sorts each live campaign's cohort into exactly one of:

- ``left_caseload``: the household is not scored any more (its ``household_id`` is gone);
- ``now_receiving``: it receives more of the support than when the campaign started (:data:`RECEIPT`);
- ``still_missing``: the check still flags it;
- ``no_longer_flagged``: otherwise (its circumstances, or the rules, changed).

The hub's tables ``campaigns_exact`` (each district's exact figures, published only in its own
``districts/<LAD>/campaigns.parquet``) and ``campaigns`` (shared: 10-5 rule with secondary suppression,
money to £1,000) are written by :func:`pipelines.hub.write_outputs`.

Personal data: the cohort is row-level (household id, claim and account references, values), kept in
the output folder on the hub beside the runs' row-level files; only counts and sums leave this module.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

from benchmarks.disclosure import Line, is_primary, protect, round_money
from benchmarks.output_tables import create_from_model, insert_rows
from pipelines.publish import current_dir, write_json
from schemas.errors import UserError
from schemas.households import TAKEUP_CHECKS
from schemas.outputs import CampaignRow
from schemas.reference import COUNTY_CODE, COUNTY_NAME, district_name
from schemas.sql import quote_str

CAMPAIGNS = "campaigns"  # folder of the output folder holding one folder per campaign
COHORT = "cohort.parquet"
SETTINGS = "campaign.json"
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
CHECKS: tuple[str, ...] = ("pension_credit", *TAKEUP_CHECKS)
TEXT_COLUMNS = ("lad_code", "claim_ref", "account_ref")
OUTCOMES = ("now_receiving", "still_missing", "no_longer_flagged", "left_caseload")

RECEIPT: dict[str, str | None] = {
    # check -> £ a year of the support received now, over households h, benefits b and council_tax c
    # (None: the extracts cannot show receipt, so now_receiving is null)
    "pension_credit": "coalesce(h.pension_credit_weekly, 0) * 52",
    "ctr": "greatest(coalesce(b.ctr_weekly, 0) * 52, coalesce(c.ctr_annual, 0))",
    "fsm": None,
    "healthy_start": None,
    "attendance_allowance": "coalesce(b.disability_benefit_weekly, 0) * 52",
    "whd": None,
    "water_tariff": None,
    "watersure": None,
    "hb_pensioner": "coalesce(b.hb_weekly, 0) * 52",
}
RECEIPT_RULE: dict[str, str] = {
    "pension_credit": "Pension Credit in payment in the benefits extract (pension_credit_weekly x 52) is more "
                      "than when the campaign started",
    "ctr": "Council Tax Reduction present: the claim's ctr_weekly x 52 or the account's ctr_annual, the larger, "
           "is more than when the campaign started",
    "attendance_allowance": "a disability benefit in payment (disability_benefit_weekly x 52) is more than when "
                            "the campaign started",
    "hb_pensioner": "Housing Benefit in payment (hb_weekly x 52) is more than when the campaign started",
}


def flagged_sql(check: str) -> str:
    """SQL condition (over households ``h``) that the check flags the household."""
    if check == "pension_credit":
        return "coalesce(h.pension_credit_missing, false)"
    return f"h.{check}_confidence IS NOT NULL"


def value_sql(check: str) -> str:
    """SQL (over households ``h``) for the check's value, £ a year (null where unknown)."""
    return "h.pension_credit_value_annual" if check == "pension_credit" else f"h.{check}_value_annual"


def confidence_sql(check: str) -> str:
    """SQL (over households ``h``) for the flag's confidence ('likely' for Pension Credit: the data show it)."""
    return "CASE WHEN coalesce(h.pension_credit_missing, false) THEN 'likely' END" if check == "pension_credit" \
        else f"h.{check}_confidence"


def received_sql(check: str) -> str:
    """SQL for £ a year received now, DECIMAL(18,2) (NULL where receipt is not in the data)."""
    expr = RECEIPT[check]
    return f"CAST({expr} AS DECIMAL(18,2))" if expr else "CAST(NULL AS DECIMAL(18,2))"


def household_view_sql(check: str) -> str:
    """Every scored household with the check's flag, value and receipt now (tables households, benefits,
    council_tax)."""
    return f"""SELECT h.household_id, h.lad_code, h.claim_ref, h.account_ref,
        {flagged_sql(check)} AS flagged, {confidence_sql(check)} AS confidence,
        CAST({value_sql(check)} AS DECIMAL(18,2)) AS value_annual, {received_sql(check)} AS received_annual
    FROM households h
    LEFT JOIN benefits b ON b.lad_code = h.lad_code AND b.claim_ref = h.claim_ref
    LEFT JOIN council_tax c ON c.lad_code = h.lad_code AND c.account_ref = h.account_ref"""


@dataclass(frozen=True)
class Campaign:
    """One campaign's settings (``campaign.json``)."""

    name: str
    check: str
    started: dt.date
    started_run_id: str
    districts: tuple[str, ...]
    cohort: int
    status: str  # live | stopped
    created_at: str
    stopped_at: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "check": self.check, "started": self.started.isoformat(),
                "started_run_id": self.started_run_id, "districts": list(self.districts), "cohort": self.cohort,
                "status": self.status, "created_at": self.created_at, "stopped_at": self.stopped_at,
                "receipt_visible": RECEIPT[self.check] is not None,
                "now_receiving_rule": RECEIPT_RULE.get(self.check, "not in the data: now_receiving is null")}

    @classmethod
    def read(cls, folder: Path) -> Campaign:
        """The campaign of ``folder``; UserError naming its ``campaign.json`` when that cannot be read."""
        path = folder / SETTINGS
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            campaign = cls(name=data["name"], check=data["check"], started=dt.date.fromisoformat(data["started"]),
                           started_run_id=data["started_run_id"], districts=tuple(data["districts"]),
                           cohort=int(data["cohort"]), status=data["status"], created_at=data["created_at"],
                           stopped_at=data.get("stopped_at"))
        except (OSError, ValueError, KeyError, TypeError) as err:
            what = f"no {err}" if isinstance(err, KeyError) else str(err).splitlines()[0] if str(err) else \
                type(err).__name__
            raise UserError(f"{path}: not a readable campaign ({what}); restore it, or move the folder "
                            f"{folder.name} out of {folder.parent}") from None
        if campaign.check not in CHECKS:
            raise UserError(f"{path}: check {campaign.check!r} is not one of {', '.join(CHECKS)}")
        return campaign


def campaigns_dir(output: Path) -> Path:
    return output / CAMPAIGNS


def check_name(name: str) -> str:
    """The campaign's name, or UserError: letters, digits, '-' and '_', up to 64 (it names a folder)."""
    if not NAME.fullmatch(name):
        raise UserError(f"campaign name {name!r}: use letters, digits, '-' and '_' (up to 64, starting with a "
                        "letter or digit)")
    return name


def read_campaigns(output: Path) -> tuple[list[Campaign], list[str]]:
    """Every readable campaign of the output folder (live and stopped), oldest first, and a line naming
    each ``campaign.json`` that cannot be read."""
    root = campaigns_dir(output)
    if not root.is_dir():
        return [], []
    found, problems = [], []
    for folder in sorted(root.iterdir()):
        if folder.is_dir() and (folder / SETTINGS).is_file() and NAME.fullmatch(folder.name):
            try:
                found.append(Campaign.read(folder))
            except UserError as err:
                problems.append(str(err))
    return sorted(found, key=lambda c: (c.created_at, c.name)), problems


def list_campaigns(output: Path) -> list[Campaign]:
    """Every campaign of the output folder (live and stopped), oldest first; UserError for a damaged one."""
    found, problems = read_campaigns(output)
    if problems:
        raise UserError(problems[0])
    return found


def _read_tables(con: duckdb.DuckDBPyConnection, run: Path) -> None:
    """Views households, benefits and council_tax over a published run's files (validated extracts: hub only)."""
    con.execute(f"CREATE VIEW households AS SELECT * FROM read_parquet({quote_str(str(run / 'households.parquet'))})")
    for table, columns in (("benefits", "lad_code, claim_ref, ctr_weekly, hb_weekly, disability_benefit_weekly"),
                           ("council_tax", "lad_code, account_ref, ctr_annual")):
        files = sorted(str(p) for p in (run / "validated").glob(f"*/{table}.parquet"))
        if files:
            listing = ", ".join(quote_str(f) for f in files)
            con.execute(f"CREATE VIEW {table} AS SELECT {columns} FROM read_parquet([{listing}], "
                        "union_by_name = true)")
        else:
            names = [c.strip() for c in columns.split(",")]
            nulls = ", ".join(f"NULL::{'VARCHAR' if c in TEXT_COLUMNS else 'DECIMAL(18,2)'} AS {c}" for c in names)
            con.execute(f"CREATE VIEW {table} AS SELECT {nulls} WHERE false")


def start_campaign(output: Path, name: str, check: str, districts: Sequence[str] = (),
                   now: dt.datetime | None = None) -> Campaign:
    """Freeze the current run's households flagged by ``check`` (in ``districts``, default all) as a cohort.

    Writes ``<output>/campaigns/<name>/cohort.parquet`` and ``campaign.json`` (into a temporary folder
    renamed into place). UserError: a bad name or check, a name already used, no current run, an
    unknown district, or nobody flagged.
    """
    check_name(name)
    if check not in CHECKS:
        raise UserError(f"--check {check!r}: expected one of {', '.join(CHECKS)}")
    folder = campaigns_dir(output) / name
    if folder.exists():
        raise UserError(f"campaign {name!r} already exists in {campaigns_dir(output)}: choose another name")
    run = current_dir(output)
    if run is None or not (run / "households.parquet").is_file():
        raise UserError(f"--output {output}: there is no current run to take the cohort from; run povertylink "
                        "run first")
    manifest = json.loads((run / "manifest.json").read_text(encoding="utf-8"))
    started, run_id = dt.date.fromisoformat(manifest["as_of"]), str(manifest["run_id"])
    stamp = (now or dt.datetime.now(dt.timezone.utc)).isoformat()
    building = campaigns_dir(output) / f".starting-{name}-{os.getpid()}"
    shutil.rmtree(building, ignore_errors=True)
    building.mkdir(parents=True)
    try:
        with duckdb.connect() as con:
            _read_tables(con, run)
            held = [str(r[0]) for r in con.execute("SELECT DISTINCT lad_code FROM households ORDER BY 1").fetchall()]
            unknown = [d for d in districts if d not in held]
            if unknown:
                raise UserError(f"--district {unknown[0]}: not in the current run (it has {', '.join(held)})")
            chosen = sorted(set(districts)) if districts else held
            where = ", ".join(quote_str(d) for d in chosen)
            con.execute(
                f"""COPY (SELECT {quote_str(name)} AS campaign, {quote_str(check)} AS "check", household_id,
                        lad_code, claim_ref, account_ref, confidence, value_annual,
                        received_annual AS received_at_start_annual,
                        {quote_str(run_id)} AS started_run_id, DATE {quote_str(started.isoformat())} AS started
                    FROM ({household_view_sql(check)}) WHERE flagged AND lad_code IN ({where})
                    ORDER BY lad_code, household_id)
                TO {quote_str(str(building / COHORT))} (FORMAT parquet, COMPRESSION zstd)""")
            row = con.execute(f"SELECT count(*) FROM read_parquet({quote_str(str(building / COHORT))})").fetchone()
            size = int(row[0]) if row else 0
        if size == 0:
            raise UserError(f"no household is flagged by {check} in the current run ({run_id}) in "
                            f"{', '.join(chosen)}: there is no cohort to follow")
        campaign = Campaign(name, check, started, run_id, tuple(chosen), size, "live", stamp)
        write_json(campaign.as_json(), building / SETTINGS)
        os.rename(building, folder)
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return campaign


def stop_campaign(output: Path, name: str, now: dt.datetime | None = None) -> Campaign:
    """Mark a live campaign stopped: later runs no longer report it (its cohort stays, for the record)."""
    folder = campaigns_dir(output) / check_name(name)
    if not (folder / SETTINGS).is_file():
        raise UserError(f"no campaign {name!r} in {campaigns_dir(output)}")
    campaign = Campaign.read(folder)
    if campaign.status != "live":
        raise UserError(f"campaign {name!r} was stopped already ({campaign.stopped_at})")
    stopped = Campaign(**{**campaign.__dict__, "status": "stopped",
                          "stopped_at": (now or dt.datetime.now(dt.timezone.utc)).isoformat()})
    temporary = folder / f".{SETTINGS}.{os.getpid()}.tmp"
    write_json(stopped.as_json(), temporary)
    os.replace(temporary, folder / SETTINGS)
    return stopped


def format_campaigns(campaigns: list[Campaign]) -> str:
    """The campaigns as ``campaign list`` prints them, one line each."""
    if not campaigns:
        return "no campaigns"
    lines = [f"{'campaign':<24} {'check':<21} {'started':<10} {'cohort':>7}  status   districts"]
    for c in campaigns:
        lines.append(f"{c.name[:24]:<24} {c.check:<21} {c.started.isoformat():<10} {c.cohort:>7,}  "
                     f"{c.status:<8} {', '.join(c.districts)}")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------ each run


def outcome_counts(con: duckdb.DuckDBPyConnection, campaign: Campaign, cohort: Path
                   ) -> dict[str, dict[str, Any]]:
    """Exact figures per district of the cohort: cohort, each outcome, £ a year now received and still missed."""
    rows = con.execute(
        f"""WITH now AS ({household_view_sql(campaign.check)}),
        sorted AS (
            SELECT c.lad_code,
                CASE WHEN n.household_id IS NULL THEN 'left_caseload'
                     WHEN n.received_annual > coalesce(c.received_at_start_annual, 0) THEN 'now_receiving'
                     WHEN n.flagged THEN 'still_missing'
                     ELSE 'no_longer_flagged' END AS outcome,
                n.received_annual - coalesce(c.received_at_start_annual, 0) AS gained, n.value_annual
            FROM read_parquet({quote_str(str(cohort))}) c LEFT JOIN now n ON n.household_id = c.household_id)
        SELECT lad_code, count(*),
            {", ".join(f"count(*) FILTER (WHERE outcome = '{o}')" for o in OUTCOMES)},
            coalesce(sum(gained) FILTER (WHERE outcome = 'now_receiving'), 0)::DECIMAL(18,2),
            coalesce(sum(value_annual) FILTER (WHERE outcome = 'still_missing'), 0)::DECIMAL(18,2)
        FROM sorted GROUP BY lad_code ORDER BY lad_code""").fetchall()
    figures: dict[str, dict[str, Any]] = {}
    for lad, cohort_n, *rest in rows:
        counts = dict(zip(OUTCOMES, (int(v) for v in rest[:len(OUTCOMES)]), strict=True))
        figures[str(lad)] = {"cohort": int(cohort_n), **counts,
                             "value_received_annual": Decimal(rest[len(OUTCOMES)]),
                             "value_still_missing_annual": Decimal(rest[len(OUTCOMES) + 1])}
    return figures


def _row(campaign: Campaign, run_id: str, as_of: dt.date, district: str, **values: Any) -> dict[str, Any]:
    visible = RECEIPT[campaign.check] is not None
    row = {"run_date": as_of, "run_id": run_id, "campaign": campaign.name, "check": campaign.check,
           "district": district, "district_name": COUNTY_NAME if district == COUNTY_CODE else district_name(district),
           "started": campaign.started, "receipt_visible": visible, "availability": "available",
           "suppressed": False, "cohort": None, **dict.fromkeys(OUTCOMES), "value_received_annual": None,
           "value_still_missing_annual": None}
    row |= values
    if not visible:
        row["now_receiving"] = row["value_received_annual"] = None
    return row


def exact_rows(campaign: Campaign, figures: dict[str, dict[str, Any]], run_id: str, as_of: dt.date,
               unavailable: dict[str, str]) -> list[dict[str, Any]]:
    """Each district's own exact figures (for ``districts/<LAD>/campaigns.parquet``); a district not complete
    this run has its figures null with the reason."""
    rows = []
    for lad, values in sorted(figures.items()):
        if lad in unavailable:
            rows.append(_row(campaign, run_id, as_of, lad, availability=unavailable[lad]))
        else:
            rows.append(_row(campaign, run_id, as_of, lad, **values))
    return rows


def shared_rows(campaign: Campaign, figures: dict[str, dict[str, Any]], run_id: str, as_of: dt.date,
                unavailable: dict[str, str]) -> list[dict[str, Any]]:
    """Districts and the county under disclosure control: counts 1-9 hidden, secondary suppression along
    cohort = its outcomes and districts = county, counts rounded to 5, money to £1,000 (null with its count)."""
    districts = [lad for lad in sorted(figures) if lad not in unavailable]
    visible = RECEIPT[campaign.check] is not None
    parts = [o for o in OUTCOMES if visible or o != "now_receiving"]
    counts: dict[tuple[str, str], int] = {}
    for lad in districts:
        for key in ("cohort", *parts):
            counts[(lad, key)] = int(figures[lad][key])
    for key in ("cohort", *parts):
        counts[(COUNTY_CODE, key)] = sum(counts[(lad, key)] for lad in districts)
    areas = [*districts, COUNTY_CODE]
    lines = [Line(tuple((a, p) for p in parts), (a, "cohort")) for a in areas]
    lines += [Line(tuple((lad, k) for lad in districts), (COUNTY_CODE, k)) for k in ("cohort", *parts)]
    keep = {key: (2 if key[1] == "now_receiving" else 1 if key[1] == "cohort" else 0) for key in counts}
    # the headline (now receiving) is published where it may be, and others hidden around it; where that cannot
    # protect the hidden cells, the usual order decides
    headline = [key for key, n in counts.items() if key[1] == "now_receiving" and not is_primary(n)]
    try:
        shown = protect(counts, lines, fixed=headline, keep=keep)
    except ValueError:
        shown = protect(counts, lines, keep=keep)
    money = {"value_received_annual": "now_receiving", "value_still_missing_annual": "still_missing"}
    rows = []
    for area in areas:
        values: dict[str, Any] = {k: shown[(area, k)].count for k in ("cohort", *parts)}
        for column, count in money.items():
            if (area, count) in shown and not shown[(area, count)].suppressed:
                total = sum((figures[lad][column] for lad in districts), Decimal(0)) if area == COUNTY_CODE \
                    else figures[area][column]
                values[column] = round_money(total)
            else:
                values[column] = None
        hidden = any(shown[(area, k)].suppressed for k in ("cohort", *parts))
        row = _row(campaign, run_id, as_of, area, **values, suppressed=hidden)
        if area == COUNTY_CODE and any(lad in unavailable for lad in figures):
            row["availability"] = "partial"
        rows.append(row)
    rows += [_row(campaign, run_id, as_of, lad, availability=unavailable[lad])
             for lad in sorted(figures) if lad in unavailable]
    return rows


def campaign_stage(con: duckdb.DuckDBPyConnection, output: Path, run_id: str, as_of: dt.date,
                   unavailable: dict[str, str] | None = None, county_name: str = COUNTY_NAME) -> dict[str, Any]:
    """Follow every live campaign of ``output``: create ``campaigns`` (shared) and ``campaigns_exact`` (each
    district's own) in the hub's database, from its ``households``, ``benefits`` and ``council_tax``.

    ``unavailable``: district code -> completeness status of the districts not complete this run (their
    figures null, outside the county); ``county_name``: the county rows' ``district_name`` (manifest
    ``county_name``). Returns the manifest's ``campaigns`` section (county figures as
    shared); with no live campaign no table is created and no file written.
    """
    gaps = dict(unavailable or {})
    every, damaged = read_campaigns(output)
    live = [c for c in every if c.status == "live"]
    stopped = sum(1 for c in every if c.status != "live")
    section: dict[str, Any] = {"folder": str(campaigns_dir(output)), "live": [], "stopped": stopped}
    followed = []
    for campaign in live:  # a damaged campaign is named in the manifest and skipped: it never stops the run
        cohort = campaigns_dir(output) / campaign.name / COHORT
        try:
            followed.append((campaign, outcome_counts(con, campaign, cohort)))
        except duckdb.Error as err:
            damaged.append(f"{cohort}: cannot be read ({str(err).splitlines()[0]}); restore it, or move the "
                           f"folder {campaign.name} out of {campaigns_dir(output)}")
    if damaged:
        section["damaged"] = damaged
    if not followed:
        return section
    create_from_model(con, "campaigns", CampaignRow)
    create_from_model(con, "campaigns_exact", CampaignRow)
    for campaign, figures in followed:
        shared = shared_rows(campaign, figures, run_id, as_of, gaps)
        insert_rows(con, "campaigns", shared)
        insert_rows(con, "campaigns_exact", exact_rows(campaign, figures, run_id, as_of, gaps))
        county = next(r for r in shared if r["district"] == COUNTY_CODE)
        section["live"].append({
            "campaign": campaign.name, "check": campaign.check, "started": campaign.started.isoformat(),
            "districts": list(campaign.districts),
            **{k: county.get(k) for k in ("cohort", *OUTCOMES, "value_received_annual",
                                          "value_still_missing_annual")}})
    con.execute("UPDATE campaigns SET district_name = ? WHERE district = ?", [county_name, COUNTY_CODE])
    section["outputs"] = ["campaigns.parquet", "districts/<LAD>/campaigns.parquet"]
    return section
