"""Summaries shared by every technique: mean and 95% CI over seeds, and bootstrap CIs.

Metrics files store, for each method and metric, the per-seed ``values`` (in seed order, so two
methods' values can be paired) and their :func:`mean_ci` summary.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from functools import lru_cache

import numpy as np
from scipy import stats as scipy_stats


@lru_cache(maxsize=None)
def _t_quantile(probability: float, dof: int) -> float:
    """Student-t quantile (cached: verdict stability recomputes thousands of CIs of a few seeds)."""
    return float(scipy_stats.t.ppf(probability, dof))


def mean_ci(values: Sequence[float], level: float = 0.95) -> dict[str, object]:
    """Mean and Student-t confidence interval of per-seed values.

    Returns ``{"mean", "std", "n", "ci95": [low, high] or None (n < 2), "values"}``; ``std`` is
    the sample standard deviation (ddof=1, 0 for n = 1).
    """
    floats = [float(v) for v in values]
    if not floats or not all(math.isfinite(v) for v in floats):
        raise ValueError(f"mean_ci needs finite values, got {list(values)}")
    n = len(floats)
    mean, std = _mean_std(floats) if n < NUMPY_SEQUENTIAL_BELOW else _numpy_mean_std(floats)
    interval = None
    if n > 1:
        half = _t_quantile(0.5 + level / 2, n - 1) * std / math.sqrt(n)
        interval = [mean - half, mean + half]
    return {"mean": mean, "std": std, "n": n, "ci95": interval, "values": floats}


# numpy sums fewer than 8 float64 values one after the other (pairwise summation starts at 8), so
# below that a Python loop gives its mean and std bit for bit, without numpy's per-call cost: the
# report's verdict stability recomputes about a million CIs of a few seeds
NUMPY_SEQUENTIAL_BELOW = 8


def _mean_std(values: list[float]) -> tuple[float, float]:
    """``(mean, sample std)`` as numpy's ``mean()`` and ``std(ddof=1)`` compute them for fewer than 8 values."""
    total = 0.0
    for value in values:
        total += value
    mean = total / len(values)
    if len(values) == 1:
        return mean, 0.0
    squares = 0.0
    for value in values:
        squares += (value - mean) * (value - mean)
    return mean, math.sqrt(squares / (len(values) - 1))


def _numpy_mean_std(values: list[float]) -> tuple[float, float]:
    array = np.asarray(values, dtype=np.float64)
    return float(array.mean()), float(array.std(ddof=1))


def ci_or_none(values: Sequence[float | None]) -> dict[str, object] | None:
    """:func:`mean_ci` of per-seed values, or None if any seed's value is undefined (None)."""
    return None if any(v is None for v in values) else mean_ci(values)


def summarise_seeds(values_by_key: Mapping[str, Sequence[float]]) -> dict[str, dict[str, object]]:
    """``{key: mean_ci}`` of per-seed value lists, in the mapping's key order; a key with a non-finite
    value on some seed is left out (a metric undefined on that seed's split)."""
    return {key: mean_ci(values) for key, values in values_by_key.items() if np.isfinite(values).all()}


def by_key(per_seed: Sequence[Mapping[str, float]]) -> dict[str, list[float]]:
    """``[{key: value}]`` (one dict per seed) as ``{key: [value per seed]}``, in the first seed's key order."""
    return {key: [values[key] for values in per_seed] for key in per_seed[0]}


def bootstrap_ci(
    statistic: Callable[[np.ndarray], float],
    n_items: int,
    n_resamples: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap CI of ``statistic(indices)`` over ``n_items`` items resampled with replacement.

    ``statistic`` receives an ``(n_items,)`` int array of resampled indices, so paired statistics
    (e.g. a recall gain of method A over B on the same test rows) resample both sides together.
    """
    draws = bootstrap_draws(statistic, n_items, n_resamples, seed)
    if draws.size == 0:
        return float("nan"), float("nan")
    alpha = (1 - level) / 2
    low, high = np.quantile(draws, [alpha, 1 - alpha])
    return float(low), float(high)


def bootstrap_draws(
    statistic: Callable[[np.ndarray], float], n_items: int, n_resamples: int = 1000, seed: int = 0
) -> np.ndarray:
    """The finite values of ``statistic`` on ``n_resamples`` resamples (with replacement) of
    ``n_items`` items: the draws :func:`bootstrap_ci` takes its percentiles from."""
    draws = np.array([statistic(indices) for indices in bootstrap_indices(n_items, n_resamples, seed)])
    return draws[np.isfinite(draws)]


def bootstrap_indices(n_items: int, n_resamples: int = 1000, seed: int = 0) -> Iterator[np.ndarray]:
    """The ``n_resamples`` bootstrap resamples of ``n_items`` items, one ``(n_items,)`` array of
    indices drawn with replacement at a time, all from one seeded generator (the resamples of
    :func:`bootstrap_draws`, and of every caller that must pair its draws with them)."""
    if n_items < 1 or n_resamples < 1:
        raise ValueError("bootstrap_ci needs at least one item and one resample")
    rng = np.random.default_rng(seed)
    return (rng.integers(0, n_items, n_items) for _ in range(n_resamples))


def minimum_detectable_effect(se: float, level: float = 0.05, power: float = 0.8) -> float:
    """The smallest true effect a two-sided test at ``level`` detects with probability ``power``
    when its estimate has standard error ``se``: ``(z_{1 - level/2} + z_power) se`` (2.80 se at
    the 5% level and 80% power; Cohen 1988, ch. 1)."""
    return float((scipy_stats.norm.ppf(1 - level / 2) + scipy_stats.norm.ppf(power)) * se)
