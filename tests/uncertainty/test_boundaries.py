from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import expit

from recsys_challenges.uncertainty.boundaries import (
    METHODS,
    HoldOut,
    equi_weight_binning,
    ew_dpmt,
    ew_dpmt_bounds,
    fit_detrender,
    isotonic_rates,
    meets_bound,
    mist,
    recalibrated_scores,
    single_threshold,
    wilson_lower,
)
from recsys_challenges.uncertainty.config import BoundaryParams

# Hand example for the single threshold. Ranked by score (desc), cumulative positives / rows:
#   t=0.9: 1/1   t=0.8: 2/3 (the tie 0.8 is taken whole)   t=0.7: 3/4   t=0.6: 3/5   t=0.5: 4/6
#   t=0.4: 4/7   t=0.35: 4/8   t=0.3: 5/9
SCORES = np.array([0.9, 0.8, 0.8, 0.7, 0.6, 0.5, 0.4, 0.35, 0.3])
LABELS = np.array([1, 1, 0, 1, 0, 1, 0, 0, 1])


@pytest.mark.parametrize(
    ("bound", "threshold", "recall"),
    [
        (0.6, 0.5, 4 / 5),  # 0.9 .. 0.5 all meet 0.6; 0.5 has the most positives (4 of 6 rows)
        (0.7, 0.7, 3 / 5),  # 0.8 gives 2/3 < 0.7, 0.7 gives 3/4; lower cuts fall below 0.7
        (0.75, 0.7, 3 / 5),  # 3/4 is exactly at the bound and counts
        (1.0, 0.9, 1 / 5),  # taking only the positive of the 0.8 tie (2/2) is not allowed
    ],
)
def test_single_threshold_hand_example(bound, threshold, recall):
    boundary = single_threshold(SCORES, LABELS, bound)
    assert boundary.feasible and boundary.thresholds.tolist() == [threshold]
    chosen = boundary.predict(SCORES, np.zeros_like(SCORES))
    assert LABELS[chosen].sum() / LABELS.sum() == pytest.approx(recall)


def test_single_threshold_keeps_the_highest_threshold_among_equal_recall():
    # bound 0.6: cuts 0.7 (3/4) and 0.6 (3/5) recall the same 3 positives; with 0.5 unavailable
    # (label 0 there) the higher threshold 0.7 wins.
    labels = LABELS.copy()
    labels[5] = 0  # 0.5 becomes a negative: t=0.5 gives 3/6 < 0.6
    assert single_threshold(SCORES, labels, 0.6).thresholds.tolist() == [0.7]


def test_no_feasible_threshold_selects_nothing():
    negatives = np.zeros_like(LABELS)
    for name, method in METHODS.items():
        boundary = method(HoldOut.prepare(SCORES, SCORES, negatives, 2, 2), 0.5)
        assert not boundary.feasible, name
        assert np.isposinf(boundary.thresholds).all(), name
        assert not boundary.predict(SCORES, SCORES).any(), name


def test_bound_outside_zero_one_is_rejected():
    with pytest.raises(ValueError, match="precision bound"):
        single_threshold(SCORES, LABELS, 0.0)
    with pytest.raises(ValueError, match="precision bound"):
        ew_dpmt(equi_weight_binning(SCORES, SCORES, LABELS, 1, 1), 1.5)


# Hand example for EW-DPMT and MIST: 2 levels x 2 bins of 2 rows.
#   level 0 (u = 0.1): scores 0.1 0.2 | 0.3 0.4, labels 0 0 | 1 1  -> P_0(j) = 0, 2, 2
#   level 1 (u = 0.9): scores 0.5 0.6 | 0.7 0.8, labels 0 0 | 1 0  -> P_1(j) = 0, 1, 1
# Bound 0.75: K=1 -> 2 positives / 2 rows; K=2 -> best (1, 1) bins: 3 / 4 = 0.75 (meets it);
# K=3 -> 3 / 6. So the top bin of each level: level edges at the median 0.5, score edges 0.25
# (halfway between 0.2 and 0.3) and 0.65: recall 3/3, precision 3/4. A single threshold has the
# high-uncertainty level on top (0.8, 0.7, 0.6, 0.5 come first): cumulative precisions 0/1, 1/2,
# 1/3, 1/4, 2/5, 3/6, 3/7, 3/8, none meets 0.75, so it selects nothing.
TWO_LEVEL_SCORE = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8])
TWO_LEVEL_UNCERTAINTY = np.array([0.1] * 4 + [0.9] * 4)
TWO_LEVEL_LABELS = np.array([0, 0, 1, 1, 0, 0, 1, 0])


