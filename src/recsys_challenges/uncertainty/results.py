"""The metrics file of ``uncertainty_evaluate@<dataset>``: ``reports/metrics/uncertainty/<dataset>.json``.

Each dataclass here is one part of the file and writes (``to_json``) and reads (``from_json``) its
own JSON, so the layout lives in code; :mod:`.evaluate` fills them, the stage writes
:meth:`Metrics.to_json` (``io.write_json`` sorts the keys). The document::

    {"technique": "uncertainty", "dataset", "data_kind": "real" | "simulated", "seeds": [int],
     "estimator": str,                 # the headline estimator; its EstimatorResult is at the top level:
     "summary", "diagnostics", "c6", "c7",
     "ablations": {estimator: EstimatorResult (c7 without boundaries)},
     "role": Role, "config": EvaluationConfig, "data": DataSummary}

Summaries (``summary[method][metric]``) are :func:`~recsys_challenges.stats.mean_ci` dicts over
seeds (``mean``, ``std``, ``n``, ``ci95``, per-seed ``values`` in seed order); the pooled C6 slope
``summary.classifier.c6_slope_upper`` is :func:`~.positivity.c6_statistic`'s (group bootstrap:
``ci_method``, ``se``, ``mde``, ``outcome``). Metrics are keyed ``<metric>@<b>`` per precision
bound ``b`` (:func:`bound_key`):

* ``classifier``: ``test_auc``, ``test_average_precision``, ``c6_slope`` (all rows), ``c6_slope_upper``,
  ``c6_decreasing_fraction``;
* ``single`` | ``ew_dpmt`` | ``mist``: ``recall@<b>``, ``precision@<b>`` (test split),
  ``holdout_recall@<b>``, ``holdout_precision@<b>`` (where the boundary was chosen),
  ``feasible@<b>`` (1 if the bound was met on the hold-out); ``ew_dpmt`` and ``mist`` also
  ``recall_gain@<b>`` (R / R_single - 1 per seed) and ``matched_gain@<b>`` (R / R_single at the same
  achieved test precision - 1), left out where a denominator is 0 for a seed.

CIs in ``c7`` are percentile bootstraps of the test positives (recall depends on them only), drawn
by group (the groups holding a test positive: rows of a click log, proteins of KDD Cup 2004, users
of Taobao), with the boundaries held fixed and the same resamples for every method and seed, so
gains are paired and pooled over seeds; thresholds ``+inf`` / ``-inf`` (select nothing / all of a
level) are written as the strings "inf" / "-inf". Conventions: the precision of an empty selection
is 1 (no false positive); ``feasible@<b>`` says when that happens because nothing met the bound on
the hold-out. ``level_edges`` of a boundary are on the detrended uncertainty (a rank in [0, 1]
within the hold-out score bin).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from pathlib import Path

from recsys_challenges.uncertainty.config import TECHNIQUE

METRICS_ROOT = Path("reports/metrics") / TECHNIQUE

Summary = dict[str, dict[str, dict]]  # method -> metric -> mean_ci-shaped dict
ByMethodBound = dict[str, dict[str, dict]]  # method -> bound key -> dict


class JsonRecord:
    """A dataclass whose JSON is its fields (nested dicts and lists as they are)."""

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict):
        return cls(**data)


def bound_key(bound: float) -> str:
    """The key of a precision bound in the metrics file: ``0.8`` -> ``"0.8"``."""
    return f"{bound:g}"


@dataclass
class CandidateRecord(JsonRecord):
    """One candidate grid of the cross-validation (:class:`~.grid_cv.GridScore`, without its pooled counts)."""

    levels: int
    rows_per_bin: int
    bins: int
    recall: float
    top_bin_positives: float
    admissible: bool


@dataclass
class GridRecord:
    """``c7.grid[<b>][i]``: the grid of EW-DPMT and MIST for one seed at one bound; ``fallback``: no
    CV candidate admissible, the fixed grid taken; ``cv``: every candidate ([] when CV is off)."""

    seed: int
    levels: int
    bins: int
    fallback: bool
    cv: list[CandidateRecord]

    def to_json(self) -> dict:
        return {"seed": self.seed, "levels": self.levels, "bins": self.bins, "fallback": self.fallback,
                "cv": [c.to_json() for c in self.cv]}

    @classmethod
    def from_json(cls, data: dict) -> GridRecord:
        return cls(data["seed"], data["levels"], data["bins"], data["fallback"],
                   [CandidateRecord.from_json(c) for c in data["cv"]])


@dataclass
class BoundaryRecord(JsonRecord):
    """``c7.boundaries[method][<b>][i]``: a boundary chosen on one seed's hold-out (thresholds
    ``"inf"`` / ``"-inf"`` as strings)."""

    seed: int
    feasible: bool
    level_edges: list[float]
    thresholds: list[float | str]


@dataclass
class C6Grid(JsonRecord):
    """``c6``: the positivity grid of the first seed on the test split: ``[[S x L]]`` ``rows``,
    ``positives``, ``rate``, ``ci95_low``, ``ci95_high`` (Clopper-Pearson; None where a cell is
    empty), ``mean_score``, ``mean_uncertainty``; ``score_edges [S - 1]``."""

    seed: int
    split: str
    score_bins: int
    levels: int
    score_edges: list[float]
    rows: list[list[int]]
    positives: list[list[int]]
    rate: list[list[float | None]]
    ci95_low: list[list[float | None]]
    ci95_high: list[list[float | None]]
    mean_score: list[list[float]]
    mean_uncertainty: list[list[float]]


@dataclass
class C7Result:
    """``c7``: per method and bound key, the pooled recall gain over the single threshold
    (``recall_gain``: ``mean``, ``ci95``, ``se``, ``mde``, ``n``, per-seed ``values``,
    ``ci_method``; not for the single threshold), the recall (``recall``: ``estimate``, ``ci95``,
    ``se``, ``mde``), the seeds whose test precision fell below the bound, the grids, and (headline
    estimator only) the boundaries."""

    precision_bounds: list[float]
    recall_gain: ByMethodBound
    recall: ByMethodBound
    test_precision_below_bound: dict[str, dict[str, int]]
    grid: dict[str, list[GridRecord]]
    boundaries: dict[str, dict[str, list[BoundaryRecord]]] | None = None

    def to_json(self) -> dict:
        out = {
            "precision_bounds": self.precision_bounds,
            "recall_gain": self.recall_gain,
            "recall": self.recall,
            "test_precision_below_bound": self.test_precision_below_bound,
            "grid": {key: [g.to_json() for g in grids] for key, grids in self.grid.items()},
        }
        if self.boundaries is not None:
            out["boundaries"] = {
                method: {key: [b.to_json() for b in rows] for key, rows in by_bound.items()}
                for method, by_bound in self.boundaries.items()
            }
        return out

    @classmethod
    def from_json(cls, data: dict) -> C7Result:
        boundaries = data.get("boundaries")
        return cls(
            data["precision_bounds"],
            data["recall_gain"],
            data["recall"],
            data["test_precision_below_bound"],
            {key: [GridRecord.from_json(g) for g in grids] for key, grids in data["grid"].items()},
            None if boundaries is None else {
                method: {key: [BoundaryRecord.from_json(b) for b in rows] for key, rows in by_bound.items()}
                for method, by_bound in boundaries.items()
            },
        )


@dataclass
class Diagnostics:
    """``diagnostics`` (simulated data only, the positive control): ``measures`` are mean_ci dicts of
    ``uncertainty_error_correlation`` (Spearman of the uncertainty and the score's log-odds error on
    test), ``c6_slope_truth_upper`` (the C6 slope with the true probability as the target) and
    ``ceiling@<b>`` (the noise-free C7 gain of EW-DPMT: boundaries chosen on test with the true
    probabilities as expected positives), each left out unless finite on every seed; the largest
    ceiling and whether it makes the estimator informative."""

    measures: dict[str, dict]
    ceiling_max: float | None
    informative: bool
    verdict_note: str | None

    def to_json(self) -> dict:
        return self.measures | {
            "ceiling_max": self.ceiling_max, "informative": self.informative, "verdict_note": self.verdict_note
        }

    @classmethod
    def from_json(cls, data: dict) -> Diagnostics:
        own = ("ceiling_max", "informative", "verdict_note")
        return cls({k: v for k, v in data.items() if k not in own}, *(data[k] for k in own))


@dataclass
class EstimatorResult:
    """One estimator's ``summary``, ``diagnostics`` (None on real data), ``c6`` and ``c7``."""

    summary: Summary
    diagnostics: Diagnostics | None
    c6: C6Grid
    c7: C7Result

    def to_json(self) -> dict:
        return {
            "summary": self.summary,
            "diagnostics": None if self.diagnostics is None else self.diagnostics.to_json(),
            "c6": self.c6.to_json(),
            "c7": self.c7.to_json(),
        }

    @classmethod
    def from_json(cls, data: dict) -> EstimatorResult:
        diagnostics = data["diagnostics"]
        return cls(
            data["summary"],
            None if diagnostics is None else Diagnostics.from_json(diagnostics),
            C6Grid.from_json(data["c6"]),
            C7Result.from_json(data["c7"]),
        )


