"""Disclosure control against differencing (issue 16, problem 6): the attacks, rebuilt.

Each attack compares what is *published* (the benchmark tables, the manifest's scoring and
linkage sections, the report's link rates) in two worlds that differ only in one household's
value or in a small count. Where the published figures of the two worlds are identical, the
attacker recovers nothing that tells the worlds apart: that is what every test asserts.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import duckdb

from benchmarks.build import TABLES, build_benchmarks
from benchmarks.disclosure import MONEY_ROUND_TO, Line, recoverable_cells
from benchmarks.report import linkage_context
from pipelines.hub import published_linkage
from pipelines.score.households import published_summary, summarise
from schemas.vocabulary import RESILIENCE_STATUSES
from tests.benchmarks.households import Group, make_council_tax, make_households

A, B, C = "E07000105", "E07000106", "E07000112"
DAY = dt.date(2026, 11, 20)
VOLATILE = ("run_id", "previous_run_id")


def world(extra: list[Group], base_pc: str = "1000.00") -> duckdb.DuckDBPyConnection:
    """Three districts; 20 pensioners missing Pension Credit (£1,000 each) spread over A and B, plus ``extra``."""
    con = duckdb.connect()
    make_households(con, [
        Group(A, 10, "coping", "p", pensioner=True, pc_missing=True, pc_value=base_pc),
        Group(A, 40, "comfortable", "k"),
        Group(B, 10, "coping", "p", pensioner=True, pc_missing=True, pc_value=base_pc),
        Group(B, 40, "at_risk", "r", fuel=True),
        Group(C, 30, "struggling", "s"),
        Group(C, 20, "comfortable", "k"),
        *extra,
    ], run_id="r")
    make_council_tax(con, {A: 300, B: 300, C: 300})
    return con


def published(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Everything the benchmark stage and the manifest's scoring summary share, run ids left out."""
    build_benchmarks(con, "r", DAY, None)
    out: dict[str, Any] = {}
    for table in TABLES:
        cols = [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall() if r[0] not in VOLATILE]
        out[table] = sorted(map(repr, con.execute(f"SELECT {', '.join(cols)} FROM {table}").fetchall()))
    out["summary"] = published_summary(summarise(con))
    return out


def test_two_runs_differing_by_one_household_do_not_give_its_value() -> None:
    """The £2,808 household of the issue: had it been worth anything from £2,501 to £3,499, every
    published figure would be the same, so the difference of two runs cannot give its value."""
    before = published(world([]))
    after = {value: published(world([Group(A, 1, "coping", "x", pensioner=True, pc_missing=True,
                                           pc_value=value)])) for value in ("2808.00", "2501.00", "3499.00")}
    assert after["2808.00"] == after["2501.00"] == after["3499.00"]
    assert after["2808.00"] != before  # the household is counted: only its value is hidden
    county = [r for r in after["2808.00"]["district_benchmarks"] if "'county', 'Kent', 'pension_credit_missing'" in r]
    assert "Decimal('23000.00')" in county[0] and "2808" not in county[0]


def test_county_minus_the_other_districts_does_not_give_a_small_district() -> None:
    """District C's 3 households missing Pension Credit are hidden, and so is a second district's
    figure, so county minus the shown districts gives two districts' sum, never C's; and C worth
    £300 or £450 in all, the published figures are the same."""
    small = [published(world([Group(C, 3, "struggling", "x", start=100, pensioner=True, pc_missing=True,
                                    pc_value=value)])) for value in ("100.00", "150.00")]
    assert small[0] == small[1]
    hidden = [r["lad_code"] for r in small[0]["summary"] if r["pension_credit_value_annual"] is None]
    assert C in hidden and len(hidden) >= 2
    rows = [r for r in small[0]["district_benchmarks"] if "'pension_credit_missing'" in r]
    assert any(f"'{C}'" in r and "None, True" in r for r in rows)  # C's count, value and rate hidden
    summary = {r["lad_code"]: r for r in small[0]["summary"]}
    assert summary[C]["pension_credit_missing"] is None and summary[C]["pension_credit_value_annual"] is None
    shown = [r["pension_credit_value_annual"] for r in summary.values() if r["pension_credit_value_annual"] is not None]
    assert all(value % MONEY_ROUND_TO == 0 for value in shown)


