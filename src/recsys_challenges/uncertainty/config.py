"""The ``uncertainty:`` section of params.yaml as frozen dataclasses (one per stage that reads it)."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from recsys_challenges.config import require

TECHNIQUE = "uncertainty"
Estimator = Literal["density_posterior", "posterior_network", "deep_ensemble", "mc_dropout"]


def dataset_stage_parser(prog: str, description: str, out_help: str) -> argparse.ArgumentParser:
    """Arguments shared by the per-dataset stages: the dataset key, ``--params`` and ``--out``."""
    parser = argparse.ArgumentParser(prog=f"recsys_challenges {prog}", description=description)
    parser.add_argument("dataset", help="a key of uncertainty.datasets in params.yaml")
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--out", type=Path, help=out_help)
    return parser


@dataclass(frozen=True)
class SplitParams:
    """Row fractions of the train and hold-out splits (test gets the rest), the split's seed, and
    what it follows: ``group`` (groups shuffled with the seed) or ``time`` (train the earliest rows,
    hold-out the next, test the last; the loader must give each row a time)."""

    train: float = 0.5
    holdout: float = 0.25
    seed: int = 0
    by: Literal["group", "time"] = "group"

    def __post_init__(self) -> None:
        require(self.train > 0 and self.holdout > 0, "train and holdout fractions must be > 0")
        require(
            self.train + self.holdout < 1.0,
            f"train + holdout must leave rows for test, got {self.train + self.holdout}",
        )


@dataclass(frozen=True)
class DatasetParams:
    """``uncertainty.datasets.<name>``: where a dataset is and how to read it.

    ``loader`` names an entry of :data:`recsys_challenges.uncertainty.datasets.LOADERS` (or is
    ``scores``: a user's own score and uncertainty); ``kind`` is ``user`` for a user's own data;
    ``negative_keep`` is the fraction of training negatives kept (differential sampling, as in
    Criteo's logs; 1 keeps all). Hold-out and test rows are never down-sampled. ``split``, where
    given, replaces ``uncertainty.train.split`` for this dataset.
    """

    folder: str
    loader: str
    kind: Literal["real", "simulated", "user"]
    negative_keep: float = 1.0
    split: SplitParams | None = None

    def __post_init__(self) -> None:
        from recsys_challenges.uncertainty.datasets import LOADERS, SCORES

        known = [*LOADERS, SCORES]
        require(self.loader in known, f"unknown loader {self.loader!r} (known: {', '.join(known)})")
        require(0.0 < self.negative_keep <= 1.0, f"negative_keep must be in (0, 1], got {self.negative_keep}")


@dataclass(frozen=True)
class ModelParams:
    """The MLP classifier (embeddings for categorical fields, then hidden ReLU layers), and its training."""

    hidden: tuple[int, ...] = (64, 32)
    embedding_dim: int = 8
    dropout: float = 0.0
    learning_rate: float = 1e-3
    weight_decay: float = 1e-5
    batch_size: int = 512
    epochs: int = 10
    min_steps_per_epoch: int = 30

    def effective_batch_size(self, rows: int) -> int:
        """``batch_size``, made smaller on a small training set so that an epoch has at least
        ``min_steps_per_epoch`` steps (never below 64 rows)."""
        return int(min(self.batch_size, max(64, rows // self.min_steps_per_epoch)))

    def __post_init__(self) -> None:
        require(
            len(self.hidden) >= 1 and min(self.hidden) >= 1, f"hidden must list layer widths >= 1, got {self.hidden}"
        )
        require(self.embedding_dim >= 1, "embedding_dim must be >= 1")
        require(0.0 <= self.dropout < 1.0, f"dropout must be in [0, 1), got {self.dropout}")
        require(self.learning_rate > 0 and self.weight_decay >= 0, "learning_rate must be > 0, weight_decay >= 0")
        require(self.batch_size >= 1 and self.epochs >= 1, "batch_size and epochs must be >= 1")
        require(self.min_steps_per_epoch >= 1, "min_steps_per_epoch must be >= 1")


@dataclass(frozen=True)
class PosteriorNetworkParams:
    """Posterior network (Charpentier, Zuegner & Guennemann, NeurIPS 2020), binary case.

    ``latent_dim``: width of the (batch-normalised) embedding; ``components``: Gaussians of each
    class's mixture density on it; ``entropy_weight``: weight of the Beta entropy in the Bayesian
    (UCE) loss.
    """

    latent_dim: int = 6
    components: int = 6
    entropy_weight: float = 1e-5

    def __post_init__(self) -> None:
        require(self.latent_dim >= 1 and self.components >= 1, "latent_dim and components must be >= 1")
        require(self.entropy_weight >= 0, f"entropy_weight must be >= 0, got {self.entropy_weight}")


@dataclass(frozen=True)
class DensityPosteriorParams:
    """Density posterior (:mod:`recsys_challenges.uncertainty.density`): a Beta posterior whose evidence is
    the kernel count of training rows near the example's values, per field.

    ``bandwidth_multiples``: candidate bandwidths, as multiples of each field's scale (categorical:
    the median nearest-neighbour distance of its values' embeddings; numeric: Silverman's rule),
    one chosen per field by hold-out likelihood; ``prior_count``: pseudo-rows of the Beta prior,
    centred on the training rows' positive share.
    """

    bandwidth_multiples: tuple[float, ...] = (0.25, 0.5, 1.0, 2.0, 4.0)
    prior_count: float = 2.0

    def __post_init__(self) -> None:
        require(
            len(self.bandwidth_multiples) >= 1 and all(m > 0 for m in self.bandwidth_multiples),
            f"bandwidth_multiples must be positive, got {self.bandwidth_multiples}",
        )
        require(self.prior_count > 0, f"prior_count must be > 0, got {self.prior_count}")


@dataclass(frozen=True)
class DeepEnsembleParams:
    """Deep ensemble (Lakshminarayanan et al., NeurIPS 2017): independently initialised members,
    each trained on its own bootstrap sample of the training rows (``bootstrap``) in its own order."""

    members: int = 5
    bootstrap: bool = True

    def __post_init__(self) -> None:
        require(self.members >= 2, f"a deep ensemble needs >= 2 members, got {self.members}")


@dataclass(frozen=True)
class MCDropoutParams:
    """MC dropout (Gal & Ghahramani, ICML 2016): stochastic forward passes at prediction time."""

    passes: int = 30
    dropout: float = 0.2

    def __post_init__(self) -> None:
        require(self.passes >= 2, f"MC dropout needs >= 2 passes, got {self.passes}")
        require(0.0 < self.dropout < 1.0, f"MC dropout needs dropout in (0, 1), got {self.dropout}")


@dataclass(frozen=True)
class TrainParams:
    """``uncertainty.train``: the estimator of score and uncertainty, and how to fit it."""

    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    estimator: Estimator = "density_posterior"
    ablations: tuple[Estimator, ...] = ("posterior_network", "deep_ensemble", "mc_dropout")
    split: SplitParams = field(default_factory=SplitParams)
    model: ModelParams = field(default_factory=ModelParams)
    density_posterior: DensityPosteriorParams = field(default_factory=DensityPosteriorParams)
    posterior_network: PosteriorNetworkParams = field(default_factory=PosteriorNetworkParams)
    deep_ensemble: DeepEnsembleParams = field(default_factory=DeepEnsembleParams)
    mc_dropout: MCDropoutParams = field(default_factory=MCDropoutParams)
    torch_threads: int = 1

    @property
    def estimators(self) -> tuple[str, ...]:
        """The headline estimator first, then the ablations."""
        return (self.estimator, *self.ablations)

    def __post_init__(self) -> None:
        require(self.torch_threads >= 1, f"torch_threads must be >= 1, got {self.torch_threads}")
        require(
            len(set(self.estimators)) == len(self.estimators),
            f"ablations must be distinct and differ from the estimator, got {self.estimators}",
        )
        require(
            len(self.seeds) >= 1 and len(set(self.seeds)) == len(self.seeds),
            f"seeds must be distinct, got {self.seeds}",
        )


@dataclass(frozen=True)
class BoundaryParams:
    """``uncertainty.boundaries``: the equi-weight grid of EW-DPMT and MIST on the hold-out.

    ``levels`` uncertainty quantile levels; score bins per level = hold-out rows /
    (levels x ``rows_per_bin``), at most ``max_bins``: a rare positive class needs small bins at the
    top of the score range, where high-precision boundaries fall. ``detrend_bins``: the levels are
    cut on the uncertainty's rank within one of this many hold-out score quantile bins (the score
    trend of the uncertainty removed; 1 = the raw uncertainty). ``confidence``: every method's
    boundary must meet the bound with the one-sided Wilson lower confidence bound of its hold-out
    precision at this level.

    The grid is chosen per seed and precision bound by cross-validation on the hold-out
    (:func:`~recsys_challenges.uncertainty.grid_cv.choose_grid`) among ``cv_levels`` x
    ``cv_rows_per_bin`` candidates, with ``cv_folds`` folds, each level's top score bin holding at
    least ``min_positives_per_bin`` positives; ``levels`` x ``rows_per_bin`` is the fallback grid
    when no candidate is admissible, and the only grid when ``cv_levels`` or ``cv_rows_per_bin`` is
    empty (CV off).
    """

    levels: int = 5
    rows_per_bin: int = 10
    max_bins: int = 5000
    detrend_bins: int = 20
    confidence: float = 0.995
    cv_levels: tuple[int, ...] = (2, 3, 5, 8)
    cv_rows_per_bin: tuple[int, ...] = (10, 30, 100, 300)
    cv_folds: int = 5
    min_positives_per_bin: int = 5

    @property
    def cv_candidates(self) -> list[tuple[int, int]]:
        """The ``(levels, rows_per_bin)`` grids cross-validation chooses among (empty: CV off)."""
        return [(levels, per_bin) for levels in self.cv_levels for per_bin in self.cv_rows_per_bin]

    def __post_init__(self) -> None:
        require(self.levels >= 1, f"levels must be >= 1, got {self.levels}")
        require(self.rows_per_bin >= 1 and self.max_bins >= 1, "rows_per_bin and max_bins must be >= 1")
        require(self.detrend_bins >= 1, f"detrend_bins must be >= 1, got {self.detrend_bins}")
        require(0.5 <= self.confidence < 1.0, f"confidence must be in [0.5, 1), got {self.confidence}")
        require(all(v >= 1 for v in self.cv_levels), f"cv_levels must all be >= 1, got {self.cv_levels}")
        require(
            len(self.cv_rows_per_bin) >= 1 and all(v >= 1 for v in self.cv_rows_per_bin),
            f"cv_rows_per_bin must list values >= 1, got {self.cv_rows_per_bin}",
        )
        require(self.cv_folds >= 2, f"cv_folds must be >= 2, got {self.cv_folds}")
        require(
            self.min_positives_per_bin >= 1, f"min_positives_per_bin must be >= 1, got {self.min_positives_per_bin}"
        )


@dataclass(frozen=True)
class EvaluateParams:
    """``uncertainty.evaluate``: precision bounds (C7), bootstrap, and the C6 grid on the test split.

    ``c6_effect``: the smallest C6 slope of interest (log-odds, least to most uncertain at a fixed
    score); a slope CI that contains 0 while the minimum detectable effect exceeds it is
    inconclusive. ``uninformative_ceiling``: on simulated data, a noise-free C7 ceiling below this
    relative recall gain marks the estimator uninformative. ``saturated_auc`` and
    ``underpowered_positives`` label a dataset saturated (a single threshold already separates the
    classes) or underpowered (few test positives).
    """

    precision_bounds: tuple[float, ...] = (0.5, 0.6, 0.7, 0.8, 0.9)
    bootstrap_resamples: int = 1000
    bootstrap_seed: int = 0
    c6_score_bins: int = 10
    c6_levels: int = 4
    c6_effect: float = 0.2
    uninformative_ceiling: float = 0.05
    saturated_auc: float = 0.97
    underpowered_positives: int = 1000

    def __post_init__(self) -> None:
        require(self.c6_effect > 0, f"c6_effect must be > 0, got {self.c6_effect}")
        require(self.uninformative_ceiling >= 0, "uninformative_ceiling must be >= 0")
        require(len(self.precision_bounds) >= 1, "precision_bounds must not be empty")
        require(
            all(0.0 < b <= 1.0 for b in self.precision_bounds),
            f"precision bounds must be in (0, 1], got {self.precision_bounds}",
        )
        require(self.bootstrap_resamples >= 10, f"bootstrap_resamples must be >= 10, got {self.bootstrap_resamples}")
        require(self.c6_score_bins >= 1 and self.c6_levels >= 2, "c6_score_bins must be >= 1 and c6_levels >= 2")


@dataclass(frozen=True)
class FigureParams:
    """``uncertainty.figures``: the precision bound whose boundaries are drawn, and the scatter size."""

    boundary_bound: float = 0.8
    scatter_negatives: int = 20_000

    def __post_init__(self) -> None:
        require(0.0 < self.boundary_bound <= 1.0, f"boundary_bound must be in (0, 1], got {self.boundary_bound}")
        require(self.scatter_negatives >= 0, "scatter_negatives must be >= 0")


@dataclass(frozen=True)
class BenchParams:
    """``uncertainty.bench``: boundary search timed on a synthetic hold-out."""

    rows: int = 1_000_000
    levels: int = 10
    bins: int = 100
    bound: float = 0.8
    repeats: int = 3
    seed: int = 0

    def __post_init__(self) -> None:
        require(self.rows >= self.levels * self.bins, "rows must be >= levels x bins")
        require(self.repeats >= 1, "repeats must be >= 1")
        require(0.0 < self.bound <= 1.0, f"bound must be in (0, 1], got {self.bound}")
