"""Claim C6: at a fixed score, the empirical positivity rate falls as uncertainty grows.

Arora et al. (ICLR 2024, arXiv 2311.11723), section 3 and figure 1: the test positivity rate
depends on both the score and the uncertainty. Measured here on a split with:

* score bins of equal "share of rows + share of expected positives" (a row weighs
  ``1 / N + score / sum(score)``): half the bins spread over the rows, half over where the positives
  are expected, so a rare positive class (KDD Cup: 0.9%) still gets bins of its own; label-free;
* within each score bin, ``levels`` uncertainty quantile levels (the uncertainty's rank within its
  score bin), so the levels compare rows of (nearly) the same score;
* per cell: rows, positives, rate and its exact (Clopper-Pearson) binomial 95% interval;
* :func:`c6_slope`: the uncertainty coefficient of a logistic regression of the label on score-bin
  intercepts, ``logit(score)`` (the score left within a bin) and the within-bin uncertainty
  quantile in [0, 1]: the change in log-odds of being positive from the least to the most uncertain
  rows at the same score. C6 holds when it is negative. The headline is fitted on the upper half
  of the score bins only (where high-precision boundaries are drawn, and where the paper's claim
  lives), since shrinkage towards the training prior can raise the rate of uncertain rows at low
  scores while it lowers it at high ones; the all-rows slope is kept as a secondary number.
* :func:`c6_statistic`: that slope pooled over seeds with a group-bootstrap CI, its minimum
  detectable effect, and an outcome that says "inconclusive" when the data cannot tell.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats
from scipy.special import expit, logit

from recsys_challenges.stats import minimum_detectable_effect


def clopper_pearson(positives: np.ndarray, rows: np.ndarray, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Exact binomial interval of the rate ``positives / rows`` (``[0, 1]`` where ``rows == 0``)."""
    k, n = np.asarray(positives, dtype=np.float64), np.asarray(rows, dtype=np.float64)
    alpha = 1 - level
    with np.errstate(invalid="ignore", divide="ignore"):
        low = np.where(k > 0, stats.beta.ppf(alpha / 2, k, n - k + 1), 0.0)
        high = np.where(k < n, stats.beta.ppf(1 - alpha / 2, k + 1, n - k), 1.0)
    return np.nan_to_num(low, nan=0.0), np.nan_to_num(high, nan=1.0)


def score_bin_edges(score: np.ndarray, bins: int) -> np.ndarray:
    """``(bins - 1,)`` score edges: bins of equal weight, a row weighing ``1 / N + score / sum(score)``."""
    ranked = np.sort(np.asarray(score, dtype=np.float64))
    weight = 1.0 / len(ranked) + ranked / max(ranked.sum(), np.finfo(float).tiny)
    mass = np.cumsum(weight)
    cut = np.searchsorted(mass, mass[-1] * np.arange(1, bins) / bins, side="left")
    return ranked[np.minimum(cut, len(ranked) - 1)]


@dataclass(frozen=True)
class PositivityGrid:
    """Rows, positives and means per (score bin, uncertainty level) cell: arrays ``(S, L)``."""

    score_edges: np.ndarray
    rows: np.ndarray
    positives: np.ndarray
    mean_score: np.ndarray
    mean_uncertainty: np.ndarray

    @property
    def rate(self) -> np.ndarray:
        return np.divide(self.positives, self.rows, out=np.full(self.rows.shape, np.nan), where=self.rows > 0)

    def interval(self) -> tuple[np.ndarray, np.ndarray]:
        return clopper_pearson(self.positives, self.rows)

    def decreasing_fraction(self) -> float:
        """Share of score bins (with a positive) whose least uncertain level has a higher rate than the most."""
        rate = self.rate
        informative = (self.positives.sum(axis=1) > 0) & (self.rows[:, 0] > 0) & (self.rows[:, -1] > 0)
        if not informative.any():
            return float("nan")
        return float((rate[informative, 0] > rate[informative, -1]).mean())


