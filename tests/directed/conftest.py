"""A tiny project for running ``directed-train`` as a process: the real Cora-ML citations among its
first 500 papers, prepared under ``data/prepared/cora_ml_500``, and a params file with one small
method (a few seconds per run)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from recsys_challenges.data.formats import GraphData, save_graph
from recsys_challenges.data.sources.citation import cora_ml
from tests.conftest import ROOT

DATASET = "cora_ml_500"


SINGLE = {"accelerator": "cpu", "strategy": "auto", "devices": 1, "num_nodes": 1}


def write_params(folder: Path, method: dict, trainer: dict = SINGLE, **train) -> Path:
    """The project's params.yaml with a one-method, one-seed, small-model ``directed`` section and
    ``train`` overriding ``directed.train``."""
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["tracking"] |= {"csv": False, "wandb": False}
    params["trainer"] = trainer
    directed = params["directed"]
    directed["datasets"] = [DATASET]
    directed["experiment"] |= {"seeds": [0], "num_threads": 1}  # one thread per process: the DDP tests run two
    directed["model"] = {"dim": 8, "num_layers": 2}
    directed["methods"] = {"dual": method}
    directed["train"] |= train
    path = folder / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    return path


def train_command(params: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "recsys_challenges", "directed-train", DATASET, "--params", str(params), "--out", str(out)]


def project_env() -> dict[str, str]:
    return os.environ | {"PYTHONPATH": str(ROOT / "src"), "OMP_NUM_THREADS": "1"}


def run_train(folder: Path, params: Path, out: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run ``directed-train`` to completion in ``folder``, writing to ``out``."""
    result = subprocess.run(
        train_command(params, out), cwd=folder, env=project_env(), capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result


@pytest.fixture
def tiny_graph_project(mirror, tmp_path) -> Path:
    """A temp folder holding ``data/prepared/cora_ml_500`` (real Cora-ML subgraph)."""
    graph = cora_ml(mirror / "citation" / "cora_ml_bojchevski")
    edges = graph.edge_index[:, (graph.edge_index < 500).all(0)]
    folder = tmp_path / "data" / "prepared" / DATASET
    folder.mkdir(parents=True)
    save_graph(GraphData(edge_index=np.ascontiguousarray(edges), num_nodes=500, direction=graph.direction), folder, {})
    return tmp_path


def read_output(out: Path) -> tuple[dict[str, np.ndarray], dict]:
    """Every array of a ``directed-train`` output folder, and its ``training.json`` without timings."""
    arrays = {}
    for path in sorted(out.glob("*.npz")):
        with np.load(path) as npz:
            arrays |= {f"{path.stem}/{key}": npz[key] for key in npz.files}
    training = json.loads((out / "training.json").read_text())
    for runs in training["methods"].values():
        for record in runs.values():
            del record["seconds"]
    return arrays, training
