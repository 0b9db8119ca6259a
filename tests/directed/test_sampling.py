"""Fan-out rules and the vectorised neighbour sampler (:mod:`recsys_challenges.directed.sampling`)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from recsys_challenges.directed.sampling import (
    FANOUT_RULES,
    Relation,
    calibrate_scale,
    csr_from_edges,
    degree_weights,
    directed_relations,
    inverse_power_fanout,
    realised_budget,
    sample_neighbours,
    sample_subgraph,
    transpose_csr,
)

# a 4-node graph: 0->1, 0->2, 0->3, 1->2, 3->0
EDGES = torch.tensor([[0, 0, 0, 1, 3], [1, 2, 3, 2, 0]])


def _lists(csr, node):
    return csr.indices[csr.indptr[node] : csr.indptr[node + 1]].tolist()


def test_relations_by_hand():
    relations = directed_relations(EDGES, 4)
    assert [_lists(relations["out"], u) for u in range(4)] == [[1, 2, 3], [2], [], [0]]
    assert [_lists(relations["in"], u) for u in range(4)] == [[3], [0], [0, 1], [0]]
    # 0-3 is reciprocal: listed once in the undirected relation
    assert [_lists(relations["both"], u) for u in range(4)] == [[1, 2, 3], [0, 2], [0, 1], [0]]
    assert [_lists(relations["out_self"], u) for u in range(4)] == [[0, 1, 2, 3], [1, 2], [2], [0, 3]]


def test_inverse_power_rule_is_non_increasing_and_bounded():
    degree = torch.arange(0, 5000)
    fanout = inverse_power_fanout(degree, scale=40.0, exponent=0.5, min_fanout=3, max_fanout=25)
    assert (fanout[1:] <= fanout[:-1]).all()
    assert fanout.min() == 3 and fanout.max() == 25
    # by hand: d = 15 -> 40 / sqrt(16) = 10; d = 99 -> 40 / 10 = 4
    assert fanout[15] == 10 and fanout[99] == 4
    assert (FANOUT_RULES["fixed"](degree, fanout=7) == 7).all()
    assert (FANOUT_RULES["full"](degree) == degree).all()


def test_calibration_matches_the_fixed_rules_budget_and_moves_it_to_low_degrees():
    degree = torch.from_numpy(np.random.default_rng(0).zipf(2.1, 20000).clip(max=3000))
    target = realised_budget(torch.full_like(degree, 10), degree)
    scale = calibrate_scale(degree, target, exponent=0.5, min_fanout=2, max_fanout=50)
    adaptive = inverse_power_fanout(degree, scale=scale, exponent=0.5, min_fanout=2, max_fanout=50)
    assert realised_budget(adaptive, degree) == pytest.approx(target, rel=0.02)
    assert adaptive[degree == 12].min() > 10 and adaptive[degree == degree.max()].max() < 10


def test_sampler_draws_distinct_true_neighbours_within_fanouts():
    rng = np.random.default_rng(1)
    num_nodes = 300
    keys = np.unique(rng.integers(0, num_nodes, 4000) * num_nodes + rng.integers(0, num_nodes, 4000))
    src, dst = torch.from_numpy(keys // num_nodes), torch.from_numpy(keys % num_nodes)
    csr = csr_from_edges(src, dst, num_nodes)
    fanout = torch.from_numpy(rng.integers(1, 20, num_nodes))
    nodes = torch.from_numpy(rng.permutation(num_nodes)[:200])
    for weight in (None, degree_weights(csr.degree(), exponent=1.0)):
        counts, neighbours = sample_neighbours(csr, nodes, fanout, torch.Generator().manual_seed(0), weight)
        assert (counts == torch.minimum(fanout[nodes], csr.degree()[nodes])).all()
        owners = torch.repeat_interleave(nodes, counts)
        drawn = owners * num_nodes + neighbours
        assert torch.isin(drawn, torch.from_numpy(keys)).all()  # only true neighbours
        assert torch.unique(drawn).numel() == drawn.numel()  # without replacement


def test_sampler_is_reproducible_and_uniform():
    # node 0 has 4 neighbours and fan-out 2: each is drawn with probability 2/4 = 0.5
    csr = csr_from_edges(torch.zeros(4, dtype=torch.long), torch.tensor([1, 2, 3, 4]), 5)
    fanout = torch.full((5,), 2)
    first = sample_neighbours(csr, torch.tensor([0]), fanout, torch.Generator().manual_seed(3))[1]
    again = sample_neighbours(csr, torch.tensor([0]), fanout, torch.Generator().manual_seed(3))[1]
    assert torch.equal(first, again)
    generator = torch.Generator().manual_seed(0)
    draws = torch.cat([sample_neighbours(csr, torch.tensor([0]), fanout, generator)[1] for _ in range(4000)])
    frequency = torch.bincount(draws, minlength=5)[1:].double() / 4000
    assert torch.allclose(frequency, torch.full((4,), 0.5, dtype=torch.float64), atol=0.03)


def test_degree_biased_choice_prefers_heavy_neighbours():
    # weights 1, 1, 1, 9 with one draw: the heavy neighbour wins with probability 9 / 12 = 0.75
    csr = csr_from_edges(torch.zeros(4, dtype=torch.long), torch.tensor([1, 2, 3, 4]), 5)
    weight = torch.tensor([1.0, 1.0, 1.0, 1.0, 9.0], dtype=torch.float64)
    generator = torch.Generator().manual_seed(0)
    draws = torch.cat(
        [sample_neighbours(csr, torch.tensor([0]), torch.ones(5, dtype=torch.long), generator, weight)[1] for _ in range(4000)]
    )
    assert (draws == 4).double().mean() == pytest.approx(0.75, abs=0.03)


def test_subgraph_puts_seeds_first_and_averages_sampled_neighbours():
    relations = directed_relations(EDGES, 4)
    fanout = torch.full((4,), 10)
    sampled = {name: Relation(relations[name], fanout) for name in ("out", "in")}
    graph = sample_subgraph(sampled, torch.tensor([1]), 2, torch.Generator().manual_seed(0), transposes=True)
    assert graph.node_ids[0] == 1 and graph.num_seeds == 1
    # hop 1 from node 1: out {2}, in {0}; hop 2 from {0, 2}: out of 0 {1,2,3} -> new node 3
    assert sorted(graph.node_ids.tolist()) == [0, 1, 2, 3]
    out = graph.adjacency["out"].to_dense()
    local = {int(g): i for i, g in enumerate(graph.node_ids)}
    assert out[local[1], local[2]] == 1.0  # node 1's only out-neighbour
    assert out[local[0]].sum() == pytest.approx(1.0) and out[local[0], local[3]] == pytest.approx(1 / 3)
    assert out[local[3]].sum() == 0  # outermost hop: no row
    assert torch.equal(graph.transposed["out"].to_dense(), out.T)
    assert torch.equal(transpose_csr(graph.adjacency["in"]).to_dense(), graph.adjacency["in"].to_dense().T)
