"""The streaming protocol of ES-DFM (Yang et al., AAAI 2021), over a conversion table.

Time is cut into slots of ``slot_s`` seconds aligned to the table's origin (a midnight).

* **Pretraining** at ``T0`` (``stream_start_hours`` after the origin) uses the clicks whose label
  is final by then, ``click_ts + W <= T0`` (W the attribution window), with their true labels.
* **Step k** (``k = 0 .. steps-1``) happens at ``T_{k+1} = T0 + (k+1) slot``: each method trains one
  pass on its events *ingested* in ``[T_k, T_{k+1})`` and is then tested on the clicks of the next
  slot ``[T_{k+1}, T_{k+2})`` with their true labels. The last test slot ends by the log's horizon
  minus W, so every test label is final.

A method's *ingestion strategy* decides when a click (or a copy of it) enters the stream and with
which label; a label is always the one observable at the ingestion time ``t``: ``1`` iff the
conversion happened at or before ``t``. Only the oracle reads the future (the true label), by design.
Pre-conversion signals of an event are those of its click with ``ts <= t``. So no strategy but the
oracle ever sees a label, or a signal, before it happened (``check_no_leak`` verifies it).

Strategies (times in seconds; ``end(t)`` is the end of ``t``'s slot):

* ``at_slot_end`` (vanilla, FSIW, pre-conversion-aware): every click at ``end(click) - 1``, i.e.
  "what has been observed by the slot's end"; elapsed time ``e = end(click) - 1 - click_ts``.
* ``oracle``: as ``at_slot_end`` but with the true label.
* ``waiting`` (waiting-N): at ``end(click) - 1 + N``, so each step trains on clicks N old.
* ``fake_negative`` (FNW, Ktena et al. 2019): a negative at the click, a positive at the conversion.
* ``elapsed_window`` (ES-DFM): at ``click + c`` with the label seen then; a conversion later than
  ``c`` enters again as a positive at the conversion.
* ``real_negatives`` (DEFER, Gu et al. 2021): as ES-DFM, plus a duplicate of every other click:
  a positive copy of an in-window conversion at ``click + c``, a negative copy of a real negative
  at ``click + W``; every click then enters exactly twice.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from recsys_challenges.delayed.config import ProtocolParams
from recsys_challenges.delayed.conversions import NEVER, ClickBatch, SignalBatch, iter_clicks, iter_signals
from recsys_challenges.errors import ConfigError


@dataclass(frozen=True)
class Timeline:
    """Slots, the stream's start ``T0`` and its number of steps (see the module docstring)."""

    origin_ts: int
    slot_s: int
    window_s: int
    start_ts: int
    steps: int

    def slot_end(self, ts: np.ndarray) -> np.ndarray:
        """End (exclusive) of the slot holding each timestamp."""
        return self.origin_ts + ((np.asarray(ts, dtype=np.int64) - self.origin_ts) // self.slot_s + 1) * self.slot_s

    def slot_index(self, ts: np.ndarray) -> np.ndarray:
        return (np.asarray(ts, dtype=np.int64) - self.origin_ts) // self.slot_s

    def step_of(self, ingest_ts: np.ndarray) -> np.ndarray:
        """Training step whose ingestion interval ``[T_k, T_{k+1})`` holds each time (may be < 0 or >= steps)."""
        return (np.asarray(ingest_ts, dtype=np.int64) - self.start_ts) // self.slot_s

    @property
    def pretrain_end_ts(self) -> int:
        """Clicks strictly before this are mature at ``T0``."""
        return self.start_ts - self.window_s

    @property
    def end_ts(self) -> int:
        """End of the last test slot."""
        return self.start_ts + (self.steps + 1) * self.slot_s


def make_timeline(meta: dict[str, Any], protocol: ProtocolParams) -> Timeline:
    """The protocol's timeline on a conversion table (``meta``), or a ConfigError if it does not fit."""
    slot, window, origin = protocol.slot_s, int(meta["window_s"]), int(meta["origin_ts"])
    if protocol.stream_start_s % slot:
        raise ConfigError(f"delayed.protocol.stream_start_hours must be a multiple of slot_hours ({protocol.slot_hours})")
    start = origin + protocol.stream_start_s
    if start - window <= origin:
        raise ConfigError(f"delayed.protocol.stream_start_hours ({protocol.stream_start_hours}) leaves no mature "
                          f"click to pretrain on: it must exceed the window ({window / 3600:g} h)")
    latest_end = int(meta["horizon_ts"]) - window
    end = latest_end if protocol.stream_hours is None else start + int(round(protocol.stream_hours * 3600))
    if end > latest_end:
        raise ConfigError(f"delayed.protocol.stream_hours: the stream would end {(end - latest_end) / 3600:g} h after "
                          f"the last click whose label is final (horizon minus the window)")
    steps = (end - start) // slot - 1
    if steps < 1:
        raise ConfigError(f"the log is too short for one step: stream start {protocol.stream_start_hours} h, "
                          f"window {window / 3600:g} h, log {(int(meta['horizon_ts']) - origin) / 3600:g} h")
    return Timeline(origin, slot, window, start, int(steps))


@dataclass
class Ingested:
    """Events of a strategy: ``click`` (index into the strategy's input), ``ingest_ts``, observed ``label``."""

    click: np.ndarray
    ingest_ts: np.ndarray
    label: np.ndarray


Strategy = Callable[[np.ndarray, np.ndarray, Timeline], Ingested]


def _events(*parts: tuple[np.ndarray, np.ndarray, np.ndarray]) -> Ingested:
    click, ingest, label = (np.concatenate(x) for x in zip(*parts, strict=True))
    return Ingested(click.astype(np.int64), ingest.astype(np.int64), label.astype(np.float32))


def _observed(conversion_ts: np.ndarray, at: np.ndarray) -> np.ndarray:
    return conversion_ts <= at


def at_slot_end(click_ts: np.ndarray, conversion_ts: np.ndarray, timeline: Timeline) -> Ingested:
    """Every click at the last second of its slot, with the label observed then."""
    at = timeline.slot_end(click_ts) - 1
    return _events((np.arange(click_ts.size), at, _observed(conversion_ts, at)))


def oracle(click_ts: np.ndarray, conversion_ts: np.ndarray, timeline: Timeline) -> Ingested:
    """Every click at the last second of its slot with its TRUE label (reads the future, by design)."""
    at = timeline.slot_end(click_ts) - 1
    return _events((np.arange(click_ts.size), at, conversion_ts != NEVER))


def waiting(click_ts: np.ndarray, conversion_ts: np.ndarray, timeline: Timeline, wait_s: int) -> Ingested:
    """Every click ``wait_s`` after the end of its slot, with the label observed then."""
    at = timeline.slot_end(click_ts) - 1 + wait_s
    return _events((np.arange(click_ts.size), at, _observed(conversion_ts, at)))


def fake_negative(click_ts: np.ndarray, conversion_ts: np.ndarray, timeline: Timeline) -> Ingested:
    """FNW/FNC: a negative at the click; a positive copy at the conversion."""
    index = np.arange(click_ts.size)
    converted = conversion_ts != NEVER
    return _events((index, click_ts, np.zeros(click_ts.size)),
                   (index[converted], conversion_ts[converted], np.ones(int(converted.sum()))))


def elapsed_window(click_ts: np.ndarray, conversion_ts: np.ndarray, timeline: Timeline, elapsed_s: int) -> Ingested:
    """ES-DFM: at ``click + c`` with the label seen then; delayed positives again at their conversion."""
    index = np.arange(click_ts.size)
    at = click_ts + elapsed_s
    in_window = _observed(conversion_ts, at)
    delayed = (conversion_ts != NEVER) & ~in_window
    return _events((index, at, in_window), (index[delayed], conversion_ts[delayed], np.ones(int(delayed.sum()))))


def real_negatives(click_ts: np.ndarray, conversion_ts: np.ndarray, timeline: Timeline, elapsed_s: int) -> Ingested:
    """DEFER: ES-DFM's events plus a copy of in-window positives (at ``click + c``) and of real
    negatives (at ``click + W``, when they are known to be negative)."""
    index = np.arange(click_ts.size)
    at = click_ts + elapsed_s
    in_window = _observed(conversion_ts, at)
    delayed = (conversion_ts != NEVER) & ~in_window
    negative = conversion_ts == NEVER
    return _events(
        (index, at, in_window),
        (index[delayed], conversion_ts[delayed], np.ones(int(delayed.sum()))),
        (index[in_window], at[in_window], np.ones(int(in_window.sum()))),
        (index[negative], click_ts[negative] + timeline.window_s, np.zeros(int(negative.sum()))),
    )


def signal_counts(signals: SignalBatch, click_id: np.ndarray, at_ts: np.ndarray, base_ts: int, kinds: int) -> np.ndarray:
    """``(n, kinds)`` float32: signals of each kind of click ``click_id[i]`` with ``ts <= at_ts[i]``.

    ``signals`` must be sorted by ``(click_id, ts)``; ``base_ts <= min(at_ts)`` and every time
    within ``2**31`` s of it (the search key packs ``(click_id, ts - base_ts)`` into one int64).
    """
    counts = np.zeros((click_id.size, kinds), dtype=np.float32)
    query_low = click_id.astype(np.int64) << 31
    query_high = query_low | (np.asarray(at_ts, dtype=np.int64) - base_ts).clip(0)
    for code in range(kinds):
        of_kind = signals.kind == code
        offsets = (signals.ts[of_kind] - base_ts).clip(0)
        keys = (signals.click_id[of_kind] << 31) | offsets
        counts[:, code] = np.searchsorted(keys, query_high, side="right") - np.searchsorted(keys, query_low, side="left")
    return counts


@dataclass
class EventBatch:
    """Training events of one method in one step: the events' clicks (features, times, true labels),
    when they were ingested, the label they carry, and the signal counts observed at ingestion."""

    clicks: ClickBatch
    ingest_ts: np.ndarray
    label: np.ndarray
    signals: np.ndarray

    def __len__(self) -> int:
        return int(self.label.size)

    @staticmethod
    def concat(batches: list[EventBatch]) -> EventBatch:
        return EventBatch(ClickBatch.concat([b.clicks for b in batches]),
                          *(np.concatenate([getattr(b, n) for b in batches]) for n in ("ingest_ts", "label", "signals")))


@dataclass(frozen=True)
class Line:
    """How one method sees the stream: its ingestion strategy and its view of the signals."""

    strategy: Strategy
    signal_filter: Callable[[SignalBatch], SignalBatch] | None = None


@dataclass
class Pretraining:
    """Clicks mature at ``T0`` (true labels) and all their signals."""

    clicks: ClickBatch
    signals: SignalBatch


@dataclass
class Step:
    """Step ``index``: each line's training events, then the next slot's clicks to test on."""

    index: int
    events: dict[str, EventBatch]
    test: ClickBatch


def _empty_signals() -> SignalBatch:
    return SignalBatch(np.zeros(0, np.int64), np.zeros(0, np.int8), np.zeros(0, np.int64), None)


def _concat_signals(batches: list[SignalBatch]) -> SignalBatch:
    batches = [b for b in batches if b.click_id.size] or [_empty_signals()]
    mark = None if any(b.mark is None for b in batches) else np.concatenate([b.mark for b in batches])
    return SignalBatch(*(np.concatenate([getattr(b, n) for b in batches]) for n in ("click_id", "kind", "ts")), mark)


class _SignalCursor:
    """Hands out a table's signals click by click, reading the (click_id-sorted) file lazily."""

    def __init__(self, batches: Iterator[SignalBatch]) -> None:
        self.batches, self.buffer, self.done = batches, _empty_signals(), False

    def until(self, last_click_id: int) -> SignalBatch:
        """The not-yet-returned signals of clicks with ``click_id <= last_click_id``."""
        while not self.done and (self.buffer.click_id.size == 0 or self.buffer.click_id[-1] <= last_click_id):
            batch = next(self.batches, None)
            if batch is None:
                self.done = True
            else:
                self.buffer = _concat_signals([self.buffer, batch])
        split = int(np.searchsorted(self.buffer.click_id, last_click_id, side="right"))
        taken, self.buffer = self.buffer.take(slice(0, split)), self.buffer.take(slice(split, None))
        return taken


def iter_slot_blocks(folder: Path, timeline: Timeline, batch_rows: int = 262_144) -> Iterator[tuple[int, ClickBatch, SignalBatch]]:
    """``(slot, clicks, signals)`` for every slot from the origin to the last test slot, in order
    (empty slots included). Reads the table in batches: memory holds one slot plus one read batch."""
    last_slot = int(timeline.slot_index(np.array(timeline.end_ts - 1)))
    cursor = _SignalCursor(iter_signals(folder, batch_rows))
    next_slot = 0
    buffer: ClickBatch | None = None

    def emit(clicks: ClickBatch, stop_slot: int) -> Iterator[tuple[int, ClickBatch, SignalBatch]]:
        nonlocal next_slot
        slots = timeline.slot_index(clicks.click_ts)
        while next_slot < min(stop_slot, last_slot + 1):
            low, high = np.searchsorted(slots, [next_slot, next_slot + 1])
            block = clicks.take(slice(int(low), int(high)))
            yield next_slot, block, cursor.until(int(block.click_id[-1])) if len(block) else _empty_signals()
            next_slot += 1

    for batch in iter_clicks(folder, batch_rows):
        clicks = batch if buffer is None else ClickBatch.concat([buffer, batch])
        if np.any(np.diff(clicks.click_ts) < 0):
            raise ValueError(f"{folder}: clicks are not sorted by time")
        newest = int(timeline.slot_index(clicks.click_ts[-1:])[0])  # may continue in the next batch
        yield from emit(clicks, newest)
        buffer = clicks.take(slice(int(np.searchsorted(timeline.slot_index(clicks.click_ts), next_slot)), None))
        if next_slot > last_slot:
            return
    if buffer is not None:
        yield from emit(buffer, last_slot + 1)


def protocol(folder: Path, timeline: Timeline, lines: dict[str, Line], kinds: int) -> Iterator[Pretraining | Step]:
    """Run the protocol over a conversion table: yield the :class:`Pretraining` data, then every :class:`Step`.

    Each slot's clicks are turned into every line's events as soon as the slot is read; the
    events wait, bucketed by training step, until their step. Memory holds the events of at
    most ``W`` (plus one slot) of clicks, whatever the size of the table.
    """
    pretrain_slot = int(timeline.slot_index(np.array(timeline.pretrain_end_ts)))
    first_test_slot = int(timeline.slot_index(np.array(timeline.start_ts))) + 1
    pretrain_clicks: list[ClickBatch] = []
    pretrain_signals: list[SignalBatch] = []
    pending: dict[str, dict[int, list[EventBatch]]] = {name: defaultdict(list) for name in lines}
    pretrained = False
    for slot, clicks, signals in iter_slot_blocks(folder, timeline):
        if slot < pretrain_slot:
            pretrain_clicks.append(clicks)
            pretrain_signals.append(signals)
            continue
        if not pretrained:
            mature = ClickBatch.concat(pretrain_clicks + [clicks])  # this slot may straddle T0 - W
            yield Pretraining(mature.take(mature.click_ts < timeline.pretrain_end_ts),
                              _concat_signals(pretrain_signals + [signals]))
            pretrain_clicks, pretrain_signals, pretrained = [], [], True
        for name, line in lines.items():
            _ingest(name, line, clicks, signals, timeline, kinds, pending[name])
        if slot >= first_test_slot:
            step = slot - first_test_slot
            events = {name: _take_step(pending[name], step, clicks, kinds) for name in lines}
            yield Step(step, events, clicks)


def _ingest(name: str, line: Line, clicks: ClickBatch, signals: SignalBatch, timeline: Timeline, kinds: int,
            pending: dict[int, list[EventBatch]]) -> None:
    if not len(clicks):
        return
    ingested = line.strategy(clicks.click_ts, clicks.conversion_ts, timeline)
    steps = timeline.step_of(ingested.ingest_ts)
    keep = (steps >= 0) & (steps < timeline.steps)
    if not keep.any():
        return
    index, at, label, steps = ingested.click[keep], ingested.ingest_ts[keep], ingested.label[keep], steps[keep]
    seen = signals if line.signal_filter is None else line.signal_filter(signals)
    counts = signal_counts(seen, clicks.click_id[index], at, int(clicks.click_ts[0]), kinds)
    order = np.argsort(steps, kind="stable")
    bounds = np.flatnonzero(np.diff(steps[order])) + 1
    for part in np.split(order, bounds):
        pending[int(steps[part[0]])].append(EventBatch(clicks.take(index[part]), at[part], label[part], counts[part]))


def _take_step(pending: dict[int, list[EventBatch]], step: int, like: ClickBatch, kinds: int) -> EventBatch:
    batches = pending.pop(step, [])
    if batches:
        return EventBatch.concat(batches)
    return EventBatch(like.take(slice(0, 0)), np.zeros(0, np.int64), np.zeros(0, np.float32), np.zeros((0, kinds), np.float32))


def check_no_leak(step: Step, timeline: Timeline, signals_of: Callable[[str], SignalBatch], kinds: int,
                  exempt: tuple[str, ...] = ("oracle",)) -> None:
    """Raise AssertionError if any event of ``step`` knows something that had not happened at its ingestion.

    Checks, for every line not in ``exempt``: ingestion inside the step's interval and not before
    the click; the label equals "converted at or before ingestion"; the signal counts equal a
    recount of ``signals_of(name)`` restricted to ``ts <= ingestion``; test clicks lie in the next slot.
    """
    low = timeline.start_ts + step.index * timeline.slot_s
    high = low + timeline.slot_s
    assert np.all((step.test.click_ts >= high) & (step.test.click_ts < high + timeline.slot_s)), "test outside the next slot"
    for name, events in step.events.items():
        if name in exempt or not len(events):
            continue
        assert np.all((events.ingest_ts >= low) & (events.ingest_ts < high)), f"{name}: event outside its step"
        assert np.all(events.ingest_ts >= events.clicks.click_ts), f"{name}: event before its click"
        observed = events.clicks.conversion_ts <= events.ingest_ts
        assert np.array_equal(events.label > 0.5, observed), f"{name}: a label not observable at ingestion"
        signals = signals_of(name)
        recount = np.zeros((len(events), kinds), dtype=np.float32)
        for i, (click_id, at) in enumerate(zip(events.clicks.click_id, events.ingest_ts, strict=True)):
            visible = (signals.click_id == click_id) & (signals.ts <= at)
            recount[i] = np.bincount(signals.kind[visible].astype(np.int64), minlength=kinds)[:kinds]
        assert np.array_equal(recount, events.signals), f"{name}: signal counts include signals after ingestion"
