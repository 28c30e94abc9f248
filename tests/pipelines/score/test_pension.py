"""State Pension age and missing Pension Credit (RULES.md), hand-worked at every boundary."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.score.params import load_parameters
from pipelines.score.pension_age import spa_date_sql, state_pension_date
from tests.conftest import examples
from tests.pipelines.score.support import claim, make_db, score, score_one

BANDS = load_parameters(dt.date(2026, 11, 20)).state_pension_age.value
d = dt.date


def pensioner(**changes: object) -> dict:
    """The RULES.md worked example: born 1 Mar 1950, state pension 180, private 20, capital 12,000."""
    row = claim(claimant_birth_date=d(1950, 3, 1), state_pension_weekly=D("180.00"),
                private_pension_weekly=D("20.00"), capital=D("12000.00"))
    row.update(changes)
    return row


@pytest.mark.parametrize(
    ("birth", "spa"),
    [
        (d(1950, 3, 1), d(2016, 3, 1)),
        (d(1960, 4, 5), d(2026, 4, 5)),  # last 66
        (d(1960, 4, 6), d(2026, 5, 6)),  # first 66y1m
        (d(1960, 5, 5), d(2026, 6, 5)),  # still 66y1m
        (d(1960, 5, 6), d(2026, 7, 6)),  # 66y2m
        (d(1960, 8, 15), d(2027, 1, 15)),  # 6 Aug - 5 Sep 1960: 66y5m
        (d(1961, 2, 6), d(2028, 1, 6)),  # 66y11m
        (d(1961, 3, 5), d(2028, 2, 5)),  # last 66y11m
        (d(1961, 3, 6), d(2028, 3, 6)),  # first 67
        (d(1977, 4, 5), d(2044, 4, 5)),  # last 67
        (d(1977, 4, 6), d(2045, 4, 6)),  # later births: 68 (documented simplification)
        (d(1960, 2, 29), d(2026, 3, 1)),  # leap day, 66 in a common year: on 1 March
        (d(1956, 2, 29), d(2022, 3, 1)),
        (d(1952, 2, 29), d(2018, 3, 1)),  # 2018 is a common year too
        (d(1960, 7, 31), d(2026, 12, 1)),  # 66y4m lands on 31 Nov: reached on 1 Dec
        (d(1960, 8, 31), d(2027, 1, 31)),  # 66y5m: 31 Jan exists
        (d(1960, 12, 30), d(2027, 9, 30)),  # 6 Dec 1960 - 5 Jan 1961: 66y9m
    ],
)
def test_state_pension_date_python_and_sql(birth: dt.date, spa: dt.date) -> None:
    assert state_pension_date(birth, BANDS) == spa
    sql = spa_date_sql(f"DATE '{birth.isoformat()}'", BANDS)
    assert duckdb.sql(f"SELECT {sql}").fetchall()[0][0] == spa


@settings(max_examples=examples(300), deadline=None)
@given(st.dates(min_value=d(1900, 1, 1), max_value=d(2010, 12, 31)))
def test_sql_and_python_state_pension_dates_agree(birth: dt.date) -> None:
    sql = spa_date_sql(f"DATE '{birth.isoformat()}'", BANDS)
    assert duckdb.sql(f"SELECT {sql}").fetchall()[0][0] == state_pension_date(birth, BANDS)


@pytest.mark.parametrize(
    ("birth", "day_before", "on_day"),
    [
        (d(1960, 4, 5), d(2026, 4, 4), d(2026, 4, 5)),
        (d(1960, 4, 6), d(2026, 5, 5), d(2026, 5, 6)),
        (d(1960, 8, 15), d(2027, 1, 14), d(2027, 1, 15)),
        (d(1960, 2, 29), d(2026, 2, 28), d(2026, 3, 1)),
        (d(1960, 7, 31), d(2026, 11, 30), d(2026, 12, 1)),
    ],
)
def test_flagged_from_the_day_pension_age_is_reached(birth: dt.date, day_before: dt.date, on_day: dt.date) -> None:
    before = score_one(pensioner(claimant_birth_date=birth), as_of=day_before)
    on = score_one(pensioner(claimant_birth_date=birth), as_of=on_day)
    assert not before["pension_credit_missing"] and not before["pensioner"]
    assert before["household_type"] == "single_adult"
    assert on["pension_credit_missing"] and on["pensioner"] and on["household_type"] == "single_pensioner"


def test_worked_example_is_1768_a_year() -> None:
    row = score_one(pensioner())
    assert row["pension_credit_missing"]
    assert row["pension_credit_income_weekly"] == D("204.00")
    assert row["pension_credit_guarantee_weekly"] == D("238.00")
    assert row["pension_credit_value_annual"] == D("1768.00")
    assert row["reasons"].startswith(
        "Pension Credit: income £204.00 a week is below the guarantee of £238.00; about £1,768 a year unclaimed")


def test_tax_year_from_as_of_date() -> None:
    # 5 Apr 2026 is 2025/26 (guarantee 227.10), 6 Apr 2026 is 2026/27 (238.00)
    old = score_one(pensioner(), as_of=d(2026, 4, 5))
    new = score_one(pensioner(), as_of=d(2026, 4, 6))
    assert (old["tax_year"], new["tax_year"]) == ("2025-26", "2026-27")
    assert old["pension_credit_value_annual"] == D("1201.20")  # (227.10 - 204) x 52
    assert new["pension_credit_value_annual"] == D("1768.00")
    assert old["energy_monthly"] == pytest.approx(1720 * 0.70 / 12)
    assert new["energy_monthly"] == pytest.approx(1641 * 0.70 / 12)
    assert score_one(pensioner(), as_of=d(2024, 4, 6))["pension_credit_guarantee_weekly"] == D("218.15")


@pytest.mark.parametrize(("capital", "tariff"), [
    ("0", 0), ("10000.00", 0), ("10000.01", 1), ("10001.00", 1), ("10500.00", 1), ("10501.00", 2), ("11000.00", 2)])
def test_tariff_income(capital: str, tariff: int) -> None:
    row = score_one(pensioner(capital=D(capital)))
    assert row["pension_credit_income_weekly"] == D(200 + tariff)


def test_income_equal_to_guarantee_is_not_missing_a_penny_below_is() -> None:
    at = score_one(pensioner(capital=D("0"), private_pension_weekly=D("58.00")))  # 180 + 58 = 238
    assert not at["pension_credit_missing"] and at["pension_credit_value_annual"] == D("0.00")
    below = score_one(pensioner(capital=D("0"), private_pension_weekly=D("57.99")))
    assert below["pension_credit_missing"] and below["pension_credit_value_annual"] == D("0.52")


def test_already_receiving_pension_credit_is_not_missing() -> None:
    row = score_one(pensioner(pension_credit_weekly=D("34.00")))
    assert not row["pension_credit_missing"] and row["pension_credit_weekly"] == D("34.00")


@pytest.mark.parametrize(("severe", "carer", "guarantee"), [
    (False, False, "238.00"), (True, False, "324.05"), (False, True, "286.15"), (True, True, "372.20")])
def test_severe_disability_and_carer_additions(severe: bool, carer: bool, guarantee: str) -> None:
    row = score_one(pensioner(severe_disability=severe, carer=carer))
    assert row["pension_credit_guarantee_weekly"] == D(guarantee)
    assert row["pension_credit_value_annual"] == (D(guarantee) - D("204.00")) * 52


def test_disregarded_income_and_counted_income() -> None:
    # disability benefit, child benefit, HB and CTR are disregarded; carer's allowance and other income count
    ignored = score_one(pensioner(disability_benefit_weekly=D("108.55"), child_benefit_weekly=D("26.05"),
                                  hb_weekly=D("150"), ctr_weekly=D("20")))
    assert ignored["pension_credit_income_weekly"] == D("204.00")
    counted = score_one(pensioner(carers_allowance_weekly=D("10.00"), other_income_weekly=D("5.00")))
    assert counted["pension_credit_income_weekly"] == D("219.00")


@pytest.mark.parametrize(("adults", "partner", "earnings", "counted"), [
    (1, None, "20.00", "15.00"), (1, None, "3.00", "0.00"), (2, d(1948, 6, 1), "20.00", "10.00")])
def test_earnings_disregard(adults: int, partner: dt.date | None, earnings: str, counted: str) -> None:
    row = score_one(pensioner(adults=adults, partner_birth_date=partner, earnings_weekly=D(earnings)))
    assert row["pension_credit_income_weekly"] == D("204.00") + D(counted)


def test_couple_both_over_pension_age_uses_couple_guarantee() -> None:
    row = score_one(pensioner(adults=2, partner_birth_date=d(1952, 7, 1)))
    assert row["household_type"] == "pensioner_couple" and row["pension_credit_missing"]
    assert row["pension_credit_value_annual"] == (D("363.25") - D("204.00")) * 52


def test_partner_birth_date_makes_a_couple_even_with_one_adult() -> None:
    row = score_one(pensioner(adults=1, partner_birth_date=d(1952, 7, 1)))
    assert row["pension_credit_guarantee_weekly"] == D("363.25")


@pytest.mark.parametrize("partner", [d(1965, 1, 1), d(1960, 4, 6)])
def test_mixed_age_couple_cannot_claim(partner: dt.date) -> None:
    # the partner born 6 Apr 1960 reaches pension age on 6 May 2026: as of 5 May they are still under it
    row = score_one(pensioner(adults=2, partner_birth_date=partner), as_of=d(2026, 5, 5))
    assert not row["pension_credit_missing"] and row["household_type"] == "mixed_age_couple"
    assert row["pension_credit_value_annual"] == D("0.00") and row["pension_credit_income_weekly"] is None
    on = score_one(pensioner(adults=2, partner_birth_date=d(1960, 4, 6)), as_of=d(2026, 5, 6))
    assert on["pension_credit_missing"] and on["household_type"] == "pensioner_couple"


def test_younger_claimant_with_pension_age_partner_is_mixed_age() -> None:
    row = score_one(pensioner(claimant_birth_date=d(1970, 1, 1), adults=2, partner_birth_date=d(1950, 1, 1)))
    assert row["household_type"] == "mixed_age_couple" and not row["pension_credit_missing"]


def test_two_adults_without_partner_birth_date_are_not_flagged_but_noted() -> None:
    row = score_one(pensioner(adults=2))
    assert not row["pension_credit_missing"] and row["pension_credit_value_annual"] == D("0.00")
    assert row["household_type"] == "pensioner_couple"
    assert row["reasons"].startswith("Pension Credit may be unclaimed: couple income £204.00 a week is below the "
                                     "guarantee of £363.25, but the partner's date of birth is not held")


def test_value_summed_over_many_households() -> None:
    con = make_db([pensioner(claim_ref=f"B{i}") for i in range(3)])
    rows = score(con)
    assert sum(r["pension_credit_value_annual"] for r in rows.values()) == D("5304.00")
