"""``delayed-stream`` stage: run every method through the streaming protocol, for every seed.

Each seed is one job of a pool of ``workers`` processes (:mod:`recsys_challenges.workers`,
:func:`run_seed`), merged into one file by :func:`merge_seeds`; every job seeds itself, so the file
does not depend on the pool's size. On a simulator each seed simulates its own stream
(:func:`replicate_spec`), so the CIs over seeds cover the data as well as the training; on real
data every seed reads the same table.

For each seed (:func:`run`): pretrain the CVR model and the auxiliary models at ``T0`` (losses
logged to CSV/W&B), copy the CVR model once per method, then walk the stream: at each step every
method trains ``stream_passes`` shuffled passes on its own events, weighted by its importance
weights (gradients stopped through them), and is tested on the next slot with the true labels.
The learner is the same for every method (``stream_embedding_lr`` on the embedding tables, ``lr``
on the MLP). All methods and seeds of a run advance together over a single read of the conversion
table, so memory stays bounded whatever its size.

Distributed (``trainer`` in params.yaml, :mod:`recsys_challenges.distributed`): the loops are
plain loops under Lightning Fabric (a ``Trainer``'s per-step overhead is larger than these small
steps). With ``strategy: ddp`` every process reads the same stream, trains on its strided shard
of each *global* minibatch (losses divided by the global batch's rows, so the DDP average of the
shards' gradients is the one-process gradient) and predicts its shard of each test slot; the
shards' predictions are gathered, so every process computes the one-process metrics. Only rank 0
logs and writes.

Output ``reports/metrics/delayed/<dataset>.json``. Besides the common core (``technique``,
``dataset``, ``data_kind``, ``seeds``, ``summary[method][metric]`` = ``mean_ci`` over seeds with
per-seed ``values``; metrics ``auc``, ``pr_auc``, ``nll``, ``mean_prediction`` and, relative to
vanilla and the oracle, ``ri_auc``, ``ri_pr_auc``, ``ri_nll``, which are ``null`` if for some seed
the oracle and vanilla score exactly the same, RI's 0/0), it holds:

* ``methods``: the method names in a fixed display order;
* ``protocol``: window, slot, stream start, steps, elapsed window, pretraining and test clicks,
  test conversion rate (and, simulator, the mean true probability), batch size (wall times are
  printed, not stored: the same params give a byte-identical file);
* ``data``: the conversion table's stats and what it was built from (``table_input``);
* ``stream``: ``slot_start_ts``, ``rows``, ``positives`` per test slot and
  ``per_slot[method][metric]`` = one list per seed of per-slot values (``null`` where undefined);
* ``waiting``: ``{"hours": [...], "methods": [...]}`` naming the waiting-N lines;
* ``signal_sweep`` (simulator only): ``strengths`` and ``pcaw[str(strength)][metric]`` = mean_ci,
  the pre-conversion-aware weights at each signal strength (``fsiw`` and the RI anchors do not
  depend on the signals, so they are the ``summary`` entries).
"""

from __future__ import annotations

import argparse
import copy
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from lightning import Fabric, seed_everything

from recsys_challenges.config import load_section, to_dict
from recsys_challenges.data.simulate.conversion_stream import Calibration, keep_signals, true_delayed_positive
from recsys_challenges.delayed import auxiliary, build, conversions, stream
from recsys_challenges.delayed.config import DatasetSpec, ModelParams, ProtocolParams, TrainParams
from recsys_challenges.delayed.methods import WEIGHTS, Method, WeightInputs, labels, methods, sweep_name
from recsys_challenges.delayed.metrics import METRICS, relative_improvement, slot_metrics, stream_average
from recsys_challenges.delayed.models import HashedMLP, hash_ids, optimizers
from recsys_challenges.delayed.weights import weighted_bce
from recsys_challenges.distributed import TrainerParams, shard
from recsys_challenges.errors import ConfigError
from recsys_challenges.io import progress, write_json
from recsys_challenges.sparse_ddp import average_sparse_gradients, keep_sparse_out_of_ddp
from recsys_challenges.stats import ci_or_none, mean_ci
from recsys_challenges.tracking import TrackingParams, run_loggers
from recsys_challenges.workers import load_workers, map_jobs

METRICS_ROOT = Path("reports/metrics/delayed")
PREDICT_BATCH = 65_536


class Features:
    """Click batches -> model tensors: hashed categorical buckets ``(n, C)`` and ``log1p`` numerics ``(n, F)``."""

    def __init__(self, bits: int) -> None:
        self.bits = bits

    def __call__(self, clicks: conversions.ClickBatch) -> tuple[torch.Tensor, torch.Tensor]:
        categorical = torch.from_numpy(hash_ids(clicks.categorical, self.bits))
        dense = torch.from_numpy(np.log1p(np.maximum(clicks.numeric, 0)).astype(np.float32))
        return categorical, dense


