"""A planted positive control for C3, two-hop adaptive sampling (stage ``directed_control``, :mod:`.stage`).

A generated directed graph in which the low-degree nodes' held-out links can be predicted only
from their second hop, by construction:

* ``num_targets`` target nodes without out-links;
* ``num_connectors`` connector nodes, each linking to ``connector_degree`` distinct random targets;
* ``num_hubs`` hub nodes, each linking to ``hub_degree`` distinct other hubs: the neighbour budget
  the adaptive rule moves from hubs to leaves at equal mean budget (kept apart from the targets so
  that the targets' popularity carries no signal);
* ``num_leaves`` leaf nodes: leaf ``u`` links to one random connector ``w`` (its only training
  link) and to two distinct targets of ``w``'s list, one held out for validation, one for test.

Every link except the leaves' target links is a training link. A leaf's first-hop neighbourhood is
``{w}``, and ``w``'s target embedding is trained only against the leaves' and the in-lists' source
embeddings, never with the targets of ``w``: under the fixed rule no part of the model sees which
targets a leaf's connector points to. The adaptive rule with two-hop pools gives a leaf its
connector plus ``n(1) - 1`` random walks ``u -> w -> x``, so the held-out target ``x`` is in its
pool. Two comparisons, each adaptive against fixed on the leaves' test MRR (all-node filtered ranking):

* ``pool_adaptive`` / ``pool_fixed``: the training-free score ``P[u, x]`` of each rule's
  full-neighbourhood operator (:func:`.sampling.expected_adjacency` of the ``out`` relation; source
  embedding = the row of ``P``, target embedding = one-hot). Adaptive must win here, or the sampler
  does not do what it claims.
* the trained ``adaptive_method`` / ``fixed_method`` (the dual GNNs of ``directed.methods``, trained
  as in ``directed_train``): whether the model learns to use the planted two-hop context. If it does
  not, the harness cannot see a C3 effect, and the claims report says C3 is untestable.

Output ``reports/metrics/directed/planted_two_hop.json`` (:class:`.results.ControlMetrics`): the
layout of :mod:`.evaluate`'s metrics files (``summary``, ``selection``, ``neighbourhood``: the
per-seed neighbourhood-difference shares) with ``data_kind: "simulated"`` and ``planted``: the
generator's parameters (:class:`.config.ControlParams`).
"""

from __future__ import annotations

from dataclasses import asdict

import numpy as np
import torch

from recsys_challenges.directed import config as cfg
from recsys_challenges.directed.evaluate import evaluate_seed
from recsys_challenges.directed.loop import (
    TrainJob,
    describe_run,
    method_relations,
    run_job,
    validation_set,
)
from recsys_challenges.directed.results import CONTROL_SELECTION_KEYS, NEIGHBOURHOOD_KEYS, ControlMetrics, RunRecord
from recsys_challenges.directed.sampling import expected_adjacency
from recsys_challenges.directed.splits import EdgeSplit
from recsys_challenges.stats import by_key, summarise_seeds
from recsys_challenges.tracking import TrackingParams, quiet_lightning
from recsys_challenges.workers import map_jobs


def planted_two_hop_graph(params: cfg.ControlParams, seed: int) -> tuple[np.ndarray, int, EdgeSplit]:
    """The planted graph ``(2, E)``, its node count and its split (see the module docstring).

    Node ids: targets ``0..T-1``, connectors, hubs, then leaves.
    """
    rng = np.random.default_rng(seed)
    num_targets = params.num_targets  # target ids 0..T-1
    connectors = num_targets + np.arange(params.num_connectors)
    hubs = connectors[-1] + 1 + np.arange(params.num_hubs)
    leaves = hubs[-1] + 1 + np.arange(params.num_leaves)
    num_nodes = int(leaves[-1]) + 1

    def lists(count: int, choices: int, degree: int) -> np.ndarray:  # (count, degree) distinct picks per row
        return np.argsort(rng.random((count, choices)), axis=1)[:, :degree]

    connector_lists = lists(params.num_connectors, num_targets, params.connector_degree)  # (W, K) target ids
    others = lists(params.num_hubs, params.num_hubs - 1, params.hub_degree)  # (H, D) among the other hubs
    hub_lists = hubs[0] + others + (others >= np.arange(params.num_hubs)[:, None])  # skip the hub itself
    chosen = rng.integers(0, params.num_connectors, params.num_leaves)  # (U,) each leaf's connector
    held_out = np.argsort(rng.random((params.num_leaves, params.connector_degree)), axis=1)[:, :2]  # (U, 2)
    leaf_targets = np.take_along_axis(connector_lists[chosen], held_out, axis=1)  # (U, 2) val, test
    parts = [
        (np.repeat(connectors, params.connector_degree), connector_lists.ravel()),
        (np.repeat(hubs, params.hub_degree), hub_lists.ravel()),
        (leaves, connectors[chosen]),
        (leaves, leaf_targets[:, 0]),
        (leaves, leaf_targets[:, 1]),
    ]
    edge_index = np.stack([np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])]).astype(np.int64)
    train_size = edge_index.shape[1] - 2 * params.num_leaves
    split = EdgeSplit(
        train=np.arange(train_size),
        val=np.arange(train_size, train_size + params.num_leaves),
        test=np.arange(train_size + params.num_leaves, edge_index.shape[1]),
    )
    return edge_index, num_nodes, split


