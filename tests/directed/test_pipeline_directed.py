"""End-to-end: the tiny profile's T1 outputs exist and are well-formed (``tiny_project`` fixture)."""

from __future__ import annotations

import json
import math

from recsys_challenges.directed.evaluate import POPULARITY
from tests.conftest import BIN, run_checked

PNG = b"\x89PNG\r\n\x1a\n"


def _finite(summary):
    return all(math.isfinite(v["mean"]) for v in summary.values())


def test_metrics_files_follow_the_schema(tiny_project):
    work, _, _ = tiny_project
    for dataset in ("cora", "amazon_music_reviews"):
        payload = json.loads((work / f"reports/metrics/directed/{dataset}.json").read_text())
        assert (payload["technique"], payload["dataset"], payload["data_kind"], payload["seeds"]) == (
            "directed", dataset, "real", [0]
        )
        methods = {POPULARITY, "dual_adaptive", "dual_fixed", "dual_paper_loss", "sage", "shallow", "gravity_gae"}
        assert set(payload["summary"]) == methods
        assert payload["selection"]["dual_adaptive"]["budget_bound"] == [True]  # the tiny profile's 2 epochs bind
        shares = payload["neighbourhood"]
        assert shares["dual_fixed"] == {"overall": [0.0], "lowest_quarter": [0.0]}
        assert 0 < shares["dual_adaptive"]["overall"][0] <= 1
        for method, summary in payload["summary"].items():
            assert {"mrr", "hitrate@10", "mrr_sampled", "direction_auc"} <= set(summary), method
            assert _finite(summary) and summary["mrr"]["values"] == [summary["mrr"]["mean"]]
        assert payload["summary"]["sage"]["direction_auc"]["mean"] == 0.5  # symmetric scorer
        assert set(payload["by_degree"]["dual_adaptive"]) == {"q1", "q2", "q3", "q4"}
        assert payload["protocol"]["ranking"] == "all_nodes_filtered"


def test_planted_control_is_written(tiny_project):
    work, _, _ = tiny_project
    payload = json.loads((work / "reports/metrics/directed/planted_two_hop.json").read_text())
    assert (payload["data_kind"], payload["seeds"]) == ("simulated", [0])
    assert set(payload["summary"]) == {"pool_adaptive", "pool_fixed", "dual_adaptive", "dual_fixed"}
    assert payload["summary"]["pool_adaptive"]["mrr"]["mean"] > payload["summary"]["pool_fixed"]["mrr"]["mean"]


def test_figures_are_written(tiny_project):
    work, _, _ = tiny_project
    figures = work / "reports/figures/directed"
    for name in ("c1_direction_auc", "c2_ranking", "c3_degree_buckets", "example_forward_backward"):
        assert (figures / f"{name}.png").read_bytes()[:8] == PNG
    assert "forward" in (figures / "example_forward_backward.md").read_text()


def test_bench_runs_on_the_pipelines_outputs(tiny_project):
    """``make bench``'s first command, outside ``dvc repro``."""
    work, env, _ = tiny_project
    run_checked([str(BIN / "python"), "-m", "recsys_challenges", "directed-bench"], work, env)
    bench = json.loads((work / "reports/bench/directed.json").read_text())
    assert bench["epoch"]["ratio_dual_vs_sage"] > 0 and bench["sampler"]["speedup"] > 0
    assert bench["memory"]["edges"] == 20000 and bench["memory"]["peak_rss_gib"] > 0
