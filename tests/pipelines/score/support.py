"""Tiny hand-made input tables for the scoring tests (real DuckDB; no tests in this module).

Defaults make a single adult of working age in Ashford with no income, no rent and no council
tax, unlinked, so that each test states only the columns it is about.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import duckdb

from pipelines.score.households import score_households
from pipelines.score.params import load_parameters
from schemas.columns import column_specs
from schemas.inputs import model_for
from tests.cli import AS_OF_DATE as AS_OF

LAD = "E07000105"
LEAD = [("lad_code", "VARCHAR"), ("extract_date", "DATE"), ("source_file", "VARCHAR"), ("line", "BIGINT")]
MONEY = ("rent_weekly", "council_tax_weekly", "hb_weekly", "ctr_weekly", "uc_monthly", "earnings_weekly",
         "state_pension_weekly", "private_pension_weekly", "pension_credit_weekly", "disability_benefit_weekly",
         "carers_allowance_weekly", "child_benefit_weekly", "other_income_weekly", "capital")


def claim(ref: str = "B1", **changes: Any) -> dict[str, Any]:
    """A benefits row: single adult born 1980, all money 0, unless changed."""
    row: dict[str, Any] = {
        "lad_code": LAD, "claim_ref": ref, "address_line_1": "1 High Street", "postcode": "TN23 1AA",
        "claimant_key": "k" * 64, "claimant_name": "enc", "claimant_birth_date": dt.date(1980, 1, 1),
        "adults": 1, "children": 0, "tenure": "private_rented", **{m: Decimal("0") for m in MONEY},
    }
    row.update(changes)
    return row


def account(ref: str = "A1", **changes: Any) -> dict[str, Any]:
    """A council-tax row: nothing to pay, no recovery, unless changed."""
    row: dict[str, Any] = {
        "lad_code": LAD, "account_ref": ref, "address_line_1": "1 High Street", "postcode": "TN23 1AA",
        "band": "B", "annual_charge": Decimal("0"), "ctr_annual": Decimal("0"), "arrears": Decimal("0"),
        "recovery_stage": "none",
    }
    row.update(changes)
    return row


def award(ap_start: dt.date = dt.date(2026, 10, 15), ref: str = "a" * 64, **changes: Any) -> dict[str, Any]:
    """A Universal Credit row: one AP (a month from ap_start) of a single adult's award, no earnings, unless changed."""
    end = (ap_start.replace(day=1) + dt.timedelta(days=32)).replace(day=ap_start.day) - dt.timedelta(days=1)
    row: dict[str, Any] = {
        "lad_code": LAD, "award_ref": ref, "notification_type": "change", "ap_start": ap_start, "ap_end": end,
        "address_line_1": "1 High Street", "postcode": "TN23 1AA", "claimant_key": "u" * 64,
        "claimant_birth_date": dt.date(1990, 1, 1), "adults": 1, "children": 0,
        "standard_allowance": Decimal("400.14"), "earnings_monthly": Decimal("0"), "award_monthly": Decimal("400.14"),
    }
    row.update(changes)
    return row


def _table(con: duckdb.DuckDBPyConnection, kind: str, rows: list[dict[str, Any]]) -> None:
    specs = column_specs(model_for(kind))
    columns = LEAD + [(s.name, s.duckdb_type) for s in specs]
    defaults = {s.name: s.default for s in specs}
    con.execute(f"CREATE OR REPLACE TABLE {kind} ({', '.join(f'{n} {t}' for n, t in columns)})")
    names = [n for n, _ in columns]
    for i, row in enumerate(rows):
        full = {"extract_date": dt.date(2026, 11, 1), "source_file": f"{kind}.csv", "line": i + 2, **defaults, **row}
        con.execute(f"INSERT INTO {kind} VALUES ({', '.join('?' for _ in names)})", [full.get(n) for n in names])


def make_db(claims: list[dict[str, Any]], accounts: list[dict[str, Any]] | None = None,
            links: list[tuple[str, str]] | None = None, epc: list[tuple[int, str]] | None = None,
            keys: list[tuple[str, str, str]] | None = None,
            awards: list[dict[str, Any]] | None = None) -> duckdb.DuckDBPyConnection:
    """A DuckDB with the ingest tables; ``links`` (claim_ref, account_ref), ``keys`` and ``awards`` (the
    universal_credit table) only when given."""
    con = duckdb.connect()
    _table(con, "benefits", claims)
    _table(con, "council_tax", accounts or [])
    if awards is not None:
        _table(con, "universal_credit", awards)
    con.execute("CREATE TABLE epc (uprn BIGINT, current_energy_rating VARCHAR)")
    for uprn, rating in epc or []:
        con.execute("INSERT INTO epc VALUES (?, ?)", [uprn, rating])
    con.execute("CREATE TABLE postcode_lookup (postcode VARCHAR, lsoa21cd VARCHAR, ward_code VARCHAR,"
                " lad_code VARCHAR)")
    if links is not None:
        con.execute("CREATE TABLE links (lad_code VARCHAR, claim_ref VARCHAR, account_ref VARCHAR, method VARCHAR,"
                    " match_probability DOUBLE, match_weight DOUBLE)")
        lad_of = {c["claim_ref"]: c.get("lad_code", LAD) for c in claims}
        for claim_ref, account_ref in links:
            con.execute("INSERT INTO links VALUES (?, ?, ?, 'uprn', 0.99, 12.5)",
                        [lad_of.get(claim_ref, LAD), claim_ref, account_ref])
    if keys is not None:
        con.execute("CREATE TABLE household_keys (lad_code VARCHAR, claim_ref VARCHAR, household_id VARCHAR,"
                    " other_districts VARCHAR, person_cluster_id VARCHAR, linked_household_ids VARCHAR)")
        for claim_ref, household_id, others in keys:  # a claim in another district: the cluster named for it
            con.execute("INSERT INTO household_keys VALUES (?, ?, ?, ?, ?, ?)",
                        [LAD, claim_ref, household_id, others, f"C-{household_id}", "H-other" if others else ""])
    return con


def score(con: duckdb.DuckDBPyConnection, as_of: dt.date = AS_OF,
          overrides: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    """Score and return the households by claim_ref, as dicts."""
    score_households(con, as_of, load_parameters(as_of, overrides), "test-run")
    cursor = con.execute("SELECT * FROM households ORDER BY claim_ref")
    names = [d[0] for d in cursor.description]
    return {row[2]: dict(zip(names, row, strict=True)) for row in cursor.fetchall()}


def score_one(claim_row: dict[str, Any], accounts: list[dict[str, Any]] | None = None,
              as_of: dt.date = AS_OF, overrides: dict[str, Any] | None = None, **kwargs: Any) -> dict[str, Any]:
    """Score a database of one claim (linked to the first account if accounts are given)."""
    links = [(claim_row["claim_ref"], accounts[0]["account_ref"])] if accounts else None
    con = make_db([claim_row], accounts, links=links, **kwargs)
    return score(con, as_of, overrides)[claim_row["claim_ref"]]
