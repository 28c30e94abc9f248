"""The EM cannot settle on nonsense: disagreement never weighs for a match, an implausible fit falls back."""

from __future__ import annotations

import numpy as np

from matching.estimate import FSModel, estimate_em, implausible
from matching.settings import within_start_model


def _patterns(rows: list[tuple[tuple[int, ...], int]]) -> tuple[np.ndarray, np.ndarray]:
    return np.array([p for p, _ in rows]), np.array([n for _, n in rows], dtype=float)


def test_disagreement_held_at_weight_zero_and_noted() -> None:
    """A cluster of "same name and birth date, another address" pulls address level 0 up; it is held at 0."""
    start = within_start_model()
    # columns: uprn, address, name, dob (levels as in matching.compare)
    pats, counts = _patterns([
        ((-1, 6, 5, 2), 900),   # same address, same person
        ((-1, 0, 5, 2), 400),   # same person, another address: the cluster that misleads EM
        ((-1, 2, 0, 0), 8000),  # neighbours
        ((-1, 0, 0, 0), 3000),  # nothing in common
        ((-1, 2, 2, 0), 300),
    ])
    free = estimate_em(pats, counts, start)
    assert free.level_weight("address_level", 0) <= 1e-9
    assert any("address_level" in note for note in free.log)
    assert free.level_weight("address_level", 6) > 0 and not implausible(free)
    assert free.as_dict()["notes"] == free.log


def test_implausible_fit_is_named() -> None:
    start = within_start_model()
    m = {c: dict(v) for c, v in start.m.items()}
    u = {c: dict(v) for c, v in start.u.items()}
    m["name_level"][5], u["name_level"][5] = 0.001, 0.5  # "same name" weighing against a match
    problems = implausible(FSModel(m=m, u=u, prior=0.1))
    assert len(problems) == 1 and problems[0].startswith("name_level: top level 5")
    assert implausible(start) == []
