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
