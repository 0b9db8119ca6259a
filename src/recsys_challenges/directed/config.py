"""The ``directed`` section of params.yaml as frozen dataclasses (one per sub-section), and the
folders and files the directed stages write.

Each stage loads only the sub-sections it reads (dvc.yaml lists exactly those keys):
``directed_train`` reads experiment, split, sampling, model, loss, train, methods;
``directed_evaluate`` reads experiment, methods, evaluate; ``directed_figures`` reads
datasets, experiment, methods, figures; ``directed_bench`` reads experiment, sampling, model, loss,
train, bench; ``directed_control`` adds evaluate and control to the training sections;
``directed_search`` adds search.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

from recsys_challenges.config import PARAMS_FILE, from_mapping, load_section, read_yaml, require
from recsys_challenges.errors import ConfigError

T = TypeVar("T")

OUTPUT_ROOT = Path("data/directed")  # directed_train: data/directed/<dataset>/ (splits, embeddings, training.json)
CHECKPOINT_ROOT = Path("runs/checkpoints/directed")  # resumable runs' scratch folders, outside DVC
METRICS_ROOT = Path("reports/metrics/directed")  # directed_evaluate: <dataset>.json
FIGURES_ROOT = Path("reports/figures/directed")  # directed_figures
CONTROL_OUTPUT = METRICS_ROOT / "planted_two_hop.json"  # directed_control
SEARCH_OUTPUT = METRICS_ROOT / "search" / "validation_grid.json"  # directed_search
BENCH_OUTPUT = Path("reports/bench/directed.json")  # directed_bench


@dataclass(frozen=True)
class ExperimentParams:
    """``directed.experiment``: seeds (one trained model per method and seed) and CPU threads."""

    seeds: list[int] = field(default_factory=lambda: [0, 1, 2])
    num_threads: int = 2  # torch intra-op threads: all cores of a 2-core machine that runs one stage at a time

    def __post_init__(self) -> None:
        require(len(self.seeds) >= 1 and len(set(self.seeds)) == len(self.seeds), "seeds must be distinct, >= 1")
        require(self.num_threads >= 1, "num_threads must be >= 1")


@dataclass(frozen=True)
class SplitParams:
    """``directed.split``: held-out fractions of the edges (the rest is training)."""

    val_fraction: float = 0.05
    test_fraction: float = 0.10

    def __post_init__(self) -> None:
        require(0 < self.val_fraction and 0 < self.test_fraction, "fractions must be > 0")
        require(self.val_fraction + self.test_fraction < 0.5, "val_fraction + test_fraction must be < 0.5")


@dataclass(frozen=True)
class SamplingParams:
    """``directed.sampling``: the fan-out rules' constants (see :mod:`.sampling`)."""

    fanout: int = 10  # fixed fan-out f per relation; the adaptive rule matches its mean realised budget
    exponent: float | None = None  # gamma of inverse_power: k(d) ~ (1 + d) ** -gamma; None: estimated per graph
    min_fanout: int = 2
    max_fanout: int = 50
    choice_exponent: float = 1.0  # beta of the degree-biased neighbour choice (1 + deg) ** beta

    def __post_init__(self) -> None:
        require(self.fanout >= 1, "fanout must be >= 1")
        require(self.exponent is None or self.exponent > 0, "exponent must be > 0 (the adaptive fan-out decreases with degree)")
        require(1 <= self.min_fanout <= self.fanout <= self.max_fanout, "need 1 <= min_fanout <= fanout <= max_fanout")


@dataclass(frozen=True)
class ModelParams:
    """``directed.model``: embedding width and message-passing depth (= sampled hops)."""

    dim: int = 32
    num_layers: int = 2

    def __post_init__(self) -> None:
        require(self.dim >= 2, "dim must be >= 2")
        require(self.num_layers >= 1, "num_layers must be >= 1")


