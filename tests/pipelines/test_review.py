"""`povertylink review export / import`: the queue as a CSV, decisions validated (line and column of every
problem, nothing kept on any), kept across runs with the latest in force, and the precision they estimate.
A hand-made output folder whose current run holds a review_queue.parquet (real Parquet, real files)."""

from __future__ import annotations

import csv
import os
from dataclasses import replace
from pathlib import Path

import duckdb
import pytest

from matching.clerical import pair_id
from pipelines.review import (
    EXPORT_COLUMNS,
    ReviewFileError,
    decisions_path,
    export_queue,
    import_decisions,
    in_force,
    precision_estimate,
    read_decisions,
)
from schemas.errors import UserError
from schemas.review import REVIEW_QUEUE_COLUMNS
from tests.cli import povertylink

LAD = "E07000105"
# (claim, account, linked, method, decision in force)
PAIRS = [("C1", "A1", True, "probabilistic", None), ("C2", "A2", True, "uprn", None),
         ("C3", "A3", False, None, None), ("C4", "=A4", False, None, None), ("C5", "A5", True, "clerical", "match")]


def _output(tmp_path: Path, pairs: list[tuple[str, str, bool, str | None, str | None]] = PAIRS) -> Path:
    """An output folder whose current run has a review queue of ``pairs``."""
    out = tmp_path / "out"
    run = out / "runs" / "R1"
    (run / "districts" / LAD).mkdir(parents=True)
    os.symlink(Path("runs") / "R1", out / "current")
    con = duckdb.connect()
    values = {c: "NULL" for c in REVIEW_QUEUE_COLUMNS}
    selects = []
    for n, (claim, account, linked, method, decision) in enumerate(pairs):
        row = values | {"pair_id": f"'{pair_id(LAD, claim, account)}'", "lad_code": f"'{LAD}'",
                        "claim_ref": f"'{claim}'", "account_ref": f"'{account}'",
                        "match_probability": f"{0.5 + n / 20}",
                        "match_weight": f"{n}.5", "linked": str(linked).lower(),
                        "method": f"'{method}'" if method else "NULL::VARCHAR",
                        "decision": f"'{decision}'" if decision else "NULL::VARCHAR", "reason": "'borderline'",
                        "claim_address_line_1": f"'{n} High Street'", "account_address_line_1": f"'{n} High St'",
                        "claim_postcode": "'CT1 1AA'", "account_postcode": "'CT1 1AA'"}
        selects.append("SELECT " + ", ".join(f"{v} AS {c}" for c, v in row.items()))
    for path in (run / "review_queue.parquet", run / "districts" / LAD / "review_queue.parquet"):
        con.execute(f"COPY ({' UNION ALL '.join(selects)}) TO '{path}' (FORMAT parquet)")
    return out


def _fill(exported: Path, marks: dict[str, str], target: Path, extra: dict[str, dict[str, str]] | None = None) -> Path:
    """The exported CSV with ``marks`` (claim_ref -> decision) written in, as an analyst would."""
    with exported.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        row["decision"] = marks.get(row["claim_ref"], "")
        row.update((extra or {}).get(row["claim_ref"], {}))
    with target.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return target


def test_export_writes_undecided_pairs_with_an_empty_decision_column(tmp_path: Path) -> None:
    out = _output(tmp_path)
    target = tmp_path / "review.csv"
    assert export_queue(out, target) == 4  # C5 is decided already
    with target.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert tuple(rows[0]) == EXPORT_COLUMNS and {r["decision"] for r in rows} == {""}
    assert [r["claim_ref"] for r in rows] == ["C1", "C2", "C3", "C4"]
    assert rows[3]["account_ref"] == "'=A4"  # a spreadsheet shows it as text, never runs it
    assert not [c for c in EXPORT_COLUMNS if c.endswith(("_name", "_key", "birth_date"))]
    assert export_queue(out, target, district=LAD, include_decided=True) == 5
    with pytest.raises(UserError, match="not a district of the current run"):
        export_queue(out, target, district="E07000999")


