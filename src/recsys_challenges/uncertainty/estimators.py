"""Classifiers with an uncertainty per prediction: density posterior, posterior network, deep ensemble, MC dropout.

Arora et al. (ICLR 2024, arXiv 2311.11723, section 3) score an example by the mean of a posterior
over its positive-class probability and measure its uncertainty by that posterior's spread. Four
estimators of that posterior:

* **density posterior** (the default): a Beta posterior in the Natural Posterior Network's form
  (Charpentier, Borchert, Zuegner, Geisler & Guennemann, ICLR 2022, eq. 4-5, Bernoulli case):
  ``alpha = n_0 pi + n(x) p(x)``, ``beta = n_0 (1 - pi) + n(x) (1 - p(x))`` with ``p(x)`` an MLP's
  probability (trained with cross-entropy, the Bayesian loss's limit at large evidence), a prior of
  ``n_0`` pseudo-rows at the training positive share ``pi``, and the evidence ``n(x)`` the kernel
  count of training rows near the example's values in each field's learned embedding
  (:mod:`.density`, fitted after training: a kernel density has nothing to train). Score
  ``alpha / (alpha + beta)``, uncertainty ``1 / (alpha + beta)``: the Beta variance is
  ``s (1 - s) / (alpha + beta + 1)``, dominated by the score, so the evidence is reported unmixed.
* **posterior network** (an ablation; Charpentier, Zuegner & Guennemann, NeurIPS 2020, eq. 3-4),
  binary case: an encoder maps an example to a latent ``z`` (batch-normalised), a normalised density
  ``p(z | c)`` per class turns it into pseudo-counts ``alpha = 1 + N_1 p(z | 1)``,
  ``beta = 1 + N_0 p(z | 0)`` (``N_c`` the training rows of class ``c``), and the posterior is
  ``Beta(alpha, beta)``: score ``alpha / (alpha + beta)``, uncertainty its variance
  ``alpha beta / ((alpha + beta)^2 (alpha + beta + 1))``. Where the training data are sparse (rare
  categorical values, whose embeddings barely move from their random start) the density and hence
  the evidence ``alpha + beta`` are small: the posterior is wide and shrunk towards the prior.
  The density is a mixture of diagonal Gaussians (:class:`GaussianMixtureDensity`, the PostNet
  code's ``normal_mixture`` option) instead of the paper's radial flows: on a 6-dimensional
  batch-normalised latent a few Gaussians are a normalised density flexible enough to separate
  dense from sparse regions, with an exact log-density and no flow Jacobians to train. Trained
  with the Bayesian loss (UCE, :func:`uce_loss`).
* **deep ensemble** (Lakshminarayanan, Pritzel & Blundell, NeurIPS 2017): ``M`` MLPs with
  independent initialisations, each on its own bootstrap sample of the training rows in its own
  order; uncertainty = the variance of the members' log-odds, score = their mean probability.
* **MC dropout** (Gal & Ghahramani, ICML 2016): one MLP with dropout kept active at prediction
  time; ``T`` passes, uncertainty = the variance of their log-odds, score = mean probability.

The ``M`` members of an ensemble are trained in one batched network (:class:`EnsembleMLP`): every
layer holds ``M`` independent weight sets, each member sees its own rows, and the loss is the sum of
the members' losses, so each member is trained exactly as it would be alone.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import lightning as L
import numpy as np
import torch
from torch import nn

from recsys_challenges.blas import affine
from recsys_challenges.distributed import shard
from recsys_challenges.sparse_ddp import average_sparse_gradients, keep_sparse_out_of_ddp
from recsys_challenges.uncertainty.config import TrainParams
from recsys_challenges.uncertainty.datasets import LabelledTable
from recsys_challenges.uncertainty.density import FieldDensity, fit_field_density


class BatchedLinear(nn.Module):
    """``M`` independent linear layers applied in one batched matmul (OpenBLAS, :mod:`recsys_challenges.blas`).

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
        return affine(x, self.weight, self.bias.unsqueeze(1))  # (M, B, out), products in OpenBLAS


