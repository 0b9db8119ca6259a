"""The streaming protocol: ingestion strategies by hand, signal counts, slot reading, and no leakage."""

from __future__ import annotations

from functools import partial

import numpy as np
import pytest

from recsys_challenges.delayed import conversions, stream
from recsys_challenges.delayed.config import ProtocolParams
from recsys_challenges.delayed.conversions import NEVER, SignalBatch
from recsys_challenges.errors import ConfigError

# slots of 1 h from 0, window W = 2 h, stream from 3 h; log of 10 h
TIMELINE = stream.Timeline(origin_ts=0, slot_s=3600, window_s=7200, start_ts=10800, steps=4)
# click 0 at 100 s never converts; click 1 at 3000 s converts at 3500 (within c = 600 s);
# click 2 at 4000 s converts at 5000 (after c)
CLICK_TS = np.array([100, 3000, 4000])
CONVERSION_TS = np.array([NEVER, 3500, 5000])


def events(ingested: stream.Ingested) -> set[tuple[int, int, float]]:
    return set(zip(ingested.click.tolist(), ingested.ingest_ts.tolist(), ingested.label.tolist(), strict=True))


def test_make_timeline():
    meta = {"window_s": 7200, "origin_ts": 0, "horizon_ts": 36000}
    timeline = stream.make_timeline(meta, ProtocolParams(slot_hours=1, stream_start_hours=3))
    # labels final until 10 h - 2 h = 8 h; steps train at 4..8 h and test up to 8 h: (8 - 3) - 1 = 4
    assert timeline == TIMELINE
    with pytest.raises(ConfigError, match="no mature"):
        stream.make_timeline(meta, ProtocolParams(slot_hours=1, stream_start_hours=2))
    with pytest.raises(ConfigError, match="multiple of slot_hours"):
        stream.make_timeline(meta, ProtocolParams(slot_hours=2, stream_start_hours=3))
    with pytest.raises(ConfigError, match="final"):
        stream.make_timeline(meta, ProtocolParams(slot_hours=1, stream_start_hours=3, stream_hours=6))


def test_slot_end_strategies():
    # slot ends - 1: 3599, 3599, 7199; labels observed then: never, 3500 <= 3599, 5000 <= 7199
    assert events(stream.at_slot_end(CLICK_TS, CONVERSION_TS, TIMELINE)) == {(0, 3599, 0), (1, 3599, 1), (2, 7199, 1)}
    assert events(stream.oracle(CLICK_TS, CONVERSION_TS, TIMELINE)) == {(0, 3599, 0), (1, 3599, 1), (2, 7199, 1)}
    # waiting 1 h: one slot later
    assert events(stream.waiting(CLICK_TS, CONVERSION_TS, TIMELINE, wait_s=3600)) == {
        (0, 7199, 0), (1, 7199, 1), (2, 10799, 1)}


def test_slot_end_label_is_what_was_observed():
    # a click at 3000 converting at 4000 (next slot) is a negative at the end of its slot; the oracle knows better
    late = np.array([4000])
    assert events(stream.at_slot_end(np.array([3000]), late, TIMELINE)) == {(0, 3599, 0)}
    assert events(stream.oracle(np.array([3000]), late, TIMELINE)) == {(0, 3599, 1)}


def test_fake_negative():
    assert events(stream.fake_negative(CLICK_TS, CONVERSION_TS, TIMELINE)) == {
        (0, 100, 0), (1, 3000, 0), (2, 4000, 0), (1, 3500, 1), (2, 5000, 1)}


def test_elapsed_window_and_real_negatives():
    # at click + 600: 700 (no conversion), 3600 (converted at 3500), 4600 (not yet); click 2 again at 5000
    esdfm = {(0, 700, 0), (1, 3600, 1), (2, 4600, 0), (2, 5000, 1)}
    assert events(stream.elapsed_window(CLICK_TS, CONVERSION_TS, TIMELINE, elapsed_s=600)) == esdfm
    # DEFER adds a copy of the in-window positive (click 1 at 3600) and of the real negative at
    # click + W = 7300; every click then enters twice
    defer = stream.real_negatives(CLICK_TS, CONVERSION_TS, TIMELINE, elapsed_s=600)
    assert sorted(defer.click.tolist()) == [0, 0, 1, 1, 2, 2]
    assert events(defer) == esdfm | {(0, 7300, 0)}


