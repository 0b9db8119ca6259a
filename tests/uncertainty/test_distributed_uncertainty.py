"""``uncertainty-train`` under Lightning DDP (2 CPU processes, gloo) equals one process.

Both runs train a 2-member bootstrapped deep ensemble for one epoch on a 4000-row simulated click
log. (The posterior network's batch norm is synchronised across processes only on GPUs: torch's
SyncBatchNorm has no CPU kernel, so on gloo each shard normalises by its own batch; MC dropout
draws its masks per process.) Each
process walks the same seeded global batches and trains on its strided shard with the loss scaled
by its share, so the averaged gradient is the one-process gradient: what is left is float
summation order in the gradient all-reduce, hence a tolerance of 1e-5 on the predicted scores
(probabilities) and relative 1e-3 on the uncertainties (variances, ~1e-4 and smaller).
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import yaml

from recsys_challenges.uncertainty.predictions import load_predictions
from tests.conftest import ROOT

SINGLE = {"accelerator": "cpu", "strategy": "auto", "devices": 1, "num_nodes": 1}
DDP = {"accelerator": "cpu", "strategy": "ddp", "devices": 2, "num_nodes": 1}


def _run(args: list[str], cwd) -> None:
    env = {"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin", "WANDB_MODE": "offline"}
    result = subprocess.run([sys.executable, "-m", "recsys_challenges", *args], cwd=cwd, env=env, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]


def test_two_ddp_processes_reproduce_one_process(tmp_path):
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    section = params["uncertainty"]
    section["click_log"] |= {"rows": 4000, "cardinality": 200}
    section["datasets"] = {"sim": {"folder": "data/sim", "loader": "criteo", "kind": "simulated", "negative_keep": 1.0}}
    section["train"]["seeds"] = [0]
    section["train"]["model"] |= {"epochs": 1, "batch_size": 256}
    section["train"]["deep_ensemble"] = {"members": 2, "bootstrap": True}
    section["train"] |= {"estimator": "deep_ensemble", "ablations": []}
    params["tracking"] = {"csv": False, "wandb": False}
    predictions = {}
    for name, trainer in (("single", SINGLE), ("ddp", DDP)):
        params["trainer"] = trainer
        (tmp_path / f"{name}.yaml").write_text(yaml.safe_dump(params))
        if name == "single":
            _run(["uncertainty-simulate", "--params", "single.yaml", "--out", "data/sim"], tmp_path)
        _run(["uncertainty-train", "sim", "--params", f"{name}.yaml", "--out", f"out_{name}"], tmp_path)
        predictions[name], _ = load_predictions(tmp_path / f"out_{name}")
    single, ddp = predictions["single"], predictions["ddp"]
    for key in (f"deep_ensemble.{s}" for s in ("holdout", "test")):
        np.testing.assert_allclose(ddp[f"{key}_score"], single[f"{key}_score"], atol=1e-5)
        np.testing.assert_allclose(ddp[f"{key}_uncertainty"], single[f"{key}_uncertainty"], rtol=1e-3, atol=1e-9)
    assert not np.array_equal(single["deep_ensemble.test_score"], np.zeros(1))
