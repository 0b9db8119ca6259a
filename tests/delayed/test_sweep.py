"""The regime sweep (stage ``delayed_sweep``): params, the regime builder, a tiny sweep, its figure."""

from __future__ import annotations

import json
import math

import pytest
import torch

from recsys_challenges.config import from_mapping
from recsys_challenges.delayed import build, figures, sweep
from recsys_challenges.delayed.config import (
    DatasetSpec,
    ModelParams,
    ProtocolParams,
    RegimeParams,
    SimulatorParams,
    SweepFactors,
    SweepParams,
    TrainParams,
)
from recsys_challenges.delayed.results import SweepResult
from recsys_challenges.errors import ConfigError
from recsys_challenges.plotting import save_png, setup
from recsys_challenges.report.evidence import load_metrics
from recsys_challenges.stats import mean_ci
from tests.delayed.conftest import HOUR, taobao_like_calibration

PNG = b"\x89PNG\r\n\x1a\n"
BASE = {"conversion_rate": 0.1, "elapsed_window_minutes": 15.0, "slow_share": 0.5, "signal_strength": 1.0,
        "campaign_effect_scale": 0.6, "campaign_life_days": 3.0, "slow_mean_hours": 8.0}


def test_sweep_params_reject_unknown_keys_and_a_base_outside_its_factor():
    good = {"rows": 10_000, "seeds": [0, 1], "base": BASE, "factors": {"conversion_rate": [0.01, 0.1]}}
    assert from_mapping(SweepParams, good, "delayed.sweep").factors.conversion_rate == [0.01, 0.1]
    with pytest.raises(ConfigError, match="unknown key 'row'"):
        from_mapping(SweepParams, good | {"row": 5}, "delayed.sweep")
    with pytest.raises(ConfigError, match="unknown key 'window'"):
        from_mapping(SweepParams, good | {"base": BASE | {"window": 5.0}}, "delayed.sweep")
    with pytest.raises(ConfigError, match="unknown key 'delay_share'"):
        from_mapping(SweepParams, good | {"factors": {"delay_share": [0.5]}}, "delayed.sweep")
    with pytest.raises(ConfigError, match="must include the base's value 0.1"):
        from_mapping(SweepParams, good | {"factors": {"conversion_rate": [0.01, 0.2]}}, "delayed.sweep")
    with pytest.raises(ConfigError, match=r"slow_share must be in \[0, 1\]"):
        from_mapping(SweepParams, good | {"factors": {"slow_share": [0.5, 1.5]}}, "delayed.sweep")
    with pytest.raises(ConfigError, match="must include oracle"):
        from_mapping(SweepParams, good | {"methods": ["vanilla", "esdfm", "pcaw", "pcaw_oracle", "waiting"]}, "delayed.sweep")
    with pytest.raises(ConfigError, match="campaign_life_days must be > 0"):
        from_mapping(SweepParams, good | {"factors": {"campaign_life_days": [0.0, 3.0]}}, "delayed.sweep")