def setup(fabric: Fabric, net: HashedMLP, lr: float, weight_decay: float, embedding_lr: float | None = None
          ) -> tuple[torch.nn.Module, list[Any], Callable[[torch.Tensor], None]]:
    """``net``'s training forward, its optimisers (:func:`~recsys_challenges.delayed.models.optimizers`)
    and the backward pass, under ``fabric``.

    Several processes: Fabric's DDP module (averaging the MLP's gradients), optimisers and
    ``fabric.backward``, then :func:`~recsys_challenges.sparse_ddp.average_sparse_gradients` for the
    embedding's (kept out of DDP: :mod:`recsys_challenges.sparse_ddp`). One process: the
    network, optimisers and ``backward`` themselves, as Fabric would run them, without its per-call
    wrappers (precision casts, a backward hook per output: measured 13% of a 64-row step on this CPU).
    """
    steps = optimizers(net, lr, weight_decay, embedding_lr)
    if fabric.world_size == 1:
        return net, steps, torch.Tensor.backward
    tables = keep_sparse_out_of_ddp(net)
    module, *steps = fabric.setup(net, *steps)

    def backward(loss: torch.Tensor) -> None:
        fabric.backward(loss)
        average_sparse_gradients(tables, fabric.all_gather, fabric.world_size)

    return module, steps, backward


Loss = Callable[[torch.Tensor, dict[str, torch.Tensor], dict[str, torch.Tensor]], torch.Tensor]


def fit(net: HashedMLP, tensors: dict[str, torch.Tensor], loss: Loss, epochs: int, context: Context, seed: int,
        loggers: list[Any], name: str, validate: Callable[[HashedMLP], float] | None = None,
        patience: int = 1) -> tuple[HashedMLP, dict[str, Any]]:
    """Fit ``net`` on ``tensors`` (keys ``categorical``, ``dense`` + what ``loss`` reads) for at most
    ``epochs`` passes in shuffled minibatches of the dataset's size, with the stream's optimisers, under
    ``context.fabric`` (this process trains on its shard of each minibatch); log each epoch's mean
    loss as ``<name>/train_loss``. Returns ``net`` itself (unwrapped) and its fitting history.

    ``validate(net) -> loss`` (a hold-out): early stopping. After each epoch the hold-out loss is
    logged (``<name>/holdout_loss``); training stops after ``patience`` epochs without a better one
    and ``net`` gets the parameters of its best epoch back. History: ``epochs_run``, ``best_epoch``
    (1-based) and the hold-out losses.

    ``loss(logits, shard, batch)`` is this process's share of the minibatch ``batch``'s loss, from
    the logits of its rows ``shard`` (both dicts of ``tensors``' keys).

    A plain loop rather than a Lightning ``Trainer``: on this CPU the Trainer's per-step overhead
    (about 10 ms) is larger than a step of these small networks and tripled the stage's time. The
    losses go to the same CSV and W&B loggers.
    """
    fabric = context.fabric
    module, steps, backward = setup(fabric, net, context.train.lr, context.train.weight_decay)
    generator = torch.Generator().manual_seed(seed)  # the same order on every process
    rows = int(tensors["dense"].shape[0])
    history: dict[str, Any] = {"epochs_run": 0, "best_epoch": epochs, "holdout_loss": []}
    best: tuple[float, dict[str, torch.Tensor]] | None = None
    for epoch in range(epochs):
        module.train()
        order = torch.randperm(rows, generator=generator)
        total = torch.zeros(())
        for start in progress(range(0, rows, context.batch_size), desc=name, unit="batch"):
            index = order[start:start + context.batch_size]
            batch = {key: value.index_select(0, index) for key, value in tensors.items()}
            mine = {key: shard(value, fabric.global_rank, fabric.world_size) for key, value in batch.items()}
            value = loss(module(mine["categorical"], mine["dense"]), mine, batch)
            for optimizer in steps:
                optimizer.zero_grad(set_to_none=True)
            backward(value * fabric.world_size)  # DDP averages the shards' gradients: undo the 1/W
            for optimizer in steps:
                optimizer.step()
            total += value.detach() * index.numel()
        total = fabric.all_reduce(total, reduce_op="sum")
        for logger in loggers:
            logger.log_metrics({f"{name}/train_loss": float(total) / max(rows, 1)}, step=epoch)
        history["epochs_run"] = epoch + 1
        if validate is None:
            continue
        held = validate(net)
        history["holdout_loss"].append(round(held, 6))
        for logger in loggers:
            logger.log_metrics({f"{name}/holdout_loss": held}, step=epoch)
        if best is None or held < best[0]:
            best = (held, copy.deepcopy(net.state_dict()))
            history["best_epoch"] = epoch + 1
        elif epoch + 1 - history["best_epoch"] >= patience:
            break
    if best is not None:
        net.load_state_dict(best[1])
    return net, history


def _bce_head(logits: torch.Tensor, mine: dict[str, torch.Tensor], batch: dict[str, torch.Tensor]) -> torch.Tensor:
    label = mine["label"]
    return weighted_bce(logits[:, 0], label, torch.ones_like(label), rows=batch["label"].shape[0])


def _two_heads(logits: torch.Tensor, mine: dict[str, torch.Tensor], batch: dict[str, torch.Tensor]) -> torch.Tensor:
    return auxiliary.masked_two_head_loss(logits, mine["labels"], mine["masks"], counts=batch["masks"].sum(0))


@dataclass
class Context:
    """What a stream run needs besides the data: parameters, features and the signal views."""

    model: ModelParams
    train: TrainParams
    protocol: ProtocolParams
    timeline: stream.Timeline
    features: Features
    kinds: int
    batch_size: int
    signal_view: Callable[[float | None], Callable[[conversions.SignalBatch], conversions.SignalBatch] | None]
    fabric: Fabric
    main_strength: float | None = None  # simulator: the signal strength of the main lines (None: real data)
    calibration: Calibration | None = None  # simulator: its rates (the true p_dp of esdfm_true)


