"""What-if scenarios (issue 18 item 4), end to end on the generator's sample data: a scenario scores the
current run's households again under changed parameters into out/scenarios/<name>/ and leaves current/
and runs/ byte for byte as they were."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import duckdb
import pytest

from pipelines.run import RunRequest, run_local
from tests.cli import povertylink

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"
COMFORTABLE_FROM = 200  # the 2026-27 parameter resilience_comfortable_from (checked below in scenario.json)
SCENARIO_FROM = 300


def _hashes(out: Path) -> dict[str, str]:
    """sha256 of every file under current/ (followed) and runs/, and where each link points."""
    found: dict[str, str] = {"current -> ": os.readlink(out / "current")}
    for top in ("current", "runs"):
        for path in sorted((out / top).rglob("*")):
            if path.is_symlink():
                found[str(path.relative_to(out)) + " -> "] = os.readlink(path)
            elif path.is_file():
                found[str(path.relative_to(out))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def _query(sql: str, *args: Any) -> list[tuple]:
    with duckdb.connect() as con:
        return con.execute(sql, list(args)).fetchall()


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("scenario")
    out = root / "out"
    outcome = run_local(RunRequest(SAMPLE, out, dt.date(2026, 11, 20)), retry_delays=())
    assert outcome.exit_code == 0 and outcome.published is not None, outcome.errors
    file = root / "bands.toml"
    file.write_text(f'name = "comfortable-300"\ndescription = "comfortable from £{SCENARIO_FROM} a month"\n'
                    f'base_year = "2026-27"\n[parameters]\nresilience_comfortable_from = {SCENARIO_FROM}\n')
    before = _hashes(out)
    result = povertylink("scenario", str(file), "--output", str(out))
    return {"out": out, "run": outcome.published, "before": before, "after": _hashes(out), "result": result,
            "folder": out / "scenarios" / "comfortable-300"}


def test_current_and_runs_are_byte_identical_afterwards(scenario):
    assert scenario["result"].returncode == 0, scenario["result"].stderr
    assert len(scenario["before"]) > 20
    assert scenario["after"] == scenario["before"]


def test_the_households_that_change_are_exactly_those_between_the_old_and_new_band(scenario):
    households = scenario["run"] / "households.parquet"
    expected = dict(_query(f"SELECT lad_code, count(*) FROM read_parquet('{households}') WHERE resilience_status = "
                           f"'comfortable' AND cashflow_monthly < {SCENARIO_FROM} GROUP BY ALL"))
    assert sum(expected.values()) > 0
    settings = json.loads((scenario["folder"] / "scenario.json").read_text())
    assert settings["overrides"] == {"resilience_comfortable_from": {"baseline": COMFORTABLE_FROM,
                                                                      "scenario": SCENARIO_FROM}}
    assert settings["baseline_matches_published"] is True
    for lad, count in expected.items():
        changed = scenario["folder"] / "districts" / lad / "changed_households.parquet"
        rows = _query(f"SELECT DISTINCT lad_code, baseline_resilience_status, scenario_resilience_status, changes "
                      f"FROM read_parquet('{changed}')")
        assert {r[:3] for r in rows} == {(lad, "comfortable", "coping")}
        assert {r[3] for r in rows} == {"resilience_status: comfortable -> coping"}
        assert _query(f"SELECT count(*) FROM read_parquet('{changed}')") == [(count,)]
        own = dict(_query(f"SELECT metric, change FROM read_parquet('{scenario['folder']}/districts/{lad}/"
                          "comparison.parquet')"))
        assert own["households_changed"] == own["status_changed"] == count
        assert own["coping"] == count and own["comfortable"] == -count and own["households_scored"] == 0


def test_the_shared_comparison_is_disclosure_controlled(scenario):
    rows = _query(f"SELECT lad_code, metric, baseline_count, scenario_count, baseline_value_gbp, scenario_value_gbp "
                  f"FROM read_parquet('{scenario['folder']}/comparison.parquet')")
    assert {r[0] for r in rows} == {"E07000105", "E07000106", "E07000107", "county"}
    for row in rows:
        for count in row[2:4]:
            assert count is None or count == 0 or (count >= 10 and count % 5 == 0), row
        for money in row[4:]:
            assert money is None or money % 1000 == 0, row
    assert "households_changed" in scenario["result"].stdout


def test_a_bad_scenario_file_is_refused_with_one_line(scenario, tmp_path):
    for text, message in (('name = "x"\n[parameters]\nstate_pension_age = 60\n', "may not be changed"),
                          ('name = "x"\n[parameters]\nnot_a_parameter = 1\n', "unknown parameter"),
                          ('name = "x"\nbase_year = "2024-25"\n[parameters]\nenergy_annual = 1800\n', "base_year"),
                          ('name = "../x"\n[parameters]\nenergy_annual = 1800\n', "name"),
                          ('name = "x"\nwhat = 1\n[parameters]\nenergy_annual = 1800\n', "unknown key")):
        file = tmp_path / "bad.toml"
        file.write_text(text)
        result = povertylink("scenario", str(file), "--output", str(scenario["out"]))
        assert result.returncode == 2 and message in result.stderr, (text, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1
    assert sorted(p.name for p in (scenario["out"] / "scenarios").iterdir()) == ["comfortable-300"]


def test_the_baseline_is_scored_with_the_runs_own_link_settings(tmp_path):
    """A run with its own [linkage] threshold joins UC awards at it; the scenario's baseline must too, or it
    is not the published run (baseline_matches_published) and every change is measured from elsewhere."""
    config = tmp_path / "run.toml"
    config.write_text("[linkage]\nthreshold = 0.99\n")
    out = tmp_path / "out"
    outcome = run_local(RunRequest(SAMPLE, out, dt.date(2026, 11, 20), config=config), retry_delays=())
    assert outcome.exit_code == 0, outcome.errors
    file = tmp_path / "s.toml"
    file.write_text('name = "same"\n[parameters]\nresilience_comfortable_from = 201\n')
    result = povertylink("scenario", str(file), "--output", str(out))
    assert result.returncode == 0, result.stderr
    settings = json.loads((out / "scenarios" / "same" / "scenario.json").read_text())
    assert settings["baseline_matches_published"] is True
