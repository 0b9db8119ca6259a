"""Benchmarks of T2 (stage ``delayed-bench``): cost of the importance weights, and of streaming a large simulated log.

1. **Streaming.** Simulate ``delayed.bench.stream_rows`` clicks (``--rows`` overrides it, up to
   2e7) with the simulator of dataset ``sim`` (``delayed.datasets.sim``) into a temporary table, chunk by
   chunk, then run the whole protocol over it (pretraining, every step, every test slot) for
   oracle, vanilla and the pre-conversion-aware weights with one seed. Reports the simulation and
   stream times and the process's peak resident memory (measured before anything else runs).
2. **Throughput.** On ``throughput_rows`` events of that stream (ES-DFM's ingestion), one pass
   of training with each method's weighted loss, auxiliary-model inference included, against
   plain BCE on the same events and the same network; rows per second of process CPU time
   (median of ``repeats`` interleaved rounds; CPU time, unlike wall time, does not count the
   time other jobs hold the cores) and the overhead ratio ``time(weighted) / time(plain BCE)``.
3. **Training harness** (``harness_throughput``). Examples/s of one epoch of ``loop.fit`` (the
   Fabric loop that pretrains the CVR model, as ``pretrain_cvr`` calls it; no hold-out, so no early
   stopping; no loggers: they log once per epoch) on the stream's first ``throughput_rows``
   pretraining clicks, against a plain PyTorch loop of the same network copy, optimisers, loss and
   minibatch order; the ratio package / plain is the median over interleaved rounds of process CPU
   time (:mod:`recsys_challenges.rounds`). Target: >= 0.8.

Output ``reports/bench/delayed.json``. Timings are wall clock on this machine, one torch thread;
other jobs running at the same time inflate them.

``SCALE_WORKLOADS`` (for ``make bench``, :mod:`recsys_challenges.bench`, which runs each in a fresh
process and adds its peak memory): ``sim_2e7``, the streaming benchmark above on 2e7 simulated
clicks (about 20 minutes on 2 cores), and ``taobao``, the same three methods and seed streamed over
the real Taobao conversion table of the default pipeline (``dvc repro delayed_conversions@taobao``).
"""

from __future__ import annotations

import copy
import os
import platform
import resource
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch

from recsys_challenges.config import load_section
from recsys_challenges.delayed import build, conversions, stream
from recsys_challenges.delayed.experiment import run
from recsys_challenges.delayed.config import (
    BenchParams,
    ConversionParams,
    DatasetSpec,
    ModelParams,
    ProtocolParams,
    TrainParams,
)
from recsys_challenges.delayed.loop import (
    Context,
    Features,
    Learner,
    Loss,
    bce_head,
    fit,
    new_net,
    one_process,
    signal_view,
    step_tensors,
)
from recsys_challenges.delayed.methods import methods
from recsys_challenges.delayed.models import optimizers
from recsys_challenges.rounds import interleaved_rounds, median_ratio, throughput_ratio

BENCH_FILE = Path("reports/bench/delayed.json")
BENCH_DATASET = "sim"  # its simulator, calibration input and batch size are the benchmark's (dvc.yaml deps too)
TIMED_METHODS = ("fnw", "fsiw", "esdfm", "defer", "pcaw", "pcaw_fsiw", "defuse_signals")
STREAMED_METHODS = ["oracle", "vanilla", "pcaw"]
SCALE_ROWS = 20_000_000
TARGET_HARNESS_RATIO = 0.8  # package training throughput / a plain loop's


def peak_rss_gib() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


@dataclass(frozen=True)
class Settings:
    """The params the benchmark reads (dataset ``sim``'s spec, window, protocol, model, training, bench)."""

    bench: BenchParams
    spec: DatasetSpec
    window_s: int
    protocol: ProtocolParams
    model: ModelParams
    train: TrainParams

    @classmethod
    def load(cls, params: str | Path = "params.yaml", dataset: str = BENCH_DATASET) -> Settings:
        spec = load_section(DatasetSpec, f"delayed.datasets.{dataset}", params)
        return cls(load_section(BenchParams, "delayed.bench", params), spec,
                   load_section(ConversionParams, "delayed.conversions", params).window_s,
                   load_section(ProtocolParams, "delayed.protocol", params),
                   load_section(ModelParams, "delayed.model", params), load_section(TrainParams, "delayed.train", params))


def timed_stream(folder: Path, dataset: str, settings: Settings) -> dict[str, Any]:
    """Stream the table in ``folder`` through the protocol with ``STREAMED_METHODS`` and the first seed."""
    single = replace(settings.train, methods=STREAMED_METHODS, seeds=settings.train.seeds[:1])
    started = time.perf_counter()
    result = run(folder, dataset, settings.spec, settings.protocol, settings.model, single, None)
    stream_s = time.perf_counter() - started
    return {
        "stream_s": stream_s,
        "stream_events_per_s": result.protocol.test_clicks * len(STREAMED_METHODS) / max(stream_s, 1e-9),
        "methods": single.methods,
        "steps": result.protocol.steps,
        "pcaw_auc": result.summary["pcaw"]["auc"]["mean"],
    }


