"""Conversion tables: one row per click with its conversion time and its pre-conversion signals.

This is the input of the streaming protocol (:mod:`recsys_challenges.delayed.stream`) and of T3's
Taobao view -> buy dataset. Stage ``delayed_conversions@<dataset>`` writes one table per dataset to
``data/delayed/conversions/<dataset>/``; every builder (Taobao events, Criteo conversion logs, the
simulator of :mod:`recsys_challenges.data.simulate.conversion_stream`) writes the same schema.

Schema
------
``clicks.parquet``, one row per click, sorted by ``click_ts`` (ties by the builder's order):

* ``click_id`` int64: ``0..N-1`` in row order.
* ``click_ts`` int64: click time, Unix seconds (simulator and Criteo: seconds from their origin).
* ``conversion_ts`` nullable Int64: time of the conversion attributed to the click, i.e. the first
  conversion in ``[click_ts, click_ts + window_s)``; missing when there is none. The label of a click
  is ``conversion_ts`` not missing; it is known for certain only at ``click_ts + window_s``.
* feature columns, all known at click time: ``meta["categorical"]`` (int64 ids, hashed into
  buckets by the model) and ``meta["numeric"]`` (float32, non-negative; the model takes ``log1p``).
  Taobao: ``user_id``, ``item_id``, ``category_id`` and ``hour`` (hour of day, UTC+8);
  simulator and Criteo: ``C1``..``C9`` and ``I1``..``I8`` (+ ``hour`` for Criteo).
* ``true_probability`` float32 (simulator only): the ground truth ``P(y = 1 | x)``.
* ``true_conversion``, ``true_fast_weight`` float32 (simulator only): ``P(convert | x)`` (at any
  delay) and the weight of the fast delay component for ``x``; with the delay means of
  ``meta["calibration"]`` they give the true ``p_dp(x)`` of any elapsed window (``esdfm_true``).

``signals.parquet``, one row per pre-conversion signal, sorted by ``(click_id, ts)``:

* ``click_id`` int64, ``kind`` int8 (index into ``meta["signal_kinds"]`` = view, cart, fav),
  ``ts`` int64. Only signals in ``[click_ts, end)`` are kept, where ``end`` is the conversion time
  or ``click_ts + window_s``: what a model may know about a click that has not converted yet.
  "Signals observed by time t" are the rows with ``ts <= t`` (see ``stream.signal_counts``).
* ``mark`` float32 (simulator only): thinning mark that gives the signals of other strengths
  (``conversion_stream.keep_signals``).

``meta.json``: ``window_s``, ``origin_ts`` (the local midnight the time slots are aligned to),
``horizon_ts`` (the log ends there: a label is final only if ``click_ts + window_s <= horizon_ts``),
``categorical``, ``numeric``, ``signal_kinds``, ``data_kind`` (real/simulated/user), counts and ``stats``.

Taobao choices (builder ``taobao_events``), documented because they decide what a click is:

* A click is the first page view (``pv``) of an item by a user: one click per (user, item) pair.
  Later views of the pair are not new clicks but *repeat-view* signals.
* Its conversion is the user's first ``buy`` of that item at or after the click and before
  ``click_ts + window_s``. Buys without an earlier view, or later than the window, are ignored.
* Its signals are the user's ``cart`` and ``fav`` events on the item and the repeat views, from the
  click (the click's own view excluded) to the conversion or the end of the window.
* Features: the user, item and category ids and the hour of day of the click (UTC+8). The signal
  counts are not CVR features (they are zero at serving time, the click); they are inputs of the
  auxiliary model that predicts whether an unconverted click will still convert.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from recsys_challenges.data.schema import require_columns
from recsys_challenges.data.sources import events as taobao
from recsys_challenges.errors import DataError
from recsys_challenges.io import write_json

CONVERSIONS_ROOT = Path("data/delayed/conversions")
CLICKS_FILE = "clicks.parquet"
SIGNALS_FILE = "signals.parquet"
META_FILE = "meta.json"
SIGNAL_KINDS = ("view", "cart", "fav")
NEVER = np.iinfo(np.int64).max  # in-memory conversion time of a click that does not convert
TAOBAO_UTC_OFFSET_S = 8 * 3600
TRUTH_COLUMNS = ("true_conversion", "true_fast_weight")  # simulator ground truth besides true_probability
CRITEO_NUMERIC = [f"I{i}" for i in range(1, 9)]
CRITEO_CATEGORICAL = [f"C{i}" for i in range(1, 10)]


@dataclass
class ConversionTable:
    """A conversion table in memory (clicks and signals as in the module docstring) with its meta."""

    clicks: pd.DataFrame
    signals: pd.DataFrame
    meta: dict[str, Any]


def hour_of_day(ts: np.ndarray, origin_ts: int) -> np.ndarray:
    """Hour of day of each timestamp, counted from ``origin_ts`` (a local midnight)."""
    return ((np.asarray(ts, dtype=np.int64) - origin_ts) // 3600) % 24


def taobao_events(events: pd.DataFrame, window_s: int) -> ConversionTable:
    """Clicks, conversions and signals of a prepared Taobao UserBehavior log (choices in the module docstring).

    Args:
        events: ``user_id, item_id, category_id, behavior (pv/cart/fav/buy), timestamp``.
        window_s: attribution window in seconds.
    """
    return _from_events(events, window_s, taobao.WINDOW_START, "taobao_events", "real")


def event_log(events: pd.DataFrame, window_s: int) -> ConversionTable:
    """Clicks, conversions and signals of a user's event log prepared by the ``event_log`` parser
    (``data/sources/files.py``: its events mapped onto the Taobao behaviors), with the Taobao choices
    of the module docstring. The time slots are aligned to the UTC midnight before the first event."""
    origin = int(events["timestamp"].min()) // 86400 * 86400 if len(events) else 0
    return _from_events(events, window_s, origin, "event_log", "user")


def _from_events(events: pd.DataFrame, window_s: int, origin: int, builder: str, data_kind: str) -> ConversionTable:
    """The conversion table of an event log with Taobao's columns (``taobao_events``), slots aligned to ``origin``."""
    require_columns(events, ["user_id", "item_id", "category_id", "behavior", "timestamp"], f"{builder} events")
    if len(events) == 0:
        raise DataError(f"{builder} events: the log is empty")
    frame = events.reset_index(drop=True).assign(row=np.arange(len(events)))
    frame = frame.sort_values(["user_id", "item_id", "timestamp", "row"], kind="stable")
    views = frame[frame["behavior"] == "pv"]
    first_views = views.drop_duplicates(["user_id", "item_id"], keep="first")
    clicks = first_views.rename(columns={"timestamp": "click_ts", "row": "click_row"})[
        ["user_id", "item_id", "category_id", "click_ts", "click_row"]
    ]
    joined = frame.merge(clicks[["user_id", "item_id", "click_ts", "click_row"]], on=["user_id", "item_id"])
    inside = joined[(joined["timestamp"] >= joined["click_ts"]) & (joined["timestamp"] < joined["click_ts"] + window_s)]
    buys = inside[inside["behavior"] == "buy"].groupby(["user_id", "item_id"], sort=False)["timestamp"].min()
    clicks = clicks.merge(buys.rename("conversion_ts").reset_index(), on=["user_id", "item_id"], how="left")
    clicks = clicks.sort_values(["click_ts", "user_id", "item_id"], kind="stable").reset_index(drop=True)
    clicks.insert(0, "click_id", np.arange(len(clicks), dtype=np.int64))

    ends = clicks["conversion_ts"].fillna(clicks["click_ts"] + window_s)
    pairs = clicks[["user_id", "item_id", "click_id"]].assign(end=ends.to_numpy())
    candidates = inside[(inside["behavior"] != "buy") & (inside["row"] != inside["click_row"])]
    matched = candidates.merge(pairs, on=["user_id", "item_id"])  # each candidate with its click
    matched = matched[matched["timestamp"] < matched["end"]]
    kind_of = {"pv": 0, "cart": 1, "fav": 2}
    signals = pd.DataFrame({
        "click_id": matched["click_id"].to_numpy(np.int64),
        "kind": matched["behavior"].astype(str).map(kind_of).to_numpy(np.int8),
        "ts": matched["timestamp"].to_numpy(np.int64),
    }).sort_values(["click_id", "ts"], kind="stable").reset_index(drop=True)

    clicks = pd.DataFrame({
        "click_id": clicks["click_id"].to_numpy(np.int64),
        "click_ts": clicks["click_ts"].to_numpy(np.int64),
        "conversion_ts": clicks["conversion_ts"].astype("Int64"),
        "user_id": clicks["user_id"].to_numpy(np.int64),
        "item_id": clicks["item_id"].to_numpy(np.int64),
        "category_id": clicks["category_id"].to_numpy(np.int64),
        "hour": hour_of_day(clicks["click_ts"].to_numpy(), origin),
    })
    meta = {
        "builder": builder,
        "data_kind": data_kind,
        "window_s": int(window_s),
        "origin_ts": int(origin),
        "horizon_ts": int(frame["timestamp"].max()) + 1,
        "categorical": ["user_id", "item_id", "category_id", "hour"],
        "numeric": [],
        "signal_kinds": list(SIGNAL_KINDS),
    }
    return ConversionTable(clicks, signals, meta)


