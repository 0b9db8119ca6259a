import numpy as np
import pytest

from recsys_challenges.stats import bootstrap_ci, mean_ci


def test_mean_ci_by_hand():
    # values 1, 2, 3: mean 2, sd 1, t(0.975, 2) = 4.302653, half-width 4.302653 / sqrt(3) = 2.484138
    summary = mean_ci([1.0, 2.0, 3.0])
    assert summary["mean"] == 2.0 and summary["std"] == 1.0 and summary["n"] == 3
    assert summary["ci95"] == pytest.approx([2 - 2.484138, 2 + 2.484138], abs=1e-6)
    assert summary["values"] == [1.0, 2.0, 3.0]


def test_mean_ci_single_seed_has_no_interval_and_rejects_nan():
    assert mean_ci([0.5])["ci95"] is None
    with pytest.raises(ValueError):
        mean_ci([0.5, float("nan")])


def test_bootstrap_ci_of_a_mean_covers_it_and_is_reproducible():
    data = np.arange(100, dtype=float)
    low, high = bootstrap_ci(lambda idx: data[idx].mean(), len(data), n_resamples=500, seed=1)
    assert low < 49.5 < high and high - low < 20
    assert (low, high) == bootstrap_ci(lambda idx: data[idx].mean(), len(data), n_resamples=500, seed=1)
