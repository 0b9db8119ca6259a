"""The C6 and C7 figures of one dataset, drawn from its metrics file (and predictions for the boundary plane).

Stage ``uncertainty_figures@<dataset>`` (:func:`.stage.main_figures`) writes ``reports/figures/uncertainty/<dataset>/``:

* ``c6_positivity.png``: test positivity rate against mean score, one curve per uncertainty level
  (quantiles within each score bin), with Clopper-Pearson 95% intervals (first seed), one panel per
  estimator (headline first, then the ablations), each titled with its pooled C6 slope and CI;
* ``c6_heatmap.png``: the headline estimator's rates over (score bin, uncertainty level);
* ``c7_recall.png``: test recall (bootstrap 95% CI) and achieved test precision (mean over seeds)
  against the precision bound, for the single threshold, EW-DPMT and MIST (headline estimator);
* ``c7_gain.png``: EW-DPMT's and MIST's recall gain over the single threshold (group-bootstrap 95%
  CI, pooled over seeds) against the precision bound, one panel per estimator, with the
  noise-free ceiling drawn where the data are simulated and the paper's +25% marked;
* ``boundary.png``: the headline estimator's boundaries chosen on the hold-out at
  ``uncertainty.figures.boundary_bound`` (first seed, as recorded in the metrics' ``c7.boundaries``:
  nothing is chosen again here), drawn over the test rows in the (score,
  detrended uncertainty) plane: rows right of a line are predicted positive; a level drawn at the
  right edge selects nothing.

Simulated datasets say so in every title.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from recsys_challenges.errors import DataError
from recsys_challenges.uncertainty.boundaries import METHODS, Boundary, fit_detrender
from recsys_challenges.uncertainty.config import TECHNIQUE, BoundaryParams, FigureParams
from recsys_challenges.uncertainty.predictions import prediction_key
from recsys_challenges.uncertainty.results import bound_key

FIGURES_ROOT = Path("reports/figures") / TECHNIQUE
LABELS = {"single": "single threshold", "ew_dpmt": "EW-DPMT", "mist": "MIST"}


def _title(metrics: dict, text: str) -> str:
    kind = {"simulated": " (SIMULATED data)", "user": " (user data)"}.get(metrics["data_kind"], "")
    return f"{metrics['dataset']}{kind}: {text}"


def _grid(c6: dict, key: str) -> np.ndarray:
    return np.array([[np.nan if v is None else v for v in row] for row in c6[key]], dtype=np.float64)


def _estimator_blocks(metrics: dict) -> dict[str, dict]:
    """Headline estimator first, then the ablations: ``{name: {"summary", "c6", "c7", "diagnostics"}}``."""
    return {metrics["estimator"]: metrics, **metrics["ablations"]}


def c6_positivity(metrics: dict) -> plt.Figure:
    blocks = _estimator_blocks(metrics)
    figure, axes = plt.subplots(1, len(blocks), figsize=(5.2 * len(blocks), 4.5), squeeze=False, sharey=True)
    for axis, (name, block) in zip(axes[0], blocks.items(), strict=True):
        _c6_panel(axis, block["c6"])
        slope = block["summary"]["classifier"]["c6_slope_upper"]
        ci = slope["ci95"] or [float("nan")] * 2
        mean = slope["mean"] if slope["mean"] is not None else float("nan")
        axis.set_title(f"{name}\nupper-half slope {mean:+.2f} [{ci[0]:+.2f}, {ci[1]:+.2f}]", fontsize=8)
    axes[0][0].set_ylabel("test positivity rate (95% CI)")
    figure.suptitle(_title(metrics, f"C6 at a fixed score, seed {metrics['c6']['seed']}"))
    return figure


def _c6_panel(axis: plt.Axes, c6: dict) -> None:
    rate, low, high = _grid(c6, "rate"), _grid(c6, "ci95_low"), _grid(c6, "ci95_high")
    score = _grid(c6, "mean_score")
    levels = rate.shape[1]
    colours = plt.cm.viridis(np.linspace(0, 0.9, levels))
    for level in range(levels):
        shown = np.isfinite(rate[:, level])
        x = np.clip(score[shown, level], 1e-6, 1 - 1e-6)
        axis.errorbar(
            x,
            rate[shown, level],
            yerr=[rate[shown, level] - low[shown, level], high[shown, level] - rate[shown, level]],
            marker="o",
            markersize=4,
            capsize=2,
            color=colours[level],
            label=f"uncertainty level {level + 1}"
            + (" (lowest)" if level == 0 else " (highest)" if level == levels - 1 else ""),
        )
    axis.set_xscale("logit")
    axis.set_xlabel("mean score in cell (logit scale)")
    axis.legend(fontsize=7)


def c6_heatmap(metrics: dict) -> plt.Figure:
    import seaborn as sns

    rate = _grid(metrics["c6"], "rate")
    edges = metrics["c6"]["score_edges"]
    edge_labels = ["min", *(f"{e:.3g}" for e in edges), "max"]
    bin_labels = [f"{edge_labels[i]}-{edge_labels[i + 1]}" for i in range(rate.shape[0])]
    figure, axis = plt.subplots(figsize=(6.5, 0.45 * rate.shape[0] + 1.5))
    sns.heatmap(
        rate,
        annot=True,
        fmt=".3f",
        cmap="mako_r",
        cbar_kws={"label": "test positivity rate"},
        xticklabels=[f"{i + 1}" for i in range(rate.shape[1])],
        yticklabels=bin_labels,
        ax=axis,
    )
    axis.set_xlabel("uncertainty level within the score bin (1 = lowest)")
    axis.set_ylabel("score bin")
    axis.set_title(_title(metrics, f"C6 positivity, seed {metrics['c6']['seed']}"))
    return figure


def c7_recall(metrics: dict) -> plt.Figure:
    bounds = metrics["c7"]["precision_bounds"]
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    for offset, method in zip((-0.006, 0.0, 0.006), METHODS, strict=True):
        entries = [metrics["c7"]["recall"][method][bound_key(b)] for b in bounds]
        estimate = np.array([e["estimate"] for e in entries], dtype=np.float64)
        ci = np.array([e["ci95"] or [e["estimate"]] * 2 for e in entries], dtype=np.float64)
        x = np.array(bounds) + offset
        left.errorbar(
            x, estimate, yerr=[estimate - ci[:, 0], ci[:, 1] - estimate], marker="o", capsize=3, label=LABELS[method]
        )
        precision = np.array([metrics["summary"][method][f"precision@{bound_key(b)}"]["mean"] for b in bounds])
        right.plot(x, precision, marker="o", label=LABELS[method])
    right.plot(bounds, bounds, color="grey", linestyle="--", label="bound")
    left.set(xlabel="precision bound (chosen on hold-out)", ylabel="test recall (mean over seeds, 95% bootstrap CI)")
    right.set(xlabel="precision bound (chosen on hold-out)", ylabel="test precision (mean over seeds)")
    left.set_title(_title(metrics, "C7 recall"))
    right.set_title("achieved precision on test")
    left.legend(fontsize=8)
    right.legend(fontsize=8)
    return figure


def c7_gain(metrics: dict) -> plt.Figure:
    blocks = _estimator_blocks(metrics)
    bounds = metrics["c7"]["precision_bounds"]
    figure, axes = plt.subplots(1, len(blocks), figsize=(5.2 * len(blocks), 4.2), squeeze=False, sharey=True)
    for axis, (name, block) in zip(axes[0], blocks.items(), strict=True):
        for offset, method in zip((-0.005, 0.005), ("ew_dpmt", "mist"), strict=True):
            entries = [block["c7"]["recall_gain"][method][bound_key(b)] for b in bounds]
            mean = np.array([np.nan if e["mean"] is None else e["mean"] for e in entries], dtype=np.float64)
            ci = np.array([e["ci95"] or [np.nan, np.nan] for e in entries], dtype=np.float64)
            axis.errorbar(
                np.array(bounds) + offset, mean, yerr=[mean - ci[:, 0], ci[:, 1] - mean], marker="o", capsize=3,
                label=LABELS[method],
            )
        diagnostics = block.get("diagnostics")
        if diagnostics:
            ceiling = [diagnostics.get(f"ceiling@{bound_key(b)}", {}).get("mean", np.nan) for b in bounds]
            axis.plot(bounds, ceiling, color="black", linestyle="--", marker="x", label="noise-free ceiling (EW-DPMT)")
        axis.axhline(0.0, color="grey", linewidth=0.8)
        axis.axhline(0.25, color="tab:red", linewidth=0.8, linestyle=":", label="paper: +25%")
        axis.set_xlabel("precision bound (chosen on hold-out, Wilson LCB)")
        axis.set_title(name, fontsize=9)
        axis.legend(fontsize=7)
    axes[0][0].set_ylabel("recall gain over the single threshold (95% CI)")
    figure.suptitle(_title(metrics, "C7 recall gain"))
    return figure


def _draw_boundary(
    axis: plt.Axes, boundary: Boundary, x_range: tuple[float, float], y_range: tuple[float, float], **style
) -> None:
    """Step line: each uncertainty level's score threshold across its band of uncertainty.

    A level that selects nothing (``+inf``) is drawn at the right edge, one that selects all at the left.
    """
    edges = np.concatenate([[y_range[0]], np.clip(boundary.level_edges, *y_range), [y_range[1]]])
    xs, ys = [], []
    for level, threshold in enumerate(boundary.thresholds):
        x = float(np.clip(threshold, *x_range))
        xs += [x, x]
        ys += [edges[level], edges[level + 1]]
    axis.plot(xs, ys, **style)


def recorded_boundaries(metrics: dict, bound: float, seed: int, where: str) -> dict[str, Boundary]:
    """The boundaries ``uncertainty_evaluate`` chose on the hold-out at ``bound`` for ``seed``, by method.

    Raises:
        DataError: ``bound`` is not one of the evaluated precision bounds, or ``seed`` was not evaluated.
    """
    recorded = metrics["c7"]["boundaries"]
    key = bound_key(bound)
    if any(key not in by_bound for by_bound in recorded.values()):
        raise DataError(
            f"{where}: no boundaries at precision {bound:g} (uncertainty.figures.boundary_bound must be one of "
            f"uncertainty.evaluate.precision_bounds {metrics['c7']['precision_bounds']})"
        )
    boundaries = {}
    for method, by_bound in recorded.items():
        rows = [row for row in by_bound[key] if row["seed"] == seed]
        if not rows:
            raise DataError(f"{where}: no boundary of {method} for seed {seed} at precision {bound:g}")
        boundaries[method] = Boundary(
            np.asarray(rows[0]["level_edges"], dtype=float),
            np.asarray([float(t) for t in rows[0]["thresholds"]]),  # "inf" / "-inf" parse as floats
            bool(rows[0]["feasible"]),
        )
    return boundaries


def boundary_plane(arrays: dict[str, np.ndarray], metrics: dict, boundaries: dict[str, Boundary],
                   boundary_params: BoundaryParams, params: FigureParams) -> plt.Figure:
    labels = arrays["test_labels"]
    estimator = metrics["estimator"]
    score_h, uncertainty_h = (arrays[prediction_key(estimator, "holdout", k)][0] for k in ("score", "uncertainty"))
    # the test rows' detrended uncertainty, by the hold-out trend the boundaries were chosen under
    detrender = fit_detrender(score_h, uncertainty_h, boundary_params.detrend_bins)
    score = arrays[prediction_key(estimator, "test", "score")][0]
    uncertainty = detrender.transform(score, arrays[prediction_key(estimator, "test", "uncertainty")][0])
    rng = np.random.default_rng(0)
    negatives = np.flatnonzero(labels == 0)
    shown = rng.choice(negatives, size=min(params.scatter_negatives, negatives.size), replace=False)
    positives = np.flatnonzero(labels == 1)
    figure, axis = plt.subplots(figsize=(7, 5))
    clip = lambda s: np.clip(s, 1e-9, 1 - 1e-9)  # noqa: E731 (logit axis needs (0, 1))
    for rows, size, alpha, colour, label in [
        (shown, 2, 0.25, "grey", f"test negatives ({shown.size} drawn)"),
        (positives, 4, 0.6, "tab:orange", f"test positives ({positives.size})"),
    ]:
        axis.scatter(clip(score[rows]), uncertainty[rows], s=size, alpha=alpha, color=colour, label=label)
    x_range = (float(clip(score.min())), float(clip(score.max())))
    y_range = (0.0, 1.0)
    styles = {
        "single": dict(color="black", linestyle=":"),
        "ew_dpmt": dict(color="tab:blue"),
        "mist": dict(color="tab:green", linestyle="--"),
    }
    for method in METHODS:
        boundary = boundaries[method]
        note = "" if boundary.feasible else " (infeasible: selects nothing)"
        _draw_boundary(axis, boundary, x_range, y_range, linewidth=1.6, label=LABELS[method] + note, **styles[method])
    axis.set_xscale("logit")
    axis.set_xlim(*x_range)
    axis.set_xlabel("score (logit scale)")
    axis.set_ylabel(f"{estimator} uncertainty: rank within its hold-out score bin")
    axis.set_title(
        _title(metrics, f"boundaries at precision >= {params.boundary_bound:g}, seed {int(arrays['seeds'][0])}")
    )
    axis.legend(fontsize=7, loc="lower left")
    return figure

