"""Hand-built ``households`` and ``council_tax`` tables for the benchmark and report tests."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa

HOUSEHOLD_COLUMNS = """
    household_id VARCHAR, lad_code VARCHAR, claim_ref VARCHAR, account_ref VARCHAR, uprn BIGINT,
    postcode VARCHAR, household_type VARCHAR, pensioner BOOLEAN, income_monthly DECIMAL(18,2),
    housing_costs_monthly DECIMAL(18,2), council_tax_monthly DECIMAL(18,2), essentials_monthly DECIMAL(18,2),
    cashflow_monthly DECIMAL(18,2), resilience_status VARCHAR, fuel_poverty BOOLEAN, water_poverty BOOLEAN,
    food_poverty BOOLEAN, pension_credit_missing BOOLEAN, pension_credit_value_annual DECIMAL(18,2),
    pension_credit_weekly DECIMAL(18,2), link_method VARCHAR, link_probability DOUBLE, reasons VARCHAR,
    extract_date DATE, run_id VARCHAR, other_districts VARCHAR
"""


@dataclass
class Group:
    """``n`` alike households of one district; ids are ``<lad>-<prefix><i>``, i from ``start``."""

    lad: str
    n: int
    status: str
    prefix: str = "h"
    start: int = 0
    fuel: bool = False
    water: bool = False
    food: bool = False
    pensioner: bool = False
    pc_missing: bool = False
    pc_value: str = "0"
    pc_weekly: str = "0"
    postcode: str = "CT1 1AA"


def make_households(con: duckdb.DuckDBPyConnection, groups: list[Group], run_id: str = "run-1") -> None:
    """(Re)create ``households`` from the groups."""
    con.execute(f"CREATE OR REPLACE TABLE households ({HOUSEHOLD_COLUMNS})")
    rows = []
    for g in groups:
        for i in range(g.start, g.start + g.n):
            hid = f"{g.lad}-{g.prefix}{i}"
            rows.append({
                "household_id": hid, "lad_code": g.lad, "claim_ref": f"C{hid}", "postcode": g.postcode,
                "household_type": "single_pensioner" if g.pensioner else "single", "pensioner": g.pensioner,
                "resilience_status": g.status, "fuel_poverty": g.fuel, "water_poverty": g.water,
                "food_poverty": g.food, "pension_credit_missing": g.pc_missing,
                "pension_credit_value_annual": Decimal(g.pc_value), "pension_credit_weekly": Decimal(g.pc_weekly),
                "link_method": "uprn", "link_probability": 1.0, "reasons": "", "run_id": run_id,
            })
    if rows:
        con.register("_hh", pa.Table.from_pylist(rows))
        con.execute("INSERT INTO households BY NAME SELECT * FROM _hh")
        con.unregister("_hh")


def make_council_tax(con: duckdb.DuckDBPyConnection, dwellings: dict[str, int]) -> None:
    """(Re)create ``council_tax`` with the given number of accounts per district."""
    con.execute("CREATE OR REPLACE TABLE council_tax (lad_code VARCHAR, account_ref VARCHAR)")
    for lad, n in dwellings.items():
        con.execute("INSERT INTO council_tax SELECT ?, 'A' || i FROM range(?) t(i)", [lad, n])


def publish_run(con: duckdb.DuckDBPyConnection, folder: Path, tables: tuple[str, ...]) -> Path:
    """Write tables as ``<folder>/<table>.parquet``, as the lead's publish step does."""
    folder.mkdir(parents=True, exist_ok=True)
    for table in tables:
        con.execute(f"COPY {table} TO '{folder / (table + '.parquet')}' (FORMAT parquet)")
    return folder


