"""Fitting of T3: train the score+uncertainty estimator once per seed, predict the hold-out and test splits.

Per dataset (:func:`train_dataset`): load it through its loader, split train / hold-out / test by
group (fixed split seed), then for every seed: down-sample the training negatives
(``negative_keep``), standardise numerics with training statistics, train the estimator
(``uncertainty.train.estimator``) with Lightning and write each hold-out and test row's score and
uncertainty, for the headline estimator (``uncertainty.train.estimator``) and each ablation
(``uncertainty.train.ablations``). The (estimator, seed) runs are independent jobs run by a pool of
``workers`` processes (params.yaml). A user's own scores are split and written as they are
(:func:`given_scores`). The stage ``uncertainty_train@<dataset>`` (:func:`.stage.main_train`) calls
this module.

Output: ``data/uncertainty/predictions/<dataset>/`` (layout in :mod:`.predictions`).
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path

import lightning as L
import numpy as np
import torch
from torch.utils.data import BatchSampler, DataLoader, Dataset, RandomSampler

from lightning.pytorch.utilities import rank_zero_only

from recsys_challenges.config import to_dict
from recsys_challenges.data.formats import load_table
from recsys_challenges.distributed import TrainerParams
from recsys_challenges.tracking import TrackingParams, quiet_lightning, run_loggers
from recsys_challenges.uncertainty.config import TECHNIQUE, DatasetParams, TrainParams
from recsys_challenges.uncertainty.datasets import (
    LOADERS,
    SPLITS,
    LabelledTable,
    downsample_negatives,
    split_by_group,
    split_rows,
    standardise,
)
from recsys_challenges.uncertainty.estimators import ESTIMATORS, ClassifierModule, Estimator
from recsys_challenges.uncertainty.predictions import EVALUATED_SPLITS, prediction_key, save_predictions
from recsys_challenges.workers import map_jobs


class CopiedRows(Dataset):
    """Training rows as the ``M`` copies of an estimator see them, fetched a whole batch at a time.

    ``rows (N, M)``: the row each copy sees at position ``i`` (a bootstrap sample per column, or the
    identity). ``dataset[indices]`` gives ``numeric (B, M, F)``, ``categorical (B, M, C)`` and
    ``labels (B, M)``: one gather per batch instead of one per row.
    """

    def __init__(self, numeric: torch.Tensor, categorical: torch.Tensor, labels: torch.Tensor, rows: torch.Tensor):
        self.numeric, self.categorical, self.labels, self.rows = numeric, categorical, labels, rows

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, indices: list[int]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        rows = self.rows[indices]  # (B, M)
        return self.numeric[rows], self.categorical[rows], self.labels[rows]


def copy_rows(rows: int, copies: int, bootstrap: bool, rng: np.random.Generator) -> np.ndarray:
    """``(rows, copies)`` row indices: independent bootstrap samples per column, or every row once."""
    if bootstrap:
        return rng.integers(0, rows, size=(rows, copies))
    return np.repeat(np.arange(rows)[:, None], copies, axis=1)


def training_loader(numeric_train: np.ndarray, train: LabelledTable, params: TrainParams, estimator: Estimator,
                    seed: int) -> DataLoader:
    """The training batches: the estimator's copies of the rows (standardised numerics
    ``numeric_train``), in a seeded random order, the last partial batch dropped."""
    rows = copy_rows(len(train.labels), estimator.copies(params), estimator.bootstrap(params), np.random.default_rng([seed, 2]))
    data = CopiedRows(
        torch.from_numpy(numeric_train),
        torch.from_numpy(train.categorical),
        torch.from_numpy(train.labels.astype(np.int64)),
        torch.from_numpy(rows),
    )
    order = RandomSampler(range(len(data)), generator=torch.Generator().manual_seed(seed))
    batch_size = params.model.effective_batch_size(len(data))
    # the last partial batch is dropped (a different one each epoch): a batch of one row has no
    # batch-norm statistics
    return DataLoader(data, sampler=BatchSampler(order, batch_size, drop_last=True), batch_size=None)


def make_trainer(params: TrainParams, trainer_params: TrainerParams, logger: list | bool, steps_per_epoch: int,
                 **overrides) -> L.Trainer:
    """The stage's Trainer; ``overrides`` replace its settings (the benchmark's epochs)."""
    settings = dict(
        max_epochs=params.model.epochs,
        deterministic=True,
        use_distributed_sampler=False,  # the same global batches everywhere; the module shards them
        # one batch-norm statistic over the global batch; torch syncs batch norm on GPUs only, so on
        # CPU processes (gloo) the posterior network normalises each shard by its own statistics
        sync_batchnorm=trainer_params.world_size > 1 and trainer_params.accelerator == "gpu",
        **trainer_params.trainer_kwargs(),
        logger=logger,
        enable_checkpointing=False,
        enable_model_summary=False,
        enable_progress_bar=sys.stderr.isatty(),
        log_every_n_steps=max(1, min(50, steps_per_epoch)),
    )
    return L.Trainer(**(settings | overrides))


def fit_and_predict(
    train: LabelledTable,
    evaluated: dict[str, LabelledTable],
    params: TrainParams,
    seed: int,
    logger: list | bool,
    trainer_params: TrainerParams = TrainerParams(),
    estimator_name: str | None = None,
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Train an estimator (default: the configured one) on ``train`` with ``seed``;
    ``{split: (score, uncertainty)}``.

    Under DDP (``trainer_params``) every process walks the same seeded order of global batches and
    trains on its shard of each (:class:`ClassifierModule`); the trained parameters are then equal
    on every process, which all predict the evaluated splits alike. The posterior network's batch
    norm is synchronised on GPUs; on CPU processes each shard uses its own batch statistics, so
    there it matches one process only approximately.
    """
    L.seed_everything(seed, workers=True)
    torch.set_num_threads(params.torch_threads)
    estimator = ESTIMATORS[estimator_name or params.estimator]
    numeric_train, *standardised = standardise(train.numeric, *(t.numeric for t in evaluated.values()))
    numeric_evaluated = dict(zip(evaluated, standardised, strict=True))
    class_counts = (int((train.labels == 0).sum()), int((train.labels == 1).sum()))
    network = estimator.build(params, train.numeric.shape[1], train.cardinalities, class_counts)
    loader = training_loader(numeric_train, train, params, estimator, seed)
    trainer = make_trainer(params, trainer_params, logger, len(loader))
    module = ClassifierModule(network, estimator.loss(params), params.model.learning_rate, params.model.weight_decay)
    trainer.fit(module, loader)
    network = module.network  # sync_batchnorm may have swapped the batch-norm layers
    if estimator.finish is not None:
        if "holdout" not in evaluated:
            raise ValueError(f"{estimator_name or params.estimator} fits its density on a hold-out: pass one")
        network = estimator.finish(network, params, numeric_train, train, numeric_evaluated["holdout"],
                                   evaluated["holdout"])
    return {
        name: estimator.predict(network, numeric_evaluated[name], table.categorical, params)
        for name, table in evaluated.items()
    }


