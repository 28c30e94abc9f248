"""The partnership's name: configured ([report] county_name), else Kent for Kent's districts, else generic."""

from __future__ import annotations

import pytest

from schemas.config import parse_config
from schemas.errors import UserError
from schemas.reference import PARTNERSHIP_NAME, partnership_name


def test_configured_name_wins() -> None:
    config = parse_config('[report]\ncounty_name = "East Kent Partnership"\n', "test")
    assert config.report.county_name == "East Kent Partnership"
    assert partnership_name(["E07000105"], config.report.county_name) == "East Kent Partnership"


def test_default_is_kent_only_for_kents_districts() -> None:
    assert partnership_name(["E07000105", "E07000116", "county"]) == "Kent"
    assert partnership_name(["E07000105", "E06000035"]) == PARTNERSHIP_NAME  # Medway is not a Kent district
    assert partnership_name([]) == PARTNERSHIP_NAME
    assert parse_config("", "test").report.county_name is None


@pytest.mark.parametrize("bad", ['county_name = ""', 'county_name = "Kent\\u0007"', 'name = "Kent"'])
def test_a_bad_report_section_is_refused(bad: str) -> None:
    with pytest.raises(UserError, match=r"\[report\]"):
        parse_config(f"[report]\n{bad}\n", "test")
