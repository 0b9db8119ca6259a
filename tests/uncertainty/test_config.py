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
        (DatasetParams, "uncertainty.datasets.kddcup2004_protein_neg10"),
    ],
)
def test_params_yaml_sections_load(cls, section):
    assert isinstance(load_section(cls, section, ROOT / "params.yaml"), cls)


def test_default_estimator_is_the_density_posterior_with_three_ablations_and_five_seeds():
    params = load_section(TrainParams, "uncertainty.train", ROOT / "params.yaml")
    assert params.estimator == "density_posterior"
    assert set(params.ablations) == {"posterior_network", "deep_ensemble", "mc_dropout"}
    assert params.deep_ensemble.members >= 5 and params.deep_ensemble.bootstrap and len(params.seeds) >= 5


def test_a_dataset_may_carry_its_own_split():
    spec = load_section(DatasetParams, "uncertainty.datasets.click_log_sim", ROOT / "params.yaml")
    assert spec.split is not None and spec.split.train + spec.split.holdout < 1


@pytest.mark.parametrize(
    ("cls", "section", "text", "message"),
    [
        (TrainParams, "train", "{estimator: bayes}", "'bayes' is not one of"),
        (TrainParams, "train", "{split: {train: 0.8, holdout: 0.3}}", "leave rows for test"),
        (TrainParams, "train", "{mc_dropout: {dropout: 0.0}}", "MC dropout needs dropout"),
        (TrainParams, "train", "{model: {hidden: []}}", "hidden"),
        (TrainParams, "train", "{epoch: 3}", "unknown key 'epoch'"),
        (TrainParams, "train", "{ablations: [density_posterior]}", "ablations must be distinct"),
        (TrainParams, "train", "{density_posterior: {bandwidth_multiples: [0.0]}}", "bandwidth_multiples"),
        (TrainParams, "train", "{density_posterior: {prior_count: 0}}", "prior_count"),
        (TrainParams, "train", "{posterior_network: {latent_dim: 0}}", "latent_dim"),
        (BoundaryParams, "boundaries", "{confidence: 1.0}", "confidence"),
        (BoundaryParams, "boundaries", "{cv_folds: 1}", "cv_folds must be >= 2"),
        (BoundaryParams, "boundaries", "{cv_levels: [2, 0]}", "cv_levels must all be >= 1"),
        (BoundaryParams, "boundaries", "{cv_rows_per_bin: [30, -5]}", "cv_rows_per_bin must list values >= 1"),
        (BoundaryParams, "boundaries", "{cv_rows_per_bin: []}", "cv_rows_per_bin must list values >= 1"),
        (BoundaryParams, "boundaries", "{min_positives_per_bin: 0}", "min_positives_per_bin must be >= 1"),
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


def test_cv_candidates_cross_levels_with_rows_per_bin_and_empty_levels_turn_cv_off():
    params = BoundaryParams(cv_levels=(2, 5), cv_rows_per_bin=(10, 300))
    assert params.cv_candidates == [(2, 10), (2, 300), (5, 10), (5, 300)]
    assert BoundaryParams(cv_levels=()).cv_candidates == []