@dataclass(frozen=True)
class LossParams:
    """``directed.loss``: the asymmetric loss (see :mod:`.losses`)."""

    num_negatives: int = 5  # random negatives per positive edge
    negative_weight: float = 1.0  # w_r
    hard_negative_weight: float = 1.0  # w_h, on the reversed pair of a one-way edge

    def __post_init__(self) -> None:
        require(self.num_negatives >= 1, "num_negatives must be >= 1")
        require(self.negative_weight >= 0 and self.hard_negative_weight >= 0, "loss weights must be >= 0")


@dataclass(frozen=True)
class TrainParams:
    """``directed.train``: optimisation and model selection on validation MRR."""

    batch_size: int = 32768  # largest batch of positive edges
    steps_per_epoch: int = 8  # optimiser steps between two validations; small graphs: one pass in this many
    max_epochs: int = 300  # the same cap for every method and graph
    min_epochs: int = 20  # no early stop before (validation MRR often dips after the first epochs)
    patience: int = 20  # epochs without a better validation MRR before stopping
    val_every: int = 1  # epochs between two validations (model selection and early stopping happen at these)
    learning_rate: float = 0.02
    weight_decay: float = 0.0
    val_candidates: int = 100  # sampled non-neighbour candidates per validation edge
    val_max_queries: int = 5000  # validation edges used for model selection (a seeded subset)
    checkpoint_every: int = 1  # epochs between two resumable checkpoints (results do not depend on it)

    def __post_init__(self) -> None:
        require(self.batch_size >= 1 and self.steps_per_epoch >= 1, "batch_size, steps_per_epoch >= 1")
        require(self.checkpoint_every >= 1, "checkpoint_every must be >= 1")
        require(self.val_every >= 1, "val_every must be >= 1")
        # a checkpoint is written when a validation ends (Lightning, check_val_every_n_epoch > 1)
        require(self.checkpoint_every % self.val_every == 0, "checkpoint_every must be a multiple of val_every")
        require(self.max_epochs >= 1 and self.patience >= 1, "max_epochs and patience must be >= 1")
        require(1 <= self.min_epochs <= self.max_epochs, "need 1 <= min_epochs <= max_epochs")
        require(self.val_max_queries >= 1, "val_max_queries must be >= 1")
        require(self.learning_rate > 0 and self.weight_decay >= 0, "learning_rate > 0, weight_decay >= 0")
        require(self.val_candidates >= 1, "val_candidates must be >= 1")


@dataclass(frozen=True)
class MethodParams:
    """``directed.methods.<name>``: an encoder and, for message passing, its sampling rule."""

    encoder: str
    fanout_rule: str = "fixed"
    choice: str = "uniform"
    pool: str = "first_hop"  # "two_hop": lists shorter than the fan-out filled by two-hop random walks
    hard_negative_weight: float | None = None  # overrides loss.hard_negative_weight when set
    learning_rate: float | None = None  # overrides train.learning_rate when set
    weight_decay: float | None = None  # overrides train.weight_decay when set
    dim: int | None = None  # overrides model.dim when set

    def __post_init__(self) -> None:
        # imported here: the other sections' readers (the claims report among them) need no torch
        from recsys_challenges.directed.models import ENCODERS
        from recsys_challenges.directed.sampling import CHOICE_WEIGHTS, FANOUT_RULES, POOLS

        require(self.encoder in ENCODERS, f"unknown encoder {self.encoder!r} (known: {', '.join(ENCODERS)})")
        require(self.fanout_rule in FANOUT_RULES, f"unknown fanout_rule {self.fanout_rule!r} (known: {', '.join(FANOUT_RULES)})")
        require(self.choice in CHOICE_WEIGHTS, f"unknown choice {self.choice!r} (known: {', '.join(CHOICE_WEIGHTS)})")
        require(self.pool in POOLS, f"unknown pool {self.pool!r} (known: {', '.join(POOLS)})")
        require(self.hard_negative_weight is None or self.hard_negative_weight >= 0, "hard_negative_weight must be >= 0")
        require(self.learning_rate is None or self.learning_rate > 0, "learning_rate must be > 0")
        require(self.weight_decay is None or self.weight_decay >= 0, "weight_decay must be >= 0")
        require(self.dim is None or self.dim >= 2, "dim must be >= 2")


