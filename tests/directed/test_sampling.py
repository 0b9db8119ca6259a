"""Fan-out rules and the vectorised neighbour sampler (:mod:`recsys_challenges.directed.sampling`)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from recsys_challenges.directed.models import DualGNN
from recsys_challenges.directed.sampling import (
    FANOUT_RULES,
    Relation,
    calibrate_scale,
    csr_from_edges,
    degree_weights,
    directed_relations,
    expected_adjacency,
    full_neighbourhood,
    inverse_power_fanout,
    neighbourhood_differs,
    power_law_exponent,
    realised_budget,
    sample_neighbours,
    sample_subgraph,
    segment_positions,
    tail_exponent,
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
    assert fanout.min() == 3 and fanout.max() == 25
    # by hand: d = 15 -> 40 / sqrt(16) = 10; d = 99 -> 40 / 10 = 4 (integers are kept exactly)
    assert fanout[15] == 10 and fanout[99] == 4
    # d = 3 -> 40 / 2 = 20 exactly; d = 8 -> 40 / 3 = 13.33: nodes get 13 or 14, 13.33 on average
    repeated = torch.full((3000,), 8)
    assert inverse_power_fanout(repeated, scale=40.0, exponent=0.5, min_fanout=3, max_fanout=25).double().mean() == pytest.approx(
        40 / 3, abs=0.01
    )
    assert set(inverse_power_fanout(repeated, scale=40.0, exponent=0.5, min_fanout=3, max_fanout=25).tolist()) == {13, 14}
    assert (fanout <= torch.ceil(40.0 / torch.sqrt(1.0 + degree.double())).clamp(3, 25)).all()
    assert (FANOUT_RULES["fixed"](degree, fanout=7) == 7).all()
    assert (FANOUT_RULES["full"](degree) == degree).all()


def test_calibration_matches_the_fixed_rules_budget_and_moves_it_to_low_degrees():
    degree = torch.from_numpy(np.random.default_rng(0).zipf(2.1, 20000).clip(max=3000))
    target = realised_budget(torch.full_like(degree, 10), degree)
    scale = calibrate_scale(degree, target, exponent=0.5, min_fanout=2, max_fanout=50)
    adaptive = inverse_power_fanout(degree, scale=scale, exponent=0.5, min_fanout=2, max_fanout=50)
    assert realised_budget(adaptive, degree) == pytest.approx(target, rel=0.02)
    assert adaptive[degree == 12].double().mean() > 10 and adaptive[degree == degree.max()].max() < 10


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


def test_transpose_csr_keeps_each_rows_columns_in_order():
    graph = sample_subgraph({"out": Relation(_power_law_graph()["out"], torch.full((3000,), 5))}, torch.arange(3000), 1,
                            torch.Generator().manual_seed(0))
    matrix = graph.adjacency["out"]
    transposed = transpose_csr(matrix)
    assert torch.equal(transposed.to_dense(), matrix.to_dense().T)
    rows = torch.repeat_interleave(torch.arange(3000), transposed.crow_indices().diff())
    keys = rows * 3000 + transposed.col_indices()
    assert (keys.diff() > 0).all()  # row by row, columns ascending: the CSR the sparse product expects


def _power_law_graph(num_nodes: int = 3000, seed: int = 0):
    """Directed edges whose sources have Zipf-distributed out-degrees (random targets)."""
    rng = np.random.default_rng(seed)
    out_degree = rng.zipf(2.2, num_nodes).clip(max=300)
    src = np.repeat(np.arange(num_nodes), out_degree)
    keys = np.unique(src * num_nodes + rng.integers(0, num_nodes, src.size))
    return directed_relations(torch.stack([torch.from_numpy(keys // num_nodes), torch.from_numpy(keys % num_nodes)]), num_nodes)


def test_power_law_exponent_by_hand():
    # degrees 1, 1, 2, 4 (zeros ignored): alpha = 1 + 4 / (ln 2 + ln 2 + ln 4 + ln 8) = 1 + 4 / ln 128
    degree = torch.tensor([0, 1, 1, 2, 4])
    assert power_law_exponent(degree) == pytest.approx(1 + 4 / np.log(128))
    assert tail_exponent(degree) == pytest.approx(4 / np.log(128))
    assert tail_exponent(torch.tensor([1, 1, 1])) == pytest.approx(1 / np.log(2))  # alpha = 1 + 3 / (3 ln 2)
    assert tail_exponent(torch.tensor([100, 100])) == 0.25  # clipped below
    # zipf(2.2) degrees: near 2.2, biased low (Clauset et al. advise the approximation for d_min >= 6 only)
    sample = torch.from_numpy(np.random.default_rng(0).zipf(2.2, 50000))
    assert 1.8 < power_law_exponent(sample) < 2.2


def test_two_hop_sizes_follow_the_rule_at_the_fixed_rules_mean_budget():
    out = _power_law_graph()["out"]
    degree = out.degree()
    fixed = torch.full_like(degree, 10)
    target = realised_budget(fixed, degree)  # mean min(10, d)
    gamma = tail_exponent(degree)
    scale = calibrate_scale(degree, target, gamma, 1, 50, two_hop=True)
    fanout = inverse_power_fanout(degree, scale=scale, exponent=gamma, min_fanout=1, max_fanout=50)
    relation = Relation(out, fanout, two_hop=True)
    counts, neighbours = sample_neighbours(out, torch.arange(out.num_nodes), fanout, torch.Generator().manual_seed(0), two_hop=True)
    # every node with a neighbour draws exactly n(d), low degrees from their two-hop pools
    assert torch.equal(counts, torch.where(degree > 0, fanout, 0))
    assert counts.double().mean() == pytest.approx(target, rel=0.02)  # the stated mean budget
    assert counts.numel() == out.num_nodes and neighbours.numel() == int(counts.sum())
    # n(d): the mean size at degree d is c (1 + d) ** -gamma (clipped), falling with d
    for d in (1, 2, 3):
        expected = min(50.0, max(1.0, scale * (1 + d) ** -gamma))
        assert counts[degree == d].double().mean() == pytest.approx(expected, abs=0.1)  # >= 150 nodes each
    assert counts[degree == 1].double().mean() > 1 and counts[degree >= 10].max() < 10
    # low-degree nodes see more than their lists, hubs fewer than the fixed 10
    differs = neighbourhood_differs(relation, fixed)
    assert differs[degree >= 10].all() and not differs[degree == 0].any()
    assert torch.equal(differs, counts != torch.minimum(fixed, degree))  # the share counts exactly these
    # walk ends are two-hop neighbours (or the dead-end first hop) of the walker
    owner = torch.repeat_interleave(torch.arange(out.num_nodes), counts)
    first_hop = torch.repeat_interleave(torch.arange(out.num_nodes), degree) * out.num_nodes + out.indices
    two_hop = (
        torch.repeat_interleave(torch.arange(out.num_nodes), degree).repeat_interleave(degree.index_select(0, out.indices))
        * out.num_nodes
        + out.indices.index_select(0, torch.cat([torch.arange(out.indptr[w], out.indptr[w + 1]) for w in out.indices.tolist()]))
    )
    assert torch.isin(owner * out.num_nodes + neighbours, torch.cat([first_hop, two_hop])).all()
    # a node that walks keeps its whole list first, in CSR order, then its walk ends
    walks = torch.nonzero((degree > 0) & (degree < fanout)).squeeze(1)
    list_start = torch.cumsum(counts, 0) - counts
    kept = neighbours[segment_positions(list_start.index_select(0, walks), degree.index_select(0, walks))]
    assert walks.numel() > 100 and torch.equal(kept, out.indices[segment_positions(out.indptr.index_select(0, walks), degree.index_select(0, walks))])


def _dense_expected(edges: torch.Tensor, num_nodes: int, fanout: torch.Tensor) -> torch.Tensor:
    """The expected mean aggregation worked out with dense matrices: ``A`` row-normalised out-lists,
    ``B`` = ``A`` with a self-loop row for nodes without a list (a walk stops there); a row with
    ``m = k - d > 0`` walks is ``(d A + m A B) / k``."""
    adjacency = torch.zeros(num_nodes, num_nodes, dtype=torch.float64)
    adjacency[edges[0], edges[1]] = 1.0
    degree = adjacency.sum(1)
    mean = adjacency / degree.clamp(min=1)[:, None]
    stop = torch.where((degree == 0)[:, None], torch.eye(num_nodes, dtype=torch.float64), mean)
    walks = (fanout - degree).clamp(min=0) * (degree > 0)
    total = (degree + walks).clamp(min=1)[:, None]
    return (degree[:, None] * mean + walks[:, None] * (mean @ stop)) / total


def test_expected_adjacency_equals_the_dense_computation_and_the_mean_of_samples():
    edges = torch.tensor([[0, 0, 0, 1, 3, 4, 4, 5], [1, 2, 3, 2, 0, 0, 5, 4]])
    relation = directed_relations(edges, 6, ("out",))["out"]
    fanout = torch.tensor([4, 4, 4, 4, 1, 3])
    pooled = Relation(relation, fanout, two_hop=True)
    dense = _dense_expected(edges, 6, fanout.double())
    # by hand, row 0 (d 3, k 4): 1/4 on each of 1, 2, 3 plus one walk ending at 2 (via 1 or 2) or 0 (via 3)
    assert dense[0].tolist() == pytest.approx([1 / 12, 1 / 4, 1 / 4 + 2 / 12, 1 / 4, 0, 0])
    assert torch.allclose(expected_adjacency(pooled).to_dense().double(), dense, atol=1e-6)
    # without pools the operator is the full first-hop mean
    plain = Relation(relation, fanout)
    assert torch.allclose(expected_adjacency(plain).to_dense().double(), _dense_expected(edges, 6, torch.zeros(6)), atol=1e-6)
    # Monte Carlo: the mean of many sampled aggregations converges to it
    generator, total = torch.Generator().manual_seed(0), torch.zeros(6, 6)
    for _ in range(3000):
        total += sample_subgraph({"out": pooled}, torch.arange(6), 1, generator).adjacency["out"].to_dense()
    assert torch.allclose(total.double() / 3000, dense, atol=0.03)


def test_full_neighbourhood_inference_equals_the_dense_computation():
    edges = torch.tensor([[0, 0, 0, 1, 3, 4, 4, 5, 2], [1, 2, 3, 2, 0, 0, 5, 4, 5]])
    relations = directed_relations(edges, 6, ("out", "in"))
    fanout = torch.full((6,), 3)
    sampled = {name: Relation(relation, fanout, two_hop=True) for name, relation in relations.items()}
    torch.manual_seed(0)
    model = DualGNN(6, 4, 2).double()
    graph = full_neighbourhood(sampled, 6)
    with torch.no_grad():
        source, target = model(graph.node_ids, {k: v.to(torch.float64) for k, v in graph.adjacency.items()})
        out_op = _dense_expected(edges, 6, fanout.double())
        in_op = _dense_expected(edges.flip(0), 6, fanout.double())
        s, t = model.source_embedding.weight, model.target_embedding.weight
        for layer, conv in enumerate(model.convs):
            s, t = (
                conv.source_root(s) + conv.source_neighbours(out_op @ t),
                conv.target_root(t) + conv.target_neighbours(in_op @ s),
            )
            if layer == 0:
                s, t = s.relu(), t.relu()
    assert torch.allclose(source, s, atol=1e-6) and torch.allclose(target, t, atol=1e-6)
