from __future__ import annotations

import numpy as np
import pytest
import torch

from recsys_challenges.uncertainty.config import TrainParams
from recsys_challenges.uncertainty.estimators import (
    ESTIMATORS,
    BatchedLinear,
    EnsembleMLP,
    ensemble_loss,
    mean_and_variance,
    predict_draws,
)


def test_batched_linear_is_one_linear_layer_per_member():
    torch.manual_seed(0)
    layer = BatchedLinear(3, 4, 2)
    x = torch.randn(3, 5, 4)
    expected = torch.stack([x[m] @ layer.weight[m] + layer.bias[m] for m in range(3)])
    assert torch.allclose(layer(x), expected, atol=1e-6)


def test_ensemble_loss_by_hand():
    # logits 0 -> BCE log 2 for either label; mean over 2 rows, sum over 2 members: 2 log 2
    assert ensemble_loss(torch.zeros(2, 2), torch.tensor([0, 1])).item() == pytest.approx(2 * np.log(2))


def test_mean_and_variance_by_hand():
    # draws 0.2, 0.4 -> mean 0.3, variance 0.01; draws 0.5, 0.5 -> 0.5, 0
    mean, variance = mean_and_variance(np.array([[0.2, 0.5], [0.4, 0.5]]))
    assert mean == pytest.approx([0.3, 0.5]) and variance == pytest.approx([0.01, 0.0])


def _network(members=3, dropout=0.0):
    torch.manual_seed(1)
    return EnsembleMLP(members, numeric_features=2, cardinalities=(4, 3), embedding_dim=2, hidden=(8,), dropout=dropout)


def test_members_are_independent_networks():
    net = _network()
    numeric, categorical = torch.randn(6, 2), torch.randint(0, 3, (6, 2))
    before = net(numeric, categorical)
    assert before.shape == (3, 6)
    assert not torch.allclose(before[0], before[1])  # independent initialisations
    with torch.no_grad():  # member 1's embedding table only moves member 1
        net.embedding.weight[net.vocabulary : 2 * net.vocabulary] += 1.0
    after = net(numeric, categorical)
    assert torch.allclose(before[[0, 2]], after[[0, 2]]) and not torch.allclose(before[1], after[1])


def test_deep_ensemble_draws_are_deterministic_and_mc_dropout_draws_vary():
    numeric, categorical = np.random.default_rng(0).normal(size=(5, 2)).astype(np.float32), np.zeros((5, 2), np.int64)
    ensemble = _network(members=4)
    first = predict_draws(ensemble, numeric, categorical, passes=1, stochastic=False)
    assert first.shape == (4, 5) and np.array_equal(first, predict_draws(ensemble, numeric, categorical, 1, False))
    dropout = _network(members=1, dropout=0.5)
    draws = predict_draws(dropout, numeric, categorical, passes=20, stochastic=True)
    assert draws.shape == (20, 5) and (draws.var(axis=0) > 0).all()
    assert not dropout.training  # left in eval mode


def test_estimator_registry_covers_the_config_choices():
    params = TrainParams()
    assert set(ESTIMATORS) == {"deep_ensemble", "mc_dropout"}
    assert ESTIMATORS["deep_ensemble"].members(params) == params.deep_ensemble.members >= 5
    assert ESTIMATORS["mc_dropout"].members(params) == 1 and ESTIMATORS["mc_dropout"].dropout(params) > 0
