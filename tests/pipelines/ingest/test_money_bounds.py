"""Money bounds that scoring's arithmetic can hold: the largest valid value of every money column, read
through validation as a district would send it, is scored without overflow and with exact amounts.

Before the second round one benefits row with ``rent_weekly=9999999999999999.99`` passed validation and
stopped scoring for the whole county (DECIMAL(18,2) overflow in ``rent_weekly * 52``). Now each money
column has a bound (schemas/inputs.py); beyond it the row is quarantined (tests/pipelines/ingest/
test_validate.py RULE_CASES), and up to it, in any mix, scoring holds (here, hypothesis).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.ingest.validate import validate_path
from pipelines.score.households import score_households, summarise
from pipelines.score.params import load_parameters
from schemas.columns import DECIMAL_18_2_MAX, MONEY_BOUND, column_specs
from schemas.inputs import model_for
from tests.cli import AS_OF_DATE as AS_OF
from tests.conftest import examples
from tests.pipelines.score.support import account as support_account
from tests.pipelines.score.support import claim, make_db, score
from tests.rows import benefits_row, council_tax_row, header, write_csv

LAD = "E07000105"
BOUNDS = {kind: {s.name: Decimal(int(s.le)) for s in column_specs(model_for(kind)) if s.kind == "money"}
          for kind in ("benefits", "council_tax")}
WEEKLY_INCOME = ("hb_weekly", "state_pension_weekly", "private_pension_weekly", "pension_credit_weekly",
                 "disability_benefit_weekly", "carers_allowance_weekly", "child_benefit_weekly", "other_income_weekly")


def test_every_money_column_has_a_bound_far_inside_decimal_18_2() -> None:
    for kind, bounds in BOUNDS.items():
        assert set(bounds) == {s.name for s in column_specs(model_for(kind)) if s.kind == "money"}
        assert all(0 < b <= MONEY_BOUND for b in bounds.values()), (kind, bounds)
    b = BOUNDS["benefits"]
    worst_income = b["earnings_weekly"] * 52 + b["uc_monthly"] * 12 + sum(b[c] for c in WEEKLY_INCOME) * 52
    assert worst_income * 1_000_000 < DECIMAL_18_2_MAX  # a millionth of what the arithmetic holds
    assert MONEY_BOUND * 100 * 52 < DECIMAL_18_2_MAX  # capital in pence, the widest step of the PC tariff


def _as_written(amount: Decimal, form: int) -> str:
    """An amount as a council export may write it: plain, with pence, or with a pound sign and separators."""
    return [f"{amount}", f"{amount:.2f}", f"£{amount:,.2f}"][form]


def _score(tmp_path: Path, claim: dict[str, str], account: dict[str, str],
           birth: str) -> tuple[dict[str, object], list[dict[str, object]]]:
    """Validate one claim and one account as files, link them, score; (the household, the summary rows)."""
    claim = claim | {"claimant_birth_date": birth}
    validated = {}
    for kind, row in (("benefits", claim), ("council_tax", account)):
        path = write_csv(tmp_path / f"{kind}.csv", [row], header(kind))
        result = validate_path(path, kind, AS_OF, LAD, extract_date=AS_OF)
        assert result.report.status == "ok", result.quarantine.to_pylist()
        validated[kind] = result.valid
    con = duckdb.connect()
    for kind, table in validated.items():
        con.register(f"_{kind}", table)
        con.execute(f"CREATE TABLE {kind} AS SELECT * FROM _{kind}")
    con.execute("CREATE TABLE epc (uprn BIGINT, current_energy_rating VARCHAR)")
    links = pa.table({"lad_code": [LAD], "claim_ref": [claim["claim_ref"]], "account_ref": [account["account_ref"]],
                      "method": ["uprn"], "match_probability": [0.99]})
    con.register("_links", links)
    con.execute("CREATE TABLE links AS SELECT * FROM _links")
    score_households(con, AS_OF, load_parameters(AS_OF), "bounds")
    cursor = con.execute("SELECT * FROM households")
    names = [d[0] for d in cursor.description]
    household = dict(zip(names, cursor.fetchone() or (), strict=True))
    return household, summarise(con)


def _check(household: dict[str, object], money: dict[str, Decimal], account: dict[str, Decimal]) -> None:
    income_a = (money["earnings_weekly"] * 52 + money["uc_monthly"] * 12
                + sum(money[c] for c in WEEKLY_INCOME) * 52)
    assert household["income_monthly"] == float(income_a) / 12
    assert household["housing_costs_monthly"] == float(money["rent_weekly"] * 52) / 12
    council_tax_a = max(account["annual_charge"] - account["ctr_annual"], Decimal(0))
    assert household["council_tax_monthly"] == float(council_tax_a) / 12
    assert isinstance(household["pension_credit_value_annual"], Decimal)
    assert 0 <= household["pension_credit_value_annual"] < 100_000  # at most the guarantee, for a year
    assert household["resilience_status"] and household["reasons"]


def test_every_column_at_its_bound_at_once_is_scored(tmp_path: Path) -> None:
    """The worst case: every amount at its bound, written with a pound sign and separators, for a pensioner
    (the Pension Credit arithmetic) and for someone of working age."""
    money = BOUNDS["benefits"]
    account = BOUNDS["council_tax"]
    claim = benefits_row("B1", **{c: _as_written(v, 2) for c, v in money.items()})
    acct = council_tax_row("A1", **{c: _as_written(v, 2) for c, v in account.items()})
    for birth in ("1940-01-01", "1990-01-01"):
        household, summary = _score(tmp_path, claim, acct, birth)
        _check(household, money, account)
        assert summary[-1]["households"] == 1


@settings(max_examples=examples(25), deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_mix_of_amounts_up_to_the_bounds_is_scored(data: st.DataObject) -> None:
    """Each amount its bound, zero, a penny under the bound or anything between (typed as validation types
    them: the written forms are the test above's), for claimants of every age, linked to an account."""
    def draw(bound: Decimal) -> Decimal:
        pence = data.draw(st.one_of(st.just(int(bound * 100)), st.just(0), st.just(int(bound * 100) - 1),
                                    st.integers(0, int(bound * 100))))
        return Decimal(pence) / 100

    money = {c: draw(b) for c, b in BOUNDS["benefits"].items()}
    account = {c: draw(b) for c, b in BOUNDS["council_tax"].items()}
    birth = data.draw(st.dates(dt.date(1900, 1, 1), AS_OF))
    couple = data.draw(st.booleans())
    partner = {"adults": 2, "partner_birth_date": data.draw(st.dates(dt.date(1900, 1, 1), AS_OF))} if couple else {}
    con = make_db([claim("B1", claimant_birth_date=birth, severe_disability=data.draw(st.booleans()),
                         carer=data.draw(st.booleans()), children=data.draw(st.integers(0, 99)), **partner, **money)],
                  [support_account("A1", **account)], links=[("B1", "A1")])
    household = score(con)["B1"]
    _check(household, money, account)
    assert summarise(con)[-1]["households"] == 1
