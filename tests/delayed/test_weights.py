"""Importance weights against values worked out by hand (notation of weights.py)."""

from __future__ import annotations

import math

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


def test_unit_control_is_esdfm_with_unit_probabilities():
    # esdfm_unit = ES-DFM's stream with weights 1 = ES-DFM's weights at p_dp = 0, p_rn = 1
    observed = torch.tensor([1.0, 0.0, 0.0])
    assert torch.equal(w.unit_weights(observed), w.esdfm_weights(observed, torch.zeros(3), torch.ones(3)))


def test_oracle_flip_weights_are_zero_on_fake_negatives():
    # events: in-window positive, fake negative (observed 0, converts), real negative, delayed positive copy
    observed = torch.tensor([1.0, 0.0, 0.0, 1.0])
    will_convert = torch.tensor([1.0, 1.0, 0.0, 1.0])
    flip = w.oracle_flip(observed, will_convert)
    assert torch.equal(flip, torch.tensor([0.0, 1.0, 0.0, 0.0]))
    # p_dp = 0.25: w = 1.25 everywhere except the fake negative, 0
    out = w.pcaw_weights(observed, torch.full((4,), 0.25), flip)
    assert torch.equal(out, torch.tensor([1.25, 0.0, 1.25, 1.25]))


def test_defuse_weights_and_labels():
    # events: in-window positive, observed negative with z = 0.3, delayed positive's duplicate; p_dp = 0.1
    observed = torch.tensor([1.0, 0.0, 1.0])
    duplicate = torch.tensor([False, False, True])
    out = w.defuse_weights(observed, duplicate, torch.full((3,), 0.1))
    assert torch.allclose(out, torch.tensor([1.1, 1.1, 0.0]))
    labels = w.defuse_labels(observed, torch.tensor([0.9, 0.3, 0.9]))
    assert torch.allclose(labels, torch.tensor([1.0, 0.3, 1.0]))


def test_defuse_loss_by_hand():
    # f = sigmoid(0) = 0.5: BCE(0.5, t) = log 2 for any t; loss = (1.1 log2 + 1.1 log2 + 0) / 3
    logits = torch.zeros(3)
    observed = torch.tensor([1.0, 0.0, 1.0])
    weights = w.defuse_weights(observed, torch.tensor([False, False, True]), torch.full((3,), 0.1))
    labels = w.defuse_labels(observed, torch.tensor([0.0, 0.3, 0.0]))
    assert w.weighted_bce(logits, labels, weights).item() == pytest.approx(2.2 * math.log(2) / 3)
    # f = sigmoid(log 3) = 0.75, z = 0.3: z(-log 0.75) + (1 - z)(-log 0.25), times w = 1.1
    loss = w.weighted_bce(torch.tensor([math.log(3)]), torch.tensor([0.3]), torch.tensor([1.1]))
    assert loss.item() == pytest.approx(1.1 * (-0.3 * math.log(0.75) - 0.7 * math.log(0.25)))


def test_defuse_is_unbiased_for_a_fixed_x():
    # per click: IP with p_ip, observed negative with p_dp + p_neg (z = p_dp / (p_dp + p_neg)), DP copy with p_dp.
    # The expected DEFUSE loss equals the loss on the true labels times (1 + p_dp), for every f.
    p_ip, p_dp, p_neg = 0.1, 0.2, 0.7
    z = p_dp / (p_dp + p_neg)
    for f in (0.1, 0.4, 0.8):
        logit = torch.tensor([math.log(f / (1 - f))])
        def bce(t, weight):
            return w.weighted_bce(logit, torch.tensor([t]), torch.tensor([weight])).item()
        expected = p_ip * bce(1.0, 1 + p_dp) + (p_dp + p_neg) * bce(z, 1 + p_dp) + p_dp * bce(1.0, 0.0)
        truth = (1 + p_dp) * ((p_ip + p_dp) * -math.log(f) + p_neg * -math.log(1 - f))
        assert expected == pytest.approx(truth)


def test_reliability_table_by_hand():
    import numpy as np

    from recsys_challenges.delayed.auxiliary import reliability

    # 4 rows: signals seen 0, 0, 1, 3; head 0 on every row, head 1 masked out on the last
    probabilities = np.array([[0.1, 0.9], [0.3, 0.7], [0.5, 0.4], [0.8, 0.2]])
    labels = np.array([[0.0, 1.0], [1.0, 1.0], [1.0, 0.0], [1.0, 0.0]])
    masks = np.array([[1.0, 1.0], [1.0, 1.0], [1.0, 1.0], [1.0, 0.0]])
    table = {(r["head"], r["group"]): (r["rows"], r["predicted"], r["observed"])
             for r in reliability(probabilities, labels, masks, np.array([0, 0, 1, 3]), ("dp", "rn"))}
    assert table[("dp", "no_signal")] == (2, 0.2, 0.5)
    assert table[("dp", "one_signal")] == (1, 0.5, 1.0)
    assert table[("dp", "two_or_more")] == (1, 0.8, 1.0)
    assert table[("rn", "no_signal")] == (2, 0.8, 1.0)
    assert table[("rn", "two_or_more")] == (0, None, None)
