"""The figures of claims C4 and C5 from the metrics files (stage ``delayed-figures``).

Reads ``reports/metrics/delayed/<dataset>.json`` for every dataset of ``delayed.datasets`` and
writes ``reports/figures/delayed/``:

* ``c4_methods.png``: AUC, PR-AUC and NLL of every method (mean and 95% CI over seeds), one row per dataset;
* ``c4_stream.png``: AUC and NLL over the stream (seed mean, rolling over a day of slots);
* ``c5_signals.png``: RI with vs without pre-conversion signals: ES-DFM vs ours and FSIW vs ours
  on FSIW's stream, per dataset, and on the simulator ours at every signal strength;
* ``c5_controls.png``: every line minus ES-DFM, paired by seed (mean and 95% CI over seeds), AUC
  and NLL, on all test clicks and on clicks of young items: the unit-weight control (C4), the
  signal-aware weights and DEFUSE, and the ceilings (``pcaw_oracle``, ``esdfm_true``), per dataset;
* ``waiting_tradeoff.png``: AUC and NLL of waiting-N against N (vanilla is N = 0), with the oracle,
  ES-DFM and ours as reference lines;
* ``c5_regime_sweep.png`` (from ``sweep.json``, stage ``delayed_sweep``): one panel per swept factor
  (conversion rate, ES-DFM's elapsed window c, slow-delay share, signal strength), the AUC gain over
  ES-DFM of the signal-aware weights and of their ceiling (``pcaw_oracle``) with 95% CIs over seeds,
  over bars of the share of fake negatives among the observed negatives;
* ``c4_drift_sweep.png`` (from ``sweep.json``): one panel per drift factor (campaign effect scale,
  campaign life), AUC minus ES-DFM of the oracle, ours, vanilla and the waiting-N lines.

Real and simulated data are always in separate, labelled panels.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from recsys_challenges.delayed.config import SWEEP_BASE
from recsys_challenges.errors import DataError
from recsys_challenges.io import atomic_dir
from recsys_challenges.plotting import save_png, setup

FIGURES_ROOT = Path("reports/figures/delayed")
LABELS = {"auc": "AUC", "pr_auc": "PR-AUC (average precision)", "nll": "NLL", "ri_auc": "RI of AUC",
          "ri_nll": "RI of NLL", "ri_pr_auc": "RI of PR-AUC"}
STREAM_METHODS = ("oracle", "vanilla", "waiting_6h", "fnw", "esdfm", "defer", "pcaw")
HIGHLIGHT = {"oracle": "#555555", "vanilla": "#d62728", "pcaw": "#1f77b4", "pcaw_fsiw": "#1f77b4"}


def title(payload: dict[str, Any]) -> str:
    kind = {"real": "real data", "user": "user data"}.get(payload["data_kind"], "simulated, calibrated to Taobao")
    return f"{payload['dataset']} ({kind})"


def _interval(summary: dict[str, Any] | None) -> tuple[float, float, float]:
    if summary is None:  # RI undefined (the oracle and vanilla scored the same)
        return float("nan"), 0.0, 0.0
    mean = summary["mean"]
    low, high = summary["ci95"] or (mean, mean)
    return mean, mean - low, high - mean


def methods_figure(payloads: list[dict[str, Any]]):
    import matplotlib.pyplot as plt

    metrics = ("auc", "pr_auc", "nll")
    figure, axes = plt.subplots(len(payloads), len(metrics), figsize=(15, 4.6 * len(payloads)), squeeze=False)
    for row, payload in zip(axes, payloads, strict=True):
        names = payload["methods"]
        for ax, metric in zip(row, metrics, strict=True):
            stats = [_interval(payload["summary"][n][metric]) for n in names]
            means = np.array([s[0] for s in stats])
            errors = np.array([[s[1] for s in stats], [s[2] for s in stats]])
            colours = [HIGHLIGHT.get(n, "#9ecae1" if n.startswith("waiting") else "#8c8c8c") for n in names]
            ax.barh(names, means, xerr=errors, color=colours, capsize=3)
            spread = means.max() - means.min()
            ax.set_xlim(means.min() - 0.6 * spread - 1e-6, means.max() + 0.6 * spread + 1e-6)
            ax.invert_yaxis()
            ax.set_xlabel(LABELS[metric] + (" (lower is better)" if metric == "nll" else ""))
            ax.set_title(f"{title(payload)}: {LABELS[metric]}")
    figure.suptitle(f"C4: methods on the stream (mean and 95% CI over seeds {payloads[0]['seeds']})")
    figure.tight_layout()
    return figure


def _rolling(values: np.ndarray, window: int) -> np.ndarray:
    """Mean over the last ``window`` defined values (NaN where undefined)."""
    out = np.full(values.shape, np.nan)
    for i in range(values.size):
        chunk = values[max(0, i - window + 1):i + 1]
        if np.isfinite(chunk).any():
            out[i] = np.nanmean(chunk)
    return out


def stream_figure(payloads: list[dict[str, Any]]):
    import matplotlib.pyplot as plt

    metrics = ("auc", "nll")
    figure, axes = plt.subplots(len(payloads), len(metrics), figsize=(14, 4.2 * len(payloads)), squeeze=False)
    for row, payload in zip(axes, payloads, strict=True):
        per_slot = payload["stream"]["per_slot"]
        window = max(1, int(round(24 / payload["protocol"]["slot_hours"])))
        hours = (np.array(payload["stream"]["slot_start_ts"]) - payload["protocol"]["stream_start_ts"]) / 3600
        for ax, metric in zip(row, metrics, strict=True):
            for name in (n for n in STREAM_METHODS if n in per_slot):
                seeds = np.array([[np.nan if v is None else v for v in seed] for seed in per_slot[name][metric]])
                with np.errstate(invalid="ignore"):
                    mean = np.nanmean(seeds, axis=0) if np.isfinite(seeds).any() else seeds[0]
                ax.plot(hours, _rolling(mean, window), label=name, color=HIGHLIGHT.get(name), linewidth=1.4)
            ax.set_xlabel("hours since the stream start")
            ax.set_ylabel(f"{LABELS[metric]}, rolling mean over {window} slots")
            ax.set_title(f"{title(payload)}: {LABELS[metric]} over the stream")
        row[0].legend(fontsize=8, ncol=2)
    figure.tight_layout()
    return figure


def signals_figure(payloads: list[dict[str, Any]]):
    import matplotlib.pyplot as plt

    lines = [("esdfm", "#8c8c8c"), ("pcaw", "#1f77b4"), ("fsiw", "#bdbdbd"), ("pcaw_fsiw", "#6baed6")]
    metrics = ("ri_auc", "ri_pr_auc", "ri_nll")
    sweeps = [p for p in payloads if "signal_sweep" in p]
    columns = len(payloads) + len(sweeps)
    figure, axes = plt.subplots(1, columns, figsize=(6.2 * columns, 4.8), squeeze=False)
    for ax, payload in zip(axes[0], payloads, strict=False):
        present = [(n, c) for n, c in lines if n in payload["summary"]]
        width = 0.8 / max(len(present), 1)
        extreme = 0.0
        for offset, (name, colour) in enumerate(present):
            stats = [_interval(payload["summary"][name][m]) for m in metrics]
            x = np.arange(len(metrics)) + (offset - (len(present) - 1) / 2) * width
            ax.bar(x, [s[0] for s in stats], width, yerr=[[s[1] for s in stats], [s[2] for s in stats]],
                   color=colour, capsize=3, label=name)
            extreme = max(extreme, *(abs(s[0]) + s[2] for s in stats if np.isfinite(s[0])))
        if extreme > 5:  # RI explodes where the oracle and vanilla are nearly equal
            ax.set_yscale("symlog", linthresh=2)
        ax.set_xticks(range(len(metrics)), [LABELS[m] for m in metrics])
        ax.axhline(0, color="#d62728", linewidth=0.8)
        ax.axhline(1, color="#555555", linewidth=0.8, linestyle="--")
        ax.set_ylabel("RI (vanilla 0, oracle 1)")
        ax.set_title(f"{title(payload)}\nwithout signals (grey) vs with (blue)")
        ax.legend(fontsize=8)
    for ax, payload in zip(axes[0][len(payloads):], sweeps, strict=True):
        sweep = payload["signal_sweep"]
        strengths = sorted(sweep["strengths"])
        for metric, style in (("ri_auc", "-o"), ("ri_nll", "-s")):
            stats = [_interval(sweep["pcaw"][f"{s:g}"][metric]) for s in strengths]
            ax.errorbar(strengths, [s[0] for s in stats], yerr=[[s[1] for s in stats], [s[2] for s in stats]],
                        fmt=style, capsize=3, label=f"ours (pcaw), {LABELS[metric]}")
            base, down, up = _interval(payload["summary"]["esdfm"][metric])
            ax.axhspan(base - down, base + up, alpha=0.12, color="#8c8c8c")
            ax.axhline(base, color="#8c8c8c", linestyle="--" if metric == "ri_auc" else ":",
                       label=f"ES-DFM (no signals), {LABELS[metric]}")
        ax.set_xlabel("signal strength (0: uninformative, 1: as on Taobao)")
        ax.set_ylabel("RI (vanilla 0, oracle 1)")
        ax.set_title(f"{title(payload)}: signal strength sweep")
        ax.legend(fontsize=7)
    figure.suptitle("C5: importance weights with vs without pre-conversion signals (mean, 95% CI over seeds)")
    figure.tight_layout()
    return figure


def waiting_figure(payloads: list[dict[str, Any]]):
    import matplotlib.pyplot as plt

    metrics = ("auc", "nll")
    figure, axes = plt.subplots(len(payloads), len(metrics), figsize=(12, 4.2 * len(payloads)), squeeze=False)
    for row, payload in zip(axes, payloads, strict=True):
        summary, waiting = payload["summary"], payload["waiting"]
        hours = [0.0, *waiting["hours"]]
        names = ["vanilla", *waiting["methods"]]
        for ax, metric in zip(row, metrics, strict=True):
            stats = [_interval(summary[n][metric]) for n in names]
            ax.errorbar(hours, [s[0] for s in stats], yerr=[[s[1] for s in stats], [s[2] for s in stats]], fmt="-o",
                        color="#9ecae1", ecolor="#6baed6", capsize=3, label="waiting N h (N = 0: vanilla)")
            for name in ("oracle", "esdfm", "pcaw"):
                if name in summary:
                    ax.axhline(summary[name][metric]["mean"], color=HIGHLIGHT.get(name, "#8c8c8c"), linestyle="--",
                               label=name)
            ax.set_xlabel("waiting time N (hours)")
            ax.set_ylabel(LABELS[metric])
            ax.set_title(f"{title(payload)}: freshness vs label certainty")
        row[0].legend(fontsize=8)
    figure.tight_layout()
    return figure


CONTROL_LINES = ("esdfm_unit", "pcaw", "defuse", "defuse_signals", "pcaw_oracle", "esdfm_true")


def controls_figure(payloads: list[dict[str, Any]]):
    import matplotlib.pyplot as plt

    panels = [("all test clicks", "auc"), ("all test clicks", "nll"), ("young items", "auc"), ("young items", "nll")]
    figure, axes = plt.subplots(len(payloads), len(panels), figsize=(4.4 * len(panels), 3.6 * len(payloads)),
                                squeeze=False)
    for row, payload in zip(axes, payloads, strict=True):
        for ax, (scope, metric) in zip(row, panels, strict=True):
            source = payload["paired"] if scope == "all test clicks" else payload.get("young_items", {}).get("paired", {})
            paired = source.get("esdfm", {})
            names = [n for n in CONTROL_LINES if n in paired and paired[n][metric] is not None]
            stats = [_interval(paired[n][metric]) for n in names]
            colours = ["#8c8c8c" if n == "esdfm_unit" else "#555555" if n in ("pcaw_oracle", "esdfm_true")
                       else "#1f77b4" for n in names]
            ax.barh(range(len(names)), [s[0] for s in stats], xerr=[[s[1] for s in stats], [s[2] for s in stats]],
                    color=colours, capsize=3)
            ax.set_yticks(range(len(names)), names)
            ax.axvline(0, color="#d62728", linewidth=0.8)
            ax.set_xlabel(f"{LABELS[metric]} minus ES-DFM (paired by seed)")
            share = payload["protocol"].get("fake_negative_share")
            ax.set_title(f"{title(payload)}, {scope}" + ("" if share is None else f"\nfake negatives {share:.1%} of observed negatives"),
                         fontsize=9)
    figure.suptitle("C4/C5 controls: unit weights, signal-aware lines and ceilings against ES-DFM (mean, 95% CI over seeds)")
    figure.tight_layout()
    return figure


SWEEP_FIGURE = "c5_regime_sweep.png"
SWEEP_LINES = (("pcaw", "signal-aware weights (pcaw)", "#1f77b4", "o"),
               ("pcaw_oracle", "ceiling: true flip (pcaw_oracle)", "#555555", "D"))
SWEEP_FACTORS = {  # factor -> (panel title, tick label of a value)
    "conversion_rate": ("conversion rate within 24 h", lambda v: f"{v:.0%}"),
    "elapsed_window_minutes": ("ES-DFM's elapsed window c", lambda v: f"{v:g} min"),
    "slow_share": ("share of slow delays", lambda v: f"{v:.0%}"),
    "signal_strength": ("signal strength (1: as on Taobao)", lambda v: f"{v:g}"),
}


def _factor_points(sweep: dict[str, Any], factor: str) -> tuple[list[float], list[str], list[dict[str, Any]]]:
    """A swept factor's values in increasing order, with their sweep points' names and payloads."""
    order = np.argsort(sweep["factors"][factor]["values"], kind="stable")
    values = [sweep["factors"][factor]["values"][i] for i in order]
    names = [sweep["factors"][factor]["points"][i] for i in order]
    return values, names, [sweep["points"][name] for name in names]


def _auc_gains(ax, x: np.ndarray, offsets, lines, points: list[dict[str, Any]], reference: str, **style) -> None:
    """One error-bar line per (method, label, colour, marker) of ``lines``: its AUC minus the
    reference's (paired by seed, mean and 95% CI) at each point, shifted by its offset."""
    for offset, (method, label, colour, marker) in zip(offsets, lines, strict=True):
        stats = [_interval(p["paired"][reference][method]["auc"]) for p in points]
        ax.errorbar(x + offset, [s[0] for s in stats], yerr=[[s[1] for s in stats], [s[2] for s in stats]],
                    fmt=f"-{marker}", color=colour, label=label, **style)


