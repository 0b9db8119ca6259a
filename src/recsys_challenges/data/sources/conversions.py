"""Parser for the Criteo conversion logs (Chapelle, KDD 2014; catalog source ``criteo_conversion_logs``).

``data.txt`` is tab separated, no header, one click per line: the click timestamp, the conversion
timestamp (empty when the click never converted), 8 numeric features and 9 categorical features
(hashed ids, possibly empty). Timestamps are seconds from the start of the collection.

Output columns: ``click_ts`` (int64), ``conversion_ts`` (nullable ``Int64``, missing = no
conversion), ``I1``..``I8`` (nullable ``Float64``: the published file holds counts, but a decimal
value is accepted), ``C1``..``C9`` (``string``, missing when empty). A conversion before its own
click, a non-numeric timestamp, a first line without 19 fields or a later line with more than 19
is an error naming the line; a later line with fewer has lost trailing empty fields (as in the
Criteo DAC head, see ``clicks.criteo_tsv``) and is read with them empty.

Read like the other large logs (``taobao_user_behavior``): the complete lines of the file
(``readers.complete_lines``; a cut last line is dropped and reported) in typed chunks of
``CHUNK_ROWS`` rows (``schema.read_csv_chunks``), so the 16M-line file never exists as text rows.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd

from recsys_challenges.data.formats import TableData
from recsys_challenges.data.readers import ReadReport, complete_lines
from recsys_challenges.data.schema import read_csv_chunks, require_nullable_number, require_rows
from recsys_challenges.errors import DataError

NUMERIC = [f"I{i}" for i in range(1, 9)]
CATEGORICAL = [f"C{i}" for i in range(1, 10)]
COLUMNS = ["click_ts", "conversion_ts", *NUMERIC, *CATEGORICAL]
CHUNK_ROWS = 2_000_000


def _first_line(mask: pd.Series) -> int:
    """1-based line number of the first ``True`` row (the chunk index counts rows of the whole file)."""
    return int(mask.index[np.flatnonzero(mask.to_numpy())[0]]) + 1


def _typed_chunk(chunk: pd.DataFrame, path: Path) -> pd.DataFrame:
    if chunk.shape[1] != len(COLUMNS):
        raise DataError(f"{path}: {chunk.shape[1]} fields per line, expected {len(COLUMNS)}")
    chunk.columns = COLUMNS
    chunk = require_nullable_number(chunk, ["click_ts", "conversion_ts"], path)
    if chunk["click_ts"].isna().any():
        raise DataError(f"{path}: line {_first_line(chunk['click_ts'].isna())}: the click timestamp is empty")
    chunk["click_ts"] = chunk["click_ts"].astype(np.int64)
    early = (chunk["conversion_ts"] < chunk["click_ts"]).fillna(False)
    if early.any():
        raise DataError(f"{path}: line {_first_line(early)}: conversion before its click")
    chunk = require_nullable_number(chunk, NUMERIC, path, integer=False)
    for column in CATEGORICAL:
        chunk[column] = chunk[column].replace("", pd.NA).astype("string")
    return chunk


def criteo_conversion_logs(raw: Path) -> TableData:
    """Read ``raw/data.txt`` (the format above) into a typed table, in file order."""
    path = raw / "data.txt"
    if not path.is_file():
        raise DataError(f"{path}: not found (download it by hand, see the catalog's 'manual' page)")
    report = ReadReport()
    with complete_lines(path, report) as stream:
        chunks = [_typed_chunk(chunk, path) for chunk in read_csv_chunks(
            stream, path, CHUNK_ROWS, sep="\t", header=None, dtype=str, keep_default_na=False, quoting=csv.QUOTE_NONE)]
    require_rows(sum(map(len, chunks)), 1, path)
    frame = pd.concat(chunks, ignore_index=True)
    stats = report.as_stats() | {
        "clicks": int(len(frame)),
        "conversions": int(frame["conversion_ts"].notna().sum()),
    }
    return TableData(frame[COLUMNS], stats)