def new_net(context: Context, clicks: conversions.ClickBatch, extra_dense: int, heads: int, hidden: list[int]) -> HashedMLP:
    return HashedMLP(fields=clicks.categorical.shape[1], bits=context.model.hash_bits, dim=context.model.embedding_dim,
                     dense=clicks.numeric.shape[1] + extra_dense, hidden=hidden, heads=heads)


def pretrain_cvr(context: Context, data: stream.Pretraining, seed: int, loggers: list[Any]) -> HashedMLP:
    """The CVR model fitted on the mature pretraining clicks with their true labels."""
    torch.manual_seed(seed)
    net = new_net(context, data.clicks, 0, 1, context.model.hidden)
    categorical, dense = context.features(data.clicks)
    label = torch.from_numpy((data.clicks.conversion_ts != conversions.NEVER).astype(np.float32))
    net.init_output_bias([float(label.mean())])
    return fit(net, {"categorical": categorical, "dense": dense, "label": label}, _bce_head,
               context.train.pretrain_epochs, context, seed, loggers, f"seed{seed}/pretrain/cvr")[0]


def pretrain_aux(context: Context, data: stream.Pretraining, name: str, strength: float | None, seed: int,
                 loggers: list[Any]) -> tuple[HashedMLP, dict[str, Any]]:
    """Auxiliary model ``name`` (see :mod:`auxiliary`), fitted on the pretraining clicks; for a
    signal family on a simulator, on the signals of ``strength``.

    Early stopping: the last ``aux_holdout`` of the pretraining clicks (by time) are held out; the
    model trains on the others for at most ``aux_epochs`` epochs and keeps its best epoch on the
    hold-out's loss. Returns the model and its report: the fitting history and the reliability
    table of both heads on the hold-out, per signal group (:func:`auxiliary.reliability`).
    """
    family = auxiliary.FAMILIES[name]
    view = context.signal_view(strength)
    signals = data.signals if view is None else view(data.signals)
    if family.elapsed:
        rows = auxiliary.observed_sample(data.clicks, signals, family, context.timeline.slot_s,
                                         context.train.aux_draws, context.kinds, np.random.default_rng([seed, 7]))
    else:
        rows = auxiliary.elapsed_window_sample(data.clicks, signals, family, context.protocol.elapsed_window_s,
                                               context.kinds)
    cut = int(round(len(data.clicks) * (1 - context.train.aux_holdout)))  # clicks are in time order
    held = rows.rows >= cut
    torch.manual_seed(seed)
    net = new_net(context, data.clicks, rows.extra.shape[1], 2, context.model.aux_hidden)
    fitting = ~held
    net.init_output_bias(list((rows.labels[fitting] * rows.masks[fitting]).sum(0)
                              / np.maximum(rows.masks[fitting].sum(0), 1)))
    categorical, dense = context.features(data.clicks.take(rows.rows))
    tensors = {"categorical": categorical, "dense": torch.cat([dense, torch.from_numpy(rows.extra)], dim=1),
               "labels": torch.from_numpy(rows.labels), "masks": torch.from_numpy(rows.masks)}
    train_part = {key: value[torch.from_numpy(fitting)] for key, value in tensors.items()}
    holdout = {key: value[torch.from_numpy(held)] for key, value in tensors.items()}

    def validate(model: HashedMLP) -> float:
        logits = _logits(model, holdout["categorical"], holdout["dense"])
        return float(auxiliary.masked_two_head_loss(logits, holdout["labels"], holdout["masks"]))

    _, history = fit(net, train_part, _two_heads, context.train.aux_epochs, context, seed, loggers,
                     f"seed{seed}/pretrain/{name}" + ("" if strength is None else f"@{strength:g}"),
                     validate=validate, patience=context.train.aux_patience)
    group_view = context.signal_view(context.main_strength)
    group_signals = data.signals if group_view is None else group_view(data.signals)
    seen = stream.signal_counts(group_signals, data.clicks.click_id[rows.rows[held]], rows.at[held],
                                int(data.clicks.click_ts.min()), context.kinds).sum(1)
    probabilities = torch.sigmoid(_logits(net, holdout["categorical"], holdout["dense"])).numpy()
    report = history | {"reliability": auxiliary.reliability(probabilities, rows.labels[held], rows.masks[held],
                                                             seen, family.heads)}
    return net.eval(), report


@torch.no_grad()
def _logits(net: HashedMLP, categorical: torch.Tensor, dense: torch.Tensor) -> torch.Tensor:
    net.eval()
    out = [net(categorical[i:i + PREDICT_BATCH], dense[i:i + PREDICT_BATCH])
           for i in range(0, categorical.shape[0], PREDICT_BATCH)]
    return torch.cat(out) if out else torch.zeros(0, net.mlp[-1].out_features)


def aux_key(name: str, strength: float | None) -> tuple[str, float | None]:
    """Auxiliary models are shared by lines; those that read signals are one per signal strength."""
    return name, strength if auxiliary.FAMILIES[name].signals else None


@torch.no_grad()
def predict(net: HashedMLP, categorical: torch.Tensor, dense: torch.Tensor) -> torch.Tensor:
    """Sigmoid of every head, ``(n, heads)``, in large batches."""
    return torch.sigmoid(_logits(net, categorical, dense))


