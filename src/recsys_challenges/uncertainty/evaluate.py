"""Stage ``uncertainty_evaluate@<dataset>``: claims C6 and C7 from the hold-out and test predictions.

For every seed: boundaries are chosen on the hold-out split for each precision bound (single
threshold, EW-DPMT, MIST: :data:`~recsys_challenges.uncertainty.boundaries.METHODS`) and measured
once on the test split; C6 is measured on the test split. Output
``reports/metrics/uncertainty/<dataset>.json``::

    {"technique": "uncertainty", "dataset": str, "data_kind": "real" | "simulated", "seeds": [int],
     "summary": {                       # mean_ci over seeds, per-seed "values" in seed order
       "classifier": {"test_auc", "test_average_precision", "c6_slope", "c6_slope_upper",
                      "c6_decreasing_fraction"},
       "single" | "ew_dpmt" | "mist": {
         "recall@<b>", "precision@<b>",                 # test split
         "holdout_recall@<b>", "holdout_precision@<b>", # where the boundary was chosen
         "feasible@<b>",                                # 1 if the bound was met on the hold-out
         "recall_gain@<b>"}},                           # ew_dpmt, mist only: R / R_single - 1 per
                                                        # seed (left out if R_single = 0 for a seed)
     "config": {"estimator", "levels", "bins", "rows_per_bin", "precision_bounds", ...},
     "data": {"rows": {split: n}, "positives": {split: n}, "negative_keep", "per_seed": [...]},
     "c6": {"score_bins", "levels", "seed",             # the grid of the first seed, test split
            "score_edges": [S - 1], "rows", "positives", "rate", "ci95_low", "ci95_high",
            "mean_score", "mean_uncertainty": [[S x L]] (rate and bounds null where a cell is empty)},
     "c7": {"precision_bounds": [b],
            "recall_gain": {method: {"<b>": {"estimate", "ci95"}}},   # ratio of seed-mean recalls
            "recall": {method: {"<b>": {"estimate", "ci95"}}},        # seed-mean test recall
            "test_precision_below_bound": {method: {"<b>": n_seeds}},
            "boundaries": {method: {"<b>": [{"seed", "feasible", "level_edges", "thresholds"}]}}}}

CIs in ``c7`` are percentile bootstraps of the test positives (recall depends on them only), drawn
by group (``stats.bootstrap_ci`` over the groups holding a test positive: rows of a click log,
proteins of KDD Cup 2004), with the boundaries held fixed and the same resamples for every
method, so gains are paired; thresholds ``+inf`` / ``-inf``
(select nothing / all of a level) are written as the strings "inf" / "-inf".
Conventions: the precision of an empty selection is 1 (no false positive); ``feasible@<b>`` says
when that happens because nothing met the bound on the hold-out.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score

from recsys_challenges.config import load_section
from recsys_challenges.io import write_json
from recsys_challenges.stats import bootstrap_ci, mean_ci
from recsys_challenges.uncertainty.boundaries import METHODS, Boundary, HoldOut, meets_bound
from recsys_challenges.uncertainty.config import TECHNIQUE, BoundaryParams, EvaluateParams, dataset_stage_parser
from recsys_challenges.uncertainty.positivity import c6_slope, positivity_grid
from recsys_challenges.uncertainty.predictions import PREDICTIONS_ROOT, load_predictions

METRICS_ROOT = Path("reports/metrics") / TECHNIQUE
BASELINE = "single"


def bound_key(bound: float) -> str:
    return f"{bound:g}"


def recall_precision(selected: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """Recall and precision of a selection (precision of an empty selection: 1)."""
    hits = int(labels[selected].sum())
    recall = hits / max(int(labels.sum()), 1)
    precision = hits / selected.sum() if selected.any() else 1.0
    return recall, float(precision)


def grid_bins(rows: int, params: BoundaryParams) -> int:
    """Score bins per uncertainty level: about ``rows_per_bin`` hold-out rows per bin, capped."""
    return int(np.clip(rows // (params.levels * params.rows_per_bin), 1, params.max_bins))


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


def _seed_mean_recall(selected: np.ndarray, unit_of_positive: np.ndarray, units: int):
    """``statistic(indices)``: mean over seeds of the recall of ``selected (S, n_pos)`` when the
    resampling units (groups holding a test positive) ``indices`` are drawn with replacement."""

    def statistic(indices: np.ndarray) -> np.ndarray:
        copies = np.bincount(indices, minlength=units)[unit_of_positive]  # (n_pos,) copies of each positive
        return (selected @ copies) / max(copies.sum(), 1)  # (S,)

    return statistic


def evaluate(
    arrays: dict[str, np.ndarray], meta: dict, boundary_params: BoundaryParams, params: EvaluateParams
) -> dict:
    """The metrics document of one dataset (layout in the module docstring)."""
    seeds = [int(s) for s in arrays["seeds"]]
    holdout_labels, test_labels = arrays["holdout_labels"], arrays["test_labels"]
    levels, bins = boundary_params.levels, grid_bins(len(holdout_labels), boundary_params)
    bounds = list(params.precision_bounds)
    per_seed: dict[str, dict[str, list[float]]] = {}

    def record(method: str, metric: str, value: float) -> None:
        per_seed.setdefault(method, {}).setdefault(metric, []).append(float(value))

    positive_rows = np.flatnonzero(test_labels == 1)
    # recall depends on the positives only: resample the groups (rows of click logs, proteins of
    # KDD Cup) that hold a test positive, so correlated rows of one group move together
    _, unit_of_positive = np.unique(arrays["test_groups"][positive_rows], return_inverse=True)
    units = int(unit_of_positive.max()) + 1 if positive_rows.size else 1
    selections = {m: {bound_key(b): [] for b in bounds} for m in METHODS}  # test selections of the positives
    boundaries = {m: {bound_key(b): [] for b in bounds} for m in METHODS}
    below = {m: {bound_key(b): 0 for b in bounds} for m in METHODS}
    for index, seed in enumerate(seeds):
        score_h, uncertainty_h = arrays["holdout_score"][index], arrays["holdout_uncertainty"][index]
        score_t, uncertainty_t = arrays["test_score"][index], arrays["test_uncertainty"][index]
        for metric, value in classifier_metrics(score_t, uncertainty_t, test_labels, params).items():
            record("classifier", metric, value)
        hold_out = HoldOut.prepare(score_h, uncertainty_h, holdout_labels, levels, bins)
        for bound in bounds:
            key = bound_key(bound)
            recalls = {}
            for method, choose in METHODS.items():
                boundary = choose(hold_out, bound)
                recall_h, precision_h = recall_precision(boundary.predict(score_h, uncertainty_h), holdout_labels)
                chosen = boundary.predict(score_t, uncertainty_t)
                recall, precision = recall_precision(chosen, test_labels)
                recalls[method] = recall
                for metric, value in [
                    ("recall", recall),
                    ("precision", precision),
                    ("holdout_recall", recall_h),
                    ("holdout_precision", precision_h),
                    ("feasible", float(boundary.feasible)),
                ]:
                    record(method, f"{metric}@{key}", value)
                selections[method][key].append(chosen[positive_rows])
                below[method][key] += int(
                    chosen.any() and not meets_bound(test_labels[chosen].sum(), chosen.sum(), bound)
                )
                boundaries[method][key].append(
                    {
                        "seed": seed,
                        "feasible": boundary.feasible,
                        "level_edges": boundary.level_edges.tolist(),
                        "thresholds": _json_thresholds(boundary),
                    }
                )
            for method in METHODS:
                if method != BASELINE:
                    gain = recalls[method] / recalls[BASELINE] - 1 if recalls[BASELINE] > 0 else float("nan")
                    record(method, f"recall_gain@{key}", gain)

    summary = {
        method: {metric: mean_ci(values) for metric, values in metrics.items() if np.isfinite(values).all()}
        for method, metrics in per_seed.items()
    }
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

            gain_ci[method][key] = _estimate_and_ci(gain, everything, params)
    return {
        "technique": TECHNIQUE,
        "dataset": meta["dataset"],
        "data_kind": meta["data_kind"],
        "seeds": seeds,
        "summary": summary,
        "config": {
            "estimator": meta["estimator"],
            "levels": levels,
            "bins": bins,
            "rows_per_bin": boundary_params.rows_per_bin,
            "precision_bounds": bounds,
            "bootstrap_resamples": params.bootstrap_resamples,
        },
        "data": {k: meta[k] for k in ("rows", "positives", "groups", "negative_keep", "per_seed")},
        "c6": c6_section(arrays["test_score"][0], arrays["test_uncertainty"][0], test_labels, params, seeds[0]),
        "c7": {
            "precision_bounds": bounds,
            "recall_gain": gain_ci,
            "recall": recall_ci,
            "test_precision_below_bound": below,
            "boundaries": boundaries,
        },
    }


def _estimate_and_ci(statistic, everything: np.ndarray, params: EvaluateParams) -> dict:
    estimate = statistic(everything)
    low, high = bootstrap_ci(statistic, len(everything), params.bootstrap_resamples, seed=params.bootstrap_seed)
    finite = np.isfinite([estimate, low, high]).all()
    return {"estimate": float(estimate) if np.isfinite(estimate) else None, "ci95": [low, high] if finite else None}


def main(argv: list[str] | None = None) -> int:
    parser = dataset_stage_parser(
        "uncertainty-evaluate", __doc__.splitlines()[0], f"metrics file (default {METRICS_ROOT}/<dataset>.json)"
    )
    parser.add_argument("--predictions", type=Path, help=f"predictions folder (default {PREDICTIONS_ROOT}/<dataset>)")
    args = parser.parse_args(argv)
    boundary_params = load_section(BoundaryParams, "uncertainty.boundaries", args.params)
    params = load_section(EvaluateParams, "uncertainty.evaluate", args.params)
    arrays, meta = load_predictions(args.predictions or PREDICTIONS_ROOT / args.dataset)
    metrics = evaluate(arrays, meta, boundary_params, params)
    write_json(args.out or METRICS_ROOT / f"{args.dataset}.json", metrics)
    for bound in params.precision_bounds:
        key = bound_key(bound)
        gains = ", ".join(
            f"{m} {metrics['c7']['recall_gain'][m][key]['estimate']}" for m in metrics["c7"]["recall_gain"]
        )
        print(f"{args.dataset} precision >= {key}: recall gain over single: {gains}")
    return 0
