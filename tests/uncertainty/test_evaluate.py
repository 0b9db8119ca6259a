from __future__ import annotations

import numpy as np
import pytest

from recsys_challenges.uncertainty.config import BoundaryParams, EvaluateParams
from recsys_challenges.stats import bootstrap_draws
from recsys_challenges.uncertainty.evaluate import (
    UnitResamples,
    seed_mean_recalls,
    evaluate,
    grid_bins,
    recall_precision,
)
from recsys_challenges.uncertainty.predictions import prediction_key

PARAMS = EvaluateParams(precision_bounds=(0.3, 0.5), bootstrap_resamples=50, c6_score_bins=4, c6_levels=2)
GRID = BoundaryParams(levels=2, rows_per_bin=10)


def test_recall_precision_by_hand():
    labels = np.array([1, 0, 1, 1])
    # selects rows 0 and 1: 1 of the 3 positives, 1 of 2 selected
    assert recall_precision(np.array([True, True, False, False]), labels) == (pytest.approx(1 / 3), 0.5)
    assert recall_precision(np.zeros(4, dtype=bool), labels) == (0.0, 1.0)  # empty selection: precision 1


def test_grid_bins_by_hand():
    # 1000 rows / (2 levels x 10 rows per bin) = 50 bins; never fewer than 1 nor more than max_bins
    assert grid_bins(1000, GRID) == 50
    assert grid_bins(5, GRID) == 1
    assert grid_bins(10**7, BoundaryParams(levels=2, rows_per_bin=10, max_bins=300)) == 300


def test_seed_mean_recall_statistic_by_hand():
    # 3 positives in units (groups) 0, 1, 1; seed A selects positives 0 and 2, seed B positive 1.
    # Draw units [1, 1, 0]: copies of the positives = 1, 2, 2 (total 5); seed A recalls 1 + 2 = 3
    # of 5, seed B 2 of 5 (seed mean 0.5). The sample itself (copies 1, 1, 1): A 2 of 3, B 1 of 3 (mean 0.5)
    selected = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]])
    assert seed_mean_recalls(selected, np.array([[1, 2, 2], [1, 1, 1]], dtype=np.uint8)) == pytest.approx([0.5, 0.5])
    assert seed_mean_recalls(selected, np.array([[0, 0, 0]])) == [0.0]  # nothing drawn: recall 0, not 0/0


def test_unit_resamples_are_the_draws_of_the_bootstrap():
    """Drawn once, the resamples give every statistic the values bootstrap_draws gives it, bit for bit."""
    unit_of_positive, units = np.array([0, 1, 1, 2, 3, 3, 3]), 4
    selected = (np.random.default_rng(1).random((3, 7)) < 0.5).astype(np.float64)

    def by_indices(indices: np.ndarray) -> float:
        copies = np.bincount(indices, minlength=units)[unit_of_positive]
        return float(((selected @ copies) / max(copies.sum(), 1)).mean())

    resamples = UnitResamples.draw(unit_of_positive, units, 300, seed=3)  # 3 blocks of resamples, the last partial
    drawn = seed_mean_recalls(selected, resamples.copies)
    assert np.array_equal(bootstrap_draws(by_indices, units, 300, seed=3), drawn)
    assert seed_mean_recalls(selected, resamples.everything[None, :])[0] == by_indices(np.arange(units))
    assert resamples.copies.dtype == np.uint8 and resamples.copies.shape == (300, 7)


ESTIMATORS = ("posterior_network", "deep_ensemble")


def _predictions(seeds=(0, 1), rows=4000, truth=True):
    """Hold-out and test predictions where uncertain rows are less often positive at a fixed score,
    for two estimators (the second one's uncertainty is noise)."""
    rng = np.random.default_rng(7)
    arrays = {"seeds": np.array(seeds)}
    for split in ("holdout", "test"):
        base_score, base_uncertainty = rng.random(rows), rng.random(rows)
        probability = base_score**2 * (1.0 - 0.8 * base_uncertainty)
        arrays[f"{split}_labels"] = (rng.random(rows) < probability).astype(np.int8)
        if truth:
            arrays[f"{split}_truth"] = probability
        arrays[f"{split}_groups"] = np.arange(rows)
        # every seed sees the same rows through its own noise
        score = np.clip(base_score + rng.normal(0, 0.02, (len(seeds), rows)), 0, 1)
        uncertainty = np.abs(base_uncertainty + rng.normal(0, 0.02, (len(seeds), rows)))
        arrays[prediction_key(ESTIMATORS[0], split, "score")] = score
        arrays[prediction_key(ESTIMATORS[0], split, "uncertainty")] = uncertainty
        arrays[prediction_key(ESTIMATORS[1], split, "score")] = score
        arrays[prediction_key(ESTIMATORS[1], split, "uncertainty")] = rng.random((len(seeds), rows))
    meta = {
        "dataset": "toy",
        "data_kind": "simulated" if truth else "real",
        "estimator": ESTIMATORS[0],
        "estimators": list(ESTIMATORS),
        "rows": {"test": rows},
        "positives": {"test": int(arrays["test_labels"].sum())},
        "groups": {},
        "negative_keep": 1.0,
        "per_seed": [],
    }
    return arrays, meta


