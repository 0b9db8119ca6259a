"""Benchmarks of T3: time the boundary searches on a large synthetic hold-out (stage ``uncertainty_bench``,
:func:`.stage.main_bench`).

EW-DPMT and MIST (equi-weight binning included) against the single-threshold search, and EW-DPMT as
the pipeline runs it (uncertainty detrended, Wilson lower bound: ``ew_dpmt_detrended_lcb``), on
``uncertainty.bench.rows`` rows with ``levels`` x ``bins`` bins. Targets (issue 5): EW-DPMT under
2 s on 1e6 rows x 10 levels x 100 bins, and within 20x of the single threshold. Wall times are the
median of ``repeats`` runs on this machine (2 cores shared with other jobs: times are inflated).

Training harness (``harness_throughput``): training rows per second of ``Trainer.fit`` exactly as
``uncertainty_train`` builds it (:func:`~recsys_challenges.uncertainty.loop.make_trainer`, a CSV
logger; the stage has no validation), the stage's epochs of the headline estimator on the training
split of the first real dataset (:func:`harness_dataset`: KDD Cup 2004 by default), against a plain PyTorch loop
of the same network copy, optimisers, loss and loader batches; the ratio package / plain is the median
over interleaved rounds of process CPU time (:mod:`recsys_challenges.rounds`). Target: >= 0.8.
Output ``reports/bench/uncertainty.json``.
"""

from __future__ import annotations

import copy
import json
import os
import platform
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from lightning.pytorch.loggers import CSVLogger
from scipy.special import expit

from recsys_challenges.config import load_section, read_yaml
from recsys_challenges.errors import ConfigError
from recsys_challenges.distributed import TrainerParams
from recsys_challenges.rounds import interleaved_rounds, throughput_ratio
from recsys_challenges.uncertainty.boundaries import (
    equi_weight_binning,
    ew_dpmt,
    fit_detrender,
    isotonic_rates,
    mist,
    single_threshold,
)
from recsys_challenges.uncertainty.config import BenchParams, BoundaryParams, DatasetParams, TrainParams
from recsys_challenges.uncertainty.datasets import LOADERS, downsample_negatives, split_by_group, standardise
from recsys_challenges.uncertainty.estimators import ESTIMATORS, ClassifierModule
from recsys_challenges.uncertainty.predictions import META_FILE, PREDICTIONS_ROOT, load_predictions, prediction_key
from recsys_challenges.uncertainty.loop import make_trainer, training_loader

BENCH_FILE = Path("reports/bench/uncertainty.json")
TARGET_SECONDS = 2.0
TARGET_RATIO = 20.0
FULL_GRID_BOUND = 1e-6
TARGET_HARNESS_RATIO = 0.8  # package training throughput / a plain loop's
HARNESS_EPOCHS = None  # epochs of one timed round (None: uncertainty.train.model.epochs, one stage fit)
HARNESS_REPEATS = 5  # timed rounds (after a warm-up round)


