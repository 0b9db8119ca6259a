"""The stage profile (stage_times.py): one line per stage from the entry point, summed and ranked by hand."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from recsys_challenges.stage_times import STAGE_TIMES, read_lines, render_slowest, summarise
from tests.conftest import ROOT


def test_the_entry_point_appends_one_line_per_stage(tmp_path):
    times = tmp_path / "times.jsonl"
    env = os.environ | {STAGE_TIMES: str(times), "PYTHONPATH": str(ROOT / "src")}
    for argv in (["profile", "--help"], ["profile", "apply", str(tmp_path / "absent.yaml")]):
        subprocess.run([sys.executable, "-m", "recsys_challenges", *argv], env=env, cwd=tmp_path, capture_output=True)
    lines = read_lines(times)
    assert [(line["stage"], line["status"]) for line in lines] == [
        ("profile --help", 0), (f"profile apply {tmp_path / 'absent.yaml'}", 1)]
    assert all(line["wall_s"] > 0 and line["cpu_s"] > 0 for line in lines)


def test_summary_ranks_stages_and_measures_cpu_use():
    lines = [{"stage": "a", "status": 0, "wall_s": 10.0, "cpu_s": 19.0},
             {"stage": "b", "status": 0, "wall_s": 30.0, "cpu_s": 31.0}]
    profile = summarise(lines, wall_s=50.0, cpu_s=80.0, cores=2, what="make verify")
    assert [s["stage"] for s in profile["stages"]] == ["b", "a"]
    assert profile["cpu_use"] == 0.8  # 80 CPU s over 50 s x 2 cores
    assert profile["machine"]["cores"] == 2 and profile["machine"]["cpu"]
    table = render_slowest(profile, count=1)
    assert table.splitlines()[0].endswith("0.8 min wall, CPU use 0.80")
    assert table.splitlines()[-1] == "| b | 30 | 31 |"
    json.dumps(profile)  # writable as JSON
