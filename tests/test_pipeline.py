"""End-to-end smoke test: `dvc repro` of the tiny profile in a temporary copy of the project
(the ``tiny_project`` fixture in conftest.py)."""

from __future__ import annotations

import json

from tests.conftest import BIN, run_checked


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
    second = run_checked([str(BIN / "dvc"), "repro"], work, env)
    assert "Running stage" not in second.stdout
    assert "up to date" in second.stdout


def test_dag_runs_fetch_before_prepare(tiny_project):
    work, env, _ = tiny_project
    dag = run_checked([str(BIN / "dvc"), "dag", "--dot"], work, env).stdout
    assert '"fetch@linqs_cora_raw_pygcn" -> "prepare@cora"' in dag
    assert '"fetch@criteo_dac_head_999" -> "prepare@criteo_head"' in dag
