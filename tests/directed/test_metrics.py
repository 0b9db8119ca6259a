"""Ranking and direction metrics (:mod:`recsys_challenges.directed.metrics`)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from ogb.linkproppred import Evaluator

from recsys_challenges.directed.metrics import (
    degree_buckets,
    direction_auc,
    hit_rate,
    mean_reciprocal_rank,
    pooled_direction_auc,
    ranks_against,
    sample_candidates,
    sampled_ranks,
)
from recsys_challenges.directed import metrics
from recsys_challenges.directed.models import dot_pair_scores, gravity_pair_scores


def test_ranks_hit_rate_and_mrr_by_hand():
    true = torch.tensor([0.9, 0.5, 0.2])
    candidates = torch.tensor([[0.1, 0.2, 0.3], [0.6, 0.5, 0.1], [0.3, 0.4, 0.5]])
    # query 1: nothing higher -> 1; query 2: one higher (0.6), one tie (0.5) -> 1 + 1 + 0.5 = 2.5; query 3: 4
    ranks = ranks_against(true, candidates).numpy()
    assert ranks.tolist() == [1.0, 2.5, 4.0]
    assert hit_rate(ranks, 1) == pytest.approx(1 / 3) and hit_rate(ranks, 3) == pytest.approx(2 / 3)
    assert mean_reciprocal_rank(ranks) == pytest.approx((1 + 1 / 2.5 + 1 / 4) / 3)


def test_mrr_and_hits_agree_with_ogb_evaluator():
    rng = np.random.default_rng(0)
    true = torch.from_numpy(rng.normal(size=200))
    candidates = torch.from_numpy(np.round(rng.normal(size=(200, 100)), 1))  # rounded: ties happen
    ranks = ranks_against(true, candidates).numpy()
    result = Evaluator(name="ogbl-citation2").eval({"y_pred_pos": true, "y_pred_neg": candidates})
    assert mean_reciprocal_rank(ranks) == pytest.approx(result["mrr_list"].mean().item())
    assert hit_rate(ranks, 10) == pytest.approx(result["hits@10_list"].mean().item())


def test_direction_auc_paired_and_pooled_by_hand():
    forward, backward = np.array([3.0, 1.0, 2.0, 0.0]), np.array([1.0, 1.0, 3.0, -1.0])
    # pairs: win, tie, loss, win -> (1 + 0.5 + 0 + 1) / 4
    assert direction_auc(forward, backward) == pytest.approx(0.625)
    # pooled, all 16 forward-backward pairs (wins + half ties): f=3: 3 + 0.5 (tie with 3); f=1: 1 (> -1)
    # + 2 x 0.5 (ties with 1, 1); f=2: 3; f=0: 1 -> 9.5 / 16
    assert pooled_direction_auc(forward, backward) == pytest.approx(9.5 / 16)
    symmetric = np.array([0.3, 0.7])
    assert direction_auc(symmetric, symmetric) == 0.5 and pooled_direction_auc(symmetric, symmetric) == 0.5


def test_degree_buckets_are_equal_count_and_ordered():
    degree = np.array([5, 1, 1, 9, 3, 1, 7, 2])
    bucket = degree_buckets(degree, 4)
    assert np.bincount(bucket).tolist() == [2, 2, 2, 2]
    # stable ascending order: 1(idx1) 1(idx2) | 1(idx5) 2 | 3 5 | 7 9
    assert bucket.tolist() == [2, 0, 0, 3, 2, 1, 3, 1]


def test_candidates_are_never_the_source_or_a_known_target():
    known = np.array([[0, 0, 0, 1], [1, 2, 3, 0]])
    queries = np.array([[0, 1], [1, 0]])
    candidates = sample_candidates(queries, known, 6, 200, np.random.default_rng(0))
    assert candidates.shape == (2, 200)
    assert set(candidates[0].tolist()) == {4, 5}  # node 0 links to 1, 2, 3
    assert set(candidates[1].tolist()) == {2, 3, 4, 5}


@pytest.mark.parametrize("pair_scores", [dot_pair_scores, gravity_pair_scores])
def test_sampled_ranks_in_blocks_equal_one_block(monkeypatch, pair_scores):
    generator = torch.Generator().manual_seed(0)
    source, target = torch.randn(50, 4, generator=generator), torch.randn(50, 4, generator=generator)
    u, v = torch.randint(0, 50, (23,), generator=generator), torch.randint(0, 50, (23,), generator=generator)
    candidates = torch.randint(0, 50, (23, 6), generator=generator)
    true_score, ranks = sampled_ranks(source, target, u, v, candidates, pair_scores)  # one block
    monkeypatch.setattr(metrics, "SCORE_BLOCK_ELEMENTS", 5 * 6 * 4)  # blocks of 5 queries, the last of 3
    blocked_true, blocked = sampled_ranks(source, target, u, v, candidates, pair_scores)
    assert torch.equal(blocked_true, true_score) and np.array_equal(blocked, ranks)  # bit for bit
    s_u = source[u]
    expected = ranks_against(pair_scores(s_u, target[v]), pair_scores(s_u[:, None, :], target[candidates])).numpy()
    assert np.array_equal(ranks, expected)
