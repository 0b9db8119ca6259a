"""The asymmetric link loss (:mod:`recsys_challenges.directed.losses`)."""

from __future__ import annotations

import math

import pytest
import torch

from recsys_challenges.directed.losses import asymmetric_link_loss


def test_loss_on_a_hand_made_four_node_graph():
    # Edges 0->1 and 1->2 (one-way) and 2->3, 3->2 (reciprocal), scalar embeddings s = t = (1, 2, 0, -1):
    #   x(0->1) = s0 t1 = 2, x(1->2) = 0, x(2->3) = 0, x(3->2) = 0; one negative each: 0->3: -1, 1->0: 2,
    #   2->0: 0, 3->1: -2; reversed pairs: x(1->0) = 2, x(2->1) = 0 (one-way), 2->3 and 3->2 reciprocal.
    # softplus(z) = log(1 + e^z); per edge = softplus(-x) + w_r softplus(x_neg) + w_h [one-way] softplus(x_rev)
    embedding = torch.tensor([1.0, 2.0, 0.0, -1.0])
    edges = torch.tensor([[0, 1, 2, 3], [1, 2, 3, 2]])
    negatives = torch.tensor([[3], [0], [0], [1]])
    x = embedding[edges[0]] * embedding[edges[1]]
    neg = embedding[edges[0]][:, None] * embedding[negatives]
    rev = embedding[edges[1]] * embedding[edges[0]]
    one_way = torch.tensor([True, True, False, False])
    loss = asymmetric_link_loss(x, neg, rev, one_way, negative_weight=0.5, hard_negative_weight=2.0)
    sp = lambda z: math.log1p(math.exp(z))  # noqa: E731
    by_hand = (
        (sp(-2) + 0.5 * sp(-1) + 2 * sp(2))
        + (sp(0) + 0.5 * sp(2) + 2 * sp(0))
        + (sp(0) + 0.5 * sp(0))
        + (sp(0) + 0.5 * sp(-2))
    ) / 4
    assert loss.item() == pytest.approx(by_hand, rel=1e-6)


def test_reversed_term_only_counts_one_way_edges():
    positive, negative, reversed_score = torch.zeros(2), torch.zeros(2, 3), torch.tensor([5.0, 5.0])
    with_flag = asymmetric_link_loss(positive, negative, reversed_score, torch.tensor([True, False]), 1.0, 1.0)
    without = asymmetric_link_loss(positive, negative, reversed_score, torch.tensor([False, False]), 1.0, 1.0)
    assert (with_flag - without).item() == pytest.approx(math.log1p(math.exp(5.0)) / 2, rel=1e-6)
