"""Scenario files: what a scenario may change, and one clear line for what it may not."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path

import pytest

from pipelines.action.scenario import load_scenario
from pipelines.score.params import load_parameters
from schemas.errors import UserError


def test_a_scenario_file_is_read_with_its_overrides(tmp_path):
    file = tmp_path / "s.toml"
    file.write_text('name = "fh-100"\ndescription = "F&H band one"\ndistrict = ["E07000112", "E07000112"]\n'
                    'base_year = "2026-27"\n[parameters]\nctr_default_max_pct = 1.0\nenergy_annual = 1805.10\n')
    scenario = load_scenario(file)
    assert (scenario.name, scenario.district, scenario.base_year) == ("fh-100", ["E07000112"], "2026-27")
    assert scenario.parameters == {"ctr_default_max_pct": 1.0, "energy_annual": 1805.10}


@pytest.mark.parametrize(("text", "message"), [
    ('name = "x"\n[parameters]\nstate_pension_age = 60\n', "parameters: state_pension_age may not be changed"),
    ('name = "x"\n[parameters]\nenergy = 1\n', "parameters: unknown parameter 'energy'"),
    ('name = "x"\n[parameters]\n', "parameters: no override"),
    ('name = "x"\ndistrict = ["Kent"]\n[parameters]\nenergy_annual = 1\n', "is not an ONS local-authority code"),
    ('name = "a/b"\n[parameters]\nenergy_annual = 1\n', "name: String should match pattern"),
    ('name = "x"\nlinkage = 1\n[parameters]\nenergy_annual = 1\n', "linkage: unknown key; allowed: name, "),
    ('name = x\n', "not valid TOML"),
])
def test_what_a_scenario_may_not_do_is_refused(tmp_path, text, message):
    file = tmp_path / "s.toml"
    file.write_text(text)
    with pytest.raises(UserError, match=message):
        load_scenario(file)


def test_the_documented_example_is_a_valid_scenario(tmp_path):
    docs = (Path(__file__).resolve().parents[3] / "docs" / "CAMPAIGNS.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```toml scenario\n(.*?)```", docs, re.S)
    assert len(blocks) == 1
    file = tmp_path / "example.toml"
    file.write_text(blocks[0])
    scenario = load_scenario(file)
    params = load_parameters(dt.date(2026, 11, 20), scenario.parameters)  # the overrides validate too
    assert params.ctr_schemes.value["E07000112"].max_pct == 1


def test_the_comparison_names_the_county_rows_as_the_run_did():
    from pipelines.action.scenario import _comparison_rows
    from schemas.outputs import METRICS

    areas = ["E07000106", "county"]
    cells = {(a, m): 20 for a in areas for m in (*METRICS, "households_changed", "status_changed")}
    money = dict.fromkeys(cells, Decimal("1234.00"))
    rows = _comparison_rows("s", "r1", areas, cells, cells, money, money, cells, exact=False,
                            county_name="Kent and Medway")
    assert {(r["lad_code"], r["district_name"]) for r in rows} == {("E07000106", "Canterbury"),
                                                                    ("county", "Kent and Medway")}
