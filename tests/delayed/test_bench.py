"""``delayed-bench``'s training-harness section on a small simulated table."""

from __future__ import annotations

import torch

from recsys_challenges.delayed import bench
from recsys_challenges.delayed.config import ModelParams, ProtocolParams, TrainParams

HARNESS_KEYS = {"path", "plain", "data", "batch_size", "clock", "target_ratio_min", "examples", "rounds", "package",
                "ratio", "ratio_wall"}


def test_harness_throughput_section_shape(sim_table):
    torch.set_num_threads(1)
    section = bench.harness_throughput(sim_table, ProtocolParams(stream_hours=12.0, waiting_hours=[6.0]),
                                       ModelParams(hash_bits=8, hidden=[8], aux_hidden=[4]), TrainParams(),
                                       batch_size=128, rows=1000, repeats=2)
    assert set(section) == HARNESS_KEYS
    assert section["examples"] == 1000 and section["rounds"] == 2
    for arm in ("package", "plain"):
        assert len(section[arm]["cpu_s_all"]) == 2 and section[arm]["examples_per_s"] > 0
    assert section["ratio"] > 0 and section["ratio_wall"] > 0
