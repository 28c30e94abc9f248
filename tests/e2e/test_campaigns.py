"""Campaigns keep their cohort (issue 18 item 2), end to end on the generator's sample data.

Night 1: a run, then three campaigns start from it (Pension Credit in every district, Attendance
Allowance in Canterbury only, free school meals whose receipt the data cannot show). Night 2: the
extracts award Pension Credit to 15 of Canterbury's cohort and a disability benefit to 2 of its
Attendance Allowance cohort. Nights 3 and 4: the same extracts again (the counts must hold, where the
run-to-run view ``pension_credit_campaign`` shows 0). Night 5: one of Canterbury's still-missing
households leaves the caseload; the free-school-meals campaign was stopped before it.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from pipelines.dictionary import KEYS
from pipelines.run import RunRequest, run_local
from tests.cli import povertylink

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"
NIGHTS = ("2026-11-20", "2026-11-21", "2026-11-22", "2026-11-23", "2026-11-24")
CANTERBURY = "E07000106"
RECEIVERS = 15
PC_WEEKLY = Decimal("25.00")
DISABILITY_WEEKLY = Decimal("76.70")


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _write(path: Path, rows: list[dict[str, str]], columns: list[str]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def _night(landing: Path, night: str, changes: dict[str, dict[str, str]], leave: set[str] = frozenset()) -> None:
    """Night ``night``'s extracts: night 1's, with Canterbury's benefits rows changed (claim_ref -> column
    values) and the claims of ``leave`` gone."""
    for district in sorted(p for p in landing.iterdir() if p.is_dir() and p.name.startswith("E")):
        for kind in ("benefits", "council_tax"):
            source = district / f"{kind}_{NIGHTS[0]}.csv"
            rows = _rows(source)
            columns = list(rows[0])
            if kind == "benefits" and district.name == CANTERBURY:
                rows = [row | changes.get(row["claim_ref"], {}) for row in rows if row["claim_ref"] not in leave]
            _write(district / f"{kind}_{night}.csv", rows, columns)


def _query(sql: str, *args: Any) -> list[tuple]:
    with duckdb.connect() as con:
        return con.execute(sql, list(args)).fetchall()


def _run(landing: Path, out: Path, night: str) -> Path:
    outcome = run_local(RunRequest(landing, out, dt.date.fromisoformat(night)), retry_delays=())
    assert outcome.exit_code == 0 and outcome.published is not None, outcome.errors
    return outcome.published


def _figures(path: Path, campaign: str) -> dict[str, dict[str, Any]]:
    with duckdb.connect() as con:
        cursor = con.execute(f"SELECT * FROM read_parquet('{path}') WHERE campaign = ?", [campaign])
        names = [d[0] for d in cursor.description]
        return {row[names.index("district")]: dict(zip(names, row, strict=True)) for row in cursor.fetchall()}


@pytest.fixture(scope="module")
def journey(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("campaigns")
    landing, out = root / "landing", root / "out"
    shutil.copytree(SAMPLE, landing, ignore=shutil.ignore_patterns("_truth"))
    runs = [_run(landing, out, NIGHTS[0])]
    started = {name: povertylink("campaign", "start", name, "--check", check, *extra, "--output", str(out))
               for name, check, extra in (("pc-winter", "pension_credit", ()),
                                           ("aa-canterbury", "attendance_allowance", ("--district", CANTERBURY)),
                                           ("fsm-register", "fsm", ()))}
    cohort = {name: out / "campaigns" / name / "cohort.parquet" for name in started}
    pc = _query(f"SELECT household_id, claim_ref, received_at_start_annual FROM read_parquet('{cohort['pc-winter']}') "
                "WHERE lad_code = ? ORDER BY household_id", CANTERBURY)
    receivers = [r for r in pc if r[2] == 0][:RECEIVERS]
    leaver = next(r for r in pc if r not in receivers)
    pc_refs = {r[1] for r in pc}
    aa = [r for r in _query(f"SELECT claim_ref FROM read_parquet('{cohort['aa-canterbury']}') ORDER BY household_id")
          if r[0] not in pc_refs][:2]
    changes = {r[1]: {"pension_credit_weekly": str(PC_WEEKLY)} for r in receivers}
    changes |= {r[0]: {"disability_benefit_weekly": str(DISABILITY_WEEKLY)} for r in aa}
    for night in NIGHTS[1:4]:
        _night(landing, night, changes)
        runs.append(_run(landing, out, night))
    stopped = povertylink("campaign", "stop", "fsm-register", "--output", str(out))
    _night(landing, NIGHTS[4], changes, leave={leaver[1]})
    runs.append(_run(landing, out, NIGHTS[4]))
    return {"out": out, "runs": runs, "started": started, "stopped": stopped, "receivers": receivers,
            "leaver": leaver, "aa": aa, "cohort": cohort}


def test_a_campaign_freezes_the_run_s_flagged_households(journey):
    for name, result in journey["started"].items():
        assert result.returncode == 0, (name, result.stderr)
    first = journey["runs"][0] / "households.parquet"
    flagged = dict(_query(f"SELECT lad_code, count(*) FROM read_parquet('{first}') WHERE pension_credit_missing "
                          "GROUP BY ALL"))
    frozen = dict(_query(f"SELECT lad_code, count(*) FROM read_parquet('{journey['cohort']['pc-winter']}') "
                         "GROUP BY ALL"))
    assert frozen == flagged and flagged[CANTERBURY] > RECEIVERS
    aa = _query(f"SELECT DISTINCT lad_code FROM read_parquet('{journey['cohort']['aa-canterbury']}')")
    assert aa == [(CANTERBURY,)]
    settings = json.loads((journey["out"] / "campaigns" / "pc-winter" / "campaign.json").read_text())
    assert settings["cohort"] == sum(flagged.values()) and settings["started"] == NIGHTS[0]
    assert "campaign pc-winter started: " in journey["started"]["pc-winter"].stdout


def _expected_pc(journey: dict[str, Any], night: int) -> dict[str, int]:
    first = journey["runs"][0] / "households.parquet"
    cohort = _query(f"SELECT count(*) FROM read_parquet('{first}') WHERE pension_credit_missing AND lad_code = ?",
                    CANTERBURY)[0][0]
    left = 1 if night == 4 else 0
    return {"cohort": cohort, "now_receiving": RECEIVERS, "still_missing": cohort - RECEIVERS - left,
            "no_longer_flagged": 0, "left_caseload": left}


@pytest.mark.parametrize("night", [1, 2, 3, 4], ids=NIGHTS[1:])
def test_canterbury_sees_its_own_exact_figures_every_night(journey, night):
    own = _figures(journey["runs"][night] / "districts" / CANTERBURY / "campaigns.parquet", "pc-winter")
    assert list(own) == [CANTERBURY]  # its own figures only
    row = own[CANTERBURY]
    assert {k: row[k] for k in _expected_pc(journey, night)} == _expected_pc(journey, night)
    assert row["value_received_annual"] == RECEIVERS * PC_WEEKLY * 52
    assert row["suppressed"] is False and row["receipt_visible"] is True and row["started"] == dt.date(2026, 11, 20)
    aa = _figures(journey["runs"][night] / "districts" / CANTERBURY / "campaigns.parquet", "aa-canterbury")
    assert (aa[CANTERBURY]["now_receiving"], aa[CANTERBURY]["value_received_annual"]) == (2, 2 * DISABILITY_WEEKLY * 52)


def test_unchanged_nights_hold_the_counts_where_the_run_to_run_view_shows_none(journey):
    nights = [_figures(run / "districts" / CANTERBURY / "campaigns.parquet", "pc-winter")[CANTERBURY]
              for run in journey["runs"][1:4]]
    assert len({(n["now_receiving"], n["still_missing"], n["value_received_annual"]) for n in nights}) == 1
    old = _query(f"SELECT count FROM read_parquet('{journey['runs'][2]}/pension_credit_campaign.parquet') "
                 "WHERE lad_code = ? AND outcome = 'now_receiving' AND run_id = ?", CANTERBURY,
                 json.loads((journey["runs"][2] / "manifest.json").read_text())["run_id"])
    assert old == [(0,)]  # the contract's view compares with the night before only


def test_the_household_that_left_is_counted_once_as_left(journey):
    own = _figures(journey["runs"][4] / "districts" / CANTERBURY / "campaigns.parquet", "pc-winter")[CANTERBURY]
    assert own["left_caseload"] == 1
    assert sum(own[k] for k in ("now_receiving", "still_missing", "no_longer_flagged", "left_caseload")) == \
        own["cohort"]
    gone = _query(f"SELECT count(*) FROM read_parquet('{journey['runs'][4]}/households.parquet') "
                  "WHERE household_id = ?", journey["leaver"][0])
    assert gone == [(0,)]


def test_the_shared_table_is_disclosure_controlled_and_shows_canterbury_s_result(journey):
    shared = journey["runs"][2] / "campaigns.parquet"
    rows = _query(f"SELECT cohort, now_receiving, still_missing, no_longer_flagged, left_caseload, "
                  f"value_received_annual, value_still_missing_annual FROM read_parquet('{shared}')")
    for row in rows:
        for count in row[:5]:
            assert count is None or (count == 0 or count >= 10) and count % 5 == 0, row
        for money in row[5:]:
            assert money is None or money % 1000 == 0, row
    pc = _figures(shared, "pc-winter")
    assert pc[CANTERBURY]["now_receiving"] == RECEIVERS  # the headline is published (15 is a multiple of 5)
    assert pc["county"]["now_receiving"] == RECEIVERS
    assert pc[CANTERBURY]["value_received_annual"] == Decimal(round(RECEIVERS * PC_WEEKLY * 52 / 1000) * 1000)
    assert sorted(_figures(shared, "aa-canterbury")) == [CANTERBURY, "county"]


def test_a_check_whose_receipt_is_not_in_the_data_reports_none_and_a_stopped_campaign_stops(journey):
    fsm = _figures(journey["runs"][3] / "districts" / CANTERBURY / "campaigns.parquet", "fsm-register")[CANTERBURY]
    assert fsm["receipt_visible"] is False and fsm["now_receiving"] is None and fsm["value_received_annual"] is None
    assert fsm["still_missing"] + fsm["no_longer_flagged"] + fsm["left_caseload"] == fsm["cohort"]
    assert journey["stopped"].returncode == 0, journey["stopped"].stderr
    assert _figures(journey["runs"][4] / "campaigns.parquet", "fsm-register") == {}
    listing = povertylink("campaign", "list", "--output", str(journey["out"]))
    lines = {line.split()[0]: line.split()[4] for line in listing.stdout.splitlines()[1:]}
    assert lines == {"pc-winter": "live", "aa-canterbury": "live", "fsm-register": "stopped"}
    again = povertylink("campaign", "stop", "fsm-register", "--output", str(journey["out"]))
    assert again.returncode == 2 and "stopped already" in again.stderr


def test_mistakes_are_refused_with_one_line(journey):
    out = str(journey["out"])
    for args, message in ((("pc-winter", "--check", "pension_credit"), "already exists"),
                          (("new", "--check", "council_tax"), "--check 'council_tax': expected one of"),
                          (("bad name", "--check", "fsm"), "use letters, digits"),
                          (("x", "--check", "fsm", "--district", "E07000199"), "not in the current run")):
        result = povertylink("campaign", "start", *args, "--output", out)
        assert result.returncode == 2 and message in result.stderr, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1


def test_the_outputs_are_keyed_documented_and_in_the_manifest_and_database(journey):
    run = journey["runs"][4]
    for table, path in (("campaigns", run / "campaigns.parquet"),
                        ("district_campaigns", run / "districts" / CANTERBURY / "campaigns.parquet")):
        key = ", ".join(f'"{c}"' for c in KEYS[table])
        rows, keys = _query(f"SELECT count(*), count(DISTINCT ({key})) FROM read_parquet('{path}')")[0]
        assert rows == keys > 0
    manifest = json.loads((run / "manifest.json").read_text())
    assert [c["campaign"] for c in manifest["campaigns"]["live"]] == ["pc-winter", "aa-canterbury"]
    assert manifest["campaigns"]["live"][0]["now_receiving"] == RECEIVERS
    with duckdb.connect(str(run / "povertylink.duckdb"), read_only=True) as con:
        exact = con.execute(f"SELECT cohort FROM districts_{CANTERBURY}_campaigns WHERE campaign = 'pc-winter'")
        assert exact.fetchall() == [(_expected_pc(journey, 4)["cohort"],)]
    documented = json.loads((run / "datapackage.json").read_text())
    assert {"campaigns", "district_campaigns"} <= {r["name"] for r in documented["resources"]}
