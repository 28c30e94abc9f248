"""Fellegi-Sunter model: m and u probabilities estimated without labels (EM), and weights as SQL.

The EM runs on the distinct comparison patterns with their counts (a few hundred rows even
at county scale), under conditional independence; level -1 ("missing") carries no weight.
``m[c][l]`` = P(level l of comparison c | match), ``u[c][l]`` = P(level l | non-match),
``prior`` = share of candidate pairs that are matches. Weights are log2 Bayes factors; a
pair's match weight is log2(prior odds) + the sum of its levels' weights. No personal data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

FLOOR = 1e-6


@dataclass
class FSModel:
    """m/u probabilities per comparison level, the prior match share, and how they were obtained."""

    m: dict[str, dict[int, float]]
    u: dict[str, dict[int, float]]
    prior: float
    source: str = "prior"
    iterations: int = 0
    pairs: int = 0
    log: list[str] = field(default_factory=list)

    @property
    def comparisons(self) -> list[str]:
        """Comparison column names, in model order."""
        return list(self.m)

    def level_weight(self, comparison: str, level: int) -> float:
        """log2(m/u) of one level; 0 for missing (-1) or a level the model does not know."""
        m, u = self.m[comparison].get(level), self.u[comparison].get(level)
        if level < 0 or m is None or u is None:
            return 0.0
        return math.log2(max(m, FLOOR) / max(u, FLOOR))

    def prior_weight(self) -> float:
        """log2 of the prior odds of a match among candidate pairs."""
        return math.log2(self.prior / (1 - self.prior))

    def weight_sql(self, alias: str = "v") -> str:
        """SQL expression of the match weight of a row ``alias`` holding the comparison level columns."""
        terms = [f"{self.prior_weight():.10f}"]
        for comp in self.comparisons:
            cases = " ".join(f"WHEN {lvl} THEN {self.level_weight(comp, lvl):.10f}" for lvl in sorted(self.m[comp]))
            terms.append(f"(CASE {alias}.{comp} {cases} ELSE 0 END)")
        return " + ".join(terms)

    def as_dict(self) -> dict[str, object]:
        """JSON-able parameters for the manifest (levels as text keys)."""
        return {
            "source": self.source,
            "iterations": self.iterations,
            "pairs": self.pairs,
            "prior": round(self.prior, 8),
            "comparisons": {
                c: {str(lvl): {"m": round(self.m[c][lvl], 6), "u": round(self.u[c][lvl], 6),
                               "weight": round(self.level_weight(c, lvl), 3)} for lvl in sorted(self.m[c])}
                for c in self.comparisons
            },
        }


def probability_sql(weight: str) -> str:
    """SQL of the match probability for a match weight expression (log2 odds)."""
    return f"(1.0 / (1.0 + pow(2.0, -({weight}))))"


def estimate_em(
    patterns: np.ndarray, counts: np.ndarray, start: FSModel, max_iter: int = 200, tol: float = 1e-7,
    pseudo: float = 10.0,
) -> FSModel:
    """EM estimate of m, u and prior from comparison patterns (rows: level per comparison) and their counts.

    Starts from ``start``'s parameters and keeps its levels. ``pseudo`` pairs per class, spread
    as ``start``'s m and u, smooth each estimate (a Dirichlet prior), so that a level never seen
    among matches gets a large negative weight rather than an infinite one. Returns a new model.
    """
    comps = start.comparisons
    n = counts.astype(float)
    total = n.sum()
    m = {c: dict(start.m[c]) for c in comps}
    u = {c: dict(start.u[c]) for c in comps}
    prior = start.prior
    iterations = 0
    for step in range(1, max_iter + 1):
        iterations = step
        log_m = np.full(len(n), math.log(prior))
        log_u = np.full(len(n), math.log(1 - prior))
        for j, c in enumerate(comps):
            col = patterns[:, j]
            for lvl in m[c]:
                hit = col == lvl
                log_m[hit] += math.log(max(m[c][lvl], FLOOR))
                log_u[hit] += math.log(max(u[c][lvl], FLOOR))
        g = 1.0 / (1.0 + np.exp(np.clip(log_u - log_m, -700, 700)))
        gm, gu = n * g, n * (1 - g)
        new_prior = min(max(gm.sum() / total, FLOOR), 1 - FLOOR)
        delta = abs(new_prior - prior)
        for j, c in enumerate(comps):
            col = patterns[:, j]
            known = col >= 0
            sm, su = gm[known].sum(), gu[known].sum()
            for lvl in m[c]:
                hit = col == lvl
                new_m = (gm[hit].sum() + pseudo * start.m[c][lvl]) / (sm + pseudo)
                new_u = (gu[hit].sum() + pseudo * start.u[c][lvl]) / (su + pseudo)
                delta = max(delta, abs(new_m - m[c][lvl]), abs(new_u - u[c][lvl]))
                m[c][lvl], u[c][lvl] = new_m, new_u
        prior = new_prior
        if delta < tol:
            break
    return FSModel(m=m, u=u, prior=prior, source="em", iterations=iterations, pairs=int(total))
