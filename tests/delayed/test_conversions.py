"""Conversion tables: the Taobao click/conversion/signal rules on a hand-made log, Criteo, and I/O."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recsys_challenges.data.sources import events as taobao
from recsys_challenges.delayed import conversions
from recsys_challenges.delayed.conversions import NEVER

BASE = taobao.WINDOW_START + 5 * 3600  # 05:00 UTC+8 on the first day


def hand_log() -> pd.DataFrame:
    rows = [  # user, item, category, behavior, seconds after BASE
        (1, 10, 7, "pv", 0), (1, 10, 7, "pv", 5), (1, 10, 7, "cart", 8), (1, 10, 7, "buy", 20),
        (1, 10, 7, "fav", 30), (1, 10, 7, "pv", 200),
        (1, 11, 7, "cart", 0), (1, 11, 7, "pv", 10), (1, 11, 7, "fav", 50), (1, 11, 7, "pv", 120),
        (1, 11, 7, "buy", 150),
        (2, 10, 7, "buy", 5),
        (2, 12, 9, "pv", 3), (2, 12, 9, "pv", 3),
    ]
    frame = pd.DataFrame(rows, columns=["user_id", "item_id", "category_id", "behavior", "timestamp"])
    frame["timestamp"] += BASE
    frame["behavior"] = pd.Categorical(frame["behavior"], categories=taobao.BEHAVIORS)
    return frame


def test_taobao_clicks_conversions_and_signals_by_hand():
    table = conversions.taobao_events(hand_log(), window_s=100)
    clicks = table.clicks
    # clicks = first views, in time order: (1,10) at 0, (2,12) at 3, (1,11) at 10; (2,10) has no view
    assert clicks[["user_id", "item_id"]].values.tolist() == [[1, 10], [2, 12], [1, 11]]
    assert (clicks["click_ts"] - BASE).tolist() == [0, 3, 10]
    assert clicks["click_id"].tolist() == [0, 1, 2]
    # (1,10) converts at 20; (1,11)'s buy at 150 is after the 100 s window; (2,12) never buys
    assert (clicks["conversion_ts"] - BASE).tolist()[0] == 20
    assert clicks["conversion_ts"].isna().tolist() == [False, True, True]
    assert clicks["hour"].tolist() == [5, 5, 5]
    signals = table.signals
    got = list(zip(signals["click_id"], signals["kind"], signals["ts"] - BASE, strict=True))
    # click 0: repeat view at 5 and cart at 8 (the fav at 30 and view at 200 come after the buy);
    # click 1: the second view in the same second; click 2: the fav at 50 (the cart at 0 precedes the
    # click, the view at 120 is past the window)
    assert got == [(0, 0, 5), (0, 1, 8), (1, 0, 3), (2, 2, 50)]
    assert table.meta["origin_ts"] == taobao.WINDOW_START
    assert table.meta["horizon_ts"] == BASE + 201


def test_criteo_conversion_logs_window_and_types():
    logs = pd.DataFrame({
        "click_ts": pd.array([50, 10], dtype="Int64"),
        "conversion_ts": pd.array([None, 400], dtype="Int64"),
        **{f"I{i}": pd.array([1.0, None], dtype="Float64") for i in range(1, 9)},
        **{f"C{i}": pd.array(["a", None], dtype="string") for i in range(1, 10)},
    })
    table = conversions.criteo_conversion_logs(logs, window_s=300)
    clicks = table.clicks
    assert clicks["click_ts"].tolist() == [10, 50]  # sorted by time
    assert clicks["conversion_ts"].isna().tolist() == [True, True]  # 400 - 10 = 390 > 300 s window
    assert clicks["I1"].tolist() == [0.0, 1.0]  # missing -> 0
    assert clicks["C1"].iloc[0] != clicks["C1"].iloc[1]  # missing has its own hashed id
    wide = conversions.criteo_conversion_logs(logs, window_s=3600)
    assert wide.clicks["conversion_ts"].tolist()[0] == 400
    assert len(table.signals) == 0


def test_write_and_read_back_in_batches(tmp_path):
    table = conversions.taobao_events(hand_log(), window_s=100)
    meta = conversions.write_table(table, tmp_path)
    assert meta["stats"]["clicks"] == 3 and meta["stats"]["conversions"] == 1
    assert meta["stats"]["signals_per_click"]["cart"] == {"converted": 1.0, "not_converted": 0.0}
    batches = list(conversions.iter_clicks(tmp_path, batch_rows=2))
    assert [len(b) for b in batches] == [2, 1]
    merged = conversions.ClickBatch.concat(batches)
    assert merged.conversion_ts.tolist() == [BASE + 20, NEVER, NEVER]
    assert merged.categorical.shape == (3, 4)
    signals = list(conversions.iter_signals(tmp_path))
    assert signals[0].click_id.tolist() == [0, 0, 1, 2]
    assert signals[0].mark is None


def test_missing_table_names_the_stage(tmp_path):
    with pytest.raises(Exception, match="delayed_conversions@"):
        conversions.read_meta(tmp_path / "nothing")


def test_stats_accumulate_over_chunks():
    table = conversions.taobao_events(hand_log(), window_s=100)
    stats = conversions.StatsAccumulator(100)
    stats.add(table.clicks.iloc[:2], table.signals[table.signals["click_id"] < 2])
    stats.add(table.clicks.iloc[2:], table.signals[table.signals["click_id"] >= 2])
    result = stats.result()
    assert (result["clicks"], result["conversions"], result["signals"]) == (3, 1, 4)
    assert result["delay_quantiles_hours"]["0.5"] == pytest.approx(20 / 3600)
    assert np.isclose(result["signals_per_click"]["view"]["not_converted"], 0.5)
