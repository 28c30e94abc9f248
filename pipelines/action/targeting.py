"""Crisis-fund targeting (``povertylink target``, TAKEUP.md section 3): a ranked list that fits a budget.

1. Pool: the run's households (the districts asked for, else all) whose status is in ``statuses``, less
   the household ids of earlier awards (``previous`` files).
2. Order: status (worst first), ``cashflow_monthly`` ascending, ``household_id``.
3. Award: the fixed award, or the amount for the household's type from ``award_by_type``.
4. Walk the order, selecting while the running total + the award fits the budget; stop at the first
   that does not fit, so no lower-ranked household is paid before a higher-ranked one.
5. Several districts (fixed award): the budget's whole awards are split across districts in proportion
   to pool size by largest remainder (ties by ``lad_code``), then 1-4 run in each district.

Reads the run's published ``households.parquet`` and its ``validated/<LAD>/`` extracts (addresses);
writes only under ``<output>/targeting/<name>/`` (staged, then renamed into place), never in
``current`` or ``runs/``. Personal data: row-level lists per district (its own households only);
the county summary is disclosure-controlled.
"""

from __future__ import annotations

import csv
import os
import re
import shutil
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import duckdb

from benchmarks.disclosure import published_count, round_money
from pipelines.action.contact import addresses_sql, district_name_sql, write_contact_csvs
from pipelines.publish import current_dir, write_json
from schemas.errors import UserError
from schemas.households import HOUSEHOLD_TYPES
from schemas.outputs import TargetListRow
from schemas.reference import district_name
from schemas.sql import quote_str
from schemas.vocabulary import RESILIENCE_STATUSES

TARGETING = "targeting"
DEFAULT_STATUSES = ("in_crisis", "at_risk")
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,79}")
PENNY = Decimal("0.01")


@dataclass(frozen=True)
class TargetRequest:
    """What ``povertylink target`` was asked: the output folder, the money, and whom to consider."""

    output: Path
    budget: Decimal
    award: Decimal
    districts: tuple[str, ...] = ()
    name: str | None = None
    statuses: tuple[str, ...] = DEFAULT_STATUSES
    award_by_type: Path | None = None
    previous: tuple[Path, ...] = ()
    run: Path | None = None  # a run folder; default the output's current run


@dataclass(frozen=True)
class Candidate:
    """One household of the pool, in order."""

    lad_code: str
    household_id: str
    household_type: str
    status: str
    cashflow_monthly: float


def money_arg(text: str, option: str) -> Decimal:
    """A positive amount of pounds with at most two decimals, or UserError."""
    try:
        value = Decimal(text.replace(",", "").removeprefix("£"))
    except InvalidOperation:
        raise UserError(f"{option} {text!r}: expected an amount of pounds such as 700 or 150.50") from None
    if not value.is_finite() or value <= 0 or value != value.quantize(PENNY):
        raise UserError(f"{option} {text!r}: expected a positive amount of pounds, to the penny at most")
    return value.quantize(PENNY)


def _plain(value: Decimal) -> str:
    return f"{value:f}".rstrip("0").rstrip(".") if "." in f"{value:f}" else f"{value:f}"


def awards_by_type(path: Path, fixed: Decimal) -> dict[str, Decimal]:
    """``--award-by-type FILE``: a CSV with columns household_type and award; types not listed get ``fixed``."""
    amounts = {t: fixed for t in HOUSEHOLD_TYPES}
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.DictReader(handle))
    except (OSError, UnicodeDecodeError) as err:
        raise UserError(f"--award-by-type {path}: cannot be read ({err})") from None
    for line, row in enumerate(rows, start=2):
        kind = (row.get("household_type") or "").strip()
        if kind not in amounts:
            raise UserError(f"--award-by-type {path} line {line}: household_type {kind!r} is not one of "
                            f"{', '.join(HOUSEHOLD_TYPES)}")
        amounts[kind] = money_arg((row.get("award") or "").strip(), f"--award-by-type {path} line {line}: award")
    return amounts


