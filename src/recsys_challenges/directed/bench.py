"""Speed and memory of the dual GNN and of the sampler, measured in one run (stage ``directed_bench``, :mod:`.stage`).

1. One training epoch on ``bench.dataset`` (cit-HepPh) of the dual GNN (fixed and adaptive
   fan-out) and of a single-embedding PyG SAGEConv model of equal depth, width and neighbour
   budget (the dual model samples ``f`` out- and ``f`` in-neighbours per node, SAGE ``2f`` from
   the undirected list). Target: dual / SAGE <= 2.5.
2. Sampler throughput (sampled edges per second) of the vectorised sampler against a
   straightforward per-node Python loop doing the same draw (``torch.randperm`` per node), on
   the out-lists of every node with the adaptive fan-outs. Target: >= 50x.
3. Peak memory (max RSS of a fresh subprocess) of one training epoch of the adaptive dual GNN
   on a generated power-law directed graph (Chung-Lu: endpoints drawn with probability
   proportional to Pareto weights) of ``generated_nodes`` nodes and ``generated_edges`` distinct
   edges. Target: < ``memory_limit_gib`` GiB.

4. Training harness (``harness_throughput``): positive edges per second of ``Trainer.fit`` exactly
   as ``directed_train`` builds it (:func:`~recsys_challenges.directed.loop.make_trainer`: CSV
   logger, ``last.ckpt`` every epoch, ``log_every_n_steps=1``), validation and early stopping
   switched off (``limit_val_batches=0``), ``HARNESS_EPOCHS`` epochs of the adaptive dual GNN on
   ``bench.dataset``, against a plain PyTorch loop of the same encoder copy, Adam, ``training_step``
   (sampling and loss) and loader batches; the ratio package / plain is the median over interleaved
   rounds of process CPU time (:mod:`recsys_challenges.rounds`). Target: >= 0.8.

``SCALE_WORKLOADS`` exposes the scale workloads (one epoch on the generated 1M/10M graph, one epoch
on cit-HepPh) to the project's ``make bench`` runner, one workload per call.

Output ``reports/bench/directed.json`` (:func:`run_bench`); the ratios are printed too (:func:`print_summary`). Wall times on a shared
machine are inflated by other load: ``machine.load_average`` records it.
"""

from __future__ import annotations

import copy
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from lightning.pytorch.loggers import CSVLogger

from recsys_challenges.data.formats import PREPARED_ROOT, GraphData, load_graph
from recsys_challenges.directed import config as cfg
from recsys_challenges.directed.models import ENCODERS
from recsys_challenges.directed.sampling import CSR, sample_neighbours
from recsys_challenges.directed.loop import (
    EpochBatches,
    batch_size_for,
    edge_loader,
    last_checkpoint,
    make_trainer,
    method_relations,
)
from recsys_challenges.directed.module import LinkPredictionModule, TrainingData
from recsys_challenges.directed.splits import one_way
from recsys_challenges.rounds import interleaved_rounds, throughput_ratio
from recsys_challenges.tracking import quiet_lightning

EPOCH_METHODS = {
    "dual_fixed": cfg.MethodParams(encoder="dual", fanout_rule="fixed"),
    "dual_adaptive": cfg.MethodParams(encoder="dual", fanout_rule="inverse_power", pool="two_hop"),
    "sage": cfg.MethodParams(encoder="sage", fanout_rule="fixed"),
}
TARGET_HARNESS_RATIO = 0.8  # package training throughput / a plain loop's
HARNESS_EPOCHS = 3  # epochs of one timed round (of steps_per_epoch steps each)
HARNESS_REPEATS = 5  # timed rounds (after a warm-up round)


def no_validation() -> tuple[torch.Tensor, torch.Tensor]:
    """Empty validation queries ``(2, 0)`` and candidates ``(0, 1)``: the benchmarks time training only."""
    return torch.zeros(2, 0, dtype=torch.long), torch.zeros(0, 1, dtype=torch.long)


