from __future__ import annotations

import numpy as np

from recsys_challenges.uncertainty.bench import benchmark
from recsys_challenges.uncertainty.config import BenchParams


def test_benchmark_reports_every_timing_and_the_targets():
    result = benchmark(BenchParams(rows=5000, levels=3, bins=10, repeats=1))
    assert set(result["seconds"]) >= {"single", "ew_dpmt", "mist", "binning_only", "ew_dpmt_dp_only", "ew_dpmt_detrended_lcb"}
    assert all(np.isfinite(s) and s > 0 for s in result["seconds"].values())
    assert result["ratio_to_single"]["ew_dpmt"] == result["seconds"]["ew_dpmt"] / result["seconds"]["single"]
    assert set(result["targets_met"]) == {"ew_dpmt_seconds", "ew_dpmt_detrended_lcb_seconds", "ew_dpmt_ratio_to_single"}


def test_training_seconds_sums_each_estimator_over_seeds(tmp_path):
    import json

    from recsys_challenges.uncertainty.bench import training_seconds

    (tmp_path / "sim").mkdir()
    (tmp_path / "sim/meta.json").write_text(json.dumps({"per_seed": [
        {"seed": 0, "seconds": {"density_posterior": 1.5, "deep_ensemble": 4.0}},
        {"seed": 1, "seconds": {"density_posterior": 2.0, "deep_ensemble": 5.0}},
    ]}))
    (tmp_path / "mine").mkdir()  # a user's own scores: nothing trained
    (tmp_path / "mine/meta.json").write_text(json.dumps({"per_seed": [{"seed": 0, "seconds": 0.0}]}))
    assert training_seconds(tmp_path) == {
        "per_dataset": {"mine": {}, "sim": {"density_posterior": 3.5, "deep_ensemble": 9.0}}, "total": 12.5
    }


def test_harness_throughput_section_shape():
    import torch

    from recsys_challenges.uncertainty.bench import harness_throughput
    from recsys_challenges.uncertainty.config import ModelParams, TrainParams
    from tests.uncertainty.test_train import _table

    train = _table(1000, seed=1)
    params = TrainParams(seeds=(0,), ablations=(), model=ModelParams(hidden=(8,), embedding_dim=2, batch_size=100,
                                                                      epochs=3, min_steps_per_epoch=5))
    section = harness_throughput(train, train.numeric, params, None, repeats=2)
    assert section["epochs"] == 3 and section["steps_per_epoch"] == 10 and section["batch_size"] == 100
    assert section["examples"] == 3 * 10 * 100 and section["rounds"] == 2
    for arm in ("package", "plain"):
        assert len(section[arm]["cpu_s_all"]) == 2 and section[arm]["examples_per_s"] > 0
    assert section["ratio"] > 0 and section["ratio_wall"] > 0
    assert torch.get_num_threads() == params.torch_threads


def test_harness_dataset_is_the_first_real_one(tmp_path):
    import pytest
    import yaml

    from recsys_challenges.errors import ConfigError
    from recsys_challenges.uncertainty.bench import harness_dataset
    from tests.conftest import ROOT

    assert harness_dataset(ROOT / "params.yaml") == "kddcup2004_protein"
    datasets = {"sim": {"folder": "x", "loader": "criteo", "kind": "simulated"},
                "head": {"folder": "y", "loader": "criteo", "kind": "real"}}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({"uncertainty": {"datasets": datasets}}))
    assert harness_dataset(tmp_path / "params.yaml") == "head"
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({"uncertainty": {"datasets": {"sim": datasets["sim"]}}}))
    with pytest.raises(ConfigError):
        harness_dataset(tmp_path / "params.yaml")
