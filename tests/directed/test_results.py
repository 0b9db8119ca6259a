"""The result files' types write and read their own JSON (:mod:`recsys_challenges.directed.results`)."""

from __future__ import annotations

import json

import numpy as np

from recsys_challenges.directed.results import (
    ControlMetrics,
    DatasetMetrics,
    RunRecord,
    TrainingLog,
    read_embeddings,
    read_split,
    read_training,
)
from recsys_challenges.io import write_json

MEAN_CI = {"mean": 0.5, "ci95": [0.25, 0.75], "values": [0.25, 0.5, 0.75]}


def _record(val_mrr: float) -> RunRecord:
    return RunRecord(
        selected_epoch=3, val_mrr=val_mrr, epochs_run=5, max_epochs=300, budget_bound=False,
        val_curve=[0.1, val_mrr], seconds=1.5, batch_size=64, neighbour_budget={"out": 4.0, "in": 3.5},
        exponent={"out": 2.1, "in": 1.9}, neighbourhood_difference={"overall": 0.2, "lowest_quarter": 0.4},
    )


def _dataset_metrics() -> DatasetMetrics:
    return DatasetMetrics(
        technique="directed", dataset="cora_ml", data_kind="real", seeds=[0, 1],
        summary={"popularity": {"mrr": MEAN_CI}, "dual": {"mrr": MEAN_CI, "direction_auc": MEAN_CI}},
        by_degree={"dual": {"q1": {"mrr": MEAN_CI}, "q2": {"mrr": MEAN_CI}}},
        degree_buckets={"q1": {"degree_min": [1, 1], "degree_max": [3, 4], "queries": [9, 9], "one_way_edges": [7, 8]}},
        protocol={"ranking": "all_nodes_filtered", "num_candidates": 100, "hit_ks": [5, 10], "num_nodes": 10},
        selection={"dual": {"selected_epoch": [3, 4], "val_mrr": [0.5, None]}},
        neighbourhood={"dual": {"overall": [0.2, 0.3], "lowest_quarter": [0.4, 0.5]}},
    )


def test_training_log_round_trips_through_its_file(tmp_path):
    log = TrainingLog(dataset="cora_ml", seeds=[0, 1], methods={"dual": {"0": _record(0.5), "1": _record(0.25)}})
    log.write(tmp_path)
    text = (tmp_path / "training.json").read_text()
    assert sorted(json.loads(text)) == ["dataset", "methods", "seeds"]  # write_json sorts the keys
    assert sorted(json.loads(text)["methods"]["dual"]["0"]) == sorted(RunRecord.__annotations__)
    again = TrainingLog.from_json(read_training(tmp_path, "cora_ml"))
    assert again == log
    assert again.record("dual", 1)["val_mrr"] == 0.25
    (tmp_path / "again").mkdir()
    again.write(tmp_path / "again")
    assert (tmp_path / "again" / "training.json").read_text() == text


def test_dataset_metrics_round_trip_byte_identically(tmp_path):
    metrics = _dataset_metrics()
    payload = metrics.to_json()
    assert list(payload) == ["technique", "dataset", "data_kind", "seeds", "summary", "by_degree", "degree_buckets",
                             "protocol", "selection", "neighbourhood"]
    metrics.write(tmp_path / "a.json")
    read = DatasetMetrics.from_json(json.loads((tmp_path / "a.json").read_text()))
    read.write(tmp_path / "b.json")
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()
    write_json(tmp_path / "c.json", payload)  # the payload dict the evaluate stage wrote before these types
    assert (tmp_path / "c.json").read_bytes() == (tmp_path / "a.json").read_bytes()


def test_control_metrics_round_trip_byte_identically(tmp_path):
    metrics = ControlMetrics(
        technique="directed", dataset="planted_two_hop", data_kind="simulated", seeds=[0],
        summary={"pool_adaptive": {"mrr": MEAN_CI}}, selection={"dual_adaptive": {"val_mrr": [0.5]}},
        neighbourhood={"dual_adaptive": {"overall": [0.1], "lowest_quarter": [0.9]}},
        planted={"num_targets": 400, "test_queries": "one per leaf"},
    )
    assert list(metrics.to_json()) == ["technique", "dataset", "data_kind", "seeds", "summary", "selection",
                                       "neighbourhood", "planted"]
    metrics.write(tmp_path / "a.json")
    assert ControlMetrics.from_json(json.loads((tmp_path / "a.json").read_text())) == metrics


def test_split_and_embedding_files_read_back(tmp_path):
    np.savez(tmp_path / "split_seed3.npz", train=np.arange(4), val=np.array([4]), test=np.array([5, 6]))
    np.savez(tmp_path / "dual_seed3.npz", source=np.ones((2, 3)), target=np.zeros((2, 3)))
    split = read_split(tmp_path, 3)
    assert split.train.tolist() == [0, 1, 2, 3] and split.test.tolist() == [5, 6]
    source, target = read_embeddings(tmp_path, "dual", 3)
    assert source.shape == target.shape == (2, 3)
