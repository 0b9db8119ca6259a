"""The directed stages' result files as types that write and read their own JSON: the schema lives here.

* ``data/directed/<dataset>/`` (``directed_train``, :mod:`.loop`): ``split_seed<k>.npz``
  (:func:`read_split`), ``<method>_seed<k>.npz`` (:func:`read_embeddings`) and ``training.json``
  (:class:`TrainingLog` of one :class:`RunRecord` per method and seed).
* ``reports/metrics/directed/<dataset>.json`` (``directed_evaluate``, :mod:`.evaluate`):
  :class:`DatasetMetrics`, the layout the evaluate module's docstring describes.
* ``reports/metrics/directed/planted_two_hop.json`` (``directed_control``, :mod:`.control`):
  :class:`ControlMetrics`, the same core with the planted graph's parameters.

Each type's ``to_json`` gives the payload (its fields, values as they are) and ``from_json`` reads
it back; ``write`` writes it with :func:`recsys_challenges.io.write_json` (sorted keys, no NaN).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Self, TypedDict

import numpy as np

from recsys_challenges.directed.splits import EdgeSplit
from recsys_challenges.errors import DataError
from recsys_challenges.io import write_json

TRAINING_FILE = "training.json"
CONTROL_SELECTION_KEYS = ("selected_epoch", "val_mrr", "epochs_run", "budget_bound")  # planted_two_hop.json's
# the per-run keys the metrics files copy from training.json (its wall times stay there, so that the
# same params give a byte-identical metrics file)
SELECTION_KEYS = ("selected_epoch", "val_mrr", "epochs_run", "max_epochs", "budget_bound")
NEIGHBOURHOOD_KEYS = ("overall", "lowest_quarter")


class RunRecord(TypedDict):
    """One (method, seed) run of ``directed_train`` (:func:`.loop.train_method`)."""

    selected_epoch: int  # the epoch of the best validation MRR: its embeddings are kept
    val_mrr: float  # the best validation MRR
    epochs_run: int
    max_epochs: int
    budget_bound: bool  # the best epoch lies within `patience` of the cap: the run may not have converged
    val_curve: list[float]  # validation MRR of every validation (one every train.val_every epochs)
    seconds: float
    batch_size: int
    neighbour_budget: dict[str, float]  # relation -> realised mean neighbours per node
    exponent: dict[str, float]  # relation -> gamma of the adaptive rule
    neighbourhood_difference: dict[str, float]  # NEIGHBOURHOOD_KEYS -> share of nodes (.loop.neighbourhood_difference)


class JsonResult:
    """A frozen dataclass whose JSON payload is its fields, values as they are (no deep copy)."""

    def to_json(self) -> dict[str, Any]:
        return {field.name: getattr(self, field.name) for field in fields(self)}

    @classmethod
    def from_json(cls, payload: dict[str, Any]) -> Self:
        return cls(**payload)

    def write(self, path: Path) -> None:
        write_json(path, self.to_json())


@dataclass(frozen=True)
class TrainingLog(JsonResult):
    """``training.json``: ``{"dataset", "seeds", "methods": {method: {str(seed): RunRecord}}}``."""

    dataset: str
    seeds: list[int]
    methods: dict[str, dict[str, RunRecord]]

    def write(self, folder: Path) -> None:  # type: ignore[override]  # training.json in directed_train's folder
        write_json(folder / TRAINING_FILE, self.to_json())

    def record(self, method: str, seed: int) -> RunRecord:
        return self.methods[method][str(seed)]


def read_training(trained: Path, dataset: str) -> dict[str, Any]:
    """The parsed ``training.json`` of ``trained`` (:meth:`TrainingLog.from_json` reads it where it
    is used); a missing file is an error naming the stage that writes it."""
    training_file = trained / TRAINING_FILE
    if not training_file.is_file():
        raise DataError(f"{training_file}: not found (run `dvc repro directed_train@{dataset}`)")
    return json.loads(training_file.read_text())


def split_name(seed: int) -> str:
    return f"split_seed{seed}.npz"


def embeddings_name(method: str, seed: int) -> str:
    return f"{method}_seed{seed}.npz"


def split_file(trained: Path, seed: int) -> Path:
    return trained / split_name(seed)


def read_split(trained: Path, seed: int) -> EdgeSplit:
    """One seed's train/val/test edge ids; a missing file is an error (train ran with other seeds)."""
    path = split_file(trained, seed)
    if not path.is_file():
        raise DataError(f"{path}: not found; directed_train ran with other seeds than directed.experiment.seeds")
    with np.load(path) as arrays:
        return EdgeSplit(train=arrays["train"], val=arrays["val"], test=arrays["test"])


def read_embeddings(trained: Path, method: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The selected ``source`` and ``target`` ``(N, d)`` of one method and seed."""
    with np.load(trained / embeddings_name(method, seed)) as arrays:
        return arrays["source"], arrays["target"]


@dataclass(frozen=True)
class DatasetMetrics(JsonResult):
    """``reports/metrics/directed/<dataset>.json``: test metrics of every method (layout in :mod:`.evaluate`)."""

    technique: str  # "directed"
    dataset: str
    data_kind: str  # "real", or "user" (prepare-local)
    seeds: list[int]
    summary: dict[str, dict[str, dict]]  # method -> metric -> mean_ci
    by_degree: dict[str, dict[str, dict[str, dict]]]  # method -> bucket -> metric -> mean_ci
    degree_buckets: dict[str, dict[str, list]]  # bucket -> description -> per seed
    protocol: dict[str, Any]
    selection: dict[str, dict[str, list]]  # method -> SELECTION_KEYS -> per seed
    neighbourhood: dict[str, dict[str, list]]  # method -> NEIGHBOURHOOD_KEYS -> per seed


@dataclass(frozen=True)
class ControlMetrics(JsonResult):
    """``reports/metrics/directed/planted_two_hop.json``: the planted control's test metrics (:mod:`.control`)."""

    technique: str  # "directed"
    dataset: str  # "planted_two_hop"
    data_kind: str  # "simulated"
    seeds: list[int]
    summary: dict[str, dict[str, dict]]  # method -> metric -> mean_ci
    selection: dict[str, dict[str, list]]  # method -> SELECTION_KEYS but max_epochs -> per seed
    neighbourhood: dict[str, dict[str, list]]  # method -> NEIGHBOURHOOD_KEYS -> per seed
    planted: dict[str, Any]  # the generator's parameters (.config.ControlParams) and the test queries
