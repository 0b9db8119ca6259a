"""Fitting (stage ``directed_train``, :mod:`.stage`): train every method on every seed's split of one dataset.

For each seed: split the edges (:mod:`.splits`), build the training graph's relations and each
method's fan-outs (:func:`method_relations`, :mod:`.sampling`), train the encoder with the
asymmetric loss in Lightning (:mod:`.module`), validate every ``train.val_every`` epochs on
validation MRR against sampled non-neighbour candidates (:func:`validation_set`), stop early, and
keep the node embeddings of the best validation epoch (the checkpoint the test is measured on, once, by ``directed_evaluate``).

Output ``data/directed/<dataset>/`` (:func:`write_trained`, file names and types in :mod:`.results`):
``split_seed<k>.npz`` (train/val/test edge ids), ``<method>_seed<k>.npz`` (``source``, ``target``
``(N, d)`` of the selected checkpoint) and ``training.json`` (per method and seed: selected epoch,
validation MRR, epochs run, seconds, batch size, realised neighbour budget per relation).

Distributed (``trainer`` in params.yaml, :mod:`recsys_challenges.distributed`): every process walks
the same seeded order of *global* batches (``use_distributed_sampler=False``), draws the global
batch's negatives from a generator keyed by (seed, epoch, batch), and trains on its strided shard of
the batch's rows; DDP averages the shard gradients, which equals one process's gradient on the whole
batch when ``W`` divides the batch size. Neighbour sampling is keyed by (seed, epoch, batch, rank),
so with sampled fan-outs ``W`` processes draw other (equally distributed) neighbourhoods than one
process; with full neighbourhoods the results agree up to float summation order. Validation is
computed identically on every rank (same parameters, same seeded sample); only rank 0 writes.

Resume: each (method, seed) run checkpoints to a scratch folder outside DVC,
``runs/checkpoints/directed/<dataset>/<params hash>/<method>_seed<k>/`` (``last.ckpt`` every
``checkpoint_every`` epochs, with the early-stopping state and best-so-far embeddings; ``result.npz`` +
``record.json`` once the run is done). A restarted stage skips finished runs, resumes unfinished ones
from ``last.ckpt``, and removes the folder once its output is written. Because every random draw is
keyed by its position (seed, epoch, batch), a resumed run repeats the uninterrupted one.
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import lightning
import numpy as np
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.utilities import rank_zero_only
from torch import Tensor
from torch.utils.data import DataLoader, Dataset, Sampler, TensorDataset

from recsys_challenges.data.formats import GraphData
from recsys_challenges.directed import config as cfg
from recsys_challenges.directed.metrics import degree_buckets, sample_candidates
from recsys_challenges.directed.models import ENCODERS
from recsys_challenges.directed.module import LinkPredictionModule, TrainingData, keyed_generator
from recsys_challenges.directed.results import RunRecord, TrainingLog, embeddings_name, split_name
from recsys_challenges.directed.sampling import (
    CHOICE_WEIGHTS,
    FANOUT_RULES,
    Relation,
    calibrate_scale,
    directed_relations,
    neighbourhood_differs,
    realised_budget,
    tail_exponent,
)
from recsys_challenges.directed.splits import EdgeSplit, one_way, split_edges
from recsys_challenges.distributed import TrainerParams
from recsys_challenges.io import atomic_dir, atomic_file, write_json
from recsys_challenges.tracking import TrackingParams, quiet_lightning, run_loggers
from recsys_challenges.workers import map_jobs

# "both" merges the out- and in-lists, so a single-embedding model sampling it gets the dual
# model's budget (f out-neighbours + f in-neighbours): twice the per-relation fan-out.
RELATION_BUDGET = {"out": 1, "in": 1, "both": 2, "out_self": 1}
PASS_KEY = 2**31  # second key of the edge permutations' generators (epochs never reach it)


def relation_exponent(degree: Tensor, params: cfg.SamplingParams) -> float:
    """``gamma`` of the adaptive rule: ``sampling.exponent``, or estimated from ``degree`` when unset."""
    return tail_exponent(degree) if params.exponent is None else params.exponent


def node_fanouts(degree: Tensor, rule: str, params: cfg.SamplingParams, budget: int, two_hop: bool = False) -> Tensor:
    """``(N,)`` fan-outs of one relation under ``rule``; adaptive rules match the fixed rule's
    realised budget ``mean min(budget * f, d)`` on this relation's degrees (counting the walk ends
    of ``two_hop`` pools)."""
    fanout = budget * params.fanout
    exponent = relation_exponent(degree, params)
    target = realised_budget(FANOUT_RULES["fixed"](degree, fanout=fanout), degree)
    scale = calibrate_scale(
        degree, target, exponent, budget * params.min_fanout, budget * params.max_fanout, two_hop=two_hop
    )
    return FANOUT_RULES[rule](
        degree,
        fanout=fanout,
        scale=scale,
        exponent=exponent,
        min_fanout=budget * params.min_fanout,
        max_fanout=budget * params.max_fanout,
    )


def method_relations(
    method: cfg.MethodParams, train_edges: Tensor, num_nodes: int, params: cfg.SamplingParams
) -> dict[str, Relation]:
    """The relations ``method``'s encoder samples, with fan-outs and neighbour-choice weights."""
    names = ENCODERS[method.encoder].relations
    relations = directed_relations(train_edges, num_nodes, names)
    total_degree = torch.bincount(train_edges.flatten(), minlength=num_nodes)  # (N,) in + out
    weight = CHOICE_WEIGHTS[method.choice](total_degree, exponent=params.choice_exponent)
    two_hop = method.pool == "two_hop"
    return {
        name: Relation(
            relations[name],
            node_fanouts(relations[name].degree(), method.fanout_rule, params, RELATION_BUDGET[name], two_hop),
            weight,
            two_hop,
        )
        for name in names
    }


