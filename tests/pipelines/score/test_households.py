"""Scoring: cashflow, resilience bands, fuel/water/food poverty, linking and reasons (hand-worked, 2026/27).

A single adult (people = 1) in 2026/27 with no EPC rating has, a year:
food 33 x 52 = 1,716.00; energy 1,641 x 0.70 = 1,148.70; water 639 x 0.75 = 479.25;
other essentials 35 x 52 = 1,820.00; essentials 5,163.95 (430.329166... a month).
With Universal Credit £1,000.00 a month (12,000 a year) and a linked council-tax account charging X
a year: cashflow = 6,836.05 - X a year, so X = 6,836.05 is exactly £0.00 a month and each 12p of X
is a penny a month.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal as D
from typing import Any

import pytest

from pipelines.score.households import format_summary, summarise
from tests.pipelines.score.support import LAD, account, claim, make_db, score, score_one

UC = {"uc_monthly": D("1000.00")}


def _with_charge(charge: str, stage: str = "none") -> dict:
    return score_one(claim(**UC), [account(annual_charge=D(charge), recovery_stage=stage)])


def test_essentials_of_a_single_adult() -> None:
    row = _with_charge("6836.05")
    assert row["income_monthly"] == 1000.0
    assert row["food_monthly"] == pytest.approx(143.0, abs=1e-9)
    assert row["energy_monthly"] == pytest.approx(95.725, abs=1e-9)
    assert row["water_monthly"] == pytest.approx(39.9375, abs=1e-9)
    assert row["other_essentials_monthly"] == pytest.approx(1820 / 12, abs=1e-9)
    assert row["essentials_monthly"] == pytest.approx(5163.95 / 12, abs=1e-9)
    assert row["council_tax_monthly"] == pytest.approx(6836.05 / 12, abs=1e-9)
    assert row["people"] == 1 and row["household_type"] == "single_adult" and not row["pensioner"]


@pytest.mark.parametrize(
    ("charge", "cashflow", "status"),
    [
        ("6836.17", -0.01, "at_risk"),
        ("6836.05", 0.00, "struggling"),
        ("6835.93", 0.01, "struggling"),
        ("5636.17", 99.99, "struggling"),
        ("5636.05", 100.00, "coping"),
        ("5635.93", 100.01, "coping"),
        ("4436.17", 199.99, "coping"),
        ("4436.05", 200.00, "comfortable"),
        ("4435.93", 200.01, "comfortable"),
    ],
)
def test_resilience_bands_at_and_either_side(charge: str, cashflow: float, status: str) -> None:
    row = _with_charge(charge)
    assert row["cashflow_monthly"] == pytest.approx(cashflow, abs=1e-9)
    assert row["resilience_status"] == status


def test_cashflow_exactly_zero_is_exactly_zero() -> None:
    assert _with_charge("6836.05")["cashflow_monthly"] == 0.0
    assert _with_charge("5636.05")["cashflow_monthly"] == 100.0


@pytest.mark.parametrize("stage", ["summons", "liability_order", "enforcement_agent", "attachment"])
def test_in_crisis_needs_shortfall_and_recovery_stage(stage: str) -> None:
    assert _with_charge("6836.17", stage)["resilience_status"] == "in_crisis"
    assert _with_charge("6836.05", stage)["resilience_status"] == "struggling"  # no shortfall


@pytest.mark.parametrize("stage", ["none", "reminder", "final_notice"])
def test_early_recovery_stages_are_at_risk_not_crisis(stage: str) -> None:
    assert _with_charge("6836.17", stage)["resilience_status"] == "at_risk"


def test_unlinked_claim_is_never_in_crisis_and_uses_weekly_council_tax() -> None:
    # unlinked: council tax (30.00 - 10.00) x 52 / 12 a month; income 0 -> shortfall
    con = make_db([claim(council_tax_weekly=D("30.00"), ctr_weekly=D("10.00"))],
                  [account(recovery_stage="enforcement_agent")], links=[])
    row = score(con)["B1"]
    assert row["account_ref"] is None and row["link_method"] == "unlinked" and row["link_probability"] is None
    assert row["council_tax_monthly"] == pytest.approx(20 * 52 / 12)
    assert row["resilience_status"] == "at_risk"
    assert row["recovery_stage"] is None


def test_linked_council_tax_net_of_reduction_and_never_negative() -> None:
    row = score_one(claim(council_tax_weekly=D("99")), [account(annual_charge=D("1800"), ctr_annual=D("600"))])
    assert row["council_tax_monthly"] == 100.0 and row["account_ref"] == "A1" and row["link_method"] == "uprn"
    assert row["link_probability"] == 0.99
    row = score_one(claim(), [account(annual_charge=D("500"), ctr_annual=D("900"))])
    assert row["council_tax_monthly"] == 0.0


def test_link_to_an_account_not_in_council_tax_is_ignored() -> None:
    con = make_db([claim()], [account("A1")], links=[("B1", "A-missing")])
    assert score(con)["B1"]["link_method"] == "unlinked"


def test_income_counts_every_source_and_housing_is_rent() -> None:
    weekly = dict(earnings_weekly=1, hb_weekly=2, state_pension_weekly=3, private_pension_weekly=4,
                  pension_credit_weekly=5, disability_benefit_weekly=6, carers_allowance_weekly=7,
                  child_benefit_weekly=8, other_income_weekly=9)
    row = score_one(claim(uc_monthly=D("100"), rent_weekly=D("120"), **{k: D(v) for k, v in weekly.items()}))
    assert row["income_monthly"] == pytest.approx(100 + 45 * 52 / 12)
    assert row["housing_costs_monthly"] == pytest.approx(120 * 52 / 12)


def test_people_count_adults_and_children_not_non_dependants() -> None:
    # couple + 3 children: people 5 -> energy 1641 x 1.25, water 639 x 1.15, food 33 x 5, other 2x35 + 3x20
    row = score_one(claim(adults=2, children=3, child_ages="2;5;9", non_dependants=2,
                          partner_birth_date=dt.date(1982, 5, 5)))
    assert row["people"] == 5 and row["household_type"] == "couple_with_children"
    assert row["energy_monthly"] == pytest.approx(1641 * 1.25 / 12)
    assert row["water_monthly"] == pytest.approx(639 * 1.15 / 12)
    assert row["food_monthly"] == pytest.approx(33 * 5 * 52 / 12)
    assert row["other_essentials_monthly"] == pytest.approx(130 * 52 / 12)


def test_household_types() -> None:
    con = make_db([
        claim("S"), claim("L", children=1, child_ages="4"),
        claim("C", adults=2, partner_birth_date=dt.date(1985, 1, 1)),
        claim("P", claimant_birth_date=dt.date(1950, 1, 1)),
        claim("PP", claimant_birth_date=dt.date(1950, 1, 1), adults=2, partner_birth_date=dt.date(1952, 1, 1)),
        claim("M", claimant_birth_date=dt.date(1950, 1, 1), adults=2, partner_birth_date=dt.date(1970, 1, 1)),
    ])
    rows = score(con)
    assert {k: r["household_type"] for k, r in rows.items()} == {
        "S": "single_adult", "L": "lone_parent", "C": "couple_no_children", "P": "single_pensioner",
        "PP": "pensioner_couple", "M": "mixed_age_couple"}
    assert [k for k, r in rows.items() if r["pensioner"]] == ["P", "PP"]


@pytest.mark.parametrize(("rating", "factor"), [("A", 0.85), ("C", 0.85), ("D", 1.00), ("E", 1.25), ("G", 1.25)])
def test_epc_factor_by_claim_uprn(rating: str, factor: float) -> None:
    row = score_one(claim(uprn=100), epc=[(100, rating)])
    assert row["epc_rating"] == rating
    assert row["energy_monthly"] == pytest.approx(1641 * 0.70 * factor / 12)


def test_epc_by_account_uprn_when_claim_has_none_and_claim_uprn_first() -> None:
    row = score_one(claim(), [account(uprn=200)], epc=[(200, "F")])
    assert row["epc_rating"] == "F" and row["uprn"] == 200
    row = score_one(claim(uprn=100), [account(uprn=200)], epc=[(100, "B"), (200, "F")])
    assert row["epc_rating"] == "B" and row["uprn"] == 100


def test_fuel_poverty_at_ten_percent() -> None:
    # energy 1,148.70 a year; 10% of income 11,487.00 (UC 957.25 a month) is exactly it: not above
    assert not score_one(claim(uc_monthly=D("957.25")))["fuel_poverty"]
    assert score_one(claim(uc_monthly=D("957.24")))["fuel_poverty"]


def test_water_poverty_at_five_percent_and_with_nothing_after_housing() -> None:
    # water 479.25 a year; 5% of 9,585.00 (UC 798.75 a month) is exactly it: not above
    assert not score_one(claim(uc_monthly=D("798.75")))["water_poverty"]
    assert score_one(claim(uc_monthly=D("798.74")))["water_poverty"]
    # income - housing = 0 exactly
    row = score_one(claim(earnings_weekly=D("100"), rent_weekly=D("100")))
    assert row["water_poverty"] and "nothing is left after housing costs" in row["reasons"]
    # the 3% convention by override: 3% of 9,585 = 287.55 < 479.25
    assert score_one(claim(uc_monthly=D("798.75")), overrides={"water_poverty_share": 0.03})["water_poverty"]


def test_food_poverty_at_three_quarters_of_the_food_line() -> None:
    # left for food = 6,000 - X - 1,148.70 - 479.25 - 1,820 = 2,552.05 - X; minimum 0.75 x 1,716 = 1,287.00
    at = score_one(claim(uc_monthly=D("500")), [account(annual_charge=D("1265.05"))])
    assert not at["food_poverty"]
    below = score_one(claim(uc_monthly=D("500")), [account(annual_charge=D("1265.06"))])
    assert below["food_poverty"]
    assert "Food poverty: £107.25 a month is left for food, below the minimum food cost of £107.25" in below["reasons"]


def test_override_food_line() -> None:
    row = score_one(claim(), overrides={"food_weekly_per_person": 34})
    assert row["food_monthly"] == pytest.approx(34 * 52 / 12)


def test_reasons_read_on_the_phone() -> None:
    # shortfall: income 0, essentials 430.33 a month
    row = score_one(claim())
    assert row["reasons"].endswith("At risk: spends £430.33 a month more than comes in")
    # These households get Universal Credit and pay council tax with no CTR, so the take-up clauses
    # (Council Tax Reduction, Warm Home Discount, South East Water's social tariff: TAKEUP.md) come first; the
    # flags and status follow them.
    crisis = _with_charge("6836.17", "liability_order")["reasons"].split("; ")
    assert crisis[0] == ("Council tax recovery has reached a liability order with £0.00 arrears: refer to the "
                         "recovery team before further action")
    assert [c.split(":")[0] for c in crisis[1:-1]] == ["Council Tax Reduction", "Warm Home Discount", "Water"]
    assert crisis[-1] == ("In crisis: spends £0.01 a month more than comes in, and council tax recovery has reached "
                          "a liability order")
    coping = _with_charge("5636.05")["reasons"].split("; ")
    assert coping[-1] == "Coping: £100.00 a month left after essentials (under £200)"
    fuel = score_one(claim(uc_monthly=D("957.24")))["reasons"].split("; ")
    assert [c.split(":")[0] for c in fuel[:2]] == ["Warm Home Discount", "Water"]
    assert fuel[2].startswith("Fuel poverty: energy £95.73 a month is more than 10% of income of £957.24 a month")


@pytest.mark.parametrize("stage", ["summons", "liability_order", "enforcement_agent", "attachment"])
def test_council_tax_at_summons_or_later_is_in_the_reasons_whatever_the_status(stage: str) -> None:
    row = score_one(claim(**UC), [account(annual_charge=D("1200.00"), recovery_stage=stage, arrears=D("842.17"))])
    assert row["resilience_status"] == "comfortable"
    first = row["reasons"].split("; ")[0]
    assert first.startswith("Council tax recovery has reached ") and "with £842.17 arrears" in first, first
    assert row["reasons"].split("; ")[-1].startswith("Comfortable: ")
    calm = score_one(claim(**UC), [account(annual_charge=D("1200.00"), recovery_stage="final_notice",
                                           arrears=D("842.17"))])
    assert "Council tax recovery" not in calm["reasons"]


def test_household_id_fallback_and_keys() -> None:
    con = make_db([claim("B1"), claim("B2")])
    rows = score(con)
    expected = "H-" + hashlib.sha256(f"{LAD}:B1".encode()).hexdigest()[:12]
    assert rows["B1"]["household_id"] == expected and rows["B1"]["other_districts"] == ""
    con = make_db([claim("B1"), claim("B2")], keys=[("B1", "H-kept", "E07000106")])
    rows = score(con)
    assert rows["B1"]["household_id"] == "H-kept" and rows["B1"]["other_districts"] == "E07000106"
    assert (rows["B1"]["person_cluster_id"], rows["B1"]["linked_household_ids"]) == ("C-H-kept", "H-other")
    assert rows["B2"]["person_cluster_id"] == "C-" + hashlib.sha256(f"{LAD}:B2".encode()).hexdigest()[:12]
    assert rows["B2"]["household_id"].startswith("H-")


def test_one_row_per_claim_even_with_duplicate_links_and_epc() -> None:
    con = make_db([claim("B1", uprn=100), claim("B2")], [account("A1"), account("A2")],
                  links=[("B1", "A1"), ("B1", "A2")], epc=[(100, "C"), (100, "E")])
    rows = score(con)
    assert len(rows) == 2 and rows["B1"]["epc_rating"] == "E"  # the worse rating where several are held


def test_bi_safe_types_and_no_personal_columns() -> None:
    con = make_db([claim()])
    score(con)
    types = dict(con.execute("SELECT column_name, data_type FROM information_schema.columns "
                             "WHERE table_name = 'households'").fetchall())
    allowed = {"VARCHAR", "BIGINT", "DOUBLE", "DECIMAL(18,2)", "DATE", "BOOLEAN"}
    assert set(types.values()) <= allowed
    assert not [c for c in types if c.endswith(("_key", "_name", "birth_date"))]
    contract = ["household_id", "lad_code", "claim_ref", "account_ref", "uprn", "postcode", "household_type",
                "pensioner", "income_monthly", "housing_costs_monthly", "council_tax_monthly", "essentials_monthly",
                "cashflow_monthly", "resilience_status", "fuel_poverty", "water_poverty", "food_poverty",
                "pension_credit_missing", "pension_credit_value_annual", "link_method", "link_probability",
                "reasons", "extract_date", "run_id"]
    assert set(contract) <= set(types)


def test_summary_per_district_and_county() -> None:
    con = make_db([claim("B1"), claim("B2", uc_monthly=D("5000")),
                   claim("B3", lad_code="E07000106", claimant_birth_date=dt.date(1950, 3, 1),
                         state_pension_weekly=D("180"), private_pension_weekly=D("20"), capital=D("12000"),
                         uc_monthly=D("0"))])
    score(con)
    rows = summarise(con)
    assert [r["lad_code"] for r in rows] == ["E07000105", "E07000106", "county"]
    ashford, canterbury, county = rows
    assert ashford["households"] == 2 and ashford["at_risk"] == 1 and ashford["comfortable"] == 1
    assert canterbury["pension_credit_missing"] == 1 and canterbury["pension_credit_value_annual"] == D("1768.00")
    assert county["households"] == 3 and county["district_name"] == "Kent"
    text = format_summary(rows)
    lines = text.splitlines()
    assert "Ashford" in lines[2] and "Canterbury" in lines[3] and lines[-1].startswith("Kent")
    assert "£1,768" in lines[-1] and len({len(line) for line in lines if set(line) != {"-"}}) == 1


def test_table_matches_the_households_model() -> None:
    from schemas.households import HouseholdRow, data_dictionary, household_columns

    con = make_db([claim("B1"), claim("B2", claimant_birth_date=dt.date(1950, 1, 1), state_pension_weekly=D("100"))],
                  [account("A1")], links=[("B1", "A1")], epc=[(1, "C")])
    score(con)
    table = con.execute("SELECT column_name, data_type FROM information_schema.columns "
                        "WHERE table_name = 'households' ORDER BY ordinal_position").fetchall()
    assert table == household_columns()
    cursor = con.execute("SELECT * FROM households")
    names = [c[0] for c in cursor.description]
    for row in cursor.fetchall():
        HouseholdRow.model_validate(dict(zip(names, row, strict=True)))
    assert all(entry["description"] for entry in data_dictionary())


def test_no_claims_and_no_epc_table() -> None:
    con = make_db([])
    con.execute("DROP TABLE epc")
    assert score(con) == {}
    rows = summarise(con)
    assert [(r["lad_code"], r["households"]) for r in rows] == [("county", 0)]
    assert format_summary(rows).splitlines()[-1].startswith("Kent")


def test_districts_are_batched_to_fit_the_memory_budget() -> None:
    """Kent (12 x about 13,000 households) scores in one statement in the default 1.4 GiB; eight times Kent in
    batches; a district larger than the budget alone; no budget known: one batch."""
    from pipelines.score.households import SCORE_ROW_BYTES, district_batches

    budget = 1472 * 2**20
    kent = {f"E07000{n}": 13_000 for n in range(105, 117)}
    assert district_batches(kent, budget) == [sorted(kent)]
    eight = {lad: 8 * n for lad, n in kent.items()}
    batches = district_batches(eight, budget)
    assert 2 <= len(batches) <= 6 and sum(batches, []) == sorted(kent)
    assert all(sum(eight[lad] for lad in b) * SCORE_ROW_BYTES <= budget for b in batches)
    assert district_batches({"A": 10**9, "B": 1}, budget) == [["A"], ["B"]]
    assert district_batches(eight, 0) == [sorted(kent)]


def test_scoring_in_batches_of_districts_gives_the_same_households(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each district's households are the same whether scored with every district or in a batch of its own
    (links, keys and council-tax accounts are read for the batch's districts only)."""
    import pipelines.score.households as scoring

    other = "E07000106"
    claims = [claim("B1", rent_weekly=D("90")), claim("B2", lad_code=other, children=2, uc_monthly=D("5")),
              claim("B3", lad_code=other, claimant_birth_date=dt.date(1940, 5, 1))]
    accounts = [account("A1", annual_charge=D("1500"), recovery_stage="summons"),
                account("A1", lad_code=other, annual_charge=D("1800")),
                account("A9", lad_code=other, arrears=D("700"), recovery_stage="liability_order")]
    def run() -> list[tuple[Any, ...]]:
        con = make_db(claims, accounts, links=[("B1", "A1"), ("B2", "A1")])
        score(con)
        return con.execute("SELECT * EXCLUDE (run_id) FROM households ORDER BY lad_code, claim_ref").fetchall() + \
            con.execute("SELECT * EXCLUDE (run_id) FROM arrears_signals ORDER BY lad_code, account_ref").fetchall()

    together = run()
    monkeypatch.setattr(scoring, "SCORE_ROW_BYTES", 2**40)  # every district a batch of its own
    seen: list[list[list[str]]] = []
    batches = scoring.district_batches
    monkeypatch.setattr(scoring, "district_batches",
                        lambda rows, budget: seen.append(batches(rows, budget, 2**40)) or seen[-1])
    assert run() == together and seen == [[[LAD], [other]]]
    assert len(together) == 4 and together[1][1] == other
