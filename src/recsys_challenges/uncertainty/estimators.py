"""Classifiers with an uncertainty per prediction: a deep ensemble and MC dropout.

Both give, for every example, draws of the predicted click/conversion probability; the score is
their mean and the uncertainty their variance (Arora et al., ICLR 2024, section 3, use the spread of
the posterior over the positive-class probability; here its sample variance):

* deep ensemble (Lakshminarayanan, Pritzel & Blundell, NeurIPS 2017): ``M`` MLPs with independent
  random initialisations trained on the same data; draws = the ``M`` members' probabilities.
* MC dropout (Gal & Ghahramani, ICML 2016): one MLP with dropout, kept active at prediction time;
  draws = ``T`` stochastic forward passes.

The ``M`` members of an ensemble are trained in one batched network (:class:`EnsembleMLP`): every
layer holds ``M`` independent weight sets and the loss is the sum of the members' losses, so each
member is trained exactly as it would be alone, on the same mini-batches.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import lightning as L
import numpy as np
import torch
from torch import nn

from recsys_challenges.uncertainty.config import TrainParams


class BatchedLinear(nn.Module):
    """``M`` independent linear layers applied in one batched matmul.

    Shapes: input ``(M, B, in_features)`` -> output ``(M, B, out_features)``. Each member is
    initialised as ``nn.Linear`` is: weights and bias uniform in +-1/sqrt(in_features).
    """

    def __init__(self, members: int, in_features: int, out_features: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(members, in_features, out_features))
        self.bias = nn.Parameter(torch.empty(members, out_features))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1.0 / math.sqrt(self.weight.shape[1])  # what nn.Linear's kaiming_uniform_(a=sqrt(5)) amounts to
        nn.init.uniform_(self.weight, -bound, bound)
        nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.baddbmm(self.bias.unsqueeze(1), x, self.weight)  # (M, B, out)


class EnsembleMLP(nn.Module):
    """``M`` MLPs over numeric features and embedded categorical fields, evaluated in one pass.

    Args:
        members: ``M``, independent networks (1 for MC dropout).
        numeric_features: ``F``, numeric inputs.
        cardinalities: codes per categorical field (``C`` fields, each embedded in ``embedding_dim``).
        embedding_dim: ``d``.
        hidden: widths of the hidden ReLU layers.
        dropout: dropout probability after each hidden layer.

    Shapes: ``numeric (B, F)``, ``categorical (B, C)`` int64 -> logits ``(M, B)``.
    """

    def __init__(
        self,
        members: int,
        numeric_features: int,
        cardinalities: tuple[int, ...],
        embedding_dim: int,
        hidden: tuple[int, ...],
        dropout: float,
    ) -> None:
        super().__init__()
        if members < 1:
            raise ValueError(f"EnsembleMLP needs >= 1 member, got {members}")
        self.members = members
        self.vocabulary = int(sum(cardinalities))
        self.register_buffer("offsets", torch.tensor(np.cumsum([0, *cardinalities[:-1]]), dtype=torch.long))
        # one table per member, stacked: member m's code c lives at row m * vocabulary + offset + c;
        # sparse gradients: a batch touches few of the (many, mostly rare) category rows
        self.embedding = nn.Embedding(members * self.vocabulary, embedding_dim, sparse=True) if cardinalities else None
        if self.embedding is not None:  # unit-norm-ish vectors, on the scale of standardised numerics
            nn.init.normal_(self.embedding.weight, std=1.0 / math.sqrt(embedding_dim))
        widths = [numeric_features + len(cardinalities) * embedding_dim, *hidden]
        layers: list[nn.Module] = []
        for width_in, width_out in zip(widths[:-1], widths[1:], strict=True):
            layers += [BatchedLinear(members, width_in, width_out), nn.ReLU(), nn.Dropout(dropout)]
        layers.append(BatchedLinear(members, widths[-1], 1))
        self.layers = nn.Sequential(*layers)

    def forward(self, numeric: torch.Tensor, categorical: torch.Tensor) -> torch.Tensor:
        inputs = [numeric.unsqueeze(0).expand(self.members, -1, -1)]  # (M, B, F)
        if self.embedding is not None:
            member_base = torch.arange(self.members, device=categorical.device) * self.vocabulary  # (M,)
            rows = member_base[:, None, None] + (categorical + self.offsets)[None]  # (M, B, C)
            inputs.append(self.embedding(rows).flatten(2))  # (M, B, C d)
        return self.layers(torch.cat(inputs, dim=-1)).squeeze(-1)  # (M, B)


def ensemble_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Sum over members of each member's mean binary cross-entropy: ``logits (M, B)``, ``labels (B,)``."""
    targets = labels.to(logits.dtype).unsqueeze(0).expand_as(logits)
    return nn.functional.binary_cross_entropy_with_logits(logits, targets, reduction="none").mean(dim=1).sum()


