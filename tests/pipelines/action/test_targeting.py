"""Crisis-fund targeting's rules (TAKEUP.md section 3) on hand-made pools: the worked example, the
stop at the first household that does not fit, and the split across districts."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from pipelines.action.targeting import Candidate, money_arg, select, split_awards
from schemas.errors import UserError
from schemas.households import HOUSEHOLD_TYPES

FIXED = {t: D("150") for t in HOUSEHOLD_TYPES}


def _pool() -> list[Candidate]:
    rows = [("H1", "in_crisis", -310), ("H2", "in_crisis", -45), ("H3", "at_risk", -520), ("H4", "at_risk", -120),
            ("H5", "at_risk", -120), ("H6", "at_risk", -15)]
    return [Candidate("E07000105", h, "single_adult", s, float(c)) for h, s, c in rows]


def test_takeup_worked_example() -> None:
    chosen = select(_pool(), D("700"), FIXED)
    assert [c.household_id for c, _ in chosen] == ["H1", "H2", "H3", "H4"]
    assert sum(a for _, a in chosen) == D("600")  # £100 left; H5 and H6 get nothing


def test_stops_at_the_first_that_does_not_fit() -> None:
    awards = FIXED | {"couple_with_children": D("400")}
    pool = _pool()
    pool[1] = Candidate("E07000105", "H2", "couple_with_children", "in_crisis", -45.0)
    chosen = select(pool, D("500"), awards)
    # H1 150, H2 400 would make 550 > 500: stop, although H3 (150) would fit
    assert [c.household_id for c, _ in chosen] == ["H1"]


def test_split_by_largest_remainder_ties_by_code() -> None:
    assert split_awards({"E1": 41, "E2": 50, "E3": 31}, 33) == {"E1": 11, "E2": 14, "E3": 8}
    assert split_awards({"E2": 10, "E1": 10}, 3) == {"E1": 2, "E2": 1}  # tie: the lower code first
    assert split_awards({"E1": 2, "E2": 3}, 50) == {"E1": 2, "E2": 3}  # never more than the pool
    assert split_awards({"E1": 0, "E2": 0}, 5) == {"E1": 0, "E2": 0}
    shares = split_awards({"E1": 7, "E2": 13, "E3": 1}, 10)
    assert sum(shares.values()) == 10


@pytest.mark.parametrize("text", ["0", "-5", "abc", "1.234", "nan", "inf"])
def test_money_arguments_refused(text: str) -> None:
    with pytest.raises(UserError):
        money_arg(text, "--budget")


def test_money_arguments_accepted() -> None:
    assert money_arg("£50,000", "--budget") == D("50000.00") and money_arg("150.5", "--award") == D("150.50")


def test_the_shared_summary_is_disclosure_controlled() -> None:
    from pipelines.action.targeting import _shared

    def figures(pool: int, selected: int, award: str) -> dict:
        total = D(award) * selected
        return {"pool": pool, "selected": selected, "budget": D("5000"), "total": total, "left_over": D("5000") - total}

    shared = _shared({"settings": {}, "districts": {"E1": figures(41, 7, "150"), "E2": figures(50, 26, "150")},
                      "county": figures(91, 33, "150")})
    assert shared["districts"]["E1"] == {"pool": 40, "selected": None, "budget": D("5000"), "total": None,
                                         "left_over": None}
    assert shared["districts"]["E2"] == {"pool": 50, "selected": 25, "budget": D("5000"), "total": D("4000.00"),
                                         "left_over": D("1000.00")}
    assert shared["county"]["selected"] == 35 and shared["county"]["total"] == D("5000.00")


def test_a_districts_share_of_the_budget_never_reveals_its_hidden_pool() -> None:
    """A budget that covers every pool gives each district award x its exact pool: shared, that would
    reveal a pool of 1 to 9 that the counts hide. Shared district budgets follow the 10-5 rule: hidden
    with a hidden pool, else to £1,000; the county's is the budget asked for."""
    from pathlib import Path

    from pipelines.action.targeting import TargetRequest, _shared, plan

    pool = [Candidate("E1", f"H{n}", "single_adult", "in_crisis", -100.0) for n in range(3)]
    pool += [Candidate("E2", f"G{n}", "single_adult", "in_crisis", -100.0) for n in range(52)]
    request = TargetRequest(Path("out"), budget=D("100000"), award=D("150"))
    budgets, pools = plan(request, pool)
    assert budgets == {"E1": D("450"), "E2": D("7800")}  # exact, for each district's own summary

    def figures(lad: str) -> dict:
        chosen = select(pools[lad], budgets[lad], FIXED)
        total = sum((a for _, a in chosen), D(0))
        return {"pool": len(pools[lad]), "selected": len(chosen), "budget": budgets[lad], "total": total,
                "left_over": budgets[lad] - total}

    county = {"pool": 55, "selected": 55, "budget": D("100000"), "total": D("8250"), "left_over": D("91750")}
    shared = _shared({"settings": {}, "districts": {lad: figures(lad) for lad in budgets}, "county": county})
    assert shared["districts"]["E1"] == {"pool": None, "selected": None, "budget": None, "total": None,
                                         "left_over": None}
    assert shared["districts"]["E2"]["budget"] == D("8000.00")
    assert shared["county"]["budget"] == D("100000")
