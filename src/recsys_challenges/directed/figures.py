"""The claim figures of T1 and the forward/backward product example (stage ``directed_figures``, :mod:`.stage`).

Reads ``reports/metrics/directed/<dataset>.json`` for every dataset in ``directed.datasets`` and
the example dataset's embeddings of ``directed_train``, and draws into ``reports/figures/directed/``
(:func:`draw_figures`):

* ``c1_direction_auc.png``: direction AUC (mean, 95% CI over seeds) per method and dataset; the
  ``popularity`` bar is the in-degree rule; 0.5 is chance (any symmetric scorer).
* ``c2_ranking.png``: MRR and HitRate@10 (all-node filtered ranking) per method and dataset.
* ``c3_degree_buckets.png``: MRR by source-degree bucket, adaptive vs fixed fan-out.
* ``example_forward_backward.png`` (and ``.md``): for a few products of the example dataset, the
  top-k targets ``v`` of ``s_u . t_v`` (forward: bought after ``u``) and the top-k sources
  ``w`` of ``s_w . t_u`` (backward: bought before ``u``), with their titles.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import seaborn as sns
import torch
from matplotlib import pyplot as plt

from recsys_challenges.data.formats import PREPARED_ROOT, load_graph
from recsys_challenges.directed import config as cfg
from recsys_challenges.directed.evaluate import POPULARITY
from recsys_challenges.directed.models import DECODERS
from recsys_challenges.directed.results import embeddings_name
from recsys_challenges.errors import DataError
from recsys_challenges.plotting import save_png


def load_metrics(datasets: list[str], root: Path) -> dict[str, dict]:
    """``dataset -> metrics payload`` for every dataset (a missing file is an error naming it)."""
    payloads = {}
    for name in datasets:
        path = root / f"{name}.json"
        if not path.is_file():
            raise DataError(f"{path}: not found (run `dvc repro directed_evaluate@{name}`)")
        payloads[name] = json.loads(path.read_text())
    return payloads


def summary_frame(payloads: dict[str, dict], metrics: list[str]) -> pd.DataFrame:
    """Long table ``dataset, method, metric, mean, low, high`` of the ``summary`` sections."""
    rows = []
    for dataset, payload in payloads.items():
        for method, values in payload["summary"].items():
            for metric in metrics:
                if metric in values:
                    summary = values[metric]
                    low, high = summary["ci95"] or [summary["mean"], summary["mean"]]
                    rows.append((dataset, method, metric, summary["mean"], low, high))
    return pd.DataFrame(rows, columns=["dataset", "method", "metric", "mean", "low", "high"])


def _bars(axis: plt.Axes, frame: pd.DataFrame, methods: list[str], title: str) -> None:
    """Grouped bars (dataset groups, one bar per method) with 95% CI whiskers."""
    datasets = list(dict.fromkeys(frame["dataset"]))
    width = 0.8 / len(methods)
    palette = sns.color_palette("colorblind", len(methods))
    for index, method in enumerate(methods):
        part = frame[frame["method"] == method].set_index("dataset").reindex(datasets)
        positions = np.arange(len(datasets)) + (index - (len(methods) - 1) / 2) * width
        errors = np.vstack([part["mean"] - part["low"], part["high"] - part["mean"]])
        label = "popularity (in-degree rule)" if method == POPULARITY else method
        axis.bar(positions, part["mean"], width, yerr=errors, capsize=2, label=label, color=palette[index])
    axis.set_xticks(np.arange(len(datasets)), datasets, rotation=20, ha="right")
    axis.set_title(title)


def direction_figure(payloads: dict[str, dict], methods: list[str], path: Path) -> None:
    frame = summary_frame(payloads, ["direction_auc"])
    figure, axis = plt.subplots(figsize=(12, 4.5))
    _bars(axis, frame, methods, "C1: direction AUC on held-out one-way edges (mean, 95% CI over seeds)")
    axis.axhline(0.5, color="black", linestyle="--", linewidth=1)
    axis.set_ylim(0.3, 1.0)
    axis.set_ylabel("direction AUC")
    axis.legend(ncol=3, fontsize=8, loc="lower right")
    save_png(figure, path)


def ranking_figure(payloads: dict[str, dict], methods: list[str], path: Path) -> None:
    figure, axes = plt.subplots(2, 1, figsize=(12, 8), sharex=True)
    for axis, metric in zip(axes, ["mrr", "hitrate@10"]):
        frame = summary_frame(payloads, [metric, f"{metric}_sampled"])
        # the all-node ranking where a graph has one, the sampled candidates otherwise
        frame = frame.sort_values("metric").groupby(["dataset", "method"], sort=False).head(1)
        frame = frame.set_index("dataset").loc[list(payloads)].reset_index()
        _bars(axis, frame, methods, f"C2: {metric} (all-node filtered ranking; mean, 95% CI over seeds)")
        axis.set_ylabel(metric)
    axes[0].legend(ncol=3, fontsize=8)
    save_png(figure, path)


def degree_figure(payloads: dict[str, dict], methods: list[str], path: Path) -> None:
    columns = min(4, len(payloads))
    rows = int(np.ceil(len(payloads) / columns))
    figure, axes = plt.subplots(rows, columns, figsize=(4 * columns, 3.4 * rows), squeeze=False)
    for axis, (dataset, payload) in zip(axes.ravel(), payloads.items()):
        buckets = list(payload["degree_buckets"])
        for method in methods:
            values = payload["by_degree"][method]
            means = [values[b]["mrr"]["mean"] for b in buckets]
            lows = [(values[b]["mrr"]["ci95"] or [m, m])[0] for b, m in zip(buckets, means)]
            highs = [(values[b]["mrr"]["ci95"] or [m, m])[1] for b, m in zip(buckets, means)]
            axis.plot(buckets, means, marker="o", label=method)
            axis.fill_between(buckets, lows, highs, alpha=0.2)
        ranges = payload["degree_buckets"]
        axis.set_xticks(range(len(buckets)), [f"{b}\n{min(ranges[b]['degree_min'])}-{max(ranges[b]['degree_max'])}" for b in buckets], fontsize=8)
        axis.set_title(dataset, fontsize=10)
        axis.set_ylabel("MRR")
    for axis in axes.ravel()[len(payloads) :]:
        axis.axis("off")
    axes[0, 0].legend(fontsize=8)
    figure.suptitle("C3: MRR by source training degree (quartile buckets: low to high), adaptive vs fixed fan-out")
    save_png(figure, path)


def example_rankings(
    source: np.ndarray, target: np.ndarray, encoder: str, products: np.ndarray, top_k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Forward ``(p, k)`` top targets of ``s_u . t_v`` and backward ``(p, k)`` top sources of ``s_w . t_u``."""
    scores_fn = DECODERS[encoder][0]
    s, t = torch.from_numpy(source), torch.from_numpy(target)
    chosen = torch.from_numpy(products)
    forward = scores_fn(s.index_select(0, chosen), t)  # (p, N): u as the source
    backward = scores_fn(s, t.index_select(0, chosen)).T  # (p, N): u as the target
    for scores in (forward, backward):
        scores[torch.arange(chosen.numel()), chosen] = -torch.inf  # never recommend u itself
    return forward.topk(top_k, dim=1).indices.numpy(), backward.topk(top_k, dim=1).indices.numpy()