class ClassifierModule(L.LightningModule):
    """Thin Lightning wrapper: trains an :class:`EnsembleMLP` with :func:`ensemble_loss`.

    AdamW for the dense layers, SparseAdam (same learning rate, no weight decay) for the sparse
    embedding tables; two optimizers, so the step is written out (manual optimisation).
    """

    def __init__(self, network: EnsembleMLP, learning_rate: float, weight_decay: float) -> None:
        super().__init__()
        self.automatic_optimization = False
        self.network = network
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay

    def training_step(self, batch: tuple[torch.Tensor, ...], batch_idx: int) -> torch.Tensor:
        numeric, categorical, labels = batch
        optimizers = self.optimizers()
        optimizers = optimizers if isinstance(optimizers, list) else [optimizers]
        loss = ensemble_loss(self.network(numeric, categorical), labels)
        for optimizer in optimizers:
            optimizer.zero_grad()
        self.manual_backward(loss)
        for optimizer in optimizers:
            optimizer.step()
        self.log("train/loss", loss.detach() / self.network.members, prog_bar=True, on_step=False, on_epoch=True)
        return loss

    def configure_optimizers(self) -> list[torch.optim.Optimizer]:
        embedding = self.network.embedding
        dense = [p for name, p in self.network.named_parameters() if not name.startswith("embedding.")]
        optimizers: list[torch.optim.Optimizer] = [
            torch.optim.AdamW(dense, lr=self.learning_rate, weight_decay=self.weight_decay)
        ]
        if embedding is not None:
            optimizers.append(torch.optim.SparseAdam(list(embedding.parameters()), lr=self.learning_rate))
        return optimizers


def mean_and_variance(draws: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Score and uncertainty from ``(D, N)`` probability draws: their mean and (population) variance."""
    draws = np.asarray(draws, dtype=np.float64)
    return draws.mean(axis=0), draws.var(axis=0)


@torch.no_grad()
def predict_draws(
    network: EnsembleMLP,
    numeric: np.ndarray,
    categorical: np.ndarray,
    passes: int,
    stochastic: bool,
    chunk: int = 65536,
) -> np.ndarray:
    """``(passes * M, N)`` probabilities: ``passes`` forward passes of the ``M`` members.

    ``stochastic`` keeps dropout active (MC dropout); otherwise the network is in eval mode.
    """
    network.train(stochastic)
    draws = []
    for _ in range(passes):
        parts = [
            torch.sigmoid(
                network(torch.from_numpy(numeric[i : i + chunk]), torch.from_numpy(categorical[i : i + chunk]))
            )
            for i in range(0, len(numeric), chunk)
        ]
        draws.append(torch.cat(parts, dim=1).numpy())  # (M, N)
    network.eval()
    return np.concatenate(draws, axis=0)


@dataclass(frozen=True)
class Estimator:
    """How one estimator builds its network and draws probabilities from it."""

    members: Callable[[TrainParams], int]
    dropout: Callable[[TrainParams], float]
    draw: Callable[[EnsembleMLP, np.ndarray, np.ndarray, TrainParams], np.ndarray]


# uncertainty.train.estimator -> estimator
ESTIMATORS: dict[str, Estimator] = {
    "deep_ensemble": Estimator(
        members=lambda p: p.deep_ensemble.members,
        dropout=lambda p: p.model.dropout,
        draw=lambda net, x, c, p: predict_draws(net, x, c, passes=1, stochastic=False),
    ),
    "mc_dropout": Estimator(
        members=lambda p: 1,
        dropout=lambda p: p.mc_dropout.dropout,
        draw=lambda net, x, c, p: predict_draws(net, x, c, passes=p.mc_dropout.passes, stochastic=True),
    ),
}
