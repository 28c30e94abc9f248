"""Disclosure control (RULES.md): 10-5 rule, secondary suppression, hand-worked tables."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks.disclosure import (
    Line,
    grid_lines,
    is_primary,
    protect,
    recoverable_cells,
    round_count,
    suppress,
)


def test_primary_rule_and_rounding_by_hand() -> None:
    assert [is_primary(n) for n in (0, 1, 9, 10)] == [False, True, True, False]
    assert [round_count(n) for n in (0, 10, 12, 13, 14, 17, 18, 1234)] == [0, 10, 10, 15, 15, 15, 20, 1235]


def test_primary_alone_would_let_a_cell_be_recovered() -> None:
    # One district's status mix and its total: 143 - 20 - 30 - 40 - 50 = 3 recovers in_crisis.
    counts = {"in_crisis": 3, "at_risk": 20, "struggling": 30, "coping": 40, "comfortable": 50, "scored": 143}
    lines = [Line(("in_crisis", "at_risk", "struggling", "coping", "comfortable"), "scored")]
    assert recoverable_cells(counts, lines, {"in_crisis"}) == {"in_crisis"}
    outcome = suppress(counts, lines)
    assert outcome.primary == {"in_crisis"}
    assert outcome.secondary == {"at_risk"}  # the smallest other interior cell, not the total
    assert recoverable_cells(counts, lines, outcome.suppressed) == set()
    published = protect(counts, lines)
    assert published["in_crisis"].count is None and published["in_crisis"].primary
    assert published["at_risk"].count is None and not published["at_risk"].primary
    assert published["scored"].count == 145  # 143 rounded to the nearest 5


def test_districts_and_county_grid_by_hand() -> None:
    # Two districts and the county; columns: two statuses and households scored.
    # A: 4 + 30 = 34; B: 25 + 31 = 56; county: 29 + 61 = 90.
    counts = {
        ("A", "crisis"): 4, ("A", "other"): 30, ("A", "all"): 34,
        ("B", "crisis"): 25, ("B", "other"): 31, ("B", "all"): 56,
        ("county", "crisis"): 29, ("county", "other"): 61, ("county", "all"): 90,
    }
    lines = grid_lines(["A", "B"], ["crisis", "other"], "county", "all")
    outcome = suppress(counts, lines)
    hidden = outcome.suppressed
    assert outcome.primary == {("A", "crisis")}
    # A's row needs a second cell, the crisis column needs a second district, then B's row
    # and the 'other' column: the whole 2x2 interior goes, and nothing is recoverable.
    assert hidden == {("A", "crisis"), ("A", "other"), ("B", "crisis"), ("B", "other")}
    assert recoverable_cells(counts, lines, hidden) == set()
    for line in lines:
        assert sum(key in hidden for key in line.cells) in (0, 2)


def test_overlapping_lines_need_the_null_space_check() -> None:
    # Every line has two hidden cells, yet a+b, a+c and b+c are known: a, b, c follow.
    counts = {"a": 3, "b": 4, "c": 5, "p": 20, "q": 21, "r": 22, "T1": 27, "T2": 29, "T3": 31}
    lines = [Line(("a", "b", "p"), "T1"), Line(("a", "c", "q"), "T2"), Line(("b", "c", "r"), "T3")]
    assert recoverable_cells(counts, lines, {"a", "b", "c"}) == {"a", "b", "c"}
    outcome = suppress(counts, lines)
    assert outcome.primary == {"a", "b", "c"}
    assert outcome.secondary  # at least one more cell
    assert recoverable_cells(counts, lines, outcome.suppressed) == set()


def test_fixed_cells_are_never_newly_suppressed() -> None:
    counts = {"x": 4, "y": 0, "z": 30, "total": 34}
    outcome = suppress(counts, [Line(("x", "y", "z"), "total")], fixed={"total"})
    assert outcome.secondary == {"z"}  # a non-zero cell before a zero; the fixed total stays
    with pytest.raises(ValueError):
        suppress({"x": 4, "total": 40}, [Line(("x",), "total")], fixed={"total"})


def test_zero_is_shown_and_empty_lines_need_nothing() -> None:
    counts = {"a": 0, "b": 0, "t": 0}
    published = protect(counts, [Line(("a", "b"), "t")])
    assert all(p.count == 0 and not p.suppressed for p in published.values())


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(st.integers(0, 40), min_size=3, max_size=3), min_size=2, max_size=4))
def test_random_grids_publish_nothing_small_and_nothing_recoverable(rows: list[list[int]]) -> None:
    names = [f"d{i}" for i in range(len(rows))]
    columns = ["s0", "s1", "s2"]
    counts: dict[tuple[str, str], int] = {}
    for name, values in zip(names, rows, strict=True):
        for column, value in zip(columns, values, strict=True):
            counts[(name, column)] = value
        counts[(name, "all")] = sum(values)
    for column in [*columns, "all"]:
        counts[("county", column)] = sum(counts[(name, column)] for name in names)
    lines = grid_lines(names, columns, "county", "all")
    published = protect(counts, lines)
    hidden = {key for key, cell in published.items() if cell.suppressed}
    for key, cell in published.items():
        if cell.count is not None:
            assert cell.count == 0 or cell.count >= 10
            assert cell.count % 5 == 0 and abs(cell.count - counts[key]) <= 2
        else:
            assert key in hidden
    assert recoverable_cells(counts, lines, hidden) == set()
    for line in lines:
        assert sum(key in hidden for key in line.cells) != 1
    assert all(is_primary(counts[key]) is False for key in set(counts) - hidden)