def stream_benchmark(settings: Settings, rows: int, folder: Path) -> dict[str, Any]:
    """Simulate ``rows`` clicks into ``folder`` and stream them through the protocol; times and peak memory."""
    started = time.perf_counter()
    calibration = build.calibrate_on(Path(settings.spec.input), settings.window_s)
    simulator = build.simulator_for(calibration, settings.spec.simulator, rows=rows)
    build.write_simulation(simulator, folder, {"calibrated_on": settings.spec.input})
    simulate_s = time.perf_counter() - started
    streamed = timed_stream(folder, "bench", settings)
    return {"rows": rows, "simulate_s": simulate_s, "total_s": simulate_s + streamed["stream_s"],
            "peak_rss_gib": peak_rss_gib()} | streamed


def _scale_row(workload: str, data: str, rows: int, seconds: float) -> dict[str, Any]:
    return {"technique": "delayed", "workload": workload, "data": data, "size": rows, "unit": "rows",
            "wall_s": seconds, "throughput": rows / seconds}


def scale_sim_2e7() -> dict[str, Any]:
    """Simulate 2e7 clicks (dataset ``sim``'s simulator, bounded memory) and stream them (:func:`stream_benchmark`)."""
    settings = Settings.load()
    torch.set_num_threads(1)  # as in the stages
    with tempfile.TemporaryDirectory(prefix="delayed-scale-", dir=conversions.CONVERSIONS_ROOT.parent) as tmp:
        streamed = stream_benchmark(settings, SCALE_ROWS, Path(tmp))
    return _scale_row("sim_2e7", f"simulated clicks calibrated on Taobao, streamed with {'/'.join(STREAMED_METHODS)}, "
                      "1 seed", SCALE_ROWS, streamed["total_s"])


def scale_taobao() -> dict[str, Any]:
    """Stream the real Taobao conversion table (:func:`timed_stream`, dataset ``taobao``'s batch size)."""
    folder = conversions.CONVERSIONS_ROOT / "taobao"
    rows = int(conversions.read_meta(folder)["stats"]["clicks"])
    torch.set_num_threads(1)  # as in the stages
    streamed = timed_stream(folder, "taobao", Settings.load(dataset="taobao"))
    return _scale_row("taobao", f"Taobao UserBehavior clicks, streamed with {'/'.join(STREAMED_METHODS)}, 1 seed",
                      rows, streamed["stream_s"])


# `make bench` (recsys_challenges.bench) runs each in a fresh process and adds its peak memory
SCALE_WORKLOADS: dict[str, Callable[[], dict]] = {"sim_2e7": scale_sim_2e7, "taobao": scale_taobao}


def throughput_benchmark(folder: Path, protocol: ProtocolParams, model: ModelParams, train_params: TrainParams,
                         batch_size: int, rows: int, repeats: int) -> dict[str, Any]:
    """Rows/s of one training pass per method on the same events, and the overhead over plain BCE."""
    meta = conversions.read_meta(folder)
    timeline = stream.make_timeline(meta, protocol)
    view = signal_view(meta)
    context = Context(model, replace(train_params, stream_passes=1), protocol, timeline, Features(model.hash_bits),
                      len(meta["signal_kinds"]), batch_size, view, one_process())
    line = stream.Line(partial(stream.elapsed_window, elapsed_s=protocol.elapsed_window_s), view(meta["signal_strengths"][0]))
    steps = stream.protocol(folder, timeline, {"events": line}, context.kinds)
    next(steps)  # the pretraining data: not needed to time one training pass
    collected, count = [], 0
    for step in steps:
        collected.append(step.events["events"])
        count += len(collected[-1])
        if count >= rows:
            break
    batch = stream.EventBatch.concat(collected)
    events = batch.clicks
    catalogue = methods(["vanilla", *TIMED_METHODS], protocol)
    families = tuple(sorted({f for m in catalogue.values() for f in m.aux}))
    tensors = step_tensors(context, batch, families)
    torch.manual_seed(0)
    base = new_net(context, events, 0, 1, model.hidden)
    aux_nets = {f: new_net(context, events, tensors.aux_dense[f].shape[1] - events.numeric.shape[1], 2,
                           model.aux_hidden).eval() for f in families}

    lines = {"plain_bce": catalogue["vanilla"]} | {name: catalogue[name] for name in TIMED_METHODS}

    def arm(method):
        def prepare(round_index: int):
            learner = Learner(copy.deepcopy(base), method, {f: aux_nets[f] for f in method.aux}, context, 0,
                              round_index)
            return lambda: learner.train_step(tensors, 0)
        return prepare

    times = interleaved_rounds({name: arm(method) for name, method in lines.items()}, repeats)
    results: dict[str, Any] = {"rows": int(len(batch)), "batch_size": batch_size, "repeats": repeats,
                               "clock": "process CPU time (one thread; robust to other jobs), wall time beside it",
                               "ratio": "median over rounds of the method's CPU time / plain BCE's in the same round"}
    for name in lines:
        cpu = times[name]["cpu"]
        seconds = statistics.median(cpu)
        results[name] = {"cpu_s": seconds, "rows_per_s": len(batch) / seconds,
                         "overhead_ratio": median_ratio(cpu, times["plain_bce"]["cpu"]),
                         "wall_s": statistics.median(times[name]["wall"]), "cpu_s_all": cpu}
    return results


