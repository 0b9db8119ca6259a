"""Evaluation of T3: claims C6 and C7 of one dataset from its hold-out and test predictions.

For every estimator (the headline one and each ablation) and every seed (:func:`evaluate_seed`):
the uncertainty's score trend is removed (its rank within a hold-out score bin,
:class:`~.boundaries.Detrender`); for each precision bound the equi-weight grid of EW-DPMT and MIST
(levels x score bins per level) is chosen by cross-validation on that hold-out
(:func:`~recsys_challenges.uncertainty.grid_cv.choose_grid`; the fixed ``levels`` x ``rows_per_bin``
grid where it falls back or CV is off, ``uncertainty.boundaries.cv_candidates`` empty), then
boundaries are chosen on the hold-out split (single threshold, EW-DPMT, MIST:
:data:`~recsys_challenges.uncertainty.boundaries.METHODS`), every one of them required to meet the
bound with the Wilson lower confidence bound of its hold-out precision, and measured once on the
test split (:func:`measure_boundaries`); C6 is measured on the test split. Over the seeds: the
pooled C6 slope and the group-bootstrap CIs of C7's recalls and gains (:func:`c7_section`), and the
dataset's role (:func:`dataset_role`). The result is a :class:`~.results.Metrics` (the layout of
``reports/metrics/uncertainty/<dataset>.json`` is in :mod:`.results`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.special import logit
from scipy.stats import spearmanr
from sklearn.metrics import average_precision_score, roc_auc_score

from recsys_challenges.stats import bootstrap_indices, mean_ci, minimum_detectable_effect, summarise_seeds
from recsys_challenges.uncertainty.boundaries import (
    METHODS,
    Boundary,
    HoldOut,
    bins_per_level,
    fit_detrender,
    meets_bound,
    score_ranking,
)
from recsys_challenges.uncertainty.config import TECHNIQUE, BoundaryParams, EvaluateParams
from recsys_challenges.uncertainty.grid_cv import choose_grid
from recsys_challenges.uncertainty.positivity import c6_slope, c6_statistic, positivity_grid
from recsys_challenges.uncertainty.predictions import load_predictions, prediction_key
from recsys_challenges.uncertainty.results import (
    BoundaryRecord,
    C6Grid,
    C7Result,
    CandidateRecord,
    DataSummary,
    Diagnostics,
    EstimatorResult,
    EvaluationConfig,
    GridRecord,
    Metrics,
    Power,
    Role,
    bound_key,
)
from recsys_challenges.workers import map_jobs

BASELINE = "single"
MIN_CEILING_RECALL = 0.01


def recall_precision(selected: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """Recall and precision of a selection (precision of an empty selection: 1); ``labels`` may be
    expected positives (true probabilities), giving the expected recall and precision."""
    hits = float(labels[selected].sum())
    recall = hits / max(float(labels.sum()), 1e-12)
    precision = hits / selected.sum() if selected.any() else 1.0
    return recall, float(precision)


def grid_bins(rows: int, params: BoundaryParams) -> int:
    """Score bins per level of the fixed (fallback) grid: about ``rows_per_bin`` rows per bin, capped."""
    return bins_per_level(rows, params.levels, params.rows_per_bin, params.max_bins)


def chosen_grids(
    score: np.ndarray, detrended: np.ndarray, labels: np.ndarray, bounds: list[float], params: BoundaryParams, seed: int
) -> list[GridRecord]:
    """Per bound, the grid of EW-DPMT and MIST on a seed's hold-out, chosen by
    :func:`~.grid_cv.choose_grid` (the fixed grid, ``cv`` empty, when ``params.cv_candidates`` is
    empty: ``cv_levels`` or ``cv_rows_per_bin`` empty)."""
    if not params.cv_candidates:
        return [GridRecord(seed, params.levels, grid_bins(len(labels), params), False, []) for _ in bounds]
    choices = choose_grid(
        score,
        detrended,
        labels,
        bounds,
        params.cv_candidates,
        (params.levels, params.rows_per_bin),
        max_bins=params.max_bins,
        folds=params.cv_folds,
        min_positives=params.min_positives_per_bin,
        confidence=params.confidence,
        seed=seed,
    )
    return [
        GridRecord(
            seed,
            choice.levels,
            choice.bins,
            choice.fallback,
            [
                CandidateRecord(c.levels, c.rows_per_bin, c.bins, c.recall, c.top_bin_positives, c.admissible)
                for c in choice.candidates
            ],
        )
        for choice in choices
    ]


def _json_thresholds(boundary: Boundary) -> list[float | str]:
    """The thresholds of a boundary as JSON values: ``+inf`` / ``-inf`` as the strings "inf" / "-inf"."""
    return [float(t) if np.isfinite(t) else ("inf" if t > 0 else "-inf") for t in boundary.thresholds]


def _finite_or_none(values: np.ndarray) -> list:
    """A 2-D array as nested lists, None for non-finite values."""
    return [[float(v) if np.isfinite(v) else None for v in row] for row in values]


def c6_section(
    score: np.ndarray, uncertainty: np.ndarray, labels: np.ndarray, params: EvaluateParams, seed: int
) -> C6Grid:
    """The C6 positivity grid of one seed's test predictions (:func:`~.positivity.positivity_grid`)."""
    grid = positivity_grid(score, uncertainty, labels, params.c6_score_bins, params.c6_levels)
    low, high = grid.interval()
    empty = grid.rows == 0
    return C6Grid(
        seed=seed,
        split="test",
        score_bins=params.c6_score_bins,
        levels=params.c6_levels,
        score_edges=grid.score_edges.tolist(),
        rows=grid.rows.tolist(),
        positives=grid.positives.tolist(),
        rate=_finite_or_none(grid.rate),
        ci95_low=_finite_or_none(np.where(empty, np.nan, low)),
        ci95_high=_finite_or_none(np.where(empty, np.nan, high)),
        mean_score=grid.mean_score.tolist(),
        mean_uncertainty=grid.mean_uncertainty.tolist(),
    )


