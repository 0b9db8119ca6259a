"""Benchmark helpers (:mod:`recsys_challenges.directed.bench`)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import yaml

from recsys_challenges.directed.bench import SCALE_WORKLOADS, loop_sampler, power_law_graph
from recsys_challenges.directed.sampling import csr_from_edges
from tests.conftest import ROOT


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
    # with two-hop pools every node with a list draws exactly its fan-out, as the vectorised sampler does
    pooled = loop_sampler(csr, torch.arange(300), fanout, torch.Generator().manual_seed(0), two_hop=True)
    assert pooled.numel() == int(torch.where(csr.degree() > 0, fanout, 0).sum())


def test_scale_workloads_follow_the_bench_contract(tmp_path, monkeypatch):
    # the generated-graph workload with a small graph (the params.yaml it reads, in the working folder)
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["directed"]["bench"] |= {"generated_nodes": 2000, "generated_edges": 10000, "generated_batch_size": 5000}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    monkeypatch.chdir(tmp_path)
    assert set(SCALE_WORKLOADS) >= {"powerlaw_1M_10M", "cit_hepph"}
    record = SCALE_WORKLOADS["powerlaw_1M_10M"]()
    assert set(record) == {"technique", "workload", "data", "size", "unit", "wall_s", "throughput"}
    assert (record["technique"], record["workload"], record["size"], record["unit"]) == (
        "directed", "powerlaw_1M_10M", 10000, "edges"
    )
    assert record["wall_s"] > 0 and record["throughput"] == pytest.approx(10000 / record["wall_s"])


def test_harness_throughput_section_shape():
    from recsys_challenges.directed import config as cfg
    from recsys_challenges.directed.bench import EPOCH_METHODS, harness_throughput

    torch.set_num_threads(1)
    params = cfg.load_training(ROOT / "params.yaml")
    params["train"] = cfg.TrainParams(**{**vars(params["train"]), "batch_size": 500, "steps_per_epoch": 2})
    section = harness_throughput(EPOCH_METHODS["dual_adaptive"], power_law_graph(300, 1500, 2.1, seed=0), 300, params,
                                 epochs=2, repeats=2)
    assert section["examples"] == 2 * 2 * 500 and section["rounds"] == 2 and section["batch_size"] == 500
    for arm in ("package", "plain"):
        assert len(section[arm]["cpu_s_all"]) == 2 and section[arm]["examples_per_s"] > 0
    assert section["ratio"] > 0 and section["ratio_wall"] > 0 and section["target_ratio_min"] == 0.8
