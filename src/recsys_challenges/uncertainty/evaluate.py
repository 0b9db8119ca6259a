"""Stage ``uncertainty_evaluate@<dataset>``: claims C6 and C7 from the hold-out and test predictions.

For every estimator (the headline one and each ablation) and every seed: the uncertainty's score
trend is removed (its rank within a hold-out score bin, :class:`~.boundaries.Detrender`); for each
precision bound the equi-weight grid of EW-DPMT and MIST (levels x score bins per level) is chosen
by cross-validation on that hold-out (:func:`~recsys_challenges.uncertainty.grid_cv.choose_grid`;
the fixed ``levels`` x ``rows_per_bin`` grid where it falls back or CV is off), then boundaries are
chosen on the hold-out split (single threshold, EW-DPMT, MIST:
:data:`~recsys_challenges.uncertainty.boundaries.METHODS`), every one of them required to meet the
bound with the Wilson lower confidence bound of its hold-out precision, and measured once on the
test split; C6 is measured on the test split. Output ``reports/metrics/uncertainty/<dataset>.json``::

    {"technique": "uncertainty", "dataset", "data_kind": "real" | "simulated", "seeds": [int],
     "estimator": str,                      # the headline estimator; its numbers are at the top level
     "summary": {                           # mean_ci over seeds, per-seed "values" in seed order
       "classifier": {"test_auc", "test_average_precision", "c6_slope" (all rows),
                      "c6_slope_upper" (pooled group bootstrap: "ci_method", "se", "mde", "outcome"),
                      "c6_decreasing_fraction"},
       "single" | "ew_dpmt" | "mist": {
         "recall@<b>", "precision@<b>",                 # test split
         "holdout_recall@<b>", "holdout_precision@<b>", # where the boundary was chosen
         "feasible@<b>",                                # 1 if the bound was met on the hold-out
         "recall_gain@<b>",                             # ew_dpmt, mist: R / R_single - 1 per seed
         "matched_gain@<b>"}},                          # ew_dpmt, mist: R / R_single at the same
                                                        # achieved test precision - 1 (left out
                                                        # where a denominator is 0 for a seed)
     "diagnostics": {                       # simulated data only (the positive control)
       "uncertainty_error_correlation",     # Spearman(uncertainty, |log-odds error|) on test
       "c6_slope_truth_upper",              # C6 slope with the true probability as the target
       "ceiling@<b>", "ceiling_max",        # noise-free C7 gain of EW-DPMT (boundaries on test,
       "informative", "verdict_note"},      # true probabilities as expected positives)
     "c6": {...},                           # the positivity grid of the first seed (below)
     "c7": {"precision_bounds": [b],
            "recall_gain": {method: {"<b>": mean_ci-shaped, "se", "mde", "ci_method": "group_bootstrap"}},
            "recall": {method: {"<b>": {"estimate", "ci95", "se", "mde"}}},
            "test_precision_below_bound": {method: {"<b>": n_seeds}},
            "boundaries": {method: {"<b>": [{"seed", "feasible", "level_edges", "thresholds"}]}},
            "grid": {"<b>": [{"seed", "levels", "bins",   # EW-DPMT's and MIST's grid, per seed
                              "fallback",                # no CV candidate admissible: the fixed grid
                              "cv": [{"levels", "rows_per_bin", "bins", "recall", "top_bin_positives",
                                      "admissible"}]}]}},  # per candidate ([] when CV is off)
     "ablations": {estimator: {"summary", "diagnostics", "c6", "c7" (without boundaries)}},
     "role": {"counts_toward_verdict", "reachable_bounds", "saturated", "underpowered", "test_rows",
              "test_positives", "notes",
              "power": {"c6_mde",                  # C6: the slope's minimum detectable effect (log-odds)
                        "c6_effect",               # ... against the slope of interest
                        "c7_mde": {method: {"<b>": mde}}}},  # the smallest relative recall gain the
                                                   # CI tells from 0, at every bound the single
                                                   # threshold meets on the hold-out of every seed
     "config": {...}, "data": {...}}

The ``c6`` grid: ``score_bins``, ``levels``, ``seed``, ``score_edges [S - 1]``, and ``[[S x L]]``
``rows``, ``positives``, ``rate``, ``ci95_low``, ``ci95_high`` (Clopper-Pearson; null where a cell
is empty), ``mean_score``, ``mean_uncertainty``. ``level_edges`` of a boundary are on the detrended
uncertainty (a rank in [0, 1] within the hold-out score bin).

CIs in ``c7`` are percentile bootstraps of the test positives (recall depends on them only), drawn
by group (``stats.bootstrap_ci`` over the groups holding a test positive: rows of a click log,
proteins of KDD Cup 2004, users of Taobao), with the boundaries held fixed and the same resamples
for every method and seed, so gains are paired and pooled over seeds; thresholds ``+inf`` /
``-inf`` (select nothing / all of a level) are written as the strings "inf" / "-inf".
Conventions: the precision of an empty selection is 1 (no false positive); ``feasible@<b>`` says
when that happens because nothing met the bound on the hold-out.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy.special import logit
from scipy.stats import spearmanr
from sklearn.metrics import average_precision_score, roc_auc_score

from recsys_challenges.stats import bootstrap_draws, mean_ci, minimum_detectable_effect, summarise_seeds
from recsys_challenges.uncertainty.boundaries import (
    METHODS,
    Boundary,
    HoldOut,
    best_cuts,
    bins_per_level,
    fit_detrender,
    meets_bound,
)
from recsys_challenges.uncertainty.config import TECHNIQUE, BoundaryParams, EvaluateParams
from recsys_challenges.uncertainty.grid_cv import choose_grid
from recsys_challenges.uncertainty.positivity import c6_slope, c6_statistic, positivity_grid
from recsys_challenges.uncertainty.predictions import prediction_key

METRICS_ROOT = Path("reports/metrics") / TECHNIQUE
BASELINE = "single"
MIN_CEILING_RECALL = 0.01


def bound_key(bound: float) -> str:
    return f"{bound:g}"


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
) -> list[dict]:
    """Per bound, the grid of EW-DPMT and MIST on a seed's hold-out: ``{"levels", "bins",
    "fallback", "cv"}`` chosen by :func:`~.grid_cv.choose_grid` (the fixed grid, ``cv`` empty,
    when ``params.cv_levels`` is empty)."""
    if not params.cv_candidates:
        fixed = {"levels": params.levels, "bins": grid_bins(len(labels), params), "fallback": False, "cv": []}
        return [dict(fixed) for _ in bounds]
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
        {
            "levels": choice.levels,
            "bins": choice.bins,
            "fallback": choice.fallback,
            "cv": [
                {
                    "levels": c.levels,
                    "rows_per_bin": c.rows_per_bin,
                    "bins": c.bins,
                    "recall": c.recall,
                    "top_bin_positives": c.top_bin_positives,
                    "admissible": c.admissible,
                }
                for c in choice.candidates
            ],
        }
        for choice in choices
    ]


def _json_thresholds(boundary: Boundary) -> list[float | str]:
    return [float(t) if np.isfinite(t) else ("inf" if t > 0 else "-inf") for t in boundary.thresholds]


def _finite_or_none(values: np.ndarray) -> list:
    return [[float(v) if np.isfinite(v) else None for v in row] for row in values]


def c6_section(
    score: np.ndarray, uncertainty: np.ndarray, labels: np.ndarray, params: EvaluateParams, seed: int
) -> dict:
    grid = positivity_grid(score, uncertainty, labels, params.c6_score_bins, params.c6_levels)
    low, high = grid.interval()
    empty = grid.rows == 0
    return {
        "seed": seed,
        "split": "test",
        "score_bins": params.c6_score_bins,
        "levels": params.c6_levels,
        "score_edges": grid.score_edges.tolist(),
        "rows": grid.rows.tolist(),
        "positives": grid.positives.tolist(),
        "rate": _finite_or_none(grid.rate),
        "ci95_low": _finite_or_none(np.where(empty, np.nan, low)),
        "ci95_high": _finite_or_none(np.where(empty, np.nan, high)),
        "mean_score": grid.mean_score.tolist(),
        "mean_uncertainty": grid.mean_uncertainty.tolist(),
    }


def classifier_metrics(
    score: np.ndarray, uncertainty: np.ndarray, labels: np.ndarray, params: EvaluateParams
) -> dict[str, float]:
    bins = params.c6_score_bins
    return {
        "test_auc": float(roc_auc_score(labels, score)),
        "test_average_precision": float(average_precision_score(labels, score)),
        "c6_slope": c6_slope(score, uncertainty, labels, bins),
        "c6_slope_upper": c6_slope(score, uncertainty, labels, bins, from_bin=bins // 2),
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


def _seed_mean_recall(selected: np.ndarray, unit_of_positive: np.ndarray, units: int):
    """``statistic(indices)``: mean over seeds of the recall of ``selected (S, n_pos)`` when the
    resampling units (groups holding a test positive) ``indices`` are drawn with replacement."""

    def statistic(indices: np.ndarray) -> np.ndarray:
        copies = np.bincount(indices, minlength=units)[unit_of_positive]  # (n_pos,) copies of each positive
        return (selected @ copies) / max(copies.sum(), 1)  # (S,)

    return statistic


def _estimate_and_ci(statistic, everything: np.ndarray, params: EvaluateParams) -> dict:
    """Estimate, percentile-bootstrap 95% CI, bootstrap standard error ``se`` and the minimum
    detectable effect ``mde`` (:func:`~recsys_challenges.stats.minimum_detectable_effect`: the
    smallest true value a CI of this width tells from 0 in 80% of samples)."""
    estimate = statistic(everything)
    draws = bootstrap_draws(statistic, len(everything), params.bootstrap_resamples, seed=params.bootstrap_seed)
    low, high = np.quantile(draws, [0.025, 0.975]) if draws.size else (np.nan, np.nan)
    finite = np.isfinite([estimate, low, high]).all()
    se = float(draws.std(ddof=1)) if draws.size > 1 else None
    return {
        "estimate": float(estimate) if np.isfinite(estimate) else None,
        "ci95": [float(low), float(high)] if finite else None,
        "se": se,
        "mde": minimum_detectable_effect(se) if se is not None else None,
    }


def evaluate_estimator(
    arrays: dict[str, np.ndarray],
    meta: dict,
    estimator: str,
    boundary_params: BoundaryParams,
    params: EvaluateParams,
    keep_boundaries: bool,
) -> dict:
    """``summary``, ``diagnostics``, ``c6`` and ``c7`` of one estimator (module docstring)."""
    seeds = [int(s) for s in arrays["seeds"]]
    holdout_labels, test_labels = arrays["holdout_labels"], arrays["test_labels"]
    truth = arrays.get("test_truth")
    bounds = list(params.precision_bounds)
    scores_h, uncertainties_h = (arrays[prediction_key(estimator, "holdout", k)] for k in ("score", "uncertainty"))
    scores_t, uncertainties_t = (arrays[prediction_key(estimator, "test", k)] for k in ("score", "uncertainty"))
    per_seed: dict[str, dict[str, list[float]]] = {}
    diagnostics: dict[str, list[float]] = {}

    def record(method: str, metric: str, value: float) -> None:
        per_seed.setdefault(method, {}).setdefault(metric, []).append(float(value))

    positive_rows = np.flatnonzero(test_labels == 1)
    # recall depends on the positives only: resample the groups (rows of click logs, proteins of
    # KDD Cup, users of Taobao) that hold a test positive, so correlated rows of one group move together
    _, unit_of_positive = np.unique(arrays["test_groups"][positive_rows], return_inverse=True)
    units = int(unit_of_positive.max()) + 1 if positive_rows.size else 1
    selections = {m: {bound_key(b): [] for b in bounds} for m in METHODS}  # test selections of the positives
    boundaries = {m: {bound_key(b): [] for b in bounds} for m in METHODS}
    below = {m: {bound_key(b): 0 for b in bounds} for m in METHODS}
    grids: dict[str, list[dict]] = {bound_key(b): [] for b in bounds}
    for index, seed in enumerate(seeds):
        score_h, uncertainty_h, score_t, uncertainty_t = (
            scores_h[index], uncertainties_h[index], scores_t[index], uncertainties_t[index]
        )
        detrender = fit_detrender(score_h, uncertainty_h, boundary_params.detrend_bins)
        detrended_h, detrended_t = detrender.transform(score_h, uncertainty_h), detrender.transform(score_t, uncertainty_t)
        for metric, value in classifier_metrics(score_t, uncertainty_t, test_labels, params).items():
            record("classifier", metric, value)
        hold_outs: dict[tuple[int, int], HoldOut] = {}  # (levels, bins) -> this seed's prepared hold-out
        chosen: dict[str, dict[str, np.ndarray]] = {m: {} for m in METHODS}
        for bound, grid in zip(
            bounds, chosen_grids(score_h, detrended_h, holdout_labels, bounds, boundary_params, seed), strict=True
        ):
            key = bound_key(bound)
            grids[key].append({"seed": seed} | grid)
            cells = (grid["levels"], grid["bins"])
            if cells not in hold_outs:
                hold_outs[cells] = HoldOut.prepare(
                    score_h, detrended_h, holdout_labels, *cells, boundary_params.confidence
                )
            hold_out = hold_outs[cells]  # the single threshold ignores its grid
            for method, choose in METHODS.items():
                boundary = choose(hold_out, bound)
                recall_h, precision_h = recall_precision(boundary.predict(score_h, detrended_h), holdout_labels)
                selected = boundary.predict(score_t, detrended_t)
                chosen[method][key] = selected
                recall, precision = recall_precision(selected, test_labels)
                for metric, value in [
                    ("recall", recall),
                    ("precision", precision),
                    ("holdout_recall", recall_h),
                    ("holdout_precision", precision_h),
                    ("feasible", float(boundary.feasible)),
                ]:
                    record(method, f"{metric}@{key}", value)
                selections[method][key].append(selected[positive_rows])
                below[method][key] += int(
                    selected.any() and not meets_bound(test_labels[selected].sum(), selected.sum(), bound)
                )
                if keep_boundaries:
                    boundaries[method][key].append(
                        {
                            "seed": seed,
                            "feasible": boundary.feasible,
                            "level_edges": boundary.level_edges.tolist(),
                            "thresholds": _json_thresholds(boundary),
                        }
                    )
        _record_gains(chosen, score_t, test_labels, bounds, record)
        if truth is not None:
            error = log_odds_error(score_t, truth, meta["negative_keep"])
            diagnostics.setdefault("uncertainty_error_correlation", []).append(
                float(spearmanr(uncertainty_t, error)[0])
            )
            diagnostics.setdefault("c6_slope_truth_upper", []).append(
                c6_slope(score_t, uncertainty_t, truth, params.c6_score_bins, params.c6_score_bins // 2)
            )
            # the ceiling keeps the fixed grid: its boundaries are chosen on the test split itself
            # (with the true probabilities), so there is nothing to cross-validate
            test_bins = grid_bins(len(test_labels), boundary_params)
            ceilings = noise_free_ceiling(score_t, detrended_t, truth, bounds, boundary_params.levels, test_bins)
            for bound, ceiling in zip(bounds, ceilings, strict=True):
                diagnostics.setdefault(f"ceiling@{bound_key(bound)}", []).append(ceiling)

    summary = {method: summarise_seeds(metrics) for method, metrics in per_seed.items()}
    bins_c6 = params.c6_score_bins
    summary["classifier"]["c6_slope_upper"] = c6_statistic(
        scores_t, uncertainties_t, test_labels, arrays["test_groups"], bins_c6, bins_c6 // 2,
        params.c6_effect, params.bootstrap_resamples, params.bootstrap_seed,
    )
    recall_ci, gain_ci = {m: {} for m in METHODS}, {m: {} for m in METHODS if m != BASELINE}
    for bound in bounds:
        key = bound_key(bound)
        statistics = {
            m: _seed_mean_recall(np.array(selections[m][key], dtype=np.float64), unit_of_positive, units)
            for m in METHODS
        }
        everything = np.arange(units)
        for method, statistic in statistics.items():
            recall_ci[method][key] = _estimate_and_ci(lambda idx, s=statistic: float(s(idx).mean()), everything, params)
            if method == BASELINE:
                continue

            def gain(idx: np.ndarray, s=statistic) -> float:
                base = statistics[BASELINE](idx).mean()
                return float(s(idx).mean() / base - 1) if base > 0 else float("nan")

            pooled = _estimate_and_ci(gain, everything, params)
            values = per_seed[method][f"recall_gain@{key}"]
            gain_ci[method][key] = {
                "mean": pooled["estimate"],  # ratio of the seed-mean recalls
                "ci95": pooled["ci95"],
                "se": pooled["se"],
                "mde": pooled["mde"],  # the smallest relative gain this CI tells from 0 (80% power)
                "n": len(seeds),
                "values": [v if np.isfinite(v) else None for v in values],
                "ci_method": "group_bootstrap",
            }
    c7 = {
        "precision_bounds": bounds,
        "recall_gain": gain_ci,
        "recall": recall_ci,
        "test_precision_below_bound": below,
        "grid": grids,
    }
    if keep_boundaries:
        c7["boundaries"] = boundaries
    return {
        "summary": summary,
        "diagnostics": _diagnostics(diagnostics, bounds, params) if truth is not None else None,
        "c6": c6_section(scores_t[0], uncertainties_t[0], test_labels, params, seeds[0]),
        "c7": c7,
    }


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
    cuts = best_cuts(score_t, labels.astype(np.float64), np.ones(len(labels)), list(achieved.values()), None)
    for ((method, key), cut) in zip(achieved, cuts, strict=True):
        recall = recall_precision(chosen[method][key], labels)[0]
        matched = recall_precision(score_t >= cut, labels)[0] if cut is not None else 0.0
        record(method, f"matched_gain@{key}", recall / matched - 1 if matched > 0 else float("nan"))


def _diagnostics(values: dict[str, list[float]], bounds: list[float], params: EvaluateParams) -> dict:
    """The positive control's summary: correlations, noise-free slope and ceilings (mean_ci each)."""
    out = {name: mean_ci(v) for name, v in values.items() if np.isfinite(v).all()}  # a ceiling needs every seed
    ceilings = [out[f"ceiling@{bound_key(b)}"]["mean"] for b in bounds if f"ceiling@{bound_key(b)}" in out]
    ceiling_max = max(ceilings) if ceilings else float("nan")
    informative = bool(np.isfinite(ceiling_max) and ceiling_max >= params.uninformative_ceiling)
    out |= {
        "ceiling_max": ceiling_max if np.isfinite(ceiling_max) else None,
        "informative": informative,
        "verdict_note": None if informative else (
            f"estimator uninformative: the noise-free C7 ceiling is {ceiling_max:.1%} "
            f"(< {params.uninformative_ceiling:.0%}), so this harness cannot see a recall gain"
        ),
    }
    return out