def classifier_metrics(
    score: np.ndarray, uncertainty: np.ndarray, labels: np.ndarray, params: EvaluateParams
) -> dict[str, float]:
    """One seed's test AUC, average precision, C6 slope (all rows) and share of decreasing score bins.
    (The upper-half C6 slope is pooled over the seeds, :func:`~.positivity.c6_statistic`.)"""
    bins = params.c6_score_bins
    return {
        "test_auc": float(roc_auc_score(labels, score)),
        "test_average_precision": float(average_precision_score(labels, score)),
        "c6_slope": c6_slope(score, uncertainty, labels, bins),
        "c6_decreasing_fraction": positivity_grid(
            score, uncertainty, labels, bins, params.c6_levels
        ).decreasing_fraction(),
    }


def log_odds_error(score: np.ndarray, truth: np.ndarray, negative_keep: float) -> np.ndarray:
    """``|logit(score) + log(negative_keep) - logit(truth)|``: the score's error in log-odds after the
    prior correction for training negatives kept with probability ``negative_keep`` (King & Zeng 2001)."""
    clip = 1e-9
    return np.abs(logit(np.clip(score, clip, 1 - clip)) + np.log(negative_keep) - logit(np.clip(truth, clip, 1 - clip)))


def noise_free_ceiling(
    score: np.ndarray, detrended: np.ndarray, truth: np.ndarray, bounds: list[float], levels: int, bins: int
) -> list[float]:
    """Per bound, EW-DPMT's expected recall over the single threshold's, minus 1, both chosen on the
    split itself with the true probabilities as expected positives and the point precision: the gain
    the uncertainty allows when nothing is left to chance (NaN where the single threshold's expected
    recall is below ``MIN_CEILING_RECALL``: a ratio to almost nothing measures nothing)."""
    oracle = HoldOut.prepare(score, detrended, truth, levels, bins, confidence=None)
    gains = []
    for bound in bounds:
        recall = {
            m: recall_precision(METHODS[m](oracle, bound).predict(score, detrended), truth)[0]
            for m in (BASELINE, "ew_dpmt")
        }
        base = recall[BASELINE]
        gains.append(recall["ew_dpmt"] / base - 1 if base >= MIN_CEILING_RECALL else float("nan"))
    return gains


