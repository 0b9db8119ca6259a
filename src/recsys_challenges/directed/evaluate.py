"""Test metrics of every method, seed by seed, measured once (stage ``directed_evaluate``, :mod:`.stage`).

Reads the splits and selected embeddings of ``directed_train`` (:mod:`.results`) and builds
``reports/metrics/directed/<dataset>.json`` (:class:`.results.DatasetMetrics`). Methods: every trained method of
``directed.methods`` plus the training-free ``popularity`` baseline (rank targets by training
in-degree; its score ``indeg(v)`` makes its direction AUC exactly the *in-degree rule*
"``u -> v`` when ``v`` has more training in-links than ``u``").

Protocols (see :mod:`.metrics` for the formulas):

* ``all``: each test edge ``u -> v`` ranks ``v`` among all nodes, filtered (``u`` itself and every
  other known target of ``u``, in any split, are removed); only on graphs with fewer than
  ``evaluate.full_ranking_max_nodes`` nodes. Metric names ``mrr``, ``hitrate@K``.
* ``sampled``: ``v`` against ``evaluate.num_candidates`` sampled non-neighbours of ``u`` (the same
  candidates for every method). Names ``mrr_sampled``, ``hitrate@K_sampled``.
* direction on the one-way test edges (``v -> u`` is not an edge of the graph):
  ``direction_auc`` (paired) and ``direction_auc_pooled``.

JSON layout (:class:`.results.DatasetMetrics`; beyond the shared core ``technique, dataset, data_kind,
seeds, summary``)::

    "summary":   {method: {metric: mean_ci}}                      # every metric above
    "by_degree": {method: {"q1".."qB": {metric: mean_ci}}}        # mrr, hitrate@K (all or sampled),
                                                                  # direction_auc; q1 = lowest degree
    "degree_buckets": {"q1".."qB": {"degree_min": [per seed], "degree_max": [...],
                                    "queries": [...], "one_way_edges": [...]}}
    "protocol":  {"ranking": "all_nodes_filtered" | "sampled", "num_candidates", "hit_ks",
                  "degree": "source training degree (in + out)", "test_edges": [per seed],
                  "one_way_test_edges": [per seed], "num_nodes", "num_edges"}
    "selection": {method: {"selected_epoch": [per seed], "val_mrr": [...], "epochs_run": [...],
                           "max_epochs": [...], "budget_bound": [...]}}
                  # from training.json; its wall times are left out so that the same params give a
                  # byte-identical file. budget_bound: the best epoch lies within `patience` of the
                  # epoch cap (the run may not have converged; a verdict resting on it is inconclusive)
    "neighbourhood": {method: {"overall": [per seed], "lowest_quarter": [...]}}
                  # share of nodes whose sampled neighbourhood differs from the fixed rule's
                  # (sampling.neighbourhood_differs), over all nodes and the lowest-degree quarter

``mean_ci`` is :func:`recsys_challenges.stats.mean_ci` (per-seed ``values`` in seed order).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from recsys_challenges.data.formats import GraphData
from recsys_challenges.directed import config as cfg
from recsys_challenges.directed.metrics import (
    degree_buckets,
    direction_auc,
    hit_rate,
    mean_reciprocal_rank,
    pooled_direction_auc,
    ranks_against,
    sample_candidates,
    sampled_ranks,
)
from recsys_challenges.directed.models import DECODERS
from recsys_challenges.directed.results import (
    NEIGHBOURHOOD_KEYS,
    SELECTION_KEYS,
    DatasetMetrics,
    TrainingLog,
    read_embeddings,
    read_split,
    split_file,
)
from recsys_challenges.directed.sampling import csr_from_edges, segment_positions
from recsys_challenges.directed.splits import EdgeSplit, one_way
from recsys_challenges.errors import DataError
from recsys_challenges.stats import by_key, summarise_seeds
from recsys_challenges.workers import map_jobs

POPULARITY = "popularity"


def popularity_embeddings(edge_index: np.ndarray, num_nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """Source ``1`` and target ``indeg(v)`` (training in-degree), so that ``s_u . t_v = indeg(v)``."""
    in_degree = np.bincount(edge_index[1], minlength=num_nodes).astype(np.float32)
    return np.ones((num_nodes, 1), dtype=np.float32), in_degree[:, None]


def all_node_ranks(
    source: Tensor, target: Tensor, queries: np.ndarray, known: np.ndarray, scores_fn, chunk_size: int
) -> np.ndarray:
    """Filtered rank of each query's target among all nodes, ``(n,)``.

    Sources are scored ``chunk_size`` at a time against every node (``(b, N)`` scores); the
    source itself and its known targets other than the query's own are set to ``-inf``.
    """
    num_nodes = target.shape[0]
    known_out = csr_from_edges(torch.from_numpy(known[0]), torch.from_numpy(known[1]), num_nodes)
    order = np.argsort(queries[0], kind="stable")
    query_sources = queries[0][order]  # sorted
    unique_sources, first = np.unique(query_sources, return_index=True)
    ranks = np.empty(queries.shape[1])
    for start in range(0, unique_sources.size, chunk_size):
        chunk = torch.from_numpy(unique_sources[start : start + chunk_size])
        scores = scores_fn(source.index_select(0, chunk), target)  # (b, N)
        begin = first[start]
        end = first[start + chunk.numel()] if start + chunk.numel() < unique_sources.size else query_sources.size
        rows = torch.from_numpy(np.searchsorted(unique_sources[start:], query_sources[begin:end]))  # (q,) row per query
        targets = torch.from_numpy(queries[1][order[begin:end]])  # (q,)
        true_score = scores[rows, targets]  # (q,)
        starts, lengths = known_out.indptr[chunk], known_out.indptr[chunk + 1] - known_out.indptr[chunk]
        known_rows = torch.repeat_interleave(torch.arange(chunk.numel()), lengths)  # (m,)
        known_cols = known_out.indices[segment_positions(starts, lengths)]  # (m,)
        scores[known_rows, known_cols] = -torch.inf
        scores[torch.arange(chunk.numel()), chunk] = -torch.inf
        ranks[order[begin:end]] = ranks_against(true_score, scores.index_select(0, rows)).numpy()
    return ranks


def _bucket_names(num_buckets: int) -> list[str]:
    return [f"q{index + 1}" for index in range(num_buckets)]


def ranking_metrics(ranks: np.ndarray, hit_ks: list[int], suffix: str) -> dict[str, float]:
    """``mrr<suffix>`` and ``hitrate@K<suffix>`` of a set of ranks (NaN when empty)."""
    if ranks.size == 0:
        return {f"mrr{suffix}": float("nan")} | {f"hitrate@{k}{suffix}": float("nan") for k in hit_ks}
    return {f"mrr{suffix}": mean_reciprocal_rank(ranks)} | {f"hitrate@{k}{suffix}": hit_rate(ranks, k) for k in hit_ks}


def evaluate_seed(
    graph_edges: np.ndarray,
    num_nodes: int,
    split: EdgeSplit,
    embeddings: dict[str, tuple[str, np.ndarray, np.ndarray]],
    params: cfg.EvaluateParams,
    seed: int,
) -> tuple[dict, dict, dict]:
    """Metrics of every method on one seed's test split.

    ``embeddings``: method -> (encoder name, source ``(N, d)``, target ``(N, d)``).
    Returns ``(overall, by_bucket, bucket_info)``: method -> metric -> value;
    method -> bucket -> metric -> value; bucket -> description.
    """
    train_edges, queries = graph_edges[:, split.train], graph_edges[:, split.test]
    degree = np.bincount(train_edges.ravel(), minlength=num_nodes)  # (N,) training in + out degree
    bucket = degree_buckets(degree[queries[0]], params.degree_buckets)  # (n_test,)
    forward_only = one_way(queries, graph_edges, num_nodes)  # (n_test,) reverse not in the graph
    candidates = sample_candidates(queries, graph_edges, num_nodes, params.num_candidates, np.random.default_rng(seed))
    full = num_nodes < params.full_ranking_max_nodes
    primary = "" if full else "_sampled"
    names = _bucket_names(params.degree_buckets)
    info = {
        name: {
            "degree_min": int(degree[queries[0]][bucket == index].min()),
            "degree_max": int(degree[queries[0]][bucket == index].max()),
            "queries": int((bucket == index).sum()),
            "one_way_edges": int(((bucket == index) & forward_only).sum()),
        }
        for index, name in enumerate(names)
    }
    overall, by_bucket = {}, {}
    u, v = torch.from_numpy(queries[0]), torch.from_numpy(queries[1])
    for method, (encoder, source_np, target_np) in embeddings.items():
        scores_fn, pair_fn = DECODERS[encoder]
        source, target = torch.from_numpy(source_np), torch.from_numpy(target_np)
        with torch.no_grad():
            true_score, sampled = sampled_ranks(source, target, u, v, torch.from_numpy(candidates), pair_fn)
            ranks = {"_sampled": sampled}
            if full:
                ranks[""] = all_node_ranks(source, target, queries, graph_edges, scores_fn, params.chunk_size)
            backward = pair_fn(source.index_select(0, v), target.index_select(0, u)).numpy()  # (n,)
        forward = true_score.numpy()
        metrics = {}
        for suffix, values in ranks.items():
            metrics |= ranking_metrics(values, params.hit_ks, suffix)
        metrics["direction_auc"] = direction_auc(forward[forward_only], backward[forward_only])
        metrics["direction_auc_pooled"] = pooled_direction_auc(forward[forward_only], backward[forward_only])
        overall[method] = metrics
        by_bucket[method] = {}
        for index, name in enumerate(names):
            members, directed_members = bucket == index, (bucket == index) & forward_only
            bucket_metrics = ranking_metrics(ranks[primary][members], params.hit_ks, "")
            bucket_metrics["direction_auc"] = (
                direction_auc(forward[directed_members], backward[directed_members])
                if directed_members.any()
                else float("nan")
            )
            by_bucket[method][name] = bucket_metrics
    return overall, by_bucket, info


def seed_embeddings(
    graph: GraphData, split: EdgeSplit, trained: Path, methods: dict[str, cfg.MethodParams], seed: int
) -> dict[str, tuple[str, np.ndarray, np.ndarray]]:
    """Method -> (encoder name, source, target) of one seed: the popularity baseline, then every trained method."""
    embeddings = {POPULARITY: ("dual", *popularity_embeddings(graph.edge_index[:, split.train], graph.num_nodes))}
    for name, method in methods.items():
        embeddings[name] = (method.encoder, *read_embeddings(trained, name, seed))
    return embeddings


@dataclass(frozen=True)
class SeedJob:
    """One seed's evaluation (:func:`evaluate_seed` on the split and embeddings in ``trained``), for a worker process."""

    dataset: str
    graph: GraphData
    trained: Path
    methods: dict[str, cfg.MethodParams]
    params: cfg.EvaluateParams
    seed: int

    def run(self) -> tuple[dict, dict, dict]:
        split = read_split(self.trained, self.seed)
        if split.test.size < self.params.degree_buckets:
            raise DataError(
                f"{split_file(self.trained, self.seed)}: {split.test.size} test edges cannot fill"
                f" {self.params.degree_buckets} degree buckets; lower directed.evaluate.degree_buckets or use a larger graph"
            )
        embeddings = seed_embeddings(self.graph, split, self.trained, self.methods, self.seed)
        return evaluate_seed(self.graph.edge_index, self.graph.num_nodes, split, embeddings, self.params, self.seed)