def epoch_seconds(
    method: cfg.MethodParams, edge_index: np.ndarray, num_nodes: int, params: dict, seed: int = 0
) -> tuple[float, int]:
    """Wall seconds of one epoch (sampling, forward, backward, Adam) over all edges, and its steps."""
    torch.manual_seed(seed)
    train, loss = params["train"], params["loss"]
    edges = torch.from_numpy(edge_index)
    relations = method_relations(method, edges, num_nodes, params["sampling"])
    encoder = ENCODERS[method.encoder](num_nodes, params["model"].dim, params["model"].num_layers)
    data = TrainingData(
        relations, edges, torch.from_numpy(one_way(edge_index, edge_index, num_nodes)), *no_validation()
    )
    module = LinkPredictionModule(method.encoder, encoder, data, loss, train, params["model"].num_layers, seed)
    module.log = lambda *args, **kwargs: None  # no Trainer here: time the computation only
    optimizer = module.configure_optimizers()
    batch = params.get("batch_size") or batch_size_for(edges.shape[1], train)
    order = torch.randperm(edges.shape[1], generator=torch.Generator().manual_seed(seed))
    module.training_step([order[:batch]], 0).backward()  # warm-up (allocator, lazy init), not timed
    optimizer.zero_grad()
    started = time.perf_counter()
    for step, first in enumerate(range(0, order.numel(), batch)):
        value = module.training_step([order[first : first + batch]], step)
        optimizer.zero_grad()
        value.backward()
        optimizer.step()
    return time.perf_counter() - started, step + 1


class PlainLoopModule(LinkPredictionModule):
    """The stage's module outside a Trainer: the plain loop sets the epoch its ``training_step``
    keys the negatives and the neighbour sampling by (a Trainer sets ``current_epoch``), and
    Lightning's ``log`` does nothing."""

    plain_epoch = 0

    @property
    def current_epoch(self) -> int:
        return self.plain_epoch

    def log(self, *args, **kwargs) -> None:
        return None


def harness_throughput(
    method: cfg.MethodParams, edge_index: np.ndarray, num_nodes: int, params: dict, epochs: int, repeats: int,
    seed: int = 0,
) -> dict:
    """Training examples (positive edges) per second of ``Trainer.fit`` as ``directed_train`` builds
    it (:func:`make_trainer`: CSV logger, ``last.ckpt`` every epoch, ``log_every_n_steps=1``;
    validation switched off, ``limit_val_batches=0``) for ``epochs`` epochs, against a plain loop of
    the same encoder copy, Adam, ``training_step`` (sampling and loss) and loader batches; interleaved
    rounds, median (:func:`recsys_challenges.rounds.throughput_ratio`). All edges train."""
    train, loss = params["train"], params["loss"]
    edges = torch.from_numpy(edge_index)
    relations = method_relations(method, edges, num_nodes, params["sampling"])
    flags = torch.from_numpy(one_way(edge_index, edge_index, num_nodes))
    torch.manual_seed(seed)
    base = ENCODERS[method.encoder](num_nodes, params["model"].dim, params["model"].num_layers)
    batch = batch_size_for(edges.shape[1], train)

    def module(kind: type[LinkPredictionModule]) -> LinkPredictionModule:
        data = TrainingData(relations, edges, flags, *no_validation())
        return kind(method.encoder, copy.deepcopy(base), data, loss, train, params["model"].num_layers, seed)

    with tempfile.TemporaryDirectory(prefix="directed-harness-") as tmp:
        def package(round_index: int):
            folder = Path(tmp) / f"round{round_index}"
            trainer = make_trainer(epochs, [CSVLogger(save_dir=folder, name="csv")], [last_checkpoint(folder / "ckpt")],
                                   limit_val_batches=0)
            lightning_module = module(LinkPredictionModule)
            loader = edge_loader(edges.shape[1], batch, train.steps_per_epoch, seed)
            return lambda: trainer.fit(lightning_module, train_dataloaders=loader)

        def plain(round_index: int):
            plain_module = module(PlainLoopModule)
            optimizer = plain_module.configure_optimizers()
            loader = edge_loader(edges.shape[1], batch, train.steps_per_epoch, seed)

            def run() -> None:
                for epoch in range(epochs):
                    plain_module.plain_epoch = epoch
                    loader.batch_sampler.set_epoch(epoch)
                    for step, positions in enumerate(loader):
                        value = plain_module.training_step(positions, step)
                        optimizer.zero_grad()
                        value.backward()
                        optimizer.step()
            return run

        times = interleaved_rounds({"package": package, "plain": plain}, repeats)
    batches = EpochBatches(edges.shape[1], batch, train.steps_per_epoch, seed)
    examples = 0
    for epoch in range(epochs):
        batches.set_epoch(epoch)
        examples += sum(len(positions) for positions in batches)
    return {
        "path": "lightning Trainer.fit as directed_train builds it (make_trainer: CSV logger, last.ckpt every epoch, "
                "log_every_n_steps=1), validation and early stopping switched off (limit_val_batches=0)",
        "plain": "the same encoder copy, Adam, training_step (sampling and asymmetric loss) and loader batches; "
                 "zero_grad, loss.backward(), step",
        "method": "dual_adaptive", "epochs": epochs, "steps_per_epoch": train.steps_per_epoch, "batch_size": batch,
        "clock": "process CPU time (wall time beside it)", "target_ratio_min": TARGET_HARNESS_RATIO,
    } | throughput_ratio(examples, times)