@dataclass
class StepTensors:
    """One line's events of one step as tensors (shared by every seed)."""

    categorical: torch.Tensor
    dense: torch.Tensor
    observed: torch.Tensor
    aux_dense: dict[str, torch.Tensor]  # auxiliary family -> its dense inputs
    will_convert: torch.Tensor  # (n,) the true labels (read only by the controls)
    duplicate: torch.Tensor  # (n,) bool: ingested after ES-DFM's window c (a delayed positive's copy)
    truth: dict[str, torch.Tensor]  # simulator: "true.delayed_positive", "true.real_negative" (esdfm_true)


def step_tensors(context: Context, events: stream.EventBatch, families: tuple[str, ...]) -> StepTensors:
    categorical, dense = context.features(events.clicks)
    elapsed = events.ingest_ts - events.clicks.click_ts
    aux_inputs = {}
    for name in families:
        extra = auxiliary.aux_dense(auxiliary.FAMILIES[name], elapsed, events.signals)
        aux_inputs[name] = torch.cat([dense, torch.from_numpy(extra)], dim=1)
    truth = {}
    if context.calibration is not None and events.clicks.truth:
        clicks = events.clicks
        delayed = true_delayed_positive(clicks.truth["true_conversion"], clicks.truth["true_fast_weight"],
                                        context.calibration, context.protocol.elapsed_window_s)
        negative = 1.0 - clicks.true_probability.astype(np.float64)
        truth = {"true.delayed_positive": torch.from_numpy(delayed.astype(np.float32)),
                 "true.real_negative": torch.from_numpy((negative / np.maximum(negative + delayed, 1e-12)).astype(np.float32))}
    return StepTensors(categorical, dense, torch.from_numpy(events.label.astype(np.float32)), aux_inputs,
                       torch.from_numpy((events.clicks.conversion_ts != conversions.NEVER).astype(np.float32)),
                       torch.from_numpy(elapsed > context.protocol.elapsed_window_s), truth)


class Learner:
    """One (method, seed): a copy of the pretrained CVR model with its own optimiser and shuffles.

    ``net`` is the model itself (for predictions), ``module`` its training forward (:func:`setup`).
    """

    def __init__(self, net: HashedMLP, method: Method, aux_nets: dict[str, HashedMLP], context: Context, seed: int,
                 line_index: int) -> None:
        self.net, self.method, self.aux_nets, self.context = net, method, aux_nets, context
        self.seed, self.line_index = seed, line_index
        self.module, self.optimizers, self.backward = setup(context.fabric, net, context.train.lr,
                                                            context.train.weight_decay, context.train.stream_embedding_lr)
        self.weigh = WEIGHTS[method.weights]

    def aux_probabilities(self, batch: StepTensors) -> dict[str, torch.Tensor]:
        """``"<family>.<head>" -> (n,)`` probabilities of the line's frozen auxiliary models."""
        out = {}
        for name, net in self.aux_nets.items():
            probs = predict(net, batch.categorical, batch.aux_dense[name])  # (n, 2)
            out |= {f"{name}.{head}": probs[:, h] for h, head in enumerate(auxiliary.FAMILIES[name].heads)}
        return out | (batch.truth if self.method.truth else {})

    def train_step(self, batch: StepTensors, step: int) -> None:
        n = batch.observed.shape[0]
        if n == 0:
            return
        aux = self.aux_probabilities(batch)
        fabric = self.context.fabric
        self.module.train()
        shuffles = np.random.default_rng([self.seed, self.line_index, step])
        orders = [torch.from_numpy(shuffles.permutation(n)) for _ in range(self.context.train.stream_passes)]
        for order, start in ((order, start) for order in orders for start in range(0, n, self.context.batch_size)):
            batch_rows = order[start:start + self.context.batch_size]  # the global minibatch
            rows = shard(batch_rows, fabric.global_rank, fabric.world_size)  # this process's share
            logits = self.module(batch.categorical[rows], batch.dense[rows])[:, 0]  # (b,)
            inputs = WeightInputs(batch.observed[rows], torch.sigmoid(logits.detach()),
                                  {head: p[rows] for head, p in aux.items()}, self.context.train.max_weight,
                                  batch.will_convert[rows], batch.duplicate[rows])
            target = labels(self.method.weights, inputs)
            loss = weighted_bce(logits, target, self.weigh(inputs), rows=batch_rows.numel())
            for optimizer in self.optimizers:
                optimizer.zero_grad(set_to_none=True)
            self.backward(loss * fabric.world_size)  # DDP averages the shards' gradients: undo the 1/W
            for optimizer in self.optimizers:
                optimizer.step()


def signal_view(meta: dict[str, Any]) -> Callable[[float | None], Callable | None]:
    """Signal strength -> filter of a simulator's signals (``None``: the table's signals as they are)."""
    if meta["data_kind"] != "simulated":
        return lambda strength: None
    calibration = Calibration(**meta["calibration"])
    strengths = list(meta["signal_strengths"])

    def view(strength: float | None) -> Callable[[conversions.SignalBatch], conversions.SignalBatch] | None:
        if strength is None:
            return None
        return lambda s: s.take(keep_signals(s.kind, s.mark, strength, calibration, strengths))

    return view


