"""Time ``score_households`` at Kent scale: ~120,000 claims and 720,000 council-tax accounts.

Builds synthetic ``benefits``, ``council_tax``, ``epc``, ``links`` and ``household_keys`` tables
directly in DuckDB SQL (no real person; names and keys are fixed dummies), then times the
scoring. Run: ``python -m perf.score_bench [--claims N] [--accounts N] [--threads N]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from typing import Any

import duckdb

from pipelines.score.households import score_households, summarise
from pipelines.score.params import load_parameters
from schemas.columns import column_specs
from schemas.inputs import model_for
from schemas.reference import KENT_DISTRICTS

AS_OF = dt.date(2026, 11, 20)
LEAD = [("lad_code", "VARCHAR"), ("extract_date", "DATE"), ("source_file", "VARCHAR"), ("line", "BIGINT")]


def _create(con: duckdb.DuckDBPyConnection, kind: str) -> list[str]:
    columns = LEAD + [(s.name, s.duckdb_type) for s in column_specs(model_for(kind))]
    con.execute(f"CREATE OR REPLACE TABLE {kind} ({', '.join(f'{n} {t}' for n, t in columns)})")
    return [n for n, _ in columns]


def _u(i: str, salt: int, modulo: int) -> str:
    """A pseudo-random integer 0..modulo-1 from row number ``i``."""
    return f"CAST(hash({i}, {salt}) % {modulo} AS BIGINT)"


def build_tables(con: duckdb.DuckDBPyConnection, claims: int = 120_000, accounts: int = 720_000) -> None:
    """Synthetic Kent-size input tables (12 districts), with links for 80% of claims and EPCs for half the homes."""
    lads = list(KENT_DISTRICTS)
    lad_list = "[" + ", ".join(f"'{c}'" for c in lads) + "]"
    n = len(lads)
    _create(con, "council_tax")
    con.execute(f"""
        INSERT INTO council_tax BY NAME
        SELECT {lad_list}[1 + (i // 6) % {n}] AS lad_code, DATE '2026-11-01' AS extract_date,
            'council_tax.csv' AS source_file,
            i + 2 AS line, 'A' || i AS account_ref, 100000000 + i AS uprn, i || ' High Street' AS address_line_1,
            'CT1 1AA' AS postcode, 'v1|aa' AS liable_name,
            ['A','B','C','D','E','F','G','H'][1 + {_u('i', 1, 8)}] AS band,
            CAST(900 + {_u('i', 2, 250000)} / 100 AS DECIMAL(18,2)) AS annual_charge,
            {_u('i', 3, 3)} = 0 AS single_person_discount, FALSE AS disabled_band_reduction,
            CAST(CASE WHEN {_u('i', 4, 5)} = 0 THEN {_u('i', 5, 120000)} / 100 ELSE 0 END AS DECIMAL(18,2))
                AS ctr_annual,
            CAST({_u('i', 6, 50000)} / 100 AS DECIMAL(18,2)) AS arrears,
            ['none','none','none','reminder','final_notice','summons','liability_order','enforcement_agent',
             'attachment'][1 + {_u('i', 7, 9)}] AS recovery_stage
        FROM range({accounts}) t(i)""")
    _create(con, "benefits")
    money = {"rent_weekly": 30000, "council_tax_weekly": 4000, "hb_weekly": 20000, "ctr_weekly": 3000,
             "uc_monthly": 120000, "earnings_weekly": 40000, "state_pension_weekly": 23000,
             "private_pension_weekly": 10000, "pension_credit_weekly": 5000, "disability_benefit_weekly": 11000,
             "carers_allowance_weekly": 8300, "child_benefit_weekly": 4000, "other_income_weekly": 3000,
             "capital": 3000000}
    money_sql = ",\n".join(
        f"CAST(CASE WHEN {_u('i', 20 + k, 3)} = 0 THEN {_u('i', 40 + k, m)} / 100 ELSE 0 END AS DECIMAL(18,2)) AS {c}"
        for k, (c, m) in enumerate(money.items()))
    con.execute(f"""
        INSERT INTO benefits BY NAME
        SELECT {lad_list}[1 + i % {n}] AS lad_code, DATE '2026-11-01' AS extract_date, 'benefits.csv' AS source_file,
            i + 2 AS line, 'B' || i AS claim_ref,
            CASE WHEN {_u('i', 8, 10)} < 8 THEN 100000000 + i * 6 END AS uprn,
            i || ' High Street' AS address_line_1, 'CT1 1AA' AS postcode, 'k' AS claimant_key, 'v1|aa' AS claimant_name,
            DATE '1935-01-01' + CAST({_u('i', 9, 25000)} AS INTEGER) AS claimant_birth_date,
            CASE WHEN {_u('i', 10, 3)} = 0 THEN DATE '1935-01-01' + CAST({_u('i', 11, 25000)} AS INTEGER) END
                AS partner_birth_date,
            1 + {_u('i', 12, 2)} AS adults, {_u('i', 13, 4)} AS children, 0 AS non_dependants,
            ['council','housing_association','private_rented','owner_occupier','other'][1 + {_u('i', 14, 5)}] AS tenure,
            {money_sql},
            {_u('i', 15, 10)} = 0 AS severe_disability, {_u('i', 16, 12)} = 0 AS carer
        FROM range({claims}) t(i)""")
    con.execute("CREATE OR REPLACE TABLE epc (uprn BIGINT, current_energy_rating VARCHAR)")
    con.execute(f"INSERT INTO epc SELECT 100000000 + i, ['A','B','C','D','E','F','G'][1 + {_u('i', 17, 7)}]"
                f" FROM range({accounts}) t(i) WHERE {_u('i', 18, 2)} = 0")
    con.execute("CREATE OR REPLACE TABLE links AS SELECT b.lad_code, b.claim_ref, c.account_ref, 'uprn' AS method,"
                " 0.999::DOUBLE AS match_probability, 15.0::DOUBLE AS match_weight"
                " FROM benefits b JOIN council_tax c ON c.uprn = b.uprn AND c.lad_code = b.lad_code")
    con.execute("CREATE OR REPLACE TABLE household_keys AS SELECT lad_code, claim_ref,"
                " 'H-' || left(md5(claim_ref), 12) AS household_id, '' AS other_districts,"
                " 'C-' || left(md5(claim_ref), 12) AS person_cluster_id, '' AS linked_household_ids FROM benefits")


def run(claims: int = 120_000, accounts: int = 720_000, threads: int | None = None, repeats: int = 3) -> dict[str, Any]:
    """Build the tables, score ``repeats`` times; return seconds (build, best and each score) and counts."""
    con = duckdb.connect()
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    start = time.perf_counter()
    build_tables(con, claims, accounts)
    built = time.perf_counter() - start
    params = load_parameters(AS_OF)
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        score_households(con, AS_OF, params, "bench")
        timings.append(time.perf_counter() - start)
    links = con.execute("SELECT count(*) FROM links").fetchall()[0][0]
    county = summarise(con)[-1]
    con.close()
    return {"claims": claims, "accounts": accounts, "links": links, "build_s": round(built, 2),
            "score_s": [round(t, 2) for t in timings], "score_best_s": round(min(timings), 2),
            "households": county["households"], "pension_credit_missing": county["pension_credit_missing"],
            "in_crisis": county["in_crisis"]}


def main() -> None:
    """Command line: print the timings."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--claims", type=int, default=120_000)
    parser.add_argument("--accounts", type=int, default=720_000)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    result = run(args.claims, args.accounts, args.threads, args.repeats)
    for key, value in result.items():
        print(f"{key:>24}: {value}")


if __name__ == "__main__":
    main()