def test_import_keeps_decisions_and_the_next_import_wins(tmp_path: Path) -> None:
    out = _output(tmp_path)
    exported = tmp_path / "review.csv"
    export_queue(out, exported)
    first = _fill(exported, {"C1": "match", "C2": "Non-Match", "C3": "match", "C4": "non-match"}, tmp_path / "a.csv",
                  {"C1": {"reviewer": "AB", "decided_at": "2026-11-21"}})
    result = import_decisions(out, first, reviewer="team")
    assert (result.recorded, result.matches, result.non_matches, result.blank) == (4, 2, 2, 0)
    stored = {d.claim_ref: d for d in read_decisions(out)}
    assert stored["C1"].reviewer == "AB" and stored["C1"].decided_at == "2026-11-21" and stored["C2"].reviewer == "team"
    assert stored["C1"].model_linked and stored["C2"].model_linked and not stored["C3"].model_linked
    assert stored["C4"].account_ref == "=A4"  # the apostrophe of the export is not part of the reference
    estimate = precision_estimate(in_force(read_decisions(out)))
    assert (estimate["reviewed_links"], estimate["confirmed"], estimate["rejected"]) == (2, 1, 1)
    assert estimate["precision"] == 0.5 and estimate["missed_links"] == 1 and estimate["decisions"] == 4
    assert 0 < estimate["precision_95"][0] < 0.5 < estimate["precision_95"][1] < 1
    second = _fill(exported, {"C1": "non-match"}, tmp_path / "b.csv")
    assert import_decisions(out, second).blank == 3
    force = {d.claim_ref: d.decision for d in in_force(read_decisions(out))}
    assert force == {"C1": "non-match", "C2": "non-match", "C3": "match", "C4": "non-match"}
    assert len(read_decisions(out)) == 5  # every decision kept, in order
    assert precision_estimate(in_force(read_decisions(out)))["confirmed"] == 0


def test_a_later_match_ends_an_earlier_match_of_the_same_claim(tmp_path: Path) -> None:
    out = _output(tmp_path)
    history = read_decisions(out)
    assert history == [] and precision_estimate([]) == {"decisions": 0, "precision": None, "note": "no decisions yet"}
    exported = tmp_path / "review.csv"
    export_queue(out, exported)
    import_decisions(out, _fill(exported, {"C3": "match"}, tmp_path / "a.csv"))
    stored = read_decisions(out)[0]
    later = replace(stored, pair_id=pair_id(LAD, "C3", "A9"), account_ref="A9")
    assert [d.account_ref for d in in_force([stored, later])] == ["A9"]
    other = replace(stored, pair_id=pair_id(LAD, "C8", "A8"), claim_ref="C8", account_ref="A8")
    across = replace(stored, pair_id=pair_id(LAD, "C3", "A8"), account_ref="A8")  # ends C3-A3 and C8-A8
    assert [(d.claim_ref, d.account_ref) for d in in_force([stored, other, across])] == [("C3", "A8")]
    apart = replace(across, decision="non-match")
    assert [(d.claim_ref, d.decision) for d in in_force([stored, across, apart])] == [("C3", "non-match")]


def test_a_bad_decisions_file_names_every_problem_and_keeps_nothing(tmp_path: Path) -> None:
    out = _output(tmp_path)
    exported = tmp_path / "review.csv"
    export_queue(out, exported)
    bad = _fill(exported, {"C1": "maybe", "C2": "match", "C3": "match"}, tmp_path / "bad.csv",
                {"C2": {"claim_ref": "C9"}, "C3": {"decided_at": "yesterday"}})
    with bad.open("a", encoding="utf-8") as handle:
        handle.write(f"P-0000000000000000,match{',' * (len(EXPORT_COLUMNS) - 2)}\n")
    with pytest.raises(ReviewFileError) as caught:
        import_decisions(out, bad)
    problems = caught.value.problems
    assert problems[0].startswith("bad.csv line 2, column decision: 'maybe'")
    assert any(p.startswith("bad.csv line 3, column claim_ref:") for p in problems)
    assert any(p.startswith("bad.csv line 4, column decided_at:") for p in problems)
    assert any(p.startswith("bad.csv line 6, column pair_id: 'P-0000000000000000' is not a pair") for p in problems)
    assert not decisions_path(out).exists()
    no_column = tmp_path / "nocol.csv"
    no_column.write_text("pair_id,verdict\nP-1,match\n", encoding="utf-8")
    with pytest.raises(ReviewFileError, match="line 1: no 'decision' column"):
        import_decisions(out, no_column)


def test_two_decisions_for_one_pair_or_two_matches_for_one_claim_are_refused(tmp_path: Path) -> None:
    out = _output(tmp_path, [*PAIRS, ("C1", "A6", False, None, None)])
    twice = tmp_path / "twice.csv"
    c1a1, c1a6 = pair_id(LAD, "C1", "A1"), pair_id(LAD, "C1", "A6")
    twice.write_text(f"pair_id,decision\n{c1a1},match\n{c1a1},non-match\n{c1a6},match\n", encoding="utf-8")
    with pytest.raises(ReviewFileError) as caught:
        import_decisions(out, twice)
    assert caught.value.problems == [
        f"twice.csv line 3, column decision: pair {c1a1} is also on line 2 as match; keep one decision per pair",
        "twice.csv line 4, column decision: claim C1 is already a match on line 2; a claim links to one account"]


