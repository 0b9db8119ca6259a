"""Fitting: the Fabric training loops of T2 (pretraining at ``T0`` and the stream's learners).

* :func:`fit`: epochs of shuffled minibatches, with early stopping on a hold-out; it pretrains the
  CVR model (:func:`pretrain_cvr`, true labels of the mature clicks) and the auxiliary models
  (:func:`pretrain_aux`, :mod:`.auxiliary`) before the stream starts.
* :class:`Learner`: one (method, seed) on the stream, a copy of the pretrained CVR model that trains
  ``stream_passes`` shuffled passes on its method's events of each step, weighted by its importance
  weights (:mod:`.weights`, gradients stopped through them). The learner is the same for every
  method (``stream_embedding_lr`` on the embedding tables, ``lr`` on the MLP).
* :class:`Context`: what every loop reads besides the data (params, features, signal views, Fabric).

Distributed (``trainer`` in params.yaml, :mod:`recsys_challenges.distributed`): the loops are
plain loops under Lightning Fabric (a ``Trainer``'s per-step overhead is larger than these small
steps). With ``strategy: ddp`` every process reads the same stream and trains on its strided shard
of each *global* minibatch, losses divided by the global batch's rows, so that the DDP average of
the shards' gradients is the one-process gradient.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from lightning import Fabric, seed_everything

from recsys_challenges.data.simulate.conversion_stream import Calibration, keep_signals, true_delayed_positive
from recsys_challenges.delayed import auxiliary, conversions, stream
from recsys_challenges.delayed.config import ModelParams, ProtocolParams, TrainParams
from recsys_challenges.delayed.methods import WEIGHTS, Method, WeightInputs, labels
from recsys_challenges.delayed.models import HashedMLP, batched_logits, hash_ids, optimizers, predict
from recsys_challenges.delayed.weights import weighted_bce
from recsys_challenges.distributed import TrainerParams, shard
from recsys_challenges.errors import ConfigError
from recsys_challenges.io import progress
from recsys_challenges.sparse_ddp import average_sparse_gradients, keep_sparse_out_of_ddp


class Features:
    """Click batches -> model tensors: hashed categorical buckets ``(n, C)`` and ``log1p`` numerics ``(n, F)``."""

    def __init__(self, bits: int) -> None:
        self.bits = bits

    def __call__(self, clicks: conversions.ClickBatch) -> tuple[torch.Tensor, torch.Tensor]:
        categorical = torch.from_numpy(hash_ids(clicks.categorical, self.bits))
        dense = torch.from_numpy(np.log1p(np.maximum(clicks.numeric, 0)).astype(np.float32))
        return categorical, dense


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


def make_context(meta: dict[str, Any], timeline: stream.Timeline, batch_size: int, protocol: ProtocolParams,
                 model: ModelParams, train: TrainParams, fabric: Fabric) -> Context:
    """The :class:`Context` of a stream over the conversion table of ``meta`` (its simulator's, if any)."""
    simulated = meta["data_kind"] == "simulated"
    return Context(model, train, protocol, timeline, Features(model.hash_bits), len(meta["signal_kinds"]),
                   batch_size, signal_view(meta), fabric, meta["signal_strengths"][0] if simulated else None,
                   Calibration(**meta["calibration"]) if simulated else None)


def one_process() -> Fabric:
    """Fabric for a single process on the CPU (the default of ``trainer``)."""
    return Fabric(**TrainerParams().trainer_kwargs())


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
            own_shard = {key: shard(value, fabric.global_rank, fabric.world_size) for key, value in batch.items()}
            batch_loss = loss(module(own_shard["categorical"], own_shard["dense"]), own_shard, batch)
            for optimizer in steps:
                optimizer.zero_grad(set_to_none=True)
            backward(batch_loss * fabric.world_size)  # DDP averages the shards' gradients: undo the 1/W
            for optimizer in steps:
                optimizer.step()
            total += batch_loss.detach() * index.numel()
        total = fabric.all_reduce(total, reduce_op="sum")
        for logger in loggers:
            logger.log_metrics({f"{name}/train_loss": float(total) / max(rows, 1)}, step=epoch)
        history["epochs_run"] = epoch + 1
        if validate is None:
            continue
        holdout_loss = validate(net)
        history["holdout_loss"].append(round(holdout_loss, 6))
        for logger in loggers:
            logger.log_metrics({f"{name}/holdout_loss": holdout_loss}, step=epoch)
        if best is None or holdout_loss < best[0]:
            best = (holdout_loss, copy.deepcopy(net.state_dict()))
            history["best_epoch"] = epoch + 1
        elif epoch + 1 - history["best_epoch"] >= patience:
            break
    if best is not None:
        net.load_state_dict(best[1])
    return net, history


def bce_head(logits: torch.Tensor, own_shard: dict[str, torch.Tensor], batch: dict[str, torch.Tensor]
             ) -> torch.Tensor:
    """:data:`Loss` of the CVR model: BCE of its one head on ``label``."""
    label = own_shard["label"]
    return weighted_bce(logits[:, 0], label, torch.ones_like(label), rows=batch["label"].shape[0])


def two_heads(logits: torch.Tensor, own_shard: dict[str, torch.Tensor], batch: dict[str, torch.Tensor]
              ) -> torch.Tensor:
    """:data:`Loss` of an auxiliary model: its two heads' masked BCE (:func:`auxiliary.masked_two_head_loss`)."""
    return auxiliary.masked_two_head_loss(logits, own_shard["labels"], own_shard["masks"],
                                          counts=batch["masks"].sum(0))


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
    return fit(net, {"categorical": categorical, "dense": dense, "label": label}, bce_head,
               context.train.pretrain_epochs, context, seed, loggers, f"seed{seed}/pretrain/cvr")[0]


def pretrain_aux(context: Context, data: stream.Pretraining, name: str, strength: float | None, seed: int,
                 loggers: list[Any]) -> tuple[HashedMLP, dict[str, Any]]:
    """Auxiliary model ``name`` (see :mod:`auxiliary`), fitted on the pretraining clicks; for a
    signal family on a simulator, on the signals of ``strength``.

    Early stopping: the last ``aux_holdout`` of the pretraining clicks (by time) are held out; the
    model trains on the others for at most ``aux_epochs`` epochs and keeps its best epoch on the
    hold-out's loss. Returns the model and its report: the fitting history and the reliability
    table of both heads on the hold-out (:func:`_holdout_reliability`).
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
    holdout_start = int(round(len(data.clicks) * (1 - context.train.aux_holdout)))  # clicks are in time order
    held_out = rows.rows >= holdout_start
    torch.manual_seed(seed)
    net = new_net(context, data.clicks, rows.extra.shape[1], 2, context.model.aux_hidden)
    fitting = ~held_out
    net.init_output_bias(list((rows.labels[fitting] * rows.masks[fitting]).sum(0)
                              / np.maximum(rows.masks[fitting].sum(0), 1)))
    categorical, dense = context.features(data.clicks.take(rows.rows))
    tensors = {"categorical": categorical, "dense": torch.cat([dense, torch.from_numpy(rows.extra)], dim=1),
               "labels": torch.from_numpy(rows.labels), "masks": torch.from_numpy(rows.masks)}
    train_part = {key: value[torch.from_numpy(fitting)] for key, value in tensors.items()}
    holdout = {key: value[torch.from_numpy(held_out)] for key, value in tensors.items()}

    def validate(model: HashedMLP) -> float:
        return float(auxiliary.masked_two_head_loss(batched_logits(model, holdout["categorical"], holdout["dense"]),
                                                    holdout["labels"], holdout["masks"]))

    _, history = fit(net, train_part, two_heads, context.train.aux_epochs, context, seed, loggers,
                     f"seed{seed}/pretrain/{name}" + ("" if strength is None else f"@{strength:g}"),
                     validate=validate, patience=context.train.aux_patience)
    reliability = _holdout_reliability(context, data, net, family, rows, held_out, holdout)
    return net.eval(), history | {"reliability": reliability}


def _holdout_reliability(context: Context, data: stream.Pretraining, net: HashedMLP, family: auxiliary.AuxFamily,
                         rows: auxiliary.AuxData, held_out: np.ndarray, holdout: dict[str, torch.Tensor]
                         ) -> list[dict[str, Any]]:
    """The reliability table of both heads of ``net`` on the hold-out, per group of signals seen at
    the main strength (:func:`auxiliary.reliability`)."""
    group_view = context.signal_view(context.main_strength)
    group_signals = data.signals if group_view is None else group_view(data.signals)
    seen = stream.signal_counts(group_signals, data.clicks.click_id[rows.rows[held_out]], rows.at[held_out],
                                int(data.clicks.click_ts.min()), context.kinds).sum(1)
    probabilities = torch.sigmoid(batched_logits(net, holdout["categorical"], holdout["dense"])).numpy()
    return auxiliary.reliability(probabilities, rows.labels[held_out], rows.masks[held_out], seen, family.heads)


def aux_key(name: str, strength: float | None) -> tuple[str, float | None]:
    """Auxiliary models are shared by lines; those that read signals are one per signal strength."""
    return name, strength if auxiliary.FAMILIES[name].signals else None


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


def pretrain_learners(context: Context, data: stream.Pretraining, lines: dict[str, Method], seeds: list[int],
                      loggers: list[Any]) -> tuple[dict[tuple[int, str], Learner], dict[str, dict[str, Any]]]:
    """For each seed: the CVR model and the auxiliary models the lines read, pretrained on ``data``;
    returns one :class:`Learner` per (seed, line) and the auxiliary models' reports
    (``reports[model][str(seed)]``)."""
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
            method_aux = {family: aux_nets[aux_key(family, method.signal_strength)] for family in method.aux}
            learners[seed, name] = Learner(copy.deepcopy(cvr), method, method_aux, context, seed, index)
    return learners, reports
