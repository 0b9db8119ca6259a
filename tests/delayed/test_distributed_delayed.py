"""The stream under Lightning Fabric's DDP (2 CPU processes, gloo) gives the one-process metrics.

Each process trains on its strided shard of every global minibatch with the loss divided by the
global batch's rows, DDP averages the MLP's gradients (``sparse_ddp`` the embedding's), and the
test predictions are gathered: the two runs differ only by floating-point summation order (of the
gradients and the sparse embedding updates), so the metrics agree to ``TOLERANCE``, far below the
differences between methods.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
import yaml

from recsys_challenges.delayed.metrics import METRICS
from tests.conftest import run_checked

SRC = Path(__file__).resolve().parents[2] / "src"
TOLERANCE = 1e-5  # absolute, on every per-slot and averaged metric (measured: AUC equal, NLL within 4e-10)

PARAMS = {
    "tracking": {"csv": False, "wandb": False},
    "delayed": {
        "datasets": {"sim": {"builder": "simulator", "input": "unused", "batch_size": 100,
                             "simulator": {"rows": 20_000, "days": 5.0, "sweep_strengths": [0.0, 4.0]}}},
        "protocol": {"stream_hours": 4.0, "waiting_hours": [1.0]},
        "model": {"hash_bits": 8, "hidden": [8], "aux_hidden": [4]},
        # esdfm and pcaw train auxiliary models, fnw weighs by the model's own prediction
        "train": {"seeds": [0], "methods": ["oracle", "vanilla", "fnw", "esdfm", "pcaw"]},
    },
}


def _stream(folder: Path, table: Path, name: str, trainer: dict) -> dict:
    params = folder / f"{name}.yaml"
    params.write_text(yaml.safe_dump(PARAMS | {"trainer": {"accelerator": "cpu"} | trainer}))
    out = folder / f"{name}.json"
    env = os.environ | {"PYTHONPATH": str(SRC)}
    args = [sys.executable, "-m", "recsys_challenges", "delayed-stream", "sim", "--params", str(params),
            "--table", str(table), "--out", str(out)]
    run_checked(args, folder, env)
    return json.loads(out.read_text())


@pytest.fixture(scope="module")
def runs(sim_table, tmp_path_factory) -> tuple[dict, dict]:
    folder = tmp_path_factory.mktemp("ddp")
    single = _stream(folder, sim_table, "single", {"strategy": "auto", "devices": 1})
    ddp = _stream(folder, sim_table, "ddp", {"strategy": "ddp", "devices": 2})
    return single, ddp


def test_ddp_on_two_processes_reproduces_one_process(runs):
    single, ddp = runs
    assert ddp["methods"] == single["methods"] and ddp["stream"]["rows"] == single["stream"]["rows"]
    # test slots of odd sizes: the two shards differ in length and the gathered predictions are unpadded
    assert any(rows % 2 for rows in single["stream"]["rows"])
    for method in single["methods"]:
        for metric in METRICS:
            one, two = single["stream"]["per_slot"][method][metric][0], ddp["stream"]["per_slot"][method][metric][0]
            assert two == pytest.approx(one, abs=TOLERANCE), (method, metric)
            assert ddp["summary"][method][metric]["mean"] == pytest.approx(
                single["summary"][method][metric]["mean"], abs=TOLERANCE), (method, metric)


def test_methods_differ_by_more_than_the_tolerance(runs):
    # the comparison above can fail: the methods' own differences are far larger than TOLERANCE
    single, _ = runs
    nll = [single["summary"][m]["nll"]["mean"] for m in single["methods"]]
    assert max(nll) - min(nll) > 100 * TOLERANCE
