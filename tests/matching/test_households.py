"""Across districts, stable household ids and the quality outputs (hand-made cases, real DuckDB/Parquet)."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb

from matching.landing_tables import create_table
from matching.link import LinkReport, link_households
from tests.matching.test_within import ACCOUNTS, CLAIMS, account, claim

OTHER = "E07000105"
MOVERS = [
    claim("M1", "7 Old Road", "CT20 2CC", ("Ann", "Moved"), dob="1960-05-05", nino="AB123456C"),
    claim("M3", "8 Old Road", "CT20 2CC", ("Fred", "Mover"), dob="1945-03-03"),
    claim("S1", "9 Old Road", "CT20 2CC", ("Same", "Name"), dob="1955-06-06", nino="AB111111C"),
    claim("N1", "1 New Road", "TN23 1AA", ("Ann", "Moved"), dob="1960-05-05", nino="AB123456C", lad=OTHER),
    claim("N3", "3 New Road", "TN23 1AA", ("Fred", "Mover"), dob="1945-03-03", lad=OTHER),
    claim("N4", "4 New Road", "TN23 1AA", ("Someone", "New"), partner=("Same", "Name"), lad=OTHER,
          partner_birth_date=None),
    claim("N5", "5 New Road", "TN23 1AA", ("Same", "Name"), dob="1955-06-06", nino="AB222222C", lad=OTHER),
]
MORE_ACCOUNTS = [account("X1", "1 New Road", "TN23 1AA", ("Ann", "Moved"), lad=OTHER)]


def _con(claims: list[dict[str, object]] | None = None) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    create_table(con, "benefits", claims if claims is not None else CLAIMS + MOVERS)
    create_table(con, "council_tax", ACCOUNTS + MORE_ACCOUNTS)
    return con


def _keys(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], tuple[str, str]]:
    rows = con.execute("SELECT lad_code, claim_ref, household_id, other_districts FROM household_keys").fetchall()
    return {(lad, ref): (hid, other) for lad, ref, hid, other in rows}


def test_moved_household_counted_once_and_every_claim_kept() -> None:
    con = _con()
    report = link_households(con, None)
    keys = _keys(con)
    assert len(keys) == len(CLAIMS) + len(MOVERS)  # every valid claim: one row in its own district
    lad = "E07000112"
    assert len({hid for hid, _ in keys.values()}) == len(keys)  # household_id is a key: one per claim
    clusters = dict(con.execute("SELECT claim_ref, person_cluster_id FROM household_keys").fetchall())
    linked = dict(con.execute("SELECT claim_ref, linked_household_ids FROM household_keys").fetchall())
    assert clusters["M1"] == clusters["N1"]  # same NINO key: one person, two households
    assert linked["M1"] == keys[(OTHER, "N1")][0] and linked["N1"] == keys[(lad, "M1")][0]
    assert keys[(lad, "M1")][1] == OTHER and keys[(OTHER, "N1")][1] == lad
    assert clusters["M3"] == clusters["N3"]  # no NINO: name encodings and date of birth
    assert clusters["S1"] != clusters["N5"]  # same name and birth date, different NINO keys
    assert keys[(lad, "B1")][1] == "" and linked["B1"] == "" and len(set(clusters.values())) == len(keys) - 2
    assert all(hid.startswith("H-") and len(hid) == 14 for hid, _ in keys.values())
    assert all(c.startswith("C-") and len(c) == 14 for c in clusters.values())
    methods = dict(con.execute("SELECT claim_ref, method FROM person_links").fetchall())
    assert methods == {"M1": "nino", "N1": "nino", "M3": "probabilistic", "N3": "probabilistic"}
    manifest = report.as_manifest()
    json.dumps(manifest)
    assert isinstance(report, LinkReport) and manifest["links"] == 8
    by_lad = {d["lad_code"]: d for d in manifest["districts"]}
    assert by_lad[OTHER] == {"lad_code": OTHER, "claims": 4, "linked_uprn": 0, "linked_probabilistic": 1,
                             "linked_clerical": 0, "unlinked": 3, "link_rate": 0.25}
    assert sum(b["pairs"] for b in manifest["match_weight_histogram"]["links"]) == 8
    assert manifest["cross_district"]["claims_in_other_districts"] == 4


def test_same_input_twice_gives_same_ids() -> None:
    first, second = _con(), _con(list(reversed(CLAIMS + MOVERS)))
    link_households(first, None)
    link_households(second, None)
    assert _keys(first) == _keys(second)


def test_ids_carried_forward_from_previous_run(tmp_path: Path) -> None:
    con = _con()
    link_households(con, None)
    before = _keys(con)
    # the previous run published households.parquet with ids we must keep, including an old-style id
    con.execute("""CREATE TABLE prev AS SELECT k.household_id, k.lad_code, k.claim_ref, l.account_ref
                   FROM household_keys k LEFT JOIN links l USING (lad_code, claim_ref)""")
    con.execute("UPDATE prev SET household_id = 'H-legacy000001' WHERE claim_ref = 'B2'")
    con.execute("UPDATE prev SET household_id = 'H-legacy000002', claim_ref = 'OLD-B1' WHERE claim_ref = 'B1'")
    con.execute(f"COPY prev TO '{tmp_path / 'households.parquet'}' (FORMAT parquet)")
    again = _con(CLAIMS + MOVERS + [claim("B10", "11 High Street", "CT20 1AB", ("New", "Person"))])
    report = link_households(again, tmp_path)
    after = _keys(again)
    lad = "E07000112"
    assert after[(lad, "B2")][0] == "H-legacy000001"
    assert after[(lad, "B1")][0] == "H-legacy000002"  # claim ref changed; same linked account A1
    assert all(after[k] == v for k, v in before.items() if k[1] not in ("B1", "B2"))
    assert after[(lad, "B10")][0] not in {hid for hid, _ in before.values()}
    assert report.ids["ids_new"] == 1


def test_review_queue_and_no_claims() -> None:
    con = _con()
    link_households(con, None)
    cols = [r[0] for r in con.execute("DESCRIBE review_queue").fetchall()]
    assert cols[:6] == ["lad_code", "claim_ref", "account_ref", "match_probability", "match_weight", "accepted"]
    empty = _con([])
    report = link_households(empty, None)
    assert report.links == 0 and _keys(empty) == {}
