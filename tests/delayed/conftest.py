"""Fixtures of the T2 tests: a hand-set calibration and a small simulated conversion table."""

from __future__ import annotations

from pathlib import Path

import pytest

from recsys_challenges.data.simulate.conversion_stream import Calibration, ConversionSimulator, Drift
from recsys_challenges.delayed.build import write_simulation

HOUR = 3600


def taobao_like_calibration() -> Calibration:
    """Rates of the order of those fitted on Taobao (fixed here so the tests need no data)."""
    profile = [1.0] * 24
    return Calibration(
        window_s=24 * HOUR,
        conversion_rate=0.02,
        fast_weight=0.6,
        fast_mean_s=1200.0,
        slow_mean_s=12 * HOUR,
        signal_timing=[[0.5, 500.0, 20 * HOUR], [0.6, 400.0, 16 * HOUR], [0.5, 300.0, 10 * HOUR]],
        signal_mean_negative=[0.2, 0.01, 0.003],
        signal_mean_positive=[2.0, 0.12, 0.04],
        hourly_profile=[p / 24 for p in profile],
        data_delay_quantiles_h={},
        fitted_delay_quantiles_h={},
    )


def small_simulator(rows: int = 20_000, days: float = 5.0, chunk_rows: int = 5_000, seed: int = 0,
                    strengths: tuple[float, ...] = (1.0, 0.0, 4.0), campaign_life_days: float = 3.0,
                    drift: Drift = Drift()) -> ConversionSimulator:
    return ConversionSimulator(taobao_like_calibration(), rows=rows, days=days, seed=seed, chunk_rows=chunk_rows,
                               campaigns_per_day=20.0, campaign_life_days=campaign_life_days, effect_scale=0.6,
                               delay_feature_effect=0.8, strengths=list(strengths), drift=drift)


@pytest.fixture(scope="session")
def sim_table(tmp_path_factory) -> Path:
    """A 20k-click simulated conversion table over 5 days (main signal strength 1, sweep 0 and 4)."""
    folder = tmp_path_factory.mktemp("sim_table")
    write_simulation(small_simulator(), folder, {})
    return folder