def pool_embeddings(
    method: cfg.MethodParams, edge_index: np.ndarray, num_nodes: int, sampling: cfg.SamplingParams
) -> tuple[np.ndarray, np.ndarray]:
    """Source ``(N, N)``: row ``u`` of the rule's full-neighbourhood ``out`` operator ``P``; target
    ``(N, N)``: the identity. Their dot product scores ``u -> x`` by ``P[u, x]``, the weight of ``x``
    in ``u``'s expected neighbourhood (no training)."""
    relation = method_relations(method, torch.from_numpy(edge_index), num_nodes, sampling)["out"]
    return expected_adjacency(relation).to_dense().numpy(), np.eye(num_nodes, dtype=np.float32)


def run_control(
    control: cfg.ControlParams,
    experiment: cfg.ExperimentParams,
    evaluate: cfg.EvaluateParams,
    params: dict,
    methods: dict[str, cfg.MethodParams],
    workers: int,
) -> ControlMetrics:
    """Train ``methods`` (the adaptive and the fixed one) on every seed's planted graph in ``workers``
    processes, then test them and the training-free pools of both rules on the leaves."""
    quiet_lightning()
    no_tracking = TrackingParams(csv=False, wandb=False)
    overall_runs, records = [], {name: [] for name in methods}
    graphs = {seed: planted_two_hop_graph(control, seed) for seed in experiment.seeds}
    jobs = [TrainJob(name, method, "planted_two_hop", edge_index, num_nodes, split,
                     validation_set(edge_index, num_nodes, split, params["train"], seed), seed, params, no_tracking)
            for seed, (edge_index, num_nodes, split) in graphs.items() for name, method in methods.items()]
    trained = map_jobs(run_job, jobs, workers, threads=experiment.num_threads,
                       describe=lambda job, result, _: describe_run(job.dataset, job.name, job.seed, result[2]))
    results = {(job.seed, job.name): result for job, result in zip(jobs, trained, strict=True)}
    for seed, (edge_index, num_nodes, split) in graphs.items():
        embeddings = {
            f"pool_{kind}": ("dual", *pool_embeddings(methods[name], edge_index[:, split.train], num_nodes, params["sampling"]))
            for kind, name in (("adaptive", control.adaptive_method), ("fixed", control.fixed_method))
        }
        for name, method in methods.items():
            source, target, record = results[seed, name]
            embeddings[name] = (method.encoder, source, target)
            records[name].append(record)
        overall, _, _ = evaluate_seed(edge_index, num_nodes, split, embeddings, evaluate, seed)
        overall_runs.append(overall)
        print(f"  planted seed {seed}: " + ", ".join(f"{m} mrr {v['mrr']:.3f}" for m, v in overall.items()))
    return control_metrics(control, experiment.seeds, overall_runs, records)


def control_metrics(
    control: cfg.ControlParams, seeds: list[int], overall_runs: list[dict], records: dict[str, list[RunRecord]]
) -> ControlMetrics:
    """The metrics file: test metrics summarised over seeds, and each trained method's per-seed selection."""
    return ControlMetrics(
        technique="directed",
        dataset="planted_two_hop",
        data_kind="simulated",
        seeds=seeds,
        summary={m: summarise_seeds(by_key([run[m] for run in overall_runs])) for m in overall_runs[0]},
        selection={
            name: {key: [record[key] for record in method_records] for key in CONTROL_SELECTION_KEYS}
            for name, method_records in records.items()
        },
        neighbourhood={
            name: {
                key: [record["neighbourhood_difference"][key] for record in method_records]
                for key in NEIGHBOURHOOD_KEYS
            }
            for name, method_records in records.items()
        },
        planted=asdict(control) | {"test_queries": "one held-out two-hop target per leaf (all leaves have degree 1)"},
    )