def loop_sampler(
    csr: CSR, nodes: torch.Tensor, fanout: torch.Tensor, generator: torch.Generator, two_hop: bool = False
) -> torch.Tensor:
    """The straightforward per-node loop: slice each node's list, keep a random ``k`` of it; with
    ``two_hop``, fill a shorter list with ``k - d`` two-step random walks, one walk at a time."""
    drawn = []
    for node in nodes.tolist():
        begin, end = int(csr.indptr[node]), int(csr.indptr[node + 1])
        neighbours = csr.indices[begin:end]
        k = int(fanout[node])
        if end - begin > k:
            neighbours = neighbours[torch.randperm(end - begin, generator=generator)[:k]]
        drawn.append(neighbours)
        for _ in range(k - (end - begin) if two_hop and end > begin else 0):
            middle = int(neighbours[torch.randint(end - begin, (1,), generator=generator)])
            first, last = int(csr.indptr[middle]), int(csr.indptr[middle + 1])
            step = csr.indices[first + torch.randint(last - first, (1,), generator=generator)] if last > first else None
            drawn.append(torch.tensor([middle]) if step is None else step)
    return torch.cat(drawn)


def sampler_throughput(edge_index: np.ndarray, num_nodes: int, params: dict, bench: cfg.BenchParams) -> dict:
    """Sampled edges per second, vectorised vs per-node loop, on every node's out-list (adaptive
    fan-outs with two-hop pools: both samplers make the same draw)."""
    relation = method_relations(EPOCH_METHODS["dual_adaptive"], torch.from_numpy(edge_index), num_nodes, params["sampling"])["out"]
    nodes = torch.arange(num_nodes)
    generator = torch.Generator().manual_seed(0)
    sample_neighbours(relation.csr, nodes, relation.fanout, generator, two_hop=relation.two_hop)  # warm-up
    started = time.perf_counter()
    for _ in range(bench.sampler_repeats):
        counts, _ = sample_neighbours(relation.csr, nodes, relation.fanout, generator, two_hop=relation.two_hop)
    vectorised = bench.sampler_repeats * int(counts.sum()) / (time.perf_counter() - started)
    started = time.perf_counter()
    for _ in range(bench.loop_repeats):
        drawn = loop_sampler(relation.csr, nodes, relation.fanout, generator, relation.two_hop)
    loop = bench.loop_repeats * drawn.numel() / (time.perf_counter() - started)
    return {
        "vectorised_edges_per_s": vectorised,
        "loop_edges_per_s": loop,
        "speedup": vectorised / loop,
        "sampled_edges_per_call": int(counts.sum()),
        "nodes": num_nodes,
    }


