"""Parser for the Criteo conversion logs (Chapelle, KDD 2014; catalog source ``criteo_conversion_logs``).

``data.txt`` is tab separated, no header, one click per line: the click timestamp, the conversion
timestamp (empty when the click never converted), 8 numeric features and 9 categorical features
(hashed ids, possibly empty). Timestamps are seconds from the start of the collection.

Output columns: ``click_ts`` (int64), ``conversion_ts`` (nullable ``Int64``, missing = no
conversion), ``I1``..``I8`` (nullable ``Float64``: the published file holds counts, but a decimal
value is accepted), ``C1``..``C9`` (``string``, missing when empty). A conversion before its own
click, a non-numeric timestamp or a line without 19 fields is an error naming the line.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from recsys_challenges.data.formats import TableData
from recsys_challenges.data.readers import ReadReport, iter_lines
from recsys_challenges.data.schema import DataError, require_rows

NUMERIC = [f"I{i}" for i in range(1, 9)]
CATEGORICAL = [f"C{i}" for i in range(1, 10)]
COLUMNS = ["click_ts", "conversion_ts", *NUMERIC, *CATEGORICAL]


def _numbers(values: pd.Series, column: str, path: Path, integer: bool) -> pd.Series:
    """Empty fields become missing; anything else must be a number (an integer if ``integer``)."""
    text = values.str.strip()
    numbers = pd.to_numeric(text.replace("", np.nan), errors="coerce")
    bad = numbers.isna() & (text != "")
    if integer:
        bad |= numbers.notna() & (numbers != np.floor(numbers))
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        kind = "an integer" if integer else "a number"
        raise DataError(f"{path}: line {row + 1}, column {column!r}: {text.iloc[row]!r} is not {kind}")
    return numbers.astype("Int64" if integer else "Float64")


def criteo_conversion_logs(raw: Path) -> TableData:
    """Read ``raw/data.txt`` (the format above) into a typed table, in file order."""
    path = raw / "data.txt"
    if not path.is_file():
        raise DataError(f"{path}: not found (download it by hand, see the catalog's 'manual' page)")
    report = ReadReport()
    rows = []
    for number, line in enumerate(iter_lines(path, report), start=1):
        fields = line.decode("utf-8").split("\t")
        if len(fields) != len(COLUMNS):
            raise DataError(f"{path}: line {number} has {len(fields)} fields, expected {len(COLUMNS)}")
        rows.append(fields)
    require_rows(len(rows), 1, path)
    text = pd.DataFrame(rows, columns=COLUMNS, dtype="string")
    frame = pd.DataFrame({
        "click_ts": _numbers(text["click_ts"], "click_ts", path, integer=True),
        "conversion_ts": _numbers(text["conversion_ts"], "conversion_ts", path, integer=True),
    })
    if frame["click_ts"].isna().any():
        row = int(np.flatnonzero(frame["click_ts"].isna().to_numpy())[0])
        raise DataError(f"{path}: line {row + 1}: the click timestamp is empty")
    frame["click_ts"] = frame["click_ts"].astype(np.int64)
    early = frame["conversion_ts"].notna() & (frame["conversion_ts"] < frame["click_ts"])
    if early.any():
        row = int(np.flatnonzero(early.to_numpy())[0])
        raise DataError(f"{path}: line {row + 1}: conversion before its click")
    for column in NUMERIC:
        frame[column] = _numbers(text[column], column, path, integer=False)
    for column in CATEGORICAL:
        frame[column] = text[column].replace("", pd.NA)
    stats = report.as_stats() | {
        "clicks": int(len(frame)),
        "conversions": int(frame["conversion_ts"].notna().sum()),
    }
    return TableData(frame[COLUMNS], stats)