def assign_cells(score: np.ndarray, uncertainty: np.ndarray, edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Score bin ``(N,)`` of each row and its uncertainty quantile within that bin ``(N,)`` in (0, 1)."""
    score_bin = np.searchsorted(edges, score, side="right")
    order = np.lexsort((uncertainty, score_bin))
    sizes = np.bincount(score_bin, minlength=len(edges) + 1)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    position = np.empty(len(score), dtype=np.float64)
    position[order] = np.arange(len(score)) - np.repeat(starts, sizes)  # rank within the score bin
    quantile = (position + 0.5) / sizes[score_bin]
    return score_bin, quantile


def positivity_grid(
    score: np.ndarray, uncertainty: np.ndarray, labels: np.ndarray, bins: int, levels: int
) -> PositivityGrid:
    """Cells of equal-expected-positive score bins x within-bin uncertainty quantile levels."""
    edges = score_bin_edges(score, bins)
    score_bin, quantile = assign_cells(score, uncertainty, edges)
    level = np.minimum((quantile * levels).astype(np.int64), levels - 1)
    cell = score_bin * levels + level
    shape = (bins, levels)

    def total(weights: np.ndarray | None) -> np.ndarray:
        return np.bincount(cell, weights=weights, minlength=bins * levels).reshape(shape)

    rows = total(None).astype(np.int64)
    safe_rows = np.maximum(rows, 1)
    return PositivityGrid(
        score_edges=edges,
        rows=rows,
        positives=total(labels.astype(np.float64)).astype(np.int64),
        mean_score=total(score) / safe_rows,
        mean_uncertainty=total(uncertainty) / safe_rows,
    )


def fit_logistic(design: np.ndarray, target: np.ndarray, ridge: float = 1e-6, iterations: int = 100) -> np.ndarray:
    """Maximum-likelihood logistic regression by Newton-Raphson: ``(k,)`` coefficients.

    ``design (N, k)``, ``target (N,)`` in [0, 1] (labels, or true probabilities for the noise-free
    slope); a tiny ridge keeps a bin without positives finite. Stops when the step is < 1e-10.
    """
    coef = np.zeros(design.shape[1])
    for _ in range(iterations):
        p = expit(design @ coef)  # (N,)
        gradient = design.T @ (target - p) - ridge * coef  # (k,)
        hessian = (design * (p * (1 - p))[:, None]).T @ design + ridge * np.eye(len(coef))  # (k, k)
        step = np.linalg.solve(hessian, gradient)
        coef += step
        if np.abs(step).max() < 1e-10:
            break
    return coef


def c6_design(
    score: np.ndarray, uncertainty: np.ndarray, bins: int, from_bin: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """The C6 regression's design over the rows of score bins ``>= from_bin``: ``(design (n, k), kept (N,))``.

    Columns: one-hot score bin (intercepts of the kept bins), ``logit(score)``, and last the
    within-bin uncertainty quantile in (0, 1).
    """
    edges = score_bin_edges(score, bins)
    score_bin, quantile = assign_cells(score, uncertainty, edges)
    kept = score_bin >= from_bin
    clipped = np.clip(score[kept], 1e-7, 1 - 1e-7)
    design = np.column_stack([np.eye(bins - from_bin)[score_bin[kept] - from_bin], logit(clipped), quantile[kept]])
    return design, kept


def c6_slope(score: np.ndarray, uncertainty: np.ndarray, target: np.ndarray, bins: int, from_bin: int = 0) -> float:
    """Log-odds change from the least to the most uncertain rows at a fixed score (module docstring).

    The uncertainty coefficient of :func:`fit_logistic` on :func:`c6_design`; ``target`` is the 0/1
    label, or the true probability (the noise-free slope of a simulator). NaN when the kept rows'
    targets are all 0 or all 1.
    """
    design, kept = c6_design(score, uncertainty, bins, from_bin)
    target = np.asarray(target, dtype=np.float64)[kept]
    if target.size == 0 or target.min() == target.max():
        return float("nan")
    return float(fit_logistic(design, target)[-1])


def c6_statistic(
    scores: np.ndarray,
    uncertainties: np.ndarray,
    labels: np.ndarray,
    groups: np.ndarray,
    bins: int,
    from_bin: int,
    effect: float,
    resamples: int,
    seed: int,
    max_units: int = 2000,
) -> dict:
    """The C6 slope pooled over seeds, with a group-bootstrap CI and its minimum detectable effect.

    ``scores``, ``uncertainties``: ``(S, N)`` per seed on one test split; ``labels``, ``groups``
    ``(N,)``. Estimate: the mean over seeds of :func:`c6_slope` on score bins ``>= from_bin``.
    CI: percentile bootstrap over ``groups`` (the same resampled groups for every seed, so the
    seeds' shared test rows move together); each resample's slope is the one-step Newton update
    from the full-data fit (Davison & Hinkley 1997, sec. 6.2.5), which costs one weighted sum per
    resample. ``se`` is the bootstrap standard deviation and ``mde = (z_0.975 + z_0.8) se`` the
    slope the test detects with 80% power at the 5% level. Outcome: ``"negative"`` (CI below 0:
    C6 holds), ``"positive"`` (CI above 0), ``"null"`` (CI contains 0 and ``mde <= effect``: an
    effect of the size of interest would have been seen), ``"inconclusive"`` (CI contains 0 and
    ``mde > effect``). The dict is ``mean_ci``-shaped, with ``"ci_method": "group_bootstrap"``.
    """
    labels = np.asarray(labels, dtype=np.float64)
    rng = np.random.default_rng(seed)
    _, unit = np.unique(groups, return_inverse=True)
    units = int(unit.max()) + 1
    if units > max_units:
        unit = rng.permutation(units)[unit] % max_units
        units = max_units
    values, gradients, hessians = [], [], []
    for score, uncertainty in zip(scores, uncertainties, strict=True):
        design, kept = c6_design(score, uncertainty, bins, from_bin)
        target = labels[kept]
        if target.size == 0 or target.min() == target.max():
            return _no_slope(len(scores))
        coef = fit_logistic(design, target)
        p = expit(design @ coef)
        k = design.shape[1]
        # per-unit sums of each row's score (gradient) and information (Hessian) contributions
        kept_unit = unit[kept]
        row_gradient = design * (target - p)[:, None]  # (n, k)
        weight = p * (1 - p)
        gradient = np.stack([np.bincount(kept_unit, row_gradient[:, j], units) for j in range(k)], axis=1)
        hessian = np.stack(
            [np.bincount(kept_unit, design[:, i] * design[:, j] * weight, units) for i in range(k) for j in range(k)],
            axis=1,
        )  # (G, k^2)
        gradients.append(gradient)
        hessians.append(hessian)
        values.append(float(coef[-1]))
    draws = np.empty(resamples)
    for r in range(resamples):
        copies = np.bincount(rng.integers(0, units, units), minlength=units).astype(np.float64)  # (G,)
        slopes = []
        for gradient, hessian, value in zip(gradients, hessians, values, strict=True):
            k = gradient.shape[1]
            step = np.linalg.solve((copies @ hessian).reshape(k, k) + 1e-6 * np.eye(k), copies @ gradient)
            slopes.append(value + step[-1])
        draws[r] = np.mean(slopes)
    low, high = (float(q) for q in np.quantile(draws, [0.025, 0.975]))
    se = float(draws.std(ddof=1))
    mde = minimum_detectable_effect(se)
    if high < 0:
        outcome = "negative"
    elif low > 0:
        outcome = "positive"
    else:
        outcome = "null" if mde <= effect else "inconclusive"
    return {
        "mean": float(np.mean(values)),
        "ci95": [low, high],
        "n": len(values),
        "values": values,
        "ci_method": "group_bootstrap",
        "se": se,
        "mde": mde,
        "effect_of_interest": effect,
        "outcome": outcome,
        "resampling_units": units,
    }


def _no_slope(seeds: int) -> dict:
    return {"mean": None, "ci95": None, "n": seeds, "values": None, "ci_method": "group_bootstrap", "se": None,
            "mde": None, "outcome": "inconclusive", "resampling_units": 0}
