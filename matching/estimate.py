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
    u_source: str = ""  # where u comes from: "" (as ``source``) or "random pairs"
    u_pairs: int = 0  # random pairs u was estimated on
    candidate_prior: float | None = None  # the share of matches among candidate pairs (EM), when prior is not it
    implausible_problems: list[str] = field(default_factory=list)  # why a fit was not used (then: fell back)
    u_random: dict[str, dict[int, float]] | None = None  # u from random pairs, reported beside the model's u

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

    def weight_sql(self, alias: str = "v", extra: str = "") -> str:
        """SQL expression of the match weight of a row ``alias`` holding the comparison level columns.

        ``extra``: an SQL term added to it (the pair's term-frequency adjustment)."""
        terms = [f"{self.prior_weight():.10f}"] + ([extra] if extra else [])
        for comp in self.comparisons:
            cases = " ".join(f"WHEN {lvl} THEN {self.level_weight(comp, lvl):.10f}" for lvl in sorted(self.m[comp]))
            terms.append(f"(CASE {alias}.{comp} {cases} ELSE 0 END)")
        return " + ".join(terms)

    def as_dict(self) -> dict[str, object]:
        """JSON-able parameters for the manifest (levels as text keys)."""
        return {
            "source": self.source,
            "u_source": self.u_source or self.source,
            "u_random_pairs": self.u_pairs,
            "iterations": self.iterations,
            "pairs": self.pairs,
            "prior": round(self.prior, 8),
            "candidate_prior": None if self.candidate_prior is None else round(self.candidate_prior, 8),
            "implausible_fit": {"detected": bool(self.implausible_problems),
                                "action": "fell back to the starting model" if self.implausible_problems else None,
                                "problems": list(self.implausible_problems)},
            "notes": list(self.log),
            "comparisons": {
                c: {str(lvl): {"m": round(self.m[c][lvl], 6), "u": round(self.u[c][lvl], 6),
                               "weight": round(self.level_weight(c, lvl), 3)}
                    | ({"u_random_pairs": round(self.u_random[c][lvl], 8)} if self.u_random else {})
                    for lvl in sorted(self.m[c])}
                for c in self.comparisons
            },
        }


def implausible(model: FSModel) -> list[str]:
    """Why a fitted model is nonsense, per comparison (empty when plausible).

    The top level (closest agreement) must weigh for a match (weight > 0) and more than level 0
    (disagreement); level 0 must not weigh for a match (weight <= 0, which :func:`estimate_em` holds).
    """
    problems = []
    for c in model.comparisons:
        levels = sorted(lvl for lvl in model.m[c] if lvl >= 0)
        if not levels or levels[-1] == 0:
            continue
        top, low = model.level_weight(c, levels[-1]), model.level_weight(c, 0) if 0 in levels else 0.0
        if top <= 0 or top <= low:
            problems.append(f"{c}: top level {levels[-1]} weighs {top:+.2f}, level 0 {low:+.2f}")
        elif low > 1e-9:
            problems.append(f"{c}: level 0 (disagreement) weighs {low:+.2f} for a match")
    return problems


def match_posterior(patterns: np.ndarray, m: dict[str, dict[int, float]], u: dict[str, dict[int, float]],
                    prior: float) -> np.ndarray:
    """P(match | pattern) of each row of ``patterns`` (columns in ``m``'s order) under the model (the E step)."""
    log_m = np.full(len(patterns), math.log(prior))
    log_u = np.full(len(patterns), math.log(1 - prior))
    for j, c in enumerate(m):
        col = patterns[:, j]
        for lvl in m[c]:
            hit = col == lvl
            log_m[hit] += math.log(max(m[c][lvl], FLOOR))
            log_u[hit] += math.log(max(u[c][lvl], FLOOR))
    return np.asarray(1.0 / (1.0 + np.exp(np.clip(log_u - log_m, -700, 700))))


def u_from_sample(patterns: np.ndarray, counts: np.ndarray, model: FSModel, prior: float,
                  rounds: int = 20) -> dict[str, dict[int, float]]:
    """u of every level of ``model``'s comparisons from the level patterns of random pairs and their counts.

    Per comparison, the share of the non-matching random pairs (a value present on both sides) at each
    level. A random pair is a true match with probability ``prior`` (1 in the accounts' count: in a small
    district that is as common as a chance agreement on a birth date), so the true matches are taken out
    as EM would, with m and ``prior`` held: each pattern counts as a non-match by 1 - P(match | pattern),
    a few rounds. Smoothed by half a pair per level (Jeffreys), so that a level no random pair reached (a
    rare agreement) gets a small u rather than 0.
    """
    n = counts.astype(float)
    u: dict[str, dict[int, float]] = {}
    g = np.zeros(len(n))
    for _ in range(rounds):
        nu = n * (1 - g)
        for j, c in enumerate(model.comparisons):
            col = patterns[:, j] if len(n) else np.zeros(0)
            levels = sorted(model.m[c])
            known = nu[col >= 0].sum() if len(n) else 0.0
            u[c] = {lvl: (nu[col == lvl].sum() + 0.5) / (known + 0.5 * len(levels)) for lvl in levels}
        if not len(n):
            break
        g = match_posterior(patterns, model.m, u, prior)
    return u