def test_metrics_layout_and_values():
    arrays, meta = _predictions()
    metrics = evaluate(arrays, meta, GRID, PARAMS).to_json()
    assert (metrics["technique"], metrics["dataset"], metrics["data_kind"], metrics["seeds"]) == (
        "uncertainty",
        "toy",
        "simulated",
        [0, 1],
    )
    assert metrics["estimator"] == "posterior_network" and set(metrics["ablations"]) == {"deep_ensemble"}
    assert set(metrics["summary"]) == {"classifier", "single", "ew_dpmt", "mist"}
    for method in ("single", "ew_dpmt", "mist"):
        for bound in ("0.3", "0.5"):
            for metric in ("recall", "precision", "holdout_recall", "holdout_precision", "feasible"):
                entry = metrics["summary"][method][f"{metric}@{bound}"]
                assert entry["n"] == 2 and len(entry["values"]) == 2 and np.isfinite(entry["values"]).all()
            holdout = metrics["summary"][method][f"holdout_precision@{bound}"]["values"]
            assert min(holdout) >= float(bound) - 1e-9  # chosen on the hold-out (with a lower bound), so met there
    # the bootstrap's point estimate is the ratio of seed-mean test recalls
    recall = {m: np.mean(metrics["summary"][m]["recall@0.5"]["values"]) for m in ("single", "ew_dpmt")}
    gain = metrics["c7"]["recall_gain"]["ew_dpmt"]["0.5"]
    assert gain["mean"] == pytest.approx(recall["ew_dpmt"] / recall["single"] - 1)
    assert gain["ci95"][0] <= gain["mean"] <= gain["ci95"][1] and gain["ci_method"] == "group_bootstrap"
    assert len(gain["values"]) == 2
    # here positivity does fall with uncertainty at a fixed score: C6 and C7 show up
    slope = metrics["summary"]["classifier"]["c6_slope_upper"]
    assert slope["outcome"] == "negative" and slope["ci_method"] == "group_bootstrap" and len(slope["values"]) == 2
    assert gain["mean"] > 0
    assert "matched_gain@0.5" in metrics["summary"]["ew_dpmt"]
    assert np.array(metrics["c6"]["rows"]).shape == (4, 2)
    assert len(metrics["c7"]["boundaries"]["mist"]["0.3"]) == 2
    # the grid of EW-DPMT and MIST, chosen per seed and bound by cross-validation on the hold-out
    candidates = len(GRID.cv_levels) * len(GRID.cv_rows_per_bin)
    for block in (metrics, metrics["ablations"]["deep_ensemble"]):
        for bound in ("0.3", "0.5"):
            grids = block["c7"]["grid"][bound]
            assert [g["seed"] for g in grids] == [0, 1]
            for grid in grids:
                assert set(grid) == {"seed", "levels", "bins", "fallback", "cv"} and len(grid["cv"]) == candidates
                admissible = [c for c in grid["cv"] if c["admissible"]]
                assert grid["fallback"] == (not admissible)
                if admissible:  # the chosen grid is an admissible candidate with the best CV recall
                    best = max(c["recall"] for c in admissible)
                    winners = [(c["levels"], c["bins"]) for c in admissible if c["recall"] == best]
                    assert (grid["levels"], grid["bins"]) in winners
    assert "boundaries" not in metrics["ablations"]["deep_ensemble"]["c7"]
    assert set(metrics["summary"]["classifier"]) >= {"test_auc", "test_average_precision", "c6_slope"}


def test_diagnostics_tell_an_informative_uncertainty_from_noise():
    arrays, meta = _predictions()
    metrics = evaluate(arrays, meta, GRID, PARAMS).to_json()
    informative, noise = metrics["diagnostics"], metrics["ablations"]["deep_ensemble"]["diagnostics"]
    # the planted truth falls with uncertainty at a fixed score: the noise-free slope is negative
    assert informative["c6_slope_truth_upper"]["mean"] < -0.5 < noise["c6_slope_truth_upper"]["mean"]
    assert informative["ceiling_max"] > noise["ceiling_max"] and informative["informative"]
    assert metrics["role"]["counts_toward_verdict"] and metrics["role"]["reachable_bounds"]


def test_real_data_have_no_diagnostics_and_a_role():
    arrays, meta = _predictions(truth=False)
    metrics = evaluate(arrays, meta, GRID, PARAMS).to_json()
    assert metrics["diagnostics"] is None and metrics["data_kind"] == "real"
    assert metrics["role"]["underpowered"]  # fewer test positives than EvaluateParams' 1000
    # power: C6's MDE is the slope's; C7's, per method, at every bound the single threshold meets on
    # the hold-out of every seed, is 2.8 bootstrap standard errors of the pooled gain
    power, slope = metrics["role"]["power"], metrics["summary"]["classifier"]["c6_slope_upper"]
    assert power["c6_mde"] == slope["mde"] and power["c6_effect"] == PARAMS.c6_effect
    for method, by_bound in power["c7_mde"].items():
        for key, mde in by_bound.items():
            gain = metrics["c7"]["recall_gain"][method][key]
            assert metrics["summary"]["single"][f"feasible@{key}"]["mean"] == 1.0
            assert mde == gain["mde"] == pytest.approx(2.8016 * gain["se"], rel=1e-4)
    assert metrics["role"]["test_rows"] == 4000


def test_a_single_seed_gives_no_interval_but_the_same_layout():
    arrays, meta = _predictions(seeds=(3,))
    metrics = evaluate(arrays, meta, GRID, PARAMS).to_json()
    assert metrics["seeds"] == [3] and metrics["summary"]["single"]["recall@0.3"]["ci95"] is None


def test_cv_off_uses_the_fixed_grid_for_every_seed_and_bound():
    arrays, meta = _predictions(seeds=(3,))
    fixed = BoundaryParams(levels=2, rows_per_bin=10, cv_levels=())
    metrics = evaluate(arrays, meta, fixed, PARAMS).to_json()
    # 4000 hold-out rows / (2 levels x 10 rows per bin) = 200 bins per level
    for bound in ("0.3", "0.5"):
        assert metrics["c7"]["grid"][bound] == [{"seed": 3, "levels": 2, "bins": 200, "fallback": False, "cv": []}]
