"""The cross-validated choice of EW-DPMT's and MIST's grid (levels x score bins per level)."""

from __future__ import annotations

import numpy as np
import pytest

from recsys_challenges.uncertainty.boundaries import bins_per_level, equi_weight_binning, ew_dpmt
from recsys_challenges.uncertainty.grid_cv import choose_grid, held_fold_selections, stratified_folds, top_bin_support
from tests.uncertainty.test_boundaries import LABELS, SCORES

# A hold-out for choose_grid where the right grid is known by construction: 2000 rows with distinct
# scores i / 2000; even rows are "clean" (uncertainty in [0, 0.1), positive iff score >= 0.5), odd
# rows "noisy" (uncertainty in [1, 1.1), 30% positive at every score: 3 of every 10 consecutive
# noisy rows). One level mixes them (its top bins are ~65% positive: nothing meets 0.9); two levels
# cut at the median uncertainty put the clean rows alone in level 0, whose top half is all positive.
CV_ROWS = 2000
CV_SCORE = np.arange(CV_ROWS) / CV_ROWS
CV_NOISY = np.arange(CV_ROWS) % 2 == 1
CV_UNCERTAINTY = CV_NOISY + 0.1 * CV_SCORE
CV_LABELS = np.where(CV_NOISY, (np.arange(CV_ROWS) // 2) % 10 < 3, CV_SCORE >= 0.5).astype(np.int8)
CV_SETTINGS = dict(max_bins=1000, folds=5, confidence=0.995, seed=0)


def test_choose_grid_picks_the_two_level_grid_that_separates_clean_from_noisy_rows():
    (choice,) = choose_grid(
        CV_SCORE, CV_UNCERTAINTY, CV_LABELS, [0.9], [(1, 20), (2, 20)], (1, 20), min_positives=1, **CV_SETTINGS
    )
    one_level, two_levels = choice.candidates
    # 2000 rows / (2 levels x 20 rows per bin) = 50 bins per level
    assert (choice.levels, choice.bins, choice.fallback) == (2, 50, False)
    assert not one_level.admissible and one_level.selected_rows == 0
    # the clean level's 500 positives are 500 / 800 of all positives; noisy bins add little
    clean_share = 500 / CV_LABELS.sum()
    assert two_levels.admissible and clean_share - 0.05 <= two_levels.recall <= clean_share + 0.05
    assert two_levels.selected_positives >= 0.9 * two_levels.selected_rows


def test_choose_grid_never_picks_a_grid_whose_top_bins_hold_too_few_positives():
    # 5 rows per bin: a top bin holds at most 5 positives < 10; with 50 rows per bin the noisy
    # level's top bin holds 15 (30% of 50) and the clean level's 50. The small bins recall more on
    # the held folds (their boundary is finer), and win only when the minimum is dropped.
    candidates = [(2, 5), (2, 50)]
    (choice,) = choose_grid(
        CV_SCORE, CV_UNCERTAINTY, CV_LABELS, [0.9], candidates, (1, 20), min_positives=10, **CV_SETTINGS
    )
    small, large = choice.candidates
    assert small.top_bin_positives <= 5 and not small.admissible
    assert large.top_bin_positives == 15 and large.admissible
    assert small.selected_positives > large.selected_positives
    assert bins_per_level(CV_ROWS, 2, 50, 1000) == 20
    assert (choice.levels, choice.bins, choice.fallback) == (2, 20, False)
    (unconstrained,) = choose_grid(
        CV_SCORE, CV_UNCERTAINTY, CV_LABELS, [0.9], candidates, (1, 20), min_positives=0, **CV_SETTINGS
    )
    assert (unconstrained.levels, unconstrained.bins) == (2, 200)


def test_choose_grid_falls_back_to_the_default_grid_when_no_candidate_is_admissible():
    # every row is noisy (30% positive at every score): no grid reaches precision 0.9
    labels = ((np.arange(CV_ROWS) // 2) % 10 < 3).astype(np.int8)
    choices = choose_grid(
        CV_SCORE, CV_UNCERTAINTY, labels, [0.9, 1.0], [(1, 20), (2, 20)], (3, 20), min_positives=1, **CV_SETTINGS
    )
    for choice in choices:
        # default grid: 2000 rows / (3 levels x 20 rows per bin) = 33 bins per level
        assert (choice.levels, choice.bins, choice.fallback) == (3, 33, True)
        assert not any(c.admissible for c in choice.candidates)


def test_choose_grid_is_deterministic_given_the_seed():
    args = (CV_SCORE, CV_UNCERTAINTY, CV_LABELS, [0.7, 0.9], [(1, 20), (2, 20), (2, 50), (4, 10)], (1, 20))
    first = choose_grid(*args, min_positives=1, **CV_SETTINGS)
    assert choose_grid(*args, min_positives=1, **CV_SETTINGS) == first
    assert [c.bound for c in first] == [0.7, 0.9]


def test_stratified_folds_share_the_positives_evenly():
    # 4 positives and 5 negatives dealt round-robin over 3 folds after sorting by label: every fold
    # gets 3 rows, and 1 or 2 positives
    labels = np.array([1, 0, 1, 0, 1, 0, 0, 1, 0])
    fold = stratified_folds(labels, 3, seed=0)
    assert np.bincount(fold).tolist() == [3, 3, 3]
    assert sorted(np.bincount(fold, weights=labels).tolist()) == [1.0, 1.0, 2.0]
    assert stratified_folds(labels, 3, seed=0).tolist() == fold.tolist()


def test_choose_grid_rejects_too_few_folds():
    with pytest.raises(ValueError, match="folds"):
        choose_grid(
            SCORES, SCORES, LABELS, [0.5], [(1, 1)], (1, 1), max_bins=10, folds=1, min_positives=1, confidence=None,
            seed=0,
        )


def test_held_fold_selections_equal_one_binning_and_one_dp_per_fold_grid_and_bound():
    # the shared level sorts, held-row levels and multi-bound DP against the plain computation
    candidates, bounds, folds = [(2, 10), (2, 30), (3, 10), (1, 100), (3, 300)], [0.5, 0.9, 0.7], 4
    fold = stratified_folds(CV_LABELS, folds, seed=1)
    positives, rows = held_fold_selections(CV_SCORE, CV_UNCERTAINTY, CV_LABELS, fold, bounds, candidates, 1000, 0.995)
    expected_positives, expected_rows = np.zeros((3, 5)), np.zeros((3, 5), dtype=np.int64)
    for held_fold in range(folds):
        train, held = fold != held_fold, fold == held_fold
        for c, (levels, per_bin) in enumerate(candidates):
            bins = bins_per_level(int(train.sum()), levels, per_bin, 1000)
            binning = equi_weight_binning(CV_SCORE[train], CV_UNCERTAINTY[train], CV_LABELS[train], levels, bins)
            for b, bound in enumerate(bounds):
                selected = ew_dpmt(binning, bound, 0.995).predict(CV_SCORE[held], CV_UNCERTAINTY[held])
                expected_positives[b, c] += CV_LABELS[held][selected].sum()
                expected_rows[b, c] += selected.sum()
    assert np.array_equal(positives, expected_positives) and np.array_equal(rows, expected_rows)
    assert rows.sum() > 0  # something was selected: the comparison is not between empty selections
    support = top_bin_support(CV_SCORE, CV_UNCERTAINTY, CV_LABELS, [(2, 5), (2, 50), (3, 5)])
    assert support == {grid: float(equi_weight_binning(CV_SCORE, CV_UNCERTAINTY, CV_LABELS, *grid).positives[:, -1].min())
                       for grid in [(2, 5), (2, 50), (3, 5)]}
