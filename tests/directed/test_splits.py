"""Seeded edge splits (:mod:`recsys_challenges.directed.splits`)."""

from __future__ import annotations

import numpy as np

from recsys_challenges.data.sources.citation import cora_ml
from recsys_challenges.directed.splits import has_edge, one_way, split_edges, split_stats


def test_split_on_real_cora_ml_keeps_every_node_in_training(mirror):
    graph = cora_ml(mirror / "citation" / "cora_ml_bojchevski")
    split = split_edges(graph.edge_index, graph.num_nodes, 0.05, 0.10, seed=0)
    stats = split_stats(split, graph.edge_index, graph.num_nodes)
    assert stats["nodes_without_train_edge"] == 0
    assert (stats["val_edges"], stats["test_edges"]) == (round(0.05 * 8416), round(0.10 * 8416))
    every = np.concatenate([split.train, split.val, split.test])
    assert np.array_equal(np.sort(every), np.arange(graph.num_edges))  # a partition
    again = split_edges(graph.edge_index, graph.num_nodes, 0.05, 0.10, seed=0)
    other = split_edges(graph.edge_index, graph.num_nodes, 0.05, 0.10, seed=1)
    assert np.array_equal(split.test, again.test) and not np.array_equal(split.test, other.test)


def test_protection_shrinks_held_out_sets_when_it_must():
    # a star 0->1, 0->2, 0->3: every edge is some leaf's only edge, so nothing can be held out
    edges = np.array([[0, 0, 0], [1, 2, 3]])
    split = split_edges(edges, 4, 0.34, 0.34, seed=0)
    assert split.train.tolist() == [0, 1, 2] and split.val.size == split.test.size == 0


def test_has_edge_and_one_way():
    edges = np.array([[0, 1, 2], [1, 0, 3]])  # 0<->1 reciprocal, 2->3 one-way
    pairs = np.array([[0, 2, 3], [1, 3, 2]])
    assert has_edge(pairs, edges, 4).tolist() == [True, True, False]
    assert one_way(pairs, edges, 4).tolist() == [False, True, False]
