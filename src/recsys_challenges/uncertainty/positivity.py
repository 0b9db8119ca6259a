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
  rows at the same score. C6 holds when it is negative. Fitted on all rows, and on the upper half
  of the score bins only (where high-precision boundaries are drawn), since shrinkage towards the
  training prior can raise the rate of uncertain rows at low scores while it lowers it at high ones.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats
from scipy.special import logit
from sklearn.linear_model import LogisticRegression


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


def c6_slope(score: np.ndarray, uncertainty: np.ndarray, labels: np.ndarray, bins: int, from_bin: int = 0) -> float:
    """Log-odds change from the least to the most uncertain rows at a fixed score (module docstring).

    Design: one-hot score bin (intercepts), ``logit(score)``, within-bin uncertainty quantile; a
    nearly unpenalised fit (C = 1e4) keeps coefficients finite where a bin has no positive. Only
    rows of score bins ``>= from_bin`` enter. NaN when those rows are all of one class.
    """
    edges = score_bin_edges(score, bins)
    score_bin, quantile = assign_cells(score, uncertainty, edges)
    kept = score_bin >= from_bin
    if np.unique(labels[kept]).size < 2:
        return float("nan")
    clipped = np.clip(score[kept], 1e-7, 1 - 1e-7)
    design = np.column_stack([np.eye(bins)[score_bin[kept]], logit(clipped), quantile[kept]])  # (N, S + 2)
    model = LogisticRegression(C=1e4, fit_intercept=False, max_iter=2000, tol=1e-8)
    model.fit(design, labels[kept])
    return float(model.coef_[0, -1])
