"""Testing and metric summaries of T2: each test slot scored with its true labels, then over seeds.

* :func:`score_slot`: every learner's predictions on a test slot (this process's shard, gathered:
  every process computes the one-process metrics) and their :func:`.metrics.slot_metrics`, on all
  the slot's clicks and on those of young items (:func:`item_age`);
* :func:`seed_summary`: a seed's stream averages; :func:`method_summary` and :func:`paired_by_seed`:
  ``mean_ci`` over seeds, RI against vanilla and the oracle, differences paired by seed;
* :func:`stream_result`: one stream's :class:`~.results.StreamResult`; :func:`merge_results`: the
  one-seed results of a run pooled into one.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from recsys_challenges.delayed import conversions, stream
from recsys_challenges.delayed.config import DatasetSpec, ProtocolParams, TrainParams
from recsys_challenges.delayed.loop import Context, Learner
from recsys_challenges.delayed.methods import Method
from recsys_challenges.delayed.metrics import METRICS, relative_improvement, slot_metrics, stream_average
from recsys_challenges.delayed.models import predict
from recsys_challenges.delayed.results import SignalSweep, StreamProtocol, StreamResult, StreamSeries, Waiting, YoungItems
from recsys_challenges.distributed import gather_rows, shard
from recsys_challenges.errors import ConfigError
from recsys_challenges.stats import ci_or_none, mean_ci

SUMMARY_METRICS = (*METRICS, "mean_prediction", "calibration_bias")
PAIRED_REFERENCES = ("esdfm", "esdfm_unit", "vanilla")

PerSeed = dict[tuple[int, str], dict[str, float | None]]  # (seed, method) -> metric -> its stream average


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


Scores = dict[str, Any]  # slot_metrics of one learner on one slot


def score_slot(context: Context, learners: list[Learner], step: stream.Step, young: Callable | None
              ) -> tuple[dict[str, Any], list[Scores], list[Scores] | None]:
    """Score every learner on the test slot of ``step`` with its true labels.

    Returns the slot's facts (start, rows, positives, observed and fake negatives at ES-DFM's
    window c, the simulator's mean true probability), each learner's :func:`slot_metrics` and,
    if ``young`` (test clicks -> mask of those on young items), theirs on the young items' clicks.
    """
    fabric, timeline, test = context.fabric, context.timeline, step.test
    converted = (test.conversion_ts != conversions.NEVER).astype(np.float64)
    categorical, dense = (shard(t, fabric.global_rank, fabric.world_size) for t in context.features(test))
    late = test.conversion_ts > test.click_ts + context.protocol.elapsed_window_s  # observed negative at c
    facts = {"start_ts": int(timeline.start_ts + (step.index + 1) * timeline.slot_s),
             "rows": int(converted.size), "positives": int(converted.sum()),
             "observed_negatives": int(late.sum()), "fake_negatives": int((late & (converted > 0)).sum()),
             "true_mean": None if test.true_probability is None or not converted.size
             else float(test.true_probability.mean())}
    own_predictions = torch.stack([predict(learner.net, categorical, dense)[:, 0] for learner in learners], 1)
    predictions = gather_rows(fabric, own_predictions, converted.size).numpy()  # (rows, learners)
    young_rows = None if young is None else young(test)
    scores, young_scores = [], None if young_rows is None else []
    for column in range(len(learners)):
        scores.append(slot_metrics(converted, predictions[:, column]))
        if young_rows is not None:
            young_scores.append(slot_metrics(converted[young_rows], predictions[young_rows, column]))
    return facts, scores, young_scores


def seed_summary(per_slot: list[dict[str, Any]]) -> dict[str, float]:
    """A seed's stream averages; ``calibration_bias`` = mean prediction / conversion rate of the test clicks."""
    rows = [s["rows"] for s in per_slot]
    out = {m: stream_average([s[m] for s in per_slot], rows) for m in (*METRICS, "mean_prediction")}
    rate = sum(s["positives"] for s in per_slot) / max(sum(rows), 1)
    return out | {"calibration_bias": out["mean_prediction"] / rate if rate > 0 else None}


def method_summary(per_seed: PerSeed, seeds: list[int], name: str) -> dict[str, Any]:
    """``summary[name]``: ``mean_ci`` over seeds of each metric, and its RI against vanilla and the
    oracle (None if for some seed they score exactly the same, RI's 0/0)."""
    out = {m: ci_or_none([per_seed[seed, name][m] for seed in seeds]) for m in SUMMARY_METRICS}
    for m in METRICS:
        anchors = [(per_seed[seed, "vanilla"][m], per_seed[seed, "oracle"][m]) for seed in seeds]
        out[f"ri_{m}"] = None if any(v == o for v, o in anchors) else mean_ci(
            [relative_improvement(per_seed[seed, name][m], v, o) for seed, (v, o) in zip(seeds, anchors, strict=True)])
    return out


def paired_by_seed(per_seed: PerSeed, seeds: list[int], names: list[str]) -> dict[str, dict[str, dict[str, Any]]]:
    """``paired[reference][method][metric]``: mean and t-CI over seeds of ``method - reference`` (same seed)."""
    return {reference: {name: {m: ci_or_none([None if per_seed[seed, name][m] is None
                                              or per_seed[seed, reference][m] is None
                                              else per_seed[seed, name][m] - per_seed[seed, reference][m]
                                              for seed in seeds])
                               for m in SUMMARY_METRICS} for name in names if name != reference}
            for reference in PAIRED_REFERENCES if reference in names}


def _safe_average(values: list[float | None], rows: list[int]) -> float | None:
    try:
        return stream_average(values, rows)
    except ValueError:  # no slot with both classes
        return None