@dataclass(frozen=True)
class UnitResamples:
    """The group bootstrap's resamples of the test units, drawn once for a whole C7 section.

    ``copies[r]`` ``(n_pos,)`` is how many times resample ``r`` holds each test positive (its unit's
    draws): the resamples of :func:`~recsys_challenges.stats.bootstrap_indices`, which
    :func:`~recsys_challenges.stats.bootstrap_draws` draws too, so every method and bound is scored on the
    same resamples (paired), and drawing them once instead of once per statistic took a third of the
    click-log evaluation off. ``everything`` ``(n_pos,)`` is the sample itself: every positive once.
    """

    copies: np.ndarray  # (R, n_pos) unsigned: a unit is drawn at most `units` times
    everything: np.ndarray  # (n_pos,) int64 ones

    @classmethod
    def draw(cls, unit_of_positive: np.ndarray, units: int, n_resamples: int, seed: int) -> UnitResamples:
        resamples = bootstrap_indices(units, n_resamples, seed)  # (units,) unit ids, n_resamples times
        copies = np.empty((n_resamples, unit_of_positive.size), dtype=np.min_scalar_type(units))
        for row, drawn_units in zip(copies, resamples):
            row[:] = np.bincount(drawn_units, minlength=units)[unit_of_positive]
        return cls(copies, np.ones(unit_of_positive.size, dtype=np.int64))


RESAMPLE_BLOCK = 128  # resamples whose (block, n_pos) copies are cast to float at once (bounded memory)


def seed_mean_recalls(selected: np.ndarray, copies: np.ndarray) -> np.ndarray:
    """``(K,)`` mean over seeds of the recall of ``selected (S, n_pos)`` when each test positive
    counts ``copies[k] (n_pos,)`` times (``copies (K, n_pos)``: resamples of :class:`UnitResamples`).

    Positives selected and counted are integers, so the products are exact whatever their order;
    the seed mean is taken per resample over a contiguous row, as ``np.mean`` of one resample's
    ``(S,)`` recalls takes it (an axis-0 mean of ``(S, K)`` adds in another order)."""
    recalls = np.empty((copies.shape[0], selected.shape[0]))  # (K, S)
    for start in range(0, copies.shape[0], RESAMPLE_BLOCK):
        block = copies[start : start + RESAMPLE_BLOCK]  # (k, n_pos)
        recalls[start : start + RESAMPLE_BLOCK] = (block @ selected.T) / np.maximum(block.sum(1), 1)[:, None]
    return recalls.mean(1)


def _estimate_and_ci(estimate: float, draws: np.ndarray) -> dict:
    """The ``estimate`` with the percentile-bootstrap 95% CI of its resampled ``draws (R,)`` (the
    finite ones), bootstrap standard error ``se`` and the minimum detectable effect ``mde``
    (:func:`~recsys_challenges.stats.minimum_detectable_effect`: the smallest true value a CI of
    this width tells from 0 in 80% of samples)."""
    draws = draws[np.isfinite(draws)]
    low, high = np.quantile(draws, [0.025, 0.975]) if draws.size else (np.nan, np.nan)
    finite = np.isfinite([estimate, low, high]).all()
    se = float(draws.std(ddof=1)) if draws.size > 1 else None
    return {
        "estimate": float(estimate) if np.isfinite(estimate) else None,
        "ci95": [float(low), float(high)] if finite else None,
        "se": se,
        "mde": minimum_detectable_effect(se) if se is not None else None,
    }


