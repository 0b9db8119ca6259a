"""The T3 stages of the tiny profile (``tiny_project``: the real Criteo head and a small simulated log)."""

from __future__ import annotations

import json

import numpy as np

from tests.conftest import BIN, run_checked

TINY_DATASETS = {"criteo_head": "real", "click_log_sim": "simulated"}
FIGURES = ("c6_positivity.png", "c6_heatmap.png", "c7_recall.png", "c7_gain.png", "boundary.png")
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
        for metric in ("test_auc", "c6_slope", "c6_slope_upper"):
            assert metrics["summary"]["classifier"][metric]["n"] == 2
        assert set(metrics["c7"]["recall_gain"]) == {"ew_dpmt", "mist"}
        assert metrics["estimator"] == "density_posterior"
        assert set(metrics["ablations"]) == {"posterior_network", "deep_ensemble", "mc_dropout"}
        assert (metrics["diagnostics"] is not None) == (kind == "simulated")
        assert _finite_numbers(metrics)


def test_figures_are_real_pngs(tiny_project):
    work, _, _ = tiny_project
    for dataset in TINY_DATASETS:
        for name in FIGURES:
            data = (work / f"reports/figures/uncertainty/{dataset}/{name}").read_bytes()
            assert data.startswith(PNG_MAGIC) and len(data) > 10_000, (dataset, name)


def test_bench_and_predictions(tiny_project):
    work, env, _ = tiny_project
    run_checked([str(BIN / "python"), "-m", "recsys_challenges", "uncertainty-bench"], work, env)  # `make bench`'s third
    bench = json.loads((work / "reports/bench/uncertainty.json").read_text())
    assert bench["rows"] == 20_000 and bench["seconds"]["ew_dpmt"] > 0
    assert bench["training_seconds"]["per_dataset"]["click_log_sim"]["density_posterior"] > 0
    with np.load(work / "data/uncertainty/predictions/click_log_sim/predictions.npz") as npz:
        for estimator in ("density_posterior", "posterior_network", "deep_ensemble", "mc_dropout"):
            score, uncertainty = npz[f"{estimator}.test_score"], npz[f"{estimator}.test_uncertainty"]
            assert score.shape == uncertainty.shape == (2, len(npz["test_labels"]))
            assert (uncertainty >= 0).all() and ((0 <= score) & (score <= 1)).all()
        assert npz["test_truth"].shape == npz["test_labels"].shape
