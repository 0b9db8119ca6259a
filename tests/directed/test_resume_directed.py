"""``directed-train`` killed (SIGKILL) after a checkpoint of epoch >= 1 resumes from it and ends
with exactly the output of an uninterrupted run: the same selected embeddings (equal bytes), the
same validation curve, selected epoch and early-stopping point.

The dual GNN with adaptive (sampled) fan-outs trains up to 6 epochs of ~60 small steps on the real Cora-ML 500-paper
subgraph, early stopping allowed after epoch 3, so the restored state includes the sampler's
position (keyed by seed, epoch and batch), Adam's moments, and the best-so-far embeddings.
"""

from __future__ import annotations

import signal
import subprocess
import time

import pytest
import torch

from tests.directed.conftest import project_env, read_output, run_train, train_command, write_params

ADAPTIVE_DUAL = {"encoder": "dual", "fanout_rule": "inverse_power"}


def checkpoint_epoch(folder) -> int:
    """Epoch of the newest ``last.ckpt`` under ``folder``, -1 if none is readable yet."""
    for path in folder.glob("runs/checkpoints/directed/*/*/*/last.ckpt"):
        try:
            return int(torch.load(path, map_location="cpu", weights_only=False)["epoch"])
        except (EOFError, RuntimeError, OSError):  # being written
            return -1
    return -1


@pytest.mark.slow  # three training processes: about 60 s on the shared 2 cores
def test_a_killed_run_resumes_to_the_uninterrupted_result(tiny_graph_project):
    folder = tiny_graph_project
    # small batches (about 60 steps per epoch) keep each epoch long enough to be interrupted
    # a checkpoint every second epoch: the resumed run repeats the epochs since the last one
    params = write_params(folder, ADAPTIVE_DUAL, max_epochs=6, min_epochs=3, steps_per_epoch=60, checkpoint_every=2)
    killed = subprocess.Popen(
        train_command(params, folder / "out_resumed"), cwd=folder, env=project_env(),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 90
    while checkpoint_epoch(folder) < 1:
        assert killed.poll() is None, "the run ended before a checkpoint of epoch >= 1 was seen"
        assert time.monotonic() < deadline
        time.sleep(0.02)
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    assert not (folder / "out_resumed").exists()
    interrupted_at = checkpoint_epoch(folder)
    run_train(folder, params, folder / "out_resumed")
    resumed, resumed_training = read_output(folder / "out_resumed")
    assert not list(folder.glob("runs/checkpoints/directed/*/*"))  # scratch removed after success

    run_train(folder, params, folder / "out_uninterrupted")
    uninterrupted, uninterrupted_training = read_output(folder / "out_uninterrupted")
    assert resumed.keys() == uninterrupted.keys()
    for key in resumed:
        assert resumed[key].tobytes() == uninterrupted[key].tobytes(), key
    assert resumed_training == uninterrupted_training
    assert uninterrupted_training["methods"]["dual"]["0"]["epochs_run"] > interrupted_at + 1
