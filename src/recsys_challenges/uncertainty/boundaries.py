"""Decision boundaries in the (score, uncertainty) plane that maximise recall subject to a precision bound.

Arora, Merugu, Saladi & Rastogi, "Leveraging Uncertainty Estimates To Improve Classifier
Performance", ICLR 2024 (arXiv 2311.11723), sections 4-5. Every function here is pure: it reads
hold-out arrays ``score`` (the mean predicted probability), ``uncertainty`` (its variance) and
``labels`` (0/1) and returns a :class:`Boundary`, which predicts "positive" for a row with score
``s`` and uncertainty ``u`` iff ``s >= thresholds[level(u)]``.

* :func:`single_threshold`: one global score threshold (the score-only baseline).
* :func:`ew_dpmt`: equi-weight binning + dynamic programming over per-level thresholds (EW-DPMT).
* :func:`mist`: isotonic regression of the positivity rate on score within each uncertainty level,
  then one global threshold on the recalibrated score (MIST).
* :class:`Detrender`: the uncertainty's rank within its hold-out score bin, the uncertainty the
  pipeline's boundaries see.

The number of levels and score bins of EW-DPMT and MIST is chosen on the hold-out by
cross-validation in :mod:`.grid_cv`.

The 2-D problem (paper, section 4): with uncertainty levels ``l = 1..L`` and a score threshold
``b_l`` per level, maximise ``recall = sum_l pos_l(b_l) / P`` subject to
``sum_l pos_l(b_l) >= rho * sum_l n_l(b_l)``, where ``pos_l(b)`` and ``n_l(b)`` count the positives
and rows of level ``l`` with score ``>= b``. With arbitrary bin sizes this is NP-hard (a
subset-sum reduction); with equi-weight bins it is solved exactly by the DP of :func:`ew_dpmt`.

Edge cases, with the results they give:

* no selection meets the bound on the hold-out: ``Boundary.feasible`` is False and every threshold
  is ``+inf`` (nothing is predicted positive, recall 0);
* a level whose selected bins would only add negatives (e.g. an all-negative level) gets
  threshold ``+inf`` (nothing selected in that level); a level selected whole gets ``-inf``;
* ties: rows with equal scores are never split by a threshold (single: cuts only between distinct
  scores; bins: edges are score values, so tied rows of a level share a bin);
* float rounding: "precision >= rho" is tested as ``positives >= rho * rows * (1 - 1e-9)`` so that
  a precision exactly at the bound (3 of 5 at rho = 0.6) counts as meeting it.

Every method takes a ``confidence``: with it, a selection meets the bound only when the one-sided
Wilson lower confidence bound of its hold-out precision does (:func:`wilson_lower`), so that the
chosen boundary keeps its precision on new data; ``None`` tests the hold-out precision itself (the
noise-free ceiling, where ``labels`` are expected positives in [0, 1] rather than 0/1 labels).
The uncertainty the methods see may be any monotone per-row value; the pipeline passes the rank of
the uncertainty within its hold-out score bin (:class:`Detrender`), which removes the score trend of
the uncertainty so that levels do not collapse into score strata.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy.stats import norm
from sklearn.isotonic import isotonic_regression

PRECISION_SLACK = 1e-9


def wilson_lower(positives: np.ndarray, rows: np.ndarray, confidence: float) -> np.ndarray:
    """One-sided Wilson score lower bound of the rate ``positives / rows`` at ``confidence`` (0 where rows = 0).

    ``(p + z^2 / 2n - z sqrt(p (1 - p) / n + z^2 / 4n^2)) / (1 + z^2 / n)`` with ``z`` the
    ``confidence`` quantile of the standard normal (Wilson, JASA 1927).
    """
    k, n = np.asarray(positives, dtype=np.float64), np.asarray(rows, dtype=np.float64)
    z = float(norm.ppf(confidence))
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n
        centre = p + z * z / (2 * n)
        spread = z * np.sqrt(np.maximum(p * (1 - p) / n, 0.0) + z * z / (4 * n * n))
        lower = (centre - spread) / (1 + z * z / n)
    return np.where(n > 0, np.nan_to_num(lower, nan=0.0), 0.0)


def meets_bound(positives: np.ndarray, rows: np.ndarray, bound: float, confidence: float | None = None) -> np.ndarray:
    """Whether a selection of ``rows`` rows with ``positives`` positives has precision >= ``bound``
    (with ``confidence``: whether its Wilson lower confidence bound has)."""
    if confidence is None:
        return np.asarray(positives) >= bound * np.asarray(rows) * (1 - PRECISION_SLACK)
    return wilson_lower(positives, rows, confidence) >= bound * (1 - PRECISION_SLACK)


def check_inputs(score: np.ndarray, labels: np.ndarray, uncertainty: np.ndarray | None = None) -> None:
    """Raise ValueError unless the hold-out arrays are 1-D, finite, of one shape, non-empty, with
    labels in [0, 1]."""
    arrays = {"score": score, "labels": labels} | ({} if uncertainty is None else {"uncertainty": uncertainty})
    for name, array in arrays.items():
        if array.ndim != 1 or array.shape != score.shape:
            raise ValueError(f"{name} must be 1-D with the shape of score {score.shape}, got {array.shape}")
        if not np.isfinite(array).all():
            raise ValueError(f"{name} has non-finite values")
    if score.size == 0:
        raise ValueError("no hold-out rows to choose a boundary on")
    if not ((labels >= 0) & (labels <= 1)).all():
        raise ValueError("labels must be 0/1 labels or expected positives in [0, 1]")


def uncertainty_levels(level_edges: np.ndarray, uncertainty: np.ndarray) -> np.ndarray:
    """``(N,)`` level of each uncertainty: the number of the increasing ``level_edges`` ``<= u``
    (level 0 is the least uncertain)."""
    return np.searchsorted(level_edges, uncertainty, side="right")


def check_bound(bound: float) -> None:
    """Raise ValueError unless the precision bound is in (0, 1]."""
    if not 0.0 < bound <= 1.0:
        raise ValueError(f"precision bound must be in (0, 1], got {bound}")


@dataclass(frozen=True)
class Boundary:
    """A 2-D decision boundary: positive iff ``score >= thresholds[level(uncertainty)]``.

    Attributes:
        level_edges: ``(L - 1,)`` increasing interior uncertainty edges; ``level(u)`` is the number
            of edges ``<= u`` (so level 0 is the least uncertain). Empty for a single threshold.
        thresholds: ``(L,)`` score threshold per level; ``+inf`` selects nothing, ``-inf`` all.
        feasible: False when no non-empty selection met the precision bound on the hold-out.
    """

    level_edges: np.ndarray
    thresholds: np.ndarray
    feasible: bool

    def levels(self, uncertainty: np.ndarray) -> np.ndarray:
        """``(N,)`` level index of each uncertainty value."""
        return uncertainty_levels(self.level_edges, uncertainty)

    def predict(self, score: np.ndarray, uncertainty: np.ndarray) -> np.ndarray:
        """``(N,)`` bool: the rows predicted positive."""
        return self.predict_at_levels(score, self.levels(uncertainty))

    def predict_at_levels(self, score: np.ndarray, level: np.ndarray) -> np.ndarray:
        """:meth:`predict` for rows whose :meth:`levels` are known (boundaries sharing level edges)."""
        return np.asarray(score) >= self.thresholds[level]


@dataclass(frozen=True)
class Ranking:
    """Items (rows, or bins weighted by their row counts) ranked by decreasing key, with the
    cumulative positives and rows of every prefix: one sort that :meth:`cuts` reads for any bound."""

    ranked: np.ndarray  # (n,) keys, decreasing
    cum_positives: np.ndarray  # (n,)
    cum_rows: np.ndarray  # (n,)
    group_end: np.ndarray  # (n,) bool: last item of each run of equal keys

    @classmethod
    def of(cls, keys: np.ndarray, positives: np.ndarray, rows: np.ndarray) -> Ranking:
        order = np.argsort(-keys, kind="stable")
        ranked = keys[order]
        return cls(ranked, np.cumsum(positives[order]), np.cumsum(rows[order]),
                   np.append(ranked[1:] != ranked[:-1], True))

    def cuts(self, bounds: Sequence[float], confidence: float | None) -> list[float | None]:
        """Per bound, the threshold ``t`` maximising the positives of ``{keys >= t}`` subject to
        precision >= bound; a cut falls only between distinct keys. Among cuts with the most
        positives the one with the fewest rows (the highest threshold) wins. None where no
        non-empty selection meets the bound."""
        cuts: list[float | None] = []
        for bound in bounds:
            ok = self.group_end & (self.cum_rows > 0) & meets_bound(self.cum_positives, self.cum_rows, bound, confidence)
            if not ok.any():
                cuts.append(None)
                continue
            best = self.cum_positives[ok].max()
            # cumulative counts are non-decreasing, so the first ok cut with the most positives has the fewest rows
            cuts.append(float(self.ranked[np.flatnonzero(ok & (self.cum_positives == best))[0]]))
        return cuts

    def threshold(self, bound: float, confidence: float | None) -> Boundary:
        """The one-level boundary ``key >= t`` at the best cut for ``bound`` (nothing selected,
        infeasible, where no cut meets it): the single threshold when the keys are the scores."""
        check_bound(bound)
        cut = self.cuts([bound], confidence)[0]
        return Boundary(level_edges=np.empty(0), thresholds=np.array([np.inf if cut is None else cut]), feasible=cut is not None)


def score_ranking(score: np.ndarray, labels: np.ndarray) -> Ranking:
    """The rows ranked by score: what :func:`single_threshold` cuts."""
    score, labels = np.asarray(score, dtype=np.float64), np.asarray(labels)
    check_inputs(score, labels)
    return Ranking.of(score, labels.astype(np.float64), np.ones(score.size, dtype=np.int64))


def single_threshold(score: np.ndarray, labels: np.ndarray, bound: float, confidence: float | None = None) -> Boundary:
    """The score-only baseline: one threshold ``t`` on ``score`` maximising recall s.t. precision >= bound.

    O(N log N) (one sort). Ties are kept together: a threshold never separates equal scores.
    """
    return score_ranking(score, labels).threshold(bound, confidence)


@dataclass(frozen=True)
class Binning:
    """Equi-weight 2-D bins of a hold-out set (paper, section 5.2).

    ``L`` uncertainty levels cut at quantiles of the uncertainty, then ``B`` score bins per level cut
    at quantiles of the scores of that level, so every bin holds about ``N / (L B)`` rows.

    Attributes:
        level_edges: ``(L - 1,)`` interior uncertainty edges (level of ``u`` = number of edges ``<= u``).
        score_edges: ``(L, B - 1)`` interior score edges per level (bin of ``s`` in level ``l`` =
            number of ``score_edges[l]`` ``<= s``); ``+inf`` for a level without rows.
        rows: ``(L, B)`` rows per bin.
        positives: ``(L, B)`` positives per bin.
    """

    level_edges: np.ndarray
    score_edges: np.ndarray
    rows: np.ndarray
    positives: np.ndarray

    @property
    def shape(self) -> tuple[int, int]:
        return self.rows.shape

    def top(self, counts: np.ndarray) -> np.ndarray:
        """``(L, B + 1)`` cumulative ``counts`` of the top ``j`` score bins of each level, ``j = 0..B``."""
        return np.concatenate(
            [np.zeros((counts.shape[0], 1), counts.dtype), np.cumsum(counts[:, ::-1], axis=1)], axis=1
        )

    def boundary(self, top_bins: np.ndarray, feasible: bool) -> Boundary:
        """The boundary selecting the ``top_bins[l]`` highest score bins of each level ``l``."""
        levels, bins = self.shape
        top_bins = np.asarray(top_bins, dtype=np.int64)
        # top j bins of level l = bins >= B - j = scores >= score_edges[l, B - j - 1]
        padded = np.concatenate([np.full((levels, 1), -np.inf), self.score_edges, np.full((levels, 1), np.inf)], axis=1)
        thresholds = padded[np.arange(levels), bins - top_bins]
        return Boundary(level_edges=self.level_edges.copy(), thresholds=thresholds, feasible=feasible)

    def cells(self, score: np.ndarray, uncertainty: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(level, bin)`` index arrays of each row."""
        levels = uncertainty_levels(self.level_edges, uncertainty)
        bins = np.zeros(len(score), dtype=np.int64)
        for level in np.unique(levels):
            mask = levels == level
            bins[mask] = np.searchsorted(self.score_edges[level], score[mask], side="right")
        return levels, bins


