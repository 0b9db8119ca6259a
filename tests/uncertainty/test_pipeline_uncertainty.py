"""The T3 stages of the tiny profile (``tiny_project``: the real Criteo head and a small simulated log)."""

from __future__ import annotations

import json

import numpy as np

TINY_DATASETS = {"criteo_head": "real", "click_log_sim": "simulated"}
FIGURES = ("c6_positivity.png", "c6_heatmap.png", "c7_recall.png", "boundary.png")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _finite_numbers(node) -> bool:
    if isinstance(node, dict):
        return all(_finite_numbers(v) for v in node.values())
    if isinstance(node, list):
        return all(_finite_numbers(v) for v in node)
    return not isinstance(node, float) or np.isfinite(node)


def test_metrics_files_are_well_formed(tiny_project):
    work, _, _ = tiny_project
    for dataset, kind in TINY_DATASETS.items():
        metrics = json.loads((work / f"reports/metrics/uncertainty/{dataset}.json").read_text())
        assert (metrics["technique"], metrics["dataset"], metrics["data_kind"]) == ("uncertainty", dataset, kind)
        assert metrics["seeds"] == [0, 1]
        for method in ("single", "ew_dpmt", "mist"):
            recall = metrics["summary"][method]["recall@0.5"]
            assert recall["n"] == 2 and len(recall["values"]) == 2 and 0 <= recall["mean"] <= 1
        for metric in ("test_auc", "c6_slope"):
            assert metrics["summary"]["classifier"][metric]["n"] == 2
        assert set(metrics["c7"]["recall_gain"]) == {"ew_dpmt", "mist"}
        assert _finite_numbers(metrics)


def test_figures_are_real_pngs(tiny_project):
    work, _, _ = tiny_project
    for dataset in TINY_DATASETS:
        for name in FIGURES:
            data = (work / f"reports/figures/uncertainty/{dataset}/{name}").read_bytes()
            assert data.startswith(PNG_MAGIC) and len(data) > 10_000, (dataset, name)


def test_bench_and_predictions(tiny_project):
    work, _, _ = tiny_project
    bench = json.loads((work / "reports/bench/uncertainty.json").read_text())
    assert bench["rows"] == 20_000 and bench["seconds"]["ew_dpmt"] > 0
    with np.load(work / "data/uncertainty/predictions/click_log_sim/predictions.npz") as npz:
        assert npz["test_score"].shape == npz["test_uncertainty"].shape == (2, len(npz["test_labels"]))
        assert (npz["test_uncertainty"] >= 0).all() and ((0 <= npz["test_score"]) & (npz["test_score"] <= 1)).all()
