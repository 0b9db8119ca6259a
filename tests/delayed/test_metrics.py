"""Stream metrics against values worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from recsys_challenges.delayed import metrics


def test_auc_and_ties():
    # pairs (pos, neg): (0.35, 0.1) yes, (0.35, 0.4) no, (0.8, 0.1) yes, (0.8, 0.4) yes -> 3/4
    assert metrics.auc(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8])) == pytest.approx(0.75)
    # a tie counts one half
    assert metrics.auc(np.array([0, 1]), np.array([0.5, 0.5])) == pytest.approx(0.5)
    with pytest.raises(ValueError):
        metrics.auc(np.array([1, 1]), np.array([0.2, 0.3]))


def test_average_precision_is_a_step_sum():
    # sorted: 0.8 (+) P=1 R=.5; 0.4 (-); 0.35 (+) P=2/3 R=1 -> 0.5*1 + 0.5*2/3 = 0.8333
    assert metrics.average_precision(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8])) == pytest.approx(5 / 6)
    # tied scores share one threshold: {0.5, 0.5} -> TP 1 of 2 (P=.5, R=.5); 0.2 -> TP 2 of 3 (P=2/3, R=1)
    # AP = 0.5*0.5 + 0.5*2/3 = 0.58333 (a trapezoid would give a different number)
    assert metrics.average_precision(np.array([1, 0, 1]), np.array([0.5, 0.5, 0.2])) == pytest.approx(0.25 + 1 / 3)


def test_log_loss():
    # -(ln 0.8 + ln 0.6) / 2
    expected = -(math.log(0.8) + math.log(0.6)) / 2
    assert metrics.log_loss(np.array([1, 0]), np.array([0.8, 0.4])) == pytest.approx(expected)


def test_slot_metrics_single_class_is_undefined():
    scores = metrics.slot_metrics(np.array([0, 0, 0]), np.array([0.1, 0.2, 0.3]))
    assert scores["auc"] is None and scores["pr_auc"] is None
    assert scores["mean_prediction"] == pytest.approx(0.2)
    assert (scores["rows"], scores["positives"]) == (3, 0)


def test_stream_average_weights_by_rows_and_skips_undefined():
    # (0.5 * 10 + 0.8 * 30) / 40 = 0.725, the undefined slot is skipped
    assert metrics.stream_average([0.5, None, 0.8], [10, 5, 30]) == pytest.approx(0.725)


def test_relative_improvement():
    # AUC: (0.81 - 0.80) / (0.82 - 0.80) = 0.5; NLL: (0.45 - 0.5) / (0.4 - 0.5) = 0.5
    assert metrics.relative_improvement(0.81, 0.80, 0.82) == pytest.approx(0.5)
    assert metrics.relative_improvement(0.45, 0.5, 0.4) == pytest.approx(0.5)
    with pytest.raises(ValueError):
        metrics.relative_improvement(0.5, 0.4, 0.4)
