"""Experiments: an ablation profile runs as a named ``dvc exp`` on a copy of the tiny project, and
``dvc exp show``, ``dvc params diff`` and ``dvc metrics diff`` compare it with the baseline."""

from __future__ import annotations

import json
import shutil
import sys

from tests.conftest import BIN, run_checked

GIT_USER = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}


def committed_copy(tiny_project, folder):
    """A copy of the reproduced tiny project with everything committed (``dvc exp run`` needs a
    commit to start from), and the environment that runs its code."""
    work, env, _ = tiny_project
    shutil.copytree(work, folder, symlinks=True)
    env = env | GIT_USER | {"PYTHONPATH": str(folder / "src")}
    run_checked(["git", "add", "-A"], folder, env)
    run_checked(["git", "commit", "-qm", "tiny profile, reproduced"], folder, env)
    return folder, env


def test_ablation_is_an_experiment_with_params_and_metrics_diffs(tiny_project, tmp_path):
    copy, env = committed_copy(tiny_project, tmp_path / "project")
    profile = [sys.executable, "-m", "recsys_challenges", "profile", "exp", "experiments/ablation_levels_1.yaml"]
    run_checked(profile, copy, env)

    shown = run_checked([str(BIN / "dvc"), "exp", "show", "--json"], copy, env).stdout
    assert "ablation_levels_1" in shown
    dvc = str(BIN / "dvc")
    params = json.loads(run_checked([dvc, "params", "diff", "HEAD", "ablation_levels_1", "--json"], copy, env).stdout)
    assert params["params.yaml"]["uncertainty.boundaries.levels"]["new"] == 1
    metrics = json.loads(run_checked([dvc, "metrics", "diff", "HEAD", "ablation_levels_1", "--json"], copy, env).stdout)
    # DVC's metrics are the headline files; the payloads are outs (on the tiny table EW-DPMT's
    # Wilson-bounded boundaries recall the same with 1 or 5 levels, so no headline number need move)
    assert all(path.startswith("reports/headline/") for path in metrics), sorted(metrics)
    # the experiment reran evaluate with one level: its payload says so
    run_checked([dvc, "exp", "apply", "ablation_levels_1"], copy, env)
    payload = json.loads((copy / "reports/metrics/uncertainty/criteo_head.json").read_text())
    assert payload["config"]["levels"] == 1
