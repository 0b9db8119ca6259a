"""Training on a tiny real subgraph (:mod:`recsys_challenges.directed.loop`)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from recsys_challenges.data.sources.citation import cora_ml
from recsys_challenges.directed import config as cfg
from recsys_challenges.directed.sampling import realised_budget
from recsys_challenges.directed.splits import split_edges
from recsys_challenges.directed.loop import EpochBatches, batch_size_for, method_relations, train_method, validation_set
from recsys_challenges.tracking import TrackingParams


@pytest.fixture(scope="module")
def subgraph(mirror):
    """The Cora-ML citations among its first 500 papers (real data, seconds to train on)."""
    graph = cora_ml(mirror / "citation" / "cora_ml_bojchevski")
    edges = graph.edge_index[:, (graph.edge_index < 500).all(0)]
    return edges, 500


def test_adaptive_and_fixed_fanouts_spend_the_same_mean_budget(subgraph):
    edges, num_nodes = subgraph
    params = cfg.SamplingParams(fanout=3)
    fixed = method_relations(cfg.MethodParams(encoder="dual", fanout_rule="fixed"), torch.from_numpy(edges), num_nodes, params)
    for pool in ("first_hop", "two_hop"):
        adaptive = method_relations(
            cfg.MethodParams(encoder="dual", fanout_rule="inverse_power", pool=pool), torch.from_numpy(edges), num_nodes, params
        )
        for name in ("out", "in"):
            degree = fixed[name].csr.degree()
            target = realised_budget(fixed[name].fanout, degree)
            assert adaptive[name].two_hop == (pool == "two_hop")
            assert realised_budget(adaptive[name].fanout, degree, adaptive[name].two_hop) == pytest.approx(target, rel=0.05)


def test_epoch_batches_walk_seeded_passes():
    # 10 edges, batches of 4 (3 per pass: 4, 4, 2), 2 steps per epoch: epoch 1 ends pass 0 and starts pass 1
    batches = EpochBatches(10, 4, 2, seed=0)
    epochs = []
    for epoch in range(3):
        batches.sampler.set_epoch(epoch)  # what Lightning calls every epoch
        epochs.append(list(batches))
    assert [len(b) for e in epochs for b in e] == [4, 4, 2, 4, 4, 2]
    assert sorted(sum(epochs[0] + epochs[1][:1], [])) == list(range(10))  # pass 0: every edge once
    assert sorted(sum(epochs[1][1:] + epochs[2], [])) == list(range(10))  # pass 1
    assert epochs[0] + epochs[1][:1] != epochs[1][1:] + epochs[2]  # reshuffled
    again = EpochBatches(10, 4, 2, seed=0)
    again.sampler.set_epoch(2)
    assert list(again) == epochs[2]  # depends on (seed, epoch) only: a resumed run repeats it


def test_one_epoch_of_every_method_on_a_real_subgraph(subgraph, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    edges, num_nodes = subgraph
    split = split_edges(edges, num_nodes, 0.05, 0.10, seed=0)
    params = {
        "sampling": cfg.SamplingParams(),
        "model": cfg.ModelParams(dim=8, num_layers=2),
        "loss": cfg.LossParams(),
        "train": dataclasses.replace(cfg.TrainParams(), max_epochs=1, min_epochs=1, val_candidates=100),
    }
    validation = validation_set(edges, num_nodes, split, params["train"], seed=0)
    for method in (
        cfg.MethodParams(encoder="dual", fanout_rule="inverse_power"),
        cfg.MethodParams(encoder="sage", hard_negative_weight=0.0),
        cfg.MethodParams(encoder="shallow"),
        cfg.MethodParams(encoder="gravity", fanout_rule="full"),
    ):
        source, target, record = train_method(
            method.encoder, method, "cora_ml_500", edges, num_nodes, split, validation, 0, params,
            TrackingParams(csv=False, wandb=False),
        )
        assert source.shape == target.shape == (num_nodes, 8)
        assert np.isfinite(source).all() and np.isfinite(target).all()
        assert record["epochs_run"] == 1 and 0 < record["val_mrr"] <= 1
        assert record["batch_size"] == batch_size_for(split.train.size, params["train"])
        assert record["budget_bound"]  # a one-epoch cap binds
        assert 0 <= record["neighbourhood_difference"]["overall"] <= 1


def test_validation_every_second_epoch_selects_and_stops_at_validations(subgraph):
    """val_every=2: MRR is measured after epochs 2, 4, ... (indices 1, 3, ...), the selected epoch is one
    of them, early stopping counts epochs since the best, and epochs_run counts trained epochs."""
    edges, num_nodes = subgraph
    split = split_edges(edges, num_nodes, 0.05, 0.10, seed=0)
    train = dataclasses.replace(cfg.TrainParams(), max_epochs=7, min_epochs=1, patience=2, val_every=2,
                                checkpoint_every=2, learning_rate=0.02)
    params = {"sampling": cfg.SamplingParams(), "model": cfg.ModelParams(dim=8, num_layers=2),
              "loss": cfg.LossParams(), "train": train}
    validation = validation_set(edges, num_nodes, split, train, seed=0)
    method = cfg.MethodParams(encoder="shallow")
    _, _, record = train_method("shallow", method, "cora_ml_500", edges, num_nodes, split, validation, 0, params,
                                TrackingParams(csv=False, wandb=False))
    validated = [2 * i + 1 for i in range(len(record["val_curve"]))]  # epoch indices with a validation
    assert record["selected_epoch"] in validated
    assert record["val_mrr"] == max(record["val_curve"])
    stopped = record["epochs_run"] < 7
    # a stop happens at a validation `patience` (or more) epochs after the best; without one, all 7 epochs
    # ran and the 7th (index 6) was not validated
    assert record["epochs_run"] == (validated[-1] + 1 if stopped else 7)
    assert len(record["val_curve"]) == (len(validated) if stopped else 3)
    if stopped:
        assert validated[-1] - record["selected_epoch"] >= 2


def test_checkpoints_must_fall_on_validations():
    with pytest.raises(ValueError, match="multiple of val_every"):
        dataclasses.replace(cfg.TrainParams(), val_every=2, checkpoint_every=3)
