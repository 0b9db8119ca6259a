"""One stream experiment: every method through the streaming protocol, for every seed (the work of
``delayed-stream``, and of each replicate of ``delayed-sweep`` and ``delayed-bench``).

For each seed (:func:`run`): pretrain the CVR model and the auxiliary models at ``T0`` (losses
logged to CSV/W&B; :mod:`.loop`), copy the CVR model once per method, then walk the stream
(:func:`walk_stream`): at each step every method trains on its own events (:class:`.loop.Learner`)
and is tested on the next slot with the true labels (:func:`.evaluate.score_slot`). All methods and
seeds of a run advance together over a single read of the conversion table, so memory stays
bounded whatever its size. Under DDP only rank 0 logs.

``delayed-stream`` runs each seed as one job (:class:`StreamJob`, :func:`run_seed`) of a pool of
``workers`` processes (:mod:`recsys_challenges.workers`) and merges them
(:func:`.evaluate.merge_results`); every job seeds itself, so the file does not depend on the
pool's size. On a simulator each seed simulates its own stream (:func:`replicate_spec`), so the
CIs over seeds cover the data as well as the training; on real data every seed reads the same table.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch
from lightning import Fabric

from recsys_challenges.config import to_dict
from recsys_challenges.data.simulate.conversion_stream import Calibration
from recsys_challenges.delayed import build, conversions, stream
from recsys_challenges.delayed.config import DatasetSpec, ModelParams, ProtocolParams, TrainParams
from recsys_challenges.delayed.evaluate import item_age, item_first_seen, score_slot, stream_result, young_items
from recsys_challenges.delayed.loop import Context, Learner, make_context, one_process, pretrain_learners, step_tensors
from recsys_challenges.delayed.methods import Method, stream_lines
from recsys_challenges.delayed.metrics import METRICS
from recsys_challenges.delayed.results import StreamResult
from recsys_challenges.io import progress
from recsys_challenges.tracking import TrackingParams, run_loggers

REPLICATE_STRIDE = 1000  # replicate s of a stream whose simulator seed is k simulates with seed k + 1000 s


class _no_loggers:
    def __enter__(self) -> list[Any]:
        return []

    def __exit__(self, *exc: object) -> None:
        return None


@dataclass
class Walk:
    """What the stream's test slots gave: each slot's facts and, per (seed, line), its per-slot
    metrics on all test clicks and on those of young items."""

    slots: list[dict[str, Any]]
    per_slot: dict[tuple[int, str], list[dict[str, Any]]]
    young_slot: dict[tuple[int, str], list[dict[str, Any]]]


def walk_stream(context: Context, steps: Any, lines: dict[str, Method], learners: dict[tuple[int, str], Learner],
                young: Any, loggers: list[Any], dataset: str) -> Walk:
    """Every step of ``steps``: each learner trains on its line's events, then all are tested on the
    next slot (per-slot metrics logged as ``seed<s>/<line>/<metric>``)."""
    walk = Walk([], {key: [] for key in learners}, {key: [] for key in learners})
    for step in progress(steps, total=context.timeline.steps, desc=f"stream {dataset}", unit="slot"):
        tensors = {name: step_tensors(context, step.events[name], m.aux) for name, m in lines.items()}
        for (seed, name), learner in learners.items():
            learner.train_step(tensors[name], step.index)
        facts, scores, young_scores = score_slot(context, list(learners.values()), step, young)
        walk.slots.append(facts)
        logged = {}
        for column, key in enumerate(learners):
            walk.per_slot[key].append(scores[column])
            if young_scores is not None:
                walk.young_slot[key].append(young_scores[column])
            logged |= {f"seed{key[0]}/{key[1]}/{m}": scores[column][m] for m in METRICS if scores[column][m] is not None}
        for logger in loggers:
            logger.log_metrics(logged, step=step.index)
    return walk


def run(folder: Path, dataset: str, spec: DatasetSpec, protocol: ProtocolParams, model: ModelParams,
        train: TrainParams, tracking: TrackingParams | None, fabric: Fabric | None = None) -> StreamResult:
    """Run every line for every seed over the conversion table in ``folder``; return the stream's result.

    ``fabric`` (launched) distributes the training; ``None``: one process. Only rank 0 logs.
    """
    fabric = fabric or one_process()
    meta = conversions.read_meta(folder)
    timeline = stream.make_timeline(meta, protocol)
    lines = stream_lines(meta, train, protocol)
    context = make_context(meta, timeline, spec.batch_size, protocol, model, train, fabric)
    first_seen = item_first_seen(folder, meta, spec.item_field)
    young_s = protocol.young_item_hours * 3600
    young = None if first_seen is None else lambda clicks: item_age(first_seen, clicks, meta, spec.item_field) < young_s
    protocol_lines = {name: stream.Line(m.strategy, context.signal_view(m.signal_strength)) for name, m in lines.items()}
    steps = stream.protocol(folder, timeline, protocol_lines, context.kinds)
    pretraining = next(steps)
    config = {"dataset": dataset, "spec": to_dict(spec), "protocol": to_dict(protocol), "model": to_dict(model),
              "train": to_dict(train), "timeline": to_dict(timeline)}
    logs = tracking is not None and fabric.global_rank == 0
    run_name = "stream-" + "-".join(f"seed{seed}" for seed in train.seeds)
    tracker = run_loggers(tracking, "delayed", dataset, run_name, config) if logs else _no_loggers()
    started = time.perf_counter()
    with tracker as loggers:
        learners, aux_reports = pretrain_learners(context, pretraining, lines, train.seeds, loggers)
        pretrain_s = time.perf_counter() - started
        walk = walk_stream(context, steps, lines, learners, young, loggers, dataset)
    stream_s = time.perf_counter() - started - pretrain_s
    fabric.print(f"{dataset}: pretraining {pretrain_s:.0f}s, stream {stream_s:.0f}s ({timeline.steps} steps, "
          f"{len(learners)} learners)")
    result = stream_result(dataset, meta, spec, timeline, protocol, train, lines, pretraining, walk.slots, walk.per_slot)
    result.auxiliary = aux_reports
    if first_seen is not None:
        result.young_items = young_items(spec.item_field, protocol, train.seeds, result.methods, walk.young_slot)
    return result


def replicate_spec(spec: DatasetSpec, seed: int) -> DatasetSpec:
    """The spec of seed ``seed``'s own stream: the simulator's seed moved by ``REPLICATE_STRIDE * seed``
    (seed 0 is the stream of ``delayed-conversions``' table)."""
    return replace(spec, simulator=replace(spec.simulator, seed=spec.simulator.seed + REPLICATE_STRIDE * seed))


def run_simulated(calibration: Calibration, spec: DatasetSpec, protocol: ProtocolParams, model: ModelParams,
                  lines: TrainParams, name: str, tracking: TrackingParams | None = None,
                  fabric: Fabric | None = None) -> StreamResult:
    """Simulate ``spec``'s stream (``calibration``: the rates with the dataset's overrides) into a
    temporary table and run ``lines`` over it with :func:`run` (under ``fabric``); returns that stream's result."""
    simulator = build.simulator_for(calibration, spec.simulator)
    with tempfile.TemporaryDirectory(prefix="delayed-stream-") as tmp:
        build.write_simulation(simulator, Path(tmp), {"calibrated_on": spec.input,
                                                      "signal_strength": spec.simulator.signal_strength})
        return run(Path(tmp), name, spec, protocol, model, lines, tracking, fabric)


@dataclass(frozen=True)
class StreamJob:
    """One seed of one dataset's ``delayed-stream``: a job of :func:`~recsys_challenges.workers.map_jobs`."""

    dataset: str
    seed: int
    table: Path
    spec: DatasetSpec
    protocol: ProtocolParams
    model: ModelParams
    train: TrainParams
    tracking: TrackingParams | None


def run_seed(job: StreamJob, fabric: Fabric | None = None) -> StreamResult:
    """The one-seed result of ``job`` (under ``fabric``; None: one process): on a simulator, over the
    seed's own simulated stream (:func:`replicate_spec`, the calibration stored in the table's meta),
    so that the seeds vary the data as well as the training; on real data, over the table."""
    torch.set_num_threads(1)  # minibatches are small: a second thread only adds synchronisation (and stalls under load)
    lines = replace(job.train, seeds=[job.seed])
    if job.spec.simulator is None:
        return run(job.table, job.dataset, job.spec, job.protocol, job.model, lines, job.tracking, fabric)
    calibration = Calibration(**conversions.read_meta(job.table)["calibration"])
    return run_simulated(calibration, replicate_spec(job.spec, job.seed), job.protocol, job.model, lines,
                         job.dataset, job.tracking, fabric)


def describe(job: StreamJob, result: StreamResult, seconds: float) -> str:
    """The pool's line for a finished job."""
    return f"{job.dataset} seed {job.seed}: {seconds:.0f}s, oracle AUC {result.summary['oracle']['auc']['mean']:.4f}"
