"""The ``directed`` params section is strict (:mod:`recsys_challenges.directed.config`)."""

from __future__ import annotations

import pytest

from recsys_challenges.directed import config as cfg
from recsys_challenges.errors import ConfigError


def _write(tmp_path, text):
    path = tmp_path / "params.yaml"
    path.write_text(text)
    return path


def test_unknown_encoder_is_rejected_with_its_key(tmp_path):
    path = _write(tmp_path, "directed:\n  methods:\n    mine: {encoder: transformer}\n")
    with pytest.raises(ConfigError, match=r"directed.*mine.*unknown encoder 'transformer'"):
        cfg.load_methods(path)


def test_bad_fanout_bounds_and_unknown_keys_are_rejected(tmp_path):
    path = _write(tmp_path, "directed:\n  sampling: {fanout: 10, min_fanout: 20}\n")
    with pytest.raises(ConfigError, match="min_fanout <= fanout"):
        cfg.load(cfg.SamplingParams, "sampling", path)
    path = _write(tmp_path, "directed:\n  train: {batchsize: 10}\n")
    with pytest.raises(ConfigError, match="unknown key 'batchsize'"):
        cfg.load(cfg.TrainParams, "train", path)


def test_the_project_params_load():
    assert cfg.load_datasets()  # run from the project root (pytest's rootdir)
    assert set(cfg.load_methods()) >= {"dual_adaptive", "dual_fixed"}
    for cls, name in [(cfg.ExperimentParams, "experiment"), (cfg.TrainParams, "train"), (cfg.BenchParams, "bench")]:
        cfg.load(cls, name)