def test_equi_weight_binning_hand_example():
    binning = equi_weight_binning(TWO_LEVEL_SCORE, TWO_LEVEL_UNCERTAINTY, TWO_LEVEL_LABELS, 2, 2)
    assert binning.level_edges.tolist() == [0.5]
    assert binning.score_edges[:, 0] == pytest.approx([0.25, 0.65])
    assert binning.rows.tolist() == [[2, 2], [2, 2]]
    assert binning.positives.tolist() == [[0, 2], [0, 1]]


def test_ew_dpmt_and_mist_hand_example_beat_the_single_threshold():
    hold_out = HoldOut.prepare(TWO_LEVEL_SCORE, TWO_LEVEL_UNCERTAINTY, TWO_LEVEL_LABELS, 2, 2)
    for name in ("ew_dpmt", "mist"):
        boundary = METHODS[name](hold_out, 0.75)
        assert boundary.feasible and boundary.thresholds == pytest.approx([0.25, 0.65]), name
        chosen = boundary.predict(TWO_LEVEL_SCORE, TWO_LEVEL_UNCERTAINTY)
        assert (TWO_LEVEL_LABELS[chosen].sum(), chosen.sum()) == (3, 4), name
    single = METHODS["single"](hold_out, 0.75)
    assert not single.feasible and single.thresholds.tolist() == [np.inf]


def test_all_negative_level_gets_no_selection():
    # level 1 has only negatives: whatever the bound, its threshold is +inf
    labels = np.array([0, 1, 1, 1, 0, 0, 0, 0])
    boundary = ew_dpmt(equi_weight_binning(TWO_LEVEL_SCORE, TWO_LEVEL_UNCERTAINTY, labels, 2, 2), 0.5)
    assert boundary.feasible and np.isposinf(boundary.thresholds[1])
    assert mist(*_binning_and_rates(TWO_LEVEL_SCORE, TWO_LEVEL_UNCERTAINTY, labels), 0.5).thresholds[1] == np.inf


def _binning_and_rates(score, uncertainty, labels, levels=2, bins=2):
    binning = equi_weight_binning(score, uncertainty, labels, levels, bins)
    return binning, isotonic_rates(binning)


def test_isotonic_rates_pool_adjacent_violators_by_hand():
    # one level, 3 bins of 2 rows (edges 1/6, 1/3) with positivity 1/2, 0, 1 -> the first two violate monotonicity
    # and pool to (1 + 0) / 4 = 0.25: rates 0.25, 0.25, 1.0
    score = np.arange(6) / 10
    labels = np.array([1, 0, 0, 0, 1, 1])
    binning, rates = _binning_and_rates(score, np.zeros(6), labels, levels=1, bins=3)
    assert rates.tolist() == [[0.25, 0.25, 1.0]]
    assert recalibrated_scores(binning, rates, np.array([0.0, 0.25, 0.5]), np.zeros(3)).tolist() == [0.25, 0.25, 1.0]


def _equal_weight_instance(data, levels, bins, weight):
    n = levels * bins * weight
    score = np.array(data.draw(st.permutations(range(n)))) / n
    uncertainty = np.array(data.draw(st.permutations(range(n)))) / n
    labels = np.array(data.draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)))
    return score, uncertainty, labels


@settings(max_examples=150, deadline=None)
@given(
    data=st.data(),
    levels=st.integers(1, 3),
    bins=st.integers(1, 4),
    bound=st.sampled_from([0.3, 0.5, 0.6, 2 / 3, 0.75, 0.9, 1.0]),
)
def test_ew_dpmt_equals_brute_force_over_all_per_level_thresholds(data, levels, bins, bound):
    # One row per bin (distinct scores and uncertainties): the bins are the rows, so EW-DPMT must
    # find the best of ALL per-level score thresholds. Levels = uncertainty rank // bins, worked out
    # here independently of the binning code.
    score, uncertainty, labels = _equal_weight_instance(data, levels, bins, 1)
    level = np.argsort(np.argsort(uncertainty)) // bins
    best = 0
    options = [np.append(np.sort(score[level == lvl]), np.inf) for lvl in range(levels)]
    for thresholds in itertools.product(*options):
        chosen = score >= np.array(thresholds)[level]
        if chosen.any() and meets_bound(labels[chosen].sum(), chosen.sum(), bound):
            best = max(best, int(labels[chosen].sum()))
    boundary = ew_dpmt(equi_weight_binning(score, uncertainty, labels, levels, bins), bound)
    chosen = boundary.predict(score, uncertainty)
    assert labels[chosen].sum() == best
    assert boundary.feasible == (best > 0)  # a selection without positives never meets a bound > 0


