from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recsys_challenges.data.formats import TableData, save_table
from recsys_challenges.data.prepare import PARSERS
from recsys_challenges.errors import DataError
from recsys_challenges.uncertainty.datasets import (
    LOADERS,
    LabelledTable,
    downsample_negatives,
    encode_categories,
    signed_log_counts,
    split_by_group,
    standardise,
)


def test_encode_categories_by_hand():
    # missing -> 0, values numbered from 1 in order of appearance; cardinality counts "missing"
    frame = pd.DataFrame({"c": pd.array(["a", None, "b", "a"], dtype="string")})
    codes, cardinalities = encode_categories(frame, ["c"])
    assert codes[:, 0].tolist() == [1, 0, 2, 1] and cardinalities == (3,)


def test_signed_log_counts_by_hand():
    # sign(x) log(1 + |x|): 0 -> 0, -1 -> -log 2, e - 1 -> 1; missing -> 0 with its flag set
    frame = pd.DataFrame({"I1": pd.array([0, -1, None, 7], dtype="Int64")})
    values = signed_log_counts(frame, ["I1"])
    assert values[:, 0] == pytest.approx([0.0, -np.log(2), 0.0, np.log(8)])
    assert values[:, 1].tolist() == [0, 0, 1, 0]


def test_standardise_with_train_statistics_by_hand():
    # train column [1, 3]: mean 2, std 1 -> [-1, 1]; other row 5 -> 3; a constant column -> 0
    train = np.array([[1.0, 4.0], [3.0, 4.0]], dtype=np.float32)
    scaled_train, scaled_other = standardise(train, np.array([[5.0, 4.0]], dtype=np.float32))
    assert scaled_train.tolist() == [[-1.0, 0.0], [1.0, 0.0]]
    assert scaled_other.tolist() == [[3.0, 0.0]]


def test_split_by_group_keeps_groups_whole_and_meets_the_fractions():
    groups = np.repeat(np.arange(200), 5)  # 200 groups of 5 rows
    splits = split_by_group(groups, 0.5, 0.25, seed=1)
    assert sorted(np.concatenate(list(splits.values())).tolist()) == list(range(1000))
    seen = [set(groups[rows]) for rows in splits.values()]
    assert not (seen[0] & seen[1] or seen[0] & seen[2] or seen[1] & seen[2])
    assert [len(r) / 1000 for r in splits.values()] == pytest.approx([0.5, 0.25, 0.25], abs=0.01)
    again = split_by_group(groups, 0.5, 0.25, seed=1)
    assert all((again[k] == splits[k]).all() for k in splits)


def test_downsample_negatives_keeps_every_positive():
    labels = np.array([1] * 100 + [0] * 10_000)
    kept = downsample_negatives(labels, 0.1, np.random.default_rng(0))
    assert labels[kept].sum() == 100
    assert (labels[kept] == 0).sum() == pytest.approx(1000, rel=0.1)


def test_labelled_table_rejects_bad_values():
    good = dict(
        numeric=np.zeros((2, 1), np.float32),
        categorical=np.zeros((2, 0), np.int64),
        cardinalities=(),
        groups=np.arange(2),
    )
    with pytest.raises(DataError, match="0 or 1"):
        LabelledTable(labels=np.array([0, 2], np.int8), **good)
    with pytest.raises(DataError, match="finite"):
        LabelledTable(labels=np.array([0, 1], np.int8), **(good | {"numeric": np.array([[np.nan], [0]], np.float32)}))


def test_criteo_loader_reads_the_real_criteo_head(mirror, tmp_path):
    table = PARSERS["criteo_tsv"](mirror / "click_logs" / "criteo_dac_head_999")
    save_table(table, tmp_path, {})
    loaded = LOADERS["criteo"](tmp_path)
    assert len(loaded.labels) == 1000 and loaded.labels.sum() == table.stats["positives"]
    assert loaded.numeric.shape == (1000, 26)  # 13 signed log counts + 13 missing flags
    assert loaded.categorical.shape == (1000, 26) and min(loaded.cardinalities) >= 2


def test_kddcup_loader_groups_by_protein(tmp_path):
    frame = pd.DataFrame({"block_id": [7, 7, 9], "example_id": [1, 2, 3], "target": np.array([0, 1, 0], np.int8)})
    for i in range(4, 78):
        frame[str(i)] = np.float32(i)
    save_table(TableData(frame), tmp_path, {})
    loaded = LOADERS["kddcup2004_protein"](tmp_path)
    assert (
        loaded.groups.tolist() == [7, 7, 9] and loaded.numeric.shape == (3, 74) and loaded.labels.tolist() == [0, 1, 0]
    )


def test_open_bandit_loader_reads_the_real_log(mirror, tmp_path):
    table = PARSERS["open_bandit"](mirror / "click_logs" / "open_bandit_dataset_small")
    save_table(table, tmp_path, {})
    loaded = LOADERS["open_bandit"](tmp_path)
    assert len(loaded.labels) == 60_000 and loaded.labels.sum() == 287  # SOURCES.md: 287 clicks
    assert loaded.numeric.shape == (60_000, 2) and loaded.categorical.shape[1] == 10


def test_conversions_loader_keeps_final_labels_and_groups_by_user(tmp_path):
    # window 10 s, log ends at 100: the click at 95 has no final label and is dropped; the click
    # at 20 converted at 25 (label 1); hour is a category, the users are the split groups
    clicks = pd.DataFrame({"click_id": [0, 1, 2, 3], "click_ts": [10, 20, 50, 95],
                           "conversion_ts": pd.array([None, 25, None, None], dtype="Int64"),
                           "user_id": [7, 7, 8, 9], "item_id": [1, 2, 1, 3], "hour": [0, 0, 1, 2]})
    clicks.to_parquet(tmp_path / "clicks.parquet")
    (tmp_path / "meta.json").write_text(
        '{"window_s": 10, "horizon_ts": 100, "categorical": ["user_id", "item_id", "hour"], "numeric": []}')
    table = LOADERS["conversions"](tmp_path)
    assert table.labels.tolist() == [0, 1, 0]
    assert table.groups.tolist() == [7, 7, 8]
    assert table.categorical.tolist() == [[1, 1, 1], [1, 2, 1], [2, 1, 2]] and table.cardinalities == (3, 3, 3)
    assert table.numeric.shape == (3, 0)