def neighbourhood_difference(
    relations: dict[str, Relation], train_edges: Tensor, num_nodes: int, params: cfg.SamplingParams
) -> dict[str, float]:
    """Share of nodes whose sampled neighbourhood (in some relation) differs from the fixed rule's,
    over all nodes and over the lowest-degree quarter (training in + out degree, equal-count buckets)."""
    differs = torch.zeros(num_nodes, dtype=torch.bool)
    for name, relation in relations.items():
        fixed = node_fanouts(relation.csr.degree(), "fixed", params, RELATION_BUDGET[name])
        differs |= neighbourhood_differs(relation, fixed)
    total_degree = torch.bincount(train_edges.flatten(), minlength=num_nodes).numpy()
    lowest = torch.from_numpy(degree_buckets(total_degree, 4) == 0)
    return {"overall": float(differs.double().mean()), "lowest_quarter": float(differs[lowest].double().mean())}


class EdgePositions(Dataset):
    """Positions ``0..E-1`` of the training edges, fetched a whole batch at once: the default
    one-item-at-a-time fetch and collate took over half of an epoch on cit-HepPh."""

    def __init__(self, num_edges: int) -> None:
        self.num_edges = num_edges

    def __len__(self) -> int:
        return self.num_edges

    def __getitem__(self, position: int) -> int:
        return position

    def __getitems__(self, positions: list[int]) -> Tensor:
        return torch.tensor(positions, dtype=torch.int64)  # (B,)


def as_batch(positions: Tensor) -> list[Tensor]:
    """The batch layout ``training_step`` reads: ``[(B,) edge positions]``."""
    return [positions]


def batch_size_for(num_edges: int, params: cfg.TrainParams) -> int:
    """The configured batch size, smaller on small graphs so that one pass takes ``steps_per_epoch`` steps."""
    return max(1, min(params.batch_size, math.ceil(num_edges / params.steps_per_epoch)))


class EpochBatches(Sampler[list[int]]):
    """Batch sampler of ``steps`` batches of edge positions per epoch, walking a stream of passes.

    Pass ``p`` is the permutation of ``0..E-1`` keyed by ``(seed, p)``, cut into ``ceil(E / B)``
    batches (the last one shorter); epoch ``e`` takes global batches ``e * steps .. e * steps + steps - 1``
    of the stream. On small graphs an epoch is one pass; on large ones (``E > steps * B``) it is part
    of a pass, so the epoch count (validations) stays the budget while an epoch's cost is bounded.
    Every draw depends on (seed, epoch) only: resumed and distributed runs repeat it.
    """

    def __init__(self, num_edges: int, batch_size: int, steps: int, seed: int) -> None:
        self.num_edges, self.batch_size, self.steps, self.seed = num_edges, batch_size, steps, seed
        self.epoch = 0
        self.sampler = self  # Lightning sets the epoch through `batch_sampler.sampler.set_epoch`

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.steps

    def __iter__(self) -> Iterator[list[int]]:
        per_pass = math.ceil(self.num_edges / self.batch_size)
        permutation, current = None, -1
        for index in range(self.epoch * self.steps, (self.epoch + 1) * self.steps):
            which, batch = divmod(index, per_pass)
            if which != current:
                generator = keyed_generator(self.seed, PASS_KEY, which)
                permutation, current = torch.randperm(self.num_edges, generator=generator), which
            yield permutation[batch * self.batch_size : (batch + 1) * self.batch_size].tolist()


