"""The contact list on hand-made households (real DuckDB, real scoring): who is listed, in what order,
what the next actions say, and a CSV that a spreadsheet reads as meant."""

from __future__ import annotations

import csv
import datetime as dt
from decimal import Decimal as D
from pathlib import Path

import duckdb
import pytest

from pipelines.action.contact import build_contact_list, write_contact_csv
from schemas.outputs import ContactListRow
from tests.pipelines.score.support import account, claim, make_db, score

UC = {"uc_monthly": D("1000.00")}
PENSIONER = {"claimant_birth_date": dt.date(1940, 1, 1), "state_pension_weekly": D("150.00")}


@pytest.fixture(scope="module")
def listed() -> dict[str, dict]:
    claims = [
        claim("B1"),                                            # no income: at risk (priority 2)
        claim("B2", **UC),                                      # comfortable, council tax at enforcement (1)
        claim("B3", **PENSIONER),                               # pensioner below the guarantee: Pension Credit (3)
        claim("B4", uc_monthly=D("3000.00"), tenure="owner_occupier"),  # comfortable, nothing fired: not listed
        claim("B5", earnings_weekly=D("10.00")),                # a smaller shortfall than B1: after it (2)
    ]
    accounts = [account("A2", annual_charge=D("1200.00"), ctr_annual=D("1200.00"),
                        recovery_stage="enforcement_agent", arrears=D("842.17"))]
    con = make_db(claims, accounts, links=[("B2", "A2")])
    score(con)
    counts = build_contact_list(con, None, dt.date(2026, 11, 20))
    assert counts["households"] is None or counts["households"] >= 0  # shared: 1-9 are not shown
    cursor = con.execute("SELECT * FROM contact_list ORDER BY rank")
    names = [d[0] for d in cursor.description]
    assert names == list(ContactListRow.model_fields)
    return {row[names.index("claim_ref")]: dict(zip(names, row, strict=True)) for row in cursor.fetchall()}


def test_who_is_listed_and_the_order(listed: dict[str, dict]) -> None:
    order = sorted(listed, key=lambda ref: listed[ref]["rank"])
    assert "B4" not in listed
    assert [listed[r]["priority"] for r in order] == sorted(listed[r]["priority"] for r in order)
    assert listed["B2"]["priority"] == 1 and listed["B2"]["rank"] == 1
    assert listed["B2"]["resilience_status"] == "comfortable"  # listed for the enforcement, whatever its status
    assert listed["B1"]["priority"] == listed["B5"]["priority"] == 2
    assert listed["B1"]["cashflow_monthly"] < listed["B5"]["cashflow_monthly"] < 0
    assert listed["B1"]["rank"] < listed["B5"]["rank"]  # the larger shortfall first
    assert listed["B3"]["priority"] == 3 and listed["B3"]["pension_credit_value_annual"] > 0


def test_next_actions_in_plain_words(listed: dict[str, dict]) -> None:
    assert listed["B2"]["next_actions"].startswith(
        "council tax at enforcement: refer to the recovery team before further action")
    assert listed["B2"]["council_tax_arrears"] == D("842.17") and listed["B2"]["recovery_stage"] == "enforcement_agent"
    assert "Council tax recovery has reached enforcement agents with £842.17 arrears" in listed["B2"]["reasons"]
    pc = listed["B3"]["pension_credit_value_annual"]
    assert f"apply for Pension Credit: about £{pc:,.0f} a year" in listed["B3"]["next_actions"]
    assert listed["B1"]["next_actions"].startswith("spends £")


def test_a_first_run_lists_everyone_as_new_flagged_today(listed: dict[str, dict]) -> None:
    for row in listed.values():
        assert row["new_since_last_run"] and row["previous_status"] is None
        assert row["first_flagged_date"] == dt.date(2026, 11, 20)
        assert row["cashflow_monthly"] == row["cashflow_monthly"].quantize(D("0.01"))