@dataclass
class Power(JsonRecord):
    """``role.power``: C6's minimum detectable effect (log-odds) against the slope of interest, and
    C7's (the smallest relative recall gain the CI tells from 0) per method and bound key, at every
    bound the single threshold meets on the hold-out of every seed."""

    c6_mde: float | None
    c6_effect: float
    c7_mde: dict[str, dict[str, float]]


@dataclass
class Role:
    """``role``: whether the dataset can carry a verdict (some method reaches some bound), its power
    labels and the notes that explain them."""

    counts_toward_verdict: bool
    reachable_bounds: list[float]
    saturated: bool
    underpowered: bool
    test_rows: int
    test_positives: int
    power: Power
    notes: list[str]

    def to_json(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)} | {"power": self.power.to_json()}

    @classmethod
    def from_json(cls, data: dict) -> Role:
        return cls(**(data | {"power": Power.from_json(data["power"])}))


@dataclass
class EvaluationConfig(JsonRecord):
    """``config``: the estimators and the boundary and evaluation parameters the file was made with
    (``levels``, ``bins``: the fixed (fallback) grid; the grids used are in ``c7.grid``)."""

    estimator: str
    estimators: list[str]
    levels: int
    bins: int
    rows_per_bin: int
    max_bins: int
    cv_levels: list[int]
    cv_rows_per_bin: list[int]
    cv_folds: int
    min_positives_per_bin: int
    detrend_bins: int
    confidence: float
    precision_bounds: list[float]
    bootstrap_resamples: int
    c6_effect: float


