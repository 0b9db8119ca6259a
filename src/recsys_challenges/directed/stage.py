"""The directed stages' entry points (``python -m recsys_challenges <stage>``, table in :mod:`recsys_challenges.cli`).

Each ``main_<stage>(argv)`` parses its arguments, loads its params sections, calls the library
modules and writes: ``directed-train`` (:mod:`.loop`), ``directed-evaluate`` (:mod:`.evaluate`),
``directed-figures`` (:mod:`.figures`), ``directed-control`` (:mod:`.control`), ``directed-search``
(:mod:`.search`) and ``directed-bench`` (:mod:`.bench`). Each imports its library inside the
function, so that a stage imports (and, in dvc.yaml, depends on) its own modules only.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import torch

from recsys_challenges.config import load_section, require
from recsys_challenges.data.formats import PREPARED_ROOT, load_graph, read_meta
from recsys_challenges.directed import config as cfg
from recsys_challenges.io import atomic_dir, write_json
from recsys_challenges.workers import load_workers


# stage -> the one-line description of its --help
DESCRIPTIONS = {
    "directed-train": "``directed_train`` stage: train every method on every seed's split of one dataset.",
    "directed-evaluate": "``directed_evaluate`` stage: test metrics of every method, seed by seed, measured once.",
    "directed-figures": "``directed_figures`` stage: the claim figures of T1 and the forward/backward product example.",
    "directed-control": "``directed_control`` stage: a planted positive control for C3 (two-hop adaptive sampling).",
    "directed-search": (
        "``directed_search`` stage: a validation-only search of the same size for every searched method."
    ),
    "directed-bench": (
        "``directed_bench`` stage: speed and memory of the dual GNN and of the sampler, measured in one run."
    ),
}


def _parser(stage: str, out: Path | None = None) -> argparse.ArgumentParser:
    """``stage``'s parser with ``--params``, and ``--out`` defaulting to ``out`` when given."""
    parser = argparse.ArgumentParser(prog=f"recsys_challenges {stage}", description=DESCRIPTIONS[stage])
    parser.add_argument("--params", default="params.yaml")
    if out is not None:
        parser.add_argument("--out", type=Path, default=out)
    return parser


def main_train(argv: list[str] | None = None) -> int:
    """``directed_train``: every method on every seed's split of one dataset (:mod:`.loop`)."""
    from lightning.pytorch.utilities import rank_zero_only

    from recsys_challenges.directed import loop
    from recsys_challenges.distributed import TrainerParams
    from recsys_challenges.tracking import TrackingParams, quiet_lightning

    parser = _parser("directed-train")
    parser.add_argument("dataset", help="a prepared graph dataset (a name in directed.datasets)")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default data/directed/<dataset>)")
    args = parser.parse_args(argv)
    experiment = cfg.load(cfg.ExperimentParams, "experiment", args.params)
    split_params = cfg.load(cfg.SplitParams, "split", args.params)
    params = cfg.load_training(args.params)
    methods = cfg.load_methods(args.params)
    tracking = load_section(TrackingParams, "tracking", args.params)
    trainer_params = load_section(TrainerParams, "trainer", args.params)
    torch.set_num_threads(experiment.num_threads)
    quiet_lightning()
    graph = load_graph(PREPARED_ROOT / args.dataset)
    scratch = loop.scratch_folder(args.dataset, experiment, split_params, methods, trainer_params, params)
    # DDP runs its own processes per job: one job at a time then
    workers = load_workers(args.params) if trainer_params.world_size == 1 else 1
    outputs, training = loop.train_dataset(
        args.dataset, graph, experiment, split_params, params, methods, tracking, trainer_params, workers, scratch
    )
    if rank_zero_only.rank == 0:  # the other processes of a DDP run hold copies
        loop.write_trained(args.out or cfg.OUTPUT_ROOT / args.dataset, outputs, training)
        if scratch.exists():
            shutil.rmtree(scratch)
    return 0