def split_awards(pools: dict[str, int], awards: int) -> dict[str, int]:
    """Whole awards per district in proportion to pool size, by largest remainder (ties by lad_code);
    a district never gets more awards than its pool."""
    total = sum(pools.values())
    if total == 0:
        return {lad: 0 for lad in pools}
    if awards >= total:
        return dict(pools)
    shares = {lad: awards * n // total for lad, n in pools.items()}
    left = awards - sum(shares.values())
    for lad in sorted(pools, key=lambda d: (-(awards * pools[d] % total), d))[:left]:
        shares[lad] += 1
    return shares


def select(pool: list[Candidate], budget: Decimal, award_for: dict[str, Decimal]) -> list[tuple[Candidate, Decimal]]:
    """Walk the ordered pool, paying while the running total + award fits the budget; stop at the first
    that does not fit."""
    chosen: list[tuple[Candidate, Decimal]] = []
    total = Decimal(0)
    for candidate in pool:
        award = award_for[candidate.household_type]
        if total + award > budget:
            break
        total += award
        chosen.append((candidate, award))
    return chosen


def _previous_ids(con: duckdb.DuckDBPyConnection, files: tuple[Path, ...]) -> set[str]:
    ids: set[str] = set()
    for path in files:
        if not path.is_file():
            raise UserError(f"--previous {path}: no such file")
        reader = "read_parquet" if path.suffix == ".parquet" else "read_csv_auto"
        try:
            rows = con.execute(f"SELECT DISTINCT CAST(household_id AS VARCHAR) FROM {reader}({quote_str(str(path))})"
                               ).fetchall()
        except duckdb.Error as err:
            raise UserError(f"--previous {path}: needs a household_id column ({str(err).splitlines()[0]})") from None
        ids |= {str(r[0]) for r in rows if r[0]}
    return ids


def _run_folder(request: TargetRequest) -> Path:
    folder = request.run or current_dir(request.output)
    if folder is None or not (folder / "households.parquet").is_file():
        raise UserError(f"--output {request.output}: no good run to target yet (run `povertylink run` first)"
                        if request.run is None else f"--run {request.run}: not a run folder (no households.parquet)")
    return folder


def _pool(con: duckdb.DuckDBPyConnection, households: Path, request: TargetRequest) -> list[Candidate]:
    unknown = [s for s in request.statuses if s not in RESILIENCE_STATUSES]
    if unknown or not request.statuses:
        raise UserError(f"--statuses {','.join(request.statuses)}: expected some of {', '.join(RESILIENCE_STATUSES)}")
    source = f"read_parquet({quote_str(str(households))})"
    present = {str(r[0]) for r in con.execute(f"SELECT DISTINCT lad_code FROM {source}").fetchall()}
    missing = [d for d in request.districts if d not in present]
    if missing:
        raise UserError(f"--district {', '.join(missing)}: not in the run (it has {', '.join(sorted(present))})")
    order = " ".join(f"WHEN {quote_str(s)} THEN {i}" for i, s in enumerate(RESILIENCE_STATUSES))
    statuses = ", ".join(quote_str(s) for s in request.statuses)
    where = f"resilience_status IN ({statuses})"
    if request.districts:
        where += f" AND lad_code IN ({', '.join(quote_str(d) for d in request.districts)})"
    rows = con.execute(f"SELECT lad_code, household_id, household_type, resilience_status, cashflow_monthly "
                       f"FROM {source} WHERE {where} "
                       f"ORDER BY CASE resilience_status {order} END, cashflow_monthly, household_id").fetchall()
    earlier = _previous_ids(con, request.previous)
    return [Candidate(str(r[0]), str(r[1]), str(r[2]), str(r[3]), float(r[4])) for r in rows
            if str(r[1]) not in earlier]


def _reason(rank: int, status: str, cashflow: float) -> str:
    amount = Decimal(str(cashflow)).quantize(PENNY)
    sign = "-" if amount < 0 else ""
    return f"rank {rank}: {status.replace('_', ' ')}, cashflow {sign}£{abs(amount):,.2f} a month"


def plan(request: TargetRequest, pool: list[Candidate]) -> tuple[dict[str, Decimal], dict[str, list[Candidate]]]:
    """Each district's budget and ordered pool, by the split rule (module docstring, step 5)."""
    by_lad: dict[str, list[Candidate]] = {}
    for candidate in pool:
        by_lad.setdefault(candidate.lad_code, []).append(candidate)
    lads = sorted(set(request.districts) | set(by_lad)) if request.districts else sorted(by_lad)
    for lad in lads:
        by_lad.setdefault(lad, [])
    if len(lads) <= 1:
        return {lad: request.budget for lad in lads}, by_lad
    if request.award_by_type is not None:
        raise UserError("--award-by-type needs one --district: the split across districts is in whole fixed awards")
    shares = split_awards({lad: len(by_lad[lad]) for lad in lads}, int(request.budget // request.award))
    return {lad: request.award * shares[lad] for lad in lads}, by_lad


def default_name(as_of: str, request: TargetRequest) -> str:
    """``<as-of>-budget-<B>-award-<A>``, e.g. 2026-11-20-budget-700-award-150."""
    return f"{as_of}-budget-{_plain(request.budget)}-award-{_plain(request.award)}"


def run_targeting(request: TargetRequest) -> dict[str, Any]:
    """Select, write ``<output>/targeting/<name>/`` and return its summary (exact, for the terminal)."""
    folder = _run_folder(request)
    households = folder / "households.parquet"
    with duckdb.connect() as con:
        run = con.execute(f"SELECT any_value(run_id), any_value(as_of_date) FROM read_parquet("
                          f"{quote_str(str(households))})").fetchone()
        run_id, as_of = (str(run[0]), str(run[1])) if run else (folder.name, "")
        name = request.name or default_name(as_of, request)
        if not NAME_RE.fullmatch(name):
            raise UserError(f"--name {name!r}: letters, digits, '.', '_' and '-' only, starting with a letter or digit")
        award_for = awards_by_type(request.award_by_type, request.award) if request.award_by_type else \
            {t: request.award for t in HOUSEHOLD_TYPES}
        budgets, pools = plan(request, _pool(con, households, request))
        rows: list[dict[str, Any]] = []
        districts: dict[str, dict[str, Any]] = {}
        for lad in sorted(budgets):
            chosen = select(pools[lad], budgets[lad], award_for)
            running = Decimal(0)
            for rank, (candidate, award) in enumerate(chosen, start=1):
                running += award
                rows.append({"lad_code": lad, "rank": rank, "household_id": candidate.household_id,
                             "award": award, "cumulative_total": running,
                             "reason": _reason(rank, candidate.status, candidate.cashflow_monthly)})
            districts[lad] = {"pool": len(pools[lad]), "selected": len(chosen), "budget": budgets[lad],
                              "total": running, "left_over": budgets[lad] - running}
        target = request.output / TARGETING / name
        staging = request.output / TARGETING / f".staging-{name}-{os.getpid()}"
        shutil.rmtree(staging, ignore_errors=True)
        summary = _summary(request, name, run_id, as_of, districts)
        try:
            _write(con, folder, staging, rows, name, sorted(budgets))
            for lad, figures in districts.items():  # each district's own figures, exact
                write_json(summary["settings"] | {"lad_code": lad, "district_name": district_name(lad)} | figures,
                           staging / "districts" / lad / "summary.json")
            write_json(_shared(summary), staging / "summary.json")
            if target.exists():
                shutil.rmtree(target)
            os.replace(staging, target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return summary | {"folder": str(target)}


def _write(con: duckdb.DuckDBPyConnection, run: Path, staging: Path, rows: list[dict[str, Any]], name: str,
           lads: list[str]) -> None:
    """Each district's list as Parquet and a spreadsheet-safe CSV (columns of :class:`TargetListRow`)."""
    import pyarrow as pa

    picked = pa.Table.from_pylist(rows, schema=pa.schema([
        ("lad_code", pa.string()), ("rank", pa.int64()), ("household_id", pa.string()),
        ("award", pa.decimal128(18, 2)), ("cumulative_total", pa.decimal128(18, 2)), ("reason", pa.string())]))
    con.register("picked", picked)

    def validated(kind: str) -> str | None:
        files = [run / "validated" / lad / f"{kind}.parquet" for lad in lads]
        found = [quote_str(str(f)) for f in files if f.is_file()]
        return f"read_parquet([{', '.join(found)}], union_by_name = true)" if found else None

    names = ", ".join(f'"{n}"' for n in TargetListRow.model_fields)
    con.execute(f"""CREATE OR REPLACE TABLE target_list AS SELECT {names} FROM (
        WITH {addresses_sql(validated('benefits'), validated('council_tax'), validated('universal_credit'))}
        SELECT p.lad_code, {district_name_sql('p.lad_code')} AS district_name, p.rank, p.household_id,
            h.claim_ref, h.account_ref, CAST(h.uprn AS BIGINT) AS uprn,
            coalesce(ca.address_line_1, aa.address_line_1) AS address_line_1,
            CASE WHEN ca.claim_ref IS NOT NULL THEN ca.address_line_2 ELSE aa.address_line_2 END AS address_line_2,
            CASE WHEN ca.claim_ref IS NOT NULL THEN ca.town ELSE aa.town END AS town,
            h.postcode, h.household_type, h.resilience_status,
            CAST(round(h.cashflow_monthly, 2) AS DECIMAL(18,2)) AS cashflow_monthly,
            p.award, p.cumulative_total, p.reason, {quote_str(name)} AS targeting, h.as_of_date, h.run_id
        FROM picked p
        JOIN read_parquet({quote_str(str(run / 'households.parquet'))}) h ON h.household_id = p.household_id
            AND h.lad_code = p.lad_code
        LEFT JOIN claim_address ca ON ca.lad_code = h.lad_code AND ca.claim_ref = h.claim_ref
        LEFT JOIN account_address aa ON aa.lad_code = h.lad_code AND aa.account_ref = h.account_ref)""")
    for lad in lads:
        query = f"SELECT {names} FROM target_list WHERE lad_code = {quote_str(lad)} ORDER BY rank"
        out = staging / "districts" / lad
        out.mkdir(parents=True, exist_ok=True)
        con.execute(f"COPY ({query}) TO {quote_str(str(out / 'contact_list.parquet'))} "
                    "(FORMAT parquet, COMPRESSION zstd)")
    write_contact_csvs(con, f"SELECT {names} FROM target_list",  # each district's CSV: the rows of its Parquet
                       {lad: staging / "districts" / lad / "contact_list.csv" for lad in lads})


def _summary(request: TargetRequest, name: str, run_id: str, as_of: str,
             districts: dict[str, dict[str, Any]]) -> dict[str, Any]:
    settings = {"targeting": name, "run_id": run_id, "as_of_date": as_of, "budget": request.budget,
                "award": request.award, "statuses": list(request.statuses),
                "award_by_type": str(request.award_by_type) if request.award_by_type else None,
                "previous": [str(p) for p in request.previous],
                "split": "one district: the whole budget" if len(districts) <= 1 else
                         "whole awards in proportion to pool size, largest remainder, ties by lad_code"}
    total = sum((d["total"] for d in districts.values()), Decimal(0))
    return {"settings": settings, "districts": districts,
            "county": {"pool": sum(d["pool"] for d in districts.values()),
                       "selected": sum(d["selected"] for d in districts.values()),
                       "budget": request.budget, "total": total, "left_over": request.budget - total}}


def _shared(summary: dict[str, Any]) -> dict[str, Any]:
    """The summary as it may be shared across districts: counts under the 10-5 rule, money to £1,000.

    A district's budget is its whole awards (in proportion to its exact pool) times the award: hidden with
    a hidden pool, else to £1,000, as it would otherwise reveal the pool. The county's is the budget asked for.
    """
    def protect(figures: dict[str, Any], asked: bool = False) -> dict[str, Any]:
        pool = published_count(figures["pool"])
        selected = published_count(figures["selected"])  # money hidden with a hidden count, as in the benchmarks
        budget = figures["budget"] if asked else None if pool is None else round_money(figures["budget"])
        return {"pool": pool, "selected": selected, "budget": budget,
                "total": None if selected is None else round_money(figures["total"]),
                "left_over": None if selected is None else round_money(figures["left_over"])}

    return {"settings": summary["settings"], "disclosure": "counts rounded to the nearest 5 (null for 1 to 9), "
            "money to the nearest £1,000 (null with a hidden count; a district's budget null with a hidden pool); "
            "each district's exact figures are in "
            "districts/<LAD>/summary.json",
            "districts": {lad: protect(f) for lad, f in summary["districts"].items()},
            "county": protect(summary["county"], asked=True)}


def format_summary(summary: dict[str, Any]) -> str:
    """The terminal lines: each district and the county, exact (the operator of the hub sees row-level data)."""
    lines = [f"targeting {summary['settings']['targeting']} (run {summary['settings']['run_id']})"]
    for lad, d in summary["districts"].items():
        lines.append(f"  {lad} {district_name(lad)}: {d['selected']:,} of {d['pool']:,} households, "
                     f"£{d['total']:,.2f} of £{d['budget']:,.2f}, £{d['left_over']:,.2f} left over")
    c = summary["county"]
    lines.append(f"  total: {c['selected']:,} of {c['pool']:,} households, £{c['total']:,.2f} of "
                 f"£{c['budget']:,.2f}, £{c['left_over']:,.2f} left over")
    lines.append(f"written to {summary['folder']}")
    return "\n".join(lines)