def synthetic_holdout(rows: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Scores, uncertainties and labels whose positivity falls with uncertainty at a fixed score."""
    rng = np.random.default_rng(seed)
    truth = rng.normal(-2.0, 1.5, rows)  # (N,) true log-odds
    uncertainty = rng.lognormal(-4.0, 1.0, rows)  # (N,) variance
    score = expit(truth + rng.normal(0.0, 1.0, rows) * np.sqrt(uncertainty) * 10 + 3 * uncertainty)
    labels = (rng.random(rows) < expit(truth)).astype(np.int8)
    return score, uncertainty, labels


def median_seconds(run: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return float(np.median(times))


def training_seconds(root: Path = PREDICTIONS_ROOT) -> dict:
    """Seconds ``uncertainty_train`` spent per dataset and estimator (all seeds), from each predictions
    folder's ``meta.json``, and their total: the bulk of T3's part of ``dvc repro``."""
    spent: dict = {}
    for meta_path in sorted(root.glob(f"*/{META_FILE}")):
        per_estimator: dict[str, float] = {}
        for run in json.loads(meta_path.read_text())["per_seed"]:
            if not isinstance(run["seconds"], dict):  # a user's own scores: nothing trained
                continue
            for estimator, seconds in run["seconds"].items():
                per_estimator[estimator] = round(per_estimator.get(estimator, 0.0) + seconds, 1)
        spent[meta_path.parent.name] = per_estimator
    return {"per_dataset": spent, "total": round(sum(sum(d.values()) for d in spent.values()), 1)}


def benchmark(params: BenchParams, boundary_params: BoundaryParams = BoundaryParams()) -> dict:
    score, uncertainty, labels = synthetic_holdout(params.rows, params.seed)

    def binning():
        return equi_weight_binning(score, uncertainty, labels, params.levels, params.bins)

    def mist_from_rows():
        fresh = binning()
        return mist(fresh, isotonic_rates(fresh), params.bound)

    grid = binning()
    rates = isotonic_rates(grid)

    def pipeline_ew_dpmt():
        """As ``uncertainty_evaluate`` runs it: detrend the uncertainty, bin, DP with the Wilson bound."""
        detrended = fit_detrender(score, uncertainty, boundary_params.detrend_bins).transform(score, uncertainty)
        fresh = equi_weight_binning(score, detrended, labels, params.levels, params.bins)
        return ew_dpmt(fresh, params.bound, boundary_params.confidence)

    runs = {
        "single": lambda: single_threshold(score, labels, params.bound),
        "ew_dpmt": lambda: ew_dpmt(binning(), params.bound),
        "ew_dpmt_detrended_lcb": pipeline_ew_dpmt,
        "mist": mist_from_rows,
        "binning_only": binning,
        "ew_dpmt_dp_only": lambda: ew_dpmt(grid, params.bound),
        # a bound this low prunes nothing: the DP runs over every K = 0..L B (its worst case)
        "ew_dpmt_dp_only_full_grid": lambda: ew_dpmt(grid, FULL_GRID_BOUND),
        "mist_after_binning": lambda: mist(grid, rates, params.bound),
    }
    seconds = {name: median_seconds(run, params.repeats) for name, run in runs.items()}
    ratio = {name: seconds[name] / seconds["single"] for name in ("ew_dpmt", "mist")}
    return {
        "rows": params.rows,
        "levels": params.levels,
        "bins": params.bins,
        "bound": params.bound,
        "repeats": params.repeats,
        "seconds": seconds,
        "ratio_to_single": ratio,
        "training_seconds": training_seconds(),
        "targets": {"ew_dpmt_seconds": TARGET_SECONDS, "ew_dpmt_detrended_lcb_seconds": TARGET_SECONDS, "ew_dpmt_ratio_to_single": TARGET_RATIO},
        "targets_met": {
            "ew_dpmt_seconds": seconds["ew_dpmt"] < TARGET_SECONDS,
            "ew_dpmt_detrended_lcb_seconds": seconds["ew_dpmt_detrended_lcb"] < TARGET_SECONDS,
            "ew_dpmt_ratio_to_single": ratio["ew_dpmt"] <= TARGET_RATIO,
        },
        "machine": {
            "cpu_count": os.cpu_count(),
            "processor": platform.processor() or platform.machine(),
            "shared": True,
        },
    }


def harness_dataset(params_path: Path | str = "params.yaml") -> str:
    """The first real dataset of ``uncertainty.datasets`` (the default profile's: KDD Cup 2004,
    ``dvc repro prepare@kddcup2004_protein``)."""
    datasets = read_yaml(Path(params_path))["uncertainty"]["datasets"]
    real = [name for name, spec in datasets.items() if spec.get("kind") == "real" and spec.get("loader") in LOADERS]
    if not real:
        raise ConfigError(f"{params_path}: uncertainty.datasets lists no real dataset to time training on")
    return real[0]


def load_training_table(dataset: str, params_path: Path | str = "params.yaml", seed: int = 0):
    """The training rows ``uncertainty_train`` fits on for ``dataset`` and ``seed`` (split by group,
    negatives down-sampled) and their standardised numerics."""
    spec = load_section(DatasetParams, f"uncertainty.datasets.{dataset}", params_path)
    params = load_section(TrainParams, "uncertainty.train", params_path)
    table = LOADERS[spec.loader](Path(spec.folder))
    split = spec.split or params.split
    train = table.take(split_by_group(table.groups, split.train, split.holdout, split.seed)["train"])
    train = train.take(downsample_negatives(train.labels, spec.negative_keep, np.random.default_rng([seed, 1])))
    return train, standardise(train.numeric)[0], params


def harness_throughput(train, numeric: np.ndarray, params: TrainParams, epochs: int | None, repeats: int,
                       seed: int = 0) -> dict:
    """Training rows per second of ``Trainer.fit`` as ``uncertainty_train`` builds it (its
    :func:`~recsys_challenges.uncertainty.loop.make_trainer`, a CSV logger as ``tracking.csv``; no
    validation in that stage) for ``epochs`` epochs (None: the stage's) of the headline estimator, against a plain loop
    of the same network copy, optimisers (AdamW + SparseAdam), estimator loss and loader batches;
    interleaved rounds, median (:func:`recsys_challenges.rounds.throughput_ratio`)."""
    torch.set_num_threads(params.torch_threads)
    epochs = epochs or params.model.epochs
    estimator = ESTIMATORS[params.estimator]
    class_counts = (int((train.labels == 0).sum()), int((train.labels == 1).sum()))
    torch.manual_seed(seed)
    base = estimator.build(params, train.numeric.shape[1], train.cardinalities, class_counts)
    loss = estimator.loss(params)

    def module() -> ClassifierModule:
        return ClassifierModule(copy.deepcopy(base), loss, params.model.learning_rate, params.model.weight_decay)

    with tempfile.TemporaryDirectory(prefix="uncertainty-harness-") as tmp:
        def package(round_index: int):
            loader = training_loader(numeric, train, params, estimator, seed)
            trainer = make_trainer(params, TrainerParams(), [CSVLogger(save_dir=Path(tmp), name=f"round{round_index}")],
                                   len(loader), max_epochs=epochs)
            lightning_module = module()
            return lambda: trainer.fit(lightning_module, loader)

        def plain(round_index: int):
            loader = training_loader(numeric, train, params, estimator, seed)
            plain_module = module()  # its configure_optimizers: the same optimisers, outside a Trainer
            network, optimizers = plain_module.network, plain_module.configure_optimizers()

            def run() -> None:
                network.train()
                for _ in range(epochs):
                    for numeric_batch, categorical_batch, labels in loader:
                        value = loss(network, numeric_batch, categorical_batch, labels)
                        for optimizer in optimizers:
                            optimizer.zero_grad()
                        value.backward()
                        for optimizer in optimizers:
                            optimizer.step()
            return run

        times = interleaved_rounds({"package": package, "plain": plain}, repeats)
    loader = training_loader(numeric, train, params, estimator, seed)
    return {
        "path": "lightning Trainer.fit as uncertainty_train builds it (make_trainer, CSV logger; the stage has no "
                "validation)",
        "plain": "the same network copy, optimisers (AdamW + SparseAdam), estimator loss and loader batches; "
                 "zero_grad, loss.backward(), step",
        "estimator": params.estimator, "epochs": epochs, "steps_per_epoch": len(loader),
        "batch_size": loader.sampler.batch_size, "clock": "process CPU time (wall time beside it)",
        "target_ratio_min": TARGET_HARNESS_RATIO,
    } | throughput_ratio(epochs * len(loader) * loader.sampler.batch_size, times)


def _timed_boundaries(score: np.ndarray, uncertainty: np.ndarray, labels: np.ndarray, data: str, workload: str) -> dict:
    """One EW-DPMT boundary search (binning included) with the stage's default grid, timed once."""
    params = BenchParams()
    started = time.perf_counter()
    ew_dpmt(equi_weight_binning(score, uncertainty, labels, params.levels, params.bins), params.bound)
    seconds = time.perf_counter() - started
    rows = len(labels)
    return {"technique": "uncertainty", "workload": workload, "data": data, "size": rows, "unit": "rows",
            "wall_s": seconds, "throughput": rows / seconds}


def scale_synthetic() -> dict:
    """EW-DPMT on a synthetic hold-out of 1e7 rows (10 levels x 100 bins, precision >= 0.8)."""
    return _timed_boundaries(*synthetic_holdout(10_000_000, 0), "synthetic hold-out, 1e7 rows", "boundaries_1e7")


def scale_kddcup() -> dict:
    """EW-DPMT on the real KDD Cup 2004 hold-out predictions (first seed) of ``uncertainty_train``."""
    arrays, meta = load_predictions(PREDICTIONS_ROOT / "kddcup2004_protein")
    score, uncertainty = (arrays[prediction_key(meta["estimator"], "holdout", k)][0] for k in ("score", "uncertainty"))
    return _timed_boundaries(score, uncertainty, arrays["holdout_labels"], "KDD Cup 2004 hold-out", "kddcup2004_protein")


# `make bench` (recsys_challenges.bench) runs each in a fresh process and adds its peak memory
SCALE_WORKLOADS: dict[str, Callable[[], dict]] = {"boundaries_1e7": scale_synthetic, "kddcup2004_protein": scale_kddcup}