def test_regime_builder_sets_the_fields_each_point_asks_for():
    params = SweepParams(rows=12_000, seeds=[3], base=RegimeParams(**BASE),
                         factors=SweepFactors(conversion_rate=[0.02, 0.1], elapsed_window_minutes=[15.0, 60.0],
                                              slow_share=[0.5], signal_strength=[1.0, 8.0],
                                              campaign_effect_scale=[0.6], campaign_life_days=[1.0, 3.0]))
    points = {p.name: p.regime for p in sweep.regime_points(params)}
    # the base once, then each factor's other values: 1 + 1 + 1 + 0 + 1 + 0 + 1 points
    assert list(points) == ["base", "conversion_rate=0.02", "elapsed_window_minutes=60", "signal_strength=8",
                            "campaign_life_days=1"]
    assert sweep.factor_points(params)["elapsed_window_minutes"] == {"values": [15.0, 60.0],
                                                                     "points": ["base", "elapsed_window_minutes=60"]}
    spec = DatasetSpec("simulator", "calibration/table", batch_size=64, item_field="C1",
                       simulator=SimulatorParams(rows=200_000, seed=0, sweep_strengths=[0.0, 8.0]))
    protocol = ProtocolParams(elapsed_window_minutes=15.0)

    window_spec, window_protocol = sweep.regime_settings(points["elapsed_window_minutes=60"], spec, protocol, 12_000, 3,
                                                         [6.0, 24.0])
    assert window_protocol.elapsed_window_minutes == 60.0 and window_protocol.elapsed_window_s == 3600
    assert window_protocol.waiting_hours == [6.0, 24.0]
    simulator = window_spec.simulator
    assert (simulator.rows, simulator.seed, simulator.conversion_rate, simulator.slow_share, simulator.slow_mean_hours,
            simulator.signal_strength, simulator.sweep_strengths) == (12_000, 3, 0.1, 0.5, 8.0, 1.0, [])
    assert window_spec.item_field is None and window_spec.batch_size == 64 and window_spec.input == "calibration/table"

    rate_spec, rate_protocol = sweep.regime_settings(points["conversion_rate=0.02"], spec, protocol, 12_000, 3, [24.0])
    assert rate_spec.simulator.conversion_rate == 0.02 and rate_protocol.elapsed_window_minutes == 15.0
    strong_spec, _ = sweep.regime_settings(points["signal_strength=8"], spec, protocol, 12_000, 3, [24.0])
    assert strong_spec.simulator.all_strengths == [8.0]
    short_spec, _ = sweep.regime_settings(points["campaign_life_days=1"], spec, protocol, 12_000, 3, [24.0])
    assert (short_spec.simulator.campaign_life_days, short_spec.simulator.campaign_effect_scale) == (1.0, 0.6)
    # the simulator's calibration: fast weight 1 - 0.5, slow mean 8 h, conversion rate 2%
    calibration = build.regime(taobao_like_calibration(), rate_spec.simulator)
    assert (calibration.conversion_rate, calibration.fast_weight, calibration.slow_mean_s) == (0.02, 0.5, 8 * HOUR)
    assert calibration.fast_mean_s == taobao_like_calibration().fast_mean_s  # not swept


@pytest.fixture(scope="module")
def tiny_sweep(tmp_path_factory):
    """Two points (base, conversion rate 20%) x 2 seeds of 1e4 clicks over 3 days, a 6-slot stream."""
    torch.set_num_threads(1)
    params = SweepParams(rows=10_000, seeds=[0, 1], methods=["oracle", "vanilla", "waiting", "esdfm", "pcaw", "pcaw_oracle"],
                         base=RegimeParams(**BASE), waiting_hours=[2.0],
                         factors=SweepFactors(conversion_rate=[0.1, 0.2], elapsed_window_minutes=[15.0],
                                              slow_share=[0.5], signal_strength=[1.0], campaign_effect_scale=[0.6],
                                              campaign_life_days=[3.0]))
    spec = DatasetSpec("simulator", "unused", batch_size=128, simulator=SimulatorParams(rows=10_000, days=3.0))
    protocol = ProtocolParams(stream_start_hours=30.0, stream_hours=7.0, waiting_hours=[1.0])
    model = ModelParams(hash_bits=8, hidden=[8], aux_hidden=[4])
    result = sweep.run_sweep(params, taobao_like_calibration(), spec, protocol, model, TrainParams(aux_epochs=2),
                             workers=2)
    path = tmp_path_factory.mktemp("sweep") / "sweep.json"
    path.write_text(json.dumps(result.to_json()))
    return path