def power_law_graph(num_nodes: int, num_edges: int, exponent: float, seed: int) -> np.ndarray:
    """``(2, E)`` distinct directed edges without self-loops (Chung-Lu): endpoints drawn with
    probability proportional to Pareto weights ``w = U ** (-1 / (exponent - 1))``, one weight
    vector for sources and one for targets, so both degree sequences have power-law tails. The
    probabilities are capped at ``1 / sqrt(E)`` (the structural cut-off that keeps the expected
    multiplicity of a pair below one); draws repeat until ``num_edges`` distinct edges exist."""
    rng = np.random.default_rng(seed)
    cumulative = []
    for _ in range(2):
        probability = rng.random(num_nodes) ** (-1.0 / (exponent - 1.0))
        probability = np.minimum(probability / probability.sum(), 1.0 / np.sqrt(num_edges))
        cumulative.append(np.cumsum(probability))
    keys = np.empty(0, dtype=np.int64)
    while keys.size < num_edges:
        draws = int(1.2 * (num_edges - keys.size)) + 16
        source, target = (np.searchsorted(c, rng.random(draws) * c[-1]).astype(np.int64) for c in cumulative)
        keep = source != target
        keys = np.unique(np.concatenate([keys, source[keep] * num_nodes + target[keep]]))
    keys = np.sort(rng.choice(keys, num_edges, replace=False)) if keys.size > num_edges else keys
    return np.stack([keys // num_nodes, keys % num_nodes])


def generated_epoch(params_path: str | Path = "params.yaml") -> dict:
    """One epoch of the adaptive dual GNN on the generated power-law graph of ``bench`` (in this process)."""
    experiment = cfg.load(cfg.ExperimentParams, "experiment", params_path)
    bench = cfg.load(cfg.BenchParams, "bench", params_path)
    torch.set_num_threads(experiment.num_threads)
    started = time.perf_counter()
    edges = power_law_graph(bench.generated_nodes, bench.generated_edges, bench.generated_exponent, seed=0)
    generated = time.perf_counter() - started
    params = cfg.load_training(params_path) | {"batch_size": bench.generated_batch_size}
    seconds, steps = epoch_seconds(EPOCH_METHODS["dual_adaptive"], edges, bench.generated_nodes, params)
    return {
        "nodes": bench.generated_nodes,
        "edges": int(edges.shape[1]),
        "batch_size": bench.generated_batch_size,
        "steps": steps,
        "epoch_seconds": seconds,
        "generation_seconds": generated,
    }


def memory_child(params_path: str) -> dict:
    """Runs in a fresh process: :func:`generated_epoch` and the process's peak memory."""
    epoch = generated_epoch(params_path)
    return {"peak_rss_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20} | epoch


def scale_record(workload: str, data: str, edges: int, seconds: float) -> dict:
    """One workload's record in the scale-benchmark contract of ``make bench``."""
    return {
        "technique": "directed",
        "workload": workload,
        "data": data,
        "size": edges,
        "unit": "edges",
        "wall_s": seconds,
        "throughput": edges / seconds,
    }


def powerlaw_workload() -> dict:
    """One epoch of the adaptive dual GNN on the generated 1M-node / 10M-edge power-law graph."""
    epoch = generated_epoch()
    data = f"generated power-law directed graph (Chung-Lu), {epoch['nodes']} nodes"
    return scale_record("powerlaw_1M_10M", data, epoch["edges"], epoch["epoch_seconds"])


def cit_hepph_workload() -> dict:
    """One epoch of the adaptive dual GNN on the prepared cit-HepPh graph (all its edges)."""
    experiment = cfg.load(cfg.ExperimentParams, "experiment")
    torch.set_num_threads(experiment.num_threads)
    graph = load_graph(PREPARED_ROOT / "cit_hepph")
    seconds, _ = epoch_seconds(EPOCH_METHODS["dual_adaptive"], graph.edge_index, graph.num_nodes, cfg.load_training())
    return scale_record("cit_hepph", "cit-HepPh citations (SNAP), data/prepared/cit_hepph", graph.num_edges, seconds)


# workload name -> one run in the current process (the lead's `make bench` measures its peak RSS)
SCALE_WORKLOADS: dict[str, Callable[[], dict]] = {
    "powerlaw_1M_10M": powerlaw_workload,
    "cit_hepph": cit_hepph_workload,
}


def run_bench(
    graph: GraphData,
    experiment: cfg.ExperimentParams,
    bench: cfg.BenchParams,
    params: dict,
    params_path: str,
) -> dict:
    """Every measurement of the module docstring on ``graph`` (``bench.dataset``); the memory one in a
    fresh ``directed-bench --memory-child`` process reading ``params_path``. The payload of the output file."""
    epochs = {}
    for name, method in EPOCH_METHODS.items():
        seconds, steps = epoch_seconds(method, graph.edge_index, graph.num_nodes, params)
        epochs[name] = {"seconds": seconds, "steps": steps}
        print(f"  one epoch on {bench.dataset}, {name}: {seconds:.2f}s ({steps} steps)")
    ratio = epochs["dual_fixed"]["seconds"] / epochs["sage"]["seconds"]
    sampler = sampler_throughput(graph.edge_index, graph.num_nodes, params, bench)
    quiet_lightning()
    harness = harness_throughput(EPOCH_METHODS["dual_adaptive"], graph.edge_index, graph.num_nodes, params,
                                 HARNESS_EPOCHS, HARNESS_REPEATS)

    child = subprocess.run(
        [sys.executable, "-m", "recsys_challenges", "directed-bench", "--memory-child", "--params", params_path],
        capture_output=True, text=True, check=True,
    )
    memory = json.loads(child.stdout.strip().splitlines()[-1])
    return {
        "epoch": {
            "dataset": bench.dataset,
            "seconds": epochs,
            "ratio_dual_vs_sage": ratio,
            "ratio_dual_adaptive_vs_sage": epochs["dual_adaptive"]["seconds"] / epochs["sage"]["seconds"],
            "target_ratio": 2.5,
            "meets_target": ratio <= 2.5,
        },
        "sampler": sampler | {"target_speedup": 50.0, "meets_target": sampler["speedup"] >= 50.0},
        "harness_throughput": harness | {"dataset": bench.dataset},
        "memory": memory | {"limit_gib": bench.memory_limit_gib, "meets_target": memory["peak_rss_gib"] < bench.memory_limit_gib},
        "machine": {
            "cpus": os.cpu_count(),
            "torch_threads": experiment.num_threads,
            "load_average": list(os.getloadavg()),
            "note": "wall times on a machine shared with other jobs; load_average says how busy it was",
        },
    }


def print_summary(payload: dict) -> None:
    """The ratios of :func:`run_bench`'s payload against their targets, one line each."""
    epoch, sampler, harness, memory = (payload[key] for key in ("epoch", "sampler", "harness_throughput", "memory"))
    print(f"epoch time dual / SAGE (equal depth, width, budget): {epoch['ratio_dual_vs_sage']:.2f} (target <= 2.5)")
    print(f"sampler: {sampler['speedup']:.1f}x the per-node loop "
          f"({sampler['vectorised_edges_per_s']:.3g} vs {sampler['loop_edges_per_s']:.3g} edges/s; target >= 50x)")
    print(f"training harness: Trainer.fit {harness['package']['examples_per_s']:.0f} edges/s, plain loop "
          f"{harness['plain']['examples_per_s']:.0f}: ratio {harness['ratio']:.2f} (target >= {TARGET_HARNESS_RATIO})")
    print(f"peak memory, one epoch on {memory['nodes']} nodes / {memory['edges']} edges: "
          f"{memory['peak_rss_gib']:.2f} GiB (target < {memory['limit_gib']} GiB)")