def criteo_conversion_logs(logs: pd.DataFrame, window_s: int) -> ConversionTable:
    """Clicks and conversions of the prepared Criteo conversion logs (no pre-conversion signals).

    A conversion counts if it is at most ``window_s`` after the click (the published logs attribute
    over 30 days: use ``window_hours: 720`` to keep all). Categorical values are hashed to int64
    (pandas' fixed-key hash; missing values get their own id); numeric values are clipped at 0, a
    missing one becomes 0. ``hour`` is the hour since the origin modulo 24 (the timezone is not
    published). Rows are sorted by click time.
    """
    require_columns(logs, ["click_ts", "conversion_ts", *CRITEO_NUMERIC, *CRITEO_CATEGORICAL], "criteo logs")
    logs = logs.sort_values("click_ts", kind="stable").reset_index(drop=True)
    click_ts = logs["click_ts"].to_numpy(np.int64)
    conversion = logs["conversion_ts"].astype("Int64")
    delay = conversion - click_ts
    conversion = conversion.where(delay < window_s)
    frame = pd.DataFrame({
        "click_id": np.arange(len(logs), dtype=np.int64),
        "click_ts": click_ts,
        "conversion_ts": conversion.astype("Int64"),
    })
    for column in CRITEO_CATEGORICAL:
        values = logs[column].astype("string").fillna("<missing>").to_numpy(dtype=object)
        frame[column] = pd.util.hash_array(values).view(np.int64)
    for column in CRITEO_NUMERIC:
        frame[column] = logs[column].astype("Float64").fillna(0.0).clip(lower=0.0).to_numpy(np.float32)
    origin = int(click_ts.min() // 86400 * 86400)
    frame["hour"] = hour_of_day(click_ts, origin)
    meta = {
        "builder": "criteo_conversion_logs",
        "data_kind": "real",
        "window_s": int(window_s),
        "origin_ts": origin,
        "horizon_ts": int(max(click_ts.max(), np.nanmax(logs["conversion_ts"].astype("Float64").fillna(0)))) + 1,
        "categorical": [*CRITEO_CATEGORICAL, "hour"],
        "numeric": list(CRITEO_NUMERIC),
        "signal_kinds": list(SIGNAL_KINDS),
    }
    empty = pd.DataFrame({"click_id": np.zeros(0, np.int64), "kind": np.zeros(0, np.int8), "ts": np.zeros(0, np.int64)})
    return ConversionTable(frame, empty, meta)


class StatsAccumulator:
    """Conversion rate, delay quantiles (hours) and signals per click by final label, chunk by chunk."""

    QUANTILES = (0.1, 0.25, 0.5, 0.75, 0.9)

    def __init__(self, window_s: int) -> None:
        self.window_s = window_s
        self.clicks = self.conversions = self.signals = 0
        self.delays_s: list[np.ndarray] = []
        self.signal_counts = np.zeros((2, len(SIGNAL_KINDS)), dtype=np.int64)  # [label, kind]

    def add(self, clicks: pd.DataFrame, signals: pd.DataFrame) -> None:
        converted = clicks["conversion_ts"].notna().to_numpy()
        self.clicks += len(clicks)
        self.conversions += int(converted.sum())
        self.delays_s.append(clicks["conversion_ts"].dropna().to_numpy(np.int64)
                             - clicks["click_ts"].to_numpy(np.int64)[converted])
        first_id = int(clicks["click_id"].iloc[0]) if len(clicks) else 0
        label = converted[signals["click_id"].to_numpy(np.int64) - first_id].astype(np.int64)
        np.add.at(self.signal_counts, (label, signals["kind"].to_numpy(np.int64)), 1)
        self.signals += len(signals)

    def result(self) -> dict[str, Any]:
        delays_h = np.concatenate(self.delays_s) / 3600 if self.delays_s else np.zeros(0)
        per_class = (max(self.clicks - self.conversions, 1), max(self.conversions, 1))
        return {
            "clicks": self.clicks,
            "conversions": self.conversions,
            "conversion_rate": self.conversions / max(self.clicks, 1),
            "delay_quantiles_hours": {str(q): float(np.quantile(delays_h, q)) if delays_h.size else None
                                      for q in self.QUANTILES},
            "signals": self.signals,
            "signals_per_click": {kind: {"converted": float(self.signal_counts[1, k] / per_class[1]),
                                         "not_converted": float(self.signal_counts[0, k] / per_class[0])}
                                  for k, kind in enumerate(SIGNAL_KINDS)},
            "window_hours": self.window_s / 3600,
        }


class TableWriter:
    """Write a conversion table chunk by chunk (bounded memory) into ``folder`` (an ``atomic_dir``).

    Chunks must come in click order; ``close`` adds the accumulated ``stats`` to the meta.
    """

    def __init__(self, folder: Path, window_s: int) -> None:
        self.folder = folder
        self.stats = StatsAccumulator(window_s)
        self._clicks: pq.ParquetWriter | None = None
        self._signals: pq.ParquetWriter | None = None

    def append(self, clicks: pd.DataFrame, signals: pd.DataFrame, counted_signals: pd.DataFrame | None = None) -> None:
        """Write a chunk; ``counted_signals`` (default: all) are the ones the stats describe."""
        clicks_table = pa.Table.from_pandas(clicks, preserve_index=False)
        signals_table = pa.Table.from_pandas(signals, preserve_index=False)
        if self._clicks is None:
            self._clicks = pq.ParquetWriter(self.folder / CLICKS_FILE, clicks_table.schema)
            self._signals = pq.ParquetWriter(self.folder / SIGNALS_FILE, signals_table.schema)
        self._clicks.write_table(clicks_table)
        self._signals.write_table(signals_table)
        self.stats.add(clicks, signals if counted_signals is None else counted_signals)

    def close(self, meta: dict[str, Any]) -> dict[str, Any]:
        if self._clicks is None or self.stats.clicks == 0:
            raise DataError(f"{self.folder}: no clicks were written")
        self._clicks.close()
        self._signals.close()
        meta = meta | {"stats": self.stats.result()}
        write_json(self.folder / META_FILE, meta)
        return meta


def write_table(table: ConversionTable, folder: Path) -> dict[str, Any]:
    """Write an in-memory table into ``folder``; return its meta (with ``stats``)."""
    writer = TableWriter(folder, table.meta["window_s"])
    writer.append(table.clicks, table.signals)
    return writer.close(table.meta)


def read_meta(folder: Path) -> dict[str, Any]:
    path = Path(folder) / META_FILE
    if not path.is_file():
        raise DataError(f"{path}: conversion table not found (run `dvc repro delayed_conversions@{Path(folder).name}`)")
    return json.loads(path.read_text())


def load_table(folder: Path) -> ConversionTable:
    """Read a whole conversion table (for small tables: Taobao, calibration, tests)."""
    folder = Path(folder)
    meta = read_meta(folder)
    return ConversionTable(pd.read_parquet(folder / CLICKS_FILE), pd.read_parquet(folder / SIGNALS_FILE), meta)


@dataclass
class ClickBatch:
    """Clicks as arrays (one batch of a table read in order).

    Attributes:
        click_id, click_ts: ``(n,)`` int64.
        conversion_ts: ``(n,)`` int64, :data:`NEVER` where the click does not convert.
        categorical: ``(n, C)`` int64 raw ids; numeric: ``(n, F)`` float32.
        true_probability: ``(n,)`` float32 ground truth (simulator) or ``None``.
        truth: the other ground-truth columns (:data:`TRUTH_COLUMNS`, simulator), ``(n,)`` float32 each.
    """

    click_id: np.ndarray
    click_ts: np.ndarray
    conversion_ts: np.ndarray
    categorical: np.ndarray
    numeric: np.ndarray
    true_probability: np.ndarray | None
    truth: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.click_id.size)

    def take(self, index: np.ndarray | slice) -> ClickBatch:
        probability = None if self.true_probability is None else self.true_probability[index]
        return ClickBatch(self.click_id[index], self.click_ts[index], self.conversion_ts[index],
                          self.categorical[index], self.numeric[index], probability,
                          {name: values[index] for name, values in self.truth.items()})

    @staticmethod
    def concat(batches: list[ClickBatch]) -> ClickBatch:
        probability = None if batches[0].true_probability is None else np.concatenate([b.true_probability for b in batches])
        truth = {name: np.concatenate([b.truth[name] for b in batches]) for name in batches[0].truth}
        return ClickBatch(*(np.concatenate([getattr(b, name) for b in batches]) for name in
                            ("click_id", "click_ts", "conversion_ts", "categorical", "numeric")), probability, truth)


