"""Scoring with the optional Universal Credit extract (TAKEUP.md section 1): awards join claims or make
UC-only households, and the take-up checks read the awards' assessment periods."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D
from typing import Any

import duckdb
import pytest

from tests.pipelines.score.support import LAD, account, award, claim, make_db, score

MAIDSTONE = "E07000110"
REF = "a" * 64
UC_ID = "UC-" + "a" * 16


def _aps(earnings: list[str], first: dt.date = dt.date(2026, 1, 15), **changes: Any) -> list[dict[str, Any]]:
    """Consecutive monthly APs of one award, oldest first, with these take-home pays."""
    return [award(dt.date(first.year + (first.month + i - 1) // 12, (first.month + i - 1) % 12 + 1, first.day),
                  earnings_monthly=D(e), **changes) for i, e in enumerate(earnings)]


def test_no_award_file_or_an_empty_one_scores_as_before() -> None:
    claims = [claim("B1", uc_monthly=D("500")), claim("B2", claimant_birth_date=dt.date(1950, 1, 1),
                                                       pension_credit_weekly=D("20"))]
    before = score(make_db(claims, [account("A1", annual_charge=D("1500"))], links=[("B1", "A1")]))
    after = score(make_db(claims, [account("A1", annual_charge=D("1500"))], links=[("B1", "A1")], awards=[]))
    assert before == after and [r["source"] for r in before.values()] == ["claim", "claim"]


def test_uc_only_household_linked_by_uprn_gets_the_ctr_check() -> None:
    # TAKEUP.md 2a example 1 from the UC extract: Maidstone 2025/26, no earnings, £1,650.00, no CTR
    con = make_db([], [account("A1", lad_code=MAIDSTONE, uprn=100, annual_charge=D("1650.00"),
                               single_person_discount=True)],
                  awards=[award(dt.date(2025, 10, 15), lad_code=MAIDSTONE, uprn=100)])
    rows = score(con, dt.date(2025, 11, 20))
    row = rows[UC_ID]
    assert (row["source"], row["account_ref"], row["link_method"]) == ("uc", "A1", "uprn")
    assert (row["ctr_confidence"], row["ctr_value_annual"]) == ("likely", D("1320.00"))
    assert row["household_id"].startswith("H-") and row["income_monthly"] == pytest.approx(400.14)


def test_nil_award_makes_ctr_possible_and_names_uc_deductions() -> None:
    con = make_db([], [account("A1", uprn=100, annual_charge=D("1500.00"), single_person_discount=True)],
                  awards=[award(uprn=100, award_monthly=D("0"), council_tax_deduction_monthly=D("25.00"))])
    row = score(con)[UC_ID]
    assert (row["ctr_confidence"], row["ctr_value_annual"]) == ("possible", D("1200.00"))
    assert "a nil Universal Credit award" in row["reasons"]
    assert "council-tax arrears of £25.00 a month are deducted from Universal Credit" in row["reasons"]
    assert row["whd_confidence"] is None  # a nil award pays nothing: not a Warm Home Discount passport


def test_award_joins_its_claim_by_person_key_and_keeps_the_household_id() -> None:
    key = "c" * 64
    claims = [claim("B1", claimant_key=key, children=3, child_ages="5;9;13")]
    before = score(make_db(claims))["B1"]
    joined = score(make_db(claims, awards=_aps(["1250.00"] * 3, claimant_key=key)), dt.date(2026, 5, 1))
    assert list(joined) == ["B1"] and joined["B1"]["source"] == "both"
    assert joined["B1"]["household_id"] == before["household_id"]
    partner = score(make_db(claims, awards=_aps(["0"], partner_key=key)), dt.date(2026, 5, 1))
    assert list(partner) == ["B1"] and partner["B1"]["source"] == "both"


def test_fsm_example_from_three_assessment_periods() -> None:
    # take-home £1,250.00 in each of the last three APs, ages 5;9;13
    awards = _aps(["1250.00"] * 3, first=dt.date(2026, 1, 15), children=3, child_ages="5;9;13")
    may = score(make_db([], awards=awards), dt.date(2026, 5, 1))[UC_ID]
    assert (may["fsm_confidence"], may["fsm_value_annual"]) == (None, D("0.00"))
    december = score(make_db([], awards=awards), dt.date(2026, 12, 2))[UC_ID]
    assert (december["fsm_confidence"], december["fsm_value_annual"]) == ("possible", D("1000.00"))


def _fsm(earnings: list[str]) -> str | None:
    awards = _aps(earnings, first=dt.date(2026, 1, 15), children=1, child_ages="9")
    return score(make_db([], awards=awards), dt.date(2026, 5, 1))[UC_ID]["fsm_confidence"]


def test_fsm_earnings_test_over_one_two_and_three_periods() -> None:
    assert _fsm(["9999", "9999", "616.67"]) == "possible"            # the last AP
    assert _fsm(["9999", "9999", "616.68"]) is None
    assert _fsm(["9999", "583.34", "650.00"]) == "possible"          # the last two: £1,233.34
    assert _fsm(["9999", "583.35", "650.00"]) is None
    assert _fsm(["600.00", "600.00", "650.00"]) == "possible"        # the last three: £1,850.00 (£7,400 a year)
    assert _fsm(["600.01", "600.00", "650.00"]) is None
    assert _fsm(["583.34", "650.00"]) == "possible"                  # two APs held: no three-AP test
    assert _fsm(["650.00"]) is None


def test_latest_period_on_or_before_the_as_of_date_and_terminations() -> None:
    awards = _aps(["0", "0", "2000"], first=dt.date(2026, 9, 15), children=1, child_ages="2")
    # as of 2026-11-20 the AP from 15 Nov (ends 14 Dec) has not ended: the October AP (no earnings) is used
    row = score(make_db([], awards=awards), dt.date(2026, 11, 20))[UC_ID]
    assert (row["healthy_start_confidence"], row["healthy_start_value_annual"]) == ("possible", D("241.80"))
    ended = [*awards[:1], award(dt.date(2026, 10, 15), notification_type="termination")]
    assert score(make_db([], awards=ended), dt.date(2026, 11, 20)) == {}


def test_healthy_start_example_from_the_latest_period() -> None:
    awards = [award(dt.date(2026, 10, 15), earnings_monthly=D("350.00"), children=3, child_ages="0;2;6")]
    row = score(make_db([], awards=awards), dt.date(2026, 12, 2))[UC_ID]
    assert (row["healthy_start_confidence"], row["healthy_start_value_annual"]) == ("possible", D("604.50"))
    assert "take-home pay £350.00 a month" in row["reasons"]


def test_uc_only_households_count_in_the_lad_and_leave_claims_alone() -> None:
    con = make_db([claim("B1")], awards=[award(ref="b" * 64), award(ref="c" * 64, lad_code="E07000106")])
    rows = score(con)
    assert sorted((r["lad_code"], r["source"]) for r in rows.values()) == [
        (LAD, "claim"), (LAD, "uc"), ("E07000106", "uc")]


def _person(forename: str, surname: str, born: dt.date, nino: str) -> dict[str, Any]:
    from pipelines.pseudonymise import SAMPLE_KEY, name_encoding, nino_key

    return {"claimant_key": nino_key(SAMPLE_KEY, nino), "claimant_name": name_encoding(SAMPLE_KEY, forename, surname),
            "claimant_birth_date": born}


HOME = {"uprn": 100, "address_line_1": "12 Mill Lane", "postcode": "TN23 4QA"}
ANN = ("Ann", "Lee", dt.date(1986, 4, 2))


def test_award_whose_nino_was_keyed_wrong_joins_its_claim_probabilistically() -> None:
    claims = [claim("B1", **HOME, **_person(*ANN, "AB123456C")),
              claim("B2", uprn=101, address_line_1="14 Mill Lane", postcode="TN23 4QA",
                    **_person("Ann", "Lee", dt.date(1960, 1, 9), "AB654321C"))]  # a namesake next door
    swapped = award(**HOME, **_person(*ANN, "AB213456C"))
    rows = score(make_db(claims, awards=[swapped]))
    assert sorted(rows) == ["B1", "B2"]  # no UC-only household: the award is B1's
    assert (rows["B1"]["source"], rows["B2"]["source"]) == ("both", "claim")


def test_award_of_someone_else_at_the_address_stays_a_household_of_its_own() -> None:
    claims = [claim("B1", **HOME, **_person(*ANN, "AB123456C"))]
    lodger = award(**HOME, **_person("Mark", "Osei", dt.date(1999, 7, 30), "CE987654A"))
    rows = score(make_db(claims, awards=[lodger]))
    assert (rows["B1"]["source"], rows[UC_ID]["source"]) == ("claim", "uc")


def test_uc_only_household_links_its_account_without_a_uprn_by_name_and_address() -> None:
    from pipelines.pseudonymise import SAMPLE_KEY, name_encoding

    accounts = [account("A1", address_line_1="12 Mill Lane", postcode="TN23 4QA", annual_charge=D("1650.00"),
                        single_person_discount=True, liable_name=name_encoding(SAMPLE_KEY, "Ann", "Lee")),
                account("A2", address_line_1="14 Mill Lane", postcode="TN23 4QA", annual_charge=D("1650.00"),
                        liable_name=name_encoding(SAMPLE_KEY, "Ray", "Cole"))]
    row = score(make_db([], accounts, awards=[award(**HOME, **_person(*ANN, "AB123456C"))]))[UC_ID]
    assert (row["account_ref"], row["link_method"]) == ("A1", "probabilistic")
    assert (row["ctr_confidence"], row["ctr_value_annual"]) == ("likely", D("1320.00"))
    nobody = score(make_db([], accounts[1:], awards=[award(**HOME, **_person(*ANN, "AB123456C"))]))[UC_ID]
    assert (nobody["account_ref"], nobody["ctr_confidence"]) == (None, None)  # Ray Cole's account is not hers


def test_scoring_restores_the_connections_thread_count() -> None:
    # the working statements run on one thread (households.one_thread); the households statement and
    # whatever follows on the hub's database get the configured count back, also when scoring fails
    con = make_db([claim("B1", uc_monthly=D("500"))], awards=[award()])
    con.execute("SET threads = 3")
    score(con)
    assert con.execute("SELECT current_setting('threads')").fetchone() == (3,)
    con.execute("DROP TABLE benefits")
    with pytest.raises(duckdb.CatalogException):
        score(con)
    assert con.execute("SELECT current_setting('threads')").fetchone() == (3,)
