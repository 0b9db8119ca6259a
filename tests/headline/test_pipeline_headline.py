"""DVC as its users use it, on the tiny profile's ``dvc repro`` (fixture ``tiny_project``):
``dvc metrics show`` prints a few named numbers per file, the verdict summary agrees with
claims.md, ``dvc metrics diff`` / ``dvc exp show`` name what an experiment changed, and the page
of ``dvc plots show`` draws its charts with the network cut off."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from recsys_challenges.directed.config import load_datasets
from recsys_challenges.profiles import read_profile
from recsys_challenges.report.evidence import ClaimResult
from recsys_challenges.report.render import VERDICT_CODE, VERDICT_MARK, stability_text
from recsys_challenges.report.screenshot import find_chromium, rendered_dom
from tests.conftest import BIN, ROOT, run_checked
from tests.test_experiments import committed_copy

# the most numbers a headline file may hold per dataset, and any metrics file in all: the tiny
# project's payload folders also hold the committed default profile's files (as the report reads
# them), so T1's file has ten numbers for each graph of either profile
MAX_NUMBERS_PER_DATASET = 15
T1_GRAPHS = set(load_datasets(ROOT / "params.yaml")) | set(
    read_profile(ROOT / "experiments" / "tiny.yaml")["directed"]["datasets"])
MAX_NUMBERS_PER_FILE = 10 * len(T1_GRAPHS)
HEADLINES = {f"reports/headline/{name}.json" for name in ("claims", "directed", "delayed", "uncertainty")}


def numbers(node) -> int:
    if isinstance(node, dict):
        return sum(numbers(v) for v in node.values())
    return int(isinstance(node, int | float) and not isinstance(node, bool))


def test_metrics_show_prints_few_numbers_per_file_and_loads_every_file(tiny_project):
    work, env, _ = tiny_project
    shown = json.loads(run_checked([str(BIN / "dvc"), "metrics", "show", "--json"], work, env).stdout)
    (revision,) = shown.values()  # the workspace (no commit in the fixture)
    files = revision["data"]
    assert HEADLINES <= set(files)
    assert not [name for name in files if name.startswith("reports/metrics/")]  # payloads are outs now
    for name, entry in files.items():
        assert "error" not in entry, f"{name}: {entry['error']}"
        assert 0 < numbers(entry["data"]) <= MAX_NUMBERS_PER_FILE, name
    for name in HEADLINES - {"reports/headline/claims.json"}:
        assert all(numbers(dataset) <= MAX_NUMBERS_PER_DATASET for dataset in files[name]["data"].values()), name


def verdict_rows(reports: Path) -> dict[str, tuple[str, str]]:
    """claim id -> (verdict, stability) as the table at the top of claims.md prints them."""
    marks = {mark: verdict for verdict, mark in VERDICT_MARK.items()}
    rows = re.findall(r"^\| (C\d+) [^|]*\| [^|]*\| \*\*([^*]+)\*\* \| ([^|]+) \|", (reports / "claims.md").read_text(), re.M)
    return {claim: (marks[mark], stability.strip()) for claim, mark, stability in rows}


@pytest.mark.parametrize("where", ["committed", "tiny"])
def test_verdict_summary_matches_claims_md_and_claims_json(where, request):
    reports = ROOT / "reports" if where == "committed" else request.getfixturevalue("tiny_project")[0] / "reports"
    summary = json.loads((reports / "headline/claims.json").read_text())
    claims = json.loads((reports / "claims.json").read_text())
    table = verdict_rows(reports)
    assert sorted(summary) == sorted(table) == sorted(claims)
    for claim, (verdict, stability) in table.items():
        assert summary[claim]["verdict"] == VERDICT_CODE[verdict] == VERDICT_CODE[claims[claim]["verdict"]]
        entry = claims[claim]
        shown = ClaimResult(claim, verdict, "", stability=summary[claim]["stability"], tipped_by=entry["tipped_by"],
                            unstable=entry["unstable"])
        assert stability_text(shown) == stability


def test_an_experiment_shows_in_metrics_diff_and_exp_show(tiny_project, tmp_path):
    """One ``-S`` experiment, on a copy of the tiny project, that reruns T3's evaluation with fewer
    bootstrap resamples: the C6 MDE moves, and ``metrics diff`` and ``exp show`` say where."""
    copy, env = committed_copy(tiny_project, tmp_path / "project")
    dvc = str(BIN / "dvc")
    run_checked([dvc, "exp", "run", "--name", "fewer-resamples", "-S", "uncertainty.evaluate.bootstrap_resamples=20"], copy, env)
    diff = json.loads(run_checked([dvc, "metrics", "diff", "HEAD", "fewer-resamples", "--json"], copy, env).stdout)
    assert any(key.endswith(".c6_mde") for key in diff["reports/headline/uncertainty.json"]), diff
    assert set(diff) <= HEADLINES
    table = run_checked([dvc, "exp", "show", "--only-changed", "--csv"], copy, env).stdout
    header = table.splitlines()[0].split(",")
    assert "uncertainty.evaluate.bootstrap_resamples" in header
    assert any(column.endswith(".c6_mde") for column in header)
    assert not any(column.startswith(("directed", "delayed")) for column in header), header


def charts_drawn(dom: str) -> list[str]:
    """The ids of the data plots (C1, T2, C7) whose div holds a drawn canvas or svg."""
    marks = [(m.start(), m.group(1)) for m in re.finditer(r'<div id="([^"]+)"', dom)] + [(len(dom), "")]
    return [name for (start, name), (end, _) in zip(marks, marks[1:])
            if name.startswith(("C1_", "T2_", "C7_")) and re.search(r"<canvas|<svg", dom[start:end])]


@pytest.mark.skipif(find_chromium() is None, reason="no Chromium on this machine (apt install chromium)")
def test_dvc_plots_page_draws_its_charts_offline(tiny_project, tmp_path):
    work, env, _ = tiny_project
    run_checked([str(BIN / "dvc"), "plots", "show", "-o", str(tmp_path / "plots")], work, env)
    page = tmp_path / "plots/index.html"
    assert len(charts_drawn(rendered_dom(page))) == 3
    # the control: the same page without the embedded vega draws nothing offline
    html = page.read_text()
    bare = tmp_path / "bare.html"
    bare.write_text(html[: html.index("<!-- vega 5.20.2")] + html[html.index("</head>"):])
    assert charts_drawn(rendered_dom(bare)) == []
