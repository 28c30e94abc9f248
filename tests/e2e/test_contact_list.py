"""Contact lists and crisis-fund targeting end to end, on the generator's data (issue 18, items 1 and 3).

Two runs a day apart on a fresh sample. Between them, three listed claims get a town that is a
spreadsheet formula and one comfortable, unlisted household's council-tax account reaches
enforcement. The lists must hold exactly the households the documented rule picks (recomputed
here from households.parquet), in the documented order; the CSV must read back with the csv
module, neutralise every formula, and open in LibreOffice with no formula evaluated; the second
run carries previous status and first flagged date over. ``povertylink target`` must stay within
its budget, give the same list twice, split by the documented rule and leave current/ and runs/
byte-identical.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
import pytest

from pipelines.action.contact import URGENT_STAGES
from pipelines.action.targeting import split_awards
from pipelines.dictionary import datapackage, model_columns
from pipelines.run import RunRequest, run_local
from schemas.households import TAKEUP_CHECKS
from schemas.outputs import ContactListRow
from schemas.vocabulary import RECOVERY_STAGES, RESILIENCE_STATUSES
from tests.cli import AS_OF, AS_OF_DATE, CLI, ENV, povertylink

FORMULAS = ('=HYPERLINK("http://x","click")', "@SUM(1+1)*cmd|' /C calc'!A0", "+44 1227 000000")
NEXT_DAY = AS_OF_DATE + dt.timedelta(days=1)
SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
MONEY = [c.name for c in model_columns(ContactListRow) if c.kind == "money"]
DATES = ("first_flagged_date", "as_of_date")


def _read_csv(path: Path) -> list[dict[str, str]]:
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")  # UTF-8 with a BOM: Excel reads £ as £
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def _rewrite(path: Path, change: dict[str, dict[str, str]], key: str) -> None:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        fields, rows = list(reader.fieldnames or []), list(reader)
    for row in rows:
        row.update(change.get(row[key], {}))
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)


def _households(run: Path) -> list[dict[str, Any]]:
    return pq.read_table(run / "households.parquet").to_pylist()


def _priority(h: dict[str, Any]) -> int | None:
    """The documented rule (README, docs/CONTACT.md), restated independently of the SQL."""
    fired = [h.get(f"{c}_confidence") for c in TAKEUP_CHECKS]
    if h["recovery_stage"] in URGENT_STAGES or h["resilience_status"] == "in_crisis":
        return 1
    if h["resilience_status"] == "at_risk":
        return 2
    if h["pension_credit_missing"] or "likely" in fired:
        return 3
    if "possible" in fired:
        return 4
    return None


def _expected(run: Path, lad: str) -> list[str]:
    """The household ids a district's list must hold, in the documented order."""
    keyed = []
    for h in _households(run):
        p = _priority(h)
        if h["lad_code"] != lad or p is None:
            continue
        missed = (h["pension_credit_value_annual"] if h["pension_credit_missing"] else 0) + sum(
            (h[f"{c}_value_annual"] or 0) for c in TAKEUP_CHECKS if h[f"{c}_confidence"] in ("likely", "possible"))
        stage = RECOVERY_STAGES.index(h["recovery_stage"]) if h["recovery_stage"] in RECOVERY_STAGES else -1
        third = h["cashflow_monthly"] if p <= 2 else -float(missed)
        keyed.append(((p, -stage, third, h["household_id"]), h["household_id"]))
    return [hid for _, hid in sorted(keyed)]


