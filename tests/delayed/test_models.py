"""Hashing, the network's shapes, and lazy Adam."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from recsys_challenges.delayed.models import HashedMLP, LazyAdam, hash_ids, optimizers


def test_hash_ids_is_deterministic_in_range_and_salted_by_field():
    ids = np.array([[0, 0], [1, 1], [123456789, 123456789], [-5, -5]], dtype=np.int64)
    buckets = hash_ids(ids, bits=10)
    assert buckets.shape == (4, 2) and buckets.min() >= 0 and buckets.max() < 1024
    assert np.array_equal(buckets, hash_ids(ids, bits=10))
    assert not np.array_equal(buckets[:, 0], buckets[:, 1])  # same id, different field, different bucket
    spread = hash_ids(np.arange(10_000).reshape(-1, 1), bits=10)
    assert np.bincount(spread[:, 0], minlength=1024).max() < 30  # about 10 per bucket


def test_hashed_mlp_shapes_and_output_bias():
    net = HashedMLP(fields=3, bits=4, dim=2, dense=5, hidden=[7], heads=2)
    logits = net(torch.randint(0, 16, (6, 3)), torch.randn(6, 5))
    assert logits.shape == (6, 2)
    net.init_output_bias([0.5, 0.1])
    assert torch.allclose(net.mlp[-1].bias, torch.logit(torch.tensor([0.5, 0.1])))


def test_lazy_adam_only_moves_the_rows_a_batch_uses():
    torch.manual_seed(0)
    net = HashedMLP(fields=1, bits=4, dim=2, dense=0, hidden=[], heads=1)
    before = net.embedding.weight.detach().clone()
    steps = optimizers(net, lr=0.1, weight_decay=0.0)
    loss = net(torch.tensor([[3], [5]]), torch.zeros(2, 0)).sum()
    loss.backward()
    for optimizer in steps:
        optimizer.step()
    moved = (net.embedding.weight.detach() != before).any(dim=1)
    assert moved.nonzero().flatten().tolist() == [3, 5]


def test_lazy_adam_matches_sparse_adam():
    torch.manual_seed(0)
    ours, reference = torch.nn.Embedding(50, 3, sparse=True), torch.nn.Embedding(50, 3, sparse=True)
    reference.weight.data.copy_(ours.weight.data)
    optimisers = [(ours, LazyAdam([ours.weight], lr=0.05)), (reference, torch.optim.SparseAdam([reference.weight], lr=0.05))]
    for _ in range(8):
        rows = torch.randint(0, 10, (20,))  # repeated rows: their gradients add up
        for table, optimizer in optimisers:
            optimizer.zero_grad()
            (table(rows) ** 2).sum().backward()
            optimizer.step()
    assert torch.allclose(ours.weight, reference.weight, atol=1e-6)


def test_lazy_adam_first_step_by_hand():
    # first Adam step: m = 0.1 g, v = 0.001 g^2, bias-corrected m/sqrt(v) = sign(g): the row moves by -lr
    table = torch.nn.Embedding(4, 1, sparse=True)
    torch.nn.init.zeros_(table.weight)
    optimizer = LazyAdam([table.weight], lr=0.5)
    (3.0 * table(torch.tensor([2]))).sum().backward()  # gradient 3 on row 2 only
    optimizer.step()
    assert table.weight.flatten().tolist() == pytest.approx([0.0, 0.0, -0.5, 0.0], abs=1e-6)