def run_seed_job(job: SeedJob) -> tuple[dict, dict, dict]:
    """:meth:`SeedJob.run`, as a module-level function a worker process can be handed."""
    return job.run()


def describe_seed(job: SeedJob, result: tuple[dict, dict, dict], _: float) -> str:
    """The progress line of an evaluated seed: each method's MRR and direction AUC."""
    overall = result[0]
    return f"{job.dataset} seed {job.seed}: " + ", ".join(
        f"{m} mrr {v.get('mrr', v['mrr_sampled']):.3f} dir {v['direction_auc']:.3f}" for m, v in overall.items()
    )


def evaluate_seeds(
    dataset: str,
    graph: GraphData,
    trained: Path,
    methods: dict[str, cfg.MethodParams],
    params: cfg.EvaluateParams,
    seeds: list[int],
    workers: int = 1,
    threads: int = 1,
) -> list[tuple[dict, dict, dict]]:
    """:func:`evaluate_seed` of every seed's split and embeddings in ``trained`` (``directed_train``'s
    folder), in seed order, by ``workers`` processes of ``threads`` torch threads (the same results
    for any number), one progress line per seed."""
    jobs = [SeedJob(dataset, graph, trained, methods, params, seed) for seed in seeds]
    return map_jobs(run_seed_job, jobs, workers, describe_seed, threads)


