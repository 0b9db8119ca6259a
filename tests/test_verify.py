"""``python -m recsys_challenges verify``: the comparison (pure functions, on hand-made payloads) and
an end-to-end run on a copy of the tiny project that must fail after a committed verdict is edited."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys

import pytest

from recsys_challenges import verify
from recsys_challenges.verify import MetricRow, VerdictRow


def test_numbers_lists_every_number_with_its_path_and_skips_booleans():
    payload = {"a": {"b": [1, 2.5], "ok": True}, "c": "text", "d": [{"e": -3}], "f": None}
    assert dict(verify.numbers(payload)) == {"a.b[0]": 1.0, "a.b[1]": 2.5, "d[0].e": -3.0}


@pytest.mark.parametrize("path, machine", [
    ("epoch.seconds.sage.seconds", True), ("stream.stream_s", True), ("throughput.pcaw.cpu_s_all[2]", True),
    ("stream.targets.total_s_max", True), ("throughput.pcaw.rows_per_s", True), ("sampler.speedup", True),
    ("memory.peak_rss_gib", True), ("machine.cpus", True), ("epoch.ratio_dual_vs_sage", True),
    ("dual.mrr.mean", False), ("stream.pcaw_auc", False), ("protocol.steps", False),
    ("summary.auc.values[1]", False), ("elapsed_window_minutes", False), ("seeds[0]", False),
])
def test_machine_measures_are_left_out(path, machine):
    assert verify.measures_the_machine(path) is machine


def test_compare_numbers_finds_the_largest_difference_and_its_path():
    committed = {"m": {"values": [0.5, 0.25]}, "n": 3, "wall_s": 10.0}
    reproduced = {"m": {"values": [0.5, 0.75]}, "n": 3, "wall_s": 99.0}  # wall time is not compared
    assert verify.compare_numbers(committed, reproduced) == (3, 0.5, "m.values[1]")
    assert verify.compare_numbers(committed, committed) == (3, 0.0, "")


def test_compare_numbers_counts_a_missing_number_or_nan_as_infinite():
    assert verify.compare_numbers({"a": 1, "b": 2}, {"a": 1}) == (2, math.inf, "b")
    assert verify.compare_numbers({"a": math.nan}, {"a": math.nan}) == (1, 0.0, "")
    assert verify.compare_numbers({"a": math.nan}, {"a": 0.0}) == (1, math.inf, "a")


def test_compare_files_marks_missing_and_frozen_files():
    rows = verify.compare_files(
        {"reports/metrics/x/a.json": {"v": 1.0}, "reports/metrics/x/gone.json": {},
         "reports/metrics/directed/search/g.json": {"v": 2.0}},
        {"reports/metrics/x/a.json": {"v": 1.5}, "reports/metrics/directed/search/g.json": {"v": 2.0}},
        frozenset({"reports/metrics/directed/search/g.json"}),
    )
    assert rows == [
        MetricRow("reports/metrics/directed/search/g.json", 1, 0.0, "", rerun=False),
        MetricRow("reports/metrics/x/a.json", 1, 0.5, "v"),
        MetricRow("reports/metrics/x/gone.json", 0, math.inf, "(missing on the reproduced side)"),
    ]
    assert [r.within for r in rows] == [True, False, False]


def _claims(**verdicts: str) -> dict:
    technique = {"C1": "directed", "C4": "delayed", "C6": "uncertainty", "C7": "uncertainty"}
    return {cid: {"verdict": v, "technique": technique[cid], "reason": "..."} for cid, v in verdicts.items()}


def test_compare_verdicts_claim_by_claim_and_by_technique():
    committed = _claims(C1="reproduced", C6="not reproduced", C7="partly reproduced")
    reproduced = _claims(C1="reproduced", C6="inconclusive", C4="reproduced")
    rows = verify.compare_verdicts(committed, reproduced)
    assert rows == [VerdictRow("C1", "reproduced", "reproduced"), VerdictRow("C4", None, "reproduced"),
                    VerdictRow("C6", "not reproduced", "inconclusive"), VerdictRow("C7", "partly reproduced", None)]
    assert [r.agree for r in rows] == [True, False, False, False]
    assert [r.claim_id for r in verify.compare_verdicts(committed, reproduced, "uncertainty")] == ["C6", "C7"]


def test_exit_status_fails_on_a_verdict_and_on_metrics_only_when_strict():
    agree, disagree = [VerdictRow("C1", "reproduced", "reproduced")], [VerdictRow("C1", "reproduced", "not reproduced")]
    equal, beyond = [MetricRow("f.json", 4, 0.0, "")], [MetricRow("f.json", 4, 1e-3, "a.b")]
    missing = [MetricRow("f.json", 0, math.inf, "(missing on the reproduced side)")]
    assert verify.exit_status(agree, equal) == 0
    assert verify.exit_status(disagree, equal) == 1
    assert verify.exit_status(agree, beyond) == 0
    assert verify.exit_status(agree, beyond, strict=True) == 1
    assert verify.exit_status(agree, missing) == 1
    assert verify.exit_status([], equal) == 1  # nothing compared is not a pass


def test_render_prints_both_tables_and_says_what_disagrees():
    table = verify.render([VerdictRow("C1", "reproduced", "reproduced"), VerdictRow("C2", "reproduced", "inconclusive")],
                          [MetricRow("reports/metrics/directed/cora_ml.json", 120, 0.031, "dual.mrr.values[2]")])
    assert "| C2 | reproduced | inconclusive | NO |" in table
    assert "| reports/metrics/directed/cora_ml.json | 120 | 0.031 | dual.mrr.values[2] | NO |" in table
    assert "verdicts: 1/2 agree; DISAGREE: C2" in table
    assert "metrics: 0/1 files within the tolerance 0; BEYOND: reports/metrics/directed/cora_ml.json" in table


def test_stage_plan_and_outputs_to_delete_skip_frozen_stages_and_add_the_report():
    dvc_yaml = {"stages": {
        "prepare": {"cmd": "x"}, "uncertainty_train": {"cmd": "x"}, "uncertainty_bench": {"cmd": "x"},
        "directed_train": {"cmd": "x"},
        "directed_search": {"cmd": "x", "frozen": True, "outs": [{"reports/metrics/directed/search": {"cache": False}}]},
        "report": {"cmd": "x"},
    }}
    assert verify.stage_plan(dvc_yaml, None) == [["--no-run-cache"]]
    assert verify.stage_plan(dvc_yaml, "uncertainty") == [
        ["--no-run-cache", "uncertainty_train", "uncertainty_bench"], ["--no-run-cache", "--single-item", "report"]]
    assert verify.stage_plan(dvc_yaml, "directed")[0] == ["--no-run-cache", "directed_train"]
    lock = {"schema": "2.0", "stages": {
        "prepare@cora": {"outs": [{"path": "data/prepared/cora", "md5": "x"}]},
        "uncertainty_train@kdd": {"outs": [{"path": "data/uncertainty/predictions/kdd"}]},
        "directed_search": {"outs": [{"path": "reports/metrics/directed/search"}]},
        "report": {"outs": [{"path": "reports/claims.json"}, {"path": "reports/claims.md"}]},
    }}
    every = set(lock["stages"])
    assert verify.outputs_to_delete(lock, dvc_yaml, None, every) == [
        "data/prepared/cora", "data/uncertainty/predictions/kdd", "reports/claims.json", "reports/claims.md"]
    assert verify.outputs_to_delete(lock, dvc_yaml, "uncertainty", every) == [
        "data/uncertainty/predictions/kdd", "reports/claims.json", "reports/claims.md"]
    # a stage the profile in use drops keeps its committed output (nothing would write it again)
    assert verify.outputs_to_delete(lock, dvc_yaml, "uncertainty", every - {"uncertainty_train@kdd"}) == [
        "reports/claims.json", "reports/claims.md"]


def _verify(work, env, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "recsys_challenges", "verify", "--profile", "experiments/tiny.yaml", *args],
                          cwd=work, env=env, capture_output=True, text=True)


def test_verify_one_technique_fails_after_a_committed_verdict_is_edited(tiny_project, tmp_path):
    work = tmp_path / "project"
    shutil.copytree(tiny_project[0], work, symlinks=True)
    env = tiny_project[1] | {"PYTHONPATH": str(work / "src")}
    claims = json.loads((work / "reports/claims.json").read_text())
    claims["C6"]["verdict"] = "reproduced" if claims["C6"]["verdict"] != "reproduced" else "not reproduced"
    (work / "reports/claims.json").write_text(json.dumps(claims))
    done = _verify(work, env, "--technique", "uncertainty")
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    assert f"| C6 | {claims['C6']['verdict']} |" in done.stdout and "DISAGREE: C6" in done.stdout
    assert f"| C7 | {claims['C7']['verdict']} | {claims['C7']['verdict']} | yes |" in done.stdout
    # every number of the rerun technique's metrics files equals the committed one
    assert "BEYOND" not in done.stdout and "| reports/metrics/uncertainty/criteo_head.json |" in done.stdout, done.stdout[-3000:]
    # the rerun file is compared, not copied (committed T3 files outside the tiny profile are copied)
    row = next(line for line in done.stdout.splitlines() if line.startswith("| reports/metrics/uncertainty/criteo_head.json |"))
    assert "not rerun" not in row


@pytest.mark.slow
def test_verify_whole_tiny_pipeline_exits_0(tiny_project, tmp_path):
    work = tmp_path / "project"
    shutil.copytree(tiny_project[0], work, symlinks=True)
    env = tiny_project[1] | {"PYTHONPATH": str(work / "src")}
    done = _verify(work, env)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "verdicts: 7/7 agree" in done.stdout and "BEYOND" not in done.stdout