def stream_lines(meta: dict[str, Any], train: TrainParams, protocol: ProtocolParams) -> dict[str, Method]:
    """The methods of ``train.methods`` plus, on a simulator, ``pcaw`` at each sweep strength.

    On a simulator every line that reads signals sees those of the main strength (the sweep lines
    their own); ``esdfm_true`` needs the simulator's truth and is dropped on real data.
    """
    lines = methods(train.methods, protocol)
    window_h = meta["window_s"] / 3600
    if max(protocol.waiting_hours) > window_h and "waiting" in train.methods:
        raise ConfigError(f"delayed.protocol.waiting_hours: waiting longer than the window ({window_h:g} h) gains nothing")
    if meta["data_kind"] != "simulated":
        return {name: m for name, m in lines.items() if not m.truth}
    main, *sweep = meta["signal_strengths"]
    lines = {name: replace(m, signal_strength=main) if any(auxiliary.FAMILIES[f].signals for f in m.aux) else m
             for name, m in lines.items()}
    if "pcaw" in lines:
        lines |= {sweep_name(s): replace(lines["pcaw"], signal_strength=s) for s in sweep}
    return lines


def gather_rows(fabric: Fabric, mine: torch.Tensor, rows: int) -> torch.Tensor:
    """The inverse of :func:`~recsys_challenges.distributed.shard`: every process's strided shard
    ``(m_r, ...)`` of ``rows`` rows -> all the rows ``(rows, ...)`` in their order, on every process."""
    if fabric.world_size == 1:
        return mine
    length = -(-rows // fabric.world_size)  # the longest shard; shorter ones are padded at their end
    padded = torch.cat([mine, mine.new_zeros(length - mine.shape[0], *mine.shape[1:])])
    gathered = fabric.all_gather(padded)  # (W, length, ...): row i * W + r is shard r's i-th
    return gathered.transpose(0, 1).reshape(length * fabric.world_size, *mine.shape[1:])[:rows]


def one_process() -> Fabric:
    """Fabric for a single process on the CPU (the default of ``trainer``)."""
    return Fabric(**TrainerParams().trainer_kwargs())


def run(folder: Path, dataset: str, spec: DatasetSpec, protocol: ProtocolParams, model: ModelParams,
        train: TrainParams, tracking: TrackingParams | None, fabric: Fabric | None = None) -> dict[str, Any]:
    """Run every line for every seed over the conversion table in ``folder``; return the metrics payload.

    ``fabric`` (launched) distributes the training; ``None``: one process. Only rank 0 logs.
    """
    fabric = fabric or one_process()
    meta = conversions.read_meta(folder)
    timeline = stream.make_timeline(meta, protocol)
    lines = stream_lines(meta, train, protocol)
    view = signal_view(meta)
    simulated = meta["data_kind"] == "simulated"
    context = Context(model, train, protocol, timeline, Features(model.hash_bits), len(meta["signal_kinds"]),
                      spec.batch_size, view, fabric, meta["signal_strengths"][0] if simulated else None,
                      Calibration(**meta["calibration"]) if simulated else None)
    first_seen = item_first_seen(folder, meta, spec.item_field)
    young_s = protocol.young_item_hours * 3600
    protocol_lines = {name: stream.Line(m.strategy, view(m.signal_strength)) for name, m in lines.items()}
    steps = stream.protocol(folder, timeline, protocol_lines, context.kinds)
    pretraining = next(steps)
    config = {"dataset": dataset, "spec": to_dict(spec), "protocol": to_dict(protocol), "model": to_dict(model),
              "train": to_dict(train), "timeline": to_dict(timeline)}
    logs = tracking is not None and fabric.global_rank == 0
    run_name = "stream-" + "-".join(f"seed{seed}" for seed in train.seeds)
    tracker = run_loggers(tracking, "delayed", dataset, run_name, config) if logs else _no_loggers()
    started = time.perf_counter()
    with tracker as loggers:
        learners, aux_reports = _pretrain_all(context, pretraining, lines, train.seeds, loggers)
        pretrain_s = time.perf_counter() - started
        slots: list[dict[str, Any]] = []
        per_slot: dict[tuple[int, str], list[dict[str, Any]]] = {key: [] for key in learners}
        young_slot: dict[tuple[int, str], list[dict[str, Any]]] = {key: [] for key in learners}
        for step in progress(steps, total=timeline.steps, desc=f"stream {dataset}", unit="slot"):
            tensors = {name: step_tensors(context, step.events[name], m.aux) for name, m in lines.items()}
            for (seed, name), learner in learners.items():
                learner.train_step(tensors[name], step.index)
            truth = (step.test.conversion_ts != conversions.NEVER).astype(np.float64)
            categorical, dense = (shard(t, fabric.global_rank, fabric.world_size) for t in context.features(step.test))
            late = step.test.conversion_ts > step.test.click_ts + protocol.elapsed_window_s  # observed negative at c
            slots.append({"start_ts": int(timeline.start_ts + (step.index + 1) * timeline.slot_s),
                          "rows": int(truth.size), "positives": int(truth.sum()),
                          "observed_negatives": int(late.sum()), "fake_negatives": int((late & (truth > 0)).sum()),
                          "true_mean": None if step.test.true_probability is None or not truth.size
                          else float(step.test.true_probability.mean())})
            mine = torch.stack([predict(learner.net, categorical, dense)[:, 0] for learner in learners.values()], 1)
            predictions = gather_rows(fabric, mine, truth.size).numpy()  # (rows, learners)
            young = None if first_seen is None else item_age(first_seen, step.test, meta, spec.item_field) < young_s
            logged = {}
            for column, (key, learner) in enumerate(learners.items()):
                scores = slot_metrics(truth, predictions[:, column])
                per_slot[key].append(scores)
                if young is not None:
                    young_slot[key].append(slot_metrics(truth[young], predictions[young, column]))
                logged |= {f"seed{key[0]}/{key[1]}/{m}": scores[m] for m in METRICS if scores[m] is not None}
            for logger in loggers:
                logger.log_metrics(logged, step=step.index)
    stream_s = time.perf_counter() - started - pretrain_s
    fabric.print(f"{dataset}: pretraining {pretrain_s:.0f}s, stream {stream_s:.0f}s ({timeline.steps} steps, "
          f"{len(learners)} learners)")
    payload = _payload(dataset, meta, spec, timeline, protocol, train, lines, pretraining, slots, per_slot)
    payload["auxiliary"] = aux_reports
    if first_seen is not None:
        payload["young_items"] = _young_payload(spec.item_field, protocol, train.seeds, payload["methods"], young_slot)
    return payload


def item_first_seen(folder: Path, meta: dict[str, Any], field: str | None) -> tuple[np.ndarray, np.ndarray] | None:
    """``(ids, first click time)`` of every value of the categorical ``field`` (sorted ids), or None.

    An item's age at a click is the time since its first click in the log: known at that click
    (the first click is never later), so it leaks nothing.
    """
    if field is None:
        return None
    if field not in meta["categorical"]:
        raise ConfigError(f"item_field {field!r} is not a categorical field of the table ({meta['categorical']})")
    column = meta["categorical"].index(field)
    ids, ts = zip(*((b.categorical[:, column], b.click_ts) for b in conversions.iter_clicks(folder)), strict=True)
    all_ids, all_ts = np.concatenate(ids), np.concatenate(ts)
    unique, first = np.unique(all_ids, return_index=True)  # clicks are in time order: the first is the earliest
    return unique, all_ts[first]


def item_age(first_seen: tuple[np.ndarray, np.ndarray], clicks: conversions.ClickBatch, meta: dict[str, Any],
             field: str) -> np.ndarray:
    """``(n,)`` seconds since the first click on each click's item."""
    ids, first_ts = first_seen
    values = clicks.categorical[:, meta["categorical"].index(field)]
    return clicks.click_ts - first_ts[np.searchsorted(ids, values)]


def _young_payload(field: str, protocol: ProtocolParams, seeds: list[int], names: list[str],
                   young_slot: dict[tuple[int, str], list[dict[str, Any]]]) -> dict[str, Any]:
    """Metrics on the test clicks of young items, the paired differences included (as ``summary``)."""
    per_seed = {key: {m: _safe_average([s[m] for s in values], [s["rows"] for s in values])
                      for m in (*METRICS, "mean_prediction")} for key, values in young_slot.items()}
    for key, values in young_slot.items():
        rate = sum(s["positives"] for s in values) / max(sum(s["rows"] for s in values), 1)
        mean = per_seed[key]["mean_prediction"]
        per_seed[key]["calibration_bias"] = None if mean is None or rate == 0 else mean / rate
    first = young_slot[seeds[0], names[0]]
    return {"field": field, "hours": protocol.young_item_hours,
            "test_clicks": int(sum(s["rows"] for s in first)), "test_conversions": int(sum(s["positives"] for s in first)),
            "summary": {name: {m: ci_or_none([per_seed[seed, name][m] for seed in seeds]) for m in SUMMARY_METRICS}
                        for name in names},
            "paired": paired_by_seed(per_seed, seeds, names)}


def _safe_average(values: list[float | None], rows: list[int]) -> float | None:
    try:
        return stream_average(values, rows)
    except ValueError:  # no slot with both classes
        return None


PAIRED_REFERENCES = ("esdfm", "esdfm_unit", "vanilla")


def paired_by_seed(per_seed: dict[tuple[int, str], dict[str, float | None]], seeds: list[int],
                   names: list[str]) -> dict[str, dict[str, dict[str, Any]]]:
    """``paired[reference][method][metric]``: mean and t-CI over seeds of ``method - reference`` (same seed)."""
    return {reference: {name: {m: ci_or_none([None if per_seed[seed, name][m] is None
                                              or per_seed[seed, reference][m] is None
                                              else per_seed[seed, name][m] - per_seed[seed, reference][m]
                                              for seed in seeds])
                               for m in SUMMARY_METRICS} for name in names if name != reference}
            for reference in PAIRED_REFERENCES if reference in names}


class _no_loggers:
    def __enter__(self) -> list[Any]:
        return []

    def __exit__(self, *exc: object) -> None:
        return None


def _pretrain_all(context: Context, data: stream.Pretraining, lines: dict[str, Method], seeds: list[int],
                  loggers: list[Any]) -> tuple[dict[tuple[int, str], Learner], dict[str, dict[str, Any]]]:
    if len(data.clicks) == 0 or (data.clicks.conversion_ts != conversions.NEVER).sum() == 0:
        raise ConfigError("no mature click (or no conversion) to pretrain on: move delayed.protocol.stream_start_hours later")
    learners = {}
    reports: dict[str, dict[str, Any]] = {}
    for seed in seeds:
        seed_everything(seed, workers=True, verbose=False)  # python, numpy, torch; every shuffle is seeded too
        cvr = pretrain_cvr(context, data, seed, loggers)
        keys = dict.fromkeys(aux_key(name, m.signal_strength) for m in lines.values() for name in m.aux)
        aux_nets = {}
        for key in keys:
            aux_nets[key], report = pretrain_aux(context, data, *key, seed, loggers)
            reports.setdefault(key[0] + ("" if key[1] is None else f"@{key[1]:g}"), {})[str(seed)] = report
        for index, (name, method) in enumerate(lines.items()):
            mine = {family: aux_nets[aux_key(family, method.signal_strength)] for family in method.aux}
            learners[seed, name] = Learner(copy.deepcopy(cvr), method, mine, context, seed, index)
    return learners, reports


SUMMARY_METRICS = (*METRICS, "mean_prediction", "calibration_bias")


def _seed_summary(per_slot: list[dict[str, Any]]) -> dict[str, float]:
    """A seed's stream averages; ``calibration_bias`` = mean prediction / conversion rate of the test clicks."""
    rows = [s["rows"] for s in per_slot]
    out = {m: stream_average([s[m] for s in per_slot], rows) for m in (*METRICS, "mean_prediction")}
    rate = sum(s["positives"] for s in per_slot) / max(sum(rows), 1)
    return out | {"calibration_bias": out["mean_prediction"] / rate if rate > 0 else None}


def _payload(dataset: str, meta: dict[str, Any], spec: DatasetSpec, timeline: stream.Timeline,
             protocol: ProtocolParams, train: TrainParams, lines: dict[str, Method], pretraining: stream.Pretraining,
             slots: list[dict[str, Any]], per_slot: dict[tuple[int, str], list[dict[str, Any]]]) -> dict[str, Any]:
    seeds = list(train.seeds)
    per_seed = {key: _seed_summary(values) for key, values in per_slot.items()}

    def summary_of(name: str) -> dict[str, Any]:
        out = {m: ci_or_none([per_seed[seed, name][m] for seed in seeds]) for m in SUMMARY_METRICS}
        for m in METRICS:
            anchors = [(per_seed[seed, "vanilla"][m], per_seed[seed, "oracle"][m]) for seed in seeds]
            out[f"ri_{m}"] = None if any(v == o for v, o in anchors) else mean_ci(
                [relative_improvement(per_seed[seed, name][m], v, o) for seed, (v, o) in zip(seeds, anchors, strict=True)])
        return out

    sweep = [name for name, m in lines.items() if name.startswith("pcaw@")]
    main_lines = [name for name in lines if name not in sweep]
    rows = [s["rows"] for s in slots]
    test_rows = int(sum(rows))
    payload: dict[str, Any] = {
        "technique": "delayed",
        "dataset": dataset,
        "data_kind": spec.data_kind,
        "seeds": seeds,
        "methods": main_lines,
        "summary": {name: summary_of(name) for name in main_lines},
        "paired": paired_by_seed(per_seed, seeds, main_lines),
        "protocol": {
            "window_hours": timeline.window_s / 3600,
            "slot_hours": timeline.slot_s / 3600,
            "stream_start_ts": timeline.start_ts,
            "steps": timeline.steps,
            "elapsed_window_minutes": protocol.elapsed_window_s / 60,
            "pretrain_clicks": len(pretraining.clicks),
            "pretrain_conversions": int((pretraining.clicks.conversion_ts != conversions.NEVER).sum()),
            "test_clicks": test_rows,
            "test_conversion_rate": sum(s["positives"] for s in slots) / max(test_rows, 1),
            "test_true_mean_probability": None if slots[0]["true_mean"] is None else
            float(np.average([s["true_mean"] or 0.0 for s in slots], weights=np.maximum(rows, 1e-12))),
            "batch_size": spec.batch_size,
            # fake negatives among the clicks observed negative at ES-DFM's window c: the room C5 has
            "fake_negative_share": sum(s["fake_negatives"] for s in slots) / max(sum(s["observed_negatives"] for s in slots), 1),
        },
        "data": meta["stats"] | {"table_input": spec.input},
        "stream": {
            "slot_start_ts": [s["start_ts"] for s in slots],
            "rows": rows,
            "positives": [s["positives"] for s in slots],
            "per_slot": {name: {m: [[_round(s[m]) for s in per_slot[seed, name]] for seed in seeds]
                                for m in (*METRICS, "mean_prediction")} for name in main_lines},
        },
        "waiting": {"hours": list(protocol.waiting_hours) if "waiting" in train.methods else [],
                    "methods": [n for n in main_lines if n.startswith("waiting_")]},
    }
    if sweep:
        strengths = [lines["pcaw"].signal_strength] + [lines[n].signal_strength for n in sweep]
        names = ["pcaw", *sweep]
        payload["signal_sweep"] = {
            "strengths": strengths,
            "pcaw": {f"{s:g}": summary_of(n) for s, n in zip(strengths, names, strict=True)},
        }
    return payload


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), 6)