@dataclass(frozen=True)
class TrainJob:
    """One (estimator, seed) run of a dataset: the arguments of :func:`fit_and_predict`, for a worker
    process. It seeds itself, so its predictions do not depend on the pool's size."""

    dataset: str
    spec: DatasetParams
    estimator: str
    seed: int
    train: LabelledTable
    evaluated: dict[str, LabelledTable]
    params: TrainParams
    tracking: TrackingParams
    trainer_params: TrainerParams = TrainerParams()


def run_job(job: TrainJob) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], float]:
    """Train and predict one job (a module-level function a worker process can be handed); its
    predictions and its wall seconds."""
    started = time.perf_counter()
    quiet_lightning()  # in a worker process too: one line per finished job, no banners
    config = {"dataset": job.dataset, "seed": job.seed, "estimator": job.estimator,
              "dataset_params": to_dict(job.spec), "train": to_dict(job.params)}
    with run_loggers(job.tracking, TECHNIQUE, job.dataset, f"{job.estimator}/seed{job.seed}", config) as loggers:
        result = fit_and_predict(job.train, job.evaluated, job.params, job.seed, loggers or False, job.trainer_params,
                                 job.estimator)
    return result, time.perf_counter() - started


def describe_job(job: TrainJob, result: tuple[dict, float], _: float) -> str:
    """The progress line of one finished job."""
    return f"{job.dataset} seed {job.seed} {job.estimator}: trained on {len(job.train.labels)} rows in {result[1]:.1f}s"