class Tally:
    """What the seeds of one estimator leave for the summaries over seeds, filled in seed order.

    ``per_seed[method][metric]`` and ``diagnostics[name]``: one value per seed; per method and bound
    key, ``selections``: each seed's test selection of the test positives, ``boundaries``: each
    seed's boundary, ``below``: the seeds whose test precision fell below the bound; per bound key,
    ``grids``: each seed's grid.
    """

    def __init__(self, bounds: list[float]):
        keys = [bound_key(b) for b in bounds]
        self.per_seed: dict[str, dict[str, list[float]]] = {}
        self.diagnostics: dict[str, list[float]] = {}
        self.selections: dict[str, dict[str, list[np.ndarray]]] = {m: {k: [] for k in keys} for m in METHODS}
        self.boundaries: dict[str, dict[str, list[BoundaryRecord]]] = {m: {k: [] for k in keys} for m in METHODS}
        self.below: dict[str, dict[str, int]] = {m: {k: 0 for k in keys} for m in METHODS}
        self.grids: dict[str, list[GridRecord]] = {k: [] for k in keys}

    def record(self, method: str, metric: str, value: float) -> None:
        self.per_seed.setdefault(method, {}).setdefault(metric, []).append(float(value))

    def diagnose(self, name: str, value: float) -> None:
        self.diagnostics.setdefault(name, []).append(value)


@dataclass(frozen=True)
class SeedPredictions:
    """One seed's hold-out (``_h``) and test (``_t``) scores and uncertainties, and the uncertainties
    detrended by the hold-out's score trend (:func:`~.boundaries.fit_detrender`)."""

    seed: int
    score_h: np.ndarray
    uncertainty_h: np.ndarray
    detrended_h: np.ndarray
    score_t: np.ndarray
    uncertainty_t: np.ndarray
    detrended_t: np.ndarray

    @classmethod
    def detrend(
        cls, seed: int, score_h: np.ndarray, uncertainty_h: np.ndarray, score_t: np.ndarray, uncertainty_t: np.ndarray,
        detrend_bins: int,
    ) -> SeedPredictions:
        detrender = fit_detrender(score_h, uncertainty_h, detrend_bins)
        return cls(seed, score_h, uncertainty_h, detrender.transform(score_h, uncertainty_h),
                   score_t, uncertainty_t, detrender.transform(score_t, uncertainty_t))


@dataclass(frozen=True)
class Labels:
    """The evaluated splits' labels, and the test positives' resampling units for the bootstrap:
    ``positive_rows``, ``unit_of_positive`` (the group holding each test positive, numbered 0 to
    ``units - 1``)."""

    holdout: np.ndarray
    test: np.ndarray
    truth: np.ndarray | None
    positive_rows: np.ndarray
    unit_of_positive: np.ndarray
    units: int

    @classmethod
    def of(cls, arrays: dict[str, np.ndarray]) -> Labels:
        test_labels = arrays["test_labels"]
        positive_rows = np.flatnonzero(test_labels == 1)
        # recall depends on the positives only: resample the groups (rows of click logs, proteins of
        # KDD Cup, users of Taobao) that hold a test positive, so correlated rows of one group move together
        _, unit_of_positive = np.unique(arrays["test_groups"][positive_rows], return_inverse=True)
        units = int(unit_of_positive.max()) + 1 if positive_rows.size else 1
        return cls(arrays["holdout_labels"], test_labels, arrays.get("test_truth"), positive_rows, unit_of_positive,
                   units)


def measure_boundaries(
    tally: Tally,
    seed: SeedPredictions,
    labels: Labels,
    bounds: list[float],
    boundary_params: BoundaryParams,
    keep_boundaries: bool,
) -> dict[str, dict[str, np.ndarray]]:
    """Per bound: choose the grid, then every method's boundary on the seed's hold-out, and measure
    it on the hold-out and the test split into ``tally``; ``{method: {bound key: test selection}}``."""
    hold_outs: dict[tuple[int, int], HoldOut] = {}  # (levels, bins) -> this seed's prepared hold-out
    chosen: dict[str, dict[str, np.ndarray]] = {m: {} for m in METHODS}
    grids = chosen_grids(seed.score_h, seed.detrended_h, labels.holdout, bounds, boundary_params, seed.seed)
    for bound, grid in zip(bounds, grids, strict=True):
        key = bound_key(bound)
        tally.grids[key].append(grid)
        cells = (grid.levels, grid.bins)
        if cells not in hold_outs:
            hold_outs[cells] = HoldOut.prepare(
                seed.score_h, seed.detrended_h, labels.holdout, *cells, boundary_params.confidence
            )
        hold_out = hold_outs[cells]  # the single threshold ignores its grid
        for method, choose in METHODS.items():
            boundary = choose(hold_out, bound)
            chosen[method][key] = _measure_boundary(tally, method, bound, boundary, seed, labels, keep_boundaries)
    return chosen


