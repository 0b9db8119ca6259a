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

from recsys_challenges.config import load_section, to_dict
from recsys_challenges.tracking import TrackingParams, run_loggers
from recsys_challenges.uncertainty.config import TECHNIQUE, DatasetParams, TrainParams, dataset_stage_parser
from recsys_challenges.uncertainty.datasets import (
    LOADERS,
    LabelledTable,
    downsample_negatives,
    split_by_group,
    standardise,
)
from recsys_challenges.uncertainty.estimators import ESTIMATORS, ClassifierModule, EnsembleMLP, mean_and_variance
from recsys_challenges.uncertainty.predictions import EVALUATED_SPLITS, PREDICTIONS_ROOT, save_predictions


def fit_and_predict(
    train: LabelledTable, evaluated: dict[str, LabelledTable], params: TrainParams, seed: int, logger: list | bool
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Train the configured estimator on ``train`` with ``seed``; ``{split: (score, uncertainty)}``."""
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
        accelerator="cpu",
        devices=1,
        deterministic=True,
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


def train_dataset(name: str, spec: DatasetParams, params: TrainParams, tracking: TrackingParams, out: Path) -> dict:
    """Run every seed on dataset ``name`` and write the predictions folder ``out``; return its meta."""
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
            result = fit_and_predict(train, evaluated, params, seed, loggers or False)
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
    meta = train_dataset(args.dataset, spec, params, tracking, args.out or PREDICTIONS_ROOT / args.dataset)
    print(f"{args.dataset}: predictions for {meta['rows']['holdout']} hold-out and {meta['rows']['test']} test rows")
    return 0
