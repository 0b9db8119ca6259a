"""The stream experiment on a small simulated table: reproducible, and the metrics file has its schema."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import numpy as np

import pytest
import torch

from recsys_challenges.delayed import evaluate, experiment
from recsys_challenges.delayed.config import DatasetSpec, ModelParams, ProtocolParams, SimulatorParams, TrainParams
from recsys_challenges.delayed.loop import signal_view
from recsys_challenges.delayed.methods import stream_lines
from recsys_challenges.delayed.results import StreamResult
from recsys_challenges.errors import ConfigError

SPEC = DatasetSpec("simulator", "unused", batch_size=128, simulator=SimulatorParams(rows=20_000, days=5.0),
                   item_field="C1")
PROTOCOL = ProtocolParams(stream_hours=12.0, waiting_hours=[6.0])
MODEL = ModelParams(hash_bits=8, hidden=[8], aux_hidden=[4])
METHODS = ["oracle", "vanilla", "waiting", "esdfm", "esdfm_unit", "esdfm_true", "pcaw", "pcaw_oracle", "defuse",
           "defuse_signals"]
TRAIN = TrainParams(seeds=[0, 1], methods=METHODS, aux_epochs=4)


@pytest.fixture(scope="module")
def payload(sim_table):
    torch.set_num_threads(1)
    return experiment.run(sim_table, "sim", SPEC, PROTOCOL, MODEL, TRAIN, None).to_json()


def test_same_params_give_the_same_metrics(sim_table, payload):
    again = experiment.run(sim_table, "sim", SPEC, PROTOCOL, MODEL, TRAIN, None).to_json()
    assert again["summary"] == payload["summary"]
    assert again["signal_sweep"] == payload["signal_sweep"]
    assert again["young_items"] == payload["young_items"] and again["auxiliary"] == payload["auxiliary"]


def test_payload_schema(payload):
    assert payload["technique"] == "delayed" and payload["data_kind"] == "simulated"
    assert payload["methods"] == ["oracle", "vanilla", "waiting_6h", "esdfm", "esdfm_unit", "esdfm_true", "pcaw",
                                  "pcaw_oracle", "defuse", "defuse_signals"]
    assert payload["protocol"]["steps"] == 11
    assert 0 < payload["protocol"]["fake_negative_share"] < 1
    for scores in payload["summary"].values():
        assert set(scores) == {"auc", "pr_auc", "nll", "mean_prediction", "calibration_bias", "ri_auc", "ri_pr_auc",
                               "ri_nll"}
        for summary in scores.values():
            assert len(summary["values"]) == 2 and all(math.isfinite(v) for v in summary["values"])
    # paired differences: per seed, method minus reference
    paired = payload["paired"]["esdfm"]["pcaw_oracle"]["auc"]
    assert paired["values"] == pytest.approx([a - b for a, b in zip(payload["summary"]["pcaw_oracle"]["auc"]["values"],
                                                                    payload["summary"]["esdfm"]["auc"]["values"])])
    assert set(payload["paired"]) == {"esdfm", "esdfm_unit", "vanilla"}
    young = payload["young_items"]
    assert young["field"] == "C1" and 0 < young["test_clicks"] < payload["protocol"]["test_clicks"]
    assert set(young["summary"]) == set(payload["methods"]) and "esdfm" in young["paired"]
    # auxiliary models: early stopping on the hold-out, reliability per signal group
    report = payload["auxiliary"]["esdfm_signals@1"]["0"]
    assert 1 <= report["best_epoch"] <= report["epochs_run"] <= 4 and len(report["holdout_loss"]) == report["epochs_run"]
    groups = {(row["head"], row["group"]) for row in report["reliability"]}
    assert ("real_negative", "no_signal") in groups and ("delayed_positive", "two_or_more") in groups
    assert payload["summary"]["vanilla"]["ri_auc"]["mean"] == 0.0
    assert payload["summary"]["oracle"]["ri_nll"]["mean"] == 1.0
    # the fixture table supports strengths 1 (main), 0 and 4: pcaw is run at each
    assert payload["signal_sweep"]["strengths"] == [1.0, 0.0, 4.0]
    assert payload["signal_sweep"]["pcaw"]["1"] == payload["summary"]["pcaw"]
    per_slot = payload["stream"]["per_slot"]["pcaw"]["auc"]
    assert len(per_slot) == 2 and len(per_slot[0]) == 11
    # vanilla sees fewer conversions than there are: it predicts lower than the oracle
    assert payload["summary"]["vanilla"]["mean_prediction"]["mean"] < payload["summary"]["oracle"]["mean_prediction"]["mean"]


def test_waiting_longer_than_the_window_is_rejected(sim_table):
    with pytest.raises(ConfigError, match="waiting_hours"):
        experiment.run(sim_table, "sim", SPEC, ProtocolParams(waiting_hours=[48.0]), MODEL, TRAIN, None)


def test_controls_share_esdfm_ingestion_and_signal_lines_see_the_main_strength(sim_table):
    from recsys_challenges.delayed import conversions, stream

    meta = conversions.read_meta(sim_table)
    lines = stream_lines(meta, replace(TRAIN, methods=[*METHODS, "fsiw", "pcaw_fsiw"]), PROTOCOL)
    # pcaw_fsiw used to run with strength None (every drawn signal, strength 4 here): now the main one
    assert lines["pcaw_fsiw"].signal_strength == lines["pcaw"].signal_strength == lines["defuse_signals"].signal_strength == 1.0
    assert lines["esdfm"].signal_strength is None
    timeline = stream.make_timeline(meta, PROTOCOL)
    view = signal_view(meta)
    chosen = {n: stream.Line(lines[n].strategy, view(lines[n].signal_strength))
              for n in ("esdfm", "esdfm_unit", "pcaw_oracle", "defuse")}
    steps = stream.protocol(sim_table, timeline, chosen, len(meta["signal_kinds"]))
    next(steps)
    for step in steps:
        reference = step.events["esdfm"]
        for name in ("esdfm_unit", "pcaw_oracle", "defuse"):
            assert np.array_equal(step.events[name].clicks.click_id, reference.clicks.click_id)
            assert np.array_equal(step.events[name].label, reference.label)
    # esdfm_true is a simulator control: gone on real data
    real = meta | {"data_kind": "real"}
    assert "esdfm_true" not in stream_lines(real, TRAIN, PROTOCOL)


def test_item_age_is_the_time_since_the_items_first_click(sim_table):
    from recsys_challenges.delayed import conversions

    meta = conversions.read_meta(sim_table)
    first_seen = evaluate.item_first_seen(sim_table, meta, "C1")
    clicks = next(conversions.iter_clicks(sim_table))
    age = evaluate.item_age(first_seen, clicks, meta, "C1")
    assert np.all(age >= 0)
    # recount by hand for a few clicks: the earliest click on the same campaign in the whole table
    table = conversions.load_table(sim_table).clicks
    for i in (0, 100, 4000):
        same = table["C1"] == clicks.categorical[i, 0]
        assert age[i] == clicks.click_ts[i] - table.loc[same, "click_ts"].min()
    assert evaluate.item_first_seen(sim_table, meta, None) is None
    with pytest.raises(ConfigError, match="item_field"):
        evaluate.item_first_seen(sim_table, meta, "no_such_field")


def test_one_seed_runs_merged_equal_the_joint_run(sim_table, payload):
    # every seed seeds itself, so the jobs of workers.py (one per seed) give the joint run's file
    merged = evaluate.merge_seeds([experiment.run(sim_table, "sim", SPEC, PROTOCOL, MODEL, replace(TRAIN, seeds=[seed]),
                                                  None).to_json() for seed in TRAIN.seeds], own_streams=False)
    for key in ("seeds", "summary", "paired", "signal_sweep", "young_items", "auxiliary", "stream", "protocol"):
        assert merged[key] == payload[key], key


def test_merge_pools_the_seeds_and_sums_their_streams():
    def one(seed: int, auc: float, rows: list[int]) -> dict:
        stat = {"mean": auc, "std": 0.0, "n": 1, "ci95": None, "values": [auc]}
        return {"seeds": [seed], "summary": {"oracle": {"auc": stat, "ri_auc": None}}, "paired": {},
                "protocol": {"pretrain_clicks": 10, "pretrain_conversions": 1, "test_clicks": sum(rows),
                             "test_conversion_rate": 0.1 * (seed + 1), "test_true_mean_probability": None,
                             "fake_negative_share": 0.0},
                "stream": {"rows": rows, "positives": [1, 1], "per_slot": {"oracle": {"auc": [[auc, auc]]}}},
                "auxiliary": {"fsiw": {str(seed): {"best_epoch": seed}}}}

    merged = evaluate.merge_seeds([one(0, 0.7, [5, 6]), one(1, 0.8, [7, 8])], own_streams=True)
    assert merged["seeds"] == [0, 1]
    assert merged["summary"]["oracle"]["auc"]["mean"] == pytest.approx(0.75)
    assert merged["summary"]["oracle"]["auc"]["values"] == [0.7, 0.8] and merged["summary"]["oracle"]["ri_auc"] is None
    # t_{0.975, 1} = 12.706; sd of (0.7, 0.8) = 0.0707; half width 12.706 * 0.0707 / sqrt(2) = 0.6353
    assert merged["summary"]["oracle"]["auc"]["ci95"] == pytest.approx([0.75 - 0.6353, 0.75 + 0.6353], abs=1e-4)
    assert merged["stream"]["rows"] == [12, 14] and merged["stream"]["per_slot"]["oracle"]["auc"] == [[0.7, 0.7], [0.8, 0.8]]
    assert merged["protocol"]["test_clicks"] == 26 and merged["protocol"]["test_conversion_rate"] == pytest.approx(0.15)
    assert merged["auxiliary"] == {"fsiw": {"0": {"best_epoch": 0}, "1": {"best_epoch": 1}}}


def test_replicates_simulate_their_own_streams():
    assert experiment.replicate_spec(SPEC, 0) == SPEC
    assert experiment.replicate_spec(SPEC, 3).simulator.seed == SPEC.simulator.seed + 3 * experiment.REPLICATE_STRIDE


def test_more_passes_change_the_learner_and_stay_reproducible(sim_table, payload):
    lines = replace(TRAIN, seeds=[0], methods=["oracle", "vanilla"], stream_passes=2, stream_embedding_lr=0.01)
    twice = experiment.run(sim_table, "sim", SPEC, PROTOCOL, MODEL, lines, None).to_json()
    assert twice["summary"] == experiment.run(sim_table, "sim", SPEC, PROTOCOL, MODEL, lines, None).summary
    assert twice["summary"]["oracle"]["auc"]["mean"] != payload["summary"]["oracle"]["auc"]["values"][0]


def test_stream_result_round_trips_its_json(payload):
    # the schema lives in results.py: reading the file back gives the same file, byte for byte
    result = StreamResult.from_json(json.loads(json.dumps(payload)))
    assert result.to_json() == payload
    assert json.dumps(result.to_json(), indent=2, sort_keys=True) == json.dumps(payload, indent=2, sort_keys=True)
    assert result.protocol.steps == payload["protocol"]["steps"] and result.young_items.field == "C1"
    assert result.signal_sweep.strengths == payload["signal_sweep"]["strengths"]
    merged = evaluate.merge_results([result, StreamResult.from_json(payload)], own_streams=False)
    assert merged.seeds == [0, 1, 0, 1] and merged.to_json()["stream"]["rows"] == payload["stream"]["rows"]