def test_percentage_times_total_gives_only_the_rounded_count() -> None:
    """13 or 14 of A's households in crisis: the count, the rate and the percentage are all the same."""
    worlds = [published(world([Group(A, n, "in_crisis", "x", start=200), Group(A, 27 - n, "coping", "y", start=300)]))
              for n in (13, 14)]
    assert worlds[0] == worlds[1]


def test_the_manifest_summary_hides_small_counts_and_what_reveals_them() -> None:
    con = world([Group(C, 3, "in_crisis", "x", start=100)])
    rows = published_summary(summarise(con))
    counts = ["households", *RESILIENCE_STATUSES, "fuel_poverty", "water_poverty", "food_poverty",
              "pension_credit_missing"]
    for row in rows:
        for column in counts:
            assert row[column] is None or (row[column] % 5 == 0 and not 1 <= row[column] <= 9), (row, column)
    exact = {(r["lad_code"], c): int(r[c]) for r in summarise(con) for c in counts}
    hidden = {(r["lad_code"], c) for r in rows for c in counts if r[c] is None}
    assert (C, "in_crisis") in hidden and len(hidden) > 1
    areas = [r["lad_code"] for r in rows]
    lines = [Line(tuple((a, s) for s in RESILIENCE_STATUSES), (a, "households")) for a in areas]
    lines += [Line(tuple((a, c) for a in areas if a != "county"), ("county", c)) for c in counts]
    assert recoverable_cells(exact, lines, hidden) == set()


def test_link_rates_are_computed_from_rounded_counts() -> None:
    """'15 claims, 23% probabilistic' gave 13 claims and 3 links: now 13 or 14 claims with 3 or 4
    probabilistic links publish the same manifest section and the same report figures."""
    def shown(claims: int, probabilistic: int) -> tuple[Any, ...]:
        section = published_linkage({"districts": [{
            "lad_code": A, "claims": claims, "linked_uprn": 10, "linked_probabilistic": probabilistic,
            "unlinked": claims - 10 - probabilistic, "link_rate": round((10 + probabilistic) / claims, 4)}],
            "cross_district": {"claims_in_other_districts": 3}})
        context = linkage_context(duckdb.connect(), {"linkage": section})
        return section["districts"], section["cross_district"], context["linkage_rows"]

    assert shown(13, 3) == shown(14, 4)
    districts, cross, rows = shown(13, 3)
    assert districts[0]["claims"] == 15 and districts[0]["linked_probabilistic"] is None
    assert districts[0]["link_rate"] == 1.0  # 13 linked of 13 claims: 15 of 15 once rounded
    assert cross["claims_in_other_districts"] is None
    assert rows[0]["rate"] == "–" and "23%" not in repr(rows)  # a hidden method: no rate from the parts


def test_the_summary_and_the_benchmarks_publish_one_view_of_the_counts() -> None:
    """Two differently suppressed views of the same counts could be combined; there is one."""
    con = world([Group(C, 3, "in_crisis", "x", start=100), Group(B, 4, "struggling", "y", start=100,
                                                                   pensioner=True, pc_missing=True, pc_value="900")])
    build_benchmarks(con, "r", DAY, None)
    bench = {(lad, metric): (count, value) for lad, metric, count, value in con.execute(
        "SELECT lad_code, metric, count, value_gbp FROM district_benchmarks").fetchall()}
    summary = published_summary(summarise(con))
    column = {"households": "households_scored"}
    compared = 0
    for row in summary:
        for key, value in row.items():
            metric = column.get(key, key)
            if (row["lad_code"], metric) in bench:
                assert value == bench[(row["lad_code"], metric)][0], (row["lad_code"], metric)
                compared += 1
        assert row["pension_credit_value_annual"] == bench[(row["lad_code"], "pension_credit_missing")][1]
    assert compared == 4 * 10  # 3 districts and the county, 10 counts each