def test_tiny_sweep_writes_the_schema_the_figure_reads(tiny_sweep):
    payload = figures.load_sweep(tiny_sweep)
    assert payload["layout"] == "regime_sweep" and payload["seeds"] == [0, 1] and payload["reference"] == "esdfm"
    assert set(payload["points"]) == {"base", "conversion_rate=0.2"}
    assert payload["factors"]["conversion_rate"] == {"values": [0.1, 0.2], "points": ["base", "conversion_rate=0.2"]}
    assert payload["methods"] == ["oracle", "vanilla", "waiting_2h", "esdfm", "pcaw", "pcaw_oracle"]
    for point in payload["points"].values():
        assert 0 <= point["fake_negative_share"]["mean"] < 1 and len(point["fake_negative_share"]["values"]) == 2
        ceiling = point["paired"]["esdfm"]["pcaw_oracle"]["auc"]
        by_hand = [a - b for a, b in zip(point["summary"]["pcaw_oracle"]["auc"]["values"],
                                         point["summary"]["esdfm"]["auc"]["values"], strict=True)]
        assert ceiling["values"] == pytest.approx(by_hand)
        for method in payload["methods"]:
            for metric in ("auc", "pr_auc", "nll", "calibration_bias"):
                assert all(math.isfinite(v) for v in point["summary"][method][metric]["values"])
    # the regime reached the stream: a doubled conversion rate, more test conversions
    rates = [payload["points"][name]["test_conversion_rate"]["mean"] for name in ("base", "conversion_rate=0.2")]
    assert rates[1] > 1.5 * rates[0]
    setup()
    figure = figures.sweep_figure(payload)
    assert len(figure.axes) == 2 * 4  # one panel per C5 factor, each with its fake-negative axis behind
    assert len(figures.drift_figure(payload).axes) == 2  # one panel per drift factor


def test_sweep_result_round_trips_its_json(tiny_sweep):
    payload = json.loads(tiny_sweep.read_text())
    assert "wall_s" not in payload  # the stage adds it
    result = SweepResult.from_json(payload)
    assert result.to_json() == payload and result.points["base"].regime == payload["points"]["base"]["regime"]
    result.wall_s = 12.5
    timed = result.to_json()
    assert timed["wall_s"] == 12.5 and SweepResult.from_json(timed).to_json() == timed


def _stats(mean: float, half: float) -> dict:
    return {"mean": mean, "std": half, "n": 3, "ci95": [mean - half, mean + half], "values": [mean] * 3}


def test_figure_renders_from_a_hand_made_sweep_json(tmp_path):
    base = {"conversion_rate": 0.1, "elapsed_window_minutes": 15.0, "slow_share": 0.5, "signal_strength": 1.0,
            "slow_mean_hours": 8.0}
    factors = {"conversion_rate": [0.01, 0.1, 0.2], "elapsed_window_minutes": [5.0, 15.0, 60.0],
               "slow_share": [0.8, 0.5], "signal_strength": [0.0, 1.0, 8.0]}
    points, factor_points = {}, {}
    for factor, values in factors.items():
        names = ["base" if value == base[factor] else f"{factor}={value:g}" for value in values]
        factor_points[factor] = {"values": values, "points": names}
        for rank, name in enumerate(names):
            points[name] = {"fake_negative_share": _stats(0.02 + 0.05 * rank, 0.01),
                            "paired": {"esdfm": {"pcaw": {"auc": _stats(0.001 * rank, 0.002)},
                                                 "pcaw_oracle": {"auc": _stats(0.003 * rank, 0.001)}}}}
    path = tmp_path / "sweep.json"
    path.write_text(json.dumps({"layout": "regime_sweep", "seeds": [0, 1, 2], "rows": 40_000, "reference": "esdfm",
                                "base": base, "factors": factor_points, "points": points}))
    setup()
    out = save_png(figures.sweep_figure(figures.load_sweep(path)), tmp_path / "c5_regime_sweep.png")
    data = out.read_bytes()
    assert data.startswith(PNG) and len(data) > 20_000


def test_claim_rules_skip_the_sweep_file(tmp_path):
    (tmp_path / "delayed").mkdir()
    (tmp_path / "delayed" / "sweep.json").write_text(json.dumps({"layout": "regime_sweep", "points": {}}))
    (tmp_path / "delayed" / "sim.json").write_text(json.dumps(
        {"technique": "delayed", "dataset": "sim", "data_kind": "simulated", "seeds": [0],
         "summary": {"esdfm": {"auc": mean_ci([0.7])}}}))
    assert [f.dataset for f in load_metrics(tmp_path)] == ["sim"]