def with_random_u(model: FSModel, u_patterns: np.ndarray, u_counts: np.ndarray, candidates: int,
                  all_pairs: int) -> FSModel:
    """The model over all claim-account pairs (Splink's): m as fitted, u from random pairs
    (:func:`u_from_sample`), and the prior the share of matches among all pairs (the expected matches
    among the ``candidates``, of ``all_pairs``)."""
    prior = random_pair_prior(model, candidates, all_pairs)
    u = u_from_sample(u_patterns, u_counts, model, prior)
    return FSModel(m=model.m, u=u, prior=prior, source=model.source, iterations=model.iterations,
                   pairs=model.pairs, log=list(model.log), u_source="random pairs", u_pairs=int(u_counts.sum()),
                   candidate_prior=model.prior, implausible_problems=list(model.implausible_problems), u_random=u)


def random_pair_prior(model: FSModel, candidates: int, all_pairs: int) -> float:
    """The share of matches among all claim-account pairs: the model's expected matches among the
    ``candidates`` (its prior is their share of matches) over ``all_pairs``."""
    return min(max(model.prior * candidates / max(all_pairs, 1), FLOOR), 0.5)


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
    held: set[str] = set()
    for step in range(1, max_iter + 1):
        iterations = step
        g = match_posterior(patterns, m, u, prior)
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
            if _hold_disagreement(m[c], u[c]):
                held.add(c)
        prior = new_prior
        if delta < tol:
            break
    log = [f"{c}: level 0 (disagreement) pulled above weight 0 by the data; held at 0" for c in sorted(held)]
    return FSModel(m=m, u=u, prior=prior, source="em", iterations=iterations, pairs=int(total), log=log)


def _hold_disagreement(m: dict[int, float], u: dict[int, float]) -> bool:
    """Keep level 0 (disagreement) from weighing for a match: m[0] <= u[0], the other m levels rescaled.

    Without it, EM under conditional independence can settle on a cluster such as "same person,
    another address" and make "different address" evidence of a match (issue 15). Returns whether
    the bound was applied.
    """
    if 0 not in m or m[0] <= u[0]:
        return False
    rest = sum(v for lvl, v in m.items() if lvl != 0)
    scale = (1 - u[0]) / rest if rest > 0 else 0.0
    for lvl in m:
        m[lvl] = u[0] if lvl == 0 else m[lvl] * scale
    return True


def estimate_ecm(
    patterns: np.ndarray, counts: np.ndarray, start: FSModel, max_iter: int = 200, seed: int = 0
) -> FSModel:
    """recordlinkage's ``ECMClassifier`` on the same comparison vectors, returned as an :class:`FSModel`.

    ECM is a naive Bayes EM over categorical features (each level one-hot). Its "jaro" start only
    takes binary features, so it starts from seeded random parameters; the class with the smaller
    prior is taken as the matches. Its probabilities of ``start``'s levels become m and u (a level it
    never saw gets the floor); as in our model, level -1 (missing) then carries no weight. For the
    comparison of estimators in ``perf/linkage_bench.py`` and the ``estimator = "ecm"`` setting.
    """
    import pandas as pd
    from recordlinkage import ECMClassifier

    comps = start.comparisons
    x = pd.DataFrame(np.repeat(patterns, counts.astype(np.int64), axis=0), columns=comps)
    np.random.seed(seed)
    ecm = ECMClassifier(init="random", binarize=None, max_iter=max_iter, atol=1e-4)
    ecm.fit(x)
    algo = ecm.kernel
    prior_of = np.exp(algo.class_log_prior_)
    match = int(np.argmin(prior_of))
    probs = np.exp(algo.feature_log_prob_)
    m: dict[str, dict[int, float]] = {}
    u: dict[str, dict[int, float]] = {}
    col = 0
    for j, c in enumerate(comps):
        classes = [int(lvl) for lvl in algo._binarizers[j].classes_]  # one column per level, in this order
        seen = {lvl: col + k for k, lvl in enumerate(classes)}
        m[c] = {lvl: float(probs[match, seen[lvl]]) if lvl in seen else FLOOR for lvl in start.m[c]}
        u[c] = {lvl: float(probs[1 - match, seen[lvl]]) if lvl in seen else FLOOR for lvl in start.m[c]}
        col += len(classes)
    steps = int(np.atleast_2d(algo._logging_class_log_prior).shape[0] - 1)
    return FSModel(m=m, u=u, prior=float(prior_of[match]), source="ecm", iterations=steps, pairs=int(counts.sum()))
