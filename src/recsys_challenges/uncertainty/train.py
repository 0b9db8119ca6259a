"""Stage ``uncertainty_train@<dataset>``: fit the score+uncertainty estimator once per seed, predict
the hold-out and test splits.

Per dataset: load it through its loader, split train / hold-out / test by group (fixed split seed),
then for every seed: down-sample the training negatives (``negative_keep``), standardise numerics
with training statistics, train the estimator (``uncertainty.train.estimator``) with Lightning and
write each hold-out and test row's score (mean probability) and uncertainty (variance).

Output: ``data/uncertainty/predictions/<dataset>/`` (layout in :mod:`.predictions`).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader, TensorDataset

from lightning.pytorch.utilities import rank_zero_only

from recsys_challenges.config import load_section, to_dict
from recsys_challenges.data.formats import load_table
from recsys_challenges.distributed import TrainerParams
from recsys_challenges.tracking import TrackingParams, run_loggers
from recsys_challenges.uncertainty.config import TECHNIQUE, DatasetParams, TrainParams, dataset_stage_parser
from recsys_challenges.uncertainty.datasets import (
    LOADERS,
    SCORES,
    SPLITS,
    LabelledTable,
    downsample_negatives,
    split_by_group,
    standardise,
)
from recsys_challenges.uncertainty.estimators import ESTIMATORS, ClassifierModule, EnsembleMLP, mean_and_variance
from recsys_challenges.uncertainty.predictions import EVALUATED_SPLITS, PREDICTIONS_ROOT, save_predictions


def fit_and_predict(
    train: LabelledTable,
    evaluated: dict[str, LabelledTable],
    params: TrainParams,
    seed: int,
    logger: list | bool,
    trainer_params: TrainerParams = TrainerParams(),
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Train the configured estimator on ``train`` with ``seed``; ``{split: (score, uncertainty)}``.

    Under DDP (``trainer_params``) every process walks the same seeded order of global batches and
    trains on its shard of each (:class:`ClassifierModule`); the trained parameters are then equal
    on every process, which all predict the evaluated splits alike.
    """
    L.seed_everything(seed, workers=True)
    torch.set_num_threads(params.torch_threads)
    estimator = ESTIMATORS[params.estimator]
    numeric_train, *numeric_other = standardise(train.numeric, *(t.numeric for t in evaluated.values()))
    network = EnsembleMLP(
        members=estimator.members(params),
        numeric_features=train.numeric.shape[1],
        cardinalities=train.cardinalities,
        embedding_dim=params.model.embedding_dim,
        hidden=params.model.hidden,
        dropout=estimator.dropout(params),
    )
    data = TensorDataset(
        torch.from_numpy(numeric_train),
        torch.from_numpy(train.categorical),
        torch.from_numpy(train.labels.astype(np.int64)),
    )
    loader = DataLoader(
        data, batch_size=params.model.batch_size, shuffle=True, generator=torch.Generator().manual_seed(seed)
    )
    trainer = L.Trainer(
        max_epochs=params.model.epochs,
        deterministic=True,
        use_distributed_sampler=False,  # the same global batches everywhere; the module shards them
        **trainer_params.trainer_kwargs(),
        logger=logger,
        enable_checkpointing=False,
        enable_model_summary=False,
        enable_progress_bar=sys.stderr.isatty(),
        log_every_n_steps=max(1, min(50, len(loader))),
    )
    module = ClassifierModule(network, params.model.learning_rate, params.model.weight_decay)
    trainer.fit(module, loader)
    return {
        name: mean_and_variance(estimator.draw(network, numeric, table.categorical, params))
        for (name, table), numeric in zip(evaluated.items(), numeric_other, strict=True)
    }


