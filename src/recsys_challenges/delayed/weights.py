"""Importance weights for delayed feedback: ``w = p(x, y) / q(x, y)``, true over observed distribution.

Every function maps a batch of observed labels ``observed`` (``(B,)``, 1 = conversion seen at
ingestion) and the probabilities its method estimates to per-example weights ``(B,)``; the loss is
:func:`weighted_bce`. Weights are computed under ``torch.no_grad`` from detached probabilities:
gradients never flow through them (all the papers stop them). Notation: ``y`` the true label,
``c`` the label observed at ingestion, ``e`` the elapsed time since the click, ``a`` the
pre-conversion signals seen so far, ``f(x)`` the CVR model's own prediction.

Divisions by an estimated probability are capped at ``max_weight`` (``delayed.train.max_weight``):
the published formulas have no cap, but their code divides by ``p + 1e-8``; a cap keeps one noisy
estimate from dominating a batch. With estimates inside ``[1/max_weight, 1]`` the cap never acts.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def _select(observed: torch.Tensor, positive: torch.Tensor, negative: torch.Tensor) -> torch.Tensor:
    return torch.where(observed > 0.5, positive, negative)


@torch.no_grad()
def unit_weights(observed: torch.Tensor) -> torch.Tensor:
    """Oracle, vanilla and waiting-N: ``w = 1`` (plain BCE on the labels each one sees)."""
    return torch.ones_like(observed)


@torch.no_grad()
def fnw_weights(observed: torch.Tensor, p_model: torch.Tensor) -> torch.Tensor:
    """FNW, fake negative weighted (Ktena et al., RecSys 2019).

    Every click is ingested at once as a negative and again as a positive when it converts, so
    ``q(y=1|x) = p/(1+p)`` and ``q(y=0|x) = 1/(1+p)`` with ``p = p(y=1|x) ~ f(x)``:
    ``w+ = 1 + f(x)``, ``w- = (1 - f(x)) (1 + f(x))``.
    """
    return _select(observed, 1 + p_model, (1 - p_model) * (1 + p_model))


@torch.no_grad()
def fsiw_weights(observed: torch.Tensor, p_completion: torch.Tensor, p_real_negative: torch.Tensor,
                 max_weight: float) -> torch.Tensor:
    """FSIW, feedback shift importance weighting (Yasui et al., WWW 2020).

    ``w+ = 1 / P(c=1 | y=1, x, e)`` (``p_completion``: a positive is already seen after ``e``),
    ``w- = P(y=0 | c=0, x, e)`` (``p_real_negative``: an unconverted click stays negative).
    """
    return _select(observed, 1 / p_completion.clamp_min(1 / max_weight), p_real_negative)


@torch.no_grad()
def esdfm_weights(observed: torch.Tensor, p_delayed_positive: torch.Tensor,
                  p_real_negative: torch.Tensor) -> torch.Tensor:
    """ES-DFM, elapsed-time sampling (Yang et al., AAAI 2021).

    Clicks enter after the elapsed window ``c`` with the label seen by then; delayed positives
    enter again when they convert, so ``q(x) = p(x)(1 + p_dp(x))``:
    ``w+ = 1 + p_dp(x)``, ``w- = (1 + p_dp(x)) p_rn(x)``, with ``p_dp = P(y=1, delay > c | x)`` and
    ``p_rn = P(y=0 | x) / (P(y=0 | x) + p_dp(x))`` the probability an observed negative is real.
    """
    return _select(observed, 1 + p_delayed_positive, (1 + p_delayed_positive) * p_real_negative)


@torch.no_grad()
def defer_weights(observed: torch.Tensor, p_model: torch.Tensor, p_delayed_positive: torch.Tensor,
                  max_weight: float) -> torch.Tensor:
    """DEFER, delayed feedback with real negatives (Gu et al., KDD 2021).

    Every click enters twice (after the window ``c``, and again as a positive when a fake negative
    converts, as a duplicate when it converted within ``c``, or as a real negative at the end of
    the attribution window), so ``q(x) = p(x)``, ``q(y=1|x) = p(y=1|x) - p_dp(x)/2`` and
    ``q(y=0|x) = p(y=0|x) + p_dp(x)/2``; with ``p(y=1|x) ~ f(x)``:
    ``w+ = f / (f - p_dp/2)``, ``w- = (1 - f) / (1 - f + p_dp/2)``.
    """
    half = p_delayed_positive / 2
    positive = p_model / (p_model - half).clamp_min(p_model / max_weight).clamp_min(1e-12)
    return _select(observed, positive, (1 - p_model) / (1 - p_model + half))


@torch.no_grad()
def pcaw_weights(observed: torch.Tensor, p_delayed_positive: torch.Tensor, p_flip: torch.Tensor) -> torch.Tensor:
    """Pre-conversion-aware weights (the talk's method; Rastogi, RecSys 2023 keynote), on ES-DFM's stream.

    The weight of an unconverted click is the probability that its label will *not* flip, learned
    from data and conditioned on the pre-conversion signals ``a`` seen at ingestion:
    ``w- = (1 + p_dp(x)) (1 - P(y=1 | c=0, x, a))`` (``p_flip``), ``w+ = 1 + p_dp(x)``.
    It stays unbiased: for every ``x``, ``E_a[1 - p_flip | c=0, x] = p_rn(x)`` of :func:`esdfm_weights`,
    and a strong signal (cart, repeat views) makes ``p_flip`` high and the weight as a negative low.
    On FSIW's stream the same idea is :func:`fsiw_weights` with ``p_real_negative = 1 - p_flip``.
    """
    return esdfm_weights(observed, p_delayed_positive, 1 - p_flip)


@torch.no_grad()
def oracle_flip(observed: torch.Tensor, will_convert: torch.Tensor) -> torch.Tensor:
    """The true future flip of each event: 1 on a fake negative (observed 0, converts later), else 0.

    ``pcaw_weights(observed, p_dp, oracle_flip(observed, y))`` is the ceiling of every signal-aware
    weight (``pcaw_oracle``): no flip model, however good its signals, can beat knowing the flip;
    it weighs fake negatives 0 and real negatives ``1 + p_dp``. It reads the future, by design.
    """
    return ((observed < 0.5) & (will_convert > 0.5)).to(observed.dtype)


@torch.no_grad()
def defuse_weights(observed: torch.Tensor, duplicate: torch.Tensor, p_delayed_positive: torch.Tensor) -> torch.Tensor:
    """DEFUSE (Chen et al., WWW 2022), on ES-DFM's stream: ``w = 1 + p_dp`` for the events ingested at
    ``c`` (immediate positives and observed negatives), ``w = 0`` for the delayed positives' duplicates.

    Reconstructed from the paper's principle (label correction of the observed negatives, abstract
    and Sec. 3; the full equations were not read here): an observed negative is a fake negative with
    probability ``z`` and its loss is ``z * BCE(f, 1) + (1 - z) * BCE(f, 0)`` (:func:`defuse_labels`:
    a soft label ``z``). Its expected positive mass, ``(p_dp + P(y=0|x)) z = p_dp``, already counts
    the delayed positives, so their duplicates weigh 0; ``1 + p_dp`` is the normalisation of
    ES-DFM's ``q(x) = p(x)(1 + p_dp(x))`` (``observed`` is unused: kept for a uniform signature).
    """
    del observed
    return torch.where(duplicate, torch.zeros_like(p_delayed_positive), 1 + p_delayed_positive)


@torch.no_grad()
def defuse_labels(observed: torch.Tensor, p_fake_negative: torch.Tensor) -> torch.Tensor:
    """DEFUSE's corrected labels: 1 for an observed positive, ``z = P(fake negative | c=0, ...)`` for
    an observed negative. ``z`` from ``x`` alone is the paper's; ``z`` from ``(x, a)``, the
    pre-conversion signals seen at ingestion, is the signals-as-evidence route (``defuse_signals``):
    a cart makes ``z`` high, so the click pushes ``f(x)`` up at once instead of waiting for its conversion.
    """
    return _select(observed, torch.ones_like(p_fake_negative), p_fake_negative)


def weighted_bce(logits: torch.Tensor, observed: torch.Tensor, weights: torch.Tensor, rows: int | None = None) -> torch.Tensor:
    """``sum_i w_i * BCE(sigmoid(logit_i), observed_i) / rows``, ``rows`` = B by default (the mean).

    ``observed`` may be a soft label in ``[0, 1]`` (DEFUSE): ``BCE(f, t) = -t log f - (1 - t) log(1 - f)``.

    ``weights`` are detached, so they get no gradient. A process's shard of a global minibatch passes
    the global batch's ``rows``, so that the shards' losses add up to the global batch's mean.
    """
    losses = F.binary_cross_entropy_with_logits(logits, observed, reduction="none")  # (B,)
    return (weights.detach() * losses).sum() / max(observed.shape[0] if rows is None else rows, 1)