def validation_set(
    edge_index: np.ndarray, num_nodes: int, split: EdgeSplit, params: cfg.TrainParams, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Validation queries ``(2, n)`` (at most ``val_max_queries``, seeded) and their sampled
    non-neighbour candidates ``(n, K)``, filtered against train and validation edges only."""
    rng = np.random.default_rng(seed)
    chosen = np.sort(rng.permutation(split.val.size)[: params.val_max_queries])
    queries = edge_index[:, split.val[chosen]]
    known = edge_index[:, np.r_[split.train, split.val]]  # the test split stays unseen
    return queries, sample_candidates(queries, known, num_nodes, params.val_candidates, rng)


def edge_loader(num_edges: int, batch_size: int, steps: int, seed: int) -> DataLoader:
    """The training loader: ``steps`` global batches of edge positions per epoch, in the same seeded
    order on every process (:class:`EpochBatches`: keyed by seed and epoch)."""
    return DataLoader(EdgePositions(num_edges), batch_sampler=EpochBatches(num_edges, batch_size, steps, seed),
                      collate_fn=as_batch)


def last_checkpoint(folder: Path, every_n_epochs: int = 1) -> ModelCheckpoint:
    """The state after every ``every_n_epochs``-th epoch in ``folder``, the newest overwriting the last
    (Lightning 2.6 writes ``save_last`` only alongside a top-k save, so the one kept "top-k" checkpoint is
    named last). A resumed run repeats the epochs since then: every draw is keyed by (seed, epoch, batch)."""
    return ModelCheckpoint(dirpath=folder, filename="last", save_top_k=1, enable_version_counter=False,
                           every_n_epochs=every_n_epochs)


def make_trainer(max_epochs: int, loggers: list, callbacks: list, trainer_params: TrainerParams = TrainerParams(),
                 **overrides) -> lightning.Trainer:
    """The stage's Trainer (checkpointing on when ``callbacks`` hold a checkpoint); ``overrides``
    replace its settings (the benchmark switches validation off with ``limit_val_batches=0``)."""
    settings = dict(
        max_epochs=max_epochs,
        logger=loggers,
        callbacks=callbacks,
        enable_checkpointing=any(isinstance(callback, ModelCheckpoint) for callback in callbacks),
        enable_progress_bar=sys.stderr.isatty(),
        enable_model_summary=False,
        num_sanity_val_steps=0,
        log_every_n_steps=1,
        deterministic=False,
        use_distributed_sampler=False,
        **trainer_params.trainer_kwargs(),
    )
    return lightning.Trainer(**(settings | overrides))


def build_module(
    method: cfg.MethodParams,
    method_params: dict,
    edge_index: np.ndarray,
    num_nodes: int,
    split: EdgeSplit,
    validation: tuple[np.ndarray, np.ndarray],
    seed: int,
) -> LinkPredictionModule:
    """The module of one run: the training graph's relations with ``method``'s fan-outs, a fresh
    encoder (drawn from torch's global generator), the one-way flags and the validation set."""
    sampling, model = method_params["sampling"], method_params["model"]
    train_edges = torch.from_numpy(edge_index[:, split.train])  # (2, E_train)
    relations = method_relations(method, train_edges, num_nodes, sampling)
    val_queries, val_candidates = validation
    encoder = ENCODERS[method.encoder](num_nodes, model.dim, model.num_layers)
    data = TrainingData(
        relations,
        train_edges,
        torch.from_numpy(one_way(edge_index[:, split.train], edge_index[:, split.train], num_nodes)),
        torch.from_numpy(val_queries),
        torch.from_numpy(val_candidates),
    )
    return LinkPredictionModule(
        method.encoder, encoder, data, method_params["loss"], method_params["train"], model.num_layers, seed
    )


def run_record(
    module: LinkPredictionModule,
    num_nodes: int,
    train: cfg.TrainParams,
    sampling: cfg.SamplingParams,
    started: float,
    batch_size: int,
) -> RunRecord:
    """The record of a fitted run (``started``: its ``time.perf_counter()`` before the fit)."""
    relations = module.relations
    return RunRecord(
        selected_epoch=module.best_epoch,
        val_mrr=module.best_mrr,
        epochs_run=module.epochs_trained,
        max_epochs=train.max_epochs,
        # the best epoch lies within `patience` of the cap: early stopping never fired, the run may not have converged
        budget_bound=module.best_epoch + train.patience >= train.max_epochs,
        val_curve=module.val_curve,
        seconds=time.perf_counter() - started,
        batch_size=batch_size,
        neighbour_budget={
            relation_name: realised_budget(relation.fanout, relation.csr.degree(), relation.two_hop)
            for relation_name, relation in relations.items()
        },
        exponent={
            relation_name: relation_exponent(relation.csr.degree(), sampling)
            for relation_name, relation in relations.items()
        },
        neighbourhood_difference=neighbourhood_difference(relations, module.train_edges, num_nodes, sampling),
    )


def train_method(
    name: str,
    method: cfg.MethodParams,
    dataset: str,
    edge_index: np.ndarray,
    num_nodes: int,
    split: EdgeSplit,
    validation: tuple[np.ndarray, np.ndarray],
    seed: int,
    params: dict,
    tracking: TrackingParams,
    trainer_params: TrainerParams = TrainerParams(),
    checkpoints: Path | None = None,
) -> tuple[np.ndarray, np.ndarray, RunRecord]:
    """Train one method on one seed's split; returns the selected ``source``, ``target`` and a record.

    With ``checkpoints`` (a scratch folder of this run), a finished run's result is read back from it,
    an unfinished one resumes from its ``last.ckpt``, and the result is saved there when done.
    """
    finished = None if checkpoints is None else read_finished(checkpoints)
    if finished is not None:
        return finished
    lightning.seed_everything(seed, workers=True, verbose=False)
    method_params = cfg.method_training(method, params)  # params with the method's own overrides
    train = method_params["train"]
    module = build_module(method, method_params, edge_index, num_nodes, split, validation, seed)
    batch_size = batch_size_for(split.train.size, train)
    loader = edge_loader(split.train.size, batch_size, train.steps_per_epoch, seed)
    config = {"dataset": dataset, "method": name, "seed": seed, "batch_size": batch_size, **asdict(method)}
    config |= {section: asdict(value) for section, value in method_params.items()}
    config |= {"trainer": asdict(trainer_params)}
    last = None if checkpoints is None else checkpoints / "last.ckpt"
    callbacks = [] if checkpoints is None else [last_checkpoint(checkpoints, train.checkpoint_every)]
    started = time.perf_counter()
    with run_loggers(tracking, "directed", dataset, f"{name}_seed{seed}", config) as loggers:
        trainer = make_trainer(train.max_epochs, loggers, callbacks, trainer_params,
                               check_val_every_n_epoch=train.val_every)
        trainer.fit(
            module,
            train_dataloaders=loader,
            val_dataloaders=DataLoader(TensorDataset(torch.zeros(1))),
            ckpt_path=last if last is not None and last.exists() else None,
        )
    source, target = module.best_embeddings
    record = run_record(module, num_nodes, train, method_params["sampling"], started, batch_size)
    if trainer.is_global_zero and checkpoints is not None:
        write_finished(checkpoints, source.numpy(), target.numpy(), record)
    return source.numpy(), target.numpy(), record


def describe_run(dataset: str, name: str, seed: int, record: RunRecord) -> str:
    """The progress line of one finished (method, seed) run."""
    return (f"{dataset} {name} seed {seed}: val MRR {record['val_mrr']:.4f} at epoch {record['selected_epoch']} "
            f"({record['epochs_run']} epochs, {record['seconds']:.1f}s)")


@dataclass(frozen=True)
class TrainJob:
    """One (method, seed) run of a dataset: the arguments of :func:`train_method`, for a worker process."""

    name: str
    method: cfg.MethodParams
    dataset: str
    edge_index: np.ndarray
    num_nodes: int
    split: EdgeSplit
    validation: tuple[np.ndarray, np.ndarray]
    seed: int
    params: dict
    tracking: TrackingParams
    trainer_params: TrainerParams = TrainerParams()
    checkpoints: Path | None = None

    def run(self) -> tuple[np.ndarray, np.ndarray, RunRecord]:
        quiet_lightning()
        return train_method(self.name, self.method, self.dataset, self.edge_index, self.num_nodes, self.split,
                            self.validation, self.seed, self.params, self.tracking, self.trainer_params, self.checkpoints)


def run_job(job: TrainJob) -> tuple[np.ndarray, np.ndarray, RunRecord]:
    """:meth:`TrainJob.run`, as a module-level function a worker process can be handed."""
    return job.run()


def write_finished(folder: Path, source: np.ndarray, target: np.ndarray, record: RunRecord) -> None:
    """Save a finished run's selected embeddings and record in its scratch folder (record last:
    its presence marks the run finished)."""
    with atomic_file(folder / "result.npz") as tmp:
        with open(tmp, "wb") as handle:
            np.savez(handle, source=source, target=target)
    write_json(folder / "record.json", record)


def read_finished(folder: Path) -> tuple[np.ndarray, np.ndarray, RunRecord] | None:
    """A finished run's ``(source, target, record)`` from its scratch folder, or None."""
    if not (folder / "record.json").exists():
        return None
    with np.load(folder / "result.npz") as result:
        return result["source"], result["target"], json.loads((folder / "record.json").read_text())


def checkpoint_folder(dataset: str, config: dict) -> Path:
    """``runs/checkpoints/directed/<dataset>/<hash of everything a run depends on>``."""
    digest = hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:16]
    return cfg.CHECKPOINT_ROOT / dataset / digest


def scratch_folder(
    dataset: str,
    experiment: cfg.ExperimentParams,
    split_params: cfg.SplitParams,
    methods: dict[str, cfg.MethodParams],
    trainer_params: TrainerParams,
    params: dict,
) -> Path:
    """The stage's :func:`checkpoint_folder`, keyed by the repr of every params section it reads."""
    run_config = {"experiment": experiment, "split": split_params, "methods": methods, "trainer": trainer_params}
    return checkpoint_folder(dataset, {key: repr(value) for key, value in (run_config | params).items()})


def train_dataset(
    dataset: str,
    graph: GraphData,
    experiment: cfg.ExperimentParams,
    split_params: cfg.SplitParams,
    params: dict,
    methods: dict[str, cfg.MethodParams],
    tracking: TrackingParams,
    trainer_params: TrainerParams,
    workers: int,
    scratch: Path,
) -> tuple[dict[str, dict[str, np.ndarray]], TrainingLog]:
    """Every method on every seed's split of ``graph``, in ``workers`` processes of
    ``experiment.num_threads`` threads each (one line per finished run on rank 0). Returns the arrays
    of each output file (names from :mod:`.results`) and the contents of ``training.json``."""
    outputs: dict[str, dict[str, np.ndarray]] = {}
    records: dict[str, dict[str, RunRecord]] = {name: {} for name in methods}
    jobs = []
    for seed in experiment.seeds:
        split = split_edges(
            graph.edge_index, graph.num_nodes, split_params.val_fraction, split_params.test_fraction, seed
        )
        outputs[split_name(seed)] = {"train": split.train, "val": split.val, "test": split.test}
        validation = validation_set(graph.edge_index, graph.num_nodes, split, params["train"], seed)
        jobs += [TrainJob(name, method, dataset, graph.edge_index, graph.num_nodes, split, validation, seed, params,
                          tracking, trainer_params, scratch / f"{name}_seed{seed}") for name, method in methods.items()]
    describe = (
        (lambda job, result, _: describe_run(job.dataset, job.name, job.seed, result[2]))
        if rank_zero_only.rank == 0
        else None  # the other processes of a DDP run stay quiet
    )
    results = map_jobs(run_job, jobs, workers, describe, threads=experiment.num_threads)
    for job, (source, target, record) in zip(jobs, results, strict=True):
        outputs[embeddings_name(job.name, job.seed)] = {"source": source, "target": target}
        records[job.name][str(job.seed)] = record
    return outputs, TrainingLog(dataset=dataset, seeds=experiment.seeds, methods=records)


def write_trained(folder: Path, outputs: dict[str, dict[str, np.ndarray]], training: TrainingLog) -> None:
    """``directed_train``'s folder, replaced at once: the ``.npz`` files of :func:`train_dataset` and
    ``training.json``."""
    with atomic_dir(folder) as out:
        for filename, arrays in outputs.items():
            np.savez(out / filename, **arrays)
        training.write(out)
