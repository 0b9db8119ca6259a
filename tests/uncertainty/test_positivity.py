from __future__ import annotations

import numpy as np
import pytest
from scipy.special import expit

from recsys_challenges.uncertainty.positivity import (
    assign_cells,
    c6_slope,
    clopper_pearson,
    positivity_grid,
    score_bin_edges,
)


def test_clopper_pearson_by_hand():
    # 0 of 10: [0, 1 - 0.025^(1/10)] = [0, 0.30850]; 10 of 10: [0.025^(1/10), 1] = [0.69150, 1];
    # 5 of 10: the textbook [0.18709, 0.81291]; no rows: [0, 1]
    low, high = clopper_pearson(np.array([0, 10, 5, 0]), np.array([10, 10, 10, 0]))
    assert low == pytest.approx([0.0, 0.69150, 0.18709, 0.0], abs=1e-5)
    assert high == pytest.approx([0.30850, 1.0, 0.81291, 1.0], abs=1e-5)


def test_score_bin_edges_by_hand():
    # scores 0, 0, 0, 1: weights 1/4 + s/1 = 0.25, 0.25, 0.25, 1.25 (total 2); half of it (1.0)
    # is first reached at the fourth row, so the edge is 1: the positive-scored row gets its own bin
    assert score_bin_edges(np.array([0.0, 0.0, 0.0, 1.0]), 2).tolist() == [1.0]


def test_cells_and_grid_by_hand():
    # two score bins (edge 0.5); inside each, the 2 least uncertain rows form level 0
    score = np.array([0.1, 0.2, 0.3, 0.4, 0.6, 0.7, 0.8, 0.9])
    uncertainty = np.array([4, 1, 3, 2, 0.1, 0.4, 0.2, 0.3])
    labels = np.array([0, 1, 0, 1, 1, 0, 1, 0])
    score_bin, quantile = assign_cells(score, uncertainty, np.array([0.5]))
    assert score_bin.tolist() == [0, 0, 0, 0, 1, 1, 1, 1]
    assert quantile.tolist() == [0.875, 0.125, 0.625, 0.375, 0.125, 0.875, 0.375, 0.625]
    # weights 1/8 + s/4 = 0.15, 0.175, 0.2, 0.225, 0.275, ...: cumulative 0.15, 0.325, 0.525, 0.75,
    # 1.025 first reaches half the total (1.0) at score 0.6, the same split into 0.1-0.4 | 0.6-0.9.
    # Level 0 of each bin = its 2 least uncertain rows: (0.2, 0.4) both positive, (0.6, 0.8) both
    # positive; level 1: (0.1, 0.3) and (0.7, 0.9), all negative.
    grid = positivity_grid(score, uncertainty, labels, bins=2, levels=2)
    assert grid.score_edges.tolist() == [0.6]
    assert grid.rows.tolist() == [[2, 2], [2, 2]]
    assert grid.positives.tolist() == [[2, 0], [2, 0]]
    assert grid.rate.tolist() == [[1.0, 0.0], [1.0, 0.0]]
    assert grid.mean_score[0].tolist() == pytest.approx([0.3, 0.2])
    assert grid.decreasing_fraction() == 1.0


@pytest.mark.parametrize("direction", [-1, 1])
def test_c6_slope_has_the_sign_of_the_uncertainty_effect(direction):
    rng = np.random.default_rng(0)
    score = rng.uniform(0.05, 0.95, 40_000)
    uncertainty = rng.random(40_000)
    truth = expit(np.log(score / (1 - score)) + direction * 1.5 * (uncertainty - 0.5))
    labels = (rng.random(40_000) < truth).astype(int)
    slope = c6_slope(score, uncertainty, labels, bins=8)
    assert np.sign(slope) == direction and abs(slope) == pytest.approx(1.5, abs=0.3)
