"""Importance weights against values worked out by hand (notation of weights.py)."""

from __future__ import annotations

import pytest
import torch

from recsys_challenges.delayed import weights as w

OBSERVED = torch.tensor([1.0, 0.0])


def test_unit_weights_are_one():
    assert torch.equal(w.unit_weights(OBSERVED), torch.ones(2))


def test_fnw_weights():
    # f = 0.2: w+ = 1 + 0.2 = 1.2; w- = (1 - 0.2)(1 + 0.2) = 0.96
    out = w.fnw_weights(OBSERVED, torch.tensor([0.2, 0.2]))
    assert torch.allclose(out, torch.tensor([1.2, 0.96]))


def test_fsiw_weights_and_cap():
    # positive: 1 / P(c=1|y=1,x,e) = 1/0.5 = 2; negative: P(y=0|c=0,x,e) = 0.9;
    # positive with completion 0.05: 1/0.05 = 20, capped at max_weight = 10
    out = w.fsiw_weights(torch.tensor([1.0, 0.0, 1.0]), torch.tensor([0.5, 0.3, 0.05]),
                         torch.tensor([0.2, 0.9, 0.2]), max_weight=10.0)
    assert torch.allclose(out, torch.tensor([2.0, 0.9, 10.0]))


def test_esdfm_weights():
    # p_dp = 0.1, p_rn = 0.8: w+ = 1 + 0.1 = 1.1; w- = 1.1 * 0.8 = 0.88
    out = w.esdfm_weights(OBSERVED, torch.tensor([0.1, 0.1]), torch.tensor([0.8, 0.8]))
    assert torch.allclose(out, torch.tensor([1.1, 0.88]))


def test_defer_weights_and_cap():
    # f = 0.4, p_dp = 0.2: w+ = 0.4 / (0.4 - 0.1) = 4/3; w- = 0.6 / (0.6 + 0.1) = 6/7
    out = w.defer_weights(OBSERVED, torch.tensor([0.4, 0.4]), torch.tensor([0.2, 0.2]), max_weight=10.0)
    assert torch.allclose(out, torch.tensor([4 / 3, 6 / 7]))
    # f = 0.1, p_dp = 0.2: f - p_dp/2 = 0 would divide by zero: the weight is capped at 10
    capped = w.defer_weights(torch.tensor([1.0]), torch.tensor([0.1]), torch.tensor([0.2]), max_weight=10.0)
    assert torch.allclose(capped, torch.tensor([10.0]))


def test_pcaw_weights_lower_a_likely_flip():
    # p_dp = 0.1: w+ = 1.1; flip probability 0.25: w- = 1.1 * (1 - 0.25) = 0.825
    out = w.pcaw_weights(OBSERVED, torch.tensor([0.1, 0.1]), torch.tensor([0.25, 0.25]))
    assert torch.allclose(out, torch.tensor([1.1, 0.825]))
    # a stronger signal (flip 0.6) gives a lower weight as a negative: 1.1 * 0.4 = 0.44
    strong = w.pcaw_weights(torch.tensor([0.0]), torch.tensor([0.1]), torch.tensor([0.6]))
    assert torch.allclose(strong, torch.tensor([0.44]))


def test_weighted_bce_value_and_gradient_with_stopped_weights():
    logits = torch.zeros(2, requires_grad=True)
    observed = torch.tensor([1.0, 0.0])
    # weights computed from the model's own prediction must not carry a gradient
    weights = w.fnw_weights(observed, torch.sigmoid(logits))  # f = 0.5: [1.5, 0.75]
    assert not weights.requires_grad
    loss = w.weighted_bce(logits, observed, weights)
    # BCE at logit 0 is ln 2 for both: mean(1.5 ln2, 0.75 ln2) = 1.125 ln 2
    assert loss.item() == pytest.approx(1.125 * 0.6931471805599453)
    loss.backward()
    # d/dlogit_i = w_i (sigmoid(0) - y_i) / B = [1.5 * -0.5 / 2, 0.75 * 0.5 / 2]
    assert torch.allclose(logits.grad, torch.tensor([-0.375, 0.1875]))