@dataclass
class SignalBatch:
    """Signals as arrays: ``click_id``, ``kind`` (int8), ``ts`` (int64), ``mark`` (float32 or None)."""

    click_id: np.ndarray
    kind: np.ndarray
    ts: np.ndarray
    mark: np.ndarray | None

    def take(self, index: np.ndarray | slice) -> SignalBatch:
        return SignalBatch(self.click_id[index], self.kind[index], self.ts[index],
                           None if self.mark is None else self.mark[index])


def _click_batch(table: pa.Table, meta: dict[str, Any]) -> ClickBatch:
    def column(name: str, dtype: Any) -> np.ndarray:
        return table.column(name).to_numpy(zero_copy_only=False).astype(dtype, copy=False)

    n = table.num_rows
    conversion = table.column("conversion_ts").to_pandas().astype("Int64").fillna(NEVER).to_numpy(np.int64)
    categorical = np.stack([column(c, np.int64) for c in meta["categorical"]], axis=1) if meta["categorical"] else np.zeros((n, 0), np.int64)
    numeric = np.stack([column(c, np.float32) for c in meta["numeric"]], axis=1) if meta["numeric"] else np.zeros((n, 0), np.float32)
    probability = column("true_probability", np.float32) if "true_probability" in table.column_names else None
    truth = {name: column(name, np.float32) for name in TRUTH_COLUMNS if name in table.column_names}
    return ClickBatch(column("click_id", np.int64), column("click_ts", np.int64), conversion, categorical, numeric,
                      probability, truth)


def iter_clicks(folder: Path, batch_rows: int = 262_144) -> Iterator[ClickBatch]:
    """Yield the clicks of a table in order, ``batch_rows`` at a time (bounded memory)."""
    meta = read_meta(folder)
    parquet = pq.ParquetFile(Path(folder) / CLICKS_FILE)
    for record_batch in parquet.iter_batches(batch_size=batch_rows):
        yield _click_batch(pa.Table.from_batches([record_batch]), meta)


def iter_signals(folder: Path, batch_rows: int = 262_144) -> Iterator[SignalBatch]:
    """Yield the signals of a table in ``(click_id, ts)`` order."""
    parquet = pq.ParquetFile(Path(folder) / SIGNALS_FILE)
    for record_batch in parquet.iter_batches(batch_size=batch_rows):
        names = record_batch.schema.names
        yield SignalBatch(
            record_batch.column("click_id").to_numpy().astype(np.int64, copy=False),
            record_batch.column("kind").to_numpy().astype(np.int8, copy=False),
            record_batch.column("ts").to_numpy().astype(np.int64, copy=False),
            record_batch.column("mark").to_numpy().astype(np.float32, copy=False) if "mark" in names else None,
        )