def dataset_role(block: dict, meta: dict, bounds: list[float], params: EvaluateParams) -> dict:
    """Whether the dataset can carry a verdict: some method reaches some precision bound on the
    test split (recall > 0 with a boundary feasible on the hold-out); and its power labels."""
    summary = block["summary"]
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
        for method, by_bound in block["c7"]["recall_gain"].items()
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
    return {
        "counts_toward_verdict": bool(reachable),
        "reachable_bounds": reachable,
        "saturated": bool(saturated),
        "underpowered": bool(underpowered),
        "test_rows": meta["rows"]["test"],
        "test_positives": positives,
        "power": {"c6_mde": c6_mde, "c6_effect": params.c6_effect, "c7_mde": c7_mde},
        "notes": notes,
    }


def evaluate(
    arrays: dict[str, np.ndarray], meta: dict, boundary_params: BoundaryParams, params: EvaluateParams
) -> dict:
    """The metrics document of one dataset (layout in the module docstring)."""
    headline = meta["estimator"]
    blocks = {
        estimator: evaluate_estimator(arrays, meta, estimator, boundary_params, params, estimator == headline)
        for estimator in meta["estimators"]
    }
    bounds = list(params.precision_bounds)
    return {
        "technique": TECHNIQUE,
        "dataset": meta["dataset"],
        "data_kind": meta["data_kind"],
        "seeds": [int(s) for s in arrays["seeds"]],
        "estimator": headline,
        **blocks[headline],
        "ablations": {name: block for name, block in blocks.items() if name != headline},
        "role": dataset_role(blocks[headline], meta, bounds, params),
        "config": {
            "estimator": headline,
            "estimators": meta["estimators"],
            "levels": boundary_params.levels,  # the fixed (fallback) grid; the grids used are in c7.grid
            "bins": grid_bins(len(arrays["holdout_labels"]), boundary_params),
            "rows_per_bin": boundary_params.rows_per_bin,
            "max_bins": boundary_params.max_bins,
            "cv_levels": list(boundary_params.cv_levels),
            "cv_rows_per_bin": list(boundary_params.cv_rows_per_bin),
            "cv_folds": boundary_params.cv_folds,
            "min_positives_per_bin": boundary_params.min_positives_per_bin,
            "detrend_bins": boundary_params.detrend_bins,
            "confidence": boundary_params.confidence,
            "precision_bounds": bounds,
            "bootstrap_resamples": params.bootstrap_resamples,
            "c6_effect": params.c6_effect,
        },
        # wall times stay in the predictions' meta.json: the metrics file is byte-identical across runs
        "data": {k: meta[k] for k in ("rows", "positives", "groups", "negative_keep")}
        | {"per_seed": [{k: v for k, v in run.items() if k != "seconds"} for run in meta["per_seed"]]},
    }

