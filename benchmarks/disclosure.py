"""Disclosure control for anything published across district lines (RULES.md, last section).

Pure functions on counts keyed by any hashable cell key. No personal data: these functions
see only aggregate counts.

- primary suppression: a count of 1 to 9 is suppressed; 0 may be shown;
- rounding: every other published count is rounded to the nearest 5 (the ONS "10-5" rule);
- secondary suppression: where cells add up to a total (a *line*: district statuses to
  households scored, districts to the county, areas to their district), further cells are
  suppressed until no suppressed cell can be recovered from the published ones by
  subtraction. Each line then has no suppressed cell or at least two, and a linear-algebra
  check (every suppressed cell has a free direction in the null space of the lines) catches
  what the line-by-line rule misses where lines nest or overlap;
- rates and money derived from a suppressed count are suppressed with it (callers use
  :func:`protect` and drop derived values where ``suppressed`` is true);
- money is rounded to the nearest £1,000 (:data:`MONEY_ROUND_TO`), so that the difference of two
  published totals (two runs, or a total minus its parts) tells one household's value only to
  within about £1,000 either way; rates and percentages are computed from rounded counts
  (:func:`percent`), so they carry nothing the rounded counts do not.

"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Generic, TypeVar

import numpy as np

K = TypeVar("K", bound=Hashable)

LOWEST_SHOWN = 10  # counts 1..LOWEST_SHOWN-1 are suppressed
ROUND_TO = 5
MONEY_ROUND_TO = 1000  # pounds: about the value of one household's missed Pension Credit or less


def is_primary(count: int) -> bool:
    """True for a count the rules suppress on its own (1 to 9)."""
    return 1 <= count < LOWEST_SHOWN


def round_count(count: int) -> int:
    """A count rounded to the nearest 5 (halves cannot occur for whole numbers)."""
    if count < 0:
        raise ValueError("a count cannot be negative")
    return (count + ROUND_TO // 2) // ROUND_TO * ROUND_TO


def round_money(value: Decimal | float | int) -> Decimal:
    """Pounds rounded to the nearest £1,000 (:data:`MONEY_ROUND_TO`), as DECIMAL(18,2)."""
    steps = (Decimal(str(value)) / MONEY_ROUND_TO).quantize(Decimal("1"), rounding=ROUND_HALF_UP)
    return (steps * MONEY_ROUND_TO).quantize(Decimal("0.01"))


def published_count(count: int | None) -> int | None:
    """One count as it may be shown on its own: None for 1 to 9 (or None), else rounded to the nearest 5."""
    return None if count is None or is_primary(count) else round_count(count)


def percent(part: int | None, whole: int | None, digits: int = 4) -> float | None:
    """``part`` as a percentage of ``whole``, both *published* (rounded) counts; None when either is hidden."""
    if part is None or not whole:
        return None
    return round(part / whole * 100, digits)


@dataclass(frozen=True)
class Line(Generic[K]):
    """Cells whose counts add up to the count of ``total``."""

    members: tuple[K, ...]
    total: K

    @property
    def cells(self) -> tuple[K, ...]:
        return (*self.members, self.total)


@dataclass(frozen=True)
class Protected:
    """A published cell: ``count`` is the rounded count, or None where suppressed."""

    count: int | None
    suppressed: bool
    primary: bool = False


@dataclass
class Suppression(Generic[K]):
    """The outcome of :func:`suppress`: which cells are hidden, and why."""

    primary: set[K] = field(default_factory=set)
    secondary: set[K] = field(default_factory=set)

    @property
    def suppressed(self) -> set[K]:
        return self.primary | self.secondary


def primary_cells(counts: Mapping[K, int]) -> set[K]:
    """Cells suppressed by the 1-9 rule."""
    return {key for key, value in counts.items() if is_primary(value)}


def known_zeros(counts: Mapping[K, int], lines: Sequence[Line[K]], suppressed: Iterable[K]) -> set[K]:
    """Suppressed cells known to be zero: counts are never negative, so where a line's hidden
    cells add up to zero (the published cells account for the whole total), each is zero."""
    hidden = set(suppressed)
    known: set[K] = set()
    changed = True
    while changed:
        changed = False
        for line in lines:
            cells = [key for key in line.cells if key in hidden and key not in known]
            if cells and all(counts[key] == 0 for key in cells):
                known.update(cells)
                changed = True
    return known


def recoverable_cells(counts: Mapping[K, int], lines: Sequence[Line[K]], suppressed: Iterable[K]) -> set[K]:
    """Suppressed non-zero cells whose exact value follows from the published cells and the lines.

    Hidden cells known to be zero (:func:`known_zeros`) count as published. Another hidden
    cell is recoverable iff every solution of the lines (over the hidden cells, the others
    being known) gives it the same value, i.e. iff it is zero in every null-space vector of
    the lines' coefficient matrix over the hidden cells. A recovered zero discloses nothing.
    """
    hidden_all: set[K] = set(suppressed)
    zeros: set[K] = known_zeros(counts, lines, hidden_all)
    hidden: list[K] = sorted(hidden_all - zeros, key=repr)
    if not hidden:
        return set()
    index = {key: i for i, key in enumerate(hidden)}
    rows = []
    for line in lines:
        row = np.zeros(len(hidden))
        for key in line.members:
            if key in index:
                row[index[key]] += 1.0
        if line.total in index:
            row[index[line.total]] -= 1.0
        if row.any():
            rows.append(row)
    if not rows:
        return set()
    matrix = np.vstack(rows)
    _, singular, vt = np.linalg.svd(matrix)
    rank = int((singular > 1e-9 * max(1.0, float(singular.max(initial=0.0)))).sum())
    null = vt[rank:]  # rows span the null space
    if null.shape[0] == 0:
        return {key for key in hidden if counts[key] != 0}
    spread = np.abs(null).max(axis=0)
    return {key for key, i in index.items() if spread[i] < 1e-9 and counts[key] != 0}


def _preference(
    key: K, counts: Mapping[K, int], totals: set[K], exposes: int, keep: int
) -> tuple[int, int, int, int, int, str]:
    """Order of candidates for secondary suppression: non-zero cells (a hidden zero protects
    nothing), interior cells before totals, cells the caller would rather keep last (``keep``),
    cells that start fewest new lines (``exposes``: lines of the cell with no hidden cell
    yet), then the smallest count."""
    value = counts[key]
    return (1 if value == 0 else 0, 1 if key in totals else 0, keep, exposes, value, repr(key))


def suppress(
    counts: Mapping[K, int],
    lines: Sequence[Line[K]],
    fixed: Iterable[K] = (),
    already: Iterable[K] = (),
    keep: Mapping[K, int] | None = None,
) -> Suppression[K]:
    """Primary then secondary suppression of ``counts`` under ``lines``.

    ``fixed`` cells are published elsewhere already: they are never newly suppressed here.
    ``already`` cells are suppressed elsewhere already (they count as hidden, not as primary).
    ``keep`` ranks cells the reader most needs (higher: suppressed later when there is a choice).
    Raises ValueError if a line refers to a cell without a count.
    """
    for line in lines:
        missing = [key for key in line.cells if key not in counts]
        if missing:
            raise ValueError(f"line refers to cells without a count: {missing[:3]}")
    frozen = set(fixed)
    wanted: Mapping[K, int] = keep or {}
    primary = primary_cells(counts) - frozen
    hidden = primary | set(already)
    totals = {line.total for line in lines}
    by_cell: dict[K, list[Line[K]]] = {}
    for line in lines:
        for key in line.cells:
            by_cell.setdefault(key, []).append(line)

    def add_from(line: Line[K]) -> bool:
        options = [key for key in line.cells if key not in hidden and key not in frozen]
        if not options:
            return False

        def exposes(key: K) -> int:
            return sum(1 for other in by_cell.get(key, []) if not any(c in hidden for c in other.cells))

        hidden.add(min(options, key=lambda key: _preference(key, counts, totals, exposes(key), wanted.get(key, 0))))
        return True

    while True:
        changed = True
        while changed:  # line rule: no line may have exactly one hidden cell
            changed = False
            for line in lines:
                if sum(1 for key in line.cells if key in hidden) == 1 and add_from(line):
                    changed = True
        exposed = recoverable_cells(counts, lines, hidden)
        if not exposed:
            break
        progressed = False
        for key in sorted(exposed, key=repr):
            if any(add_from(line) for line in by_cell.get(key, [])):
                progressed = True
                break
        if not progressed:
            raise ValueError("cannot protect the suppressed cells: every candidate is fixed")
    return Suppression(primary=primary, secondary=hidden - primary - set(already))


def protect(
    counts: Mapping[K, int],
    lines: Sequence[Line[K]] = (),
    fixed: Iterable[K] = (),
    already: Iterable[K] = (),
    keep: Mapping[K, int] | None = None,
) -> dict[K, Protected]:
    """Suppress and round: the published form of every cell of ``counts``."""
    outcome = suppress(counts, lines, fixed=fixed, already=already, keep=keep)
    hidden = outcome.suppressed | set(already)
    return {
        key: Protected(None, True, key in outcome.primary) if key in hidden else Protected(round_count(value), False)
        for key, value in counts.items()
    }


def grid_lines(
    rows: Sequence[Hashable], columns: Sequence[Hashable], row_total: Hashable, column_total: Hashable
) -> list[Line[tuple[Hashable, Hashable]]]:
    """Lines of a two-way table with margins: cells are ``(row, column)``.

    ``row_total`` is the row key of the totals row (e.g. the county) and ``column_total`` the
    column key of the totals column (e.g. households scored). Every row, the totals row
    included, sums to its total column cell; every column, the totals column included, sums
    down to the totals row.
    """
    lines: list[Line[tuple[Hashable, Hashable]]] = []
    for row in (*rows, row_total):
        lines.append(Line(tuple((row, column) for column in columns), (row, column_total)))
    for column in (*columns, column_total):
        lines.append(Line(tuple((row, column) for row in rows), (row_total, column)))
    return lines

