from __future__ import annotations

import pytest

from recsys_challenges.config import load_section
from recsys_challenges.errors import ConfigError
from recsys_challenges.uncertainty.config import (
    BenchParams,
    BoundaryParams,
    DatasetParams,
    EvaluateParams,
    FigureParams,
    TrainParams,
)
from tests.conftest import ROOT


@pytest.mark.parametrize(
    ("cls", "section"),
    [
        (TrainParams, "uncertainty.train"),
        (BoundaryParams, "uncertainty.boundaries"),
        (EvaluateParams, "uncertainty.evaluate"),
        (FigureParams, "uncertainty.figures"),
        (BenchParams, "uncertainty.bench"),
        (DatasetParams, "uncertainty.datasets.kddcup2004_protein"),
        (DatasetParams, "uncertainty.datasets.click_log_sim"),
    ],
)
def test_params_yaml_sections_load(cls, section):
    assert isinstance(load_section(cls, section, ROOT / "params.yaml"), cls)


def test_default_estimator_is_a_deep_ensemble_of_at_least_five():
    params = load_section(TrainParams, "uncertainty.train", ROOT / "params.yaml")
    assert params.estimator == "deep_ensemble" and params.deep_ensemble.members >= 5 and len(params.seeds) >= 3


@pytest.mark.parametrize(
    ("cls", "section", "text", "message"),
    [
        (TrainParams, "train", "{estimator: bayes}", "'bayes' is not one of"),
        (TrainParams, "train", "{split: {train: 0.8, holdout: 0.3}}", "leave rows for test"),
        (TrainParams, "train", "{mc_dropout: {dropout: 0.0}}", "MC dropout needs dropout"),
        (TrainParams, "train", "{model: {hidden: []}}", "hidden"),
        (TrainParams, "train", "{epoch: 3}", "unknown key 'epoch'"),
        (DatasetParams, "datasets.x", "{folder: f, loader: nope, kind: real}", "unknown loader 'nope'"),
        (DatasetParams, "datasets.x", "{folder: f, loader: criteo, kind: real, negative_keep: 0}", "negative_keep"),
        (EvaluateParams, "evaluate", "{precision_bounds: [0.5, 1.5]}", "precision bounds"),
    ],
)
def test_bad_params_name_the_problem(tmp_path, cls, section, text, message):
    path = tmp_path / "params.yaml"
    *parents, leaf = section.split(".")
    nested = "".join(f"{'  ' * (i + 1)}{parent}:\n" for i, parent in enumerate(parents))
    path.write_text(f"uncertainty:\n{nested}{'  ' * (len(parents) + 1)}{leaf}: {text}\n")
    with pytest.raises(ConfigError, match=message):
        load_section(cls, f"uncertainty.{section}", path)
