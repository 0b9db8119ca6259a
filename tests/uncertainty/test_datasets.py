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
    review_text_features,
    split_by_group,
    split_rows,
    standardise,
)
from recsys_challenges.uncertainty.config import SplitParams


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


def test_the_simulator_truth_travels_with_its_rows(tmp_path):
    from recsys_challenges.data.simulate.click_log import ClickLogParams, simulate_click_log

    save_table(simulate_click_log(ClickLogParams(rows=500, cardinality=20)), tmp_path, {"name": "sim"})
    table = LOADERS["criteo"](tmp_path)
    assert table.truth is not None and table.truth.shape == (500,)
    taken = table.take(np.array([3, 1]))
    assert taken.truth.tolist() == table.truth[[3, 1]].tolist()
    with pytest.raises(DataError, match="truth"):
        LabelledTable(table.numeric, table.categorical, table.cardinalities, table.labels, table.groups, table.truth + 2)


# parser, mirror folder, columns that leak the label or are unknown when it is decided: changing them
# must not change a single feature the model sees
LEAKS = {
    "womens_reviews": ("classification/womens_ecommerce_reviews_widedeep", ["rating", "positive_feedback_count"]),
    "movielens_100k": ("ratings/movielens100k_widedeep", ["rating", "timestamp"]),
}


@pytest.mark.parametrize("name", sorted(LEAKS))
def test_no_leaking_column_reaches_the_model(mirror, tmp_path, name):
    folder, leaking = LEAKS[name]
    table = PARSERS[name](mirror / folder)
    (tmp_path / "real").mkdir()
    (tmp_path / "shuffled").mkdir()
    save_table(table, tmp_path / "real", {})
    shuffled = table.frame.copy()
    rng = np.random.default_rng(0)
    for column in leaking:
        shuffled[column] = rng.permutation(shuffled[column].to_numpy())
    save_table(TableData(shuffled), tmp_path / "shuffled", {})
    real, other = LOADERS[name](tmp_path / "real"), LOADERS[name](tmp_path / "shuffled")
    assert np.array_equal(real.numeric, other.numeric) and np.array_equal(real.categorical, other.categorical)


def test_womens_label_is_recommended_not_rating(mirror, tmp_path):
    save_table(PARSERS["womens_reviews"](mirror / "classification/womens_ecommerce_reviews_widedeep"), tmp_path, {})
    table = LOADERS["womens_reviews"](tmp_path)
    assert table.labels.sum() == 19314 and table.numeric.shape == (23486, 1 + 4 + 64)
    assert len(np.unique(table.groups)) == 1206  # products: SOURCES.md does not say; counted once


def test_review_text_features_by_hand():
    title = pd.Series(["Good", None], dtype="string")
    text = pd.Series(["good good dress", "xy"], dtype="string")
    features = review_text_features(title, text)
    assert features.shape == (2, 68)
    assert np.allclose(features[:, :4], [[np.log1p(4), np.log1p(15), 0, 0], [0, np.log1p(2), 1, 0]])
    # row 0: "good" three times (title + text, lower-cased) and "dress" once; row 1: "xy" once
    assert sorted(np.expm1(features[0, 4:])[np.expm1(features[0, 4:]) > 0.5].round().tolist()) == [1.0, 3.0]
    assert np.expm1(features[1, 4:]).sum() == pytest.approx(1.0)


def test_movielens_label_features_and_time_split(mirror, tmp_path):
    save_table(PARSERS["movielens_100k"](mirror / "ratings/movielens100k_widedeep"), tmp_path, {})
    table = LOADERS["movielens_100k"](tmp_path)
    assert table.labels.sum() == 55375 and table.times is not None
    rows = split_rows(table, SplitParams(0.4, 0.2, 0, "time"), tmp_path)
    assert [len(r) for r in rows.values()] == pytest.approx([40_000, 20_000, 40_000], abs=50)
    assert table.times[rows["train"]].max() <= table.times[rows["holdout"]].min()
    assert table.times[rows["holdout"]].max() <= table.times[rows["test"]].min()


def test_split_by_time_keeps_order_and_equal_times_together():
    times = np.array([5, 1, 1, 3, 9, 7, 7, 2])
    table = LabelledTable(np.zeros((8, 0), np.float32), np.zeros((8, 0), np.int64), (),
                          np.array([0, 1, 0, 0, 0, 1, 0, 1], np.int8), np.arange(8), times=times)
    # times in order 1 1 | 2 3 | 5 7 7 9: the pair at time 1 has midpoint 1/8 < 0.25, time 2 at 2.5/8
    rows = split_rows(table, SplitParams(0.25, 0.25, 0, "time"), "t")
    assert {k: sorted(times[v].tolist()) for k, v in rows.items()} == {
        "train": [1, 1], "holdout": [2, 3], "test": [5, 7, 7, 9]
    }


def test_a_split_without_positives_is_an_error_naming_the_source():
    table = LabelledTable(np.zeros((8, 0), np.float32), np.zeros((8, 0), np.int64), (),
                          np.array([0, 1, 0, 1, 0, 0, 0, 0], np.int8), np.arange(8), times=np.arange(8))
    with pytest.raises(DataError, match=r"movies.parquet: the test split \(4 rows\) has 0 positives"):
        split_rows(table, SplitParams(0.25, 0.25, 0, "time"), "movies.parquet")
    with pytest.raises(DataError, match="gives no times"):
        split_rows(LabelledTable(table.numeric, table.categorical, (), table.labels, table.groups),
                   SplitParams(0.25, 0.25, 0, "time"), "movies.parquet")
