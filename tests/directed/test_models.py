"""Encoders and decoders (:mod:`recsys_challenges.directed.models`)."""

from __future__ import annotations

import pytest
import torch

from recsys_challenges.directed.models import (
    DECODERS,
    ENCODERS,
    DualConv,
    DualGNN,
    gravity_pair_scores,
    gravity_scores,
    node_embeddings,
    sparse_matmul,
)
from recsys_challenges.directed.sampling import Relation, directed_relations, sample_subgraph

EDGES = torch.tensor([[0, 0, 0, 1, 3], [1, 2, 3, 2, 0]])  # 0->1, 0->2, 0->3, 1->2, 3->0


def _full_graph(names=("out", "in", "both", "out_self")):
    relations = directed_relations(EDGES, 4, names)
    sampled = {n: Relation(r, r.degree().clone()) for n, r in relations.items()}  # every neighbour
    return sample_subgraph(sampled, torch.arange(4), 2, torch.Generator().manual_seed(0), transposes=True)


def _identity(linear, scale=1.0):
    with torch.no_grad():
        linear.weight.copy_(scale * torch.eye(linear.weight.shape[0]))
        if linear.bias is not None:
            linear.bias.zero_()


def test_dual_conv_by_hand():
    # identity weights: s'_u = s_u + mean_{v in out(u)} t_v and t'_v = t_v + mean_{w in in(v)} s_w
    conv = DualConv(1, 1)
    for linear in (conv.source_root, conv.source_neighbours, conv.target_root, conv.target_neighbours):
        _identity(linear)
    s = torch.tensor([[1.0], [2.0], [3.0], [4.0]])
    t = torch.tensor([[10.0], [20.0], [30.0], [40.0]])
    graph = _full_graph(("out", "in"))
    new_s, new_t = conv(s, t, graph.adjacency["out"], graph.adjacency["in"])
    # s'_0 = 1 + (20 + 30 + 40) / 3 = 31; s'_1 = 2 + 30; s'_2 = 3 + 0 (no out-neighbour); s'_3 = 4 + 10
    assert new_s.squeeze().tolist() == pytest.approx([31.0, 32.0, 3.0, 14.0])
    # t'_0 = 10 + s_3 = 14; t'_1 = 20 + s_0 = 21; t'_2 = 30 + (1 + 2) / 2 = 31.5; t'_3 = 40 + s_0 = 41
    assert new_t.squeeze().tolist() == pytest.approx([14.0, 21.0, 31.5, 41.0])
    # the same layer on edge_index input (PyG convention: row 0 sends, row 1 receives)
    edge_s, edge_t = conv(s, t, EDGES.flip(0), EDGES)
    assert torch.allclose(edge_s, new_s) and torch.allclose(edge_t, new_t)


def test_sparse_matmul_backward_matches_dense():
    graph = _full_graph(("out",))
    matrix = graph.adjacency["out"]
    x = torch.randn(4, 3, requires_grad=True)
    dense_x = x.detach().clone().requires_grad_(True)
    for transposed in (None, graph.transposed["out"]):
        x.grad = None
        (sparse_matmul(matrix, x, transposed) ** 2).sum().backward()
        dense_x.grad = None
        ((matrix.to_dense() @ dense_x) ** 2).sum().backward()
        assert torch.allclose(x.grad, dense_x.grad)


@pytest.mark.parametrize("name", list(ENCODERS))
def test_every_encoder_gives_source_and_target_for_every_node(name):
    torch.manual_seed(0)
    graph = _full_graph()
    source, target = ENCODERS[name](4, 6, 2)(graph.node_ids, graph.adjacency, graph.transposed)
    assert source.shape == target.shape == (4, 6)


def test_dual_scores_are_asymmetric_single_embedding_scores_are_not():
    torch.manual_seed(0)
    graph = _full_graph()
    all_pairs, _ = DECODERS["dual"]
    source, target = DualGNN(4, 8, 2)(graph.node_ids, graph.adjacency)
    scores = all_pairs(source, target)  # (4, 4): u -> v
    assert not torch.allclose(scores, scores.T)
    source, target = ENCODERS["sage"](4, 8, 2)(graph.node_ids, graph.adjacency)
    scores = all_pairs(source, target)
    assert torch.allclose(scores, scores.T)


def test_gravity_scores_by_hand_and_pairwise_matches_rowwise():
    # z_u = (0, 0), z_v = (3, 4): ||z_u - z_v||^2 = 25; mass m_v = 2 -> 2 - log(25)
    source = torch.tensor([[0.0, 0.0, 0.0], [3.0, 4.0, 0.0]])
    target = torch.tensor([[0.0, 0.0, 1.0], [3.0, 4.0, 2.0]])
    assert gravity_pair_scores(source[:1], target[1:]).item() == pytest.approx(2 - torch.log(torch.tensor(25.0 + 1e-6)).item())
    pairwise = gravity_scores(source, target)
    rowwise = gravity_pair_scores(source[:, None, :], target[None, :, :])
    assert torch.allclose(pairwise, rowwise, atol=1e-4)


def test_node_embeddings_of_every_node_are_the_table_with_the_lookups_gradient():
    torch.manual_seed(0)
    table = torch.nn.Embedding(5, 3)
    weights = torch.randn(5, 3)
    every, some = torch.arange(5), torch.tensor([4, 0, 2])
    assert node_embeddings(table, every) is table.weight  # no copy
    (node_embeddings(table, every) * weights).sum().backward()
    shortcut_grad, table.weight.grad = table.weight.grad.clone(), None
    (table(every) * weights).sum().backward()
    assert torch.equal(shortcut_grad, table.weight.grad)  # each row used once: the lookup's gradient
    assert torch.equal(node_embeddings(table, some), table.weight[some])
    assert not torch.equal(torch.tensor([1, 0, 2, 3, 4]), every)  # a permutation of every node is looked up
    assert torch.equal(node_embeddings(table, torch.tensor([1, 0, 2, 3, 4])), table.weight[[1, 0, 2, 3, 4]])
    with torch.no_grad():  # inference: nothing that requires grad leaves the encoder
        assert not node_embeddings(table, every).requires_grad