REPLICATE_STRIDE = 1000  # replicate s of a stream whose simulator seed is k simulates with seed k + 1000 s


def replicate_spec(spec: DatasetSpec, seed: int) -> DatasetSpec:
    """The spec of seed ``seed``'s own stream: the simulator's seed moved by ``REPLICATE_STRIDE * seed``
    (seed 0 is the stream of ``delayed-conversions``' table)."""
    return replace(spec, simulator=replace(spec.simulator, seed=spec.simulator.seed + REPLICATE_STRIDE * seed))


def run_simulated(calibration: Calibration, spec: DatasetSpec, protocol: ProtocolParams, model: ModelParams,
                  lines: TrainParams, name: str, tracking: TrackingParams | None = None,
                  fabric: Fabric | None = None) -> dict[str, Any]:
    """Simulate ``spec``'s stream (``calibration``: the rates with the dataset's overrides) into a
    temporary table and run ``lines`` over it with :func:`run` (under ``fabric``); returns that stream's payload."""
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


def run_seed(job: StreamJob, fabric: Fabric | None = None) -> dict[str, Any]:
    """The one-seed payload of ``job`` (under ``fabric``; None: one process): on a simulator, over the
    seed's own simulated stream (:func:`replicate_spec`, the calibration stored in the table's meta),
    so that the seeds vary the data as well as the training; on real data, over the table."""
    torch.set_num_threads(1)  # minibatches are small: a second thread only adds synchronisation (and stalls under load)
    lines = replace(job.train, seeds=[job.seed])
    if job.spec.simulator is None:
        return run(job.table, job.dataset, job.spec, job.protocol, job.model, lines, job.tracking, fabric)
    calibration = Calibration(**conversions.read_meta(job.table)["calibration"])
    return run_simulated(calibration, replicate_spec(job.spec, job.seed), job.protocol, job.model, lines,
                         job.dataset, job.tracking, fabric)