KENT_PREFIXES = {
    "E07000105": ("TN23", "TN24"), "E07000106": ("CT1", "CT2"), "E07000107": ("DA1", "DA2"),
    "E07000108": ("CT16", "CT17"), "E07000109": ("DA11", "DA12"), "E07000110": ("ME14", "ME15"),
    "E07000111": ("TN13", "TN14"), "E07000112": ("CT19", "CT20"), "E07000113": ("ME10", "ME12"),
    "E07000114": ("CT9", "CT11"), "E07000115": ("ME19", "TN9"), "E07000116": ("TN1", "TN2"),
}
DEPRIVATION = {  # a made-up 0..1 pressure per district, to give the charts some spread
    "E07000105": 0.45, "E07000106": 0.5, "E07000107": 0.4, "E07000108": 0.65, "E07000109": 0.55,
    "E07000110": 0.4, "E07000111": 0.15, "E07000112": 0.7, "E07000113": 0.75, "E07000114": 0.9,
    "E07000115": 0.25, "E07000116": 0.2,
}


def kent_households(con: duckdb.DuckDBPyConnection, run: int, run_id: str, seed: int = 7) -> None:
    """Synthetic, deterministic scored households for all 12 Kent districts, run ``run`` (0, 1, ...).

    Ids are stable across runs; each run some households change status, leave or join, and
    some of those missing Pension Credit start to receive it (a campaign working)."""
    import random

    con.execute(f"CREATE OR REPLACE TABLE households ({HOUSEHOLD_COLUMNS})")
    statuses = ("in_crisis", "at_risk", "struggling", "coping", "comfortable")
    rows, dwellings = [], {}
    for lad, prefixes in KENT_PREFIXES.items():
        d = DEPRIVATION[lad]
        size = random.Random(f"{seed}-{lad}").randint(250, 700)
        dwellings[lad] = size * 9
        for i in range(size + 12 * run):
            rng = random.Random(f"{seed}-{lad}-{i}")
            if i >= size and (i - size) // 12 >= run:
                continue
            if rng.random() < 0.02 * run:
                continue  # left the caseload
            weights = [0.03 + 0.08 * d, 0.10 + 0.15 * d, 0.2, 0.3 - 0.1 * d, 0.37 - 0.13 * d]
            status = rng.choices(statuses, weights)[0]
            for r in range(run):
                step = random.Random(f"{seed}-{lad}-{i}-{r}")
                if step.random() < 0.12:
                    position = statuses.index(status) + step.choice((-1, 1, 1))
                    status = statuses[min(max(position, 0), 4)]
            low = statuses.index(status) <= 2
            pensioner = rng.random() < 0.3
            missing = pensioner and rng.random() < 0.2 + 0.2 * d
            weekly = "0"
            if missing and any(random.Random(f"{seed}-{lad}-{i}-pc{r}").random() < 0.25 for r in range(run)):
                missing, weekly = False, f"{rng.randint(15, 60)}.00"
            sector = f"{rng.choice(prefixes)} {rng.randint(1, 9)}{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}" \
                     f"{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}"
            rows.append({
                "household_id": f"{lad}-{i}", "lad_code": lad, "claim_ref": f"C{lad}-{i}", "postcode": sector,
                "household_type": "pensioner" if pensioner else "working_age", "pensioner": pensioner,
                "resilience_status": status, "fuel_poverty": low and rng.random() < 0.5 + 0.3 * d,
                "water_poverty": low and rng.random() < 0.3 + 0.2 * d,
                "food_poverty": status in ("in_crisis", "at_risk") and rng.random() < 0.6,
                "pension_credit_missing": missing,
                "pension_credit_value_annual": Decimal(f"{rng.randint(300, 3500)}.00") if missing else Decimal(0),
                "pension_credit_weekly": Decimal(weekly), "link_method": "uprn", "link_probability": 1.0,
                "reasons": "", "run_id": run_id,
            })
    con.register("_hh", pa.Table.from_pylist(rows))
    con.execute("INSERT INTO households BY NAME SELECT * FROM _hh")
    con.unregister("_hh")
    make_council_tax(con, dwellings)
