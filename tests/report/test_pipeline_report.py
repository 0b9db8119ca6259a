"""The report stages in the tiny profile's ``dvc repro`` (fixture ``tiny_project``): claims, gallery,
offline plots, and the W&B offline runs of its trainings."""

from __future__ import annotations

import json
import re

from recsys_challenges.report.claims import claim_texts, judge, load_claim_params
from recsys_challenges.report.evidence import load_metrics
from tests.conftest import BIN, run_checked

REMOTE = re.compile(r"""(src|href)=["']?(https?:)?//""")


def test_claims_list_all_seven_with_the_verdicts_of_the_rules(tiny_project):
    work, _, _ = tiny_project
    written = json.loads((work / "reports/claims.json").read_text())
    assert sorted(written) == [f"C{i}" for i in range(1, 8)]
    expected = judge(load_metrics(work / "reports/metrics"))
    assert {k: v["verdict"] for k, v in written.items()} == {k: r.verdict for k, r in expected.items()}
    markdown = (work / "reports/claims.md").read_text()
    for text in claim_texts(load_claim_params(work / "params.yaml")):
        assert f"## {text.claim_id}: {text.title}" in markdown
        assert f"*Rule:* {text.rule}" in markdown  # the texts quote the tiny profile's params


def test_gallery_shows_every_figure_and_needs_no_network(tiny_project):
    work, _, _ = tiny_project
    page = (work / "reports/index.html").read_text()
    figures = sorted((work / "reports/figures").rglob("*.png"))
    linked = re.findall(r"<img [^>]*src='([^']+)'", page)
    assert figures and sorted(work / "reports" / path for path in linked) == figures
    assert not REMOTE.search(page)
    readme = (work / "reports/README.md").read_text()
    assert all(f"]({f.relative_to(work / 'reports').as_posix()})" in readme for f in figures)


def test_dvc_plots_render_offline(tiny_project, tmp_path):
    work, env, _ = tiny_project
    run_checked([str(BIN / "dvc"), "plots", "show", "-o", str(tmp_path / "plots")], work, env)
    page = (tmp_path / "plots/index.html").read_text()
    assert "<img" in page and not REMOTE.search(page)


def test_training_runs_are_logged_to_wandb_offline(tiny_project):
    """W&B 0.31 writes offline runs as protobuf records with no Python reader, so the check is on
    the bytes: the run's name, its config (with the seeds) and its logged metric are in the file."""
    work, _, _ = tiny_project
    runs = sorted((work / "runs/wandb/wandb").glob("offline-run-*/run-*.wandb"))
    assert runs, "no offline W&B run"
    contents = [run.read_bytes() for run in runs]
    logged = [c for c in contents if b"uncertainty/criteo_head/" in c]
    assert logged and all(b'"seeds"' in c and b"train/loss" in c for c in logged)
