"""On simulated data, where the truth is known: importance weighting recovers the oracle's estimate
of the average conversion rate, while vanilla (current labels, no weights) is biased low.

The estimator is the intercept-only model: minimising the weighted BCE over a method's stream
events gives ``p = sum_i w_i c_i / sum_i w_i``. The probabilities in the weights are population
rates measured on the pretraining clicks (mature at T0) of a stationary stream, so the test checks
the ingestion strategies and the weight formulas together, without the noise of learned models.
"""

from __future__ import annotations

from functools import partial

import numpy as np
import pytest
import torch

from recsys_challenges.delayed import conversions, stream
from recsys_challenges.delayed import weights as w
from recsys_challenges.delayed.build import write_simulation
from recsys_challenges.delayed.config import ProtocolParams
from recsys_challenges.delayed.conversions import NEVER
from tests.delayed.conftest import small_simulator

ELAPSED = 900
MAX_WEIGHT = 50.0


@pytest.fixture(scope="module")
def stream_events(tmp_path_factory):
    folder = tmp_path_factory.mktemp("recovery")
    # stationary world (campaigns outlive the log): rates measured on the pretraining clicks hold later
    simulator = small_simulator(rows=200_000, days=7.0, chunk_rows=50_000, strengths=(4.0,), campaign_life_days=30.0)
    write_simulation(simulator, folder, {})
    meta = conversions.read_meta(folder)
    timeline = stream.make_timeline(meta, ProtocolParams())
    lines = {
        "oracle": stream.Line(stream.oracle),
        "vanilla": stream.Line(stream.at_slot_end),
        "fnw": stream.Line(stream.fake_negative),
        "window": stream.Line(partial(stream.elapsed_window, elapsed_s=ELAPSED)),
        "defer": stream.Line(partial(stream.real_negatives, elapsed_s=ELAPSED)),
    }
    steps = stream.protocol(folder, timeline, lines, kinds=3)
    pretraining = next(steps)
    collected = {name: [] for name in lines}
    for step in steps:
        for name, events in step.events.items():
            collected[name].append(events)
    return pretraining, {name: stream.EventBatch.concat(batches) for name, batches in collected.items()}


def estimate(events: stream.EventBatch, weights: torch.Tensor) -> float:
    labels = torch.from_numpy(events.label.astype(np.float64))
    return float((weights.double() * labels).sum() / weights.double().sum())


def fixed_point(events: stream.EventBatch, weigh) -> float:
    """FNW and DEFER weigh with the model's own prediction: iterate ``p <- estimate(weights(p))``."""
    p = 0.5
    for _ in range(200):
        p = estimate(events, weigh(torch.full((len(events),), p)))
    return p


def test_weighting_recovers_the_oracle_rate_and_vanilla_is_biased_low(stream_events):
    pretraining, events = stream_events
    mature = pretraining.clicks
    positive = mature.conversion_ts != NEVER
    delay = (mature.conversion_ts - mature.click_ts)[positive]
    observed = lambda name: torch.from_numpy(events[name].label)  # noqa: E731

    oracle = estimate(events["oracle"], w.unit_weights(observed("oracle")))
    vanilla = estimate(events["vanilla"], w.unit_weights(observed("vanilla")))
    truth = float((events["oracle"].clicks.conversion_ts != NEVER).mean())
    assert oracle == pytest.approx(truth)

    # FSIW on the slot-end events: completion(e) and real_negative(e) measured on the pretraining clicks
    vanilla_events = events["vanilla"]
    elapsed = vanilla_events.ingest_ts - vanilla_events.clicks.click_ts
    completion = np.searchsorted(np.sort(delay), elapsed, side="right") / delay.size  # P(delay <= e | y=1)
    negatives = (~positive).sum()
    later = delay.size - np.searchsorted(np.sort(delay), elapsed, side="right")
    real_negative = negatives / (negatives + later)
    fsiw = estimate(vanilla_events, w.fsiw_weights(observed("vanilla"), torch.from_numpy(completion),
                                                   torch.from_numpy(real_negative), MAX_WEIGHT))

    # ES-DFM on the elapsed-window events: p_dp and p_rn measured on the pretraining clicks
    delayed = (delay > ELAPSED).sum()
    p_dp = delayed / len(mature)
    p_rn = negatives / (negatives + delayed)
    n_window = len(events["window"])
    esdfm = estimate(events["window"], w.esdfm_weights(observed("window"), torch.full((n_window,), p_dp),
                                                       torch.full((n_window,), p_rn)))

    # pre-conversion-aware: the flip probability of an unconverted click given "a signal by c" or not
    signals = pretraining.signals
    counts = stream.signal_counts(signals, mature.click_id, mature.click_ts + ELAPSED, int(mature.click_ts.min()), 3)
    signalled = counts.sum(1) > 0
    unconverted = mature.conversion_ts > mature.click_ts + ELAPSED
    flips = {s: float(((mature.conversion_ts != NEVER) & unconverted & (signalled == s)).sum()
                      / (unconverted & (signalled == s)).sum()) for s in (False, True)}
    assert flips[True] > 3 * flips[False]  # signals make a flip likely
    window_signalled = events["window"].signals.sum(1) > 0
    p_flip = torch.from_numpy(np.where(window_signalled, flips[True], flips[False]))
    pcaw = estimate(events["window"], w.pcaw_weights(observed("window"), torch.full((n_window,), p_dp), p_flip))

    fnw = fixed_point(events["fnw"], lambda p: w.fnw_weights(observed("fnw"), p))
    n_defer = len(events["defer"])
    defer = fixed_point(events["defer"], lambda p: w.defer_weights(observed("defer"), p, torch.full((n_defer,), p_dp),
                                                                   MAX_WEIGHT))

    assert vanilla < 0.75 * oracle  # fake negatives: vanilla is biased low
    for name, value in {"fsiw": fsiw, "esdfm": esdfm, "pcaw": pcaw, "fnw": fnw, "defer": defer}.items():
        assert value == pytest.approx(oracle, rel=0.05), name
