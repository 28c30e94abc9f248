"""Text from the landing folder that tries to escape (issue 16, problem 8), through a whole run in process.

The landing folder holds a file name with terminal escapes and markup, an extract that is a
symbolic link to a file outside the landing folder (whose first line must never be read), a
county file linked the same way, an extract linked *inside* the landing folder (followed), and
a postcode lookup whose area codes are spreadsheet formulas. The run must publish; nothing read
from outside may appear anywhere; the terminal summary and the Prefect artifact must carry no
control character or live markup; no published text may start a formula.
"""

from __future__ import annotations

import csv
import re
import shutil
import subprocess
from pathlib import Path

import duckdb
import pytest

from pipelines.run import RunOutcome, RunRequest, run_local
from pipelines.summary import artifact_markdown
from tests.cli import AS_OF, AS_OF_DATE, CLI, ENV

ASH, CANT = "E07000105", "E07000106"
SECRET = "SECRET-FIRST-LINE-OUTSIDE"
HOSTILE_NAME = "notes\x1b]0;owned\x07\x1b[2J<img src=x onerror=alert(1)>.txt"
FORMULA = '=HYPERLINK("x","click")'


@pytest.fixture(scope="module")
def outcome(tmp_path_factory: pytest.TempPathFactory) -> tuple[RunOutcome, Path]:
    root = tmp_path_factory.mktemp("hostile")
    landing, outside = root / "landing", root / "outside"
    made = subprocess.run([*CLI, "sample", "--out", str(landing), "--districts", "2", "--households", "150",
                           "--seed", "5"], capture_output=True, text=True, env=ENV, timeout=120, check=False)
    assert made.returncode == 0, made.stderr
    outside.mkdir()
    (outside / "secret.csv").write_text(f"{SECRET},b,c\n1,2,3\n", encoding="utf-8")
    (landing / ASH / HOSTILE_NAME).write_text("x", encoding="utf-8")
    (landing / CANT / f"benefits_{AS_OF}.csv").unlink()
    (landing / CANT / f"benefits_{AS_OF}.csv").symlink_to(outside / "secret.csv")
    (landing / "epc.csv").unlink()
    (landing / "epc.csv").symlink_to(outside / "secret.csv")
    store = landing / "_store"  # a folder that is not a district: a link into it is followed
    store.mkdir()
    shutil.move(landing / ASH / f"council_tax_{AS_OF}.csv", store / "ct.csv")
    (landing / ASH / f"council_tax_{AS_OF}.csv").symlink_to(Path("..") / "_store" / "ct.csv")
    lookup = landing / "postcode_lookup.csv"
    with lookup.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    rows[0] |= {"lsoa21cd": FORMULA}
    rows[1] |= {"ward_code": "@SUM(1+1)*cmd|' /C calc'!A0"}
    with lookup.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    out = root / "out"
    return run_local(RunRequest(input_dir=landing, output_dir=out, as_of=AS_OF_DATE), retry_delays=(0.1,)), out


def _everything(out: Path) -> str:
    """Every byte the run wrote (Parquet as its rows), as text."""
    parts = []
    con = duckdb.connect()
    for path in sorted(p for p in out.rglob("*") if p.is_file() and not p.name.endswith(".lock")):
        if path.suffix == ".parquet":
            parts.append(repr(con.execute(f"SELECT * FROM read_parquet('{path}')").fetchall()))
        else:
            parts.append(path.read_bytes().decode("utf-8", "replace"))
    return "\n".join(parts)


def test_the_run_publishes_and_reads_nothing_from_outside(outcome: tuple[RunOutcome, Path]) -> None:
    result, out = outcome
    assert result.published is not None and result.exit_code in (0, 1), result.errors
    everything = _everything(out) + result.summary() + artifact_markdown(result.manifest)
    assert SECRET not in everything
    notes = [n for d in result.manifest["districts"] for n in d["notes"]]
    assert any(n.startswith(f"benefits_{AS_OF}.csv: a symbolic link to outside") for n in notes), notes
    assert any("epc.csv: a symbolic link to outside" in n for n in result.manifest["reference"]["notes"])
    ash = next(d for d in result.manifest["districts"] if d["lad_code"] == ASH)
    assert [f["status"] for f in ash["files"] if f["kind"] == "council_tax"] == ["ok"]  # the inside link


def test_terminal_and_artifact_carry_no_control_characters_or_markup(outcome: tuple[RunOutcome, Path]) -> None:
    result, _ = outcome
    summary, artifact = result.summary(), artifact_markdown(result.manifest)
    assert "notes" in summary and "\x1b" not in summary and "\x07" not in summary
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]", summary + artifact)
    assert not re.search(r"(?<!\\)[<>]", artifact), artifact


def test_area_codes_are_codes(outcome: tuple[RunOutcome, Path]) -> None:
    result, out = outcome
    assert result.published is not None
    con = duckdb.connect()
    codes = con.execute(f"SELECT DISTINCT area_type, area_code FROM read_parquet('{result.published}/"
                        "area_needs.parquet')").fetchall()
    assert codes and not any(str(code).startswith(("=", "+", "-", "@")) for _, code in codes)
    shapes = {"lsoa": r"[EW]01[0-9]{6}|unknown", "ward": r"[EW]05[0-9]{6}|unknown",
              "postcode_sector": r"[A-Z]{1,2}[0-9][A-Z0-9]? [0-9]|unknown"}
    assert all(re.fullmatch(shapes[t], str(code)) for t, code in codes), codes
    reasons = con.execute(f"SELECT DISTINCT \"column\", reason FROM read_parquet('{result.published}/"
                          "quarantine.parquet') WHERE kind = 'postcode_lookup'").fetchall()
    assert ("lsoa21cd", "not an LSOA code (E01 or W01 and 6 digits)") in reasons
    assert ("ward_code", "not a ward code (E05 or W05 and 6 digits)") in reasons
