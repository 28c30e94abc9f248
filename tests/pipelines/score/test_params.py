"""Parameters as data: tax year choice, the TOML files, overrides, and the manifest record."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal as D

import pytest

from pipelines.score.params import held_tax_years, load_parameters, tax_year_for
from schemas.errors import UserError
from schemas.parameters import Parameters

d = dt.date


@pytest.mark.parametrize(("as_of", "year"), [
    (d(2026, 4, 5), "2025-26"), (d(2026, 4, 6), "2026-27"), (d(2027, 1, 1), "2026-27"),
    (d(2025, 4, 5), "2024-25"), (d(2099, 12, 31), "2099-00")])
def test_tax_year_for(as_of: dt.date, year: str) -> None:
    assert tax_year_for(as_of) == year


def test_three_years_held_as_package_data() -> None:
    assert held_tax_years() == ["2024-25", "2025-26", "2026-27"]


@pytest.mark.parametrize(("as_of", "energy", "water", "food", "single", "couple", "severe", "carer"), [
    (d(2024, 4, 6), 1690, 473, "31.00", "218.15", "332.95", "81.50", "45.60"),
    (d(2025, 4, 6), 1720, 603, "32.00", "227.10", "346.60", "82.90", "46.40"),
    (d(2026, 4, 6), 1641, 639, "33.00", "238.00", "363.25", "86.05", "48.15"),
])
def test_values_per_year(as_of: dt.date, energy: int, water: int, food: str, single: str, couple: str,
                         severe: str, carer: str) -> None:
    p = load_parameters(as_of)
    assert p.tax_year == tax_year_for(as_of) and p.starts == as_of
    assert p.energy_annual.value == energy and p.water_annual.value == water
    assert p.food_weekly_per_person.value == D(food)
    assert (p.pc_guarantee_single.value, p.pc_guarantee_couple.value) == (D(single), D(couple))
    assert (p.pc_severe_disability_addition.value, p.pc_carer_addition.value) == (D(severe), D(carer))
    assert p.energy_size_factors.value == {1: D("0.70"), 2: D("0.90"), 3: D("1.00"), 4: D("1.10"), 5: D("1.25")}
    assert p.water_size_factors.value == {1: D("0.75"), 2: D("1.00"), 3: D("1.15")}
    assert p.energy_epc_factors.value["C"] == D("0.85") and p.energy_epc_factors.value["E"] == D("1.25")
    assert (p.other_essentials_weekly_per_adult.value, p.other_essentials_weekly_per_child.value) == (35, 20)
    assert (p.resilience_struggling_from.value, p.resilience_coping_from.value,
            p.resilience_comfortable_from.value) == (0, 100, 200)
    assert p.fuel_poverty_method.value == "ten_percent" and p.fuel_poverty_share.value == D("0.10")
    assert p.water_poverty_share.value == D("0.05") and p.food_poverty_share.value == D("0.75")
    assert (p.pc_earnings_disregard_single.value, p.pc_earnings_disregard_couple.value) == (5, 10)
    assert (p.pc_capital_disregarded.value, p.pc_tariff_step.value, p.pc_tariff_per_step.value) == (10000, 500, 1)
    assert p.crisis_recovery_stages.value == ["summons", "liability_order", "enforcement_agent", "attachment"]


def test_assumptions_are_marked_and_every_parameter_sourced() -> None:
    p = load_parameters(d(2026, 11, 20))
    marked = {n for n in Parameters.parameter_names() if p.param(n).assumption}
    assert {"food_weekly_per_person", "energy_size_factors", "energy_epc_factors", "water_size_factors",
            "other_essentials_weekly_per_adult", "other_essentials_weekly_per_child", "food_poverty_share"} <= marked
    assert not marked & {"pc_guarantee_single", "pc_guarantee_couple", "energy_annual", "water_annual",
                         "pc_capital_disregarded", "state_pension_age"}
    assert all(p.param(n).source and p.param(n).unit for n in Parameters.parameter_names())


@pytest.mark.parametrize("as_of", [d(2024, 4, 5), d(2027, 4, 6), d(2030, 1, 1)])
def test_as_of_outside_held_years_is_refused(as_of: dt.date) -> None:
    with pytest.raises(UserError, match="held for 2024-25, 2025-26, 2026-27"):
        load_parameters(as_of)


def test_override_applied_and_recorded() -> None:
    p = load_parameters(d(2026, 11, 20), {"food_weekly_per_person": 34, "water_poverty_share": 0.03})
    assert p.food_weekly_per_person.value == 34 and p.water_poverty_share.value == D("0.03")
    manifest = p.manifest()
    json.dumps(manifest)
    assert manifest["tax_year"] == "2026-27" and manifest["overridden"] == ["food_weekly_per_person",
                                                                          "water_poverty_share"]
    food = manifest["parameters"]["food_weekly_per_person"]
    assert food == {**food, "value": 34, "default": 33, "overridden": True, "assumption": True}
    assert manifest["parameters"]["energy_annual"]["overridden"] is False
    assert manifest["parameters"]["energy_annual"]["date"] == "2026-02-25"
    assert manifest["parameters"]["state_pension_age"]["value"][1] == {
        "born_from": "1960-04-06", "born_to": "1961-03-05", "years": 66, "months": 1, "monthly_steps": True}


def test_override_of_a_table_parameter() -> None:
    p = load_parameters(d(2026, 11, 20), {"energy_size_factors": {"1": 0.8, "2": 1.0}})
    assert p.energy_size_factors.value == {1: D("0.8"), 2: D("1.0")}


def test_unknown_override_refused() -> None:
    with pytest.raises(UserError, match="unknown scoring parameter.*food_per_person"):
        load_parameters(d(2026, 11, 20), {"food_per_person": 34})


@pytest.mark.parametrize(("overrides", "message"), [
    ({"fuel_poverty_method": "lilee"}, "not offered yet"),
    ({"fuel_poverty_method": "lihc"}, "fuel_poverty_method"),
    ({"food_weekly_per_person": -1}, "greater than or equal to 0"),
    ({"water_poverty_share": 1.5}, "water_poverty_share"),
    ({"resilience_coping_from": 300}, "resilience bands must rise"),
    ({"energy_size_factors": {"1": 0.7, "3": 1.0}}, "size factors need keys"),
    ({"crisis_recovery_stages": ["court"]}, "crisis_recovery_stages"),
])
def test_bad_override_refused(overrides: dict, message: str) -> None:
    with pytest.raises(UserError, match=message):
        load_parameters(d(2026, 11, 20), overrides)


@pytest.mark.parametrize(("as_of", "hs", "hs_under_one", "aa", "fh_max", "fh_low", "cg2"), [
    (d(2024, 11, 20), "4.25", "8.50", ("72.65", "108.55"), "0.75", "0.22", False),
    (d(2025, 11, 20), "4.25", "8.50", ("73.90", "110.40"), "0.75", "0.22", True),
    (d(2026, 11, 20), "4.65", "9.30", ("76.70", "114.60"), "1.00", "0.25", True),
])
def test_takeup_values_per_year(as_of: dt.date, hs: str, hs_under_one: str, aa: tuple[str, str], fh_max: str,
                                fh_low: str, cg2: bool) -> None:
    p = load_parameters(as_of)
    assert (p.healthy_start_weekly.value, p.healthy_start_under_one_weekly.value) == (D(hs), D(hs_under_one))
    assert (p.aa_lower_weekly.value, p.aa_higher_weekly.value) == (D(aa[0]), D(aa[1]))
    fh = p.ctr_schemes.value["E07000112"]
    assert (fh.max_pct, fh.band_pcts[-1]) == (D(fh_max), D(fh_low))
    assert p.ctr_schemes.value["E07000110"].max_pct == D("0.80") and p.ctr_default_max_pct.value == D("0.80")
    assert p.whd_core_group_2_automatic.value is cg2 and p.whd_amount.value == 150
    assert (p.fsm_value_per_child.value, p.fsm_all_uc_from.value) == (500, d(2026, 9, 1))
    assert (p.fsm_earnings_limit_1ap.value, p.fsm_earnings_limit_2ap.value, p.fsm_earnings_limit_3ap.value) == (
        D("616.67"), D("1233.34"), D("1850.00"))
    assert p.healthy_start_earnings_limit_monthly.value == 408 and p.watersure_cap_annual.value == p.water_annual.value


def test_unverified_figures_are_flagged_and_listed_in_the_manifest() -> None:
    p = load_parameters(d(2026, 11, 20))
    manifest = p.manifest()
    assert {"fsm_all_uc_from", "fsm_value_per_child", "healthy_start_weekly", "healthy_start_under_one_weekly",
            "water_suppliers", "watersure_cap_annual", "whd_core_group_2_automatic", "ctr_default_max_pct",
            "ctr_schemes.E07000110", "ctr_schemes.E07000105"} <= set(manifest["unverified"])
    assert "ctr_schemes.E07000112" not in manifest["unverified"]  # the F&H 2026/27 scheme is published
    assert {"fsm_all_uc_from", "aa_sign_age", "ctr_schemes.E07000112"} <= set(manifest["assumptions"])
    assert manifest["parameters"]["fsm_all_uc_from"]["unverified"] is True
    assert manifest["parameters"]["ctr_schemes"]["value"]["E07000110"]["unverified"] is True
    assert "aa_lower_weekly" in load_parameters(d(2024, 11, 20)).manifest()["unverified"]  # secondary sources only
    assert "aa_lower_weekly" not in manifest["unverified"]


@pytest.mark.parametrize(("overrides", "message"), [
    ({"ctr_schemes": {"Maidstone": {"district": "M", "max_pct": 0.8, "source": "s"}}}, "ctr_schemes"),
    ({"ctr_schemes": {"E07000110": {"district": "M", "max_pct": 0.8, "band_pcts": [0.5, 0.8], "source": "s"}}},
     "band_pcts must fall"),
    ({"water_suppliers": {"Canterbury": "southern"}}, "postcode areas or outward codes"),
    ({"water_suppliers": {"CT": "thames"}}, "water_suppliers"),
])
def test_bad_takeup_override_refused(overrides: dict, message: str) -> None:
    with pytest.raises(UserError, match=message):
        load_parameters(d(2026, 11, 20), overrides)
