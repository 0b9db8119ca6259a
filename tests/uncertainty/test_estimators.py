from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.special import digamma

from recsys_challenges.uncertainty.config import ModelParams, TrainParams
from recsys_challenges.uncertainty.estimators import (
    ESTIMATORS,
    BatchedLinear,
    Dropout,
    EnsembleMLP,
    GaussianMixtureDensity,
    PosteriorNetwork,
    beta_score_and_variance,
    ensemble_loss,
    predict_logits,
    score_and_logit_variance,
    uce_loss,
)
from recsys_challenges.uncertainty.loop import copy_rows, fit_and_predict


def test_batched_linear_is_one_linear_layer_per_member():
    torch.manual_seed(0)
    layer = BatchedLinear(3, 4, 2)
    x = torch.randn(3, 5, 4)
    expected = torch.stack([x[m] @ layer.weight[m] + layer.bias[m] for m in range(3)])
    assert torch.allclose(layer(x), expected, atol=1e-6)


def test_ensemble_loss_by_hand():
    # logits 0 -> BCE log 2 for either label; mean over 2 rows, sum over 2 members: 2 log 2
    assert ensemble_loss(torch.zeros(2, 2), torch.tensor([0, 1])).item() == pytest.approx(2 * np.log(2))
    # per-member labels: member 0 sees (1, 1), member 1 sees (0, 0); logits 0 -> the same 2 log 2
    assert ensemble_loss(torch.zeros(2, 2), torch.tensor([[1, 1], [0, 0]])).item() == pytest.approx(2 * np.log(2))


def test_beta_head_score_and_uncertainty_by_hand():
    # alpha 3, beta 1: score 3/4, variance 3 * 1 / (4^2 * 5) = 0.0375;
    # alpha = beta = 1 (no evidence): score 1/2, variance 1 / (4 * 3) = 1/12
    score, variance = beta_score_and_variance(np.array([[1.0, 3.0], [1.0, 1.0]]))
    assert score == pytest.approx([0.75, 0.5]) and variance == pytest.approx([0.0375, 1 / 12])


def test_uce_loss_by_hand():
    # Beta(1, 1): psi(2) - psi(1) = 1 for either label, entropy 0 -> loss 1
    assert uce_loss(torch.ones(2, 2), torch.tensor([0, 1]), entropy_weight=0.5).item() == pytest.approx(1.0)
    # alpha 3, beta 1, label 1: psi(4) - psi(3) = 1/3; label 0: psi(4) - psi(1) = 1 + 1/2 + 1/3
    concentrations = torch.tensor([[1.0, 3.0], [1.0, 3.0]])
    expected = (1 / 3 + (1 + 1 / 2 + 1 / 3)) / 2
    assert uce_loss(concentrations, torch.tensor([1, 0]), 0.0).item() == pytest.approx(expected, rel=1e-5)
    assert expected == pytest.approx(((digamma(4) - digamma(3)) + (digamma(4) - digamma(1))) / 2)


def test_score_and_logit_variance_by_hand():
    # log-odds draws 0 and log 3: probabilities 1/2 and 3/4 -> score 5/8, variance (log 3 / 2)^2
    score, variance = score_and_logit_variance(np.array([[0.0], [math.log(3)]]))
    assert score == pytest.approx([0.625]) and variance == pytest.approx([(math.log(3) / 2) ** 2])


def test_mixture_density_is_normalised():
    torch.manual_seed(0)
    density = GaussianMixtureDensity(dim=1, components=3)
    grid = torch.linspace(-12, 12, 20001)[:, None]
    integral = torch.trapezoid(torch.exp(density.log_prob(grid)), grid[:, 0]).item()
    assert integral == pytest.approx(1.0, abs=1e-4)


def _network(members=3, dropout=0.0):
    torch.manual_seed(1)
    return EnsembleMLP(members, numeric_features=2, cardinalities=(4, 3), embedding_dim=2, hidden=(8,), dropout=dropout)


def test_members_are_independent_networks_and_can_see_their_own_rows():
    net = _network()
    numeric, categorical = torch.randn(6, 2), torch.randint(0, 3, (6, 2))
    before = net(numeric, categorical)[..., 0]
    assert before.shape == (3, 6)
    assert not torch.allclose(before[0], before[1])  # independent initialisations
    with torch.no_grad():  # member 1's embedding table only moves member 1
        net.embedding.weight[net.vocabulary : 2 * net.vocabulary] += 1.0
    after = net(numeric, categorical)[..., 0]
    assert torch.allclose(before[[0, 2]], after[[0, 2]]) and not torch.allclose(before[1], after[1])
    # member-major rows (M, B, ...): feeding every member the same rows equals the shared form
    shared = net(numeric.expand(3, -1, -1), categorical.expand(3, -1, -1))[..., 0]
    assert torch.allclose(shared, after)


def test_bootstrap_rows_differ_per_member_and_identity_otherwise():
    rows = copy_rows(1000, 5, bootstrap=True, rng=np.random.default_rng(0))
    assert rows.shape == (1000, 5) and rows.min() >= 0 and rows.max() < 1000
    assert not np.array_equal(rows[:, 0], rows[:, 1])
    assert 0.55 < np.unique(rows[:, 0]).size / 1000 < 0.71  # a bootstrap sample holds ~63% of the rows
    assert np.array_equal(copy_rows(4, 1, bootstrap=False, rng=np.random.default_rng(0))[:, 0], np.arange(4))


