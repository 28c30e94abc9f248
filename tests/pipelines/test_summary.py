"""The terminal: the end-of-run summary fits 80 and 120 columns and ends with where the report is; `run`
says something before Prefect is imported; `sample` reports each district as it is written."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pipelines.summary import format_run_summary
from schemas.reference import KENT_DISTRICTS
from tests.cli import CLI, ENV

RUN_ID = "20261120T020000000000Z-as-of-2026-11-20"


def kent_manifest() -> dict[str, Any]:
    """A published run's manifest for all 12 Kent districts, with a refused file, long notes and warnings."""
    districts = []
    for n, lad in enumerate(sorted(KENT_DISTRICTS)):
        files = [{"file": f"{kind}_2026-11-20.csv", "rows_read": 123_456 + n, "rows_valid": 123_400 + n,
                  "rows_quarantined": 56, "status": "partial", "reason": ""} for kind in ("benefits", "council_tax")]
        if n == 3:
            files[1] |= {"status": "rejected", "rows_valid": 0, "rows_quarantined": 123_459,
                         "reason": "required column 'band' is missing; the header has 'Band (A-H)' which is not a "
                                   "known spelling of any column"}
        districts.append({"lad_code": lad, "files": files,
                          "notes": ["a folder named 'Ashford old' in the landing area was not used: it is not an ONS "
                                    "district code (E07000105) nor a district's name"] if n == 0 else []})
    summary = [{"lad_code": lad, "households": 12_345, "in_crisis": None, "at_risk": 1_230, "struggling": 2_000,
                "coping": 3_000, "comfortable": 5_000, "fuel_poverty": 4_005, "water_poverty": 800,
                "food_poverty": None, "pension_credit_missing": 310, "pension_credit_value_annual": 654_000}
               for lad in sorted(KENT_DISTRICTS)]
    summary.append(summary[0] | {"lad_code": "county", "households": 148_140, "in_crisis": 1_115,
                                 "pension_credit_value_annual": 7_848_000})
    return {
        "run_id": RUN_ID, "as_of": "2026-11-20", "county_name": "Kent", "districts": districts,
        "parameters_end": {"warning": "scoring parameters end on 2027-04-05 (136 days after this run's as-of date): "
                                      "add the next tax year's parameters file before then"},
        "reconciliation": {"rows_read": 2_962_990, "rows_valid": 2_838_000, "rows_quarantined": 124_990,
                           "files_rejected": 1, "all_reconcile": True},
        "completeness": {"expected_from": "config", "districts": [
            {"lad_code": lad, "status": "refused" if n == 3 else "complete",
             "reasons": ["council_tax_2026-11-20.csv refused whole: required column 'band' is missing"] if n == 3
             else []} for n, lad in enumerate(sorted(KENT_DISTRICTS))], "warnings": [], "notes": []},
        "linkage": {"headline": "141,020 of 148,140 claims linked to a council-tax account (95%): 120,315 by UPRN, "
                                "20,705 probabilistically; 1,020 people claim in two districts"},
        "scoring": {"summary": summary},
        "history": {"becomes_current": True},
    }


@pytest.mark.parametrize("width", [80, 120])
def test_summary_fits_the_terminal_and_ends_with_the_report(width: int) -> None:
    published = Path("out/runs") / RUN_ID
    text = format_run_summary(kent_manifest(), published, ["E07000108/council_tax_2026-11-20.csv: refused"], width)
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= width, [line for line in lines if len(line) > width]
    assert lines[-1] == "Report: out/current/report.html"
    assert "Folkestone and Hythe" in text and "Tonbridge and Malling" in text
    table = [line for line in lines if line.startswith(("district ", "Kent "))]
    assert len(table) == 2 and "crisis" in table[0] and "PC £/yr" in table[0]
    assert ("struggling" in table[0]) == (width >= 120)  # the wider terminal gets more columns
    assert table[1].split()[1:4] == ["148,140", "1,115", "1,230"]  # the report's published figures, as they are
    assert "REFUSED: Dover: council_tax_2026-11-20.csv refused whole" in text
    assert "rounded to the nearest 5" in text and "districts/<code>/report.html" in text


def test_summary_of_a_failed_run_says_so_last() -> None:
    text = format_run_summary(kent_manifest(), None, ["district E07000106 failed after retries: EIO"], 80)
    assert "RUN FAILED: nothing was published" in text and "Report:" not in text


def test_run_speaks_before_prefect_is_imported(tmp_path: Path) -> None:
    """The first line comes before Prefect is imported (starting it takes seconds, minutes on a busy machine)."""
    hook = ("import sys, importlib.abc\n"
            "class Spy(importlib.abc.MetaPathFinder):\n"
            "    def find_spec(self, name, path, target=None):\n"
            "        if name == 'prefect':\n"
            "            print('IMPORTING PREFECT', file=sys.stderr, flush=True)\n"
            "            sys.meta_path.remove(self)\n"
            "        return None\n"
            "sys.meta_path.insert(0, Spy())\n"
            "sys.argv = ['povertylink'] + sys.argv[1:]\n"
            "from pipelines.cli import main\n"
            "main()\n")
    done = subprocess.run([sys.executable, "-c", hook, "run", "--input", str(tmp_path / "nowhere"), "--output",
                           str(tmp_path / "out"), "--as-of", "2026-11-20"],
                          capture_output=True, text=True, env=ENV, timeout=600, check=False)
    lines = done.stderr.splitlines()
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ povertylink run: starting \(as of 2026-11-20, ", lines[0]), \
        done.stderr
    assert "IMPORTING PREFECT" in lines[1:], done.stderr
    assert done.returncode == 2 and "nowhere" in lines[-1]


def test_sample_reports_each_district(tmp_path: Path) -> None:
    done = subprocess.run([*CLI, "sample", "--out", str(tmp_path / "land"), "--districts", "2", "--households", "20"],
                          capture_output=True, text=True, env=ENV, timeout=600, check=False)
    assert done.returncode == 0, done.stderr
    progress = [line.split(" povertylink ", 1)[1] for line in done.stderr.splitlines()]
    assert progress == ["sample: started (2 districts)", "sample: 1/2 E07000105 20 dwellings",
                        "sample: 2/2 E07000106 20 dwellings", f"sample: done written to {tmp_path / 'land'}"]
