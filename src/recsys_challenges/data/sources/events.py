"""Parser for the Taobao UserBehavior event log (SOURCES.md section 3).

Output columns: ``user_id``, ``item_id``, ``category_id`` (int64), ``behavior`` (categorical:
pv, cart, fav, buy) and ``timestamp`` (int64 Unix seconds), in file order (each user's events
contiguous and sorted by time). Rows outside the dataset's official collection window,
2017-11-25 to 2017-12-03 Beijing time (UTC+8), are dropped and counted, as is customary for this
dataset. A timestamp outside 2017 altogether is an error, not a row to drop.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from recsys_challenges.data.formats import TableData
from recsys_challenges.data.readers import ReadReport, complete_lines
from recsys_challenges.data.schema import read_csv_chunks, require_in, require_integer, require_range, require_rows
from recsys_challenges.errors import DataError

COLUMNS = ["user_id", "item_id", "category_id", "behavior", "timestamp"]
BEHAVIORS = ["pv", "cart", "fav", "buy"]
WINDOW_START = 1511539200  # 2017-11-25 00:00:00 UTC+8
WINDOW_END = 1512316800  # 2017-12-04 00:00:00 UTC+8 (exclusive)
YEAR_2017 = (1483228800, 1514764799)
CHUNK_ROWS = 2_000_000


def _typed_chunk(chunk: pd.DataFrame, path: Path) -> pd.DataFrame:
    if chunk.shape[1] != len(COLUMNS):
        raise DataError(f"{path}: {chunk.shape[1]} columns, expected {len(COLUMNS)} ({','.join(COLUMNS)})")
    chunk.columns = COLUMNS
    chunk = require_integer(chunk, ["user_id", "item_id", "category_id", "timestamp"], path)
    require_in(chunk, "behavior", BEHAVIORS, path)
    require_range(chunk, "timestamp", *YEAR_2017, path)
    chunk["behavior"] = pd.Categorical(chunk["behavior"], categories=BEHAVIORS)
    return chunk


def taobao_user_behavior(raw: Path) -> TableData:
    """``UserBehavior.csv``: no header, ``user_id,item_id,category_id,behavior_type,timestamp``.

    Read in chunks of typed columns (the full file has about 100M rows: ~4 GB typed, far more as
    text). A last line without newline is a cut record (the mirrored head of the file) and is dropped.
    """
    path = raw / "UserBehavior.csv"
    report = ReadReport()
    kept, rows_read = [], 0
    with complete_lines(path, report) as stream:
        for chunk in read_csv_chunks(stream, path, CHUNK_ROWS, header=None, dtype=str, keep_default_na=False):
            chunk = _typed_chunk(chunk, path)
            rows_read += len(chunk)
            kept.append(chunk[chunk["timestamp"].between(WINDOW_START, WINDOW_END - 1)])
    require_rows(rows_read, 1, path)
    frame = pd.concat(kept, ignore_index=True)
    if report.partial_line:
        print(f"{path.name}: kept {rows_read} complete rows, dropped a cut last row "
              f"{report.partial_line.decode(errors='replace')!r}")
    stats = report.as_stats() | {
        "rows_read": rows_read,
        "rows_outside_window_dropped": rows_read - len(frame),
        "users": int(frame["user_id"].nunique()),
        "items": int(frame["item_id"].nunique()),
        "behavior_counts": {b: int(c) for b, c in frame["behavior"].value_counts().items()},
    }
    return TableData(frame, stats)