class Dropout(nn.Module):
    """Inverted dropout (``nn.Dropout``'s): in training mode each unit is kept with probability
    ``1 - p`` and scaled by ``1 / (1 - p)``; in eval mode the identity.

    The mask is ``torch.rand(...) >= p``, from torch's own generator, not ``bernoulli_``: on a CPU
    build with MKL, torch draws ``bernoulli_(p)`` from MKL's VSL stream on Intel CPUs and from its own
    generator on the others, so ``nn.Dropout``'s masks (MC dropout's, in training and prediction)
    differ between an Intel and an AMD machine for the same seed. ``rand`` is the same on both, and
    cheaper (torch's non-MKL ``bernoulli_`` is a scalar loop: ~2x the time of ``rand`` and a compare).
    """

    def __init__(self, p: float) -> None:
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"dropout probability must be in [0, 1), got {p}")
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        keep = torch.rand(x.shape, dtype=x.dtype, device=x.device) >= self.p  # (..., width)
        return x * keep * (1.0 / (1.0 - self.p))

    def extra_repr(self) -> str:
        return f"p={self.p}"


class EnsembleMLP(nn.Module):
    """``M`` MLPs over numeric features and embedded categorical fields, evaluated in one pass.

    Args:
        members: ``M``, independent networks (1 for MC dropout and the posterior network's encoder).
        numeric_features: ``F``, numeric inputs.
        cardinalities: codes per categorical field (``C`` fields, each embedded in ``embedding_dim``).
        embedding_dim: ``d``.
        hidden: widths of the hidden ReLU layers.
        dropout: dropout probability after each hidden layer.
        outputs: ``O``, width of the last (linear) layer: 1 logit, or a latent vector.

    Shapes: ``numeric (B, F)`` and ``categorical (B, C)`` int64 (every member sees the same rows),
    or ``(M, B, F)`` and ``(M, B, C)`` (member ``m`` sees row ``[m, b]``) -> ``(M, B, O)``.
    """

    def __init__(
        self,
        members: int,
        numeric_features: int,
        cardinalities: tuple[int, ...],
        embedding_dim: int,
        hidden: tuple[int, ...],
        dropout: float,
        outputs: int = 1,
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
            layers += [BatchedLinear(members, width_in, width_out), nn.ReLU(), Dropout(dropout)]
        layers.append(BatchedLinear(members, widths[-1], outputs))
        self.layers = nn.Sequential(*layers)

    def forward(self, numeric: torch.Tensor, categorical: torch.Tensor) -> torch.Tensor:
        if numeric.dim() == 2:  # the same rows for every member
            numeric = numeric.unsqueeze(0).expand(self.members, -1, -1)  # (M, B, F)
            categorical = categorical.unsqueeze(0).expand(self.members, -1, -1)  # (M, B, C)
        inputs = [numeric]
        if self.embedding is not None:
            member_base = torch.arange(self.members, device=categorical.device) * self.vocabulary  # (M,)
            rows = member_base[:, None, None] + categorical + self.offsets  # (M, B, C)
            inputs.append(self.embedding(rows).flatten(2))  # (M, B, C d)
        return self.layers(torch.cat(inputs, dim=-1))  # (M, B, O)


class GaussianMixtureDensity(nn.Module):
    """A normalised density on ``R^D``: a mixture of ``K`` Gaussians with diagonal covariances.

    ``log p(z) = logsumexp_k [log pi_k + sum_j log N(z_j; mu_kj, sigma_kj^2)]``; the weights, means
    and log-scales are trained by the loss that uses the density (PostNet's ``normal_mixture``).
    Shapes: ``z (B, D)`` -> ``(B,)``.
    """

    def __init__(self, dim: int, components: int) -> None:
        super().__init__()
        self.weight_logits = nn.Parameter(torch.zeros(components))
        self.means = nn.Parameter(torch.randn(components, dim))  # the latent is batch-normalised: unit scale
        self.log_scales = nn.Parameter(torch.zeros(components, dim))

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        standardised = (z[:, None, :] - self.means[None]) * torch.exp(-self.log_scales)[None]  # (B, K, D)
        dim = z.shape[1]
        log_normal = (
            -0.5 * standardised.square().sum(-1) - self.log_scales.sum(-1)[None] - 0.5 * dim * math.log(2 * math.pi)
        )  # (B, K)
        return torch.logsumexp(torch.log_softmax(self.weight_logits, 0)[None] + log_normal, dim=1)  # (B,)


MAX_LOG_EVIDENCE = 60.0  # exp(60) ~ 1e26 pseudo-counts: far beyond any training set, still finite in float32


class PosteriorNetwork(nn.Module):
    """Binary posterior network: encoder -> batch-normalised latent -> per-class density -> Beta.

    Args:
        encoder: an :class:`EnsembleMLP` with one member and ``latent_dim`` outputs.
        latent_dim: ``D``.
        components: Gaussians per class density.
        class_counts: ``(N_0, N_1)`` training rows of each class (the evidence budget, PostNet's ``id``).

    Shapes: ``numeric (B, F)``, ``categorical (B, C)`` -> concentrations ``(B, 2)``: ``[beta, alpha]``
    (column ``c`` = ``1 + N_c p(z | c)``, so column 1 counts evidence for the positive class).
    """

    def __init__(self, encoder: EnsembleMLP, latent_dim: int, components: int, class_counts: tuple[int, int]) -> None:
        super().__init__()
        if encoder.members != 1:
            raise ValueError("the posterior network's encoder is one network")
        self.encoder = encoder
        self.batch_norm = nn.BatchNorm1d(latent_dim)
        self.densities = nn.ModuleList([GaussianMixtureDensity(latent_dim, components) for _ in range(2)])
        self.register_buffer("log_counts", torch.log(torch.tensor(class_counts, dtype=torch.float32).clamp(min=1)))

    def log_evidence(self, numeric: torch.Tensor, categorical: torch.Tensor) -> torch.Tensor:
        """``(B, 2)``: ``log N_c + log p(z | c)``."""
        z = self.batch_norm(self.encoder(numeric, categorical)[0])  # (B, D)
        return torch.stack([density.log_prob(z) for density in self.densities], dim=1) + self.log_counts

    def forward(self, numeric: torch.Tensor, categorical: torch.Tensor) -> torch.Tensor:
        return 1.0 + torch.exp(self.log_evidence(numeric, categorical).clamp(max=MAX_LOG_EVIDENCE))  # (B, 2)


class DensityPosterior(nn.Module):
    """Beta posterior from a classifier's probability and a field density's evidence (NatPN form).

    Args:
        classifier: an :class:`EnsembleMLP` with one member and one logit.
        density: kernel counts of the training rows per field (:func:`.density.fit_field_density`).
        prior_rate: ``pi``, the training rows' positive share; ``prior_count``: ``n_0``.

    Shapes: ``numeric (B, F)`` (standardised), ``categorical (B, C)`` -> ``(B, 2)`` ``[beta, alpha]``.
    """

    def __init__(self, classifier: EnsembleMLP, density: FieldDensity, prior_rate: float, prior_count: float) -> None:
        super().__init__()
        self.classifier = classifier
        self.density = density
        self.prior_rate = prior_rate
        self.prior_count = prior_count

    def forward(self, numeric: torch.Tensor, categorical: torch.Tensor) -> torch.Tensor:
        probability = torch.sigmoid(self.classifier(numeric, categorical)[0, :, 0])  # (B,)
        evidence = torch.exp(self.density.log_evidence(numeric, categorical).clamp(max=MAX_LOG_EVIDENCE))  # (B,)
        alpha = self.prior_count * self.prior_rate + evidence * probability
        beta = self.prior_count * (1.0 - self.prior_rate) + evidence * (1.0 - probability)
        return torch.stack([beta, alpha], dim=1)


def uce_loss(concentrations: torch.Tensor, labels: torch.Tensor, entropy_weight: float) -> torch.Tensor:
    """PostNet's Bayesian loss for a Beta posterior, averaged over the batch (Charpentier et al., eq. 5):

    ``E_{p ~ Beta(alpha, beta)}[-log P(y | p)] - lambda H(Beta(alpha, beta))`` where the expected
    cross-entropy is ``psi(alpha + beta) - psi(alpha)`` for ``y = 1`` and
    ``psi(alpha + beta) - psi(beta)`` for ``y = 0``. ``concentrations (B, 2)`` as
    :class:`PosteriorNetwork` returns them, ``labels (B,)``.
    """
    beta, alpha = concentrations[:, 0], concentrations[:, 1]
    own = torch.where(labels.bool(), alpha, beta)  # (B,)
    expected_nll = torch.digamma(alpha + beta) - torch.digamma(own)
    entropy = torch.distributions.Beta(alpha, beta).entropy()
    return (expected_nll - entropy_weight * entropy).mean()


def beta_score_and_variance(concentrations: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Score ``alpha / (alpha + beta)`` and uncertainty ``Var Beta(alpha, beta)`` from ``(N, 2)`` ``[beta, alpha]``."""
    concentrations = np.asarray(concentrations, dtype=np.float64)
    beta, alpha = concentrations[:, 0], concentrations[:, 1]
    total = alpha + beta
    return alpha / total, alpha * beta / (total**2 * (total + 1.0))


def beta_score_and_inverse_evidence(concentrations: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Score ``alpha / (alpha + beta)`` and uncertainty ``1 / (alpha + beta)`` from ``(N, 2)`` ``[beta, alpha]``."""
    concentrations = np.asarray(concentrations, dtype=np.float64)
    total = concentrations.sum(axis=1)
    return concentrations[:, 1] / total, 1.0 / total


def ensemble_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Sum over members of each member's mean binary cross-entropy: ``logits (M, B)``, ``labels (M, B)``
    (member ``m``'s own rows) or ``(B,)`` (the same rows for every member)."""
    targets = labels.to(logits.dtype).expand_as(logits)
    return nn.functional.binary_cross_entropy_with_logits(logits, targets, reduction="none").mean(dim=1).sum()


def score_and_logit_variance(logits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Score and uncertainty from ``(D, N)`` log-odds draws: the mean probability, the log-odds variance."""
    logits = np.asarray(logits, dtype=np.float64)
    probabilities = 1.0 / (1.0 + np.exp(-logits))
    return probabilities.mean(axis=0), logits.var(axis=0)


@torch.no_grad()
def predict_in_chunks(
    network: nn.Module, numeric: np.ndarray, categorical: np.ndarray, chunk: int = 65536
) -> torch.Tensor:
    """The network's output on all rows, ``chunk`` rows at a time, concatenated on the row axis
    (axis 1 for an :class:`EnsembleMLP`'s ``(M, B, O)``, axis 0 for a posterior network's ``(B, 2)``)."""
    parts = [
        network(torch.from_numpy(numeric[i : i + chunk]), torch.from_numpy(categorical[i : i + chunk]))
        for i in range(0, len(numeric), chunk)
    ]
    return torch.cat(parts, dim=1 if isinstance(network, EnsembleMLP) else 0)


def predict_logits(
    network: EnsembleMLP, numeric: np.ndarray, categorical: np.ndarray, passes: int, stochastic: bool
) -> np.ndarray:
    """``(passes * M, N)`` log-odds: ``passes`` forward passes of the ``M`` members.

    ``stochastic`` keeps dropout active (MC dropout); otherwise the network is in eval mode.
    """
    network.train(stochastic)
    draws = [predict_in_chunks(network, numeric, categorical)[..., 0].numpy() for _ in range(passes)]  # (M, N) each
    network.eval()
    return np.concatenate(draws, axis=0)


def predict_beta(network: PosteriorNetwork | DensityPosterior, numeric: np.ndarray, categorical: np.ndarray) -> np.ndarray:
    """``(N, 2)`` Beta concentrations ``[beta, alpha]`` in eval mode (batch norm on its running statistics)."""
    network.eval()
    return predict_in_chunks(network, numeric, categorical).numpy()


class ClassifierModule(L.LightningModule):
    """Thin Lightning wrapper: trains a network with its estimator's loss.

    A batch is ``numeric (B, M, F)``, ``categorical (B, M, C)``, ``labels (B, M)``: for each of the
    ``B`` positions the row each of the ``M`` training copies sees (``M = 1`` except for a
    bootstrapped ensemble). AdamW for the dense parameters, SparseAdam (same learning rate, no
    weight decay) for the sparse embedding tables; two optimizers, so the step is written out
    (manual optimisation).

    Under DDP every process receives the same *global* batch and trains on its strided shard
    (:func:`recsys_challenges.distributed.shard`), its loss scaled by ``W n_r / B`` so that the
    all-reduced (averaged) gradient is the one-process gradient of the whole batch. The sparse
    embedding tables stay out of DDP and are averaged by
    :func:`~recsys_challenges.sparse_ddp.average_sparse_gradients` (why: :mod:`recsys_challenges.sparse_ddp`).
    """

    def __init__(
        self,
        network: nn.Module,
        loss: Callable[[nn.Module, torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor],
        learning_rate: float,
        weight_decay: float,
    ) -> None:
        super().__init__()
        self.automatic_optimization = False
        self.network = network
        self.loss = loss
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.tables_outside_ddp: list[nn.Parameter] = []
        self.epoch_loss, self.epoch_rows = torch.tensor(0.0), 0  # this epoch's sum of loss x rows, and rows

    def setup(self, stage: str) -> None:
        # Lightning calls this after the process group starts and before DDP wraps the module
        if self.trainer.world_size > 1:
            self.tables_outside_ddp = keep_sparse_out_of_ddp(self)

    def training_step(self, batch: tuple[torch.Tensor, ...], batch_idx: int) -> torch.Tensor:
        world_size = self.trainer.world_size
        global_rows = batch[0].shape[0]
        numeric, categorical, labels = (shard(t, self.global_rank, world_size) for t in batch)  # (B / W, M, ...)
        optimizers = self.optimizers()
        optimizers = optimizers if isinstance(optimizers, list) else [optimizers]
        loss = self.loss(self.network, numeric, categorical, labels) * (labels.shape[0] * world_size / global_rows)
        for optimizer in optimizers:
            optimizer.zero_grad()
        self.manual_backward(loss)
        average_sparse_gradients(self.tables_outside_ddp, self.all_gather, world_size)
        for optimizer in optimizers:
            optimizer.step()
        # the epoch's mean loss, accumulated as Lightning's on-epoch mean would (float32, weighted by the
        # global batch) and logged once per epoch: a `self.log` per step cost ~15% of a step on this CPU
        self.epoch_loss = self.epoch_loss + loss.detach() * global_rows
        self.epoch_rows += global_rows
        return loss

    def on_train_epoch_start(self) -> None:
        self.epoch_loss, self.epoch_rows = torch.tensor(0.0), 0

    def on_train_epoch_end(self) -> None:
        mean = self.epoch_loss / torch.tensor(self.epoch_rows)
        self.log("train/loss", mean, prog_bar=True, on_step=False, on_epoch=True, sync_dist=True, batch_size=1)

    def configure_optimizers(self) -> list[torch.optim.Optimizer]:
        sparse = [m.weight for m in self.network.modules() if isinstance(m, nn.Embedding) and m.sparse]
        sparse_ids = {id(p) for p in sparse}
        dense = [p for p in self.network.parameters() if id(p) not in sparse_ids]
        optimizers: list[torch.optim.Optimizer] = [
            torch.optim.AdamW(dense, lr=self.learning_rate, weight_decay=self.weight_decay)
        ]
        if sparse:
            optimizers.append(torch.optim.SparseAdam(sparse, lr=self.learning_rate))
        return optimizers


def _mlp(params: TrainParams, numeric_features: int, cardinalities: tuple[int, ...], members: int, dropout: float,
         outputs: int = 1) -> EnsembleMLP:
    model = params.model
    return EnsembleMLP(members, numeric_features, cardinalities, model.embedding_dim, model.hidden, dropout, outputs)


def _posterior_network(params: TrainParams, numeric_features: int, cardinalities: tuple[int, ...],
                       class_counts: tuple[int, int]) -> PosteriorNetwork:
    spec = params.posterior_network
    encoder = _mlp(params, numeric_features, cardinalities, 1, params.model.dropout, outputs=spec.latent_dim)
    return PosteriorNetwork(encoder, spec.latent_dim, spec.components, class_counts)


def _fit_density(network: EnsembleMLP, params: TrainParams, train_numeric: np.ndarray, train: LabelledTable,
                 holdout_numeric: np.ndarray, holdout: LabelledTable) -> DensityPosterior:
    """Wrap a trained single MLP into a :class:`DensityPosterior` (numerics standardised as in training)."""
    tables = []
    if network.embedding is not None:
        weights = network.embedding.weight.detach()[: network.vocabulary]  # member 0's table
        starts = network.offsets.tolist()
        tables = [weights[start : start + size] for start, size in zip(starts, train.cardinalities, strict=True)]
    spec = params.density_posterior
    density = fit_field_density(tables, train_numeric, train.categorical, holdout_numeric, holdout.categorical,
                                list(spec.bandwidth_multiples))
    network.eval()
    return DensityPosterior(network, density, float(train.labels.mean()), spec.prior_count)


def _member_loss(network: nn.Module, numeric: torch.Tensor, categorical: torch.Tensor, labels: torch.Tensor):
    # (B, M, ...) -> member-major (M, B, ...)
    logits = network(numeric.transpose(0, 1), categorical.transpose(0, 1))[..., 0]  # (M, B)
    return ensemble_loss(logits, labels.T)


@dataclass(frozen=True)
class Estimator:
    """How one estimator builds its network, trains it and predicts (score, uncertainty).

    ``copies``: training copies of the rows per batch position (``M`` bootstrap samples for the
    ensemble, else 1); ``bootstrap``: whether those copies are bootstrap samples; ``finish``: what
    is fitted after training, from ``(network, params, train numeric (standardised), train table,
    hold-out numeric, hold-out table)`` (the density posterior's field density); None: nothing.
    """

    build: Callable[[TrainParams, int, tuple[int, ...], tuple[int, int]], nn.Module]
    copies: Callable[[TrainParams], int]
    bootstrap: Callable[[TrainParams], bool]
    loss: Callable[[TrainParams], Callable[..., torch.Tensor]]
    predict: Callable[[nn.Module, np.ndarray, np.ndarray, TrainParams], tuple[np.ndarray, np.ndarray]]
    finish: Callable[..., nn.Module] | None = None


# uncertainty.train.estimator (and .ablations) -> estimator
ESTIMATORS: dict[str, Estimator] = {
    "density_posterior": Estimator(
        build=lambda p, f, cards, counts: _mlp(p, f, cards, 1, p.model.dropout),
        copies=lambda p: 1,
        bootstrap=lambda p: False,
        loss=lambda p: _member_loss,
        predict=lambda net, x, c, p: beta_score_and_inverse_evidence(predict_beta(net, x, c)),
        finish=_fit_density,
    ),
    "posterior_network": Estimator(
        build=_posterior_network,
        copies=lambda p: 1,
        bootstrap=lambda p: False,
        loss=lambda p: lambda net, x, c, y: uce_loss(net(x[:, 0], c[:, 0]), y[:, 0], p.posterior_network.entropy_weight),
        predict=lambda net, x, c, p: beta_score_and_variance(predict_beta(net, x, c)),
    ),
    "deep_ensemble": Estimator(
        build=lambda p, f, cards, counts: _mlp(p, f, cards, p.deep_ensemble.members, p.model.dropout),
        copies=lambda p: p.deep_ensemble.members,
        bootstrap=lambda p: p.deep_ensemble.bootstrap,
        loss=lambda p: _member_loss,
        predict=lambda net, x, c, p: score_and_logit_variance(predict_logits(net, x, c, passes=1, stochastic=False)),
    ),
    "mc_dropout": Estimator(
        build=lambda p, f, cards, counts: _mlp(p, f, cards, 1, p.mc_dropout.dropout),
        copies=lambda p: 1,
        bootstrap=lambda p: False,
        loss=lambda p: _member_loss,
        predict=lambda net, x, c, p: score_and_logit_variance(
            predict_logits(net, x, c, passes=p.mc_dropout.passes, stochastic=True)
        ),
    ),
}
