"""Benchmark helpers (:mod:`recsys_challenges.directed.bench`)."""

from __future__ import annotations

import numpy as np
import torch

from recsys_challenges.directed.bench import loop_sampler, power_law_graph
from recsys_challenges.directed.sampling import csr_from_edges


def test_generated_graph_has_distinct_edges_and_heavy_tails():
    edges = power_law_graph(2000, 20000, 2.1, seed=0)
    assert edges.shape == (2, 20000)
    assert (edges[0] != edges[1]).all()
    assert np.unique(edges[0] * 2000 + edges[1]).size == 20000
    out_degree = np.bincount(edges[0], minlength=2000)
    assert out_degree.max() > 10 * np.median(out_degree)  # a power-law tail, not a Poisson one


def test_loop_sampler_reference_draws_true_neighbours_within_fanouts():
    edges = torch.from_numpy(power_law_graph(300, 3000, 2.1, seed=1))
    csr = csr_from_edges(edges[0], edges[1], 300)
    fanout = torch.full((300,), 4)
    drawn = loop_sampler(csr, torch.arange(300), fanout, torch.Generator().manual_seed(0))
    assert drawn.numel() == int(torch.minimum(fanout, csr.degree()).sum())
    owners = torch.repeat_interleave(torch.arange(300), torch.minimum(fanout, csr.degree()))
    assert torch.isin(owners * 300 + drawn, edges[0] * 300 + edges[1]).all()
