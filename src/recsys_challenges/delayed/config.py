"""Typed parameters of T2 (delayed feedback): the ``delayed`` section of ``params.yaml``.

Each stage loads only the sub-sections it reads (``delayed.conversions``, ``delayed.datasets.<name>``,
``delayed.protocol``, ``delayed.model``, ``delayed.train``, ``delayed.bench``, ``delayed.sweep``) and dvc.yaml lists
exactly those keys.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

from recsys_challenges.config import require

HOUR = 3600

Builder = Literal["taobao_events", "event_log", "criteo_conversion_logs", "simulator"]


@dataclass(frozen=True)
class ConversionParams:
    """``delayed.conversions``: how clicks are joined with their conversions."""

    window_hours: float = 24.0  # attribution window W: a buy later than W after the click is no conversion

    def __post_init__(self) -> None:
        require(self.window_hours > 0, f"window_hours must be > 0, got {self.window_hours}")

    @property
    def window_s(self) -> int:
        return int(round(self.window_hours * HOUR))


@dataclass(frozen=True)
class SimulatorParams:
    """``delayed.datasets.<name>.simulator``: size and ground truth of a simulated conversion stream.

    The rates (conversion rate, delay mixture, signal counts and timing, hourly click profile) are
    fitted on the calibration table named by the dataset's ``input``; ``conversion_rate``,
    ``slow_share`` and ``slow_mean_hours`` replace the fitted value where set (a regime with many
    fake negatives: frequent, slow conversions).
    """

    rows: int = 1_000_000
    days: float = 9.0
    seed: int = 0
    chunk_rows: int = 250_000  # clicks generated and written per chunk (bounds the memory)
    signal_strength: float = 1.0  # 0: signals say nothing about conversion; 1: as on Taobao; >1 stronger
    sweep_strengths: list[float] = field(default_factory=lambda: [0.0, 0.5, 2.0])  # C5 sweep (besides the main one)
    campaigns_per_day: float = 20.0  # drift: new campaigns (field C1) start at this rate ...
    campaign_life_days: float = 3.0  # ... and stop after this long
    effect_scale: float = 0.6  # standard deviation of each categorical value's effect on the logit
    # concept drift (formulas: data/simulate/conversion_stream.py; the defaults: none, as before)
    campaign_effect_scale: float | None = None  # sd of a campaign's effect; None: effect_scale
    campaign_trend_per_day: float = 0.0  # sd of each campaign's own trend (logit per day of its age)
    static_memory_days: float | None = None  # the static effects' random walk forgets in tau days; None: constant
    delay_feature_effect: float = 0.8  # how strongly a numeric feature shifts the fast/slow delay mix
    conversion_rate: float | None = None  # None: fitted; else the conversion rate within the window
    slow_share: float | None = None  # None: fitted; else the weight of the slow delay component
    slow_mean_hours: float | None = None  # None: fitted; else the slow component's mean delay

    def __post_init__(self) -> None:
        require(self.conversion_rate is None or 0 < self.conversion_rate < 0.5,
                f"conversion_rate must be in (0, 0.5), got {self.conversion_rate}")
        require(self.slow_share is None or 0 <= self.slow_share <= 1, f"slow_share must be in [0, 1], got {self.slow_share}")
        require(self.slow_mean_hours is None or self.slow_mean_hours > 0, "slow_mean_hours must be > 0")
        require(10_000 <= self.rows <= 20_000_000, f"rows must be in [1e4, 2e7], got {self.rows}")
        require(self.days >= 2, f"days must be >= 2, got {self.days}")
        require(self.chunk_rows >= 1000, f"chunk_rows must be >= 1000, got {self.chunk_rows}")
        strengths = [self.signal_strength, *self.sweep_strengths]
        require(all(s >= 0 for s in strengths), f"signal strengths must be >= 0, got {strengths}")
        require(self.signal_strength not in self.sweep_strengths,
                "sweep_strengths must not repeat signal_strength (the main run already measures it)")
        require(self.campaigns_per_day * self.campaign_life_days >= 1,
                "campaigns_per_day * campaign_life_days must be >= 1 (a campaign must be live at every time)")
        require(self.effect_scale >= 0, "effect_scale must be >= 0")
        require(self.campaign_effect_scale is None or self.campaign_effect_scale >= 0,
                "campaign_effect_scale must be >= 0")
        require(self.campaign_trend_per_day >= 0, "campaign_trend_per_day must be >= 0")
        require(self.static_memory_days is None or self.static_memory_days > 0, "static_memory_days must be > 0")

    @property
    def all_strengths(self) -> list[float]:
        return [self.signal_strength, *self.sweep_strengths]


@dataclass(frozen=True)
class DatasetSpec:
    """``delayed.datasets.<name>``: how the dataset's conversion table is built, and its batch size.

    ``input`` is the prepared event/click log (builders ``taobao_events``, ``event_log``, ``criteo_conversion_logs``)
    or, for ``simulator``, the conversion table whose rates the simulator is calibrated to.
    """

    builder: Builder
    input: str
    batch_size: int = 256  # stream minibatch: small data needs small batches to take several steps per slot
    simulator: SimulatorParams | None = None
    item_field: str | None = None  # categorical field whose value's age (since its first click) defines "young items"

    def __post_init__(self) -> None:
        require(self.batch_size >= 1, f"batch_size must be >= 1, got {self.batch_size}")
        require((self.builder == "simulator") == (self.simulator is not None),
                "a 'simulator' block is required for builder 'simulator' and only there")

    @property
    def data_kind(self) -> str:
        return {"simulator": "simulated", "event_log": "user"}.get(self.builder, "real")


@dataclass(frozen=True)
class ProtocolParams:
    """``delayed.protocol``: the streaming protocol of ES-DFM (Yang et al., AAAI 2021), in hours."""

    slot_hours: float = 1.0  # train on slot t (observed by its end), test on slot t+1
    stream_start_hours: float = 72.0  # T0 after the log's origin; pretraining uses clicks mature at T0
    stream_hours: float | None = None  # length of the stream; None: as long as test labels are mature
    elapsed_window_minutes: float = 15.0  # ES-DFM's elapsed window c and DEFER's waiting window
    waiting_hours: list[float] = field(default_factory=lambda: [1.0, 3.0, 6.0, 12.0, 24.0])
    young_item_hours: float = 24.0  # test clicks on items first clicked less than this long ago are "young"

    def __post_init__(self) -> None:
        require(self.slot_hours > 0, f"slot_hours must be > 0, got {self.slot_hours}")
        require(self.stream_start_hours > 0, "stream_start_hours must be > 0")
        require(self.stream_hours is None or self.stream_hours >= 2 * self.slot_hours,
                "stream_hours must cover at least two slots")
        require(self.elapsed_window_minutes > 0, "elapsed_window_minutes must be > 0")
        require(len(self.waiting_hours) > 0 and all(h > 0 for h in self.waiting_hours),
                f"waiting_hours must be positive, got {self.waiting_hours}")
        require(len(set(self.waiting_hours)) == len(self.waiting_hours), "waiting_hours has duplicates")

    @property
    def slot_s(self) -> int:
        return int(round(self.slot_hours * HOUR))

    @property
    def stream_start_s(self) -> int:
        return int(round(self.stream_start_hours * HOUR))

    @property
    def elapsed_window_s(self) -> int:
        return int(round(self.elapsed_window_minutes * 60))


@dataclass(frozen=True)
class ModelParams:
    """``delayed.model``: the CVR network and the auxiliary networks that estimate the weights."""

    hash_bits: int = 14  # 2**hash_bits buckets per categorical field
    embedding_dim: int = 8
    hidden: list[int] = field(default_factory=lambda: [64, 32])
    aux_hidden: list[int] = field(default_factory=lambda: [32])

    def __post_init__(self) -> None:
        require(4 <= self.hash_bits <= 24, f"hash_bits must be in [4, 24], got {self.hash_bits}")
        require(self.embedding_dim >= 1, "embedding_dim must be >= 1")
        require(all(h >= 1 for h in self.hidden + self.aux_hidden), "hidden sizes must be >= 1")


METHODS = ("oracle", "vanilla", "waiting", "fnw", "fsiw", "esdfm", "esdfm_unit", "esdfm_true", "defer", "pcaw",
           "pcaw_fsiw", "pcaw_oracle", "defuse", "defuse_signals")


@dataclass(frozen=True)
class TrainParams:
    """``delayed.train``: seeds, optimiser, pretraining and which methods run."""

    seeds: list[int] = field(default_factory=lambda: [0, 1, 2])
    methods: list[str] = field(default_factory=lambda: list(METHODS))
    lr: float = 1e-3
    weight_decay: float = 1e-6
    pretrain_epochs: int = 3
    aux_epochs: int = 3  # at most; early stopping on the hold-out (the last aux_holdout of the pretraining clicks)
    aux_holdout: float = 0.2
    aux_patience: int = 1  # epochs without a better hold-out loss before stopping
    aux_draws: int = 2  # observation times drawn per pretraining click for the FSIW/PCAW auxiliary data
    max_weight: float = 10.0  # cap on importance weights whose formula divides by an estimated probability
    # the stream learner, the same for every method (chosen on the pre-test period, README T2)
    stream_passes: int = 1  # shuffled passes over a slot's events at each step
    stream_embedding_lr: float | None = None  # LazyAdam's rate on the embedding tables in the stream; None: lr

    def __post_init__(self) -> None:
        require(len(self.seeds) >= 1 and len(set(self.seeds)) == len(self.seeds), "seeds must be distinct")
        unknown = sorted(set(self.methods) - set(METHODS))
        require(not unknown, f"unknown methods {unknown} (known: {', '.join(METHODS)})")
        require({"oracle", "vanilla"} <= set(self.methods), "methods must include oracle and vanilla (RI needs both)")
        require(self.lr > 0 and self.weight_decay >= 0, "lr must be > 0 and weight_decay >= 0")
        require(self.pretrain_epochs >= 1 and self.aux_epochs >= 1, "epochs must be >= 1")
        require(self.aux_draws >= 1, "aux_draws must be >= 1")
        require(0 < self.aux_holdout < 1, f"aux_holdout must be in (0, 1), got {self.aux_holdout}")
        require(self.aux_patience >= 1, "aux_patience must be >= 1")
        require(self.max_weight > 1, "max_weight must be > 1")
        require(self.stream_passes >= 1, f"stream_passes must be >= 1, got {self.stream_passes}")
        require(self.stream_embedding_lr is None or self.stream_embedding_lr > 0, "stream_embedding_lr must be > 0")


@dataclass(frozen=True)
class BenchParams:
    """``delayed.bench``: the training-throughput and large-stream benchmark."""

    throughput_rows: int = 200_000  # training events timed for plain BCE vs the weighted loss
    repeats: int = 3
    stream_rows: int = 2_000_000  # simulated rows streamed end to end (CLI --rows 20000000 for 2e7)

    def __post_init__(self) -> None:
        require(self.throughput_rows >= 1000, "throughput_rows must be >= 1000")
        require(self.repeats >= 1, "repeats must be >= 1")
        require(10_000 <= self.stream_rows <= 20_000_000, "stream_rows must be in [1e4, 2e7]")


@dataclass(frozen=True)
class RegimeParams:
    """One simulated regime of the sweep: the simulator's overrides and ES-DFM's elapsed window c.

    ``conversion_rate``, ``slow_share`` and ``slow_mean_hours`` replace the rates fitted on Taobao
    (as ``SimulatorParams``' overrides do), ``signal_strength`` is the simulator's, and
    ``elapsed_window_minutes`` is ES-DFM's elapsed window c (Yang et al., AAAI 2021): an unconverted
    click is ingested as a negative c after it, and a conversion later than c is a fake negative.
    ``campaign_effect_scale`` and ``campaign_life_days`` set the simulator's drift (its other drift
    parameters are those of ``delayed.datasets.sim``).
    """

    conversion_rate: float = 0.10
    elapsed_window_minutes: float = 15.0
    slow_share: float = 0.5
    signal_strength: float = 1.0
    campaign_effect_scale: float = 0.6  # sd of a campaign's effect (the static fields': the dataset's effect_scale)
    campaign_life_days: float = 3.0
    slow_mean_hours: float = 8.0  # the slow delay component's mean (not swept)

    def __post_init__(self) -> None:
        require(0 < self.conversion_rate < 0.5, f"conversion_rate must be in (0, 0.5), got {self.conversion_rate}")
        require(self.elapsed_window_minutes > 0, f"elapsed_window_minutes must be > 0, got {self.elapsed_window_minutes}")
        require(0 <= self.slow_share <= 1, f"slow_share must be in [0, 1], got {self.slow_share}")
        require(self.signal_strength >= 0, f"signal_strength must be >= 0, got {self.signal_strength}")
        require(self.slow_mean_hours > 0, f"slow_mean_hours must be > 0, got {self.slow_mean_hours}")
        require(self.campaign_effect_scale >= 0, f"campaign_effect_scale must be >= 0, got {self.campaign_effect_scale}")
        require(self.campaign_life_days > 0, f"campaign_life_days must be > 0, got {self.campaign_life_days}")


@dataclass(frozen=True)
class SweepFactors:
    """``delayed.sweep.factors``: the values each swept field of :class:`RegimeParams` takes."""

    conversion_rate: list[float] = field(default_factory=lambda: [0.01, 0.05, 0.10, 0.20])
    elapsed_window_minutes: list[float] = field(default_factory=lambda: [5.0, 15.0, 60.0])
    slow_share: list[float] = field(default_factory=lambda: [0.2, 0.5, 0.8])
    signal_strength: list[float] = field(default_factory=lambda: [0.0, 1.0, 8.0])
    campaign_effect_scale: list[float] = field(default_factory=lambda: [0.0, 0.6, 1.5])  # drift (C4)
    campaign_life_days: list[float] = field(default_factory=lambda: [1.0, 3.0, 9.0])

    def values(self) -> dict[str, list[float]]:
        """Factor name (a field of :class:`RegimeParams`) -> its values, in params order."""
        return {name: list(getattr(self, name)) for name in self.__dataclass_fields__}


SWEEP_REFERENCE = "esdfm"  # every gain of the sweep is paired against ES-DFM
SWEEP_BASE = "base"  # the name of the sweep's centre point
SWEEP_REQUIRED = ("oracle", "vanilla", SWEEP_REFERENCE, "pcaw", "pcaw_oracle", "waiting")


@dataclass(frozen=True)
class SweepParams:
    """``delayed.sweep``: simulated regimes, one factor at a time around ``base`` (stage ``delayed_sweep``).

    Each point is ``base`` with one factor set to one of its values; ``base`` is the centre shared
    by every factor, so each factor's values must include the base's. The simulator's other
    settings (days, drift, effects), the calibration input and the batch size are those of
    ``delayed.datasets.sim`` (dvc.yaml lists them). Every seed is a replicate: its own simulated stream (simulator
    seed) and its own training seed, so the CIs cover both the data and the training.
    """

    rows: int = 40_000
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2])
    methods: list[str] = field(default_factory=lambda: ["oracle", "vanilla", "waiting", "esdfm", "pcaw", "pcaw_oracle"])
    waiting_hours: list[float] = field(default_factory=lambda: [6.0, 24.0])  # the sweep's waiting-N lines
    base: RegimeParams = field(default_factory=RegimeParams)
    factors: SweepFactors = field(default_factory=SweepFactors)

    def __post_init__(self) -> None:
        require(10_000 <= self.rows <= 2_000_000, f"rows must be in [1e4, 2e6], got {self.rows}")
        require(len(self.seeds) >= 1 and len(set(self.seeds)) == len(self.seeds), "seeds must be distinct")
        unknown = sorted(set(self.methods) - set(METHODS))
        require(not unknown, f"unknown methods {unknown} (known: {', '.join(METHODS)})")
        missing = [m for m in SWEEP_REQUIRED if m not in self.methods]
        require(not missing, f"methods must include {', '.join(SWEEP_REQUIRED)} (missing {', '.join(missing)})")
        require(len(self.waiting_hours) >= 1 and all(h > 0 for h in self.waiting_hours), "waiting_hours must be > 0")
        for name, values in self.factors.values().items():
            require(len(values) >= 1 and len(set(values)) == len(values), f"factors.{name} must be distinct values")
            require(getattr(self.base, name) in values,
                    f"factors.{name} must include the base's value {getattr(self.base, name)} (the shared centre point)")
            for value in values:
                replace(self.base, **{name: value})  # range checks of RegimeParams
