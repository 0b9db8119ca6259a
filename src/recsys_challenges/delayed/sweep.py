"""Simulated regimes as a sweep, one factor at a time around a base regime: the work of ``delayed-sweep``.

Where can pre-conversion signals help the importance weights (claim C5)? Never by more than the
fake negatives allow: the clicks observed negative at ES-DFM's elapsed window c (Yang et al., AAAI
2021) that convert later. The sweep moves the four things that set that room, one at a time, around
``delayed.sweep.base`` (conversion rate 10%, c = 15 min, 50% slow delays of mean 8 h, signals as
informative as on Taobao):

* the conversion rate within the 24 h window (``conversion_rate``),
* ES-DFM's elapsed window c (``elapsed_window_minutes``, ``delayed.protocol``'s),
* the share of conversions drawn from the slow delay component (``slow_share``),
* how informative the pre-conversion signals are (``signal_strength``: 0 uninformative, 1 as on Taobao).

Where does waiting for mature labels stop winning (claim C4)? Where the data drift: two drift
factors move the simulator's campaigns (field ``C1``, formulas in
:mod:`recsys_challenges.data.simulate.conversion_stream`), with the waiting-N lines of
``delayed.sweep.waiting_hours`` among the methods:

* how much a campaign matters (``campaign_effect_scale``: the sd of its logit effect; 0: not at all),
* how long a campaign lives (``campaign_life_days``).

Every point reuses the simulator of ``delayed.datasets.sim`` (calibrated on the Taobao table, with
the point's overrides: :func:`recsys_challenges.delayed.build.regime`) and the stream of
``delayed-stream`` (:func:`recsys_challenges.delayed.experiment.run_simulated`) with the methods of
``delayed.sweep.methods``. Each seed is one replicate: a stream simulated with that seed and a
model trained with it, so the 95% CIs over seeds cover both the data and the training. The
replicates are the jobs of a pool of ``workers`` processes (:mod:`recsys_challenges.workers`); each
seeds itself, so the file does not depend on the pool's size.

Output ``reports/metrics/delayed/sweep.json``: :class:`~recsys_challenges.delayed.results.SweepResult`
(``"layout": "regime_sweep"``; the claim rules read only the per-stream files and skip it).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

import torch

from recsys_challenges.data.simulate.conversion_stream import Calibration
from recsys_challenges.delayed import build
from recsys_challenges.delayed.config import (
    SWEEP_BASE,
    SWEEP_REFERENCE,
    DatasetSpec,
    ModelParams,
    ProtocolParams,
    RegimeParams,
    SweepParams,
    TrainParams,
)
from recsys_challenges.delayed.evaluate import SUMMARY_METRICS, paired_by_seed
from recsys_challenges.delayed.experiment import run_simulated
from recsys_challenges.delayed.results import StreamResult, SweepPoint, SweepResult
from recsys_challenges.stats import ci_or_none, mean_ci
from recsys_challenges.workers import map_jobs

SWEEP_DATASET = "sim"  # its simulator, calibration input and batch size are the sweep's (dvc.yaml deps too)


@dataclass(frozen=True)
class RegimePoint:
    """One point of the sweep: its name (``base`` or ``<factor>=<value>``) and its regime."""

    name: str
    regime: RegimeParams


def point_name(factor: str, value: float) -> str:
    return f"{factor}={value:g}"


def regime_points(sweep: SweepParams) -> list[RegimePoint]:
    """The base, then each factor's other values in params order: one factor at a time, the base run once."""
    points = [RegimePoint(SWEEP_BASE, sweep.base)]
    for factor, values in sweep.factors.values().items():
        points += [RegimePoint(point_name(factor, value), replace(sweep.base, **{factor: value}))
                   for value in values if value != getattr(sweep.base, factor)]
    return points


def factor_points(sweep: SweepParams) -> dict[str, dict[str, list]]:
    """``factor -> {"values", "points"}``: the point that measures each value (``base`` at the base's value)."""
    return {factor: {"values": values,
                     "points": [SWEEP_BASE if value == getattr(sweep.base, factor) else point_name(factor, value)
                                for value in values]}
            for factor, values in sweep.factors.values().items()}


def regime_settings(regime: RegimeParams, spec: DatasetSpec, protocol: ProtocolParams, rows: int,
                    seed: int, waiting_hours: list[float]) -> tuple[DatasetSpec, ProtocolParams]:
    """The dataset spec and protocol of one replicate of ``regime``.

    ``spec``'s simulator with ``rows`` clicks, simulator seed ``seed``, the regime's conversion
    rate, slow-delay share and mean, signal strength (and no other strength: a single ``pcaw``
    line), campaign effect scale and life; no young-items analysis (``item_field`` None);
    ``protocol`` with the regime's elapsed window c and the sweep's ``waiting_hours``.
    """
    simulator = replace(spec.simulator, rows=rows, seed=seed, conversion_rate=regime.conversion_rate,
                        slow_share=regime.slow_share, slow_mean_hours=regime.slow_mean_hours,
                        signal_strength=regime.signal_strength, sweep_strengths=[],
                        campaign_effect_scale=regime.campaign_effect_scale,
                        campaign_life_days=regime.campaign_life_days)
    return (replace(spec, simulator=simulator, item_field=None),
            replace(protocol, elapsed_window_minutes=regime.elapsed_window_minutes, waiting_hours=list(waiting_hours)))


