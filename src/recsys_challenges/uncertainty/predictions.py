"""The predictions folder written by ``uncertainty_train@<dataset>`` and read by the later stages.

``data/uncertainty/predictions/<dataset>/``: ``predictions.npz`` with ``seeds (S,)`` and, for split in
(holdout, test), ``<split>_labels (n,)``, ``<split>_groups (n,)``, ``<split>_truth (n,)`` (simulated
data only: the true positive probability) and, per estimator ``e``, ``e.<split>_score (S, n)`` and
``e.<split>_uncertainty (S, n)``; and ``meta.json`` (dataset kind, headline estimator and all
estimators, rows, positives and groups per split, training rows after down-sampling and seconds per
seed and estimator). Kept apart from the training
code so that evaluation and figures do not import torch.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from recsys_challenges.errors import DataError
from recsys_challenges.io import atomic_dir, write_json

PREDICTIONS_ROOT = Path("data/uncertainty/predictions")
PREDICTIONS_FILE = "predictions.npz"
META_FILE = "meta.json"
EVALUATED_SPLITS = ("holdout", "test")


def prediction_key(estimator: str, split: str, kind: str) -> str:
    """Array name of an estimator's ``kind`` (score | uncertainty) on ``split``."""
    return f"{estimator}.{split}_{kind}"


def save_predictions(folder: Path, arrays: dict[str, np.ndarray], meta: dict) -> None:
    """Write ``arrays`` and ``meta`` to ``folder`` atomically."""
    with atomic_dir(folder) as tmp:
        # uncompressed: scores and uncertainties barely compress (click_log_sim's 270 MB to 249 MB), and
        # zlib took 9.1 s of the stage to write them and 2.2 s of each reader to load them (0.9 s each here)
        np.savez(tmp / PREDICTIONS_FILE, **arrays)
        write_json(tmp / META_FILE, meta)


def load_predictions(folder: Path) -> tuple[dict[str, np.ndarray], dict]:
    """Read a predictions folder: ``(arrays, meta)``."""
    path = folder / PREDICTIONS_FILE
    if not path.is_file():
        raise DataError(f"{path}: predictions not found (run `dvc repro uncertainty_train@{folder.name}`)")
    with np.load(path, allow_pickle=False) as npz:
        arrays = {key: npz[key] for key in npz.files}
    return arrays, json.loads((folder / META_FILE).read_text())