def plain_fit(net: torch.nn.Module, tensors: dict[str, torch.Tensor], loss: Loss, context: Context,
              seed: int) -> None:
    """One epoch of ``loop.fit``'s minibatches (same seeded order, loss and optimisers) in a plain loop."""
    steps = optimizers(net, context.train.lr, context.train.weight_decay)
    order = torch.randperm(int(tensors["dense"].shape[0]), generator=torch.Generator().manual_seed(seed))
    net.train()
    for start in range(0, order.numel(), context.batch_size):
        index = order[start:start + context.batch_size]
        batch = {key: value.index_select(0, index) for key, value in tensors.items()}
        value = loss(net(batch["categorical"], batch["dense"]), batch, batch)
        for optimizer in steps:
            optimizer.zero_grad(set_to_none=True)
        value.backward()
        for optimizer in steps:
            optimizer.step()


def harness_throughput(folder: Path, protocol: ProtocolParams, model: ModelParams, train_params: TrainParams,
                       batch_size: int, rows: int, repeats: int) -> dict[str, Any]:
    """Examples/s of one epoch of ``loop.fit`` (the Fabric loop that pretrains the CVR model, as
    ``pretrain_cvr`` calls it, no hold-out) against a plain PyTorch loop of the same network copy,
    optimisers, loss and minibatch order, on the first ``rows`` pretraining clicks of the table in
    ``folder``; interleaved rounds, median (:func:`recsys_challenges.rounds.throughput_ratio`)."""
    meta = conversions.read_meta(folder)
    timeline = stream.make_timeline(meta, protocol)
    context = Context(model, train_params, protocol, timeline, Features(model.hash_bits),
                      len(meta["signal_kinds"]), batch_size, signal_view(meta), one_process())
    pretraining = next(stream.protocol(folder, timeline, {}, context.kinds))
    clicks = pretraining.clicks.take(np.arange(min(rows, len(pretraining.clicks))))
    categorical, dense = context.features(clicks)
    label = torch.from_numpy((clicks.conversion_ts != conversions.NEVER).astype(np.float32))
    tensors = {"categorical": categorical, "dense": dense, "label": label}
    torch.manual_seed(0)
    base = new_net(context, clicks, 0, 1, model.hidden)
    base.init_output_bias([float(label.mean())])

    def package(round_index: int):
        net = copy.deepcopy(base)
        return lambda: fit(net, tensors, bce_head, 1, context, round_index, [], "bench")

    def plain(round_index: int):
        net = copy.deepcopy(base)
        return lambda: plain_fit(net, tensors, bce_head, context, round_index)

    times = interleaved_rounds({"package": package, "plain": plain}, repeats)
    return {"path": "delayed.train.fit (the Fabric loop of pretrain_cvr: one epoch, no hold-out, no loggers)",
            "plain": "the same network copy, optimisers (LazyAdam + Adam), loss (_bce_head) and seeded minibatch "
                     "order; zero_grad, loss.backward(), step",
            "data": f"the first {len(clicks)} pretraining clicks of the benchmark's simulated stream",
            "batch_size": batch_size, "clock": "process CPU time (wall time beside it)",
            "target_ratio_min": TARGET_HARNESS_RATIO} | throughput_ratio(len(clicks), times)


def run_bench(settings: Settings, bench: BenchParams, scratch: Path | None) -> dict[str, Any]:
    """The ``delayed.json`` payload: the three benchmarks over one simulated table in a temporary
    folder under ``scratch`` (None: the system's)."""
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory(prefix="delayed-bench-", dir=scratch) as tmp:
        streamed = stream_benchmark(settings, bench.stream_rows, Path(tmp))
        speed = throughput_benchmark(Path(tmp), settings.protocol, settings.model, settings.train,
                                     settings.spec.batch_size, bench.throughput_rows, bench.repeats)
        harness = harness_throughput(Path(tmp), settings.protocol, settings.model, settings.train,
                                     settings.spec.batch_size, bench.throughput_rows, bench.repeats)
    return {
        "technique": "delayed",
        "machine": {"cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
                    "python": platform.python_version(), "torch": torch.__version__},
        "stream": streamed | {"targets": {"total_s_max": 1800, "peak_rss_gib_max": 8}},
        "throughput": speed | {"target_overhead_ratio_max": 1.3},
        "harness_throughput": harness,
    }