def test_mc_dropout_draws_vary_and_eval_draws_do_not():
    numeric, categorical = np.random.default_rng(0).normal(size=(5, 2)).astype(np.float32), np.zeros((5, 2), np.int64)
    ensemble = _network(members=4)
    first = predict_logits(ensemble, numeric, categorical, passes=1, stochastic=False)
    assert first.shape == (4, 5) and np.array_equal(first, predict_logits(ensemble, numeric, categorical, 1, False))
    dropout = _network(members=1, dropout=0.5)
    draws = predict_logits(dropout, numeric, categorical, passes=20, stochastic=True)
    assert draws.shape == (20, 5) and (draws.var(axis=0) > 0).all()
    assert not dropout.training  # left in eval mode


def test_dropout_by_hand():
    """Units kept where torch.rand(...) >= p, scaled by 1 / (1 - p); eval mode and p = 0 pass through."""
    x = torch.full((4, 1000), 3.0)
    torch.manual_seed(5)
    out = Dropout(0.25).train()(x)
    torch.manual_seed(5)
    keep = torch.rand(4, 1000) >= 0.25
    assert torch.equal(out, torch.where(keep, 4.0, 0.0))  # 3 / (1 - 0.25)
    assert Dropout(0.25).eval()(x) is x and Dropout(0.0).train()(x) is x


def test_mc_dropout_never_draws_from_bernoulli(monkeypatch):
    """torch draws bernoulli_ (nn.Dropout's masks) from MKL's stream on Intel CPUs and from its own
    generator elsewhere: the MC dropout network must not reach it, in training or in prediction."""

    def vendor_dependent(*args, **kwargs):
        raise AssertionError("bernoulli_ draws differ between Intel and AMD CPUs")

    for module, name in ((torch.Tensor, "bernoulli_"), (torch, "bernoulli"), (torch, "dropout"),
                         (torch.nn.functional, "dropout")):
        monkeypatch.setattr(module, name, vendor_dependent)
    numeric, categorical = np.random.default_rng(0).normal(size=(5, 2)).astype(np.float32), np.zeros((5, 2), np.int64)
    network = _network(members=1, dropout=0.5)
    network.train()(torch.from_numpy(numeric), torch.from_numpy(categorical)).sum().backward()
    assert predict_logits(network, numeric, categorical, passes=3, stochastic=True).shape == (3, 5)


def test_estimator_registry_covers_the_config_choices():
    params = TrainParams()
    assert set(ESTIMATORS) == {"density_posterior", "posterior_network", "deep_ensemble", "mc_dropout"}
    assert params.estimator == "density_posterior"
    assert set(params.ablations) == {"posterior_network", "deep_ensemble", "mc_dropout"}
    assert ESTIMATORS["deep_ensemble"].copies(params) == params.deep_ensemble.members >= 5
    assert ESTIMATORS["deep_ensemble"].bootstrap(params)
    assert ESTIMATORS["posterior_network"].copies(params) == ESTIMATORS["mc_dropout"].copies(params) == 1
    network = ESTIMATORS["posterior_network"].build(params, 2, (4,), (90, 10))
    assert isinstance(network, PosteriorNetwork)
    assert network.log_counts.tolist() == pytest.approx([math.log(90), math.log(10)])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_density_evidence_grows_with_training_density(seed):
    """Property of the posterior network's evidence ``N p(z)``: fitted by maximum likelihood to latents
    of which 90% lie around one point and 10% around another, the mixture density gives the dense
    region more evidence than the sparse one, and both far more than a point no training row is near.

    (End to end, the encoder decides where rows land: on a toy with rare categorical values the
    trained network did not map them to low-density regions; see the T3 README's positive control.)"""
    generator = torch.Generator().manual_seed(seed)
    dense = torch.randn(900, 2, generator=generator) * 0.3 + torch.tensor([1.5, 0.0])
    sparse = torch.randn(100, 2, generator=generator) * 0.3 + torch.tensor([-1.5, 0.0])
    latents = torch.cat([dense, sparse])
    torch.manual_seed(seed)
    density = GaussianMixtureDensity(dim=2, components=3)
    optimizer = torch.optim.Adam(density.parameters(), lr=0.05)
    for _ in range(300):
        optimizer.zero_grad()
        (-density.log_prob(latents).mean()).backward()
        optimizer.step()
    with torch.no_grad():
        evidence = len(latents) * torch.exp(density.log_prob(torch.tensor([[1.5, 0.0], [-1.5, 0.0], [0.0, 4.0]])))
    assert evidence[0] > 3 * evidence[1] > 3 * evidence[2]


def test_posterior_network_learns_the_label():
    from tests.uncertainty.test_train import _table  # the shared toy table

    params = TrainParams(
        seeds=(0,),
        estimator="posterior_network",
        ablations=(),
        model=ModelParams(hidden=(16,), embedding_dim=2, batch_size=128, epochs=6, learning_rate=0.01),
    )
    test = _table(1000, seed=2)
    score, variance = fit_and_predict(_table(2000, seed=1), {"test": test}, params, seed=0, logger=False)["test"]
    from sklearn.metrics import roc_auc_score

    assert roc_auc_score(test.labels, score) > 0.9 and (variance > 0).all() and (variance <= 0.25).all()
