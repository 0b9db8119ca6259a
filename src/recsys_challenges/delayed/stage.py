"""The DVC stages of T2, one thin ``main(argv)`` each: parse, load params, call the library, write.

* ``delayed-conversions``: :func:`main_conversions`, one dataset's conversion table (:mod:`.build`);
* ``delayed-stream``: :func:`main_stream`, every method over one stream, per seed (:mod:`.experiment`);
* ``delayed-sweep``: :func:`main_sweep`, the simulated regimes (:mod:`.sweep`);
* ``delayed-figures``: :func:`main_figures`, the figures of C4 and C5 (:mod:`.figures`);
* ``delayed-bench``: :func:`main_bench`, the benchmarks (:mod:`.bench`; ``make bench`` too).

The library modules are imported inside each function, so that a stage imports only what it
runs (``delayed-conversions`` and ``delayed-figures`` do not pay for importing torch).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from recsys_challenges.config import load_section
from recsys_challenges.delayed.config import DatasetSpec
from recsys_challenges.io import write_json


def main_conversions(argv: list[str] | None = None) -> int:
    """``delayed-conversions`` stage: build one dataset's conversion table (schema in ``delayed.conversions``).

    Output: ``data/delayed/conversions/<name>/`` (written atomically).
    """
    from recsys_challenges.delayed.build import BUILDERS
    from recsys_challenges.delayed.config import ConversionParams
    from recsys_challenges.delayed.conversions import CONVERSIONS_ROOT
    from recsys_challenges.io import atomic_dir

    parser = argparse.ArgumentParser(prog="recsys_challenges delayed-conversions",
                                     description=main_conversions.__doc__.splitlines()[0])
    parser.add_argument("dataset", help="a key of delayed.datasets in params.yaml")
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--out", type=Path, default=None, help="default data/delayed/conversions/<dataset>")
    args = parser.parse_args(argv)
    spec = load_section(DatasetSpec, f"delayed.datasets.{args.dataset}", args.params)
    window_s = load_section(ConversionParams, "delayed.conversions", args.params).window_s
    started = time.perf_counter()
    with atomic_dir(args.out or CONVERSIONS_ROOT / args.dataset) as tmp:
        meta = BUILDERS[spec.builder](spec, window_s, tmp)
    stats = meta["stats"]
    print(f"conversion table {args.dataset!r} ({spec.builder}) in {time.perf_counter() - started:.1f}s: "
          f"{stats['clicks']} clicks, {stats['conversions']} conversions ({stats['conversion_rate']:.4f}), "
          f"{stats['signals']} signals; delay quantiles (h) {stats['delay_quantiles_hours']}")
    return 0


def main_stream(argv: list[str] | None = None) -> int:
    """``delayed-stream`` stage: run every method through the streaming protocol, for every seed.

    One job per seed (:func:`.experiment.run_seed`) in a pool of ``workers`` processes, merged into
    one file; with ``trainer.strategy: ddp`` Fabric's processes share every seed's training instead
    (only rank 0 writes). Output ``reports/metrics/delayed/<dataset>.json``
    (:class:`.results.StreamResult`).
    """
    from lightning import Fabric

    from recsys_challenges.delayed.config import ModelParams, ProtocolParams, TrainParams
    from recsys_challenges.delayed.conversions import CONVERSIONS_ROOT
    from recsys_challenges.delayed.evaluate import merge_results
    from recsys_challenges.delayed.experiment import StreamJob, describe, run_seed
    from recsys_challenges.delayed.metrics import METRICS
    from recsys_challenges.delayed.results import METRICS_ROOT
    from recsys_challenges.distributed import TrainerParams
    from recsys_challenges.tracking import TrackingParams
    from recsys_challenges.workers import load_workers, map_jobs

    parser = argparse.ArgumentParser(prog="recsys_challenges delayed-stream",
                                     description=main_stream.__doc__.splitlines()[0])
    parser.add_argument("dataset", help="a key of delayed.datasets in params.yaml")
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--table", type=Path, default=None, help="default data/delayed/conversions/<dataset>")
    parser.add_argument("--out", type=Path, default=None, help="default reports/metrics/delayed/<dataset>.json")
    args = parser.parse_args(argv)
    spec = load_section(DatasetSpec, f"delayed.datasets.{args.dataset}", args.params)
    protocol = load_section(ProtocolParams, "delayed.protocol", args.params)
    model = load_section(ModelParams, "delayed.model", args.params)
    train = load_section(TrainParams, "delayed.train", args.params)
    tracking = load_section(TrackingParams, "tracking", args.params)
    trainer = load_section(TrainerParams, "trainer", args.params)
    table = args.table or CONVERSIONS_ROOT / args.dataset
    jobs = [StreamJob(args.dataset, seed, table, spec, protocol, model, train, tracking) for seed in train.seeds]
    own_streams = spec.simulator is not None  # run_seed simulates each seed's stream
    if trainer.strategy != "ddp":
        # one job per seed in a pool of workers.py's size: each job seeds itself, so the file does not depend on it
        result = merge_results(map_jobs(run_seed, jobs, load_workers(args.params), describe), own_streams)
    else:  # Fabric's processes share every seed's training
        fabric = Fabric(**trainer.trainer_kwargs())
        fabric.launch()
        result = merge_results([run_seed(job, fabric) for job in jobs], own_streams)
        if fabric.global_rank != 0:
            return 0
    write_json(args.out or METRICS_ROOT / f"{args.dataset}.json", result.to_json())
    for name, scores in result.summary.items():
        print(f"{name:>14}: " + "  ".join(f"{m} {scores[m]['mean']:.4f}" if scores[m] else f"{m} undefined"
                                          for m in (*METRICS, "ri_auc", "ri_nll")))
    return 0


def main_sweep(argv: list[str] | None = None) -> int:
    """``delayed-sweep`` stage: simulated regimes as a sweep, one factor at a time around a base regime.

    Output ``reports/metrics/delayed/sweep.json`` (:class:`.results.SweepResult`), with the stage's wall time.
    """
    import torch

    from recsys_challenges.delayed.build import calibrate_on
    from recsys_challenges.delayed.config import ConversionParams, ModelParams, ProtocolParams, SweepParams, TrainParams
    from recsys_challenges.delayed.results import SWEEP_FILE
    from recsys_challenges.delayed.sweep import SWEEP_DATASET, run_sweep
    from recsys_challenges.errors import ConfigError
    from recsys_challenges.workers import load_workers

    started = time.perf_counter()
    parser = argparse.ArgumentParser(prog="recsys_challenges delayed-sweep", description=main_sweep.__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--out", type=Path, default=SWEEP_FILE)
    args = parser.parse_args(argv)
    sweep = load_section(SweepParams, "delayed.sweep", args.params)
    spec = load_section(DatasetSpec, f"delayed.datasets.{SWEEP_DATASET}", args.params)
    if spec.simulator is None:
        raise ConfigError(f"delayed.datasets.{SWEEP_DATASET}: the sweep needs a simulated dataset there")
    window_s = load_section(ConversionParams, "delayed.conversions", args.params).window_s
    protocol = load_section(ProtocolParams, "delayed.protocol", args.params)
    model = load_section(ModelParams, "delayed.model", args.params)
    train_params = load_section(TrainParams, "delayed.train", args.params)
    torch.set_num_threads(1)  # small minibatches, as in delayed-stream
    calibration = calibrate_on(Path(spec.input), window_s)
    result = run_sweep(sweep, calibration, spec, protocol, model, train_params, load_workers(args.params))
    result.wall_s = time.perf_counter() - started
    write_json(args.out, result.to_json())
    print(f"{len(result.points)} regimes x {len(sweep.seeds)} seeds in {result.wall_s:.0f}s -> {args.out}")
    return 0


def main_figures(argv: list[str] | None = None) -> int:
    """``delayed-figures`` stage: the figures of claims C4 and C5 from the metrics files.

    Reads ``reports/metrics/delayed/<dataset>.json`` for every dataset of ``delayed.datasets`` and
    ``sweep.json``; writes ``reports/figures/delayed/`` (:mod:`.figures` lists them).
    """
    from recsys_challenges.config import read_yaml
    from recsys_challenges.delayed.figures import FIGURES_ROOT, load_payloads, write_figures
    from recsys_challenges.delayed.results import METRICS_ROOT
    from recsys_challenges.errors import DataError

    parser = argparse.ArgumentParser(prog="recsys_challenges delayed-figures",
                                     description=main_figures.__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--metrics", type=Path, default=METRICS_ROOT)
    parser.add_argument("--out", type=Path, default=FIGURES_ROOT)
    args = parser.parse_args(argv)
    datasets = list(read_yaml(Path(args.params)).get("delayed", {}).get("datasets", {}))
    if not datasets:
        raise DataError(f"{args.params}: delayed.datasets is empty")
    payloads = load_payloads(datasets, args.metrics)
    names = write_figures(payloads, args.metrics / "sweep.json", args.out)
    print(f"wrote {', '.join(names)} to {args.out}")
    return 0


def main_bench(argv: list[str] | None = None) -> int:
    """``delayed-bench`` stage: cost of the importance weights, and of streaming a large simulated log.

    Output ``reports/bench/delayed.json`` (:mod:`.bench` describes its sections).
    """
    from dataclasses import replace

    from recsys_challenges.delayed.bench import BENCH_DATASET, BENCH_FILE, TIMED_METHODS, Settings, run_bench
    from recsys_challenges.errors import ConfigError

    parser = argparse.ArgumentParser(prog="recsys_challenges delayed-bench", description=main_bench.__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--rows", type=int, default=None, help="simulated rows to stream (default delayed.bench.stream_rows)")
    parser.add_argument("--out", type=Path, default=BENCH_FILE)
    args = parser.parse_args(argv)
    settings = Settings.load(args.params)
    bench = settings.bench
    if args.rows is not None:
        bench = replace(bench, stream_rows=args.rows)  # validated again by the dataclass
    if settings.spec.simulator is None:
        raise ConfigError(f"delayed.datasets.{BENCH_DATASET}: the benchmark needs a simulated dataset there")
    payload = run_bench(settings, bench, args.out.parent if args.out.parent.exists() else None)
    write_json(args.out, payload)
    streamed, speed, harness = payload["stream"], payload["throughput"], payload["harness_throughput"]
    print(f"streamed {streamed['rows']} rows in {streamed['total_s']:.0f}s (simulate {streamed['simulate_s']:.0f}s), "
          f"peak RSS {streamed['peak_rss_gib']:.2f} GiB; plain BCE {speed['plain_bce']['rows_per_s']:.0f} rows/s; "
          + ", ".join(f"{m} x{speed[m]['overhead_ratio']:.2f}" for m in TIMED_METHODS))
    print(f"training harness: fit {harness['package']['examples_per_s']:.0f} examples/s, plain loop "
          f"{harness['plain']['examples_per_s']:.0f}: ratio {harness['ratio']:.2f}")
    return 0