def train_dataset(
    name: str,
    spec: DatasetParams,
    params: TrainParams,
    tracking: TrackingParams,
    out: Path,
    trainer_params: TrainerParams = TrainerParams(),
) -> dict:
    """Run every seed on dataset ``name`` and write the predictions folder ``out`` (rank 0 of a DDP
    run only: the other processes hold the same predictions); return its meta."""
    table = LOADERS[spec.loader](Path(spec.folder))
    rows = split_by_group(table.groups, params.split.train, params.split.holdout, params.split.seed)
    splits = {split: table.take(index) for split, index in rows.items()}
    evaluated = {split: splits[split] for split in EVALUATED_SPLITS}
    arrays: dict[str, np.ndarray] = {"seeds": np.array(params.seeds, dtype=np.int64)}
    for split in EVALUATED_SPLITS:
        arrays[f"{split}_labels"] = evaluated[split].labels
        arrays[f"{split}_groups"] = evaluated[split].groups
    per_seed = []
    predictions: dict[str, list[np.ndarray]] = {
        f"{s}_{k}": [] for s in EVALUATED_SPLITS for k in ("score", "uncertainty")
    }
    for seed in params.seeds:
        started = time.perf_counter()
        kept = downsample_negatives(splits["train"].labels, spec.negative_keep, np.random.default_rng([seed, 1]))
        train = splits["train"].take(kept)
        config = {"dataset": name, "seed": seed, "dataset_params": to_dict(spec), "train": to_dict(params)}
        with run_loggers(tracking, TECHNIQUE, name, f"seed{seed}", config) as loggers:
            result = fit_and_predict(train, evaluated, params, seed, loggers or False, trainer_params)
        for split, (score, uncertainty) in result.items():
            predictions[f"{split}_score"].append(score)
            predictions[f"{split}_uncertainty"].append(uncertainty)
        seconds = time.perf_counter() - started
        per_seed.append(
            {
                "seed": seed,
                "train_rows": int(len(kept)),
                "train_positives": int(train.labels.sum()),
                "seconds": round(seconds, 1),
            }
        )
        print(f"{name} seed {seed}: trained on {len(kept)} rows in {seconds:.1f}s")
    arrays |= {key: np.stack(values) for key, values in predictions.items()}
    meta = {
        "dataset": name,
        "data_kind": spec.kind,
        "estimator": params.estimator,
        "negative_keep": spec.negative_keep,
        "rows": {split: int(len(splits[split].labels)) for split in splits},
        "positives": {split: int(splits[split].labels.sum()) for split in splits},
        "groups": {split: int(np.unique(splits[split].groups).size) for split in splits},
        "per_seed": per_seed,
    }
    if rank_zero_only.rank == 0:
        save_predictions(out, arrays, meta)
    return meta


def given_scores(name: str, spec: DatasetParams, params: TrainParams, out: Path) -> dict:
    """A user's own scores (loader ``scores``): split the rows into hold-out and test by group, in the
    proportions of ``uncertainty.train.split`` without its train part, and write them as the
    predictions of one run (seed = the split seed) for the boundary stages; nothing is trained."""
    frame = load_table(Path(spec.folder))
    groups = frame["group"].to_numpy(np.int64) if "group" in frame.columns else np.arange(len(frame), dtype=np.int64)
    holdout_share = params.split.holdout / (1.0 - params.split.train)
    rows = split_by_group(groups, 0.0, holdout_share, params.split.seed)
    arrays: dict[str, np.ndarray] = {"seeds": np.array([params.split.seed], dtype=np.int64)}
    for split in EVALUATED_SPLITS:
        part = frame.iloc[rows[split]]
        arrays |= {
            f"{split}_labels": part["label"].to_numpy(np.int8),
            f"{split}_groups": groups[rows[split]],
            f"{split}_score": part["score"].to_numpy(np.float64)[None],  # (1, n)
            f"{split}_uncertainty": part["uncertainty"].to_numpy(np.float64)[None],
        }
    meta = {
        "dataset": name,
        "data_kind": spec.kind,
        "estimator": "given",
        "negative_keep": spec.negative_keep,
        "rows": {split: int(len(rows[split])) for split in SPLITS},
        "positives": {split: int(frame["label"].to_numpy()[rows[split]].sum()) for split in SPLITS},
        "groups": {split: int(np.unique(groups[rows[split]]).size) for split in SPLITS},
        "per_seed": [{"seed": params.split.seed, "train_rows": 0, "train_positives": 0, "seconds": 0.0}],
    }
    save_predictions(out, arrays, meta)
    return meta


def main(argv: list[str] | None = None) -> int:
    parser = dataset_stage_parser(
        "uncertainty-train", __doc__.splitlines()[0], f"output folder (default {PREDICTIONS_ROOT}/<dataset>)"
    )
    args = parser.parse_args(argv)
    spec = load_section(DatasetParams, f"uncertainty.datasets.{args.dataset}", args.params)
    params = load_section(TrainParams, "uncertainty.train", args.params)
    tracking = load_section(TrackingParams, "tracking", args.params)
    trainer_params = load_section(TrainerParams, "trainer", args.params)
    out = args.out or PREDICTIONS_ROOT / args.dataset
    if spec.loader == SCORES:
        meta = given_scores(args.dataset, spec, params, out)
    else:
        meta = train_dataset(args.dataset, spec, params, tracking, out, trainer_params)
    print(f"{args.dataset}: predictions for {meta['rows']['holdout']} hold-out and {meta['rows']['test']} test rows")
    return 0
