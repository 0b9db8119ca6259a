import numpy as np
import pytest

from recsys_challenges.stats import (
    bootstrap_ci,
    bootstrap_draws,
    bootstrap_indices,
    by_key,
    ci_or_none,
    mean_ci,
    minimum_detectable_effect,
    summarise_seeds,
)


def test_mean_ci_by_hand():
    # values 1, 2, 3: mean 2, sd 1, t(0.975, 2) = 4.302653, half-width 4.302653 / sqrt(3) = 2.484138
    summary = mean_ci([1.0, 2.0, 3.0])
    assert summary["mean"] == 2.0 and summary["std"] == 1.0 and summary["n"] == 3
    assert summary["ci95"] == pytest.approx([2 - 2.484138, 2 + 2.484138], abs=1e-6)
    assert summary["values"] == [1.0, 2.0, 3.0]


@pytest.mark.parametrize("values", [
    [0.1, 0.2, 0.3],  # 0.1 + 0.2 is not 0.3 in binary: the summation order shows in the last bits
    [1e16, 1.0, -1e16, 3.0, 0.7],
    [0.123456789, 0.987654321, 0.5, 0.25, 0.3333333333333333, 0.1, 0.9],
    [0.1] * 8 + [0.7] * 3,  # 8 values and more: numpy's pairwise sums themselves
])
def test_mean_ci_gives_numpys_mean_and_std_bit_for_bit(values):
    summary = mean_ci(values)
    assert summary["mean"] == float(np.mean(values)) and summary["std"] == float(np.std(values, ddof=1))


def test_mean_ci_single_seed_has_no_interval_and_rejects_nan():
    assert mean_ci([0.5])["ci95"] is None
    with pytest.raises(ValueError):
        mean_ci([0.5, float("nan")])


def test_bootstrap_ci_of_a_mean_covers_it_and_is_reproducible():
    data = np.arange(100, dtype=float)
    low, high = bootstrap_ci(lambda idx: data[idx].mean(), len(data), n_resamples=500, seed=1)
    assert low < 49.5 < high and high - low < 20
    assert (low, high) == bootstrap_ci(lambda idx: data[idx].mean(), len(data), n_resamples=500, seed=1)


def test_minimum_detectable_effect_by_hand():
    # z_0.975 + z_0.8 = 1.959964 + 0.841621 = 2.801585 standard errors
    assert minimum_detectable_effect(0.1) == pytest.approx(0.2801585, abs=1e-6)
    assert minimum_detectable_effect(1.0, level=0.10, power=0.5) == pytest.approx(1.644854, abs=1e-6)


def test_bootstrap_draws_are_the_ones_the_ci_takes_its_percentiles_from():
    values = np.array([1.0, 2.0, 3.0, 4.0])
    draws = bootstrap_draws(lambda idx: values[idx].mean(), 4, 200, seed=3)
    assert draws.shape == (200,)
    assert bootstrap_ci(lambda idx: values[idx].mean(), 4, 200, seed=3) == pytest.approx(np.quantile(draws, [0.025, 0.975]))


def test_bootstrap_indices_are_one_seeded_stream_of_resamples_and_reject_empty_input_at_once():
    rng = np.random.default_rng(5)
    expected = [rng.integers(0, 6, 6) for _ in range(3)]
    drawn = list(bootstrap_indices(6, 3, seed=5))
    assert len(drawn) == 3 and all(np.array_equal(a, b) for a, b in zip(drawn, expected))
    with pytest.raises(ValueError, match="at least one item"):
        bootstrap_indices(0, 3)  # raised by the call, before any resample is asked for


def test_ci_or_none_is_none_when_a_seed_is_undefined():
    assert ci_or_none([0.5, None, 0.7]) is None
    assert ci_or_none([1.0, 3.0])["mean"] == 2.0


def test_summarise_seeds_keeps_key_order_and_drops_keys_undefined_on_a_seed():
    per_seed = [{"mrr": 0.2, "auc": float("nan"), "hit": 1.0}, {"mrr": 0.4, "auc": 0.5, "hit": 3.0}]
    assert by_key(per_seed)["hit"] == [1.0, 3.0] and list(by_key(per_seed)) == ["mrr", "auc", "hit"]
    summary = summarise_seeds(by_key(per_seed))
    assert list(summary) == ["mrr", "hit"]
    assert summary["hit"]["mean"] == 2.0 and summary["hit"]["values"] == [1.0, 3.0]
    assert summary["mrr"]["mean"] == pytest.approx(0.3)
