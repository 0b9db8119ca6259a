"""The DVC stages of T3, one thin ``main(argv)`` each: parse the arguments, load the params, call the
library, write the output.

* ``uncertainty-train`` (:func:`main_train`, stage ``uncertainty_train@<dataset>``): :mod:`.loop`;
* ``uncertainty-evaluate`` (:func:`main_evaluate`, ``uncertainty_evaluate@<dataset>``): :mod:`.evaluate`,
  written through :mod:`.results`;
* ``uncertainty-figures`` (:func:`main_figures`, ``uncertainty_figures@<dataset>``): :mod:`.figures`;
* ``uncertainty-bench`` (:func:`main_bench`, ``uncertainty_bench``): :mod:`.bench`.

Each stage imports its library inside its function, so that a stage imports (and its ``deps`` in
dvc.yaml list) only the modules it runs: evaluating does not import torch, and editing a figure
does not retrain a model.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from recsys_challenges.config import load_section
from recsys_challenges.uncertainty.config import dataset_stage_parser


def main_train(argv: list[str] | None = None) -> int:
    """Fit the estimator once per seed and write the predictions folder (or split a user's own scores)."""
    from recsys_challenges.distributed import TrainerParams
    from recsys_challenges.tracking import TrackingParams
    from recsys_challenges.uncertainty.config import DatasetParams, TrainParams
    from recsys_challenges.uncertainty.datasets import SCORES
    from recsys_challenges.uncertainty.loop import given_scores, train_dataset
    from recsys_challenges.uncertainty.predictions import PREDICTIONS_ROOT
    from recsys_challenges.workers import load_workers

    parser = dataset_stage_parser(
        "uncertainty-train",
        "Stage ``uncertainty_train@<dataset>``: fit the score+uncertainty estimator once per seed, predict",
        f"output folder (default {PREDICTIONS_ROOT}/<dataset>)",
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
        meta = train_dataset(args.dataset, spec, params, tracking, out, trainer_params, load_workers(args.params))
    print(f"{args.dataset}: predictions for {meta['rows']['holdout']} hold-out and {meta['rows']['test']} test rows")
    return 0


def main_evaluate(argv: list[str] | None = None) -> int:
    """Measure C6 and C7 of one dataset's predictions and write its metrics file."""
    from recsys_challenges.io import write_json
    from recsys_challenges.uncertainty.config import BoundaryParams, EvaluateParams
    from recsys_challenges.uncertainty.evaluate import evaluate
    from recsys_challenges.uncertainty.predictions import PREDICTIONS_ROOT, load_predictions
    from recsys_challenges.uncertainty.results import METRICS_ROOT, bound_key
    from recsys_challenges.workers import load_workers

    parser = dataset_stage_parser(
        "uncertainty-evaluate",
        "Stage ``uncertainty_evaluate@<dataset>``: claims C6 and C7 from the hold-out and test predictions.",
        f"metrics file (default {METRICS_ROOT}/<dataset>.json)",
    )
    parser.add_argument("--predictions", type=Path, help=f"predictions folder (default {PREDICTIONS_ROOT}/<dataset>)")
    args = parser.parse_args(argv)
    boundary_params = load_section(BoundaryParams, "uncertainty.boundaries", args.params)
    params = load_section(EvaluateParams, "uncertainty.evaluate", args.params)
    folder = args.predictions or PREDICTIONS_ROOT / args.dataset
    arrays, meta = load_predictions(folder)
    metrics = evaluate(arrays, meta, boundary_params, params, folder, load_workers(args.params))
    write_json(args.out or METRICS_ROOT / f"{args.dataset}.json", metrics.to_json())
    for name, block in metrics.by_estimator().items():
        slope = block.summary["classifier"]["c6_slope_upper"]
        print(f"{args.dataset} {name}: C6 upper slope {slope['mean']} {slope['ci95']} ({slope['outcome']})")
        for bound in params.precision_bounds:
            key = bound_key(bound)
            gains = ", ".join(f"{m} {block.c7.recall_gain[m][key]['mean']}" for m in block.c7.recall_gain)
            print(f"  precision >= {key}: recall gain over single: {gains}")
        if block.diagnostics:
            d = block.diagnostics
            print(f"  diagnostics: ceiling_max {d.ceiling_max}, informative {d.informative}")
    return 0


def main_figures(argv: list[str] | None = None) -> int:
    """Draw the C6 and C7 figures of one dataset from its metrics file and predictions."""
    import json

    from recsys_challenges.errors import DataError
    from recsys_challenges.io import atomic_dir
    from recsys_challenges.plotting import save_png, setup
    from recsys_challenges.uncertainty.config import BoundaryParams, FigureParams
    from recsys_challenges.uncertainty.figures import (
        FIGURES_ROOT,
        boundary_plane,
        c6_heatmap,
        c6_positivity,
        c7_gain,
        c7_recall,
        recorded_boundaries,
    )
    from recsys_challenges.uncertainty.predictions import PREDICTIONS_ROOT, load_predictions
    from recsys_challenges.uncertainty.results import METRICS_ROOT

    parser = dataset_stage_parser(
        "uncertainty-figures",
        "Stage ``uncertainty_figures@<dataset>``: the C6 and C7 figures of one dataset.",
        f"figures folder (default {FIGURES_ROOT}/<dataset>)",
    )
    args = parser.parse_args(argv)
    boundary_params = load_section(BoundaryParams, "uncertainty.boundaries", args.params)
    params = load_section(FigureParams, "uncertainty.figures", args.params)
    metrics_path = METRICS_ROOT / f"{args.dataset}.json"
    if not metrics_path.is_file():
        raise DataError(f"{metrics_path}: not found (run `dvc repro uncertainty_evaluate@{args.dataset}`)")
    metrics = json.loads(metrics_path.read_text())
    arrays, _ = load_predictions(PREDICTIONS_ROOT / args.dataset)
    out = args.out or FIGURES_ROOT / args.dataset
    setup()
    with atomic_dir(out) as tmp:
        save_png(c6_positivity(metrics), tmp / "c6_positivity.png")
        save_png(c6_heatmap(metrics), tmp / "c6_heatmap.png")
        save_png(c7_recall(metrics), tmp / "c7_recall.png")
        save_png(c7_gain(metrics), tmp / "c7_gain.png")
        boundaries = recorded_boundaries(metrics, params.boundary_bound, int(arrays["seeds"][0]), str(metrics_path))
        save_png(boundary_plane(arrays, metrics, boundaries, boundary_params, params), tmp / "boundary.png")
    print(f"{args.dataset}: figures in {out}")
    return 0


def main_bench(argv: list[str] | None = None) -> int:
    """Time the boundary searches and the training harness; write ``reports/bench/uncertainty.json``."""
    from recsys_challenges.io import write_json
    from recsys_challenges.uncertainty.bench import (
        BENCH_FILE,
        HARNESS_EPOCHS,
        HARNESS_REPEATS,
        TARGET_HARNESS_RATIO,
        benchmark,
        harness_dataset,
        harness_throughput,
        load_training_table,
    )
    from recsys_challenges.uncertainty.config import BenchParams, BoundaryParams

    parser = argparse.ArgumentParser(
        prog="recsys_challenges uncertainty-bench",
        description="Stage ``uncertainty_bench``: time the boundary searches on a large synthetic hold-out.",
    )
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--out", type=Path, default=BENCH_FILE)
    args = parser.parse_args(argv)
    result = benchmark(
        load_section(BenchParams, "uncertainty.bench", args.params),
        load_section(BoundaryParams, "uncertainty.boundaries", args.params),
    )
    dataset = harness_dataset(args.params)
    train, numeric, params = load_training_table(dataset, args.params)
    harness = harness_throughput(train, numeric, params, HARNESS_EPOCHS, HARNESS_REPEATS)
    result["harness_throughput"] = harness | {"dataset": dataset, "train_rows": int(len(train.labels))}
    write_json(args.out, result)
    print(", ".join(f"{name} {s:.3f}s" for name, s in result["seconds"].items()), f"ratio {result['ratio_to_single']}")
    print(f"training harness ({dataset}, {harness['estimator']}): Trainer.fit "
          f"{harness['package']['examples_per_s']:.0f} rows/s, plain loop {harness['plain']['examples_per_s']:.0f}: "
          f"ratio {harness['ratio']:.2f} (target >= {TARGET_HARNESS_RATIO})")
    return 0
