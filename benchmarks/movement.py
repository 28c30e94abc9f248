"""Movement between runs, by stable ``household_id``: status from-to table and the Pension
Credit campaign view (of households flagged last run, how many now receive it, worth £ a year).

``household_id`` is the key of ``households`` (one row per claim; :mod:`matching.ids`), so the
movement's households add up to the run's headline. A previous run from before ids were unique
(a person in two districts shared one id) counts each of its ids once.

Reads the previous run's ``households.parquet`` (row-level, personal: only counts and sums
leave this module) and the current ``households`` table. Writes the disclosure-controlled
tables ``status_movement`` and ``pension_credit_campaign``; earlier runs' campaign rows are
kept (read from the previous run's Parquet) so a campaign can be followed over time.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Collection
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

from benchmarks.disclosure import Line, protect, round_money
from benchmarks.output_tables import append_parquet, columns_of, create_from_model, insert_rows, merge_backfills
from schemas.outputs import CAMPAIGN_OUTCOMES, PensionCreditCampaignRow, StatusMovementRow
from schemas.reference import COUNTY_CODE, COUNTY_NAME, district_name
from schemas.sql import quote_str, table_exists
from schemas.vocabulary import RESILIENCE_STATUSES

FROM = (*RESILIENCE_STATUSES, "new")
TO = (*RESILIENCE_STATUSES, "gone")
ALL = "all"


def previous_run_id(previous_dir: Path) -> str:
    """The previous run's id: from its manifest, else its households' run_id, else the folder name."""
    manifest = previous_dir / "manifest.json"
    if manifest.is_file():
        try:
            value = json.loads(manifest.read_text(encoding="utf-8")).get("run_id")
            if value:
                return str(value)
        except (OSError, ValueError):
            pass
    households = previous_dir / "households.parquet"
    if households.is_file():
        with duckdb.connect() as con:
            row = con.execute(f"SELECT any_value(run_id) FROM read_parquet({quote_str(households)})").fetchone()
        if row and row[0]:
            return str(row[0])
    return previous_dir.name


def _name(lad: str) -> str:
    return COUNTY_NAME if lad == COUNTY_CODE else district_name(lad)


def movement_counts(con: duckdb.DuckDBPyConnection, previous: Path,
                    exclude: Collection[str] = ()) -> dict[tuple[str, str, str], int]:
    """Exact households per (district, from status, to status), with 'all' margins and the county;
    households of the districts in ``exclude`` (not complete this run) are left out."""
    rows = con.execute(
        f"""
        WITH before AS (SELECT household_id, lad_code, resilience_status FROM read_parquet({quote_str(previous)})
                        QUALIFY row_number() OVER (PARTITION BY household_id ORDER BY lad_code, claim_ref) = 1),
        now AS (SELECT household_id, lad_code, resilience_status FROM households)
        SELECT coalesce(now.lad_code, before.lad_code) AS lad,
               coalesce(before.resilience_status, 'new') AS from_status,
               coalesce(now.resilience_status, 'gone') AS to_status, count(*)
        FROM before FULL OUTER JOIN now ON before.household_id = now.household_id
        GROUP BY ALL
        """
    ).fetchall()
    rows = [r for r in rows if str(r[0]) not in exclude]
    districts = sorted({str(r[0]) for r in rows})
    counts: dict[tuple[str, str, str], int] = {}
    for lad in [*districts, COUNTY_CODE]:
        for f in (*FROM, ALL):
            for t in (*TO, ALL):
                counts[(lad, f, t)] = 0
    for lad, f, t, n in rows:
        if f not in FROM or t not in TO:
            continue  # a status outside the contract cannot be published by name
        for area in (str(lad), COUNTY_CODE):
            for ff in (f, ALL):
                for tt in (t, ALL):
                    counts[(area, ff, tt)] += int(n)
    return counts


def movement_lines(districts: list[str]) -> list[Line[tuple[str, str, str]]]:
    """Each from-row adds to its 'all', each to-column adds to its 'all', districts add to the county."""
    lines: list[Line[tuple[str, str, str]]] = []
    for lad in [*districts, COUNTY_CODE]:
        for f in (*FROM, ALL):
            lines.append(Line(tuple((lad, f, t) for t in TO), (lad, f, ALL)))
        for t in (*TO, ALL):
            lines.append(Line(tuple((lad, f, t) for f in FROM), (lad, ALL, t)))
    for f in (*FROM, ALL):
        for t in (*TO, ALL):
            lines.append(Line(tuple((lad, f, t) for lad in districts), (COUNTY_CODE, f, t)))
    return lines


def build_status_movement(
    con: duckdb.DuckDBPyConnection, run_id: str, run_date: dt.date, previous_dir: Path | None,
    exclude: Collection[str] = (),
) -> int:
    """Create ``status_movement`` for this run (empty on a first run; ``exclude``: districts left out);
    returns its row count."""
    create_from_model(con, "status_movement", StatusMovementRow)
    previous = previous_dir / "households.parquet" if previous_dir is not None else None
    if previous is None or not previous.is_file():
        return 0
    counts = movement_counts(con, previous, exclude)
    districts = sorted({lad for lad, _, _ in counts if lad != COUNTY_CODE})
    published = protect(counts, movement_lines(districts))
    before = previous_run_id(previous.parent)
    rows = [
        {"run_date": run_date, "run_id": run_id, "previous_run_id": before, "lad_code": lad,
         "district_name": _name(lad), "from_status": f, "to_status": t,
         "count": cell.count, "suppressed": cell.suppressed}
        for (lad, f, t), cell in published.items()
    ]
    insert_rows(con, "status_movement", rows)
    return len(rows)


def _pension_credit_now_sql(con: duckdb.DuckDBPyConnection) -> str:
    """SQL for each current household's Pension Credit in payment (weekly £): from households,
    else from the benefits claim."""
    if "pension_credit_weekly" in columns_of(con, "households"):
        return "SELECT household_id, lad_code, pension_credit_weekly AS pc_weekly, pension_credit_missing, " \
               "pension_credit_value_annual FROM households"
    if table_exists(con, "benefits"):
        return "SELECT h.household_id, h.lad_code, b.pension_credit_weekly AS pc_weekly, h.pension_credit_missing, " \
               "h.pension_credit_value_annual FROM households h LEFT JOIN benefits b " \
               "ON b.lad_code = h.lad_code AND b.claim_ref = h.claim_ref"
    return "SELECT household_id, lad_code, NULL::DECIMAL(18,2) AS pc_weekly, pension_credit_missing, " \
           "pension_credit_value_annual FROM households"


def campaign_counts(
    con: duckdb.DuckDBPyConnection, previous: Path, exclude: Collection[str] = ()
) -> tuple[dict[tuple[str, str], int], dict[tuple[str, str], Decimal]]:
    """Exact households and £ a year per (district that flagged them, outcome), and the county;
    households flagged by the districts in ``exclude`` (not complete this run) are left out."""
    rows = con.execute(
        f"""
        WITH before AS (
            SELECT household_id, lad_code, pension_credit_value_annual AS value
            FROM read_parquet({quote_str(previous)}) WHERE coalesce(pension_credit_missing, false)
            QUALIFY row_number() OVER (PARTITION BY household_id ORDER BY lad_code, claim_ref) = 1),
        now AS ({_pension_credit_now_sql(con)})
        SELECT before.lad_code,
               CASE WHEN now.household_id IS NULL THEN 'not_found'
                    WHEN coalesce(now.pc_weekly, 0) > 0 THEN 'now_receiving'
                    WHEN coalesce(now.pension_credit_missing, false) THEN 'still_missing'
                    ELSE 'no_longer_flagged' END AS outcome,
               count(*),
               sum(CASE WHEN now.household_id IS NULL THEN 0
                        WHEN coalesce(now.pc_weekly, 0) > 0 THEN now.pc_weekly * 52
                        WHEN coalesce(now.pension_credit_missing, false) THEN now.pension_credit_value_annual
                        ELSE 0 END)::DECIMAL(18,2),
               sum(before.value)::DECIMAL(18,2)
        FROM before LEFT JOIN now ON before.household_id = now.household_id
        GROUP BY ALL
        """
    ).fetchall()
    rows = [r for r in rows if str(r[0]) not in exclude]
    districts = sorted({str(r[0]) for r in rows})
    counts: dict[tuple[str, str], int] = {}
    money: dict[tuple[str, str], Decimal] = {}
    for lad in [*districts, COUNTY_CODE]:
        for outcome in CAMPAIGN_OUTCOMES:
            counts[(lad, outcome)] = 0
            money[(lad, outcome)] = Decimal(0)
    for lad, outcome, n, value_now, value_then in rows:
        for area in (str(lad), COUNTY_CODE):
            counts[(area, str(outcome))] += int(n)
            money[(area, str(outcome))] += Decimal(value_now or 0)
            counts[(area, "flagged_previously")] += int(n)
            money[(area, "flagged_previously")] += Decimal(value_then or 0)
    return counts, money


def build_campaign(
    con: duckdb.DuckDBPyConnection, run_id: str, run_date: dt.date, previous_dir: Path | None,
    *, backfills: tuple[tuple[Path, str], ...] = (),
    exclude: Collection[str] = (),
) -> int:
    """Create ``pension_credit_campaign``: earlier runs' rows (and those of the back-dated runs in
    ``backfills``) plus this run's (``exclude``: districts left out); returns this run's rows."""
    create_from_model(con, "pension_credit_campaign", PensionCreditCampaignRow)
    if previous_dir is None:
        return 0
    append_parquet(con, "pension_credit_campaign", previous_dir / "pension_credit_campaign.parquet",
                   where="run_id IS DISTINCT FROM ? AND run_date IS DISTINCT FROM ?", params=[run_id, run_date])
    merge_backfills(con, "pension_credit_campaign", "pension_credit_campaign.parquet", backfills, run_date)
    previous = previous_dir / "households.parquet"
    if not previous.is_file():
        return 0
    counts, money = campaign_counts(con, previous, exclude)
    districts = sorted({lad for lad, _ in counts if lad != COUNTY_CODE})
    parts = tuple(o for o in CAMPAIGN_OUTCOMES if o != "flagged_previously")
    lines: list[Line[tuple[str, str]]] = [
        Line(tuple((lad, o) for o in parts), (lad, "flagged_previously")) for lad in [*districts, COUNTY_CODE]
    ]
    lines += [Line(tuple((lad, o) for lad in districts), (COUNTY_CODE, o)) for o in CAMPAIGN_OUTCOMES]
    keep = {key: 1 for key in counts if key[1] == "now_receiving"}  # the campaign's headline
    published = protect(counts, lines, keep=keep)
    before = previous_run_id(previous_dir)
    rows: list[dict[str, Any]] = []
    for key, cell in published.items():
        lad, outcome = key
        value: Decimal | None = None
        if cell.count is not None and outcome != "no_longer_flagged" and outcome != "not_found":
            value = round_money(money[key])
        rows.append({"run_date": run_date, "run_id": run_id, "previous_run_id": before, "lad_code": lad,
                     "district_name": _name(lad), "outcome": outcome, "count": cell.count,
                     "value_gbp": value, "suppressed": cell.suppressed})
    insert_rows(con, "pension_credit_campaign", rows)
    return len(rows)
