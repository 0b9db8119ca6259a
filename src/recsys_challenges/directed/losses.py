"""Asymmetric link loss with random and reversed-edge hard negatives (DAEMON/BLADE).

For a positive edge ``u -> v`` with score ``x_uv``, ``k`` random negatives ``u -> n_j`` and, when
``v -> u`` is not an edge, the reversed pair as a hard negative:

.. math::
    \\ell(u, v) = -\\log\\sigma(x_{uv}) - w_r \\sum_{j=1}^{k} \\log\\sigma(-x_{u n_j})
                 - w_h \\, \\mathbb{1}[(v, u) \\notin E] \\log\\sigma(-x_{vu})

and the loss is the mean of ``ell`` over the batch. The reversed term is what teaches a model that
``u -> v`` does not imply ``v -> u``; a symmetric scorer cannot satisfy it and the positive term
together (``x_uv = x_vu``).
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor


def asymmetric_link_loss(
    positive: Tensor,
    negative: Tensor,
    reversed_score: Tensor,
    one_way: Tensor,
    negative_weight: float,
    hard_negative_weight: float,
) -> Tensor:
    """Mean asymmetric loss of a batch.

    Args:
        positive: ``(B,)`` scores ``x_uv`` of the positive edges.
        negative: ``(B, k)`` scores of the random negatives ``u -> n_j``.
        reversed_score: ``(B,)`` scores ``x_vu`` of the reversed pairs.
        one_way: ``(B,)`` bool, True where ``v -> u`` is not an edge (the reversed pair is a negative).
        negative_weight: ``w_r``.
        hard_negative_weight: ``w_h``.
    """
    # -log sigma(x) = softplus(-x); -log sigma(-x) = softplus(x)
    per_edge = (
        F.softplus(-positive)
        + negative_weight * F.softplus(negative).sum(1)
        + hard_negative_weight * one_way.float() * F.softplus(reversed_score)
    )  # (B,)
    return per_edge.mean()