def train_dataset(
    name: str,
    spec: DatasetParams,
    params: TrainParams,
    tracking: TrackingParams,
    out: Path,
    trainer_params: TrainerParams = TrainerParams(),
    workers: int = 1,
) -> dict:
    """Run every seed on dataset ``name`` and write the predictions folder ``out`` (rank 0 of a DDP
    run only: the other processes hold the same predictions); return its meta. The (estimator,
    seed) jobs run in a pool of ``workers`` processes (:func:`~recsys_challenges.workers.map_jobs`);
    the predictions are the same for every pool size."""
    table = LOADERS[spec.loader](Path(spec.folder))
    split = spec.split or params.split
    rows = split_rows(table, split, Path(spec.folder))
    splits = {s: table.take(index) for s, index in rows.items()}
    evaluated = {s: splits[s] for s in EVALUATED_SPLITS}
    arrays: dict[str, np.ndarray] = {"seeds": np.array(params.seeds, dtype=np.int64)}
    for s in EVALUATED_SPLITS:
        arrays[f"{s}_labels"] = evaluated[s].labels
        arrays[f"{s}_groups"] = evaluated[s].groups
        if evaluated[s].truth is not None:
            arrays[f"{s}_truth"] = evaluated[s].truth
    per_seed = []
    jobs = []
    for seed in params.seeds:
        kept = downsample_negatives(splits["train"].labels, spec.negative_keep, np.random.default_rng([seed, 1]))
        train = splits["train"].take(kept)
        jobs += [TrainJob(name, spec, estimator, seed, train, evaluated, params, tracking, trainer_params)
                 for estimator in params.estimators]
        per_seed.append({"seed": seed, "train_rows": int(len(kept)), "train_positives": int(train.labels.sum())})
    # DDP runs its own processes per job: one job at a time then
    pool = workers if trainer_params.world_size == 1 else 1
    results = map_jobs(run_job, jobs, pool, describe_job if rank_zero_only.rank == 0 else None, threads=params.torch_threads)
    predictions: dict[str, list[np.ndarray]] = {}
    for job, (result, seconds) in zip(jobs, results, strict=True):  # in seed order, then estimator order
        for s, (score, uncertainty) in result.items():
            predictions.setdefault(prediction_key(job.estimator, s, "score"), []).append(score)
            predictions.setdefault(prediction_key(job.estimator, s, "uncertainty"), []).append(uncertainty)
        per_seed[params.seeds.index(job.seed)].setdefault("seconds", {})[job.estimator] = round(seconds, 1)
    arrays |= {key: np.stack(values) for key, values in predictions.items()}
    meta = {
        "dataset": name,
        "data_kind": spec.kind,
        "estimator": params.estimator,
        "estimators": list(params.estimators),
        "negative_keep": spec.negative_keep,
        "rows": {s: int(len(splits[s].labels)) for s in splits},
        "positives": {s: int(splits[s].labels.sum()) for s in splits},
        "groups": {s: int(np.unique(splits[s].groups).size) for s in splits},
        "per_seed": per_seed,
    }
    if rank_zero_only.rank == 0:
        save_predictions(out, arrays, meta)
    return meta


GIVEN = "given"  # the estimator name of a user's own scores


def given_scores(name: str, spec: DatasetParams, params: TrainParams, out: Path) -> dict:
    """A user's own scores (loader ``scores``): split the rows into hold-out and test by group, in the
    proportions of ``uncertainty.train.split`` without its train part, and write them as the
    predictions of one run (seed = the split seed) for the boundary stages; nothing is trained."""
    frame = load_table(Path(spec.folder))
    groups = frame["group"].to_numpy(np.int64) if "group" in frame.columns else np.arange(len(frame), dtype=np.int64)
    split = spec.split or params.split
    holdout_share = split.holdout / (1.0 - split.train)
    rows = split_by_group(groups, 0.0, holdout_share, split.seed)
    arrays: dict[str, np.ndarray] = {"seeds": np.array([split.seed], dtype=np.int64)}
    for part_name in EVALUATED_SPLITS:
        part = frame.iloc[rows[part_name]]
        arrays |= {
            f"{part_name}_labels": part["label"].to_numpy(np.int8),
            f"{part_name}_groups": groups[rows[part_name]],
            prediction_key(GIVEN, part_name, "score"): part["score"].to_numpy(np.float64)[None],  # (1, n)
            prediction_key(GIVEN, part_name, "uncertainty"): part["uncertainty"].to_numpy(np.float64)[None],
        }
    meta = {
        "dataset": name,
        "data_kind": spec.kind,
        "estimator": GIVEN,
        "estimators": [GIVEN],
        "negative_keep": spec.negative_keep,
        "rows": {s: int(len(rows[s])) for s in SPLITS},
        "positives": {s: int(frame["label"].to_numpy()[rows[s]].sum()) for s in SPLITS},
        "groups": {s: int(np.unique(groups[rows[s]]).size) for s in SPLITS},
        "per_seed": [{"seed": split.seed, "train_rows": 0, "train_positives": 0, "seconds": 0.0}],
    }
    save_predictions(out, arrays, meta)
    return meta