@dataclass(frozen=True)
class EvaluateParams:
    """``directed.evaluate``: ranking protocols, cut-offs and degree buckets."""

    num_candidates: int = 100  # sampled non-neighbour candidates per test edge
    full_ranking_max_nodes: int = 50000  # also rank against all nodes on graphs smaller than this
    hit_ks: list[int] = field(default_factory=lambda: [5, 10, 20])
    degree_buckets: int = 4
    chunk_size: int = 2048  # source nodes scored at once in the all-node ranking

    def __post_init__(self) -> None:
        require(self.num_candidates >= 100, "num_candidates must be >= 100 (the issue's protocol)")
        require(len(self.hit_ks) >= 1 and min(self.hit_ks) >= 1, "hit_ks must be positive")
        require(self.degree_buckets >= 2 and self.chunk_size >= 1, "degree_buckets >= 2, chunk_size >= 1")


@dataclass(frozen=True)
class FiguresParams:
    """``directed.figures``: which methods to draw and the forward/backward product example."""

    adaptive_method: str = "dual_adaptive"  # C3 compares these two
    fixed_method: str = "dual_fixed"
    example_dataset: str = "amazon_music_reviews"
    titles_dataset: str | None = "amazon_music_also_bought"  # join titles by node id (ASIN)
    example_method: str = "dual_adaptive"
    example_products: int = 3
    example_top_k: int = 5

    def __post_init__(self) -> None:
        require(self.example_products >= 1 and self.example_top_k >= 1, "example sizes must be >= 1")


@dataclass(frozen=True)
class BenchParams:
    """``directed.bench``: the speed and memory benchmark."""

    dataset: str = "cit_hepph"
    sampler_repeats: int = 5
    loop_repeats: int = 1
    generated_nodes: int = 1_000_000
    generated_edges: int = 10_000_000
    generated_exponent: float = 2.1  # power-law exponent of the generated degree sequences
    generated_batch_size: int = 1_000_000
    memory_limit_gib: float = 16.0

    def __post_init__(self) -> None:
        require(self.generated_nodes >= 2 and self.generated_edges >= 1, "generated graph must be non-empty")
        require(self.generated_exponent > 1, "generated_exponent must be > 1")


@dataclass(frozen=True)
class ControlParams:
    """``directed.control``: sizes of the planted graph of :mod:`.control` and the two methods compared."""

    num_targets: int = 400
    num_connectors: int = 200
    connector_degree: int = 10
    num_hubs: int = 150
    hub_degree: int = 40
    num_leaves: int = 400
    adaptive_method: str = "dual_adaptive"
    fixed_method: str = "dual_fixed"

    def __post_init__(self) -> None:
        require(self.connector_degree >= 2, "connector_degree must be >= 2 (a leaf holds out two of its targets)")
        require(self.connector_degree <= self.num_targets, "connector_degree must be <= num_targets")
        require(self.hub_degree < self.num_hubs, "hub_degree must be < num_hubs")
        require(min(self.num_connectors, self.num_hubs, self.num_leaves) >= 1, "every node group must be non-empty")


SEARCH_AXES = ("learning_rate", "hard_negative_weight", "dim", "weight_decay")  # MethodParams fields
# the search's stages (:mod:`.search`): the axes varied jointly in each
SEARCH_STAGES = (("learning_rate", "hard_negative_weight"), ("learning_rate", "dim", "weight_decay"))


