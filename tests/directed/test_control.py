"""The planted positive control of C3 (:mod:`recsys_challenges.directed.control`)."""

from __future__ import annotations

import numpy as np
import torch

from recsys_challenges.directed import config as cfg
from recsys_challenges.directed.config import ControlParams
from recsys_challenges.directed.control import planted_two_hop_graph, pool_embeddings
from recsys_challenges.directed.evaluate import evaluate_seed
from recsys_challenges.directed.sampling import sample_subgraph
from recsys_challenges.directed.loop import method_relations

SMALL = ControlParams(num_targets=100, num_connectors=40, connector_degree=8, num_hubs=60, hub_degree=30, num_leaves=120)
ADAPTIVE = cfg.MethodParams(encoder="dual", fanout_rule="inverse_power", pool="two_hop")
FIXED = cfg.MethodParams(encoder="dual", fanout_rule="fixed")


def test_planted_graph_by_construction():
    edges, num_nodes, split = planted_two_hop_graph(SMALL, seed=0)
    assert num_nodes == 100 + 40 + 60 + 120
    assert split.train.size == 40 * 8 + 60 * 30 + 120 and split.val.size == split.test.size == 120
    train = edges[:, split.train]
    leaves = np.arange(200, 320)
    for held_out in (split.val, split.test):
        u, x = edges[:, held_out]
        assert np.array_equal(u, leaves) and (x < 100).all()  # one held-out target per leaf
        # the target is in the list of the leaf's only training neighbour (its connector), never a training link of the leaf
        out_of = {w: set(train[1][train[0] == w]) for w in range(100, 140)}
        leaf_links = {int(a): set(train[1][train[0] == a]) for a in leaves}
        for leaf, target in zip(u.tolist(), x.tolist()):
            (w,) = leaf_links[leaf]
            assert 100 <= w < 140 and target in out_of[w] and target not in leaf_links[leaf]
    assert (edges[:, split.val] != edges[:, split.test]).any(0).all()  # two distinct targets per leaf
    hub_links = train[:, (train[0] >= 140) & (train[0] < 200)]
    assert ((hub_links[1] >= 140) & (hub_links[1] < 200)).all() and (hub_links[0] != hub_links[1]).all()


def test_adaptive_pools_hold_the_planted_targets_and_fixed_ones_never_do():
    edges, num_nodes, split = planted_two_hop_graph(SMALL, seed=0)
    train = torch.from_numpy(edges[:, split.train])
    sampling = cfg.SamplingParams()
    leaves, targets = torch.from_numpy(edges[0, split.test]), torch.from_numpy(edges[1, split.test])
    found = {}
    for name, method in (("adaptive", ADAPTIVE), ("fixed", FIXED)):
        relations = {"out": method_relations(method, train, num_nodes, sampling)["out"]}
        graph = sample_subgraph(relations, leaves, 1, torch.Generator().manual_seed(0))
        adjacency = graph.adjacency["out"].to_dense()[: leaves.numel()]  # (leaves, local nodes)
        position = {int(g): i for i, g in enumerate(graph.node_ids.tolist())}
        found[name] = np.mean(
            [adjacency[row, position[int(t)]] > 0 if int(t) in position else False for row, t in enumerate(targets)]
        )
    assert found["fixed"] == 0.0  # a leaf's first hop is its connector only
    assert found["adaptive"] > 0.2  # its walks reach the connector's targets


def test_pool_scores_rank_the_planted_targets_only_under_the_adaptive_rule():
    edges, num_nodes, split = planted_two_hop_graph(SMALL, seed=1)
    sampling = cfg.SamplingParams()
    embeddings = {
        name: ("dual", *pool_embeddings(method, edges[:, split.train], num_nodes, sampling))
        for name, method in (("pool_adaptive", ADAPTIVE), ("pool_fixed", FIXED))
    }
    overall, _, _ = evaluate_seed(edges, num_nodes, split, embeddings, cfg.EvaluateParams(), seed=1)
    # adaptive: the held-out target is one of the connector's 8 targets (7 after filtering the
    # validation one), all with the same weight; fixed: every target scores 0 (rank about N / 2)
    assert overall["pool_adaptive"]["mrr"] > 0.2
    assert overall["pool_fixed"]["mrr"] < 0.02