def _measure_boundary(
    tally: Tally, method: str, bound: float, boundary: Boundary, seed: SeedPredictions, labels: Labels,
    keep_boundaries: bool,
) -> np.ndarray:
    """Record one boundary's hold-out and test recall and precision, its feasibility, its test
    selection of the positives and whether its test precision fell below the bound; its test selection."""
    key = bound_key(bound)
    recall_h, precision_h = recall_precision(boundary.predict(seed.score_h, seed.detrended_h), labels.holdout)
    selected = boundary.predict(seed.score_t, seed.detrended_t)
    recall, precision = recall_precision(selected, labels.test)
    for metric, value in [
        ("recall", recall),
        ("precision", precision),
        ("holdout_recall", recall_h),
        ("holdout_precision", precision_h),
        ("feasible", float(boundary.feasible)),
    ]:
        tally.record(method, f"{metric}@{key}", value)
    tally.selections[method][key].append(selected[labels.positive_rows])
    tally.below[method][key] += int(
        selected.any() and not meets_bound(labels.test[selected].sum(), selected.sum(), bound)
    )
    if keep_boundaries:
        tally.boundaries[method][key].append(
            BoundaryRecord(seed.seed, boundary.feasible, boundary.level_edges.tolist(), _json_thresholds(boundary))
        )
    return selected


