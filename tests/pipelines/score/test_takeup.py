"""Take-up checks (TAKEUP.md section 2): every hand-worked example to the penny, and each rule's boundary.

Households are built from the benefits extract only (no Universal Credit extract yet): "gets UC" is
``uc_monthly`` > 0 and take-home pay is ``earnings_weekly`` x 52 / 12.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D
from typing import Any

import pytest

from pipelines.score.takeup_sql import CHECKS
from schemas.columns import column_specs
from schemas.households import KIND_DUCKDB, ArrearsSignalRow
from tests.pipelines.score.support import account, claim, make_db, score, score_one

MAIDSTONE, FOLKESTONE, CANTERBURY = "E07000110", "E07000112", "E07000106"
Y2024, Y2025, Y2026 = dt.date(2024, 11, 20), dt.date(2025, 11, 20), dt.date(2026, 12, 2)
UC = {"uc_monthly": D("400.00")}
PENSIONER = {"claimant_birth_date": dt.date(1950, 1, 1), "state_pension_weekly": D("150.00"),
             "pension_credit_weekly": D("88.00")}


def weekly(monthly: str) -> D:
    """Weekly pounds to the penny from a monthly figure (monthly x 12 / 52)."""
    return (D(monthly) * 12 / 52).quantize(D("0.01"))


def check(row: dict[str, Any], name: str) -> tuple[str | None, D | None]:
    return row[f"{name}_confidence"], row[f"{name}_value_annual"]


def clause(row: dict[str, Any], prefix: str) -> str:
    found = [c for c in row["reasons"].split("; ") if c.startswith(prefix)]
    assert len(found) == 1, row["reasons"]
    return found[0]


def ctr_row(lad: str, as_of: dt.date, charge: str = "1650.00", **changes: Any) -> dict[str, Any]:
    acc = {k: changes.pop(k) for k in ("ctr_annual", "exemption_class", "single_person_discount") if k in changes}
    acc.setdefault("single_person_discount", True)
    return score_one(claim(lad_code=lad, **{**UC, **changes}),
                     [account(lad_code=lad, annual_charge=D(charge), **acc)], as_of=as_of)


# --- a. Council Tax Reduction not claimed ---------------------------------------------------------------------

def test_ctr_example_1_maidstone_2025_26() -> None:
    row = ctr_row(MAIDSTONE, Y2025)
    assert check(row, "ctr") == ("likely", D("1320.00"))
    assert clause(row, "Council Tax Reduction") == (
        "Council Tax Reduction: gets Universal Credit and pays full council tax of £1,650.00 a year with no Council "
        "Tax Reduction: could get about 80% off, £1,320.00 a year (Maidstone 2025/26)")


def test_ctr_example_2_folkestone_2026_27_band_one() -> None:
    row = ctr_row(FOLKESTONE, Y2026)
    assert check(row, "ctr") == ("likely", D("1650.00"))
    assert "about 100% off, £1,650.00 a year (Folkestone and Hythe 2026/27)" in clause(row, "Council Tax Reduction")


def test_ctr_example_3_pensioner_on_pension_credit() -> None:
    row = score_one(claim(**PENSIONER), [account(annual_charge=D("1800.00"), single_person_discount=True)])
    assert check(row, "ctr") == ("likely", D("1800.00"))
    assert "(pension-age scheme 2026/27)" in clause(row, "Council Tax Reduction")


def test_ctr_with_earnings_gets_the_lowest_band_and_is_possible() -> None:
    assert check(ctr_row(FOLKESTONE, Y2026, earnings_weekly=D("50.00")), "ctr") == ("possible", D("412.50"))
    assert check(ctr_row(FOLKESTONE, Y2024, earnings_weekly=D("50.00")), "ctr") == ("possible", D("363.00"))
    # Maidstone's band percentages are not held: its maximum, possible
    assert check(ctr_row(MAIDSTONE, Y2025, earnings_weekly=D("50.00")), "ctr") == ("possible", D("1320.00"))


def test_ctr_district_without_a_scheme_uses_the_default() -> None:
    row = ctr_row(CANTERBURY, Y2026)
    assert check(row, "ctr") == ("likely", D("1320.00"))
    assert "(Canterbury 2026/27)" in clause(row, "Council Tax Reduction")


@pytest.mark.parametrize("changes", [
    {"ctr_annual": D("0.01")}, {"ctr_weekly": D("0.01")}, {"exemption_class": "N"}, {"uc_monthly": D("0")}])
def test_ctr_not_flagged(changes: dict[str, Any]) -> None:
    assert check(ctr_row(MAIDSTONE, Y2025, **changes), "ctr") == (None, D("0.00"))


def test_ctr_not_flagged_without_charge_or_account() -> None:
    assert check(ctr_row(MAIDSTONE, Y2025, charge="0"), "ctr") == (None, D("0.00"))
    assert check(score_one(claim(**UC, council_tax_weekly=D("30"))), "ctr") == (None, D("0.00"))


@pytest.mark.parametrize("changes", [{"non_dependants": 1}, {"single_person_discount": False}])
def test_ctr_doubt_makes_it_possible(changes: dict[str, Any]) -> None:
    assert check(ctr_row(MAIDSTONE, Y2025, **changes), "ctr") == ("possible", D("1320.00"))


def test_ctr_pensioner_on_savings_credit_only_is_possible() -> None:
    rich = {**PENSIONER, "state_pension_weekly": D("240.00"), "pension_credit_weekly": D("5.00")}
    row = score_one(claim(**rich), [account(annual_charge=D("1800.00"), single_person_discount=True)])
    assert check(row, "ctr") == ("possible", D("1800.00"))


def test_ctr_scheme_override_from_config() -> None:
    scheme = {"E07000110": {"district": "Maidstone", "max_pct": 1.0, "source": "council decision"}}
    row = score_one(claim(lad_code=MAIDSTONE, **UC),
                    [account(lad_code=MAIDSTONE, annual_charge=D("1650.00"), single_person_discount=True)],
                    overrides={"ctr_schemes": scheme})
    assert check(row, "ctr") == ("likely", D("1650.00"))


# --- b. Free school meals -------------------------------------------------------------------------------------

FAMILY = {**UC, "adults": 1, "children": 3, "child_ages": "5;9;13", "earnings_weekly": weekly("1250.00")}


def test_fsm_example_after_the_extension() -> None:
    row = score_one(claim(**FAMILY), as_of=dt.date(2026, 12, 2))
    assert check(row, "fsm") == ("possible", D("1000.00"))
    reasons = [c for c in row["reasons"].split("; ") if c.startswith("Free school meals")]
    assert reasons == [
        "Free school meals: gets Universal Credit with 2 child(ren) aged 9, 13 who can get free school meals "
        "(£500 a year each): check they are registered",
        "Free school meals: child(ren) aged 5 get infant free school meals already: register them for free school "
        "meals so that the school gets the pupil premium"]


def test_fsm_example_fails_the_earnings_test_before_the_extension() -> None:
    assert check(score_one(claim(**FAMILY), as_of=dt.date(2026, 5, 1)), "fsm") == (None, D("0.00"))


def test_fsm_first_day_of_the_extension() -> None:
    assert check(score_one(claim(**FAMILY), as_of=dt.date(2026, 8, 31)), "fsm") == (None, D("0.00"))
    assert check(score_one(claim(**FAMILY), as_of=dt.date(2026, 9, 1)), "fsm") == ("possible", D("1000.00"))


@pytest.mark.parametrize(("earnings", "flag"), [("142.30", "possible"), ("142.31", None)])
def test_fsm_earnings_limit(earnings: str, flag: str | None) -> None:
    # 142.30 x 52 / 12 = £616.63 <= £616.67; 142.31 x 52 / 12 = £616.68 (£7,400.12 a year) > £616.67
    row = score_one(claim(**{**FAMILY, "earnings_weekly": D(earnings)}), as_of=dt.date(2026, 5, 1))
    assert row["fsm_confidence"] == flag


@pytest.mark.parametrize(("ages", "expected"), [
    ("7", ("possible", D("500.00"))), ("16;18", ("possible", D("1000.00"))), ("4", ("possible", D("0.00"))),
    ("3", (None, D("0.00"))), ("19", (None, D("0.00"))), (None, ("possible", None))])
def test_fsm_ages(ages: str | None, expected: tuple[str | None, D | None]) -> None:
    children = 0 if ages is None else len(ages.split(";"))
    row = score_one(claim(**UC, children=children or 2, child_ages=ages), as_of=Y2026)
    assert check(row, "fsm") == expected


# --- c. Healthy Start -----------------------------------------------------------------------------------------

TODDLERS = {**UC, "children": 3, "child_ages": "0;2;6", "earnings_weekly": weekly("350.00")}


@pytest.mark.parametrize(("as_of", "value"), [(Y2026, "604.50"), (Y2025, "552.50")])
def test_healthy_start_example(as_of: dt.date, value: str) -> None:
    row = score_one(claim(**TODDLERS), as_of=as_of)
    assert check(row, "healthy_start") == ("possible", D(value))
    assert clause(row, "Healthy Start") == (
        f"Healthy Start: Universal Credit with take-home pay £350.00 a month and child(ren) aged 0, 2: could get "
        f"Healthy Start worth about £{value} a year")


@pytest.mark.parametrize(("earnings", "flag"), [("94.15", "possible"), ("94.16", None)])
def test_healthy_start_408_limit(earnings: str, flag: str | None) -> None:
    # 94.15 x 52 / 12 = £407.98 <= £408; 94.16 x 52 / 12 = £408.03
    assert score_one(claim(**{**TODDLERS, "earnings_weekly": D(earnings)}))["healthy_start_confidence"] == flag


def test_healthy_start_age_three_and_four() -> None:
    three = score_one(claim(**{**TODDLERS, "children": 1, "child_ages": "3"}), as_of=Y2026)
    assert check(three, "healthy_start") == ("possible", D("120.90"))  # 26 x 4.65
    four = score_one(claim(**{**TODDLERS, "children": 1, "child_ages": "4"}), as_of=Y2026)
    assert check(four, "healthy_start") == (None, D("0.00"))


# --- d. Attendance Allowance ----------------------------------------------------------------------------------

ALONE = {"claimant_birth_date": dt.date(1941, 3, 10), "state_pension_weekly": D("200.00"),
         "pension_credit_weekly": D("25.00")}


def test_attendance_allowance_example() -> None:
    row = score_one(claim(**ALONE), [account(disabled_band_reduction=True)])
    assert check(row, "attendance_allowance") == ("possible", D("8463.00"))
    assert clause(row, "Attendance Allowance") == (
        "Attendance Allowance: pensioner with signs of care needs (a disabled band reduction on the council tax, "
        "aged 80 or over) and no disability benefit: may get Attendance Allowance, £3,988.40–£5,959.20 a year, "
        "which could add £4,474.60 a year of Pension Credit")


def test_attendance_allowance_not_on_pension_credit_reruns_the_check() -> None:
    # income £250 a week, guarantee £238: with the addition £324.05, so £74.05 a week = £3,850.60 a year
    row = score_one(claim(claimant_birth_date=dt.date(1940, 1, 1), state_pension_weekly=D("250.00")))
    assert check(row, "attendance_allowance") == ("possible", D("7839.00"))


@pytest.mark.parametrize(("born", "flag"), [(dt.date(1946, 12, 2), "possible"), (dt.date(1946, 12, 3), None)])
def test_attendance_allowance_age_sign_boundary(born: dt.date, flag: str | None) -> None:
    row = score_one(claim(claimant_birth_date=born, state_pension_weekly=D("150.00")), as_of=Y2026)
    assert row["attendance_allowance_confidence"] == flag


def test_attendance_allowance_not_with_a_disability_benefit_or_a_couple_gets_no_addition() -> None:
    row = score_one(claim(**ALONE, disability_benefit_weekly=D("76.70")), [account(disabled_band_reduction=True)])
    assert check(row, "attendance_allowance") == (None, D("0.00"))
    couple = score_one(claim(**ALONE, adults=2, partner_birth_date=dt.date(1942, 1, 1)),
                       [account(disabled_band_reduction=True)])
    assert check(couple, "attendance_allowance") == ("possible", D("3988.40"))


# --- e. Warm Home Discount ------------------------------------------------------------------------------------

def test_whd_example_uc_winter_2026_27() -> None:
    row = score_one(claim(**UC), as_of=Y2026)
    assert check(row, "whd") == ("automatic", D("150.00"))
    assert clause(row, "Warm Home Discount").startswith(
        "Warm Home Discount: gets Universal Credit: should get £150 Warm Home Discount automatically")


def test_whd_2024_25_core_group_2_is_possible_group_1_automatic() -> None:
    assert check(score_one(claim(**UC), as_of=Y2024), "whd") == ("possible", D("150.00"))
    assert check(score_one(claim(**PENSIONER), as_of=Y2024), "whd") == ("automatic", D("150.00"))
    assert check(score_one(claim(), as_of=Y2024), "whd") == (None, D("0.00"))


# --- f. Water social tariffs and WaterSure --------------------------------------------------------------------

def test_water_southern_pension_credit_example() -> None:
    row = score_one(claim(**PENSIONER, postcode="CT1 1AA"), as_of=Y2026)
    assert check(row, "water_tariff") == ("possible", D("95.85"))
    assert clause(row, "Water:") == ("Water: on Pension Credit in the Southern Water area: may qualify for the "
                                     "Essentials tariff, saving about £95.85 a year on water")


def test_watersure_example_2025_26() -> None:
    row = score_one(claim(**UC, adults=2, children=3, child_ages="2;5;8", partner_birth_date=dt.date(1981, 1, 1)),
                    as_of=Y2025)
    assert check(row, "watersure") == ("possible", D("90.45"))


def test_water_income_routes_are_flagged_without_a_value() -> None:
    affinity = score_one(claim(**UC, postcode="CT16 1AA"))
    assert check(affinity, "water_tariff") == ("possible", None)
    assert "Affinity Water area: may qualify for the LIFT tariff (saving not estimated" in clause(affinity, "Water:")
    well_off = score_one(claim(uc_monthly=D("0"), earnings_weekly=D("600"), postcode="CT16 1AA"))
    assert check(well_off, "water_tariff") == (None, D("0.00"))
    unknown = score_one(claim(**UC, postcode="SW1A 1AA"))
    assert check(unknown, "water_tariff") == (None, D("0.00"))


# --- g. Housing Benefit for pensioners ------------------------------------------------------------------------

RENTER = {"claimant_birth_date": dt.date(1950, 1, 1), "state_pension_weekly": D("180.00"),
          "pension_credit_weekly": D("30.00"), "rent_weekly": D("120.00"), "tenure": "housing_association"}


def test_hb_pensioner_example() -> None:
    row = score_one(claim(**RENTER))
    assert check(row, "hb_pensioner") == ("likely", D("6240.00"))
    assert clause(row, "Housing Benefit") == ("Housing Benefit: pensioner on Pension Credit paying £120.00 a week "
                                             "rent with no Housing Benefit: could get up to £6,240.00 a year")


@pytest.mark.parametrize(("changes", "expected"), [
    ({"tenure": "private_rented"}, ("possible", D("6240.00"))),
    ({"non_dependants": 1}, ("possible", D("6240.00"))),
    ({"hb_weekly": D("10.00")}, (None, D("0.00"))),
    ({"tenure": "owner_occupier"}, (None, D("0.00"))),
    ({"pension_credit_weekly": D("0")}, (None, D("0.00"))),
    ({"claimant_birth_date": dt.date(1980, 1, 1)}, (None, D("0.00")))])
def test_hb_pensioner_rules(changes: dict[str, Any], expected: tuple[str | None, D]) -> None:
    assert check(score_one(claim(**{**RENTER, **changes})), "hb_pensioner") == expected


# --- all checks -----------------------------------------------------------------------------------------------

def test_no_benefit_no_checks() -> None:
    row = score_one(claim(earnings_weekly=D("600"), postcode="SW1A 1AA"), [account(annual_charge=D("1500"))])
    assert {c: check(row, c) for c in CHECKS} == {c: (None, D("0.00")) for c in CHECKS}


# --- h. Council-tax arrears not known to the benefits service -------------------------------------------------

def test_arrears_signal_example_and_ranking() -> None:
    accounts = [
        account("A1", recovery_stage="liability_order", arrears=D("842.17"), postcode="TN23 1AB"),
        account("A2", recovery_stage="attachment", arrears=D("100.00")),
        account("A3", recovery_stage="enforcement_agent", arrears=D("50.00")),
        account("A4", recovery_stage="summons", arrears=D("2000.00")),
        account("A5", recovery_stage="liability_order", arrears=D("900.00")),
        account("A6", recovery_stage="final_notice", arrears=D("5000.00")),   # stage not listed
        account("A7", recovery_stage="summons", arrears=D("0.99")),           # under £1
        account("A8", recovery_stage="attachment", arrears=D("700.00")),      # linked to a claim
    ]
    con = make_db([claim("B1")], accounts, links=[("B1", "A8")])
    score(con)
    rows = con.execute("SELECT account_ref, rank, arrears, not_known_arrears_confidence, reason "
                       "FROM arrears_signals ORDER BY rank").fetchall()
    assert [(r[0], r[1]) for r in rows] == [("A2", 1), ("A3", 2), ("A5", 3), ("A1", 4), ("A4", 5)]
    a1 = rows[3]
    assert (a1[2], a1[3]) == (D("842.17"), "signal")
    assert a1[4] == ("Council tax account at liability order with £842.17 arrears and no benefit claim: check for "
                     "Council Tax Reduction, Universal Credit or hardship help before further recovery")


def test_arrears_signal_table_matches_its_model() -> None:
    con = make_db([], [account("A1", uprn=5, recovery_stage="summons", arrears=D("10"))])
    score(con)
    table = con.execute("SELECT column_name, data_type FROM information_schema.columns "
                        "WHERE table_name = 'arrears_signals' ORDER BY ordinal_position").fetchall()
    assert table == [(s.name, KIND_DUCKDB[s.kind]) for s in column_specs(ArrearsSignalRow)]
    cursor = con.execute("SELECT * FROM arrears_signals")
    names = [c[0] for c in cursor.description]
    for row in cursor.fetchall():
        ArrearsSignalRow.model_validate(dict(zip(names, row, strict=True)))
