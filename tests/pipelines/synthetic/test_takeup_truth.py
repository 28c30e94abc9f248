"""The take-up checks on the generator's data against its truth (``_truth/takeup.csv``): no false flag, none
missed, every value to the penny. Scored with the true claim-to-account links (``_truth/links.csv``), so that
a difference is the checks' or the award join's, never the claim linker's; awards join their claims inside
scoring (by person key, else the probabilistic fallback), as in a run."""

from __future__ import annotations

import csv
import datetime as dt
import shutil
from pathlib import Path

import duckdb
import pytest

from matching.landing_tables import load_landing_csvs
from pipelines.score.households import score_households
from pipelines.score.params import load_parameters
from pipelines.score.takeup_sql import CHECKS
from pipelines.synthetic import generator as syn

REPO = Path(__file__).resolve().parents[3]
AS_OF = syn.EXTRACT_DATE
STAMP = AS_OF.isoformat()
Row = tuple[str, str, str, str, str, str]


def read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def expected(landing: Path) -> set[Row]:
    return {(r["lad_code"], r["source"], r["ref"], r["check"], r["confidence"], r["value_annual"])
            for r in read(landing / "_truth" / "takeup.csv")}


def score_with_true_links(landing: Path, as_of: dt.date = AS_OF) -> duckdb.DuckDBPyConnection:
    """A database of the landing folder's extracts, its true claim-to-account links, and ``households``."""
    con = duckdb.connect()
    load_landing_csvs(con, landing)
    con.execute("CREATE TABLE links (lad_code VARCHAR, claim_ref VARCHAR, account_ref VARCHAR, method VARCHAR,"
                " match_probability DOUBLE, match_weight DOUBLE)")
    con.execute(f"INSERT INTO links SELECT lad_code, claim_ref, account_ref, 'uprn', 1.0, 20.0"
                f" FROM read_csv('{landing / '_truth' / 'links.csv'}', all_varchar = true)")
    score_households(con, as_of, load_parameters(as_of), "truth-test")
    return con


def scored(landing: Path, as_of: dt.date = AS_OF) -> set[Row]:
    """Every flag the scorer raises on the landing folder, keyed as the truth keys them."""
    con = score_with_true_links(landing, as_of)
    out: set[Row] = set()
    columns = ", ".join(f"{c}_confidence, {c}_value_annual" for c in CHECKS)
    for row in con.execute(f"SELECT lad_code, source, claim_ref, {columns} FROM households").fetchall():
        lad, source, ref = row[0], row[1], row[2]
        for i, check in enumerate(CHECKS):
            confidence, value = row[3 + 2 * i], row[4 + 2 * i]
            if confidence is not None:
                out.add((lad, source, ref, check, confidence, "" if value is None else f"{value:.2f}"))
    for lad, account, arrears in con.execute("SELECT lad_code, account_ref, arrears FROM arrears_signals").fetchall():
        out.add((lad, "account", account, "not_known_arrears", "signal", f"{arrears:.2f}"))
    return out


def assert_matches_truth(landing: Path) -> set[Row]:
    truth, found = expected(landing), scored(landing)
    assert sorted(found - truth)[:10] == [], "false flags (or wrong confidence or value)"
    assert sorted(truth - found)[:10] == [], "missed flags (or wrong confidence or value)"
    return truth


def test_committed_sample_flags_every_check_as_its_truth_says() -> None:
    landing = REPO / "data" / "sample"
    if not (landing / "_truth" / "takeup.csv").is_file():
        pytest.skip("no committed data/sample in this checkout")
    truth = assert_matches_truth(landing)
    assert {r[3] for r in truth} == {*CHECKS, "not_known_arrears"}  # every check flags somewhere


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("fresh")
    syn.generate(out, districts=2, households=1200, seed=31, raw=False)
    return out


def test_a_fresh_sample_flags_every_check_as_its_truth_says(fresh: Path) -> None:
    truth = assert_matches_truth(fresh)
    mistyped = [r for r in read(fresh / "_truth" / "universal_credit.csv") if r["noise"] == "nino_mistyped"]
    assert any(r["claim_ref"] for r in mistyped)  # the fallback joined awards whose person keys join nothing
    assert {r[1] for r in truth} == {"claim", "both", "uc", "account"}


def test_a_district_without_a_universal_credit_file_scores_as_without_any(fresh: Path, tmp_path: Path) -> None:
    """Removing one district's UC file leaves that district exactly as a run with no UC file at all scores it
    (households and arrears signals), while the other district keeps its awards."""
    def district_rows(landing: Path, lad: str) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
        con = score_with_true_links(landing)
        households = con.execute("SELECT * EXCLUDE (run_id) FROM households WHERE lad_code = ? ORDER BY claim_ref",
                                 [lad]).fetchall()
        signals = con.execute("SELECT * EXCLUDE (run_id) FROM arrears_signals WHERE lad_code = ? ORDER BY account_ref",
                              [lad]).fetchall()
        return households, signals

    lads = sorted(p.name for p in fresh.glob("E*"))
    none, one = tmp_path / "none", tmp_path / "one"
    shutil.copytree(fresh, none)
    shutil.copytree(fresh, one)
    for path in none.glob(f"E*/universal_credit_{STAMP}.csv"):
        path.unlink()
    (one / lads[0] / f"universal_credit_{STAMP}.csv").unlink()
    without, with_other = district_rows(none, lads[0]), district_rows(one, lads[0])
    assert without == with_other and len(without[0]) > 100 and without[1]
    assert {r[3] for r in district_rows(none, lads[0])[0]} == {"claim"}  # source
    assert {r[3] for r in district_rows(one, lads[1])[0]} == {"claim", "both", "uc"}
