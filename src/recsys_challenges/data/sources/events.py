"""Parser for the Taobao UserBehavior event log (SOURCES.md section 3).

Output columns: ``user_id``, ``item_id``, ``category_id`` (int64), ``behavior`` (categorical:
pv, cart, fav, buy) and ``timestamp`` (int64 Unix seconds), in file order (each user's events
contiguous and sorted by time). Rows outside the dataset's official collection window,
2017-11-25 to 2017-12-03 Beijing time (UTC+8), are dropped and counted, as is customary for this
dataset. A timestamp outside 2017 altogether is an error, not a row to drop.
"""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd

from recsys_challenges.data.formats import TableData
from recsys_challenges.data.readers import ReadReport, iter_lines
from recsys_challenges.data.schema import DataError, read_csv, require_in, require_integer, require_range, require_rows

COLUMNS = ["user_id", "item_id", "category_id", "behavior", "timestamp"]
BEHAVIORS = ["pv", "cart", "fav", "buy"]
WINDOW_START = 1511539200  # 2017-11-25 00:00:00 UTC+8
WINDOW_END = 1512316800  # 2017-12-04 00:00:00 UTC+8 (exclusive)
YEAR_2017 = (1483228800, 1514764799)


def taobao_user_behavior(raw: Path) -> TableData:
    """``UserBehavior.csv``: no header, ``user_id,item_id,category_id,behavior_type,timestamp``.

    A last line without newline is a cut record (the mirrored head of the file) and is dropped.
    """
    path = raw / "UserBehavior.csv"
    report = ReadReport()
    text = b"\n".join(iter_lines(path, report)).decode("utf-8")
    frame = read_csv(io.StringIO(text), path, header=None, dtype=str, keep_default_na=False)
    if frame.shape[1] != len(COLUMNS):
        raise DataError(f"{path}: {frame.shape[1]} columns, expected {len(COLUMNS)} ({','.join(COLUMNS)})")
    frame.columns = COLUMNS
    require_rows(len(frame), 1, path)
    frame = require_integer(frame, ["user_id", "item_id", "category_id", "timestamp"], path)
    require_in(frame, "behavior", BEHAVIORS, path)
    require_range(frame, "timestamp", *YEAR_2017, path)
    inside = frame["timestamp"].between(WINDOW_START, WINDOW_END - 1)
    frame = frame[inside].reset_index(drop=True)
    frame["behavior"] = pd.Categorical(frame["behavior"], categories=BEHAVIORS)
    if report.partial_line:
        print(f"{path.name}: kept {len(inside)} complete rows, dropped a cut last row "
              f"{report.partial_line.decode(errors='replace')!r}")
    stats = report.as_stats() | {
        "rows_read": int(len(inside)),
        "rows_outside_window_dropped": int((~inside).sum()),
        "users": int(frame["user_id"].nunique()),
        "items": int(frame["item_id"].nunique()),
        "behavior_counts": {b: int(c) for b, c in frame["behavior"].value_counts().items()},
    }
    return TableData(frame, stats)
