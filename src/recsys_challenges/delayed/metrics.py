"""Per-slot metrics of the streaming protocol and their averages (ES-DFM's evaluation).

Each test slot is scored with the true labels: AUC, PR-AUC as average precision (the step-wise
sum ``sum_k (R_k - R_{k-1}) P_k`` over score thresholds, not a trapezoid), NLL (mean log loss)
and the mean prediction. A method's stream score is the average over slots weighted by the
slot's number of clicks, as in ES-DFM's code; AUC and PR-AUC skip slots with a single class.
RI, ES-DFM's relative improvement, places a method between vanilla (0) and the oracle (1).
The functions are plain numpy (sklearn's input validation costs more than a slot's metrics).
"""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata

METRICS = ("auc", "pr_auc", "nll")
EPS = 1e-7


def auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """ROC AUC by the Mann-Whitney statistic; tied scores count one half (average ranks)."""
    labels = np.asarray(labels, dtype=bool)
    positives, negatives = int(labels.sum()), int((~labels).sum())
    if positives == 0 or negatives == 0:
        raise ValueError("AUC needs both classes")
    ranks = rankdata(scores)  # average ranks for ties
    return float((ranks[labels].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def average_precision(labels: np.ndarray, scores: np.ndarray) -> float:
    """``AP = sum_k (R_k - R_{k-1}) P_k`` with one threshold per distinct score (as sklearn's)."""
    labels = np.asarray(labels, dtype=np.float64)
    if labels.sum() == 0:
        raise ValueError("average precision needs a positive")
    order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")
    sorted_scores, sorted_labels = np.asarray(scores)[order], labels[order]
    last_of_tie = np.r_[np.flatnonzero(np.diff(sorted_scores)), sorted_labels.size - 1]
    true_positives = np.cumsum(sorted_labels)[last_of_tie]
    precision = true_positives / (last_of_tie + 1)
    recall_gain = np.diff(np.r_[0.0, true_positives]) / labels.sum()
    return float((recall_gain * precision).sum())


def log_loss(labels: np.ndarray, probs: np.ndarray) -> float:
    """Mean negative log-likelihood, probabilities clipped to ``[EPS, 1 - EPS]``."""
    labels = np.asarray(labels, dtype=np.float64)
    probs = np.clip(np.asarray(probs, dtype=np.float64), EPS, 1 - EPS)
    return float(-(labels * np.log(probs) + (1 - labels) * np.log1p(-probs)).mean())


def slot_metrics(labels: np.ndarray, probs: np.ndarray) -> dict[str, float | int | None]:
    """AUC, PR-AUC, NLL and mean prediction of one test slot (``None`` where undefined)."""
    labels = np.asarray(labels, dtype=np.float64)
    probs = np.asarray(probs, dtype=np.float64)
    two_classes = 0 < labels.sum() < labels.size
    return {
        "auc": auc(labels, probs) if two_classes else None,
        "pr_auc": average_precision(labels, probs) if two_classes else None,
        "nll": log_loss(labels, probs) if labels.size else None,
        "mean_prediction": float(probs.mean()) if labels.size else None,
        "rows": int(labels.size),
        "positives": int(labels.sum()),
    }


def stream_average(values: list[float | None], rows: list[int]) -> float:
    """Average of per-slot values weighted by the slots' sizes, skipping undefined (``None``) slots."""
    pairs = [(v, n) for v, n in zip(values, rows, strict=True) if v is not None and n > 0]
    if not pairs:
        raise ValueError("no slot has a defined value")
    values_array, weights = np.array(pairs, dtype=np.float64).T
    return float(np.average(values_array, weights=weights))


def relative_improvement(value: float, vanilla: float, oracle: float) -> float:
    """RI of ES-DFM: ``(M - M_vanilla) / (M_oracle - M_vanilla)`` (for NLL too: both differences are negative)."""
    gap = oracle - vanilla
    if gap == 0:
        raise ValueError("RI is undefined: the oracle and vanilla scores are equal")
    return (value - vanilla) / gap