def main_evaluate(argv: list[str] | None = None) -> int:
    """``directed_evaluate``: test metrics of every method, seed by seed, measured once (:mod:`.evaluate`)."""
    from recsys_challenges.directed import evaluate
    from recsys_challenges.directed.results import TrainingLog, read_training

    parser = _parser("directed-evaluate")
    parser.add_argument("dataset", help="a prepared graph dataset (a name in directed.datasets)")
    parser.add_argument(
        "--trained", type=Path, default=None, help="directed_train output (default data/directed/<dataset>)"
    )
    parser.add_argument(
        "--out", type=Path, default=None, help="metrics file (default reports/metrics/directed/<dataset>.json)"
    )
    args = parser.parse_args(argv)
    experiment = cfg.load(cfg.ExperimentParams, "experiment", args.params)
    params = cfg.load(cfg.EvaluateParams, "evaluate", args.params)
    methods = cfg.load_methods(args.params)
    torch.set_num_threads(experiment.num_threads)
    trained = args.trained or cfg.OUTPUT_ROOT / args.dataset
    graph = load_graph(PREPARED_ROOT / args.dataset)
    training = read_training(trained, args.dataset)
    runs = evaluate.evaluate_seeds(
        args.dataset, graph, trained, methods, params, experiment.seeds, load_workers(args.params), experiment.num_threads
    )
    data_kind = read_meta(PREPARED_ROOT / args.dataset).get("data_kind", "real")  # "user": prepare-local
    metrics = evaluate.dataset_metrics(
        args.dataset, data_kind, graph, runs, TrainingLog.from_json(training), methods, params, experiment.seeds
    )
    metrics.write(args.out or cfg.METRICS_ROOT / f"{args.dataset}.json")
    return 0


def main_figures(argv: list[str] | None = None) -> int:
    """``directed_figures``: the claim figures of T1 and the forward/backward product example (:mod:`.figures`)."""
    from recsys_challenges.directed import figures
    from recsys_challenges.plotting import setup

    parser = _parser("directed-figures")
    parser.add_argument("--metrics", type=Path, default=cfg.METRICS_ROOT)
    parser.add_argument("--out", type=Path, default=cfg.FIGURES_ROOT)
    args = parser.parse_args(argv)
    datasets = cfg.load_datasets(args.params)
    methods = cfg.load_methods(args.params)
    experiment = cfg.load(cfg.ExperimentParams, "experiment", args.params)
    params = cfg.load(cfg.FiguresParams, "figures", args.params)
    payloads = figures.load_metrics(datasets, args.metrics)
    setup()
    with atomic_dir(args.out) as out:
        figures.draw_figures(payloads, methods, params, experiment.seeds[0], out)
    return 0


def main_control(argv: list[str] | None = None) -> int:
    """``directed_control``: the planted positive control for C3 (:mod:`.control`)."""
    from recsys_challenges.directed import control

    parser = _parser("directed-control", out=cfg.CONTROL_OUTPUT)
    args = parser.parse_args(argv)
    control_params = cfg.load(cfg.ControlParams, "control", args.params)
    experiment = cfg.load(cfg.ExperimentParams, "experiment", args.params)
    evaluate_params = cfg.load(cfg.EvaluateParams, "evaluate", args.params)
    params = cfg.load_training(args.params)
    known = cfg.load_methods(args.params)
    methods = {name: known[name] for name in (control_params.adaptive_method, control_params.fixed_method)}
    torch.set_num_threads(experiment.num_threads)
    workers = load_workers(args.params)
    metrics = control.run_control(control_params, experiment, evaluate_params, params, methods, workers)
    metrics.write(args.out)
    return 0


def main_search(argv: list[str] | None = None) -> int:
    """``directed_search``: the validation-only hyper-parameter search (:mod:`.search`)."""
    from recsys_challenges.directed import search

    parser = _parser("directed-search", out=cfg.SEARCH_OUTPUT)
    args = parser.parse_args(argv)
    search_params = cfg.load(cfg.SearchParams, "search", args.params)
    known = cfg.load_methods(args.params)
    missing = [name for name in search_params.methods if name not in known]
    require(not missing, f"{args.params}: search.methods {missing} are not in directed.methods")
    grid = search.run_search(search_params, args.params)
    write_json(args.out, grid)
    search.print_chosen(grid)
    return 0


def main_bench(argv: list[str] | None = None) -> int:
    """``directed_bench``: speed and memory of the dual GNN and of the sampler (:mod:`.bench`)."""
    from recsys_challenges.directed import bench

    parser = _parser("directed-bench", out=cfg.BENCH_OUTPUT)
    parser.add_argument("--memory-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.memory_child:
        print(json.dumps(bench.memory_child(args.params)))
        return 0
    experiment = cfg.load(cfg.ExperimentParams, "experiment", args.params)
    bench_params = cfg.load(cfg.BenchParams, "bench", args.params)
    params = cfg.load_training(args.params)
    torch.set_num_threads(experiment.num_threads)
    graph = load_graph(PREPARED_ROOT / bench_params.dataset)
    payload = bench.run_bench(graph, experiment, bench_params, params, args.params)
    write_json(args.out, payload)
    bench.print_summary(payload)
    return 0