@dataclass(frozen=True)
class SearchParams:
    """``directed.search``: the datasets, seed and axes of the validation search (:mod:`.search`)."""

    datasets: list[str] = field(default_factory=lambda: ["cora_ml", "citeseer"])
    methods: list[str] = field(default_factory=lambda: ["dual_fixed", "sage", "shallow", "gravity_gae"])
    seed: int = 0
    learning_rate: list[float] = field(default_factory=lambda: [0.01, 0.02])
    hard_negative_weight: list[float] = field(default_factory=lambda: [0.0, 1.0])
    dim: list[int] = field(default_factory=lambda: [32])
    weight_decay: list[float] = field(default_factory=lambda: [0.0])
    full_product: bool = False  # one stage over all four axes instead of SEARCH_STAGES
    shared: list[str] = field(default_factory=list)  # methods searched as one group: one shared configuration
    workers: int = 1  # groups searched in parallel processes

    def __post_init__(self) -> None:
        require(len(self.datasets) >= 1 and len(self.methods) >= 1, "search.datasets and search.methods must not be empty")
        for axis in SEARCH_AXES:
            require(len(getattr(self, axis)) >= 1, f"search.{axis} must not be empty")
        outside = [name for name in self.shared if name not in self.methods]
        require(not outside, f"search.shared {outside} are not in search.methods")
        require(self.workers >= 1, "search.workers must be >= 1")

    def axes(self) -> dict[str, list]:
        return {axis: list(getattr(self, axis)) for axis in SEARCH_AXES}

    def stages(self) -> tuple[tuple[str, ...], ...]:
        return (SEARCH_AXES,) if self.full_product else SEARCH_STAGES

    def groups(self) -> list[list[str]]:
        """The ``shared`` methods as one group, then every other method alone."""
        alone = [[name] for name in self.methods if name not in self.shared]
        return ([list(self.shared)] if self.shared else []) + alone


@dataclass(frozen=True)
class _Datasets:
    datasets: list[str]

    def __post_init__(self) -> None:
        require(len(self.datasets) >= 1, "datasets must not be empty")


@dataclass(frozen=True)
class _Methods:
    methods: dict[str, MethodParams]

    def __post_init__(self) -> None:
        require(len(self.methods) >= 1, "at least one method is needed")


def _directed_key(key: str, path: Path | str) -> dict:
    section = read_yaml(Path(path)).get("directed")
    if not isinstance(section, dict):
        raise ConfigError(f"{path}: section 'directed' is missing")
    return {key: section[key]} if key in section else {}


def load_datasets(path: Path | str = PARAMS_FILE) -> list[str]:
    """``directed.datasets``: the prepared datasets every per-dataset stage runs on."""
    return from_mapping(_Datasets, _directed_key("datasets", path), where=f"{path}: directed").datasets


def load_methods(path: Path | str = PARAMS_FILE) -> dict[str, MethodParams]:
    """``directed.methods``: method name -> :class:`MethodParams`."""
    return from_mapping(_Methods, _directed_key("methods", path), where=f"{path}: directed").methods


def load(cls: type[T], name: str, path: Path | str = PARAMS_FILE) -> T:
    """``directed.<name>`` into ``cls``."""
    return load_section(cls, f"directed.{name}", path)


def load_training(path: Path | str = PARAMS_FILE) -> dict[str, Any]:
    """The sub-sections a training run reads: ``sampling``, ``model``, ``loss``, ``train``."""
    return {
        "sampling": load(SamplingParams, "sampling", path),
        "model": load(ModelParams, "model", path),
        "loss": load(LossParams, "loss", path),
        "train": load(TrainParams, "train", path),
    }


def method_training(method: MethodParams, params: dict[str, Any]) -> dict[str, Any]:
    """``params`` (:func:`load_training`) with ``method``'s own width, ``w_h``, learning rate and weight decay."""

    def override(section: T, **values: Any) -> T:
        return replace(section, **{key: value for key, value in values.items() if value is not None})

    return {
        "sampling": params["sampling"],
        "model": override(params["model"], dim=method.dim),
        "loss": override(params["loss"], hard_negative_weight=method.hard_negative_weight),
        "train": override(params["train"], learning_rate=method.learning_rate, weight_decay=method.weight_decay),
    }