def _quantile_edges(sorted_values: np.ndarray, starts: np.ndarray, sizes: np.ndarray, parts: int) -> np.ndarray:
    """``(G, parts - 1)`` interior quantiles (numpy's "linear" rule) of ``G`` sorted segments of one array."""
    q = np.arange(1, parts) / parts  # (parts - 1,)
    position = starts[:, None] + q[None, :] * np.maximum(sizes - 1, 0)[:, None]  # (G, parts - 1)
    last = len(sorted_values) - 1
    low = np.clip(np.floor(position).astype(np.int64), 0, last)
    high = np.clip(np.minimum(low + 1, (starts + sizes - 1)[:, None]), 0, last)
    low_value, high_value = sorted_values[low], sorted_values[high]
    edges = low_value + (position - low) * (high_value - low_value)
    return np.where(sizes[:, None] > 0, edges, np.inf)


def bins_per_level(rows: int, levels: int, rows_per_bin: int, max_bins: int) -> int:
    """Score bins per uncertainty level: about ``rows_per_bin`` of ``rows`` rows per bin, 1 to ``max_bins``."""
    return int(np.clip(rows // (levels * rows_per_bin), 1, max_bins))


@dataclass(frozen=True)
class LevelSort:
    """A hold-out set's rows cut into uncertainty levels and sorted by (level, score): the part of
    :func:`equi_weight_binning` that does not depend on the score bins, so that grids with the same
    levels and other bin counts share it (:func:`~.grid_cv.held_fold_selections`).

    Attributes:
        level_edges: ``(L - 1,)`` interior uncertainty edges (value quantiles).
        sorted_score: ``(N,)`` the scores in (level, score) order.
        cum_positives: ``(N + 1,)`` positives among the first ``i`` rows of that order.
        sizes, starts: ``(L,)`` rows of each level and where they begin in that order.
    """

    level_edges: np.ndarray
    sorted_score: np.ndarray
    cum_positives: np.ndarray
    sizes: np.ndarray
    starts: np.ndarray

    @classmethod
    def of(cls, score: np.ndarray, uncertainty: np.ndarray, labels: np.ndarray, levels: int) -> LevelSort:
        """Cost: one O(N log N) stable sort by score (O(N) when ``score`` is already sorted, as
        :func:`~.grid_cv.choose_grid` passes it), then an O(N) stable sort by level."""
        score = np.asarray(score, dtype=np.float64)
        uncertainty = np.asarray(uncertainty, dtype=np.float64)
        labels = np.asarray(labels)
        check_inputs(score, labels, uncertainty)
        if levels < 1:
            raise ValueError(f"need at least one level, got levels={levels}")
        level_edges = np.quantile(uncertainty, np.arange(1, levels) / levels) if levels > 1 else np.empty(0)
        level = uncertainty_levels(level_edges, uncertainty)  # (N,)
        by_score = np.argsort(score, kind="stable")  # (N,)
        # stable by level after stable by score = lexicographic (level, score); small ints sort in O(N)
        order = by_score[np.argsort(level[by_score].astype(np.min_scalar_type(levels)), kind="stable")]  # (N,)
        sizes = np.bincount(level, minlength=levels)  # (L,)
        return cls(
            level_edges=level_edges,
            sorted_score=score[order],
            cum_positives=np.concatenate([[0.0], np.cumsum(labels[order], dtype=np.float64)]),
            sizes=sizes,
            starts=np.concatenate([[0], np.cumsum(sizes)[:-1]]),
        )

    def binning(self, bins: int) -> Binning:
        """The :class:`Binning` with ``bins`` equi-weight score bins per level."""
        if bins < 1:
            raise ValueError(f"need at least one bin, got bins={bins}")
        levels = self.sizes.size
        score_edges = _quantile_edges(self.sorted_score, self.starts, self.sizes, bins)  # (L, B - 1)
        cuts = np.empty((levels, bins + 1), dtype=np.int64)  # row positions where each bin starts, plus the end
        for lvl in range(levels):
            start, size = self.starts[lvl], self.sizes[lvl]
            segment = self.sorted_score[start : start + size]
            inner = np.searchsorted(segment, score_edges[lvl], side="left") if size else np.zeros(bins - 1, np.int64)
            cuts[lvl] = start + np.concatenate([[0], inner, [size]])
        return Binning(
            level_edges=self.level_edges,
            score_edges=score_edges,
            rows=np.diff(cuts, axis=1),
            positives=np.diff(self.cum_positives[cuts], axis=1),
        )


def equi_weight_binning(
    score: np.ndarray, uncertainty: np.ndarray, labels: np.ndarray, levels: int, bins: int
) -> Binning:
    """Bin a hold-out set into ``levels`` uncertainty levels x ``bins`` equi-weight score bins
    (:class:`LevelSort`, then its :meth:`~LevelSort.binning`).

    Edges are value quantiles, so tied scores (or uncertainties) share a bin and a bin can be
    smaller or empty when ties are heavy.
    """
    return LevelSort.of(score, uncertainty, labels, levels).binning(bins)


def _max_selected_bins(binning: Binning, bound: float) -> int:
    """An upper bound on the bins any selection meeting ``bound`` can hold (prunes the DP, exactly).

    A feasible selection has ``rows <= P / rho`` (its positives are at most the ``P`` positives of
    the hold-out), so it holds at most ``P / (rho w_min)`` non-empty bins, plus any empty ones.
    """
    levels, bins = binning.shape
    nonempty = binning.rows[binning.rows > 0]
    if nonempty.size == 0:
        return 0
    empty = levels * bins - nonempty.size
    most_rows = binning.positives.sum() / (bound * (1 - PRECISION_SLACK))
    return int(min(levels * bins, np.floor(most_rows / nonempty.min()) + empty))


def ew_dpmt(binning: Binning, bound: float, confidence: float | None = None) -> Boundary:
    """EW-DPMT: the maximum-recall per-level thresholds over equi-weight bins (paper, section 5.2).

    Choosing a threshold in level ``l`` means taking its top ``j_l`` score bins. Let
    ``P_l(j)`` be the positives in the top ``j`` bins of level ``l``. When every bin holds ``w``
    rows, a selection of ``K = sum_l j_l`` bins has ``w K`` rows, so for a fixed ``K`` the
    selection with the most positives has both the highest recall and the highest precision. The
    DP computes, for every ``K``, the most positives over the first ``l`` levels:

        F_0(0) = 0,  F_0(K > 0) = -inf
        F_l(K) = max_{0 <= j <= min(B, K)}  F_{l-1}(K - j) + P_l(j),      K = 0..K_max

    and the answer is the largest ``F_L(K)`` with ``F_L(K) >= rho w K``. ``K`` runs up to
    ``K_max = min(L B, P / (rho w))`` (no selection of more bins can meet the bound, ``P`` = all
    hold-out positives), so the time is O(L . K_max . min(B, K_max)) <= O(L^2 B^2) (10 levels x 100
    bins: at most 10^6 max-plus steps, vectorised per level) and the memory O(L . K_max) for the
    arg-max table used to read the thresholds back.

    The paper proves the general (unequal bin) problem NP-hard; the DP is exact for equal bins.
    Value-quantile bins can differ by a row or, with heavy ties, more, so the precision of each
    ``K``'s arg-max selection is checked with the actual row counts and the best selection that
    truly meets the bound is returned (exactly the optimum when the bins are equal).
    """
    return ew_dpmt_bounds(binning, [bound], confidence)[0]


def ew_dpmt_bounds(binning: Binning, bounds: Sequence[float], confidence: float | None = None) -> list[Boundary]:
    """:func:`ew_dpmt` at each of ``bounds``, from one DP: the table up to the loosest bound's
    ``K_max`` holds each tighter bound's, value for value (``F_l(K)`` reads only ``K' <= K``, and a
    narrower window adds only unreachable ``-inf`` columns), so the boundaries are those of one
    :func:`ew_dpmt` per bound, for the cost of the largest."""
    for bound in bounds:
        check_bound(bound)
    levels, bins = binning.shape
    top_positives = binning.top(binning.positives)  # (L, B + 1)
    top_rows = binning.top(binning.rows)  # (L, B + 1)
    bound_k_max = [_max_selected_bins(binning, bound) for bound in bounds]
    k_max = max(bound_k_max)
    widest = min(bins, k_max)
    k = np.arange(k_max + 1)  # (K + 1,)
    previous = k[:, None] - np.arange(widest + 1)[None, :]  # (K + 1, J + 1): K - j
    reachable = previous >= 0
    best = np.full(k_max + 1, -np.inf)
    best[0] = 0.0
    choice = np.zeros((levels, k_max + 1), dtype=np.int64)
    for level in range(levels):
        gain = top_positives[level, : widest + 1].astype(np.float64)[None, :]  # (1, J + 1)
        totals = np.where(reachable, best[np.maximum(previous, 0)] + gain, -np.inf)  # (K + 1, J + 1)
        choice[level] = np.argmax(totals, axis=1)
        best = totals[k, choice[level]]
    # read back every K's selection at once: its bins per level, positives and rows
    remaining = k.copy()
    picked = np.zeros((levels, k_max + 1), dtype=np.int64)
    positives = np.zeros(k_max + 1, dtype=np.float64)
    rows = np.zeros(k_max + 1, dtype=np.int64)
    for level in reversed(range(levels)):
        j = choice[level, remaining]
        picked[level] = j
        positives += top_positives[level, j]
        rows += top_rows[level, j]
        remaining -= j
    boundaries = []
    for bound, bound_k in zip(bounds, bound_k_max, strict=True):
        window = slice(0, bound_k + 1)  # K = 0..K_max of this bound
        bound_positives, bound_rows = positives[window], rows[window]
        ok = np.isfinite(best[window]) & (bound_rows > 0) & meets_bound(bound_positives, bound_rows, bound, confidence)
        if not ok.any():
            boundaries.append(binning.boundary(np.zeros(levels, dtype=np.int64), feasible=False))
            continue
        most = bound_positives[ok].max()
        tied = np.flatnonzero(ok & (bound_positives == most))
        winner = tied[np.argmin(bound_rows[tied])]
        boundaries.append(binning.boundary(picked[:, winner], feasible=True))
    return boundaries


def isotonic_rates(binning: Binning) -> np.ndarray:
    """``(L, B)`` positivity rate per bin, made non-decreasing in score within each level.

    Weighted isotonic regression (pool adjacent violators, weights = rows per bin) of each
    level's bin positivity rates on bin order: MIST's recalibration (paper, section 5.3). Empty
    bins get a negligible weight, so they take their neighbours' pooled rate.
    """
    rows = binning.rows.astype(np.float64)
    rates = np.divide(binning.positives, rows, out=np.zeros_like(rows), where=rows > 0)
    weights = np.where(rows > 0, rows, 1e-12)
    return np.stack(
        [isotonic_regression(rates[l], sample_weight=weights[l], increasing=True) for l in range(len(rows))]
    )


def recalibrated_scores(binning: Binning, rates: np.ndarray, score: np.ndarray, uncertainty: np.ndarray) -> np.ndarray:
    """``(N,)`` MIST's recalibrated score of each row: the isotonic rate of its (level, bin)."""
    levels, bins = binning.cells(np.asarray(score, dtype=np.float64), np.asarray(uncertainty, dtype=np.float64))
    return rates[levels, bins]


def mist(binning: Binning, rates: np.ndarray, bound: float, confidence: float | None = None) -> Boundary:
    """MIST: one global threshold on the per-level isotonic recalibrated score (paper, section 5.3).

    Bins are ranked by their recalibrated rate (``rates`` from :func:`isotonic_rates`) and the
    maximum-recall cut meeting the bound is taken, as :func:`single_threshold` does on rows. Since
    the rates are non-decreasing in score within a level, the bins above the cut are the top bins
    of each level: a per-level score threshold. O(LB log LB) after binning.
    """
    check_bound(bound)
    cut = Ranking.of(rates.ravel(), binning.positives.ravel(), binning.rows.ravel()).cuts([bound], confidence)[0]
    if cut is None:
        return binning.boundary(np.zeros(binning.shape[0], dtype=np.int64), feasible=False)
    return binning.boundary((rates >= cut).sum(axis=1), feasible=True)


@dataclass(frozen=True)
class Detrender:
    """The uncertainty with its score trend removed: its rank within the row's hold-out score bin.

    Fitted on a hold-out split (:func:`fit_detrender`): ``score_edges (D - 1,)`` interior score
    quantiles, and per score bin the sorted hold-out uncertainties. ``transform`` maps any row to
    the share of its score bin's hold-out rows with uncertainty <= its own, in [0, 1] (0.5 for an
    empty bin), so a level cut on it compares rows of nearly the same score.
    """

    score_edges: np.ndarray
    sorted_uncertainty: tuple[np.ndarray, ...]

    def transform(self, score: np.ndarray, uncertainty: np.ndarray) -> np.ndarray:
        score_bin = np.searchsorted(self.score_edges, score, side="right")  # (N,)
        ranked = np.full(len(score), 0.5)
        for b, values in enumerate(self.sorted_uncertainty):
            mask = score_bin == b
            if values.size and mask.any():
                ranked[mask] = np.searchsorted(values, uncertainty[mask], side="right") / values.size
        return ranked


def fit_detrender(score: np.ndarray, uncertainty: np.ndarray, bins: int) -> Detrender:
    """:class:`Detrender` of ``bins`` score quantile bins of a hold-out split (1 bin: the uncertainty's ECDF)."""
    score, uncertainty = np.asarray(score, dtype=np.float64), np.asarray(uncertainty, dtype=np.float64)
    edges = np.quantile(score, np.arange(1, bins) / bins) if bins > 1 else np.empty(0)
    score_bin = np.searchsorted(edges, score, side="right")
    return Detrender(edges, tuple(np.sort(uncertainty[score_bin == b]) for b in range(bins)))


@dataclass(frozen=True)
class HoldOut:
    """A hold-out split prepared once for every precision bound: arrays, bins, MIST's rates, and the
    confidence of the precision test (None: the point precision)."""

    score: np.ndarray
    uncertainty: np.ndarray
    labels: np.ndarray
    binning: Binning
    rates: np.ndarray
    confidence: float | None

    @cached_property
    def ranking(self) -> Ranking:
        """The rows ranked by score, sorted once for the single threshold at every bound."""
        return score_ranking(self.score, self.labels)

    def single_threshold(self, bound: float) -> Boundary:
        """:func:`single_threshold` on this hold-out (its sort shared by the bounds)."""
        return self.ranking.threshold(bound, self.confidence)

    @classmethod
    def prepare(
        cls,
        score: np.ndarray,
        uncertainty: np.ndarray,
        labels: np.ndarray,
        levels: int,
        bins: int,
        confidence: float | None = None,
    ) -> HoldOut:
        binning = equi_weight_binning(score, uncertainty, labels, levels, bins)
        return cls(
            np.asarray(score), np.asarray(uncertainty), np.asarray(labels), binning, isotonic_rates(binning), confidence
        )


# method name -> boundary chosen on a hold-out for a precision bound
METHODS: dict[str, Callable[[HoldOut, float], Boundary]] = {
    "single": lambda h, bound: h.single_threshold(bound),
    "ew_dpmt": lambda h, bound: ew_dpmt(h.binning, bound, h.confidence),
    "mist": lambda h, bound: mist(h.binning, h.rates, bound, h.confidence),
}