def product_titles(dataset: str, titles_dataset: str | None) -> np.ndarray:
    """``(N,)`` titles of the example dataset's nodes, joined by node id from ``titles_dataset``."""
    graph = load_graph(PREPARED_ROOT / dataset)
    names = graph.node_ids.astype(str) if graph.node_ids is not None else np.arange(graph.num_nodes).astype(str)
    if titles_dataset is None:
        return graph.titles if graph.titles is not None else names
    source = load_graph(PREPARED_ROOT / titles_dataset)
    if source.node_ids is None or source.titles is None:
        raise DataError(f"{PREPARED_ROOT / titles_dataset}: has no node ids and titles to join on")
    lookup = dict(zip(source.node_ids.astype(str), source.titles.astype(str)))
    return np.array([lookup.get(name) or name for name in names])


def example_figure(params: cfg.FiguresParams, methods: dict[str, cfg.MethodParams], seed: int, out: Path) -> None:
    graph = load_graph(PREPARED_ROOT / params.example_dataset)
    titles = product_titles(params.example_dataset, params.titles_dataset)
    path = cfg.OUTPUT_ROOT / params.example_dataset / embeddings_name(params.example_method, seed)
    if not path.is_file():
        raise DataError(f"{path}: not found (run `dvc repro directed_train@{params.example_dataset}`)")
    with np.load(path) as arrays:
        source, target = arrays["source"], arrays["target"]
    out_degree = np.bincount(graph.edge_index[0], minlength=graph.num_nodes)
    has_title = np.char.str_len(titles.astype(str)) > 0
    products = np.argsort(-(out_degree * has_title), kind="stable")[: params.example_products]
    forward, backward = example_rankings(
        source, target, methods[params.example_method].encoder, products, params.example_top_k
    )
    short = [title[:60] for title in titles.astype(str)]
    lines = [f"# {params.example_method}, {params.example_dataset} (seed {seed}): forward vs backward top-{params.example_top_k}", ""]
    figure, axes = plt.subplots(len(products), 1, figsize=(13, 2.2 + 0.32 * params.example_top_k * len(products)))
    for axis, product, ahead, behind in zip(np.atleast_1d(axes), products, forward, backward):
        axis.axis("off")
        cells = [[f"{rank + 1}. {short[a]}", f"{rank + 1}. {short[b]}"] for rank, (a, b) in enumerate(zip(ahead, behind))]
        table = axis.table(
            cellText=cells,
            colLabels=["forward: s_u . t_v (bought after u)", "backward: s_w . t_u (bought before u)"],
            loc="center",
            cellLoc="left",
        )
        table.auto_set_font_size(False)
        table.set_fontsize(8)
        axis.set_title(f"u = {short[product]}", fontsize=10, loc="left")
        lines += [f"## u = {titles[product]}", "", "| rank | forward (bought after u) | backward (bought before u) |", "|---|---|---|"]
        lines += [f"| {rank + 1} | {titles[a]} | {titles[b]} |" for rank, (a, b) in enumerate(zip(ahead, behind))]
        lines.append("")
    save_png(figure, out / "example_forward_backward.png")
    (out / "example_forward_backward.md").write_text("\n".join(lines))


def draw_figures(
    payloads: dict[str, dict], methods: dict[str, cfg.MethodParams], params: cfg.FiguresParams, seed: int, out: Path
) -> None:
    """Every figure of the module docstring into ``out``; the example uses ``seed``'s embeddings."""
    direction_figure(payloads, [POPULARITY, *methods], out / "c1_direction_auc.png")
    ranking_figure(payloads, [POPULARITY, *methods], out / "c2_ranking.png")
    degree_figure(payloads, [params.adaptive_method, params.fixed_method], out / "c3_degree_buckets.png")
    example_figure(params, methods, seed, out)