def _seed_value(summary: dict[str, Any] | None) -> float | None:
    """The single seed's value of a one-seed stream summary (None where undefined)."""
    return None if summary is None else summary["values"][0]


def sweep_point(point: RegimePoint, replicates: dict[int, StreamResult]) -> SweepPoint:
    """One point's entry of ``sweep.json`` from its one-seed stream results (``seed -> result``)."""
    seeds = list(replicates)
    names = replicates[seeds[0]].methods
    per_seed = {(seed, name): {m: _seed_value(replicates[seed].summary[name][m]) for m in SUMMARY_METRICS}
                for seed in seeds for name in names}
    return SweepPoint(
        regime=asdict(point.regime),
        fake_negative_share=mean_ci([replicates[s].protocol.fake_negative_share for s in seeds]),
        test_conversion_rate=mean_ci([replicates[s].protocol.test_conversion_rate for s in seeds]),
        test_clicks=[replicates[s].protocol.test_clicks for s in seeds],
        summary={name: {m: ci_or_none([per_seed[seed, name][m] for seed in seeds])
                        for m in SUMMARY_METRICS} for name in names},
        paired={SWEEP_REFERENCE: paired_by_seed(per_seed, seeds, names)[SWEEP_REFERENCE]},
    )


def _gain(point: SweepPoint, method: str) -> str:
    stats = point.paired[SWEEP_REFERENCE][method]["auc"]
    if stats is None:
        return "undefined"
    low, high = stats["ci95"] or (stats["mean"], stats["mean"])
    return f"{stats['mean']:+.4f} [{low:+.4f}, {high:+.4f}]"


@dataclass(frozen=True)
class ReplicateJob:
    """One seed of one point of the sweep: a job of :func:`~recsys_challenges.workers.map_jobs`."""

    point: RegimePoint
    seed: int
    calibration: Calibration
    spec: DatasetSpec
    protocol: ProtocolParams
    model: ModelParams
    lines: TrainParams


def run_job(job: ReplicateJob) -> StreamResult:
    """The one-seed stream result of ``job``: its regime's stream simulated with the seed, its lines trained."""
    torch.set_num_threads(1)  # small minibatches, as in delayed-stream
    return run_simulated(build.regime(job.calibration, job.spec.simulator), job.spec, job.protocol, job.model,
                               job.lines, f"{job.point.name} seed {job.seed}")


def _describe(job: ReplicateJob, result: StreamResult, seconds: float) -> str:
    return f"{job.point.name} seed {job.seed}: {seconds:.0f}s"


def run_sweep(sweep: SweepParams, calibration: Calibration, spec: DatasetSpec, protocol: ProtocolParams,
              model: ModelParams, train_params: TrainParams, workers: int = 1) -> SweepResult:
    """Every point of :func:`regime_points` for every seed of ``sweep``, as jobs of a pool of ``workers``
    processes (the result does not depend on their number); ``sweep.json`` without the stage's wall time."""
    jobs = []
    for point in regime_points(sweep):
        for seed in sweep.seeds:
            point_spec, point_protocol = regime_settings(point.regime, spec, protocol, sweep.rows, seed,
                                                         sweep.waiting_hours)
            lines = replace(train_params, seeds=[seed], methods=list(sweep.methods))
            jobs.append(ReplicateJob(point, seed, calibration, point_spec, point_protocol, model, lines))
    replicate_results = map_jobs(run_job, jobs, workers, _describe)
    points = {}
    for index, point in enumerate(regime_points(sweep)):
        part = slice(index * len(sweep.seeds), (index + 1) * len(sweep.seeds))
        entry = points[point.name] = sweep_point(point, dict(zip(sweep.seeds, replicate_results[part], strict=True)))
        print(f"{point.name}: fake negatives {entry.fake_negative_share['mean']:.1%} of observed negatives; "
              f"AUC minus {SWEEP_REFERENCE}: pcaw {_gain(entry, 'pcaw')}, ceiling pcaw_oracle {_gain(entry, 'pcaw_oracle')}")
    return SweepResult(
        design=f"one factor at a time around base; simulator of delayed.datasets.{SWEEP_DATASET} "
               f"(calibrated on {spec.input}); each seed simulates its own stream and trains its own models",
        seeds=list(sweep.seeds),
        rows=sweep.rows,
        methods=list(points[SWEEP_BASE].summary),
        reference=SWEEP_REFERENCE,
        base=asdict(sweep.base),
        factors=factor_points(sweep),
        points=points,
    )