def test_signal_counts_only_up_to_the_time():
    # click 5: view at 10, cart at 15, view at 20 (sorted by click, time)
    signals = SignalBatch(np.array([5, 5, 5]), np.array([0, 1, 0], np.int8), np.array([10, 15, 20]), None)
    counts = stream.signal_counts(signals, np.array([5, 5, 5, 6]), np.array([9, 15, 100, 100]), base_ts=0, kinds=3)
    assert counts.tolist() == [[0, 0, 0], [1, 1, 0], [2, 1, 0], [0, 0, 0]]


def test_slot_blocks_cover_every_click_once_whatever_the_read_size(sim_table):
    meta = conversions.read_meta(sim_table)
    timeline = stream.make_timeline(meta, ProtocolParams(stream_hours=None))

    def read(batch_rows: int) -> list[tuple[int, list[int], list[int]]]:
        return [(slot, clicks.click_id.tolist(), signals.click_id.tolist())
                for slot, clicks, signals in stream.iter_slot_blocks(sim_table, timeline, batch_rows)]

    small, large = read(997), read(1 << 20)
    assert small == large
    assert [slot for slot, _, _ in small] == list(range(len(small)))
    ids = [i for _, clicks, _ in small for i in clicks]
    assert ids == list(range(len(ids)))  # every click once, in order
    for _, clicks, signal_clicks in small:
        assert set(signal_clicks) <= set(clicks)  # a slot's signals belong to its clicks
    for slot, clicks, _ in stream.iter_slot_blocks(sim_table, timeline, 997):
        assert np.all(timeline.slot_index(clicks.click_ts) == slot)


def _lines() -> dict[str, stream.Line]:
    return {
        "oracle": stream.Line(stream.oracle),
        "vanilla": stream.Line(stream.at_slot_end),
        "waiting": stream.Line(partial(stream.waiting, wait_s=3 * 3600)),
        "fnw": stream.Line(stream.fake_negative),
        "esdfm": stream.Line(partial(stream.elapsed_window, elapsed_s=900)),
        "defer": stream.Line(partial(stream.real_negatives, elapsed_s=900)),
    }


def test_protocol_never_shows_a_label_or_signal_before_it_happened(sim_table):
    meta = conversions.read_meta(sim_table)
    timeline = stream.make_timeline(meta, ProtocolParams())
    signals = conversions.load_table(sim_table).signals
    all_signals = SignalBatch(signals["click_id"].to_numpy(), signals["kind"].to_numpy(), signals["ts"].to_numpy(), None)
    steps = stream.protocol(sim_table, timeline, _lines(), kinds=3)
    pretraining = next(steps)
    assert np.all(pretraining.clicks.click_ts + timeline.window_s <= timeline.start_ts)  # mature at T0
    leaks_found = 0
    for step in steps:
        stream.check_no_leak(step, timeline, lambda name: all_signals, kinds=3)
        try:  # the oracle reads the future by design: the same check must catch it
            stream.check_no_leak(step, timeline, lambda name: all_signals, kinds=3, exempt=())
        except AssertionError as error:
            assert "oracle" in str(error)
            leaks_found += 1
    assert leaks_found > 0


def test_protocol_events_carry_every_click_of_the_stream_once(sim_table):
    meta = conversions.read_meta(sim_table)
    timeline = stream.make_timeline(meta, ProtocolParams())
    steps = stream.protocol(sim_table, timeline, _lines(), kinds=3)
    next(steps)
    seen: dict[str, list[int]] = {name: [] for name in _lines()}
    tested: list[int] = []
    for step in steps:
        for name, batch in step.events.items():
            seen[name] += batch.clicks.click_id.tolist()
        tested += step.test.click_id.tolist()
    clicks = conversions.load_table(sim_table).clicks
    train_end = timeline.start_ts + timeline.steps * timeline.slot_s
    in_training_slots = clicks[(clicks["click_ts"] >= timeline.start_ts) & (clicks["click_ts"] < train_end)]
    in_test_slots = clicks[(clicks["click_ts"] >= timeline.start_ts + timeline.slot_s)
                           & (clicks["click_ts"] < timeline.end_ts)]
    # vanilla trains once on every click of the training slots; the tests are the next slots' clicks
    assert sorted(seen["vanilla"]) == in_training_slots["click_id"].tolist()
    assert sorted(tested) == in_test_slots["click_id"].tolist()
    # DEFER ingests every click twice, so never more than twice within the stream
    assert np.bincount(np.array(seen["defer"])).max() == 2
