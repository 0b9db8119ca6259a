"""The claim texts take their numbers from params.yaml and the rules' constants, so they cannot drift
from the runs they describe; the report reads the techniques' config modules and nothing else of them."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

from recsys_challenges.report.claims import CLAIMS, RULES, claim_texts, grid, load_claim_params, number, percent
from recsys_challenges.report.claims import delayed, directed, uncertainty
from tests.conftest import ROOT

PARAMS_FILE = ROOT / "params.yaml"


def _with(tmp_path, section: str, **values):
    """params.yaml with ``values`` set in ``section`` (dotted), written under ``tmp_path``."""
    params = yaml.safe_load(PARAMS_FILE.read_text())
    node = params
    for part in section.split("."):
        node = node[part]
    node.update(values)
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    return path


def _rules(path) -> dict[str, str]:
    return {text.claim_id: text.rule for text in claim_texts(load_claim_params(path))}


def test_every_claim_sits_in_its_technique_module_in_report_order():
    assert [c.claim_id for c in CLAIMS] == [f"C{i}" for i in range(1, 8)]
    assert list(RULES) == [c.claim_id for c in CLAIMS]
    modules = {"directed": directed, "delayed": delayed, "uncertainty": uncertainty}
    for claim, text in zip(CLAIMS, claim_texts(load_claim_params(PARAMS_FILE)), strict=True):
        assert text.claim_id == claim.claim_id
        module = modules[text.technique]
        assert getattr(module, claim.claim_id) is claim
        assert claim.rule.__module__ == claim.text.__module__ == module.__name__


def test_numbers_are_written_as_the_texts_had_them():
    assert [number(v) for v in (0.003, 0.0, 1.0, 1e-6, 32, 0.2)] == ["0.003", "0", "1", "1e-6", "32", "0.2"]
    assert [percent(v) for v in (0.995, 0.05, 0.06, 0.25, 0.5)] == ["99.5%", "5%", "6%", "25%", "50%"]
    assert grid([0.0, 0.1, 0.3, 1.0]) == "{0, 0.1, 0.3, 1}"


def test_the_default_texts_quote_params_yaml():
    params = load_claim_params(PARAMS_FILE)
    rules = _rules(PARAMS_FILE)
    train = params.directed_train
    assert f"up to {train.max_epochs} epochs, early stopping with patience {train.patience}" in rules["C2"]
    assert f"against {params.directed_evaluate.num_candidates} sampled candidates" in rules["C2"]
    assert f"with a {percent(params.uncertainty_boundaries.confidence)} Wilson" in rules["C7"]
    assert f"reaches a slope of -{number(params.uncertainty_evaluate.c6_effect)} " in rules["C6"]
    assert f"reaches the paper's +{percent(uncertainty.PAPER_RECALL_GAIN)} could" in rules["C7"]
    assert f"fewer than {percent(directed.MIN_NEIGHBOURHOOD_DIFFERENCE)} of all nodes" in rules["C3"]


@pytest.mark.parametrize(
    "section,values,claim,before,after",
    [
        ("directed.train", {"max_epochs": 40}, "C2", "up to 300 epochs", "up to 40 epochs"),
        ("directed.train", {"patience": 3}, "C2", "patience 20)", "patience 3)"),
        ("directed.evaluate", {"num_candidates": 200}, "C2", "against 100 sampled", "against 200 sampled"),
        ("directed.search", {"learning_rate": [0.05]}, "C2", "learning rate {0.003, 0.01, 0.02}", "learning rate {0.05}"),
        ("directed.search", {"datasets": ["cora_ml"], "seed": 4}, "C2", "(Cora-ML and CiteSeer, seed 0,", "(Cora-ML, seed 4,"),
        ("directed.model", {"dim": 64}, "C2", "at width 32,", "at width 64,"),
        ("directed.sampling", {"exponent": 1.5}, "C3", "^-(alpha - 1), alpha fitted per graph", "^-1.5, a fixed exponent"),
        ("uncertainty.boundaries", {"confidence": 0.99}, "C7", "a 99.5% Wilson", "a 99% Wilson"),
        ("uncertainty.evaluate", {"c6_effect": 0.3}, "C6", "a slope of -0.2 ", "a slope of -0.3 "),
        ("uncertainty.evaluate", {"uninformative_ceiling": 0.1}, "C6", "ceiling >= 5%)", "ceiling >= 10%)"),
    ],
)
def test_changing_a_param_changes_the_text(tmp_path, section, values, claim, before, after):
    assert before in _rules(PARAMS_FILE)[claim]
    changed = _rules(_with(tmp_path, section, **values))[claim]
    assert before not in changed and after in changed


def test_the_report_imports_no_technique_module_but_their_configs():
    """The rules (and the headline stages that import their method names) load no technique module;
    the texts' params load the techniques' config modules and what those import, nothing more."""
    listed = "import sys; print(sorted(m for m in sys.modules if m.split('.')[1:2] in (['directed'], ['delayed'], ['uncertainty'])))"
    report = subprocess.run(
        [sys.executable, "-c", f"import recsys_challenges.report.stage, recsys_challenges.headline.directed; {listed}"],
        capture_output=True, text=True, check=True,
    ).stdout
    assert report.strip() == "[]"
    texts = subprocess.run(
        [sys.executable, "-c", f"from recsys_challenges.report.claims import load_claim_params as f; f({str(PARAMS_FILE)!r}); {listed}"],
        capture_output=True, text=True, check=True,
    ).stdout
    configs = subprocess.run(
        [sys.executable, "-c", f"import recsys_challenges.directed.config, recsys_challenges.uncertainty.config; {listed}"],
        capture_output=True, text=True, check=True,
    ).stdout
    assert texts == configs and "recsys_challenges.directed.config" in texts
