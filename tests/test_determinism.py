"""Same params, same metrics: every training and evaluation stage of the tiny profile, forced to run
again, writes byte-identical metrics files (seeds everywhere, no wall times in metrics)."""

from __future__ import annotations

import re
import shutil

from tests.conftest import BIN, run_checked

RETRAINED = re.compile(r"_(train|stream|evaluate)(@|$)")


def test_forced_rerun_gives_byte_identical_metrics(tiny_project, tmp_path):
    # on a copy: the rerun rewrites intermediate files (wall times in training logs) that later
    # tests of the shared tiny project must find as the first repro left them
    work = tmp_path / "project"
    shutil.copytree(tiny_project[0], work, symlinks=True)
    env = tiny_project[1] | {"PYTHONPATH": str(work / "src")}
    before = {p: p.read_bytes() for p in sorted((work / "reports/metrics").rglob("*.json"))}
    names = run_checked([str(BIN / "dvc"), "stage", "list", "--name-only"], work, env).stdout.split()
    stages = [name for name in names if RETRAINED.search(name)]  # dvc.yaml order: training before evaluation
    assert {s.split("_")[0] for s in stages} == {"directed", "delayed", "uncertainty"}
    run_checked([str(BIN / "dvc"), "repro", "--force", "--single-item", *stages], work, env)
    after = {p: p.read_bytes() for p in sorted((work / "reports/metrics").rglob("*.json"))}
    assert after.keys() == before.keys()
    changed = [str(p.relative_to(work)) for p in before if before[p] != after[p]]
    assert not changed, f"metrics differ after a forced rerun: {changed}"
