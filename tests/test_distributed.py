import pytest
import torch

from recsys_challenges.config import from_mapping
from recsys_challenges.distributed import TrainerParams, shard
from recsys_challenges.errors import ConfigError


def test_shards_partition_the_rows_strided():
    rows = torch.arange(7)
    shards = [shard(rows, rank, 3) for rank in range(3)]
    assert [s.tolist() for s in shards] == [[0, 3, 6], [1, 4], [2, 5]]


def test_several_devices_need_ddp():
    with pytest.raises(ConfigError, match="strategy: ddp"):
        from_mapping(TrainerParams, {"devices": 2}, where="params.yaml: trainer")
    params = from_mapping(TrainerParams, {"devices": 2, "num_nodes": 2, "strategy": "ddp"}, where="t")
    assert params.world_size == 4
    assert params.trainer_kwargs() == {"accelerator": "cpu", "strategy": "ddp", "devices": 2, "num_nodes": 2}


def test_unknown_strategy_is_rejected():
    with pytest.raises(ConfigError, match="'fsdp' is not one of"):
        from_mapping(TrainerParams, {"strategy": "fsdp"}, where="t")