CELLS = [  # value, its DuckDB type, the cell a spreadsheet must see
    ("=1+1", "VARCHAR", "'=1+1"), ("+44 1227", "VARCHAR", "'+44 1227"), ("-2+3", "VARCHAR", "'-2+3"),
    ("@SUM(A1)", "VARCHAR", "'@SUM(A1)"), ("\tx", "VARCHAR", "'\tx"), ("\rx", "VARCHAR", "'\rx"),
    ("-12.5", "VARCHAR", "-12.5"), ("High Street", "VARCHAR", "High Street"), ("", "VARCHAR", ""),
    ("Café, 1 \"Quoted\" Rd", "VARCHAR", "Café, 1 \"Quoted\" Rd"), ("two\nlines", "VARCHAR", "two\nlines"),
    (None, "VARCHAR", ""), (True, "BOOLEAN", "yes"), (False, "BOOLEAN", "no"), (None, "BOOLEAN", ""),
    (D("1234.5"), "DECIMAL(18,2)", "1234.50"), (D("-0.016"), "DECIMAL(18,3)", "-0.02"),
    (D("0"), "DECIMAL(18,2)", "0.00"), (2.5, "DOUBLE", "2.50"), (dt.date(2026, 11, 20), "DATE", "2026-11-20"),
    (7, "BIGINT", "7"), (None, "BIGINT", ""),
]


def test_csv_cells_as_a_spreadsheet_reads_them(tmp_path: Path) -> None:
    """Every value through the SQL writer, read back with Python's csv module: the cell as meant."""
    con = duckdb.connect()
    con.execute(f"CREATE TABLE t (rank INTEGER, {', '.join(f'c{i} {t}' for i, (_, t, _) in enumerate(CELLS))})")
    con.execute(f"INSERT INTO t VALUES (1, {', '.join('?' for _ in CELLS)})", [v for v, _, _ in CELLS])
    path = tmp_path / "cells.csv"
    assert write_contact_csv(con, "SELECT * FROM t", path) == 1
    with path.open(encoding="utf-8-sig", newline="") as handle:
        header, row = list(csv.reader(handle))
    assert header == ["rank", *(f"c{i}" for i in range(len(CELLS)))]
    assert row[1:] == [cell for _, _, cell in CELLS]


def test_csv_is_utf8_with_bom_crlf_in_rank_order(tmp_path: Path) -> None:
    con = duckdb.connect()
    con.execute("CREATE TABLE t AS SELECT * FROM (VALUES (2, 'b'), (1, 'a'), (3, 'c')) v(rank, x)")
    path = tmp_path / "list.csv"
    assert write_contact_csv(con, "SELECT * FROM t", path) == 3
    assert path.read_bytes() == b"\xef\xbb\xbfrank,x\r\n1,a\r\n2,b\r\n3,c\r\n"
    assert not list(tmp_path.glob(".*.part"))


def test_a_type_without_a_cell_rule_is_refused(tmp_path: Path) -> None:
    con = duckdb.connect()
    with pytest.raises(ValueError, match="no CSV cell rule"):
        write_contact_csv(con, "SELECT 1 AS rank, [1, 2] AS xs", tmp_path / "x.csv")


def test_the_district_csv_neutralises_an_address_formula(tmp_path: Path) -> None:
    hostile = "=cmd|' /C calc'!A0"
    con = make_db([claim("B2", town=hostile, address_line_2="@SUM(1+1)", **UC)],
                  [account("A2", recovery_stage="summons")], links=[("B2", "A2")])
    score(con)
    build_contact_list(con, None, dt.date(2026, 11, 20))
    assert con.execute("SELECT town FROM contact_list").fetchone() == (hostile,)  # Parquet keeps the value
    assert write_contact_csv(con, "SELECT * FROM contact_list", tmp_path / "c.csv") == 1
    with (tmp_path / "c.csv").open(encoding="utf-8-sig", newline="") as handle:
        row = next(csv.DictReader(handle))
    assert (row["town"], row["address_line_2"]) == ("'" + hostile, "'@SUM(1+1)")
    assert row["cashflow_monthly"].startswith("-") or row["cashflow_monthly"][0].isdigit()


def test_a_claim_with_no_postcode_is_listed_and_its_row_keeps_the_contract() -> None:
    """C19: a claim with no postcode is still a household (postcode null); its contact-list row is valid
    against ContactListRow, as the data dictionary publishes it."""
    con = make_db([claim("B1", postcode=None)], [])
    score(con)
    build_contact_list(con, None, dt.date(2026, 11, 20))
    cursor = con.execute("SELECT * FROM contact_list")
    names = [d[0] for d in cursor.description]
    rows = [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]
    assert [(r["claim_ref"], r["postcode"], r["priority"]) for r in rows] == [("B1", None, 2)]
    ContactListRow.model_validate(rows[0])
