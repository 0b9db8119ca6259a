"""Auxiliary models that estimate the probabilities in the importance weights, trained as the papers do.

All are two-head :class:`~recsys_challenges.delayed.models.HashedMLP` networks fitted once, at
``T0``, on the pretraining clicks (labels final at ``T0``) and then frozen, as in the ES-DFM code.

* ``fsiw`` (Yasui et al., WWW 2020; the ``fsiw0``/``fsiw1`` models of ES-DFM's code): inputs
  ``(x, e)``. Head ``completion`` estimates ``P(c=1 | y=1, x, e)`` on the positives (label: already
  converted after ``e``); head ``real_negative`` estimates ``P(y=0 | c=0, x, e)`` on the clicks
  not converted after ``e`` (label: never converts). The reference code observes all pretraining
  clicks at one counterfactual deadline, which gives elapsed times of days; our stream trains on
  clicks at most one slot old, so each pretraining click is observed ``aux_draws`` times at an
  elapsed time ``e ~ U[0, slot)``, the distribution the weights are then evaluated on.
* ``esdfm`` (Yang et al., AAAI 2021; also DEFER's ``p_dp``, Gu et al., KDD 2021): inputs ``x``.
  Head ``delayed_positive`` estimates ``P(y=1, delay > c | x)`` on all clicks; head
  ``real_negative`` estimates ``P(y=0 | x, not converted within c)`` on the clicks observed negative
  at ``c`` (ES-DFM's ``tn`` head, loss masked to those clicks as in its ``delay_tn_dp_loss``).
* ``fsiw_signals`` and ``esdfm_signals`` (the talk's method): the same models trained the same
  way, with the pre-conversion signal counts observed at the observation time as extra inputs;
  ``1 - real_negative`` is then the flip probability ``P(y=1 | c=0, x, e, a)`` learned from data.
  Removing the signals gives back ``fsiw`` / ``esdfm`` exactly: the C5 ablation.

Dense inputs: ``log1p`` of the numeric features, then ``log1p(e / 60 s)`` and ``log1p`` of the
signal counts where the family uses them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from recsys_challenges.delayed.conversions import NEVER, ClickBatch, SignalBatch
from recsys_challenges.delayed.stream import signal_counts

@dataclass(frozen=True)
class AuxFamily:
    """An auxiliary model: its two heads, and whether it sees the elapsed time and the signals."""

    heads: tuple[str, str]
    elapsed: bool
    signals: bool


FAMILIES = {
    "fsiw": AuxFamily(("completion", "real_negative"), elapsed=True, signals=False),
    "fsiw_signals": AuxFamily(("completion", "real_negative"), elapsed=True, signals=True),
    "esdfm": AuxFamily(("delayed_positive", "real_negative"), elapsed=False, signals=False),
    "esdfm_signals": AuxFamily(("delayed_positive", "real_negative"), elapsed=False, signals=True),
}


def aux_dense(family: AuxFamily, elapsed_s: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """``(n, k)`` float32 extra dense inputs of an auxiliary family (elapsed time, signal counts)."""
    parts = []
    if family.elapsed:
        parts.append(np.log1p(np.asarray(elapsed_s, dtype=np.float32) / 60.0)[:, None])
    if family.signals:
        parts.append(np.log1p(np.asarray(counts, dtype=np.float32)))
    return np.concatenate(parts, axis=1) if parts else np.zeros((len(elapsed_s), 0), np.float32)


@dataclass
class AuxData:
    """Training rows of an auxiliary model: ``rows`` index the pretraining clicks; per-head labels and masks."""

    rows: np.ndarray  # (n,) int64
    extra: np.ndarray  # (n, k) float32 dense inputs beyond the click's own
    labels: np.ndarray  # (n, 2) float32
    masks: np.ndarray  # (n, 2) float32, 1 where the head's loss applies
    at: np.ndarray  # (n,) int64 observation time of each row


def _counts(family: AuxFamily, clicks: ClickBatch, signals: SignalBatch, rows: np.ndarray, at: np.ndarray,
            kinds: int) -> np.ndarray:
    if not family.signals:
        return np.zeros((rows.size, kinds), np.float32)
    return signal_counts(signals, clicks.click_id[rows], at, int(clicks.click_ts.min()), kinds)


def observed_sample(clicks: ClickBatch, signals: SignalBatch, family: AuxFamily, slot_s: int, draws: int,
                    kinds: int, rng: np.random.Generator) -> AuxData:
    """FSIW rows: each click observed ``draws`` times at ``click + e``, ``e ~ U[0, slot_s)``.

    Heads: ``completion`` (label: converted by then; rows: the positives) and ``real_negative``
    (label: never converts; rows: not converted by then).
    """
    rows = np.tile(np.arange(len(clicks)), draws)
    elapsed = rng.integers(0, slot_s, rows.size)
    at = clicks.click_ts[rows] + elapsed
    positive = clicks.conversion_ts[rows] != NEVER
    seen = clicks.conversion_ts[rows] <= at
    labels = np.stack([seen, ~positive], axis=1).astype(np.float32)
    masks = np.stack([positive, ~seen], axis=1).astype(np.float32)
    counts = _counts(family, clicks, signals, rows, at, kinds)
    return AuxData(rows, aux_dense(family, elapsed, counts), labels, masks, at)


def elapsed_window_sample(clicks: ClickBatch, signals: SignalBatch, family: AuxFamily, elapsed_s: int,
                          kinds: int) -> AuxData:
    """ES-DFM rows: every click once, observed at ``click + c``.

    Heads: ``delayed_positive`` (label: converts after ``c``; rows: all) and ``real_negative``
    (label: never converts; rows: not converted by ``c``).
    """
    rows = np.arange(len(clicks))
    at = clicks.click_ts + elapsed_s
    positive = clicks.conversion_ts != NEVER
    seen = clicks.conversion_ts <= at
    labels = np.stack([positive & ~seen, ~positive], axis=1).astype(np.float32)
    masks = np.stack([np.ones(len(clicks), bool), ~seen], axis=1).astype(np.float32)
    counts = _counts(family, clicks, signals, rows, at, kinds)
    return AuxData(rows, aux_dense(family, np.full(rows.size, elapsed_s), counts), labels, masks, at)


def masked_two_head_loss(logits: torch.Tensor, labels: torch.Tensor, masks: torch.Tensor,
                         counts: torch.Tensor | None = None) -> torch.Tensor:
    """Sum over heads of the mean BCE over each head's masked rows (ES-DFM's ``delay_tn_dp_loss``).

    Shapes: logits, labels, masks ``(B, 2)``; ``counts`` ``(2,)`` the masked rows per head to divide
    by, ``masks.sum(0)`` by default (a process's shard of a global minibatch passes the global counts).
    """
    losses = F.binary_cross_entropy_with_logits(logits, labels, reduction="none")  # (B, 2)
    return ((losses * masks).sum(0) / (masks.sum(0) if counts is None else counts).clamp_min(1.0)).sum()


SIGNAL_GROUPS = ("no_signal", "one_signal", "two_or_more")


def reliability(probabilities: np.ndarray, labels: np.ndarray, masks: np.ndarray, signals_seen: np.ndarray,
                heads: tuple[str, str]) -> list[dict[str, Any]]:
    """Reliability table of a two-head auxiliary model on held-out rows, per signal group.

    Shapes: probabilities, labels, masks ``(n, 2)``; ``signals_seen`` ``(n,)`` the number of
    pre-conversion signals observed at each row's observation time (groups 0, 1, >= 2, whether or
    not the model reads them). For each head and group: the masked rows, the mean predicted
    probability and the observed rate. A calibrated model has predicted = observed in every group;
    an x-only model can be calibrated overall and not per group (the averaging argument of C5).
    """
    group = np.minimum(np.asarray(signals_seen), len(SIGNAL_GROUPS) - 1).astype(np.int64)
    table = []
    for h, head in enumerate(heads):
        for g, name in enumerate(SIGNAL_GROUPS):
            chosen = (masks[:, h] > 0) & (group == g)
            n = int(chosen.sum())
            table.append({"head": head, "group": name, "rows": n,
                          "predicted": round(float(probabilities[chosen, h].mean()), 6) if n else None,
                          "observed": round(float(labels[chosen, h].mean()), 6) if n else None})
    return table