@settings(max_examples=100, deadline=None)
@given(
    data=st.data(),
    levels=st.integers(1, 3),
    bins=st.integers(1, 3),
    weight=st.integers(2, 3),
    bound=st.sampled_from([0.4, 0.5, 0.7, 0.9]),
)
def test_ew_dpmt_equals_brute_force_over_equal_weight_bins(data, levels, bins, weight, bound):
    # Several rows per bin: brute force over every choice of top bins per level.
    score, uncertainty, labels = _equal_weight_instance(data, levels, bins, weight)
    binning = equi_weight_binning(score, uncertainty, labels, levels, bins)
    assert (binning.rows == weight).all()
    top_positives, top_rows = binning.top(binning.positives), binning.top(binning.rows)
    best = 0
    for picks in itertools.product(range(bins + 1), repeat=levels):
        positives = sum(top_positives[lvl, j] for lvl, j in enumerate(picks))
        rows = sum(top_rows[lvl, j] for lvl, j in enumerate(picks))
        if rows and meets_bound(positives, rows, bound):
            best = max(best, int(positives))
    chosen = ew_dpmt(binning, bound).predict(score, uncertainty)
    assert labels[chosen].sum() == best


@settings(max_examples=100, deadline=None)
@given(
    score=st.lists(st.sampled_from([0.1, 0.2, 0.3, 0.5, 0.8]), min_size=1, max_size=60),
    data=st.data(),
    levels=st.integers(1, 4),
    bins=st.integers(1, 6),
    bound=st.floats(0.05, 1.0),
)
def test_every_chosen_boundary_meets_the_bound_on_the_hold_out(score, data, levels, bins, bound):
    # Heavy ties in both score and uncertainty: the rows each boundary predicts positive on the
    # hold-out itself must meet the precision bound, or nothing is predicted when infeasible.
    n = len(score)
    score = np.array(score)
    uncertainty = np.array(data.draw(st.lists(st.sampled_from([0.0, 0.01, 0.02]), min_size=n, max_size=n)))
    labels = np.array(data.draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)))
    hold_out = HoldOut.prepare(score, uncertainty, labels, levels, bins)
    for name, method in METHODS.items():
        boundary = method(hold_out, bound)
        chosen = boundary.predict(score, uncertainty)
        if boundary.feasible:
            assert chosen.any() and meets_bound(labels[chosen].sum(), chosen.sum(), bound), name
        else:
            assert not chosen.any(), name


@settings(max_examples=50, deadline=None)
@given(seed=st.integers(0, 10_000), levels=st.integers(1, 5), bins=st.integers(1, 12))
def test_mist_recalibrated_scores_are_monotone_within_each_level(seed, levels, bins):
    rng = np.random.default_rng(seed)
    score, uncertainty = rng.random(300), rng.random(300)
    labels = (rng.random(300) < score * (1 - uncertainty)).astype(int)
    binning, rates = _binning_and_rates(score, uncertainty, labels, levels, bins)
    grid = np.linspace(-0.1, 1.1, 200)
    for level_u in np.append(binning.level_edges, [0.0, 1.0]):
        recalibrated = recalibrated_scores(binning, rates, grid, np.full(grid.size, level_u))
        assert (np.diff(recalibrated) >= 0).all()


def test_ew_dpmt_is_no_worse_than_mist_or_single_on_equal_bins():
    # EW-DPMT is optimal over per-level bin thresholds, which include MIST's choice and (when the
    # single threshold falls on bin edges) not necessarily the single one: compare with MIST.
    rng = np.random.default_rng(3)
    n = 4 * 10 * 25
    score, uncertainty = rng.permutation(n) / n, rng.permutation(n) / n
    labels = (rng.random(n) < score**2 * (1.2 - uncertainty)).astype(int)
    hold_out = HoldOut.prepare(score, uncertainty, labels, 4, 10)
    for bound in (0.5, 0.7, 0.9):
        recalled = {
            name: labels[METHODS[name](hold_out, bound).predict(score, uncertainty)].sum()
            for name in ("ew_dpmt", "mist")
        }
        assert recalled["ew_dpmt"] >= recalled["mist"]


def test_wilson_lower_by_hand():
    # 8 of 10 at one-sided 95% (z = 1.6449): (0.8 + 0.13528 - 1.6449 sqrt(0.016 + 0.0067644)) / 1.27055
    # = (0.93528 - 0.24819) / 1.27055 = 0.54078; no rows: 0; confidence 0.5 (z = 0): the rate itself
    assert wilson_lower(np.array([8, 0]), np.array([10, 0]), 0.95) == pytest.approx([0.54078, 0.0], abs=1e-4)
    assert wilson_lower(np.array([3]), np.array([4]), 0.5) == pytest.approx([0.75])
    # the point test accepts 8 of 10 at 0.8; the confident test does not
    assert meets_bound(8, 10, 0.8) and not meets_bound(8, 10, 0.8, confidence=0.95)


