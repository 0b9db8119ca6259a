from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from recsys_challenges.data.formats import TableData, save_table
from recsys_challenges.tracking import TrackingParams
from recsys_challenges.uncertainty.config import (
    DatasetParams,
    DeepEnsembleParams,
    MCDropoutParams,
    ModelParams,
    TrainParams,
)
from recsys_challenges.uncertainty.datasets import LabelledTable
from recsys_challenges.uncertainty.predictions import load_predictions
from recsys_challenges.uncertainty.loop import fit_and_predict, train_dataset


def _table(rows: int, seed: int) -> LabelledTable:
    """Label = whether numeric x0 plus the effect of a 5-valued category is positive."""
    rng = np.random.default_rng(seed)
    numeric = rng.normal(size=(rows, 2)).astype(np.float32)
    category = rng.integers(1, 6, rows)
    effect = np.array([0.0, -2.0, -1.0, 0.0, 1.0, 2.0])[category]
    labels = (numeric[:, 0] + effect + 0.3 * rng.normal(size=rows) > 0).astype(np.int8)
    return LabelledTable(numeric, category[:, None].astype(np.int64), (6,), labels, np.arange(rows))


@pytest.mark.parametrize("estimator", ["density_posterior", "posterior_network", "deep_ensemble", "mc_dropout"])
def test_fit_and_predict_learns_and_gives_an_uncertainty(estimator):
    params = TrainParams(
        seeds=(0,),
        estimator=estimator,
        ablations=(),
        model=ModelParams(hidden=(16,), embedding_dim=2, batch_size=128, epochs=4, learning_rate=0.01),
        deep_ensemble=DeepEnsembleParams(members=5),
        mc_dropout=MCDropoutParams(passes=10, dropout=0.2),
    )
    test = _table(1000, seed=2)
    evaluated = {"holdout": _table(500, seed=3), "test": test}
    result = fit_and_predict(_table(2000, seed=1), evaluated, params, seed=0, logger=False)
    score, uncertainty = result["test"]
    assert roc_auc_score(test.labels, score) > 0.95
    assert ((0 <= score) & (score <= 1)).all() and (uncertainty > 0).mean() > 0.99
    again = fit_and_predict(_table(2000, seed=1), evaluated, params, seed=0, logger=False)["test"]
    assert np.array_equal(score, again[0]) and np.array_equal(uncertainty, again[1])  # seeded: reproducible


def test_density_posterior_needs_a_holdout_for_its_bandwidths():
    params = TrainParams(seeds=(0,), ablations=(), model=ModelParams(hidden=(8,), embedding_dim=2, epochs=1))
    with pytest.raises(ValueError, match="hold-out"):
        fit_and_predict(_table(300, seed=1), {"test": _table(100, seed=2)}, params, seed=0, logger=False)


def test_train_dataset_writes_the_same_predictions_whatever_the_pool_size(tmp_path):
    """The (estimator, seed) jobs seed themselves: one process and a pool of two write the same arrays."""
    table = _table(1200, seed=1)
    frame = pd.DataFrame({"label": table.labels, "x0": table.numeric[:, 0].astype(np.float64),
                          "x1": table.numeric[:, 1].astype(np.float64), "category": table.categorical[:, 0].astype(str)})
    save_table(TableData(frame), tmp_path, {})
    spec = DatasetParams(folder=str(tmp_path), loader="table", kind="user")
    params = TrainParams(seeds=(0, 1), estimator="deep_ensemble", ablations=("mc_dropout",),
                         model=ModelParams(hidden=(8,), embedding_dim=2, batch_size=128, epochs=1),
                         deep_ensemble=DeepEnsembleParams(members=2), mc_dropout=MCDropoutParams(passes=2))
    tracking = TrackingParams(csv=False, wandb=False)
    train_dataset("t", spec, params, tracking, tmp_path / "one", workers=1)
    train_dataset("t", spec, params, tracking, tmp_path / "two", workers=2)
    (one, _), (two, _) = load_predictions(tmp_path / "one"), load_predictions(tmp_path / "two")
    assert sorted(one) == sorted(two) and all(np.array_equal(one[k], two[k]) for k in one)
