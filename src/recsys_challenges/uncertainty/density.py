"""The density of training data near an example, per input field: the evidence of the density posterior.

Arora et al. (ICLR 2024, arXiv 2311.11723, section 3) take a score's uncertainty from a posterior
network, whose Beta pseudo-counts grow with the density of training data near the example. On a
click log the error of a score comes mostly from rare categorical values (their effects are learned
from a handful of rows), so "near" is measured where a value's rarity is visible: in the learned
embedding space of each categorical field, where every value has its own vector, and on the
standardised axis of each numeric field. A posterior network's density on the final latent
(:class:`~recsys_challenges.uncertainty.estimators.PosteriorNetwork`) sees rows, not values: on the
simulated click log its evidence was unrelated to the true error (Spearman -0.02).

Per field ``f`` a Gaussian kernel count of training rows near the example's value ``x_f``:

    n_f(x_f) = sum_{training rows r} exp(-|e_f(x_f) - e_f(r_f)|^2 / (2 h_f^2))

(``e_f`` the learned embedding of a categorical field, the standardised value of a numeric one), the
number of training rows within about ``h_f`` of the value (``n_f -> count`` as ``h_f -> 0``); divided
by ``N (2 pi h_f^2)^(d/2)`` it is the kernel density estimate, and ``h_f`` is the candidate with the
highest mean log-density of the hold-out rows (likelihood bandwidth selection: no labels used).
The example's evidence is the geometric mean over fields, ``log n(x) = mean_f log n_f(x_f)``: a
count on the scale of one field's, falling with every rare value the example has.

Numeric fields are binned (``NUMERIC_BINS`` bins over the training range) before the kernel sum and
their kernel counts tabulated on a grid: at bandwidths of a bin width or more the error is far below
the kernel's own smoothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

NUMERIC_BINS = 512  # training values of a numeric field are binned before the kernel sum ...
NUMERIC_GRID = 2048  # ... and its kernel count tabulated on this many points, interpolated between them
SELECTION_ROWS = 4096  # hold-out rows whose mean log-density chooses a bandwidth
NEAREST_NEIGHBOUR_SAMPLE = 2048  # values whose nearest-neighbour distance sets a categorical field's bandwidth scale
CHUNK = 4096
# a field's log kernel count is floored here (n_f >= e^-10): one value far outside the training range
# must not outweigh every other field in the geometric mean
LOG_COUNT_FLOOR = -10.0


def log_kernel_counts(queries: torch.Tensor, centres: torch.Tensor, log_weights: torch.Tensor, bandwidth: float
                      ) -> torch.Tensor:
    """``log sum_s w_s exp(-|q - c_s|^2 / (2 h^2))`` for every query, ``CHUNK`` queries at a time.

    Shapes: ``queries (Q, d)``, ``centres (S, d)``, ``log_weights (S,)`` -> ``(Q,)``. The exponent is
    expanded as ``q.c / h^2 - |c|^2 / (2 h^2) - |q|^2 / (2 h^2)``: one matrix product per chunk.
    """
    precision = 1.0 / bandwidth**2
    centre_terms = log_weights - 0.5 * precision * centres.square().sum(1)  # (S,)
    parts = []
    for i in range(0, len(queries), CHUNK):
        chunk = queries[i : i + CHUNK]  # (q, d)
        exponents = torch.addmm(centre_terms[None], chunk, centres.T, alpha=precision)  # (q, S)
        parts.append(logsumexp_rows(exponents) - 0.5 * precision * chunk.square().sum(1))
    return torch.cat(parts) if parts else torch.zeros(0)


def logsumexp_rows(values: torch.Tensor) -> torch.Tensor:
    """``torch.logsumexp(values, 1)`` of a float32 ``(q, S)`` block (overwritten), bit for bit, faster.

    torch's own computes ``log sum exp(x - max) + max``. Most of a kernel block's terms lie far
    below the row's maximum, where float32 ``exp`` gives 0 or a subnormal, and there torch's CPU
    ``exp`` is ~12x slower than on normal numbers (83 vs 6.6 ms for a 1024 x 7700 block). The terms
    are clamped at ``exp(-87)`` ~ 1.6e-38 first: the sum holds the maximum's ``exp(0) = 1``, so
    terms that small cannot change it (the click-log simulator's density jobs: 17.4 -> 6.0 s).
    """
    row_max = values.amax(1, keepdim=True)  # (q, 1)
    shift = row_max.masked_fill(row_max.abs() == math.inf, 0.0)  # as torch: no inf - inf
    total = values.sub_(shift).clamp_(min=-87.0).exp_().sum(1)  # (q,)
    # a row of -inf only: torch's sum is 0 (log -inf), the clamped one is not
    return total.log_().add_(shift[:, 0]).masked_fill_(row_max[:, 0] == -math.inf, -math.inf)


def kde_log_density(log_count: torch.Tensor, total: float, dim: int, bandwidth: float) -> torch.Tensor:
    """Kernel density estimate from a kernel count: ``log n - log N - (d / 2) log(2 pi h^2)``."""
    return log_count - math.log(total) - 0.5 * dim * math.log(2 * math.pi * bandwidth**2)


def select_bandwidth(queries: torch.Tensor, query_weights: torch.Tensor, centres: torch.Tensor,
                     log_weights: torch.Tensor, candidates: list[float]) -> float:
    """The candidate bandwidth whose kernel density gives the held-out queries the highest mean
    log-density (each query weighted by ``query_weights``, e.g. how many hold-out rows hold it)."""
    total = float(torch.exp(log_weights).sum())
    dim = centres.shape[1]

    def mean_log_density(bandwidth: float) -> float:
        density = kde_log_density(log_kernel_counts(queries, centres, log_weights, bandwidth), total, dim, bandwidth)
        return float((density * query_weights).sum() / query_weights.sum())

    return max(candidates, key=mean_log_density)


@dataclass(frozen=True)
class NumericFieldDensity:
    """One numeric field's log kernel counts on an even grid, linearly interpolated between grid points.

    ``start``, ``step``: the grid ``start + i step``; ``log_counts (G,)``: ``log n_f`` there (queries
    beyond the grid take the count at its nearer end, already ``LOG_COUNT_FLOOR``-small there);
    ``bandwidth``: the kernel's ``h_f``.
    """

    start: float
    step: float
    log_counts: torch.Tensor
    bandwidth: float

    def __call__(self, values: torch.Tensor) -> torch.Tensor:
        position = ((values - self.start) / self.step).clamp(0, len(self.log_counts) - 1)  # (B,)
        left = position.floor().long().clamp(max=len(self.log_counts) - 2)
        fraction = position - left
        return torch.lerp(self.log_counts[left], self.log_counts[left + 1], fraction)


@dataclass(frozen=True)
class CategoricalFieldDensity:
    """One categorical field's kernel counts, computed for a code the first time it is looked up.

    ``embedding (V, d)``: the field's learned table; ``centres (S, d)`` and ``log_weights (S,)``: the
    embeddings of the values seen in training and the log of their row counts; ``cache (V,)``: the
    log kernel counts computed so far (NaN: not yet). Large id fields (Taobao's 46k items) are looked
    up for a fraction of their codes.
    """

    embedding: torch.Tensor
    centres: torch.Tensor
    log_weights: torch.Tensor
    bandwidth: float
    cache: torch.Tensor

    def __call__(self, codes: torch.Tensor) -> torch.Tensor:
        missing = torch.unique(codes[torch.isnan(self.cache[codes])])
        if len(missing):
            self.cache[missing] = log_kernel_counts(self.embedding[missing], self.centres, self.log_weights,
                                                    self.bandwidth)
        return self.cache[codes]


@dataclass(frozen=True)
class FieldDensity:
    """Per-field log kernel counts of the training rows, ready to look up.

    ``categorical[f]``, ``numeric[k]``: each field's kernel counts.
    """

    categorical: tuple[CategoricalFieldDensity, ...]
    numeric: tuple[NumericFieldDensity, ...]

    @property
    def bandwidths(self) -> tuple[float, ...]:
        """The chosen ``h_f``, categorical fields first."""
        return tuple(field.bandwidth for field in (*self.categorical, *self.numeric))

    def log_evidence(self, numeric: torch.Tensor, categorical: torch.Tensor) -> torch.Tensor:
        """``(B,)`` ``log n(x) = mean_f log n_f(x_f)`` for ``numeric (B, F)`` (standardised) and ``categorical (B, C)``."""
        per_field = [field(categorical[:, f]) for f, field in enumerate(self.categorical)]
        per_field += [field(numeric[:, k]) for k, field in enumerate(self.numeric)]
        return torch.stack(per_field, dim=1).clamp(min=LOG_COUNT_FLOOR).mean(dim=1)  # (B,)


def _selection_rows(rows: int) -> np.ndarray:
    """A fixed random sample of at most ``SELECTION_ROWS`` hold-out rows: the bandwidth's likelihood is a
    mean over rows, and a few thousand estimate it well."""
    return np.sort(np.random.default_rng(0).permutation(rows)[:SELECTION_ROWS])


def _categorical_field(embedding: torch.Tensor, train_codes: np.ndarray, holdout_codes: np.ndarray,
                       multiples: list[float]) -> CategoricalFieldDensity:
    """One field's kernel counts, its bandwidth chosen on the hold-out.

    ``embedding (V, d)``: the field's learned table; codes are rows of it. The bandwidth scale is the
    median distance of a seen value to its nearest other seen value."""
    counts = np.bincount(train_codes, minlength=len(embedding))
    seen = np.flatnonzero(counts)
    centres = embedding[seen]  # (S, d)
    log_weights = torch.from_numpy(np.log(counts[seen])).float()
    cache = torch.full((len(embedding),), float("nan"))
    if len(seen) < 2:  # one value: no distance between values to scale a bandwidth by
        return CategoricalFieldDensity(embedding, centres, log_weights, 1.0, cache)
    sample = centres[:NEAREST_NEIGHBOUR_SAMPLE]
    distances = torch.cdist(sample, centres)  # (s, S)
    distances[torch.arange(len(sample)), torch.arange(len(sample))] = float("inf")
    scale = float(distances.min(dim=1).values.median().clamp(min=1e-6))
    held_codes, held_counts = np.unique(holdout_codes[_selection_rows(len(holdout_codes))], return_counts=True)
    bandwidth = select_bandwidth(embedding[held_codes], torch.from_numpy(held_counts).float(), centres, log_weights,
                                 [m * scale for m in multiples])
    return CategoricalFieldDensity(embedding, centres, log_weights, bandwidth, cache)


def _numeric_field(train_values: np.ndarray, holdout_values: np.ndarray, multiples: list[float]
                   ) -> NumericFieldDensity:
    """One standardised numeric field's grid of log kernel counts and its chosen bandwidth (scale:
    Silverman's ``1.06 sd N^(-1/5)``, at least a bin width)."""
    low, high = float(train_values.min()), float(train_values.max())
    high = max(high, low + 1e-6)
    counts, edges = np.histogram(train_values, bins=NUMERIC_BINS, range=(low, high))
    occupied = counts > 0
    centres = torch.from_numpy(((edges[:-1] + edges[1:]) / 2)[occupied]).float()[:, None]  # (S, 1)
    log_counts = torch.from_numpy(np.log(counts[occupied])).float()
    scale = max(1.06 * float(train_values.std()) * len(train_values) ** -0.2, float(edges[1] - edges[0]))
    held = torch.from_numpy(holdout_values[_selection_rows(len(holdout_values))].astype(np.float32))[:, None]
    bandwidth = select_bandwidth(held, torch.ones(len(held)), centres, log_counts, [m * scale for m in multiples])
    start, stop = low - 4 * bandwidth, high + 4 * bandwidth  # beyond: the kernel count is ~e^-8 of the edge's
    grid = torch.linspace(start, stop, NUMERIC_GRID)[:, None]
    return NumericFieldDensity(start, (stop - start) / (NUMERIC_GRID - 1),
                               log_kernel_counts(grid, centres, log_counts, bandwidth), bandwidth)


def fit_field_density(embedding_tables: list[torch.Tensor], train_numeric: np.ndarray, train_categorical: np.ndarray,
                      holdout_numeric: np.ndarray, holdout_categorical: np.ndarray, multiples: list[float]
                      ) -> FieldDensity:
    """Kernel counts of the training rows per field, bandwidths chosen on the hold-out.

    ``embedding_tables[f] (V_f, d)``: the learned embedding of categorical field ``f``;
    ``*_numeric (N, F)`` standardised; ``*_categorical (N, C)`` codes.
    """
    categorical = [
        _categorical_field(table, train_categorical[:, f], holdout_categorical[:, f], multiples)
        for f, table in enumerate(embedding_tables)
    ]
    numeric = [_numeric_field(train_numeric[:, k], holdout_numeric[:, k], multiples)
               for k in range(train_numeric.shape[1])]
    return FieldDensity(categorical=tuple(categorical), numeric=tuple(numeric))
