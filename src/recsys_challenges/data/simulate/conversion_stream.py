"""A Criteo-style conversion stream with known ground truth, calibrated to a real conversion log.

Generative model (every rate marked *fitted* comes from :func:`calibrate` on the real Taobao table):

* **Clicks.** ``rows`` clicks over ``days`` days; the number in each hour of the day follows the
  *fitted* hourly click profile; times are uniform within the hour. Time 0 is a midnight.
* **Features** in the Criteo conversion-log layout: ``C1``..``C9`` categorical and ``I1``..``I8``
  numeric. ``C1`` is a *campaign*: campaigns start at ``campaigns_per_day`` and stop after
  ``campaign_life_days``; a click picks one of the live campaigns in proportion to a log-normal
  popularity. New campaigns, and the drift of the effects below, are why fresh data matters.
  ``C2``..``C9`` are static fields (cardinalities :data:`CARDINALITIES`, Zipf(1.1) popularity). ``I1``..``I8`` are counts ``floor(exp(N(mu_j, 1)))``.
* **Conversion.** ``P(convert | x, t) = sigmoid(b0 + beta_C1[k](t) + sum_{f >= 2} beta_f[x_f](t) + 0.4 z1 - 0.3 z2)``
  with ``z_j`` the standardised ``log1p(I_j)``; ``b0`` is solved so that the mean of ``P(y = 1 | x)``
  over the whole stream equals the *fitted* conversion rate. The effects, and how they drift
  (:class:`Drift`; its defaults give static effects and campaigns as large as the other fields):

  - static fields: ``beta_f[v](0) ~ N(0, effect_scale)``; with ``static_memory_days = tau`` each
    follows a mean-reverting random walk (Ornstein-Uhlenbeck, sampled hourly, stationary law
    ``N(0, effect_scale^2)``): ``beta(h + 1) = rho beta(h) + sqrt(1 - rho^2) effect_scale eps_h``,
    ``rho = exp(-1 h / tau)``, ``eps_h ~ N(0, 1)``; so an id already seen goes stale, with a
    correlation ``exp(-dt / tau)`` between its effects ``dt`` apart. ``None``: constant effects.
  - campaign ``k`` (field ``C1``), started at ``s_k``:
    ``beta_C1[k](t) = a_k + g_k (t - s_k) / 1 day``, ``a_k ~ N(0, campaign_effect_scale)``
    (``None``: ``effect_scale``) and ``g_k ~ N(0, campaign_trend_per_day)``: each campaign's effect
    moves with its age, in its own direction.
* **Delay.** A mixture of two exponentials with *fitted* means; the fast component's weight is
  ``sigmoid(logit(pi) + delay_feature_effect * z3)``, *fitted* ``pi``: the delay depends on ``x``,
  as FSIW and ES-DFM assume. The label ``y`` is "converts within the window W", so the ground truth
  is ``true_probability = P(convert | x) * P(delay < W | x)``; ``true_conversion = P(convert | x)``
  and ``true_fast_weight`` are written too, so that the true ``p_dp(x) = P(y = 1, delay > c | x)``
  of any elapsed window ``c`` can be computed (:func:`true_delayed_positive`).
* **Pre-conversion signals** (view, cart, fav). For each kind, a Poisson number of events whose
  mean depends on ``y``: ``m0`` if the click will not convert, ``m0 + s (m1 - m0)`` if it will,
  with *fitted* ``m0, m1`` and the signal strength ``s`` (0: uninformative, 1: as on Taobao). Each
  event comes a time after the click drawn from a *fitted* two-exponential mixture per kind, the
  same for both labels, and is kept only before the conversion (or the end of the window): the
  signals of a click that will convert are informative through their number only.
* **Strength sweep by thinning.** Signals are drawn once at the largest strength of the sweep
  with a mark ``u ~ U(0, 1)`` on each converter's event (0 otherwise); the signals at strength
  ``s`` are those with ``u < mean(s) / mean(s_max)`` (:func:`keep_signals`). Poisson thinning
  makes them exactly the signals of strength ``s``, and every strength shares the same clicks.

Memory is bounded: hours are generated one at a time (each with its own seeded generator, so the
data does not depend on the chunking) and written in chunks of at most ``chunk_rows`` clicks.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, special

SIGNAL_KINDS = ("view", "cart", "fav")
CARDINALITIES = (2000, 1000, 500, 200, 100, 50, 20, 10)  # C2..C9
NUMERIC_LOG_MEANS = tuple(np.linspace(0.5, 3.0, 8))  # I1..I8
NUMERIC_EFFECTS = (0.4, -0.3)  # on z1, z2
CATEGORICAL = [f"C{i}" for i in range(1, 10)]
NUMERIC = [f"I{i}" for i in range(1, 9)]
DAY = 86400
PILOT_ROWS = 200_000


@dataclass(frozen=True)
class Calibration:
    """Rates fitted on a real conversion table (see :func:`calibrate`)."""

    window_s: int
    conversion_rate: float  # share of mature clicks that convert within the window
    fast_weight: float  # delay mixture: P(fast component)
    fast_mean_s: float
    slow_mean_s: float
    signal_timing: list[list[float]]  # per kind, the (pi, mu1, mu2) mixture of the time from click to signal
    signal_mean_negative: list[float]  # m0 per kind: signals of a click that will not convert (untruncated)
    signal_mean_positive: list[float]  # m1 per kind: signals of a click that will convert (untruncated)
    hourly_profile: list[float]  # share of clicks in each hour of the day
    data_delay_quantiles_h: dict[str, float]
    fitted_delay_quantiles_h: dict[str, float]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _mixture_cdf(t: np.ndarray, weight: float, fast: float, slow: float) -> np.ndarray:
    return weight * -np.expm1(-t / fast) + (1 - weight) * -np.expm1(-t / slow)


def fit_exponential_mixture(values_s: np.ndarray, limits_s: np.ndarray | float) -> tuple[float, float, float]:
    """Maximum-likelihood two-exponential mixture of times each observed only below its limit.

    Right-truncated likelihood: ``sum_i log f(t_i) - log F(L_i)`` with
    ``f = pi/mu1 e^(-t/mu1) + (1-pi)/mu2 e^(-t/mu2)`` and ``F`` its CDF. Delays are truncated at
    the window; a signal's offset at its click's conversion (or the window's end).
    Returns ``(pi, mu1, mu2)`` with ``mu1 <= mu2`` (seconds).
    """
    t = np.maximum(np.asarray(values_s, dtype=np.float64), 1.0)
    limits = np.maximum(np.broadcast_to(np.asarray(limits_s, dtype=np.float64), t.shape), t)
    if t.size < 3:
        raise ValueError(f"need at least 3 times to fit a mixture, got {t.size}")

    def loss(theta: np.ndarray) -> float:
        weight, fast, slow = special.expit(theta[0]), math.exp(theta[1]), math.exp(theta[2])
        density = weight / fast * np.exp(-t / fast) + (1 - weight) / slow * np.exp(-t / slow)
        mass = _mixture_cdf(limits, weight, fast, slow)
        return float(-(np.log(density + 1e-300) - np.log(mass + 1e-300)).sum())

    median = float(np.median(t))
    start = np.array([0.0, math.log(max(np.median(t[t <= median]), 1.0)), math.log(max(t[t > median].mean(), 2.0))])
    theta = optimize.minimize(loss, start, method="Nelder-Mead", options={"maxiter": 4000, "xatol": 1e-6, "fatol": 1e-9}).x
    weight, fast, slow = float(special.expit(theta[0])), math.exp(theta[1]), math.exp(theta[2])
    if fast > slow:
        weight, fast, slow = 1 - weight, slow, fast
    return weight, fast, slow


def true_delayed_positive(conversion: np.ndarray, fast_weight: np.ndarray, calibration: Calibration,
                          elapsed_s: float) -> np.ndarray:
    """True ``p_dp(x) = P(convert | x) (F_x(W) - F_x(c))``: converts within the window but after ``c``,
    ``F_x`` the click's delay mixture CDF (fast weight ``fast_weight``, the calibration's means)."""
    c = calibration
    within = _mixture_cdf(np.float64(c.window_s), fast_weight, c.fast_mean_s, c.slow_mean_s)
    early = _mixture_cdf(np.float64(elapsed_s), fast_weight, c.fast_mean_s, c.slow_mean_s)
    return np.asarray(conversion, dtype=np.float64) * np.maximum(within - early, 0.0)


def _mixture_quantiles(weight: float, fast: float, slow: float, window_s: int, qs: list[float]) -> dict[str, float]:
    grid = np.linspace(0, window_s, 20001)
    cdf = _mixture_cdf(grid, weight, fast, slow)
    cdf /= cdf[-1]
    return {str(q): float(np.interp(q, cdf, grid) / 3600) for q in qs}


def calibrate(
    click_ts: np.ndarray,
    conversion_ts: np.ndarray,
    signal_click: np.ndarray,
    signal_kind: np.ndarray,
    signal_ts: np.ndarray,
    window_s: int,
    origin_ts: int,
    horizon_ts: int,
    never: int,
) -> Calibration:
    """Fit the simulator's rates on a real conversion table (arrays as in ``delayed.conversions``).

    Only clicks whose label is final (``click_ts + window_s <= horizon_ts``) count. ``conversion_ts``
    holds ``never`` for clicks without conversion. Signal means are corrected for truncation: a
    click's signals are seen only until its conversion (or the window's end), so
    ``m1 = (signals per converted click) / mean_i G(delay_i)`` and
    ``m0 = (signals per unconverted click) / G(W)``, with ``G`` the fitted CDF of the click-to-signal time.
    """
    click_ts = np.asarray(click_ts, dtype=np.int64)
    conversion_ts = np.asarray(conversion_ts, dtype=np.int64)
    mature = click_ts + window_s <= horizon_ts
    if mature.sum() < 100:
        raise ValueError(f"calibration needs at least 100 mature clicks, got {int(mature.sum())}")
    converted = conversion_ts != never
    delays = (conversion_ts[converted & mature] - click_ts[converted & mature]).astype(np.float64)
    weight, fast, slow = fit_exponential_mixture(delays, float(window_s))

    end = np.where(converted, conversion_ts, click_ts + window_s)
    signal_click = np.asarray(signal_click, dtype=np.int64)
    of_mature = mature[signal_click]
    offsets = np.asarray(signal_ts, dtype=np.int64) - click_ts[signal_click]
    limits = end[signal_click] - click_ts[signal_click]
    signal_label = converted[signal_click]
    n_pos, n_neg = int((converted & mature).sum()), int((~converted & mature).sum())
    timing, m0, m1 = [], [], []
    for code in range(len(SIGNAL_KINDS)):
        chosen = (np.asarray(signal_kind) == code) & of_mature
        mixture = fit_exponential_mixture(offsets[chosen], limits[chosen]) if chosen.sum() >= 10 else (1.0, 3600.0, 3600.0)
        timing.append(list(mixture))
        seen_before_conversion = float(np.mean(_mixture_cdf(delays, *mixture))) if delays.size else 1.0
        m1.append(float((chosen & signal_label).sum() / max(n_pos, 1) / max(seen_before_conversion, 1e-9)))
        m0.append(float((chosen & ~signal_label).sum() / max(n_neg, 1) / _mixture_cdf(np.float64(window_s), *mixture)))

    hours = ((click_ts - origin_ts) // 3600) % 24
    profile = np.bincount(hours, minlength=24).astype(np.float64)
    qs = [0.1, 0.25, 0.5, 0.75, 0.9]
    return Calibration(
        window_s=int(window_s),
        conversion_rate=float(converted[mature].mean()),
        fast_weight=weight,
        fast_mean_s=fast,
        slow_mean_s=slow,
        signal_timing=timing,
        signal_mean_negative=m0,
        signal_mean_positive=m1,
        hourly_profile=list(profile / profile.sum()),
        data_delay_quantiles_h={str(q): float(np.quantile(delays, q) / 3600) for q in qs},
        fitted_delay_quantiles_h=_mixture_quantiles(weight, fast, slow, window_s, qs),
    )


def signal_means(calibration: Calibration, strength: float) -> np.ndarray:
    """Mean signals per converting click at ``strength``: ``m0 + s (m1 - m0)`` per kind (>= 0)."""
    m0 = np.asarray(calibration.signal_mean_negative)
    m1 = np.asarray(calibration.signal_mean_positive)
    return np.maximum(m0 + strength * (m1 - m0), 0.0)


def keep_signals(kind: np.ndarray, mark: np.ndarray, strength: float, calibration: Calibration,
                 strengths: list[float]) -> np.ndarray:
    """Mask of the signals present at ``strength`` among those drawn at ``max(strengths)`` (Poisson thinning)."""
    drawn = np.max([signal_means(calibration, s) for s in strengths], axis=0)
    ratio = np.divide(signal_means(calibration, strength), drawn, out=np.zeros_like(drawn), where=drawn > 0)
    return np.asarray(mark) < ratio[np.asarray(kind, dtype=np.int64)]


@dataclass(frozen=True)
class Drift:
    """How the conversion effects move with time (formulas in the module docstring).

    The defaults reproduce the generator without concept drift exactly: campaigns as large as the
    static fields, constant effects.
    """

    campaign_effect_scale: float | None = None  # sd of a campaign's effect a_k; None: effect_scale
    campaign_trend_per_day: float = 0.0  # sd of a campaign's trend g_k (logit per day of age)
    static_memory_days: float | None = None  # tau of the static effects' OU walk; None: constant


def static_paths(initial: list[np.ndarray], hours: int, memory_days: float, scale: float,
                 rng: np.random.Generator) -> list[np.ndarray]:
    """Hourly Ornstein-Uhlenbeck paths ``(hours + 1, cardinality)`` of each field's effects, from ``initial``.

    ``beta(h + 1) = rho beta(h) + sqrt(1 - rho^2) scale eps_h`` with ``rho = exp(-1 / (24 memory_days))``
    and ``eps_h ~ N(0, 1)``: ``N(0, scale^2)`` is stationary, so the effects' spread stays that of
    the static draw while each one forgets its past with correlation ``exp(-dt / memory_days)``.
    """
    rho = math.exp(-1.0 / (24.0 * memory_days))
    paths = []
    for start in initial:
        noise = rng.standard_normal((hours, start.size)) * (scale * math.sqrt(1.0 - rho * rho))
        path = np.empty((hours + 1, start.size))
        path[0] = start
        for h in range(hours):
            path[h + 1] = rho * path[h] + noise[h]
        paths.append(path)
    return paths


@dataclass
class World:
    """Everything the seed fixes once for the whole stream: effects, campaigns, standardisation, b0."""

    effects: list[np.ndarray]  # per categorical field, (cardinality,) logit effects at time 0 (C1: a_k)
    campaign_trend: np.ndarray  # (K,) g_k, logit per second of a campaign's age
    static_paths: list[np.ndarray] | None  # per field C2..C9, (hours + 1, cardinality) OU effects; None: constant
    zipf: list[np.ndarray]  # C2..C9 cumulative popularity
    campaign_start_s: np.ndarray  # (K,)
    campaign_cum_popularity: np.ndarray  # (K + 1,) cumulative log-normal popularity
    life_s: float
    numeric_mean: np.ndarray  # (8,) of log1p(I)
    numeric_std: np.ndarray
    bias: float = 0.0


class ConversionSimulator:
    """Generator of the stream described in the module docstring.

    Args:
        calibration: fitted rates (:func:`calibrate`).
        rows, days, seed, chunk_rows, campaigns_per_day, campaign_life_days, effect_scale,
        delay_feature_effect: as in ``SimulatorParams`` (params.yaml ``delayed.datasets.<name>.simulator``).
        strengths: signal strengths the stream must support; signals are drawn at the largest.
        drift: the concept drift of the effects (:class:`Drift`; default none).
    """

    def __init__(self, calibration: Calibration, rows: int, days: float, seed: int, chunk_rows: int,
                 campaigns_per_day: float, campaign_life_days: float, effect_scale: float,
                 delay_feature_effect: float, strengths: list[float], drift: Drift = Drift()) -> None:
        self.calibration = calibration
        self.rows, self.days, self.seed, self.chunk_rows = rows, days, seed, chunk_rows
        self.delay_feature_effect = delay_feature_effect
        self.strengths = list(strengths)
        self.drawn_means = np.max([signal_means(calibration, s) for s in strengths], axis=0)
        rng = np.random.default_rng([seed, 0])
        cards = (None, *CARDINALITIES)
        n_campaigns = int(math.ceil((days + campaign_life_days) * campaigns_per_day)) + 1
        starts = (np.arange(n_campaigns) / campaigns_per_day - campaign_life_days) * DAY
        popularity = rng.lognormal(0.0, 1.0, n_campaigns)
        campaign_scale = effect_scale if drift.campaign_effect_scale is None else drift.campaign_effect_scale
        effects = [rng.normal(0.0, campaign_scale if c is None else effect_scale, n_campaigns if c is None else c)
                   for c in cards]
        trend = np.random.default_rng([seed, 4]).normal(0.0, drift.campaign_trend_per_day, n_campaigns) / DAY
        paths = None if drift.static_memory_days is None else static_paths(
            effects[1:], int(math.ceil(days * 24)), drift.static_memory_days, effect_scale,
            np.random.default_rng([seed, 5]))
        zipf = []
        for card in CARDINALITIES:
            weights = 1.0 / np.arange(1, card + 1) ** 1.1
            zipf.append(np.cumsum(weights) / weights.sum())
        self.world = World(effects, trend, paths, zipf, starts, np.concatenate([[0.0], np.cumsum(popularity)]),
                           campaign_life_days * DAY, np.zeros(8), np.ones(8))
        pilot_rng = np.random.default_rng([seed, 2])
        pilot_ts = np.sort(pilot_rng.integers(0, int(days * DAY), PILOT_ROWS))
        categorical, numeric = self._features(pilot_ts, pilot_rng)
        logs = np.log1p(numeric)
        self.world.numeric_mean, self.world.numeric_std = logs.mean(axis=0), logs.std(axis=0) + 1e-9
        self.world.bias = self._solve_bias(pilot_ts, categorical, numeric)

    # ----------------------------------------------------------------------------------- features
    def _features(self, ts: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """``(n, 9)`` int64 categorical ids and ``(n, 8)`` float32 counts for clicks at times ``ts``."""
        world, n = self.world, ts.size
        first = np.searchsorted(world.campaign_start_s, ts - world.life_s, side="right")  # oldest live
        last = np.searchsorted(world.campaign_start_s, ts, side="right")  # one past the newest live
        low, high = world.campaign_cum_popularity[first], world.campaign_cum_popularity[last]
        campaign = np.searchsorted(world.campaign_cum_popularity, low + rng.random(n) * (high - low), side="right") - 1
        campaign = np.clip(campaign, first, last - 1)
        columns = [campaign]
        for cum in world.zipf:
            columns.append(np.minimum(np.searchsorted(cum, rng.random(n)), cum.size - 1))
        categorical = np.stack(columns, axis=1).astype(np.int64)
        numeric = np.floor(np.exp(rng.normal(np.asarray(NUMERIC_LOG_MEANS), 1.0, (n, 8)))).astype(np.float32)
        return categorical, numeric

    def _standardised(self, numeric: np.ndarray) -> np.ndarray:
        return (np.log1p(numeric) - self.world.numeric_mean) / self.world.numeric_std

    def _logit_without_bias(self, ts: np.ndarray, categorical: np.ndarray, numeric: np.ndarray) -> np.ndarray:
        world = self.world
        campaign = categorical[:, 0]
        logit = world.effects[0][campaign]
        if world.campaign_trend.any():
            logit = logit + world.campaign_trend[campaign] * (ts - world.campaign_start_s[campaign])
        if world.static_paths is None:
            logit = logit + sum(effect[categorical[:, f]] for f, effect in enumerate(world.effects) if f > 0)
        else:
            hour = np.minimum(ts // 3600, world.static_paths[0].shape[0] - 1)
            logit = logit + sum(path[hour, categorical[:, f + 1]] for f, path in enumerate(world.static_paths))
        z = self._standardised(numeric)
        return logit + NUMERIC_EFFECTS[0] * z[:, 0] + NUMERIC_EFFECTS[1] * z[:, 1]

    def _fast_weight(self, numeric: np.ndarray) -> np.ndarray:
        base = special.logit(np.clip(self.calibration.fast_weight, 1e-6, 1 - 1e-6))
        return special.expit(base + self.delay_feature_effect * self._standardised(numeric)[:, 2])

    def _within_window(self, numeric: np.ndarray) -> np.ndarray:
        c = self.calibration
        return _mixture_cdf(np.array(float(c.window_s)), self._fast_weight(numeric), c.fast_mean_s, c.slow_mean_s)

    def _solve_bias(self, ts: np.ndarray, categorical: np.ndarray, numeric: np.ndarray) -> float:
        logit = self._logit_without_bias(ts, categorical, numeric)
        within = self._within_window(numeric)
        target = self.calibration.conversion_rate
        return float(optimize.brentq(lambda b: float((special.expit(logit + b) * within).mean()) - target, -30.0, 30.0))

    # ------------------------------------------------------------------------------------ stream
    def hourly_counts(self) -> np.ndarray:
        """Clicks in each hour of the stream (multinomial on the fitted hourly profile)."""
        hours = int(math.ceil(self.days * 24))
        shares = np.tile(np.asarray(self.calibration.hourly_profile), hours // 24 + 1)[:hours]
        shares[-1] *= self.days * 24 - (hours - 1)  # a partial last hour
        return np.random.default_rng([self.seed, 1]).multinomial(self.rows, shares / shares.sum())

    def _hour(self, hour: int, count: int, first_id: int) -> tuple[pd.DataFrame, pd.DataFrame]:
        c = self.calibration
        rng = np.random.default_rng([self.seed, 3, hour])
        ts = np.sort(hour * 3600 + rng.integers(0, 3600, count))
        categorical, numeric = self._features(ts, rng)
        convert = special.expit(self._logit_without_bias(ts, categorical, numeric) + self.world.bias)
        fast_weight = self._fast_weight(numeric)
        fast = rng.random(count) < fast_weight
        delay = rng.exponential(np.where(fast, c.fast_mean_s, c.slow_mean_s))
        label = (rng.random(count) < convert) & (delay < c.window_s)
        conversion = np.where(label, ts + np.floor(delay).astype(np.int64), -1)
        truth = convert * self._within_window(numeric)

        end = np.where(label, conversion, ts + c.window_s)
        parts = []
        for code in range(len(SIGNAL_KINDS)):
            means = np.where(label, self.drawn_means[code], c.signal_mean_negative[code])
            counts = rng.poisson(means)
            owner = np.repeat(np.arange(count), counts)
            weight, fast, slow = c.signal_timing[code]
            scale = np.where(rng.random(owner.size) < weight, fast, slow)
            at = ts[owner] + np.floor(rng.exponential(scale)).astype(np.int64)
            mark = np.where(label[owner], rng.random(owner.size), 0.0)
            keep = at < end[owner]
            parts.append((owner[keep], np.full(int(keep.sum()), code, np.int8), at[keep], mark[keep]))
        owner, kind, at, mark = (np.concatenate(x) for x in zip(*parts, strict=True))
        order = np.lexsort((at, owner))
        clicks = pd.DataFrame({
            "click_id": first_id + np.arange(count, dtype=np.int64),
            "click_ts": ts.astype(np.int64),
            "conversion_ts": pd.arrays.IntegerArray(conversion.astype(np.int64), mask=~label),
        })
        for f, name in enumerate(CATEGORICAL):
            clicks[name] = categorical[:, f]
        for f, name in enumerate(NUMERIC):
            clicks[name] = numeric[:, f]
        clicks["true_probability"] = truth.astype(np.float32)
        clicks["true_conversion"] = convert.astype(np.float32)
        clicks["true_fast_weight"] = fast_weight.astype(np.float32)
        signals = pd.DataFrame({
            "click_id": first_id + owner[order].astype(np.int64),
            "kind": kind[order],
            "ts": at[order],
            "mark": mark[order].astype(np.float32),
        })
        return clicks, signals

    def chunks(self) -> Iterator[tuple[pd.DataFrame, pd.DataFrame]]:
        """Yield ``(clicks, signals)`` chunks in time order, at most ``chunk_rows`` clicks each
        (unless a single hour holds more)."""
        next_id, pending, pending_rows = 0, [], 0
        for hour, count in enumerate(self.hourly_counts()):
            if count == 0:
                continue
            if pending and pending_rows + count > self.chunk_rows:
                yield _concat(pending)
                pending, pending_rows = [], 0
            pending.append(self._hour(hour, int(count), next_id))
            pending_rows += int(count)
            next_id += int(count)
        if pending:
            yield _concat(pending)

    def meta(self) -> dict[str, Any]:
        """The conversion-table meta of the stream (schema in ``delayed.conversions``)."""
        return {
            "builder": "simulator",
            "data_kind": "simulated",
            "window_s": int(self.calibration.window_s),
            "origin_ts": 0,
            "horizon_ts": int(math.ceil(self.days * DAY)),
            "categorical": list(CATEGORICAL),
            "numeric": list(NUMERIC),
            "signal_kinds": list(SIGNAL_KINDS),
            "calibration": self.calibration.as_dict(),
            "signal_strengths": self.strengths,
            "bias": self.world.bias,
        }


def _concat(parts: list[tuple[pd.DataFrame, pd.DataFrame]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    clicks, signals = zip(*parts, strict=True)
    return pd.concat(clicks, ignore_index=True), pd.concat(signals, ignore_index=True)
