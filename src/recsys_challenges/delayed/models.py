"""Networks of T2: the CVR model and the auxiliary models that estimate importance weights.

Both are :class:`HashedMLP`: hashed categorical ids -> embeddings, concatenated with dense inputs,
then an MLP with one logit per head. The CVR model sees only click-time features; the auxiliary
models also see the elapsed time and, for the pre-conversion-aware weights, the signal counts.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

PREDICT_BATCH = 65_536  # rows per forward pass at inference
GOLDEN = np.uint64(0x9E3779B97F4A7C15)  # multiplicative hashing constant (2^64 / golden ratio)


def hash_ids(ids: np.ndarray, bits: int) -> np.ndarray:
    """Hash ``(n, C)`` int64 ids into ``[0, 2**bits)`` per field (Fibonacci hashing, field-salted).

    Field ``f``'s id ``v`` goes to the top ``bits`` bits of ``(v + f * 2**40) * GOLDEN mod 2**64``,
    so equal ids in different fields land in unrelated buckets.
    """
    ids = np.asarray(ids, dtype=np.int64)
    salts = (np.arange(ids.shape[1], dtype=np.uint64) << np.uint64(40))[None, :]  # (1, C)
    with np.errstate(over="ignore"):
        mixed = (ids.view(np.uint64) + salts) * GOLDEN
    return (mixed >> np.uint64(64 - bits)).astype(np.int64)


class HashedMLP(nn.Module):
    """Embeddings of hashed categorical fields + dense inputs -> MLP -> ``heads`` logits.

    Args:
        fields: number of categorical fields ``C``.
        bits: ``2**bits`` buckets per field.
        dim: embedding size ``d``.
        dense: number of dense inputs ``F``.
        hidden: MLP layer sizes.
        heads: number of output logits.

    Shapes:
        categorical ``(B, C)`` int64 bucket ids in ``[0, 2**bits)``, dense ``(B, F)`` float32
        -> logits ``(B, heads)``.
    """

    def __init__(self, fields: int, bits: int, dim: int, dense: int, hidden: list[int], heads: int = 1) -> None:
        super().__init__()
        self.fields, self.buckets = fields, 1 << bits
        self.embedding = nn.Embedding(max(fields, 1) * self.buckets, dim, sparse=True)  # only looked-up rows get a gradient
        self.register_buffer("offsets", torch.arange(fields, dtype=torch.long) * self.buckets, persistent=False)
        layers: list[nn.Module] = []
        width = fields * dim + dense
        for size in hidden:
            layers += [nn.Linear(width, size), nn.ReLU()]
            width = size
        layers.append(nn.Linear(width, heads))
        self.mlp = nn.Sequential(*layers)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.normal_(self.embedding.weight, std=0.01)
        for module in self.mlp:
            if isinstance(module, nn.Linear):
                module.reset_parameters()

    def init_output_bias(self, rates: list[float]) -> None:
        """Start each head at the logit of its base rate: with rare positives, a zero bias would cost
        thousands of optimiser steps before the model says anything but 0.5."""
        rates_tensor = torch.as_tensor(rates, dtype=torch.float32).clamp(1e-6, 1 - 1e-6)
        with torch.no_grad():
            self.mlp[-1].bias.copy_(torch.logit(rates_tensor))

    def forward(self, categorical: torch.Tensor, dense: torch.Tensor) -> torch.Tensor:
        embedded = self.embedding(categorical + self.offsets).flatten(1)  # (B, C*d)
        return self.mlp(torch.cat([embedded, dense], dim=1))  # (B, heads)


class LazyAdam(torch.optim.Optimizer):
    """Adam on the rows of a sparse gradient only (TensorFlow's LazyAdam; same updates as ``SparseAdam``).

    Moments of the rows a minibatch does not touch are left as they are. Written with
    ``index_select``/``index_copy_``/``index_put_``, which on CPU cost a third of what
    ``SparseAdam``'s coalescing and advanced indexing do for the small batches of the stream. A row's
    two moments sit side by side (state ``moments``, ``(N, 2, d)``): one gather and one scatter a
    step, on one cache line per row; the parameter rows are updated by ``index_put_``, which took a
    quarter of the time of ``index_add_`` on a 512-row batch (1.3 -> 0.6 ms a step with both changes).
    """

    def __init__(self, params: list[torch.Tensor], lr: float, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8) -> None:
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps})

    @torch.no_grad()
    def step(self, closure: None = None) -> None:
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            for param in group["params"]:
                if param.grad is None:
                    continue
                if not param.grad.is_sparse:
                    raise ValueError("LazyAdam needs the sparse gradient of nn.Embedding(sparse=True)")
                state = self.state[param]
                if not state:
                    state.update(step=0, moments=param.new_zeros(param.shape[0], 2, param.shape[1]))
                state["step"] += 1
                grad = param.grad
                rows, inverse = torch.unique(grad._indices()[0], return_inverse=True)  # (R,), (nnz,)
                summed = param.new_zeros(rows.numel(), param.shape[1]).index_put_(
                    (inverse,), grad._values(), accumulate=True)  # (R, d): duplicate rows' gradients added
                moments = state["moments"].index_select(0, rows)  # (R, 2, d)
                m, v = moments[:, 0], moments[:, 1]  # views: updated in place
                m.mul_(beta1).add_(summed, alpha=1 - beta1)
                v.mul_(beta2).addcmul_(summed, summed, value=1 - beta2)
                state["moments"].index_copy_(0, rows, moments)
                t = state["step"]
                size = group["lr"] * (1 - beta2**t) ** 0.5 / (1 - beta1**t)
                param.index_put_((rows,), m.div(v.sqrt().add_(group["eps"])).mul_(-size), accumulate=True)


def optimizers(net: HashedMLP, lr: float, weight_decay: float, embedding_lr: float | None = None
               ) -> list[torch.optim.Optimizer]:
    """:class:`LazyAdam` on the embedding rows a batch touches (rate ``embedding_lr``, default ``lr``),
    ``Adam`` (with L2) on the MLP.

    A dense Adam step would update every bucket of every field at each minibatch, which costs
    more than the forward and backward passes of the small batches the stream trains on. The MLP's
    Adam is torch's fused kernel: one call for every tensor instead of a dozen small ops each
    (0.33 -> 0.14 ms a step of a 512-row batch; the same update up to float rounding).
    """
    return [LazyAdam(list(net.embedding.parameters()), lr=lr if embedding_lr is None else embedding_lr),
            torch.optim.Adam(net.mlp.parameters(), lr=lr, weight_decay=weight_decay, fused=True)]


@torch.no_grad()
def batched_logits(net: HashedMLP, categorical: torch.Tensor, dense: torch.Tensor) -> torch.Tensor:
    """``net``'s logits ``(n, heads)`` in evaluation mode, in batches of ``PREDICT_BATCH`` rows."""
    net.eval()
    out = [net(categorical[i:i + PREDICT_BATCH], dense[i:i + PREDICT_BATCH])
           for i in range(0, categorical.shape[0], PREDICT_BATCH)]
    return torch.cat(out) if out else torch.zeros(0, net.mlp[-1].out_features)


@torch.no_grad()
def predict(net: HashedMLP, categorical: torch.Tensor, dense: torch.Tensor) -> torch.Tensor:
    """Sigmoid of every head, ``(n, heads)``, in large batches."""
    return torch.sigmoid(batched_logits(net, categorical, dense))