def _tree(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` (links as their targets) and a digest of its bytes."""
    found = {}
    for path in sorted(folder.rglob("*")):
        if path.is_symlink():
            found[str(path.relative_to(folder))] = f"link:{path.readlink()}"
        elif path.is_file():
            found[str(path.relative_to(folder))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("contact")
    landing, out = root / "landing", root / "out"
    made = subprocess.run([*CLI, "sample", "--out", str(landing), "--districts", "2", "--households", "400",
                           "--seed", "11"], capture_output=True, text=True, env=ENV, timeout=300, check=False)
    assert made.returncode == 0, made.stderr
    first = run_local(RunRequest(landing, out, AS_OF_DATE), retry_delays=())
    assert first.exit_code == 0 and first.published is not None, first.errors
    lads = sorted(p.name for p in (first.published / "districts").iterdir())
    lad = lads[0]
    listed = _read_csv(first.published / "districts" / lad / "contact_list.csv")
    claims = {r["claim_ref"] for r in _read_csv_plain(landing / lad / f"benefits_{AS_OF}.csv")}
    hostile = [r["claim_ref"] for r in listed if r["claim_ref"] in claims][:3]
    _rewrite(landing / lad / f"benefits_{AS_OF}.csv", {ref: {"town": f} for ref, f in zip(hostile, FORMULAS,
                                                                                            strict=True)}, "claim_ref")
    on_list = {r["household_id"] for r in listed}
    calm = next(h for h in _households(first.published) if h["lad_code"] == lad and h["household_id"] not in on_list
                and h["resilience_status"] == "comfortable" and h["account_ref"] and h["recovery_stage"] == "none")
    _rewrite(landing / lad / f"council_tax_{AS_OF}.csv",
             {calm["account_ref"]: {"recovery_stage": "enforcement_agent", "arrears": "250.00"}}, "account_ref")
    second = run_local(RunRequest(landing, out, NEXT_DAY), retry_delays=())
    assert second.exit_code == 0 and second.published is not None, second.errors
    return {"out": out, "first": first.published, "second": second.published, "lad": lad, "lads": lads,
            "hostile": dict(zip(hostile, FORMULAS, strict=True)), "calm": calm}


def _read_csv_plain(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize("which", ["first", "second"])
def test_each_district_lists_exactly_the_documented_households_in_order(runs: dict[str, Any], which: str) -> None:
    run = runs[which]
    total = 0
    for lad in runs["lads"]:
        rows = _read_csv(run / "districts" / lad / "contact_list.csv")
        expected = _expected(run, lad)
        assert len(expected) >= 20  # the sample has households to contact
        assert [r["household_id"] for r in rows] == expected
        assert [int(r["rank"]) for r in rows] == list(range(1, len(rows) + 1))
        assert {r["lad_code"] for r in rows} == {lad} and {r["priority"] for r in rows} >= {"1", "2"}
        parquet = pq.read_table(run / "districts" / lad / "contact_list.parquet").to_pylist()
        assert [r["household_id"] for r in parquet] == expected and {r["lad_code"] for r in parquet} == {lad}
        total += len(rows)
    assert pq.read_table(run / "contact_list.parquet").num_rows == total


def test_csv_reads_back_for_a_spreadsheet(runs: dict[str, Any]) -> None:
    rows = _read_csv(runs["second"] / "districts" / runs["lad"] / "contact_list.csv")
    assert list(rows[0]) == list(ContactListRow.model_fields)
    for row in rows:
        for name in MONEY:
            assert row[name] == "" or re.fullmatch(r"-?\d+\.\d\d", row[name]), (name, row[name])
        for name in DATES:
            assert dt.date.fromisoformat(row[name])
        assert row["new_since_last_run"] in ("yes", "no") and row["next_actions"]
        for name, cell in row.items():
            if cell.startswith(("=", "+", "-", "@", "\t", "\r")):
                assert re.fullmatch(r"-?\d+(\.\d+)?", cell), (name, cell)  # only plain negative numbers
    towns = {r["claim_ref"]: r["town"] for r in rows}
    for ref, formula in runs["hostile"].items():
        assert towns[ref] == "'" + formula
    parquet = pq.read_table(runs["second"] / "districts" / runs["lad"] / "contact_list.parquet").to_pylist()
    assert {r["claim_ref"]: r["town"] for r in parquet if r["claim_ref"] in runs["hostile"]} == runs["hostile"]
    sample = next(r for r in parquet if r["cashflow_monthly"] is not None)
    assert sample["cashflow_monthly"] == sample["cashflow_monthly"].quantize(Decimal("0.01"))


def test_previous_status_new_and_first_flagged_carry_over(runs: dict[str, Any]) -> None:
    before = {r["household_id"]: r for r in _read_csv(runs["first"] / "districts" / runs["lad"] / "contact_list.csv")}
    after = _read_csv(runs["second"] / "districts" / runs["lad"] / "contact_list.csv")
    assert all(r["new_since_last_run"] == "yes" and r["previous_status"] == "" for r in before.values())
    kept = [r for r in after if r["household_id"] in before]
    assert len(kept) >= len(after) - 1 >= 20
    for row in kept:
        assert (row["new_since_last_run"], row["first_flagged_date"]) == ("no", AS_OF)
        assert row["previous_status"] == before[row["household_id"]]["resilience_status"]
    calm = runs["calm"]
    moved = [r for r in after if r["household_id"] == calm["household_id"]]
    assert len(moved) == 1, "the account at enforcement puts its comfortable household on the list"
    row = moved[0]
    assert (row["priority"], row["new_since_last_run"], row["first_flagged_date"]) == ("1", "yes", NEXT_DAY.isoformat())
    assert (row["previous_status"], row["resilience_status"]) == ("comfortable", "comfortable")
    assert (row["council_tax_arrears"], row["recovery_stage"]) == ("250.00", "enforcement_agent")
    assert row["next_actions"].startswith(
        "council tax at enforcement: refer to the recovery team before further action")
    assert "Council tax recovery has reached enforcement agents with £250.00 arrears" in row["reasons"]
    assert row["reasons"].split("; ")[-1].startswith("Comfortable: ")


def test_contact_list_types_are_documented(runs: dict[str, Any]) -> None:
    resource = next(r for r in datapackage()["resources"] if r["name"] == "contact_list")
    documented = {f["name"]: f["povertylink:duckdbType"] for f in resource["schema"]["fields"]}
    with duckdb.connect() as con:
        actual = dict(row[:2] for row in con.execute(
            f"DESCRIBE SELECT * FROM read_parquet('{runs['second'] / 'contact_list.parquet'}')").fetchall())
    assert actual == documented
    written = (runs["second"] / "datapackage.json").read_text(encoding="utf-8")
    assert '"contact_list"' in written


def _libreoffice_cells(csv_path: Path, work: Path) -> list[list[tuple[str | None, str | None, str]]]:
    """The cells LibreOffice Calc makes of a CSV (UTF-8, as its import dialog offers): (formula, type, text)."""
    assert SOFFICE is not None
    done = subprocess.run([SOFFICE, "--headless", "--norestore", f"-env:UserInstallation=file://{work / 'profile'}",
                           "--infilter=CSV:44,34,76,1", "--convert-to", "fods", "--outdir", str(work), str(csv_path)],
                          capture_output=True, text=True, timeout=300, check=False)
    converted = work / f"{csv_path.stem}.fods"
    assert done.returncode == 0 and converted.is_file(), (done.stdout, done.stderr)
    table = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
    office = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}"
    rows = []
    for row in ET.parse(converted).iter(f"{table}table-row"):
        cells = []
        for cell in row.findall(f"{table}table-cell"):
            repeat = int(cell.get(f"{table}number-columns-repeated", "1"))
            cells += [(cell.get(f"{table}formula"), cell.get(f"{office}value-type"),
                       "".join(cell.itertext()).strip())] * min(repeat, 200)
        rows.append(cells)
    return rows


@pytest.mark.skipif(SOFFICE is None, reason="LibreOffice is not installed (apt-get install libreoffice-calc-nogui; "
                                            "`make libreoffice`)")
def test_libreoffice_opens_the_csv_without_evaluating_a_formula(runs: dict[str, Any], tmp_path: Path) -> None:
    control = tmp_path / "control.csv"  # the detector works: an unguarded formula is evaluated by Calc
    control.write_text("\ufeffa\n=1+1\n", encoding="utf-8")
    assert any(f for row in _libreoffice_cells(control, tmp_path) for f, _, _ in row)
    source = runs["second"] / "districts" / runs["lad"] / "contact_list.csv"
    rows = _libreoffice_cells(source, tmp_path)
    assert not [(i, c) for i, row in enumerate(rows) for c in row if c[0]], "a cell became a formula"
    header = [text for _, _, text in rows[0]][: len(ContactListRow.model_fields)]
    assert header == list(ContactListRow.model_fields)
    by_ref = {row[header.index("claim_ref")][2]: row for row in rows[1:] if len(row) >= len(header)}
    for ref, formula in runs["hostile"].items():
        _, kind, text = by_ref[ref][header.index("town")]
        assert (kind, text) == ("string", "'" + formula)
    first = rows[1]
    assert first[header.index("first_flagged_date")][1] == "date"
    assert first[header.index("cashflow_monthly")][1] == "float"
    assert "£" in first[header.index("next_actions")][2] or "£" in first[header.index("reasons")][2]


def test_targeting_within_budget_stable_and_leaves_the_runs_alone(runs: dict[str, Any]) -> None:
    out: Path = runs["out"]
    before = _tree(out / "runs") | {"current": str((out / "current").readlink())}
    budget, award = Decimal("4000"), Decimal("150")
    lists = []
    for name in ("night-a", "night-b"):
        done = povertylink("target", "--output", str(out), "--budget", str(budget), "--award", str(award),
                           "--name", name)
        assert done.returncode == 0, done.stderr
        assert f"targeting {name}" in done.stdout and "left over" in done.stdout
        lists.append({lad: _read_csv(out / "targeting" / name / "districts" / lad / "contact_list.csv")
                      for lad in runs["lads"]})
    assert _tree(out / "runs") | {"current": str((out / "current").readlink())} == before
    pools = {lad: sum(1 for h in _households(runs["second"]) if h["lad_code"] == lad
                      and h["resilience_status"] in ("in_crisis", "at_risk")) for lad in runs["lads"]}
    shares = split_awards(pools, int(budget // award))
    total = Decimal(0)
    for lad in runs["lads"]:
        first, again = lists[0][lad], lists[1][lad]
        assert [{k: v for k, v in r.items() if k != "targeting"} for r in first] == \
            [{k: v for k, v in r.items() if k != "targeting"} for r in again]
        assert len(first) == shares[lad] and len(first) >= 1
        order = [(RESILIENCE_STATUSES.index(r["resilience_status"]), Decimal(r["cashflow_monthly"])) for r in first]
        assert order == sorted(order)
        running = Decimal(0)
        for row in first:
            running += Decimal(row["award"])
            assert Decimal(row["cumulative_total"]) == running
            assert row["reason"].startswith(f"rank {row['rank']}: ")
        total += running
    assert total <= budget and sum(shares.values()) == int(budget // award)


def test_targeting_leaves_out_earlier_awards_and_refuses_bad_input(runs: dict[str, Any]) -> None:
    out, lad = runs["out"], runs["lad"]
    done = povertylink("target", "--output", str(out), "--budget", "600", "--award", "150", "--district", lad,
                       "--name", "round-1")
    assert done.returncode == 0, done.stderr
    earlier = out / "targeting" / "round-1" / "districts" / lad / "contact_list.csv"
    paid = [r["household_id"] for r in _read_csv(earlier)]
    assert len(paid) == 4
    done = povertylink("target", "--output", str(out), "--budget", "600", "--award", "150", "--district", lad,
                       "--name", "round-2", "--previous", str(earlier))
    assert done.returncode == 0, done.stderr
    again = [r["household_id"] for r in _read_csv(out / "targeting" / "round-2" / "districts" / lad /
                                                   "contact_list.csv")]
    assert len(again) == 4 and not set(again) & set(paid)
    for args in (["--budget", "-5", "--award", "150"], ["--budget", "500", "--award", "150", "--district", "E99"],
                 ["--budget", "500", "--award", "150", "--name", "../escape"]):
        bad = povertylink("target", "--output", str(out), *args)
        assert bad.returncode == 2 and bad.stderr.startswith("povertylink: error: ") and "Traceback" not in bad.stderr
    assert not (out / "escape").exists()
