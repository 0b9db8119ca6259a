"""Seeded edge splits for node recommendation on a directed graph.

Each dataset's edges are split per seed into train / validation / test (85/5/10 by default).
Every node keeps at least one training edge where possible: for each node, the incident edge
that comes first in the seeded random order is *protected* (forced into train); validation and
test edges are drawn, in that random order, from the unprotected edges only. A node whose only
edge is protected therefore never loses its last training edge, and no node appears only in the
held-out edges unless the protection cannot hold (not enough unprotected edges: then the held-out
sets are smaller than asked, and ``split_stats`` says so).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class EdgeSplit:
    """Edge ids (columns of the dataset's ``edge_index``) of each part, each sorted."""

    train: np.ndarray  # (E_train,) int64
    val: np.ndarray  # (E_val,) int64
    test: np.ndarray  # (E_test,) int64


def split_edges(
    edge_index: np.ndarray, num_nodes: int, val_fraction: float, test_fraction: float, seed: int
) -> EdgeSplit:
    """Split the edges of ``edge_index`` ``(2, E)``; see the module docstring."""
    num_edges = edge_index.shape[1]
    order = np.random.default_rng(seed).permutation(num_edges)  # (E,) random order of edge ids
    rank = np.empty(num_edges, dtype=np.int64)
    rank[order] = np.arange(num_edges)
    first = np.full(num_nodes, num_edges, dtype=np.int64)  # smallest rank of an edge at each node
    np.minimum.at(first, edge_index[0], rank)
    np.minimum.at(first, edge_index[1], rank)
    protected = np.zeros(num_edges, dtype=bool)
    protected[order[first[first < num_edges]]] = True
    free = order[~protected[order]]  # unprotected edge ids in random order
    num_test = min(int(round(test_fraction * num_edges)), free.size)
    num_val = min(int(round(val_fraction * num_edges)), free.size - num_test)
    test, val = free[:num_test], free[num_test : num_test + num_val]
    held_out = np.zeros(num_edges, dtype=bool)
    held_out[test] = held_out[val] = True
    return EdgeSplit(train=np.flatnonzero(~held_out), val=np.sort(val), test=np.sort(test))


def split_stats(split: EdgeSplit, edge_index: np.ndarray, num_nodes: int) -> dict[str, int]:
    """Counts of each part and of the nodes that lost every training edge (0 where the protection held)."""
    touched = np.zeros(num_nodes, dtype=bool)
    touched[edge_index.ravel()] = True
    in_train = np.zeros(num_nodes, dtype=bool)
    in_train[edge_index[:, split.train].ravel()] = True
    return {
        "train_edges": int(split.train.size),
        "val_edges": int(split.val.size),
        "test_edges": int(split.test.size),
        "nodes_without_train_edge": int((touched & ~in_train).sum()),
    }


def edge_keys(edge_index: np.ndarray, num_nodes: int) -> np.ndarray:
    """Sorted keys ``u * N + v`` of the edges ``(2, E)``, for :func:`contains`."""
    return np.sort(edge_index[0] * num_nodes + edge_index[1])


def contains(sorted_keys: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Elementwise membership of ``query`` (any shape) in ``sorted_keys`` (binary search)."""
    if sorted_keys.size == 0:
        return np.zeros(query.shape, dtype=bool)
    position = np.minimum(np.searchsorted(sorted_keys, query), sorted_keys.size - 1)
    return sorted_keys[position] == query


def has_edge(pairs: np.ndarray, edge_index: np.ndarray, num_nodes: int) -> np.ndarray:
    """``(n,)`` bool: whether each column ``(u, v)`` of ``pairs`` ``(2, n)`` is an edge of ``edge_index``."""
    return contains(edge_keys(edge_index, num_nodes), pairs[0] * num_nodes + pairs[1])


def one_way(pairs: np.ndarray, edge_index: np.ndarray, num_nodes: int) -> np.ndarray:
    """``(n,)`` bool: whether the reverse ``v -> u`` of each pair is *not* an edge of ``edge_index``."""
    return ~has_edge(pairs[::-1], edge_index, num_nodes)
