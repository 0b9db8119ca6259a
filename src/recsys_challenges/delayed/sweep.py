"""``delayed-sweep`` stage: simulated regimes as a sweep, one factor at a time around a base regime.

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
``delayed-stream`` (:func:`recsys_challenges.delayed.train.run`) with the methods of
``delayed.sweep.methods``. Each seed is one replicate: a stream simulated with that seed and a
model trained with it, so the 95% CIs over seeds cover both the data and the training. The
replicates are the jobs of a pool of ``workers`` processes (:mod:`recsys_challenges.workers`); each
seeds itself, so the file does not depend on the pool's size.

Output ``reports/metrics/delayed/sweep.json`` (``"layout": "regime_sweep"``; the claim rules read
only the per-stream files and skip it):

* ``base`` (the centre regime), ``factors[factor]`` = ``{"values", "points"}`` (the point name of
  each value, ``"base"`` at the base's value), ``seeds``, ``rows``, ``methods``, ``reference``;
* ``points[name]``: ``regime`` (its five fields), ``fake_negative_share`` and
  ``test_conversion_rate`` (``mean_ci`` over seeds), ``summary[method][metric]`` and
  ``paired["esdfm"][method][metric]`` (method minus ES-DFM, paired by seed; ``pcaw_oracle`` minus
  ES-DFM is the ceiling of any signal-aware weight) with metrics AUC, PR-AUC, NLL, mean prediction
  and calibration bias;
* ``wall_s``: the stage's wall time.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import torch

from recsys_challenges.config import load_section
from recsys_challenges.data.simulate.conversion_stream import Calibration
from recsys_challenges.delayed import build, train
from recsys_challenges.delayed.config import (
    SWEEP_BASE,
    SWEEP_REFERENCE,
    ConversionParams,
    DatasetSpec,
    ModelParams,
    ProtocolParams,
    RegimeParams,
    SweepParams,
    TrainParams,
)
from recsys_challenges.errors import ConfigError
from recsys_challenges.io import write_json
from recsys_challenges.stats import ci_or_none, mean_ci
from recsys_challenges.workers import load_workers, map_jobs

SWEEP_FILE = train.METRICS_ROOT / "sweep.json"
SWEEP_DATASET = "sim"  # its simulator, calibration input and batch size are the sweep's (dvc.yaml deps too)
LAYOUT = "regime_sweep"


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


def point_payload(point: RegimePoint, replicates: dict[int, dict[str, Any]]) -> dict[str, Any]:
    """One point's entry of ``sweep.json`` from its one-seed stream payloads (``seed -> payload``)."""
    seeds = list(replicates)
    names = replicates[seeds[0]]["methods"]
    per_seed = {(seed, name): {m: _seed_value(replicates[seed]["summary"][name][m]) for m in train.SUMMARY_METRICS}
                for seed in seeds for name in names}
    return {
        "regime": asdict(point.regime),
        "fake_negative_share": mean_ci([replicates[s]["protocol"]["fake_negative_share"] for s in seeds]),
        "test_conversion_rate": mean_ci([replicates[s]["protocol"]["test_conversion_rate"] for s in seeds]),
        "test_clicks": [replicates[s]["protocol"]["test_clicks"] for s in seeds],
        "summary": {name: {m: ci_or_none([per_seed[seed, name][m] for seed in seeds])
                           for m in train.SUMMARY_METRICS} for name in names},
        "paired": {SWEEP_REFERENCE: train.paired_by_seed(per_seed, seeds, names)[SWEEP_REFERENCE]},
    }


def _gain(point: dict[str, Any], method: str) -> str:
    stats = point["paired"][SWEEP_REFERENCE][method]["auc"]
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


def run_job(job: ReplicateJob) -> dict[str, Any]:
    """The one-seed stream payload of ``job``: its regime's stream simulated with the seed, its lines trained."""
    torch.set_num_threads(1)  # small minibatches, as in delayed-stream
    return train.run_simulated(build.regime(job.calibration, job.spec.simulator), job.spec, job.protocol, job.model,
                               job.lines, f"{job.point.name} seed {job.seed}")


def _describe(job: ReplicateJob, payload: dict[str, Any], seconds: float) -> str:
    return f"{job.point.name} seed {job.seed}: {seconds:.0f}s"


def run_sweep(sweep: SweepParams, calibration: Calibration, spec: DatasetSpec, protocol: ProtocolParams,
              model: ModelParams, train_params: TrainParams, workers: int = 1) -> dict[str, Any]:
    """Every point of :func:`regime_points` for every seed of ``sweep``, as jobs of a pool of ``workers``
    processes (the payload does not depend on their number); the ``sweep.json`` payload (without the
    stage's wall time)."""
    jobs = []
    for point in regime_points(sweep):
        for seed in sweep.seeds:
            point_spec, point_protocol = regime_settings(point.regime, spec, protocol, sweep.rows, seed,
                                                         sweep.waiting_hours)
            lines = replace(train_params, seeds=[seed], methods=list(sweep.methods))
            jobs.append(ReplicateJob(point, seed, calibration, point_spec, point_protocol, model, lines))
    results = map_jobs(run_job, jobs, workers, _describe)
    points = {}
    for index, point in enumerate(regime_points(sweep)):
        part = slice(index * len(sweep.seeds), (index + 1) * len(sweep.seeds))
        replicates = dict(zip(sweep.seeds, results[part], strict=True))
        points[point.name] = point_payload(point, replicates)
        entry = points[point.name]
        print(f"{point.name}: fake negatives {entry['fake_negative_share']['mean']:.1%} of observed negatives; "
              f"AUC minus {SWEEP_REFERENCE}: pcaw {_gain(entry, 'pcaw')}, ceiling pcaw_oracle {_gain(entry, 'pcaw_oracle')}")
    return {
        "technique": "delayed",
        "layout": LAYOUT,
        "dataset": "sweep",
        "data_kind": "simulated",
        "design": f"one factor at a time around base; simulator of delayed.datasets.{SWEEP_DATASET} "
                  f"(calibrated on {spec.input}); each seed simulates its own stream and trains its own models",
        "seeds": list(sweep.seeds),
        "rows": sweep.rows,
        "methods": list(points[SWEEP_BASE]["summary"]),
        "reference": SWEEP_REFERENCE,
        "base": asdict(sweep.base),
        "factors": factor_points(sweep),
        "points": points,
    }


def main(argv: list[str] | None = None) -> int:
    started = time.perf_counter()
    parser = argparse.ArgumentParser(prog="recsys_challenges delayed-sweep", description=__doc__.splitlines()[0])
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
    calibration = build.calibrate_on(Path(spec.input), window_s)
    payload = run_sweep(sweep, calibration, spec, protocol, model, train_params, load_workers(args.params))
    payload["wall_s"] = time.perf_counter() - started
    write_json(args.out, payload)
    print(f"{len(payload['points'])} regimes x {len(sweep.seeds)} seeds in {payload['wall_s']:.0f}s -> {args.out}")
    return 0