def test_detrender_ranks_uncertainty_within_score_bins_by_hand():
    # hold-out: scores 0.1, 0.2 (bin 0) and 0.8, 0.9 (bin 1), edge at the median 0.5; uncertainties
    # 1, 3 in bin 0 and 10, 30 in bin 1. A row (0.15, 2) has 1 of bin 0's 2 values <= 2: rank 0.5;
    # (0.85, 30): 2 of 2 -> 1.0; (0.85, 5): 0 of 2 -> 0.0, though 5 > every value of bin 0
    detrender = fit_detrender(np.array([0.1, 0.2, 0.8, 0.9]), np.array([1.0, 3.0, 10.0, 30.0]), bins=2)
    assert detrender.score_edges.tolist() == [0.5]
    ranked = detrender.transform(np.array([0.15, 0.85, 0.85]), np.array([2.0, 30.0, 5.0]))
    assert ranked.tolist() == [0.5, 1.0, 0.0]


def test_expected_positives_are_accepted_as_labels():
    # true probabilities as labels (the noise-free ceiling): rows 0.9, 0.8, 0.3 by score; at bound
    # 0.8 the top two give expected precision 0.85, adding the third 2/3: the cut keeps two rows
    boundary = single_threshold(np.array([0.9, 0.8, 0.3]), np.array([0.9, 0.8, 0.3]), 0.8)
    assert boundary.thresholds.tolist() == [0.8]


def test_lcb_boundary_keeps_test_precision_at_the_bound():
    """Chosen on a 20k-row hold-out with the pipeline's Wilson bound (99.5%: the choice among many
    cuts, and EW-DPMT's among many bins, makes a 95% bound too optimistic: 91 and 84 of 100 draws),
    every method keeps its true precision (expected positives over selected rows, on 200k fresh
    rows) >= the bound in >= 95% of 100 draws."""
    bound, kept = 0.7, {"single": 0, "ew_dpmt": 0, "mist": 0}
    confidence = BoundaryParams().confidence
    for draw in range(100):
        rng = np.random.default_rng(draw)
        truth_h, truth_t = (expit(rng.normal(-2.0, 1.5, n)) for n in (20_000, 200_000))
        uncertainty_h, uncertainty_t = rng.random(20_000), rng.random(200_000)
        labels_h = (rng.random(20_000) < truth_h).astype(np.int8)
        hold_out = HoldOut.prepare(truth_h, uncertainty_h, labels_h, levels=4, bins=100, confidence=confidence)
        for method in kept:
            selected = METHODS[method](hold_out, bound).predict(truth_t, uncertainty_t)
            kept[method] += int(truth_t[selected].sum() >= bound * selected.sum())
    assert min(kept.values()) >= 95, kept


def _noisy_hold_out(rows: int = 900, seed: int = 0):
    """Scores, uncertainties and labels whose positivity rate rises with the score and falls with the uncertainty."""
    rng = np.random.default_rng(seed)
    score, uncertainty = rng.random(rows), rng.random(rows)
    labels = (rng.random(rows) < score * (1 - 0.8 * uncertainty)).astype(np.int8)
    return score, uncertainty, labels


@pytest.mark.parametrize("confidence", [None, 0.99])
@pytest.mark.parametrize(("levels", "bins"), [(1, 7), (3, 10), (5, 30)])
def test_ew_dpmt_at_several_bounds_gives_each_bounds_own_boundary(levels, bins, confidence):
    score, uncertainty, labels = _noisy_hold_out()
    binning = equi_weight_binning(score, uncertainty, labels, levels, bins)
    bounds = [0.95, 0.3, 0.8, 0.5, 0.9]  # their K_max differ; the loosest sets the DP's table
    for bound, shared in zip(bounds, ew_dpmt_bounds(binning, bounds, confidence), strict=True):
        alone = ew_dpmt(binning, bound, confidence)
        assert shared.feasible == alone.feasible
        assert np.array_equal(shared.thresholds, alone.thresholds) and np.array_equal(shared.level_edges, alone.level_edges)
    with pytest.raises(ValueError):
        ew_dpmt_bounds(binning, [0.5, 1.5])


def test_hold_out_single_threshold_sorts_once_and_equals_the_function():
    score, uncertainty, labels = _noisy_hold_out(seed=1)
    hold_out = HoldOut.prepare(score, uncertainty, labels, 3, 10, 0.99)
    for bound in [0.5, 0.7, 0.9, 0.99]:
        shared, alone = METHODS["single"](hold_out, bound), single_threshold(score, labels, bound, 0.99)
        assert shared.feasible == alone.feasible and np.array_equal(shared.thresholds, alone.thresholds)
    assert hold_out.ranking is hold_out.ranking  # computed once


def test_predict_at_known_levels_equals_predict():
    score, uncertainty, labels = _noisy_hold_out(seed=2)
    boundary = ew_dpmt(equi_weight_binning(score, uncertainty, labels, 4, 10), 0.6)
    assert np.array_equal(boundary.predict_at_levels(score, boundary.levels(uncertainty)), boundary.predict(score, uncertainty))