@dataclass
class DataSummary(JsonRecord):
    """``data``: rows, positives and groups per split, the share of training negatives kept, and per
    seed the training rows after down-sampling (wall times stay in the predictions' meta.json, so
    the metrics file is byte-identical across runs)."""

    rows: dict[str, int]
    positives: dict[str, int]
    groups: dict[str, int]
    negative_keep: float
    per_seed: list[dict]

    @classmethod
    def from_meta(cls, meta: dict) -> DataSummary:
        """From the predictions' meta.json, without the wall times."""
        return cls(meta["rows"], meta["positives"], meta["groups"], meta["negative_keep"],
                   [{k: v for k, v in run.items() if k != "seconds"} for run in meta["per_seed"]])


@dataclass
class Metrics:
    """The metrics document of one dataset: the headline estimator's result at the top level, the
    ablations', the dataset's role, the config and the data."""

    dataset: str
    data_kind: str
    seeds: list[int]
    estimator: str
    headline: EstimatorResult
    ablations: dict[str, EstimatorResult]
    role: Role
    config: EvaluationConfig
    data: DataSummary
    technique: str = TECHNIQUE

    def by_estimator(self) -> dict[str, EstimatorResult]:
        """Headline estimator first, then the ablations."""
        return {self.estimator: self.headline, **self.ablations}

    def to_json(self) -> dict:
        return {
            "technique": self.technique,
            "dataset": self.dataset,
            "data_kind": self.data_kind,
            "seeds": self.seeds,
            "estimator": self.estimator,
            **self.headline.to_json(),
            "ablations": {name: block.to_json() for name, block in self.ablations.items()},
            "role": self.role.to_json(),
            "config": self.config.to_json(),
            "data": self.data.to_json(),
        }

    @classmethod
    def from_json(cls, data: dict) -> Metrics:
        return cls(
            dataset=data["dataset"],
            data_kind=data["data_kind"],
            seeds=data["seeds"],
            estimator=data["estimator"],
            headline=EstimatorResult.from_json(data),
            ablations={name: EstimatorResult.from_json(block) for name, block in data["ablations"].items()},
            role=Role.from_json(data["role"]),
            config=EvaluationConfig.from_json(data["config"]),
            data=DataSummary.from_json(data["data"]),
            technique=data["technique"],
        )
