"""Clerical review end to end on the committed sample: the run publishes the review queue (hub and
districts, no name or key), an analyst exports it, marks pairs, imports the decisions, and the next run
forces the links marked match (method clerical) and never links those marked non-match; the manifest
and report give the precision the decisions estimate."""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
from pathlib import Path

import duckdb
import pytest

from pipelines.run import RunRequest, run_local
from tests.cli import povertylink

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"
AS_OF = dt.date(2026, 11, 20)
WIDE = "[linkage]\nreview_lower = 0.001\nreview_upper = 1.0\n"  # every claim's best pair: a queue to work on


def _run(out: Path, config: Path) -> Path:
    outcome = run_local(RunRequest(SAMPLE, out, AS_OF, config=config), retry_delays=())
    assert outcome.exit_code == 0 and outcome.published is not None, outcome.errors
    return outcome.published


def _rows(sql: str) -> list[dict[str, object]]:
    con = duckdb.connect()
    cursor = con.execute(sql)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]


@pytest.fixture(scope="module")
def reviewed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    base = tmp_path_factory.mktemp("review")
    out, config = base / "out", base / "wide.toml"
    config.write_text(WIDE, encoding="utf-8")
    first = _run(out, config)
    exported = base / "review.csv"
    done = povertylink("review", "export", "--output", str(out), "--file", str(exported))
    assert done.returncode == 0, done.stderr
    with exported.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    linked = [r for r in rows if r["linked"] == "true" and r["method"] == "probabilistic"]
    apart = [r for r in rows if r["linked"] == "false"]
    assert len(linked) >= 2 and apart, "the sample's queue needs linked and unlinked pairs to review"
    marks = {linked[0]["pair_id"]: "non-match", linked[1]["pair_id"]: "match", apart[0]["pair_id"]: "match"}
    for row in rows:
        row["decision"] = marks.get(row["pair_id"], "")
    decided = base / "decided.csv"
    with decided.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    done = povertylink("review", "import", "--output", str(out), str(decided), "--reviewer", "QA")
    assert done.returncode == 0, done.stderr
    second = _run(out, config)
    return {"first": first, "second": second, "forbidden": linked[0], "confirmed": linked[1], "forced": apart[0],
            "out": out}


def test_the_run_publishes_the_queue_at_the_hub_and_each_district_its_own(reviewed: dict[str, object]) -> None:
    first = Path(str(reviewed["first"]))
    queue = _rows(f"SELECT * FROM read_parquet('{first}/review_queue.parquet')")
    assert queue and len({r["pair_id"] for r in queue}) == len(queue)
    assert not [c for c in queue[0] if re.search(r"_name$|_key$|birth|nino|forename|surname", c)]
    values = " ".join(str(v) for r in queue for v in r.values())
    assert "v2|" not in values and not re.search(r"\b[0-9a-f]{64}\b", values)  # no encoding, no NINO key
    total = 0
    for folder in sorted((first / "districts").iterdir()):
        own = _rows(f"SELECT lad_code FROM read_parquet('{folder}/review_queue.parquet')")
        assert {r["lad_code"] for r in own} <= {folder.name}
        total += len(own)
    assert total == len(queue)
    package = json.loads((first / "datapackage.json").read_text(encoding="utf-8"))
    assert next(r for r in package["resources"] if r["name"] == "review_queue")["schema"]["primaryKey"] == ["pair_id"]
    with duckdb.connect(str(first / "povertylink.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM review_queue").fetchone() == (len(queue),)
    manifest = json.loads((first / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["clerical_review"]["note"] == "no decisions yet"
    assert "No decisions yet" in (first / "report.html").read_text(encoding="utf-8")


def test_the_next_run_honours_the_decisions(reviewed: dict[str, object]) -> None:
    second = Path(str(reviewed["second"]))
    links = {(r["lad_code"], r["claim_ref"]): r for r in _rows(f"SELECT * FROM read_parquet('{second}/links.parquet')")}
    for key, want in (("forced", "clerical"), ("confirmed", "clerical")):
        pair = reviewed[key]
        assert isinstance(pair, dict)
        got = links[(pair["lad_code"], pair["claim_ref"])]
        assert (got["account_ref"], got["method"]) == (pair["account_ref"], want)
    forbidden = reviewed["forbidden"]
    assert isinstance(forbidden, dict)
    got = links.get((forbidden["lad_code"], forbidden["claim_ref"]))
    assert got is None or got["account_ref"] != forbidden["account_ref"]
    households = _rows(f"SELECT link_method FROM read_parquet('{second}/households.parquet') "
                       "WHERE link_method = 'clerical'")
    assert len(households) == 2
    queue = {r["pair_id"]: r for r in _rows(f"SELECT * FROM read_parquet('{second}/review_queue.parquet')")}
    assert queue[forbidden["pair_id"]]["decision"] == "non-match" and not queue[forbidden["pair_id"]]["linked"]


def test_manifest_and_report_give_the_precision_of_the_decisions(reviewed: dict[str, object]) -> None:
    second = Path(str(reviewed["second"]))
    manifest = json.loads((second / "manifest.json").read_text(encoding="utf-8"))
    review = manifest["clerical_review"]
    assert (review["decisions"], review["reviewed_links"], review["confirmed"], review["rejected"]) == (3, 2, 1, 1)
    assert review["precision"] == 0.5 and review["missed_links"] == 1
    assert manifest["linkage"]["clerical"] == {"decisions": 3, "forced_links": 2, "forbidden_pairs": 1,
                                               "not_applied": 0}
    report = (second / "report.html").read_text(encoding="utf-8")
    assert "Clerical review" in report and "50%" in report
    assert "Match weights of the model" in report and "Match weight distribution" in report
