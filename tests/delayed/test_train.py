"""The stream stage on a small simulated table: reproducible, and the metrics file has its schema."""

from __future__ import annotations

import math

import pytest
import torch

from recsys_challenges.delayed import train
from recsys_challenges.delayed.config import DatasetSpec, ModelParams, ProtocolParams, SimulatorParams, TrainParams
from recsys_challenges.errors import ConfigError

SPEC = DatasetSpec("simulator", "unused", batch_size=128, simulator=SimulatorParams(rows=20_000, days=5.0))
PROTOCOL = ProtocolParams(stream_hours=12.0, waiting_hours=[6.0])
MODEL = ModelParams(hash_bits=8, hidden=[8], aux_hidden=[4])
TRAIN = TrainParams(seeds=[0], methods=["oracle", "vanilla", "waiting", "esdfm", "pcaw"])


@pytest.fixture(scope="module")
def payload(sim_table):
    torch.set_num_threads(1)
    return train.run(sim_table, "sim", SPEC, PROTOCOL, MODEL, TRAIN, None)


def test_same_params_give_the_same_metrics(sim_table, payload):
    again = train.run(sim_table, "sim", SPEC, PROTOCOL, MODEL, TRAIN, None)
    assert again["summary"] == payload["summary"]
    assert again["signal_sweep"] == payload["signal_sweep"]


def test_payload_schema(payload):
    assert payload["technique"] == "delayed" and payload["data_kind"] == "simulated"
    assert payload["methods"] == ["oracle", "vanilla", "waiting_6h", "esdfm", "pcaw"]
    assert payload["protocol"]["steps"] == 11
    for scores in payload["summary"].values():
        assert set(scores) == {"auc", "pr_auc", "nll", "mean_prediction", "ri_auc", "ri_pr_auc", "ri_nll"}
        for summary in scores.values():
            assert len(summary["values"]) == 1 and all(math.isfinite(v) for v in summary["values"])
    assert payload["summary"]["vanilla"]["ri_auc"]["mean"] == 0.0
    assert payload["summary"]["oracle"]["ri_nll"]["mean"] == 1.0
    # the fixture table supports strengths 1 (main), 0 and 4: pcaw is run at each
    assert payload["signal_sweep"]["strengths"] == [1.0, 0.0, 4.0]
    assert payload["signal_sweep"]["pcaw"]["1"] == payload["summary"]["pcaw"]
    per_slot = payload["stream"]["per_slot"]["pcaw"]["auc"]
    assert len(per_slot) == 1 and len(per_slot[0]) == 11
    # vanilla sees fewer conversions than there are: it predicts lower than the oracle
    assert payload["summary"]["vanilla"]["mean_prediction"]["mean"] < payload["summary"]["oracle"]["mean_prediction"]["mean"]


def test_waiting_longer_than_the_window_is_rejected(sim_table):
    with pytest.raises(ConfigError, match="waiting_hours"):
        train.run(sim_table, "sim", SPEC, ProtocolParams(waiting_hours=[48.0]), MODEL, TRAIN, None)
