"""Campaign outcomes on hand-made tables: each cohort household in exactly one outcome, receipt per check
measured against what it received when the campaign started, and the shared figures under the 10-5 rule
while each district's own stay exact."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from pipelines.action.campaigns import Campaign, campaign_stage, check_name, exact_rows, shared_rows, write_json
from schemas.errors import UserError

AS_OF = dt.date(2026, 11, 21)


def _tables(con: duckdb.DuckDBPyConnection) -> None:
    """Households H1..H5 in one district: H1 gets CTR on its claim, H2 on its account, H3 still flagged,
    H4 no longer flagged, H5 gone (not scored)."""
    con.execute("""CREATE TABLE households AS SELECT * FROM (VALUES
        ('H1', 'E07000106', 'C1', 'A1', 'likely', 900.00, false, 0.00, 0.00),
        ('H2', 'E07000106', 'C2', 'A2', 'likely', 1200.00, false, 0.00, 0.00),
        ('H3', 'E07000106', 'C3', 'A3', 'possible', 800.00, false, 0.00, 0.00),
        ('H4', 'E07000106', 'C4', 'A4', NULL, 0.00, false, 0.00, 0.00))
        t(household_id, lad_code, claim_ref, account_ref, ctr_confidence, ctr_value_annual,
          pension_credit_missing, pension_credit_value_annual, pension_credit_weekly)""")
    con.execute("""CREATE TABLE benefits AS SELECT * FROM (VALUES
        ('E07000106', 'C1', 10.00, 0.00, 0.00), ('E07000106', 'C2', 0.00, 0.00, 0.00),
        ('E07000106', 'C3', 0.00, 0.00, 0.00), ('E07000106', 'C4', 0.00, 0.00, 0.00))
        t(lad_code, claim_ref, ctr_weekly, hb_weekly, disability_benefit_weekly)""")
    con.execute("""CREATE TABLE council_tax AS SELECT * FROM (VALUES
        ('E07000106', 'A1', 0.00), ('E07000106', 'A2', 1300.00), ('E07000106', 'A3', 0.00),
        ('E07000106', 'A4', 0.00)) t(lad_code, account_ref, ctr_annual)""")


def _campaign(out: Path, check: str = "ctr", status: str = "live") -> Campaign:
    folder = out / "campaigns" / f"c-{check}"
    folder.mkdir(parents=True)
    with duckdb.connect() as con:
        con.execute(f"""COPY (SELECT * FROM (VALUES ('H1', 'E07000106', 0.00), ('H2', 'E07000106', 100.00),
            ('H3', 'E07000106', 0.00), ('H4', 'E07000106', 0.00), ('H5', 'E07000106', 0.00))
            t(household_id, lad_code, received_at_start_annual)) TO '{folder / "cohort.parquet"}' (FORMAT parquet)""")
    campaign = Campaign(f"c-{check}", check, dt.date(2026, 11, 20), "r1", ("E07000106",), 5, status,
                        "2026-11-20T00:00:00+00:00")
    write_json(campaign.as_json(), folder / "campaign.json")
    return campaign


def test_each_cohort_household_lands_in_one_outcome_and_receipt_is_what_was_gained(tmp_path):
    con = duckdb.connect()
    _tables(con)
    _campaign(tmp_path)
    section = campaign_stage(con, tmp_path, "r2", AS_OF)
    row = con.execute("SELECT cohort, now_receiving, value_received_annual, still_missing, value_still_missing_annual,"
                      " no_longer_flagged, left_caseload, receipt_visible FROM campaigns_exact").fetchall()
    # H1: 10 x 52 = 520 gained; H2: 1,300 on the account less 100 at the start = 1,200; H3 still missing (800)
    assert row == [(5, 2, Decimal("1720.00"), 1, Decimal("800.00"), 1, 1, True)]
    assert [c["campaign"] for c in section["live"]] == ["c-ctr"]
    assert section["live"][0]["cohort"] is None  # 5: hidden in what is shared


def test_a_check_whose_receipt_is_not_in_the_data_has_no_now_receiving(tmp_path):
    con = duckdb.connect()
    _tables(con)
    con.execute("ALTER TABLE households ADD COLUMN fsm_confidence VARCHAR")
    con.execute("ALTER TABLE households ADD COLUMN fsm_value_annual DECIMAL(18,2)")
    con.execute("UPDATE households SET fsm_confidence = 'possible', fsm_value_annual = 500 WHERE household_id = 'H1'")
    _campaign(tmp_path, "fsm")
    campaign_stage(con, tmp_path, "r2", AS_OF)
    row = con.execute("SELECT now_receiving, value_received_annual, still_missing, no_longer_flagged, left_caseload "
                      "FROM campaigns_exact").fetchall()
    assert row == [(None, None, 1, 3, 1)]


def test_a_stopped_campaign_is_not_reported(tmp_path):
    con = duckdb.connect()
    _tables(con)
    _campaign(tmp_path, status="stopped")
    section = campaign_stage(con, tmp_path, "r2", AS_OF)
    assert section["live"] == [] and section["stopped"] == 1
    assert con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name LIKE 'campaigns%'"
                       ).fetchone() == (0,)


def test_shared_figures_publish_the_headline_and_hide_what_would_reveal_a_small_count():
    campaign = Campaign("pc", "pension_credit", dt.date(2026, 11, 20), "r1", ("E07000105", "E07000106"), 39,
                        "live", "t")
    zero = {"no_longer_flagged": 0, "left_caseload": 0, "value_still_missing_annual": Decimal(0)}
    figures = {
        "E07000105": {"cohort": 15, "now_receiving": 0, "still_missing": 15, **zero,
                      "value_received_annual": Decimal(0)},
        "E07000106": {"cohort": 24, "now_receiving": 15, "still_missing": 9, **zero,
                      "value_received_annual": Decimal("19500.00")},
    }
    shared = {r["district"]: r for r in shared_rows(campaign, figures, "r2", AS_OF, {})}
    canterbury = shared["E07000106"]
    assert canterbury["now_receiving"] == 15 and canterbury["value_received_annual"] == Decimal("20000.00")
    assert canterbury["still_missing"] is None and canterbury["cohort"] is None and canterbury["suppressed"]
    assert shared["county"]["now_receiving"] == 15
    exact = exact_rows(campaign, figures, "r2", AS_OF, {"E07000105": "stale"})
    assert [(r["district"], r["cohort"], r["now_receiving"], r["still_missing"], r["availability"]) for r in exact] \
        == [("E07000105", None, None, None, "stale"), ("E07000106", 24, 15, 9, "available")]


@pytest.mark.parametrize("name", ["", "a b", "../x", "-x", "x" * 65])
def test_a_campaign_name_must_be_a_plain_folder_name(name):
    with pytest.raises(UserError, match="use letters, digits"):
        check_name(name)


def test_the_county_row_carries_the_partnership_name(tmp_path):
    con = duckdb.connect()
    _tables(con)
    _campaign(tmp_path)
    campaign_stage(con, tmp_path, "r2", AS_OF, county_name="Kent and Medway")
    assert con.execute("SELECT district, district_name FROM campaigns ORDER BY district").fetchall() == [
        ("E07000106", "Canterbury"), ("county", "Kent and Medway")]


def test_a_damaged_campaign_is_named_and_skipped_and_the_others_are_followed(tmp_path):
    from pipelines.action.campaigns import list_campaigns
    from tests.cli import povertylink

    con = duckdb.connect()
    _tables(con)
    _campaign(tmp_path)
    _campaign(tmp_path, check="hb_pensioner")
    settings = tmp_path / "campaigns" / "c-hb_pensioner" / "campaign.json"
    settings.write_text('{"name": "c-hb_pensioner"', encoding="utf-8")  # cut short
    section = campaign_stage(con, tmp_path, "r2", AS_OF)
    assert [c["campaign"] for c in section["live"]] == ["c-ctr"]
    assert len(section["damaged"]) == 1 and section["damaged"][0].startswith(f"{settings}: not a readable campaign")
    with pytest.raises(UserError, match="campaign.json: not a readable campaign"):
        list_campaigns(tmp_path)
    listed = povertylink("campaign", "list", "--output", str(tmp_path))
    assert listed.returncode == 2 and "Traceback" not in listed.stderr
    assert listed.stderr.startswith("povertylink: error: ") and "c-hb_pensioner" in listed.stderr
    (tmp_path / "campaigns" / "c-ctr" / "cohort.parquet").write_bytes(b"not parquet")
    section = campaign_stage(con, tmp_path, "r3", AS_OF)
    assert section["live"] == [] and any("cohort.parquet: cannot be read" in d for d in section["damaged"])