def young_items(field: str, protocol: ProtocolParams, seeds: list[int], names: list[str],
                young_slot: dict[tuple[int, str], list[dict[str, Any]]]) -> YoungItems:
    """Metrics on the test clicks of young items, the paired differences included (as ``summary``)."""
    per_seed = {key: {m: _safe_average([s[m] for s in values], [s["rows"] for s in values])
                      for m in (*METRICS, "mean_prediction")} for key, values in young_slot.items()}
    for key, values in young_slot.items():
        rate = sum(s["positives"] for s in values) / max(sum(s["rows"] for s in values), 1)
        mean = per_seed[key]["mean_prediction"]
        per_seed[key]["calibration_bias"] = None if mean is None or rate == 0 else mean / rate
    first = young_slot[seeds[0], names[0]]
    return YoungItems(field=field, hours=protocol.young_item_hours,
                      test_clicks=int(sum(s["rows"] for s in first)),
                      test_conversions=int(sum(s["positives"] for s in first)),
                      summary={name: {m: ci_or_none([per_seed[seed, name][m] for seed in seeds]) for m in SUMMARY_METRICS}
                               for name in names},
                      paired=paired_by_seed(per_seed, seeds, names))


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), 6)


def protocol_facts(timeline: stream.Timeline, protocol: ProtocolParams, batch_size: int,
                   pretraining: stream.Pretraining, slots: list[dict[str, Any]]) -> StreamProtocol:
    """``protocol``: the stream's settings, what it pretrained and tested on (from the slots' facts)."""
    rows = [s["rows"] for s in slots]
    test_rows = int(sum(rows))
    return StreamProtocol(
        window_hours=timeline.window_s / 3600,
        slot_hours=timeline.slot_s / 3600,
        stream_start_ts=timeline.start_ts,
        steps=timeline.steps,
        elapsed_window_minutes=protocol.elapsed_window_s / 60,
        pretrain_clicks=len(pretraining.clicks),
        pretrain_conversions=int((pretraining.clicks.conversion_ts != conversions.NEVER).sum()),
        test_clicks=test_rows,
        test_conversion_rate=sum(s["positives"] for s in slots) / max(test_rows, 1),
        test_true_mean_probability=None if slots[0]["true_mean"] is None else
        float(np.average([s["true_mean"] or 0.0 for s in slots], weights=np.maximum(rows, 1e-12))),
        batch_size=batch_size,
        fake_negative_share=sum(s["fake_negatives"] for s in slots) / max(sum(s["observed_negatives"] for s in slots), 1),
    )


def stream_series(slots: list[dict[str, Any]], per_slot: dict[tuple[int, str], list[dict[str, Any]]],
                  seeds: list[int], names: list[str]) -> StreamSeries:
    """``stream``: each test slot's start, rows and positives, and the per-slot metrics of ``names``."""
    return StreamSeries(
        slot_start_ts=[s["start_ts"] for s in slots],
        rows=[s["rows"] for s in slots],
        positives=[s["positives"] for s in slots],
        per_slot={name: {m: [[_round(s[m]) for s in per_slot[seed, name]] for seed in seeds]
                         for m in (*METRICS, "mean_prediction")} for name in names},
    )


def stream_result(dataset: str, meta: dict[str, Any], spec: DatasetSpec, timeline: stream.Timeline,
                  protocol: ProtocolParams, train: TrainParams, lines: dict[str, Method],
                  pretraining: stream.Pretraining, slots: list[dict[str, Any]],
                  per_slot: dict[tuple[int, str], list[dict[str, Any]]]) -> StreamResult:
    """One stream's result from the slots' facts and every (seed, line)'s per-slot metrics.

    The ``pcaw@<strength>`` lines of the simulator's signal sweep go to ``signal_sweep``, beside
    ``pcaw`` (the main strength); every other line is a method of ``summary``.
    """
    seeds = list(train.seeds)
    per_seed = {key: seed_summary(values) for key, values in per_slot.items()}
    sweep_lines = [name for name in lines if name.startswith("pcaw@")]
    main_lines = [name for name in lines if name not in sweep_lines]
    signal_sweep = None
    if sweep_lines:
        strengths = [lines["pcaw"].signal_strength] + [lines[n].signal_strength for n in sweep_lines]
        signal_sweep = SignalSweep(strengths=strengths, pcaw={
            f"{s:g}": method_summary(per_seed, seeds, n) for s, n in zip(strengths, ["pcaw", *sweep_lines], strict=True)})
    return StreamResult(
        dataset=dataset,
        data_kind=spec.data_kind,
        seeds=seeds,
        methods=main_lines,
        summary={name: method_summary(per_seed, seeds, name) for name in main_lines},
        paired=paired_by_seed(per_seed, seeds, main_lines),
        protocol=protocol_facts(timeline, protocol, spec.batch_size, pretraining, slots),
        data=meta["stats"] | {"table_input": spec.input},
        stream=stream_series(slots, per_slot, seeds, main_lines),
        waiting=Waiting(hours=list(protocol.waiting_hours) if "waiting" in train.methods else [],
                        methods=[n for n in main_lines if n.startswith("waiting_")]),
        signal_sweep=signal_sweep,
    )


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
    """One stream payload (JSON) from one-seed payloads (in seed order).

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


def merge_results(results: list[StreamResult], own_streams: bool) -> StreamResult:
    """:func:`merge_seeds` of one-seed results (:func:`~.experiment.run_seed`, in seed order)."""
    return StreamResult.from_json(merge_seeds([result.to_json() for result in results], own_streams))