def test_damaged_decisions_file_is_a_clear_error(tmp_path: Path) -> None:
    out = _output(tmp_path)
    exported = tmp_path / "review.csv"
    export_queue(out, exported)
    import_decisions(out, _fill(exported, {"C1": "match"}, tmp_path / "a.csv"))
    path = decisions_path(out)
    path.write_text(path.read_text(encoding="utf-8").replace(",match,", ",perhaps,"), encoding="utf-8")
    with pytest.raises(UserError, match=r"decisions.csv line 2, column decision"):
        read_decisions(out)


def test_cli_import_of_a_bad_file_exits_2_naming_line_and_column(tmp_path: Path) -> None:
    out = _output(tmp_path)
    done = povertylink("review", "export", "--output", str(out), "--file", str(tmp_path / "review.csv"))
    assert done.returncode == 0, done.stderr
    assert "4 pairs written" in done.stdout
    bad = _fill(tmp_path / "review.csv", {"C2": "yes"}, tmp_path / "bad.csv")
    done = povertylink("review", "import", "--output", str(out), str(bad))
    assert done.returncode == 2
    assert "bad.csv line 3, column decision: 'yes' is not a decision" in done.stderr
    assert "no decision was kept" in done.stderr and not decisions_path(out).exists()
    good = _fill(tmp_path / "review.csv", {"C2": "match"}, tmp_path / "good.csv")
    done = povertylink("review", "import", "--output", str(out), str(good), "--reviewer", "AB")
    assert done.returncode == 0, done.stderr
    assert "1 decisions recorded" in done.stdout and len(read_decisions(out)) == 1


def test_a_pair_of_an_earlier_queue_named_in_full_is_accepted(tmp_path: Path) -> None:
    out = _output(tmp_path)
    run = out / "runs" / "R1"
    duckdb.connect().execute(f"COPY (SELECT '{LAD}' AS lad_code, 'C7' AS claim_ref, 'A7' AS account_ref, "
                             f"'probabilistic' AS method) TO '{run / 'links.parquet'}' (FORMAT parquet)")
    earlier = tmp_path / "earlier.csv"
    earlier.write_text(f"pair_id,decision,lad_code,claim_ref,account_ref\n{pair_id(LAD, 'C7', 'A7')},non-match,"
                       f"{LAD},C7,A7\n{pair_id(LAD, 'C6', 'A6')},match,{LAD},C6,A9\n", encoding="utf-8")
    with pytest.raises(ReviewFileError) as caught:  # C6-A9 does not hash to the pair id given
        import_decisions(out, earlier)
    assert [p.split(":")[0] for p in caught.value.problems] == ["earlier.csv line 3, column pair_id"]
    earlier.write_text("\n".join(earlier.read_text(encoding="utf-8").splitlines()[:2]) + "\n", encoding="utf-8")
    assert import_decisions(out, earlier).recorded == 1
    stored = read_decisions(out)[0]
    assert (stored.claim_ref, stored.decision, stored.model_linked) == ("C7", "non-match", True)


def test_an_import_while_another_holds_the_review_lock_is_refused_and_keeps_nothing(tmp_path: Path) -> None:
    from pipelines.publish import folder_lock

    out = _output(tmp_path)
    exported = tmp_path / "review.csv"
    export_queue(out, exported)
    marked = _fill(exported, {"C1": "match"}, tmp_path / "a.csv")
    with folder_lock(out / "review" / ".lock", "held"), \
            pytest.raises(UserError, match="another review import is writing there"):
        import_decisions(out, marked)
    assert read_decisions(out) == []
    assert import_decisions(out, marked).recorded == 1


def test_a_pair_repeated_with_the_same_decision_is_recorded_once(tmp_path: Path) -> None:
    out = _output(tmp_path)
    c1a1 = pair_id(LAD, "C1", "A1")
    twice = tmp_path / "twice.csv"
    twice.write_text(f"pair_id,decision\n{c1a1},match\n{c1a1},Match\n", encoding="utf-8")
    result = import_decisions(out, twice)
    assert (result.recorded, result.matches, result.in_force) == (1, 1, 1)
    assert len(read_decisions(out)) == 1
