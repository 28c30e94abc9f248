"""Within-district claim -> account linkage on hand-made cases (real DuckDB, starting model)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import duckdb
import pytest

from matching.landing_tables import create_table
from matching.within import link_districts
from pipelines.pseudonymise import name_encoding, nino_key

KEY = b"test-key-for-matching-0123456789abcdef"
LAD = "E07000112"


def enc(fore: str, sur: str) -> str:
    return name_encoding(KEY, fore, sur)


def claim(ref: str, address: str, postcode: str, who: tuple[str, str], uprn: int | None = None,
          partner: tuple[str, str] | None = None, dob: str = "1950-01-01", lad: str = LAD,
          nino: str | None = None, **extra: Any) -> dict[str, Any]:
    money = {c: Decimal("0") for c in ("rent_weekly", "council_tax_weekly", "hb_weekly", "ctr_weekly", "uc_monthly",
                                       "earnings_weekly", "state_pension_weekly", "private_pension_weekly",
                                       "pension_credit_weekly", "disability_benefit_weekly",
                                       "carers_allowance_weekly", "child_benefit_weekly", "other_income_weekly",
                                       "capital")}
    row = {"lad_code": lad, "claim_ref": ref, "uprn": uprn, "address_line_1": address, "postcode": postcode,
           "claimant_name": enc(*who), "claimant_birth_date": dt.date.fromisoformat(dob),
           "claimant_key": nino_key(KEY, nino) if nino else None,
           "partner_name": enc(*partner) if partner else None, "adults": 2 if partner else 1, "children": 0,
           "tenure": "council", **money}
    row.update(extra)
    return row


def account(ref: str, address: str, postcode: str, who: tuple[str, str] | None, uprn: int | None = None,
            lad: str = LAD, **extra: Any) -> dict[str, Any]:
    row = {"lad_code": lad, "account_ref": ref, "uprn": uprn, "address_line_1": address, "postcode": postcode,
           "liable_name": enc(*who) if who else None, "band": "B", "annual_charge": Decimal("1500"),
           "ctr_annual": Decimal("0"), "arrears": Decimal("0"), "recovery_stage": "none"}
    row.update(extra)
    return row


CLAIMS = [
    claim("B1", "1 High Street", "CT20 1AA", ("John", "Smith"), uprn=100),
    claim("B2", "2 High Street", "CT20 1AA", ("Bill", "Jones")),
    claim("B3", "3 High Street", "CT20 1AA", ("Sarah", "Brown"), uprn=1030),
    claim("B4", "4 High Street", "CT20 1AA", ("Mary", "Green"), partner=("Peter", "Green")),
    claim("B5", "Flat 1, 10 High Street", "CT20 1AB", ("Anne", "White")),
    claim("B6", "10 High Street", "CT20 1AB", ("Tom", "Black")),
    claim("B7", "Flat 2", "CT20 1AD", ("Jane", "Doe"), uprn=200, address_line_2="20 Station Road"),
    claim("B8", "99 Nowhere Lane", "CT20 9ZZ", ("Lonely", "Claimant")),
    claim("B9", "5 High St", "CT20 1AA", ("Ahmed", "Khan"), uprn=105),
]
ACCOUNTS = [
    account("A1", "1 High St", "CT20 1AA", ("John", "Smith"), uprn=100),
    account("A2", "2 High Street", "CT20 1AA", ("William", "Jones"), uprn=102),
    account("A3", "3 High Street", "CT20 1AA", ("Sara", "Brown"), uprn=103),
    account("A9", "9 Low Road", "CT20 2BB", ("Someone", "Else"), uprn=1030),
    account("A4", "4 High Street", "CT20 1AA", ("Peter", "Green"), uprn=104),
    account("A10", "10 High Street", "CT20 1AB", ("Tom", "Black")),
    account("A11", "Flat 1", "CT20 1AB", ("Anne", "White"), address_line_2="10 High Street"),
    account("A21", "Flat 3, 20 Station Road", "CT20 1AD", ("Jane", "Doe"), uprn=200),
    account("A5", "5 High Street", "CT20 1AA", None, uprn=105),
    account("A6", "6 High Street", "CT20 1AA", ("Ahmed", "Khan"), uprn=106),
]


@pytest.fixture()
def con() -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    create_table(connection, "benefits", CLAIMS)
    create_table(connection, "council_tax", ACCOUNTS)
    return connection


def _links(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[str, str, float]]:
    rows = con.execute("SELECT claim_ref, account_ref, method, match_probability FROM links").fetchall()
    return {c: (a, m, p) for c, a, m, p in rows}


def test_within_district_cases(con: duckdb.DuckDBPyConnection) -> None:
    model = link_districts(con, LAD)
    assert model.source == "prior"
    links = _links(con)
    assert links["B1"][:2] == ("A1", "uprn")  # exact UPRN, abbreviation St/Street
    assert links["B2"][:2] == ("A2", "probabilistic")  # missing UPRN, nickname Bill/William
    assert links["B3"][:2] == ("A3", "probabilistic")  # mistyped UPRN (another property's), typo Sara
    assert links["B4"][0] == "A4"  # partner is the liable person
    assert links["B5"][0] == "A11" and links["B6"][0] == "A10"  # flat vs house at the same number
    assert "B7" not in links  # never another flat's account, even with the same name and UPRN
    assert "B8" not in links  # no account at all
    assert links["B9"][:2] == ("A5", "uprn")  # same UPRN and address beats a name at another number
    assert all(p >= 0.9 for _, _, p in links.values())


def test_one_to_one_and_levels(con: duckdb.DuckDBPyConnection) -> None:
    link_districts(con, LAD)
    dup = con.execute("SELECT count(*) - count(DISTINCT account_ref) FROM links").fetchone()
    assert dup == (0,)
    row = con.execute("SELECT uprn_level, postcode_level, house_number_level, flat_level, street_level, "
                      "name_level, dob_level FROM links WHERE claim_ref = 'B1'").fetchone()
    assert row == (1, 3, 2, 1, 3, 5, -1)
    b2 = con.execute("SELECT name_level FROM links WHERE claim_ref = 'B2'").fetchone()
    assert b2 == (4,)


def test_rerun_replaces_district_rows(con: duckdb.DuckDBPyConnection) -> None:
    link_districts(con, LAD)
    first = con.execute("SELECT * FROM links ORDER BY claim_ref").fetchall()
    link_districts(con, [LAD])
    assert con.execute("SELECT * FROM links ORDER BY claim_ref").fetchall() == first


def test_links_table_matches_schema(con: duckdb.DuckDBPyConnection) -> None:
    from schemas.links import LinkRow

    link_districts(con, LAD)
    described = con.execute("DESCRIBE links").fetchall()
    assert [r[0] for r in described] == list(LinkRow.model_fields)
    assert {r[1] for r in described} <= {"VARCHAR", "DOUBLE", "INTEGER"}  # BI-safe types
    for row in con.execute("SELECT * FROM links").fetchall():
        LinkRow(**dict(zip(LinkRow.model_fields, row, strict=True)))


def test_long_names_with_many_bloom_bits_link_without_overflow() -> None:
    """A Bloom filter has 256 bits in four INT8-counted words: a long double-barrelled name sets over
    127 of them, and summing bit_count as INT8 overflowed (the link stage failed for the whole county)."""
    long_name = ("Maximilian-Alexander", "Johnston Schofield-Fotheringham-Montgomery-Featherstonehaugh")
    surname_bloom = enc(*long_name).split("|")[6]  # v2|FN|FC|SN|PH|FB|SB: 64 hex digits, 256 bits
    assert bin(int(surname_bloom, 16)).count("1") > 127
    connection = duckdb.connect()
    create_table(connection, "benefits", [claim("L1", "7 Mill Lane", "CT20 3CC", long_name)])
    create_table(connection, "council_tax", [account("L9", "7 Mill Lane", "CT20 3CC", long_name)])
    link_districts(connection, LAD)
    assert _links(connection)["L1"][:2] == ("L9", "probabilistic")


def test_two_lanes_only_while_two_of_the_largest_district_fit_the_budget():
    """Kent's districts (60,000 accounts) and four times them go two at a time in the default 1.4 GiB budget;
    districts of 480,000 (Birmingham's size) one at a time; never fewer than one lane."""
    import duckdb

    from matching.within import budget_bytes, lanes_for

    con = duckdb.connect()
    con.execute("SET memory_limit = '1472MiB'")
    budget = budget_bytes(con)
    assert 1.39 * 2**30 <= budget <= 1472 * 2**20  # shown as "1.4 GiB"
    assert [lanes_for(budget, rows) for rows in (60_000, 240_000, 480_000, 5_000_000)] == [2, 2, 1, 1]
    assert lanes_for(budget, 0) == 2 and lanes_for(8 * 2**30, 480_000) == 2


def test_a_district_with_claims_and_no_council_tax_accounts_links_nothing():
    """A district that sent only its benefits extract (its council-tax file refused or missing) leaves every
    claim unlinked; it does not fail the stage (the largest district's account count is then NULL)."""
    connection = duckdb.connect()
    create_table(connection, "benefits", CLAIMS[:2])
    create_table(connection, "council_tax", [account("X1", "1 High St", "CT20 1AA", ("John", "Smith"), uprn=100,
                                                     lad="E07000105")])
    link_districts(connection, [LAD], one_at_a_time=True)
    assert connection.execute("SELECT count(*) FROM links").fetchone() == (0,)
