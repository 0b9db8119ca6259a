"""``directed-train`` under Lightning DDP (2 CPU processes, gloo) equals one process.

Both runs train the dual GNN for 2 epochs on the real Cora-ML 500-paper subgraph. Every process walks
the same global batches and negatives and trains on its strided shard, each shard's loss weighted by
its share of the batch, so the averaged DDP gradient is the one-process gradient. The method uses
full neighbourhoods (fan-out rule ``full``): neighbour sampling is then deterministic, and the only
difference left is float summation order (gradient all-reduce), hence the tolerance 1e-5 on the
embeddings (|values| ~ 1; measured ~1e-6) and 1e-6 on validation MRR. With sampled fan-outs each
process draws its shard's neighbourhoods from its own (seed, epoch, batch, rank) generator, an equally
distributed but different sample, so those runs agree only statistically (not tested here).
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.directed.conftest import SINGLE, read_output, run_train, write_params

DDP = {"accelerator": "cpu", "strategy": "ddp", "devices": 2, "num_nodes": 1}
FULL_DUAL = {"encoder": "dual", "fanout_rule": "full"}


def test_two_ddp_processes_reproduce_one_process(tiny_graph_project):
    folder = tiny_graph_project
    outputs = {}
    for name, trainer in (("single", SINGLE), ("ddp", DDP)):
        (folder / name).mkdir()
        params = write_params(folder / name, FULL_DUAL, trainer, max_epochs=2, min_epochs=2)
        run_train(folder, params, folder / f"out_{name}")
        outputs[name] = read_output(folder / f"out_{name}")
    (single, single_training), (ddp, ddp_training) = outputs["single"], outputs["ddp"]
    assert single.keys() == ddp.keys()
    for key in single:
        np.testing.assert_allclose(ddp[key], single[key], atol=1e-5, err_msg=key)
    single_run, ddp_run = single_training["methods"]["dual"]["0"], ddp_training["methods"]["dual"]["0"]
    assert ddp_run["val_curve"] == pytest.approx(single_run["val_curve"], abs=1e-6)
    assert ddp_run["selected_epoch"] == single_run["selected_epoch"] and ddp_run["epochs_run"] == 2
    assert not any((folder / "runs" / "checkpoints" / "directed" / "cora_ml_500").iterdir())  # scratch removed