def _pool(entries: list[Any]) -> Any:
    """Entries of one-seed payloads at the same place -> the entry over all their seeds: ``mean_ci``
    of the pooled per-seed ``values`` (None if a seed's is None), dicts key by key, other leaves the first's."""
    first = entries[0]
    if any(entry is None for entry in entries):
        return None
    if isinstance(first, dict) and "values" in first and "ci95" in first:
        return mean_ci([value for entry in entries for value in entry["values"]])
    if isinstance(first, dict):
        return {key: _pool([entry[key] for entry in entries]) for key in first}
    return first


def merge_seeds(payloads: list[dict[str, Any]], own_streams: bool) -> dict[str, Any]:
    """One stream payload from one-seed payloads (:func:`run_seed`, in seed order).

    Statistics over seeds (``summary``, ``paired``, ``signal_sweep``, ``young_items``) are recomputed
    from the pooled per-seed values; per-slot series keep one list per seed; ``auxiliary`` reports
    are keyed by seed already. With ``own_streams`` (each seed simulated its own stream) the test
    clicks differ: ``stream.rows`` and ``positives`` are then summed over the seeds' streams,
    ``protocol``'s rates (test conversion rate, true mean probability, fake-negative share)
    averaged, its counts summed, and ``data`` describes seed 0's stream (the ``delayed-conversions``
    table); without, they are the shared table's.
    """
    first = payloads[0]
    merged = copy.deepcopy(first)
    merged["seeds"] = [seed for p in payloads for seed in p["seeds"]]
    for key in ("summary", "paired", "signal_sweep"):
        if key in first:
            merged[key] = _pool([p[key] for p in payloads])
    if "young_items" in first:
        merged["young_items"] |= {key: _pool([p["young_items"][key] for p in payloads]) for key in ("summary", "paired")}
    merged["stream"]["per_slot"] = {name: {m: [series for p in payloads for series in p["stream"]["per_slot"][name][m]]
                                           for m in per_metric} for name, per_metric in first["stream"]["per_slot"].items()}
    merged["auxiliary"] = {name: {seed: report for p in payloads for seed, report in p["auxiliary"][name].items()}
                           for name in first["auxiliary"]}
    if not own_streams:
        return merged
    if "young_items" in first:
        merged["young_items"] |= {key: sum(p["young_items"][key] for p in payloads)
                                  for key in ("test_clicks", "test_conversions")}
    protocols = [p["protocol"] for p in payloads]
    for key in ("pretrain_clicks", "pretrain_conversions", "test_clicks"):
        merged["protocol"][key] = sum(p[key] for p in protocols)
    for key in ("test_conversion_rate", "test_true_mean_probability", "fake_negative_share"):
        merged["protocol"][key] = None if first["protocol"][key] is None else float(np.mean([p[key] for p in protocols]))
    merged["stream"]["rows"] = [int(sum(v)) for v in zip(*(p["stream"]["rows"] for p in payloads), strict=True)]
    merged["stream"]["positives"] = [int(sum(v)) for v in zip(*(p["stream"]["positives"] for p in payloads), strict=True)]
    return merged