def diagnose_seed(
    tally: Tally, seed: SeedPredictions, labels: Labels, meta: dict, bounds: list[float],
    boundary_params: BoundaryParams, params: EvaluateParams,
) -> None:
    """The positive control of simulated data (``labels.truth``, the true probabilities): how the
    uncertainty tracks the score's error, the noise-free C6 slope and the noise-free C7 ceilings."""
    score_t, uncertainty_t, truth = seed.score_t, seed.uncertainty_t, labels.truth
    error = log_odds_error(score_t, truth, meta["negative_keep"])
    tally.diagnose("uncertainty_error_correlation", float(spearmanr(uncertainty_t, error)[0]))
    tally.diagnose(
        "c6_slope_truth_upper",
        c6_slope(score_t, uncertainty_t, truth, params.c6_score_bins, params.c6_score_bins // 2),
    )
    # the ceiling keeps the fixed grid: its boundaries are chosen on the test split itself
    # (with the true probabilities), so there is nothing to cross-validate
    test_bins = grid_bins(len(labels.test), boundary_params)
    ceilings = noise_free_ceiling(score_t, seed.detrended_t, truth, bounds, boundary_params.levels, test_bins)
    for bound, ceiling in zip(bounds, ceilings, strict=True):
        tally.diagnose(f"ceiling@{bound_key(bound)}", ceiling)


def evaluate_seed(
    tally: Tally, seed: SeedPredictions, labels: Labels, meta: dict, bounds: list[float],
    boundary_params: BoundaryParams, params: EvaluateParams, keep_boundaries: bool,
) -> None:
    """One seed's classifier metrics, boundaries, recall gains and (simulated data) diagnostics, into ``tally``."""
    for metric, value in classifier_metrics(seed.score_t, seed.uncertainty_t, labels.test, params).items():
        tally.record("classifier", metric, value)
    chosen = measure_boundaries(tally, seed, labels, bounds, boundary_params, keep_boundaries)
    _record_gains(chosen, seed.score_t, labels.test, bounds, tally.record)
    if labels.truth is not None:
        diagnose_seed(tally, seed, labels, meta, bounds, boundary_params, params)


def c7_section(
    tally: Tally, labels: Labels, bounds: list[float], n_seeds: int, params: EvaluateParams, keep_boundaries: bool
) -> C7Result:
    """C7 over the seeds: per bound and method, the group-bootstrap CI of the seed-mean test recall
    and of the recall gain over the single threshold (paired: the same resamples for every method)."""
    recall_ci, gain_ci = {m: {} for m in METHODS}, {m: {} for m in METHODS if m != BASELINE}
    resamples = UnitResamples.draw(labels.unit_of_positive, labels.units, params.bootstrap_resamples,
                                   params.bootstrap_seed)
    for bound in bounds:
        key = bound_key(bound)
        # per method: the seed-mean recall of the sample itself and of every resample (R,)
        recalls = {}
        for method in METHODS:
            selected = np.array(tally.selections[method][key], dtype=np.float64)  # (S, n_pos)
            recalls[method] = (float(seed_mean_recalls(selected, resamples.everything[None, :])[0]),
                               seed_mean_recalls(selected, resamples.copies))
        base, base_draws = recalls[BASELINE]
        for method, (recall, draws) in recalls.items():
            recall_ci[method][key] = _estimate_and_ci(recall, draws)
            if method == BASELINE:
                continue
            # the relative recall gain, NaN where the single threshold recalls nothing
            gain = recall / base - 1 if base > 0 else float("nan")
            gain_draws = np.divide(draws, base_draws, out=np.full(draws.shape, np.nan), where=base_draws > 0) - 1
            pooled = _estimate_and_ci(gain, gain_draws)
            values = tally.per_seed[method][f"recall_gain@{key}"]
            gain_ci[method][key] = {
                "mean": pooled["estimate"],  # ratio of the seed-mean recalls
                "ci95": pooled["ci95"],
                "se": pooled["se"],
                "mde": pooled["mde"],  # the smallest relative gain this CI tells from 0 (80% power)
                "n": n_seeds,
                "values": [v if np.isfinite(v) else None for v in values],
                "ci_method": "group_bootstrap",
            }
    return C7Result(
        precision_bounds=bounds,
        recall_gain=gain_ci,
        recall=recall_ci,
        test_precision_below_bound=tally.below,
        grid=tally.grids,
        boundaries=tally.boundaries if keep_boundaries else None,
    )


def evaluate_estimator(
    arrays: dict[str, np.ndarray],
    meta: dict,
    estimator: str,
    boundary_params: BoundaryParams,
    params: EvaluateParams,
    keep_boundaries: bool,
) -> EstimatorResult:
    """``summary``, ``diagnostics``, ``c6`` and ``c7`` of one estimator (:mod:`.results`)."""
    seeds = [int(s) for s in arrays["seeds"]]
    labels = Labels.of(arrays)
    bounds = list(params.precision_bounds)
    scores_h, uncertainties_h = (arrays[prediction_key(estimator, "holdout", k)] for k in ("score", "uncertainty"))
    scores_t, uncertainties_t = (arrays[prediction_key(estimator, "test", k)] for k in ("score", "uncertainty"))
    tally = Tally(bounds)
    for index, seed in enumerate(seeds):
        predictions = SeedPredictions.detrend(
            seed, scores_h[index], uncertainties_h[index], scores_t[index], uncertainties_t[index],
            boundary_params.detrend_bins,
        )
        evaluate_seed(tally, predictions, labels, meta, bounds, boundary_params, params, keep_boundaries)
    summary = {method: summarise_seeds(metrics) for method, metrics in tally.per_seed.items()}
    bins_c6 = params.c6_score_bins
    summary["classifier"]["c6_slope_upper"] = c6_statistic(
        scores_t, uncertainties_t, labels.test, arrays["test_groups"], bins_c6, bins_c6 // 2,
        params.c6_effect, params.bootstrap_resamples, params.bootstrap_seed,
    )
    return EstimatorResult(
        summary=summary,
        diagnostics=_diagnostics(tally.diagnostics, bounds, params) if labels.truth is not None else None,
        c6=c6_section(scores_t[0], uncertainties_t[0], labels.test, params, seeds[0]),
        c7=c7_section(tally, labels, bounds, len(seeds), params, keep_boundaries),
    )


def _record_gains(chosen: dict, score_t: np.ndarray, labels: np.ndarray, bounds: list[float], record) -> None:
    """Recall gains over the single threshold: at the same bound, and at the same achieved test
    precision (the single threshold's best recall on test at the method's test precision: a
    baseline chosen on the test split, so the matched gain favours the baseline)."""
    achieved = {}
    for bound in bounds:
        key = bound_key(bound)
        base_recall, _ = recall_precision(chosen[BASELINE][key], labels)
        for method in METHODS:
            if method == BASELINE:
                continue
            recall, achieved[method, key] = recall_precision(chosen[method][key], labels)
            record(method, f"recall_gain@{key}", recall / base_recall - 1 if base_recall > 0 else float("nan"))
    cuts = score_ranking(score_t, labels).cuts(list(achieved.values()), None)
    for ((method, key), cut) in zip(achieved, cuts, strict=True):
        recall = recall_precision(chosen[method][key], labels)[0]
        matched = recall_precision(score_t >= cut, labels)[0] if cut is not None else 0.0
        record(method, f"matched_gain@{key}", recall / matched - 1 if matched > 0 else float("nan"))


def _diagnostics(values: dict[str, list[float]], bounds: list[float], params: EvaluateParams) -> Diagnostics:
    """The positive control's summary: correlations, noise-free slope and ceilings (mean_ci each)."""
    out = {name: mean_ci(v) for name, v in values.items() if np.isfinite(v).all()}  # a ceiling needs every seed
    ceilings = [out[f"ceiling@{bound_key(b)}"]["mean"] for b in bounds if f"ceiling@{bound_key(b)}" in out]
    ceiling_max = max(ceilings) if ceilings else float("nan")
    informative = bool(np.isfinite(ceiling_max) and ceiling_max >= params.uninformative_ceiling)
    return Diagnostics(
        measures=out,
        ceiling_max=ceiling_max if np.isfinite(ceiling_max) else None,
        informative=informative,
        verdict_note=None if informative else (
            f"estimator uninformative: the noise-free C7 ceiling is {ceiling_max:.1%} "
            f"(< {params.uninformative_ceiling:.0%}), so this harness cannot see a recall gain"
        ),
    )


def dataset_role(block: EstimatorResult, meta: dict, bounds: list[float], params: EvaluateParams) -> Role:
    """Whether the dataset can carry a verdict: some method reaches some precision bound on the
    test split (recall > 0 with a boundary feasible on the hold-out); and its power labels."""
    summary = block.summary
    reachable = [
        bound
        for bound in bounds
        if any(
            summary[m].get(f"feasible@{bound_key(bound)}", {}).get("mean", 0) > 0
            and summary[m].get(f"recall@{bound_key(bound)}", {}).get("mean", 0) > 0
            for m in METHODS
        )
    ]
    auc = summary["classifier"]["test_auc"]["mean"]
    positives = meta["positives"]["test"]
    saturated = auc >= params.saturated_auc
    underpowered = positives < params.underpowered_positives
    c6_mde = summary["classifier"]["c6_slope_upper"]["mde"]
    # C7's power at every bound the single threshold meets on the hold-out of every seed
    c7_mde = {
        method: {
            key: gain["mde"]
            for key, gain in by_bound.items()
            if summary[BASELINE].get(f"feasible@{key}", {}).get("mean", 0) == 1.0 and gain["mde"] is not None
        }
        for method, by_bound in block.c7.recall_gain.items()
    }
    notes = []
    if not reachable:
        notes.append("no method reaches any precision bound: excluded from the verdicts")
    if saturated:
        notes.append(f"saturated: test AUC {auc:.3f} >= {params.saturated_auc}, a single threshold already separates")
    if underpowered:
        notes.append(f"underpowered: {positives} test positives < {params.underpowered_positives}")
    if c6_mde is not None and c6_mde > params.c6_effect:
        notes.append(f"C6 minimum detectable effect {c6_mde:.2f} log-odds > the {params.c6_effect} of interest")
    return Role(
        counts_toward_verdict=bool(reachable),
        reachable_bounds=reachable,
        saturated=bool(saturated),
        underpowered=bool(underpowered),
        test_rows=meta["rows"]["test"],
        test_positives=positives,
        power=Power(c6_mde=c6_mde, c6_effect=params.c6_effect, c7_mde=c7_mde),
        notes=notes,
    )


@dataclass(frozen=True)
class EstimatorJob:
    """One estimator of :func:`evaluate`, a job of :func:`~recsys_challenges.workers.map_jobs`: the
    worker reads the predictions folder itself rather than receiving its arrays through a pipe."""

    predictions: Path
    estimator: str
    boundary_params: BoundaryParams
    params: EvaluateParams

    def run(self) -> EstimatorResult:
        arrays, meta = load_predictions(self.predictions)
        return evaluate_estimator(arrays, meta, self.estimator, self.boundary_params, self.params,
                                  self.estimator == meta["estimator"])


def run_estimator_job(job: EstimatorJob) -> EstimatorResult:
    """:meth:`EstimatorJob.run`, as a module-level function a worker process can be handed."""
    return job.run()


def evaluate(
    arrays: dict[str, np.ndarray],
    meta: dict,
    boundary_params: BoundaryParams,
    params: EvaluateParams,
    predictions: Path | None = None,
    workers: int = 1,
) -> Metrics:
    """The metrics document of one dataset (layout in :mod:`.results`). With ``predictions`` (the
    folder ``arrays`` and ``meta`` were read from) and ``workers`` > 1, the estimators are evaluated
    in a pool of worker processes; each is a pure function of the predictions, so the document is
    the same whatever the pool's size."""
    headline = meta["estimator"]
    if predictions is not None and workers > 1:
        jobs = [EstimatorJob(predictions, estimator, boundary_params, params) for estimator in meta["estimators"]]
        results = map_jobs(run_estimator_job, jobs, workers,
                           lambda job, _, seconds: f"{meta['dataset']} {job.estimator}: {seconds:.0f}s")
        blocks = dict(zip(meta["estimators"], results, strict=True))
    else:
        blocks = {
            estimator: evaluate_estimator(arrays, meta, estimator, boundary_params, params, estimator == headline)
            for estimator in meta["estimators"]
        }
    bounds = list(params.precision_bounds)
    return Metrics(
        technique=TECHNIQUE,
        dataset=meta["dataset"],
        data_kind=meta["data_kind"],
        seeds=[int(s) for s in arrays["seeds"]],
        estimator=headline,
        headline=blocks[headline],
        ablations={name: block for name, block in blocks.items() if name != headline},
        role=dataset_role(blocks[headline], meta, bounds, params),
        config=EvaluationConfig(
            estimator=headline,
            estimators=meta["estimators"],
            levels=boundary_params.levels,  # the fixed (fallback) grid; the grids used are in c7.grid
            bins=grid_bins(len(arrays["holdout_labels"]), boundary_params),
            rows_per_bin=boundary_params.rows_per_bin,
            max_bins=boundary_params.max_bins,
            cv_levels=list(boundary_params.cv_levels),
            cv_rows_per_bin=list(boundary_params.cv_rows_per_bin),
            cv_folds=boundary_params.cv_folds,
            min_positives_per_bin=boundary_params.min_positives_per_bin,
            detrend_bins=boundary_params.detrend_bins,
            confidence=boundary_params.confidence,
            precision_bounds=bounds,
            bootstrap_resamples=params.bootstrap_resamples,
            c6_effect=params.c6_effect,
        ),
        # wall times stay in the predictions' meta.json: the metrics file is byte-identical across runs
        data=DataSummary.from_meta(meta),
    )
