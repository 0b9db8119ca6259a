"""Building one dataset's conversion table (schema in ``delayed.conversions``): the work of ``delayed-conversions``.

The dataset's ``builder`` (params ``delayed.datasets.<name>.builder``) picks the function of :data:`BUILDERS`:

* ``taobao_events``: from a prepared Taobao UserBehavior log (``data/prepared/<name>``);
* ``event_log``: from a user's event log prepared by ``prepare-local`` (parser ``event_log``);
* ``criteo_conversion_logs``: from the prepared Criteo conversion logs (full profile, manual download);
* ``simulator``: calibrate the simulator on another conversion table (``input``), print the fitted
  rates, and write a simulated stream of ``rows`` clicks chunk by chunk.

The simulator's pieces serve the stream, the sweep and the bench too: :func:`calibrate_on` (the
rates fitted on a table), :func:`regime` (with a dataset's overrides), :func:`simulator_for` and
:func:`write_simulation` (a simulated stream written chunk by chunk).

Output: ``data/delayed/conversions/<name>/`` (written atomically by :mod:`.stage`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from recsys_challenges.data.formats import load_table as load_prepared
from recsys_challenges.data.simulate.conversion_stream import (
    Calibration,
    ConversionSimulator,
    Drift,
    calibrate,
    keep_signals,
)
from recsys_challenges.delayed import conversions
from recsys_challenges.delayed.config import DatasetSpec, SimulatorParams
from recsys_challenges.errors import DataError
from recsys_challenges.io import progress


def build_taobao(spec: DatasetSpec, window_s: int, out: Path) -> dict[str, Any]:
    table = conversions.taobao_events(load_prepared(spec.input), window_s)
    return conversions.write_table(table, out)


def build_event_log(spec: DatasetSpec, window_s: int, out: Path) -> dict[str, Any]:
    table = conversions.event_log(load_prepared(spec.input), window_s)
    return conversions.write_table(table, out)


def build_criteo(spec: DatasetSpec, window_s: int, out: Path) -> dict[str, Any]:
    table = conversions.criteo_conversion_logs(load_prepared(spec.input), window_s)
    return conversions.write_table(table, out)


def calibrate_on(folder: Path, window_s: int) -> Calibration:
    """Fit the simulator's rates on the conversion table in ``folder`` (same window required)."""
    table = conversions.load_table(folder)
    meta = table.meta
    if meta["window_s"] != window_s:
        raise DataError(f"{folder}: built with window {meta['window_s']} s, the simulator needs {window_s} s "
                        f"(rebuild it with the same delayed.conversions.window_hours)")
    clicks, signals = table.clicks, table.signals
    return calibrate(
        click_ts=clicks["click_ts"].to_numpy(),
        conversion_ts=clicks["conversion_ts"].fillna(conversions.NEVER).to_numpy("int64"),
        signal_click=signals["click_id"].to_numpy(),
        signal_kind=signals["kind"].to_numpy(),
        signal_ts=signals["ts"].to_numpy(),
        window_s=window_s,
        origin_ts=meta["origin_ts"],
        horizon_ts=meta["horizon_ts"],
        never=conversions.NEVER,
    )


def describe(calibration: Calibration, source: str) -> str:
    """The fitted rates, for the stage's log (all of them are also in the table's meta.json)."""
    c = calibration
    kinds = ", ".join(f"{kind}: {m0:.4f} if no conversion, {m1:.4f} if conversion"
                      for kind, m0, m1 in zip(conversions.SIGNAL_KINDS, c.signal_mean_negative, c.signal_mean_positive,
                                              strict=True))
    return (f"simulator calibrated on {source}:\n"
            f"  conversion rate within {c.window_s / 3600:g} h: {c.conversion_rate:.4f}\n"
            f"  delay: {c.fast_weight:.1%} fast (mean {c.fast_mean_s / 60:.1f} min), "
            f"{1 - c.fast_weight:.1%} slow (mean {c.slow_mean_s / 3600:.1f} h)\n"
            f"  delay quantiles (h), data: {json.dumps(c.data_delay_quantiles_h)}\n"
            f"  delay quantiles (h), fit:  {json.dumps(c.fitted_delay_quantiles_h)}\n"
            f"  signals per click (before truncation): {kinds}")


def simulator_for(calibration: Calibration, params: SimulatorParams, rows: int | None = None) -> ConversionSimulator:
    return ConversionSimulator(
        calibration, rows=rows or params.rows, days=params.days, seed=params.seed, chunk_rows=params.chunk_rows,
        campaigns_per_day=params.campaigns_per_day, campaign_life_days=params.campaign_life_days,
        effect_scale=params.effect_scale, delay_feature_effect=params.delay_feature_effect,
        strengths=params.all_strengths,
        drift=Drift(params.campaign_effect_scale, params.campaign_trend_per_day, params.static_memory_days),
    )


def write_simulation(simulator: ConversionSimulator, out: Path, extra_meta: dict[str, Any]) -> dict[str, Any]:
    """Stream the simulator's chunks into a conversion table in ``out``; return the meta.

    The table holds the signals of the largest strength; its stats describe the main strength
    (the first of ``simulator.strengths``).
    """
    writer = conversions.TableWriter(out, simulator.calibration.window_s)
    with progress(total=simulator.rows, unit="click", desc="simulate") as bar:
        for clicks, signals in simulator.chunks():
            main = keep_signals(signals["kind"].to_numpy(), signals["mark"].to_numpy(), simulator.strengths[0],
                                simulator.calibration, simulator.strengths)
            writer.append(clicks, signals, counted_signals=signals[main])
            bar.update(len(clicks))
    return writer.close(simulator.meta() | extra_meta)


def regime(calibration: Calibration, params: SimulatorParams) -> Calibration:
    """The fitted rates with ``params``' overrides (conversion rate, slow delays) where set."""
    overrides: dict[str, float] = {}
    if params.conversion_rate is not None:
        overrides["conversion_rate"] = params.conversion_rate
    if params.slow_share is not None:
        overrides["fast_weight"] = 1 - params.slow_share
    if params.slow_mean_hours is not None:
        overrides["slow_mean_s"] = params.slow_mean_hours * 3600
    return replace(calibration, **overrides)


def build_simulator(spec: DatasetSpec, window_s: int, out: Path) -> dict[str, Any]:
    calibration = regime(calibrate_on(Path(spec.input), window_s), spec.simulator)
    print(describe(calibration, spec.input + " (with the overrides of params, if any)"))
    simulator = simulator_for(calibration, spec.simulator)
    return write_simulation(simulator, out, {"calibrated_on": spec.input, "signal_strength": spec.simulator.signal_strength})


BUILDERS: dict[str, Callable[[DatasetSpec, int, Path], dict[str, Any]]] = {
    "taobao_events": build_taobao,
    "event_log": build_event_log,
    "criteo_conversion_logs": build_criteo,
    "simulator": build_simulator,
}