def _describe(job: StreamJob, payload: dict[str, Any], seconds: float) -> str:
    return f"{job.dataset} seed {job.seed}: {seconds:.0f}s, oracle AUC {payload['summary']['oracle']['auc']['mean']:.4f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="recsys_challenges delayed-stream", description=__doc__.splitlines()[0])
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
    table = args.table or conversions.CONVERSIONS_ROOT / args.dataset
    jobs = [StreamJob(args.dataset, seed, table, spec, protocol, model, train, tracking) for seed in train.seeds]
    own_streams = spec.simulator is not None  # run_seed simulates each seed's stream
    if trainer.strategy != "ddp":
        # one job per seed in a pool of workers.py's size: each job seeds itself, so the file does not depend on it
        payload = merge_seeds(map_jobs(run_seed, jobs, load_workers(args.params), _describe), own_streams)
    else:  # Fabric's processes share every seed's training
        fabric = Fabric(**trainer.trainer_kwargs())
        fabric.launch()
        payload = merge_seeds([run_seed(job, fabric) for job in jobs], own_streams)
        if fabric.global_rank != 0:
            return 0
    write_json(args.out or METRICS_ROOT / f"{args.dataset}.json", payload)
    for name, scores in payload["summary"].items():
        print(f"{name:>14}: " + "  ".join(f"{m} {scores[m]['mean']:.4f}" if scores[m] else f"{m} undefined"
                                          for m in (*METRICS, "ri_auc", "ri_nll")))
    return 0
