"""The simulator (data/simulate/conversion_stream.py): fits recover known rates, ground truth holds,
thinning gives the signals of each strength, and the data does not depend on the chunking."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest

from recsys_challenges.data.simulate import conversion_stream as cs
from recsys_challenges.delayed.build import calibrate_on
from recsys_challenges.delayed.config import SimulatorParams
from recsys_challenges.errors import ConfigError
from tests.delayed.conftest import small_simulator, taobao_like_calibration


def test_exponential_mixture_fit_recovers_truncated_delays():
    rng = np.random.default_rng(0)
    n, window = 40_000, 86_400.0
    fast = rng.random(n) < 0.6
    delays = rng.exponential(np.where(fast, 600.0, 36_000.0))
    weight, mu_fast, mu_slow = cs.fit_exponential_mixture(delays[delays < window], window)
    assert weight == pytest.approx(0.6, abs=0.03)
    assert mu_fast == pytest.approx(600.0, rel=0.08)
    assert mu_slow == pytest.approx(36_000.0, rel=0.1)


def test_calibration_of_a_simulated_table_recovers_its_rates(sim_table):
    truth = taobao_like_calibration()
    fitted = calibrate_on(sim_table, truth.window_s)
    # the simulator draws the delay mix per click (feature effect), so the marginal fit is close, not equal
    assert fitted.conversion_rate == pytest.approx(truth.conversion_rate, rel=0.15)
    assert fitted.fast_mean_s == pytest.approx(truth.fast_mean_s, rel=0.3)
    # what the simulator is calibrated to: the fitted mixture reproduces the data's delay quantiles
    for q in ("0.25", "0.5", "0.75"):
        assert fitted.fitted_delay_quantiles_h[q] == pytest.approx(fitted.data_delay_quantiles_h[q], rel=0.25)
    # the table holds signals drawn at the largest strength (4): refitting sees those
    drawn = cs.signal_means(truth, 4.0)
    assert fitted.signal_mean_positive[0] == pytest.approx(drawn[0], rel=0.25)
    assert fitted.signal_mean_negative[0] == pytest.approx(truth.signal_mean_negative[0], rel=0.15)


def test_labels_follow_the_true_probability():
    clicks, _ = next(small_simulator(rows=60_000, chunk_rows=60_000).chunks())
    rate = clicks["conversion_ts"].notna().mean()
    truth = clicks["true_probability"].to_numpy()
    # Bernoulli(truth) labels: the rate lies within 4 standard errors of the mean truth
    assert abs(rate - truth.mean()) < 4 * np.sqrt(truth.mean() * (1 - truth.mean()) / truth.size)
    assert truth.mean() == pytest.approx(0.02, rel=0.1)  # b0 solved on the pilot sample
    top = truth > np.quantile(truth, 0.9)
    assert clicks["conversion_ts"].notna()[top].mean() > 2 * rate  # the features carry the signal


def test_thinning_gives_each_strength_its_mean():
    simulator = small_simulator(rows=60_000, chunk_rows=60_000, strengths=(1.0, 0.0, 4.0))
    clicks, signals = next(simulator.chunks())
    converted = clicks.set_index("click_id")["conversion_ts"].notna()
    calibration = simulator.calibration
    for strength in (0.0, 1.0, 4.0):
        keep = cs.keep_signals(signals["kind"].to_numpy(), signals["mark"].to_numpy(), strength, calibration,
                               simulator.strengths)
        kept = signals[keep & (signals["kind"] == 0).to_numpy()]
        per_converter = converted[kept["click_id"]].sum() / converted.sum()
        per_other = (~converted[kept["click_id"]]).sum() / (~converted).sum()
        # signals come an exponential-mixture time after the click and stop at the conversion, so the
        # observed mean is the drawn one times P(signal before the conversion) < 1 for converters
        assert per_other == pytest.approx(calibration.signal_mean_negative[0] * cs._mixture_cdf(
            np.float64(calibration.window_s), *calibration.signal_timing[0]), rel=0.1)
        ratio = per_converter / max(per_other, 1e-9)
        if strength == 0.0:
            assert ratio < 1.0  # uninformative counts; converters even lose the signals after their conversion
        else:
            assert ratio > 2.0 * strength


def test_strength_zero_keeps_every_non_converter_signal():
    simulator = small_simulator(rows=20_000, chunk_rows=20_000)
    clicks, signals = next(simulator.chunks())
    converted = clicks.set_index("click_id")["conversion_ts"].notna()[signals["click_id"]].to_numpy()
    keep = cs.keep_signals(signals["kind"].to_numpy(), signals["mark"].to_numpy(), 0.0, simulator.calibration,
                           simulator.strengths)
    assert keep[~converted].all()


def test_data_does_not_depend_on_the_chunking():
    def whole(chunk_rows: int) -> tuple[pd.DataFrame, pd.DataFrame]:
        parts = list(small_simulator(rows=12_000, days=2.0, chunk_rows=chunk_rows).chunks())
        return pd.concat([c for c, _ in parts], ignore_index=True), pd.concat([s for _, s in parts], ignore_index=True)

    small, large = whole(1_000), whole(100_000)
    pd.testing.assert_frame_equal(small[0], large[0])
    pd.testing.assert_frame_equal(small[1], large[1])
    assert small[0]["click_ts"].is_monotonic_increasing
    assert small[0]["click_id"].tolist() == list(range(12_000))


def test_chunks_are_bounded_and_signals_stay_in_their_window():
    simulator = small_simulator(rows=30_000, days=3.0, chunk_rows=4_000)
    window = simulator.calibration.window_s
    for clicks, signals in simulator.chunks():
        assert len(clicks) <= 4_000 + clicks.groupby(clicks["click_ts"] // 3600).size().max()
        start = clicks.set_index("click_id")["click_ts"][signals["click_id"]].to_numpy()
        end = clicks.set_index("click_id")["conversion_ts"].fillna(-1)[signals["click_id"]].to_numpy()
        assert np.all(signals["ts"].to_numpy() >= start)
        assert np.all(signals["ts"].to_numpy() < np.where(end >= 0, end, start + window))


def test_simulator_params_are_checked():
    with pytest.raises(ConfigError, match="rows"):
        SimulatorParams(rows=100)
    with pytest.raises(ConfigError, match="sweep_strengths"):
        SimulatorParams(signal_strength=1.0, sweep_strengths=[1.0])
    with pytest.raises(ConfigError, match="live"):
        SimulatorParams(campaigns_per_day=0.1, campaign_life_days=1.0)
    with pytest.raises(ConfigError, match="static_memory_days"):
        SimulatorParams(static_memory_days=0.0)
    with pytest.raises(ConfigError, match="campaign_trend_per_day"):
        SimulatorParams(campaign_trend_per_day=-1.0)


def test_true_delayed_positive_by_hand():
    # all-fast delays of mean 1200 s, window 24 h, c = 15 min: p_dp = P(convert) (e^{-900/1200} - e^{-86400/1200});
    # all-slow (mean 12 h): 0.5 (e^{-900/43200} - e^{-2})
    calibration = taobao_like_calibration()
    out = cs.true_delayed_positive(np.array([0.2, 0.5]), np.array([1.0, 0.0]), calibration, 900)
    assert out == pytest.approx([0.2 * (np.exp(-0.75) - np.exp(-72.0)), 0.5 * (np.exp(-900 / 43200) - np.exp(-2.0))])


def test_the_simulator_writes_the_truth_behind_p_dp(sim_table):
    from recsys_challenges.delayed import conversions

    clicks = next(conversions.iter_clicks(sim_table))
    assert set(clicks.truth) == {"true_conversion", "true_fast_weight"}
    # true_probability = P(convert) * P(delay < W) <= P(convert)
    assert np.all(clicks.true_probability <= clicks.truth["true_conversion"] + 1e-6)
    assert np.all((clicks.truth["true_fast_weight"] >= 0) & (clicks.truth["true_fast_weight"] <= 1))


def test_regime_overrides_the_fitted_rates():
    from recsys_challenges.delayed.build import regime

    fitted = taobao_like_calibration()
    high = regime(fitted, SimulatorParams(conversion_rate=0.15, slow_share=0.8, slow_mean_hours=8.0))
    assert (high.conversion_rate, high.fast_weight, high.slow_mean_s) == (0.15, pytest.approx(0.2), 8 * 3600)
    assert high.fast_mean_s == fitted.fast_mean_s and high.signal_mean_positive == fitted.signal_mean_positive
    assert regime(fitted, SimulatorParams()) == fitted
    with pytest.raises(ConfigError, match="conversion_rate"):
        SimulatorParams(conversion_rate=0.9)


def _digest(simulator: cs.ConversionSimulator) -> str:
    digest = hashlib.sha256()
    for clicks, signals in simulator.chunks():
        for frame in (clicks, signals):
            digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def test_default_drift_reproduces_the_generator_without_drift():
    # digest of small_simulator(rows=10_000, days=3.0, chunk_rows=4_000) written by the generator before
    # the Drift parameters existed (commit f77dc58): their defaults change nothing
    simulator = small_simulator(rows=10_000, days=3.0, chunk_rows=4_000)
    assert simulator.world.bias == pytest.approx(-5.763290054176734, abs=1e-12)
    assert _digest(simulator) == "237983ecae869d8dc1cc72af330a0deaafbb261421c94b27ff670f3ca270b71a"
    explicit = small_simulator(rows=10_000, days=3.0, chunk_rows=4_000, drift=cs.Drift(campaign_effect_scale=0.6))
    assert _digest(explicit) == _digest(simulator)


def test_static_paths_by_hand():
    # tau = 1 h: rho = e^-1; with scale 0 the walk is beta(h) = rho^h beta(0)
    paths = cs.static_paths([np.array([1.0, -2.0])], 2, 1 / 24, 0.0, np.random.default_rng(0))
    assert paths[0] == pytest.approx(np.array([[1.0, -2.0], [np.exp(-1), -2 * np.exp(-1)], [np.exp(-2), -2 * np.exp(-2)]]))
    # one step with noise: rho beta + sqrt(1 - rho^2) scale eps, eps the generator's first normals
    eps = np.random.default_rng(3).standard_normal((1, 2))
    step = cs.static_paths([np.array([1.0, -2.0])], 1, 1 / 24, 0.5, np.random.default_rng(3))[0][1]
    assert step == pytest.approx(np.exp(-1) * np.array([1.0, -2.0]) + np.sqrt(1 - np.exp(-2)) * 0.5 * eps[0])
    # stationary: started from N(0, scale^2), the spread stays scale
    long = cs.static_paths([np.random.default_rng(1).normal(0, 0.6, 20_000)], 48, 0.5, 0.6, np.random.default_rng(2))[0]
    assert long[-1].std() == pytest.approx(0.6, rel=0.03)
    assert np.corrcoef(long[0], long[-1])[0, 1] == pytest.approx(np.exp(-2 / 0.5), abs=0.03)


def test_campaign_effect_moves_with_its_age():
    simulator = small_simulator(rows=10_000, days=3.0, drift=cs.Drift(campaign_effect_scale=1.5, campaign_trend_per_day=2.0))
    world = simulator.world
    categorical = np.array([[7, 0, 0, 0, 0, 0, 0, 0, 0]] * 2)
    numeric = np.ones((2, 8), dtype=np.float32)
    ts = world.campaign_start_s[7] + np.array([0.0, 12 * 3600.0])
    logit = simulator._logit_without_bias(ts, categorical, numeric)
    assert logit[1] - logit[0] == pytest.approx(world.campaign_trend[7] * 12 * 3600)  # g_k per day x half a day
    # a_k ~ N(0, 1.5), g_k ~ N(0, 2) per day; static fields keep their N(0, 0.6)
    assert world.effects[0].std() == pytest.approx(1.5, rel=0.25)
    assert (world.campaign_trend * cs.DAY).std() == pytest.approx(2.0, rel=0.25)
    assert world.effects[1].std() == pytest.approx(0.6, rel=0.1)


def test_drift_keeps_the_calibrated_rate():
    drifting = small_simulator(rows=20_000, days=4.0, drift=cs.Drift(1.5, 1.0, 2.0))
    clicks = pd.concat([c for c, _ in drifting.chunks()])
    assert clicks["true_probability"].mean() == pytest.approx(0.02, rel=0.05)  # b0 solved over the whole stream
