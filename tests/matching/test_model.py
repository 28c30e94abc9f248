"""The within-district model: term-frequency adjustments, u from random pairs, an implausible fit said aloud."""

from __future__ import annotations

import math

import duckdb
import numpy as np

from matching.estimate import FSModel, u_from_sample, with_random_u
from matching.landing_tables import create_table
from matching.normalise import prepare_sql
from matching.settings import within_start_model
from matching.within import estimate_model, link_districts, random_pairs_sql
from schemas.config import LinkSettings
from tests.matching.test_within import LAD, account, claim

COMMON, RARE = "Smith", "Quartermaine"
STREETS = ["High Street", "Station Road", "Mill Lane", "Church Road", "Park Avenue", "Queens Road"]


def _population() -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    """Twelve claims and accounts, pairwise the same household; eight are Smiths, one a rare surname."""
    claims, accounts = [], []
    for i in range(12):
        surname = COMMON if i < 8 else RARE if i == 8 else f"Other{chr(65 + i)}"
        street, pc = f"{i + 1} {STREETS[i % 6]}", f"CT{20 + i % 3} {i % 9 + 1}A{'BDEFGHJLN'[i % 9]}"
        claims.append(claim(f"B{i}", street, pc, (f"Fore{chr(65 + i)}", surname)))
        accounts.append(account(f"A{i}", street, pc, (f"Fore{chr(65 + i)}", surname)))
    return claims, accounts


def test_common_surname_weighs_less_than_a_rare_one() -> None:
    """tf_weight = log2(u / p(value)): u the chance a random claim-account pair shares a surname, p the
    value's share of the district's records. Computed here from the counts, independently of the SQL."""
    con = duckdb.connect()
    claims, accounts = _population()
    create_table(con, "benefits", claims)
    create_table(con, "council_tax", accounts)
    link_districts(con, LAD)
    tf = dict(con.execute("SELECT claim_ref, tf_weight FROM _lk_scored WHERE right(claim_ref, -1) = "
                          "right(account_ref, -1)").fetchall())
    n = 12  # records on each side; the surname counts are the same on both
    counts = {COMMON: 8, RARE: 1} | {f"Other{chr(65 + i)}": 1 for i in range(9, 12)}
    u = sum((k / n) * (k / n) for k in counts.values())
    assert math.isclose(tf["B0"], math.log2(u / (8 / n)), abs_tol=1e-9) and tf["B0"] < 0
    assert math.isclose(tf["B8"], math.log2(u / (1 / n)), abs_tol=1e-9) and tf["B8"] > 0
    links = dict(con.execute("SELECT claim_ref, tf_weight FROM links").fetchall())
    assert links["B0"] == tf["B0"]  # the link's detail carries the adjustment
    weights = dict(con.execute("SELECT claim_ref, match_weight - tf_weight FROM _lk_scored WHERE claim_ref IN "
                               "('B0', 'B8') AND right(claim_ref, -1) = right(account_ref, -1)").fetchall())
    levels = con.execute("SELECT DISTINCT address_level, name_level, dob_level FROM _lk_scored WHERE claim_ref IN "
                         "('B0', 'B8') AND right(claim_ref, -1) = right(account_ref, -1)").fetchall()
    assert len(levels) == 1 and math.isclose(weights["B0"], weights["B8"])  # same levels: only tf differs


def test_random_pairs_are_seeded_and_bounded() -> None:
    con = duckdb.connect()
    claims, accounts = _population()
    create_table(con, "benefits", claims + [claim("C1", "1 X Road", "ME1 1AA", ("A", "B"), lad="E07000105")])
    create_table(con, "council_tax", accounts + [account("D1", "1 X Road", "ME1 1AA", ("A", "B"), lad="E07000105"),
                                                 account("D2", "2 X Road", "ME1 1AA", ("C", "D"), lad="E07000105")])
    for sql in prepare_sql():
        con.execute(sql)
    first = con.execute(f"SELECT * FROM ({random_pairs_sql(50)}) ORDER BY ALL").fetchall()
    assert first == con.execute(f"SELECT * FROM ({random_pairs_sql(50)}) ORDER BY ALL").fetchall()
    assert first != con.execute(f"SELECT * FROM ({random_pairs_sql(50, seed=2)}) ORDER BY ALL").fetchall()
    per = {lad: sum(1 for r in first if r[0] == lad) for lad in (LAD, "E07000105")}
    assert per == {LAD: 50, "E07000105": 2}  # at most 50 a district; a district of 1 x 2 pairs gives 2 draws
    assert all(c.startswith("B") and a.startswith("A") for lad, c, a in first if lad == LAD)


def test_u_from_random_pairs_leaves_out_the_true_matches() -> None:
    """In a district of 100 accounts one random pair in 100 is a true match (agreeing on everything): the raw
    share of 'same birth date' would be u ~ 0.011; with the matches taken out it is the chance rate, 0.001."""
    start = within_start_model()
    # columns: uprn, address, name, dob; 100,000 random pairs, 1,000 of them true matches
    pats = np.array([(-1, 6, 5, 2), (-1, 0, 0, 2), (-1, 0, 0, 0), (-1, 2, 0, 0)])
    counts = np.array([1_000, 99, 80_000, 18_901], dtype=float)
    model = FSModel(m=start.m, u=start.u, prior=0.5, source="em")
    full = with_random_u(model, pats, counts, candidates=2_000, all_pairs=100_000)
    assert math.isclose(full.prior, 0.01)  # 1,000 expected matches among 100,000 pairs
    assert abs(full.u["dob_level"][2] - 99 / 99_000) < 2e-4
    assert full.u["address_level"][6] < 1e-4 and full.level_weight("address_level", 6) > 12
    raw = u_from_sample(pats, counts, model, prior=0.0001, rounds=1)  # one round: no match taken out
    assert raw["dob_level"][2] > 0.01
    assert full.as_dict()["u_source"] == "random pairs" and full.as_dict()["u_random_pairs"] == 100_000


def test_implausible_fit_falls_back_and_the_manifest_says_so() -> None:
    """Birth dates that agree among the non-matches and disagree among the matches: EM fits 'same birth date'
    weighing against a match. The fit is not used; the model's manifest says it was detected and fallen back."""
    con = duckdb.connect()
    rows = [((-1, 6, 5, 0), 900), ((-1, 6, 5, 1), 50), ((-1, 2, 0, 2), 6000), ((-1, 0, 0, 2), 3000),
            ((-1, 2, 2, 2), 300)]
    con.execute("CREATE TABLE v (uprn_level INT, address_level INT, name_level INT, dob_level INT)")
    for pattern, n in rows:
        con.execute(f"INSERT INTO v SELECT {', '.join(map(str, pattern))} FROM range({n})")
    model = estimate_model(con, "v", within_start_model(), LinkSettings())
    fit = model.as_dict()["implausible_fit"]
    assert model.source == "prior" and fit["detected"] is True  # type: ignore[index]
    assert fit["action"] == "fell back to the starting model"  # type: ignore[index]
    assert any(p.startswith("dob_level") for p in fit["problems"])  # type: ignore[index]
    assert any("implausible" in note for note in model.log)
    plausible = within_start_model().as_dict()["implausible_fit"]
    assert plausible == {"detected": False, "action": None, "problems": []}
