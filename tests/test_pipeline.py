"""End-to-end smoke test: `dvc repro` of the tiny profile in a temporary copy of the project."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

BIN = Path(sys.executable).parent


def project_files() -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT, capture_output=True, check=True,
    ).stdout.decode()
    return [f for f in listed.split("\0") if f and (ROOT / f).is_file()]


def run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    assert result.returncode == 0, f"{' '.join(args)} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    return result


@pytest.fixture(scope="module")
def tiny_project(tmp_path_factory, mirror):
    """A copy of the project switched to experiments/tiny.yaml, reproduced once."""
    work = tmp_path_factory.mktemp("project")
    for name in project_files():
        (work / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, work / name)
    env = os.environ | {
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONPATH": str(work / "src"),
        "RECSYS_DATA_MIRROR": str(mirror),
        "DVC_NO_ANALYTICS": "1",
        "WANDB_MODE": "offline",
    }
    run(["git", "init", "-q"], work, env)
    run([sys.executable, "-m", "recsys_challenges", "profile", "apply", "experiments/tiny.yaml"], work, env)
    first = run([str(BIN / "dvc"), "repro"], work, env)
    return work, env, first


def test_repro_prepares_every_tiny_dataset(tiny_project):
    work, _, _ = tiny_project
    cora = json.loads((work / "data/prepared/cora/meta.json").read_text())
    assert (cora["num_nodes"], cora["num_edges"], cora["direction"]) == (2708, 5429, "u cites v")
    taobao = json.loads((work / "data/prepared/taobao_small/meta.json").read_text())
    assert taobao["stats"]["rows_read"] == 4321
    criteo = json.loads((work / "data/prepared/criteo_head/meta.json").read_text())
    assert criteo["num_rows"] == 1000


def test_second_repro_has_nothing_to_do(tiny_project):
    work, env, _ = tiny_project
    second = run([str(BIN / "dvc"), "repro"], work, env)
    assert "Running stage" not in second.stdout
    assert "up to date" in second.stdout


def test_dag_runs_fetch_before_prepare(tiny_project):
    work, env, _ = tiny_project
    dag = run([str(BIN / "dvc"), "dag", "--dot"], work, env).stdout
    assert '"fetch@linqs_cora_raw_pygcn" -> "prepare@cora"' in dag
    assert '"fetch@criteo_dac_head_999" -> "prepare@criteo_head"' in dag
