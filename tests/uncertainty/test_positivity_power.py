"""The C6 statistic with power: IRLS against scikit-learn, a planted slope, a planted null."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import expit
from sklearn.linear_model import LogisticRegression

from recsys_challenges.uncertainty.positivity import c6_slope, c6_statistic, fit_logistic


def test_fit_logistic_matches_scikit_learn_unpenalised():
    rng = np.random.default_rng(0)
    design = np.column_stack([np.ones(3000), rng.normal(size=(3000, 2))])
    labels = (rng.random(3000) < expit(design @ np.array([-0.5, 1.0, -2.0]))).astype(float)
    reference = LogisticRegression(C=np.inf, fit_intercept=False, tol=1e-10, max_iter=1000).fit(design, labels)
    assert fit_logistic(design, labels) == pytest.approx(reference.coef_[0], abs=1e-4)


def test_c6_slope_accepts_true_probabilities_as_the_target():
    # the noise-free slope of a simulator: the target is the true probability itself
    rng = np.random.default_rng(1)
    score, uncertainty = rng.uniform(0.05, 0.95, 20_000), rng.random(20_000)
    truth = expit(np.log(score / (1 - score)) - 0.8 * uncertainty)
    assert c6_slope(score, uncertainty, truth, bins=8, from_bin=4) == pytest.approx(-0.8, abs=0.05)


def _planted(rows: int, slope: float, base: float, seeds: int, rng: np.random.Generator):
    """Scores that are the true log-odds without the planted uncertainty term, for ``seeds`` seeds
    that share the test rows (their scores and uncertainties differ by a little noise)."""
    eta, uncertainty = rng.normal(base, 1.0, rows), rng.random(rows)
    labels = (rng.random(rows) < expit(eta + slope * uncertainty)).astype(np.int8)
    scores = np.stack([expit(eta + rng.normal(0, 0.05, rows)) for _ in range(seeds)])
    uncertainties = np.stack([np.clip(uncertainty + rng.normal(0, 0.02, rows), 0, 1) for _ in range(seeds)])
    return scores, uncertainties, labels


def test_c6_statistic_recovers_a_planted_slope():
    rng = np.random.default_rng(2)
    scores, uncertainties, labels = _planted(60_000, -0.6, -1.0, seeds=3, rng=rng)
    result = c6_statistic(scores, uncertainties, labels, np.arange(len(labels)), 10, 5, 0.2, 300, 0)
    assert result["ci_method"] == "group_bootstrap" and len(result["values"]) == 3
    assert result["outcome"] == "negative"
    assert result["ci95"][0] < -0.6 < result["ci95"][1]
    assert result["mde"] < 0.6  # the data could see an effect of this size


def test_c6_statistic_is_inconclusive_on_a_planted_null_with_few_positives():
    rng = np.random.default_rng(3)
    scores, uncertainties, labels = _planted(3000, 0.0, -4.0, seeds=2, rng=rng)
    assert labels.sum() < 100
    result = c6_statistic(scores, uncertainties, labels, np.arange(len(labels)), 10, 5, 0.2, 300, 0)
    assert result["ci95"][0] < 0 < result["ci95"][1]
    assert result["mde"] > 0.2 and result["outcome"] == "inconclusive"


def test_c6_statistic_says_null_when_a_planted_null_has_power():
    rng = np.random.default_rng(4)
    scores, uncertainties, labels = _planted(200_000, 0.0, -1.0, seeds=2, rng=rng)
    result = c6_statistic(scores, uncertainties, labels, np.arange(len(labels)), 10, 5, 0.2, 200, 0)
    assert result["mde"] < 0.2 and result["outcome"] == "null"


def test_groups_move_together_in_the_bootstrap():
    # duplicating every row into a group of 4 adds no information: the CI stays as wide as with one
    rng = np.random.default_rng(5)
    scores, uncertainties, labels = _planted(20_000, -0.5, -1.0, seeds=1, rng=rng)
    single = c6_statistic(scores, uncertainties, labels, np.arange(20_000), 10, 5, 0.2, 300, 0)
    repeat = lambda a: np.repeat(a, 4, axis=-1)  # noqa: E731
    grouped = c6_statistic(repeat(scores), repeat(uncertainties), repeat(labels), repeat(np.arange(20_000)), 10, 5,
                           0.2, 300, 0)
    assert grouped["se"] == pytest.approx(single["se"], rel=0.25)