def sweep_figure(sweep: dict[str, Any]):
    """One panel per factor: AUC gain over ES-DFM (paired by seed) at each value, fake-negative share behind."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch
    from matplotlib.ticker import PercentFormatter

    factors = [f for f in SWEEP_FACTORS if f in sweep["factors"]]
    figure, axes = plt.subplots(1, len(factors), figsize=(4.6 * len(factors), 4.6), squeeze=False, sharey=True)
    shares = [sweep["points"][name]["fake_negative_share"]["mean"] for f in factors
              for name in sweep["factors"][f]["points"]]
    for ax, factor in zip(axes[0], factors, strict=True):
        heading, tick = SWEEP_FACTORS[factor]
        values, names, points = _factor_points(sweep, factor)
        x = np.arange(len(values))
        behind = ax.twinx()
        share = [p["fake_negative_share"]["mean"] for p in points]
        behind.bar(x, share, width=0.6, color="#fdae6b", alpha=0.35)
        for position, value in zip(x, share, strict=True):  # the share written at the foot of its bar
            behind.annotate(f"{value:.1%}", (position, 0), xytext=(0, 3), textcoords="offset points", ha="center",
                            va="bottom", fontsize=9, fontweight="bold", color="#e6550d")
        behind.set_ylim(0, 1.15 * max(max(shares), 1e-6))
        behind.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        behind.grid(False)
        behind.tick_params(axis="y", colors="#e6550d", right=factor == factors[-1], labelright=factor == factors[-1])
        if factor == factors[-1]:
            behind.set_ylabel("fake negatives / observed negatives (bars)", color="#e6550d")
        ax.set_zorder(behind.get_zorder() + 1)  # the gains in front of the bars
        ax.patch.set_visible(False)
        _auc_gains(ax, x, (-0.08, 0.08), SWEEP_LINES, points, sweep["reference"], capsize=4, linewidth=1.8, markersize=6)
        ax.axhline(0, color="#d62728", linewidth=1.0, label="ES-DFM (no signals)")
        base = names.index(SWEEP_BASE)
        behind.axvspan(base - 0.45, base + 0.45, color="#e0e0e0", alpha=0.6, zorder=0)
        ax.set_xticks(x, [tick(v) + ("\n(base)" if i == base else "") for i, v in enumerate(values)])
        ax.set_title(heading)
        ax.set_xlim(-0.6, len(values) - 0.4)
    axes[0][0].set_ylabel("AUC minus ES-DFM (paired by seed)")
    handles, labels = axes[0][0].get_legend_handles_labels()
    handles.append(Patch(color="#fdae6b", alpha=0.35))
    labels.append("fake negatives among observed negatives (right axis)")
    figure.legend(handles, labels, loc="lower center", ncol=len(labels), bbox_to_anchor=(0.5, -0.06), frameon=False)
    base = sweep["base"]
    figure.suptitle(
        f"C5 by regime: what pre-conversion signals add to ES-DFM's weights, and the most they could "
        f"(mean, 95% CI over {len(sweep['seeds'])} seeds, {sweep['rows']:,} simulated clicks each)\n"
        f"one factor at a time around the base: conversion {base['conversion_rate']:.0%}, "
        f"c = {base['elapsed_window_minutes']:g} min, {base['slow_share']:.0%} slow delays "
        f"(mean {base['slow_mean_hours']:g} h), signal strength {base['signal_strength']:g}", fontsize=11)
    figure.tight_layout()
    return figure


DRIFT_FIGURE = "c4_drift_sweep.png"
DRIFT_FACTORS = {  # factor -> (panel title, tick label of a value)
    "campaign_effect_scale": ("campaign effect scale (sd of its logit effect)", lambda v: f"{v:g}"),
    "campaign_life_days": ("campaign life", lambda v: f"{v:g} d"),
}
DRIFT_LINES = (("oracle", "oracle (true labels at once)", "#2ca02c", "s"),
               ("pcaw", "signal-aware weights (pcaw)", "#1f77b4", "o"),
               ("vanilla", "vanilla (current labels)", "#7f7f7f", "v"))


def drift_figure(sweep: dict[str, Any]):
    """One panel per drift factor: AUC minus ES-DFM (paired by seed) of the oracle, pcaw, vanilla and
    every waiting-N line at each value, so the panel shows where waiting stops winning."""
    import matplotlib.pyplot as plt

    factors = [f for f in DRIFT_FACTORS if f in sweep["factors"]]
    waiting = [m for m in sweep["methods"] if m.startswith("waiting_")]
    colours = plt.get_cmap("autumn")(np.linspace(0.0, 0.6, max(len(waiting), 1)))
    lines = [*DRIFT_LINES, *((m, m.replace("_", " "), colours[i], "^") for i, m in enumerate(waiting))]
    figure, axes = plt.subplots(1, len(factors), figsize=(5.6 * len(factors), 4.6), squeeze=False, sharey=True)
    for ax, factor in zip(axes[0], factors, strict=True):
        heading, tick = DRIFT_FACTORS[factor]
        values, names, points = _factor_points(sweep, factor)
        x = np.arange(len(values))
        offsets = np.linspace(-0.15, 0.15, len(lines))
        _auc_gains(ax, x, offsets, lines, points, sweep["reference"], capsize=3, linewidth=1.6, markersize=5)
        ax.axhline(0, color="#d62728", linewidth=1.0, label="ES-DFM")
        base = names.index(SWEEP_BASE)
        ax.axvspan(base - 0.45, base + 0.45, color="#e0e0e0", alpha=0.6, zorder=0)
        ax.set_xticks(x, [tick(v) + ("\n(base)" if i == base else "") for i, v in enumerate(values)])
        ax.set_title(heading)
    axes[0][0].set_ylabel("AUC minus ES-DFM (paired by seed)")
    handles, labels = axes[0][0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="lower center", ncol=4, bbox_to_anchor=(0.5, -0.12), frameon=False)
    base = sweep["base"]
    figure.suptitle(
        f"C4 by drift: where waiting for mature labels stops winning (mean, 95% CI over {len(sweep['seeds'])} seeds, "
        f"{sweep['rows']:,} simulated clicks each)\nbase: conversion {base['conversion_rate']:.0%}, campaign effect "
        f"scale {base['campaign_effect_scale']:g}, campaign life {base['campaign_life_days']:g} d", fontsize=11)
    figure.tight_layout()
    return figure


def load_sweep(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise DataError(f"{path}: sweep metrics not found (run `dvc repro delayed_sweep`)")
    return json.loads(path.read_text())


FIGURES = {
    "c4_methods.png": methods_figure,
    "c4_stream.png": stream_figure,
    "c5_signals.png": signals_figure,
    "c5_controls.png": controls_figure,
    "waiting_tradeoff.png": waiting_figure,
}


def load_payloads(datasets: list[str], root: Path) -> list[dict[str, Any]]:
    payloads = []
    for name in datasets:
        path = root / f"{name}.json"
        if not path.is_file():
            raise DataError(f"{path}: metrics not found (run `dvc repro delayed_stream@{name}`)")
        payloads.append(json.loads(path.read_text()))
    return sorted(payloads, key=lambda p: p["data_kind"] != "real")  # real data first


def write_figures(payloads: list[dict[str, Any]], sweep_file: Path, out: Path) -> list[str]:
    """Every figure of ``FIGURES`` from the stream payloads, and the two of ``sweep_file``'s sweep,
    into ``out`` (written atomically); returns their file names."""
    setup()
    with atomic_dir(out) as tmp:
        for name, draw in FIGURES.items():
            save_png(draw(payloads), tmp / name)
        sweep = load_sweep(sweep_file)
        save_png(sweep_figure(sweep), tmp / SWEEP_FIGURE)
        save_png(drift_figure(sweep), tmp / DRIFT_FIGURE)
    return [*FIGURES, SWEEP_FIGURE, DRIFT_FIGURE]