def dataset_metrics(
    dataset: str,
    data_kind: str,
    graph: GraphData,
    runs: list[tuple[dict, dict, dict]],
    training: TrainingLog,
    methods: dict[str, cfg.MethodParams],
    params: cfg.EvaluateParams,
    seeds: list[int],
) -> DatasetMetrics:
    """The metrics file of one dataset: per-seed results of :func:`evaluate_seeds` summarised over
    seeds, the protocol, and the model selection copied from ``training.json``."""
    overall_runs = [overall for overall, _, _ in runs]
    bucket_runs = [by_bucket for _, by_bucket, _ in runs]
    info_runs = [info for _, _, info in runs]
    names = _bucket_names(params.degree_buckets)
    all_methods = [POPULARITY, *methods]
    return DatasetMetrics(
        technique="directed",
        dataset=dataset,
        data_kind=data_kind,
        seeds=seeds,
        summary={m: summarise_seeds(by_key([run[m] for run in overall_runs])) for m in all_methods},
        by_degree={
            m: {b: summarise_seeds(by_key([run[m][b] for run in bucket_runs])) for b in names} for m in all_methods
        },
        degree_buckets={
            b: {key: [seed_info[b][key] for seed_info in info_runs] for key in info_runs[0][b]} for b in names
        },
        protocol={
            "ranking": "all_nodes_filtered" if graph.num_nodes < params.full_ranking_max_nodes else "sampled",
            "num_candidates": params.num_candidates,
            "hit_ks": params.hit_ks,
            "degree": "source training degree (in + out)",
            "test_edges": [sum(seed_info[b]["queries"] for b in names) for seed_info in info_runs],
            "one_way_test_edges": [sum(seed_info[b]["one_way_edges"] for b in names) for seed_info in info_runs],
            "num_nodes": graph.num_nodes,
            "num_edges": graph.num_edges,
        },
        selection={
            name: {key: [training.record(name, seed)[key] for seed in seeds] for key in SELECTION_KEYS}
            for name in methods  # wall times stay in training.json
        },
        neighbourhood={
            name: {
                key: [training.record(name, seed)["neighbourhood_difference"][key] for seed in seeds]
                for key in NEIGHBOURHOOD_KEYS
            }
            for name in methods
        },
    )
