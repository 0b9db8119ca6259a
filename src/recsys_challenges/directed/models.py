"""Encoders and decoders for node recommendation on a directed graph.

Every encoder maps the local node ids of a (sampled or full) graph to a pair ``(source, target)``
of ``(n, d)`` embeddings; a decoder scores ``u -> v`` from ``source[u]`` and ``target[v]``.

* :class:`DualGNN` (DAEMON, Virinchi et al., ECML-PKDD 2022, arXiv 2211.11583; BLADE, WSDM 2023):
  dual embeddings learned by message passing over the whole graph. Convention used here (the
  DESIGN's; the DAEMON abstract says only "dual embeddings ... by appropriately aggregating
  features from its neighbourhood"): the source role of ``u`` aggregates the *target* embeddings of
  its *out*-neighbours and the target role of ``v`` aggregates the *source* embeddings of its
  *in*-neighbours, layer by layer (:class:`DualConv`). Score ``s_u . t_v`` (asymmetric).
* :class:`SAGE`: single embedding per node, GraphSAGE (Hamilton et al., NeurIPS 2017) over the
  undirected neighbourhood, score ``x_u . x_v`` (symmetric: cannot tell ``u -> v`` from ``v -> u``).
* :class:`Shallow`: learned source/target lookup tables (APP/HOPE-style), no message passing.
* :class:`GravityGAE` (Salha et al., CIKM 2019): GCN encoder over the directed graph (each node
  averages itself and its out-neighbours, ``D_out^-1 (A + I)``), embedding ``z`` plus a mass
  ``m``; decoder ``m_v - lambda * log ||z_u - z_v||^2``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.nn import MessagePassing, SAGEConv
from torch_geometric.nn.dense.linear import Linear

from recsys_challenges.blas import linear
from recsys_challenges.directed.sampling import transpose_csr

# ---------------------------------------------------------------- embeddings


def node_embeddings(table: nn.Embedding, node_ids: Tensor) -> Tensor:
    """``(n, d)`` rows of ``table`` for ``node_ids``; the table itself when ``node_ids`` is every node
    in order (whole-graph steps and inference): the same values and, since each row is used once,
    the same gradient, without the lookup's copy and its sort-based backward (~5 ms of a 85 ms dual
    GNN step on Subelj Cora)."""
    num_nodes = table.num_embeddings
    if node_ids.numel() == num_nodes and torch.equal(node_ids, torch.arange(num_nodes)):
        # outside autograd (inference) a lookup's result does not require grad: neither does this
        return table.weight if torch.is_grad_enabled() else table.weight.detach()  # (N, d)
    return table(node_ids)  # (n, d)


# ---------------------------------------------------------------- aggregation


class _SparseMatmul(torch.autograd.Function):
    """``A @ x`` for a constant sparse CSR ``A``; the backward multiplies by ``A^T`` in CSR
    (torch's own backward goes through a CSC product that is ~10x slower on CPU)."""

    @staticmethod
    def forward(ctx, matrix: Tensor, transposed: Tensor | None, x: Tensor) -> Tensor:  # noqa: D102
        ctx.matrix, ctx.transposed = matrix, transposed
        return matrix @ x

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[None, None, Tensor]:  # noqa: D102
        transposed = ctx.transposed if ctx.transposed is not None else transpose_csr(ctx.matrix)
        return None, None, transposed @ grad


def sparse_matmul(matrix: Tensor, x: Tensor, transposed: Tensor | None = None) -> Tensor:
    """``matrix @ x`` (``(n, m)`` sparse CSR times ``(m, d)``) with a fast backward to ``x``;
    ``transposed`` (``matrix.T`` in CSR) saves rebuilding the transpose in every backward."""
    return _SparseMatmul.apply(matrix, transposed, x)


# ---------------------------------------------------------------- dual GNN


class DualConv(MessagePassing):
    r"""One dual-embedding layer (DAEMON/BLADE), as two mean aggregations:

    .. math::
        s_u' = W_1 s_u + W_2 \operatorname{mean}_{v \in N_{out}(u)} t_v, \qquad
        t_v' = W_3 t_v + W_4 \operatorname{mean}_{u \in N_{in}(v)} s_u.

    Args:
        in_channels: input width ``d``.
        out_channels: output width ``d'``.

    Shapes:
        source, target: ``(n, d)``; ``out_adj``/``in_adj``: ``(n, n)`` sparse CSR, row-normalised
        (rows receive; :func:`sampling.sample_subgraph`) or ``(2, E)`` edge_index (sender, receiver);
        ``out_adj_t``/``in_adj_t``: their CSR transposes or ``None``; output: two ``(n, d')``.
    """

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__(aggr="mean")
        self.source_root = Linear(in_channels, out_channels, bias=True)
        self.source_neighbours = Linear(in_channels, out_channels, bias=False)
        self.target_root = Linear(in_channels, out_channels, bias=True)
        self.target_neighbours = Linear(in_channels, out_channels, bias=False)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        for linear in (self.source_root, self.source_neighbours, self.target_root, self.target_neighbours):
            linear.reset_parameters()

    def forward(
        self,
        source: Tensor,
        target: Tensor,
        out_adj: Tensor,
        in_adj: Tensor,
        out_adj_t: Tensor | None = None,
        in_adj_t: Tensor | None = None,
    ) -> tuple[Tensor, Tensor]:
        from_targets = self.propagate(out_adj, x=target, transposed=out_adj_t)  # (n, d) mean t of out-neighbours
        from_sources = self.propagate(in_adj, x=source, transposed=in_adj_t)  # (n, d) mean s of in-neighbours
        new_source = linear(source, self.source_root) + linear(from_targets, self.source_neighbours)
        new_target = linear(target, self.target_root) + linear(from_sources, self.target_neighbours)
        return new_source, new_target

    def message(self, x_j: Tensor) -> Tensor:
        return x_j

    def message_and_aggregate(self, adj_t: Tensor, x: Tensor, transposed: Tensor | None) -> Tensor:
        return sparse_matmul(adj_t, x, transposed)


class DualGNN(nn.Module):
    """Learned source and target embeddings refined by ``num_layers`` :class:`DualConv` layers."""

    relations = ("out", "in")

    def __init__(self, num_nodes: int, dim: int, num_layers: int) -> None:
        super().__init__()
        self.source_embedding = nn.Embedding(num_nodes, dim)
        self.target_embedding = nn.Embedding(num_nodes, dim)
        self.convs = nn.ModuleList(DualConv(dim, dim) for _ in range(num_layers))
        for table in (self.source_embedding, self.target_embedding):
            nn.init.normal_(table.weight, std=0.1)

    def forward(
        self, node_ids: Tensor, adjacency: dict[str, Tensor], transposed: dict[str, Tensor] | None = None
    ) -> tuple[Tensor, Tensor]:
        transposed = transposed or {}
        source = node_embeddings(self.source_embedding, node_ids)  # (n, d)
        target = node_embeddings(self.target_embedding, node_ids)  # (n, d)
        for layer, conv in enumerate(self.convs):
            source, target = conv(
                source, target, adjacency["out"], adjacency["in"], transposed.get("out"), transposed.get("in")
            )
            if layer < len(self.convs) - 1:
                source, target = F.relu(source), F.relu(target)
        return source, target


# ---------------------------------------------------------------- baselines


def single_embedding_layers(
    convs: nn.ModuleList, x: Tensor, relation: str, adjacency: dict[str, Tensor], transposed: dict[str, Tensor] | None
) -> Tensor:
    """``x`` ``(n, d)`` through ``convs`` on one relation, with ReLU between layers."""
    transposed = transposed or {}
    for layer, conv in enumerate(convs):
        x = conv(x, adjacency[relation], transposed.get(relation))
        if layer < len(convs) - 1:
            x = F.relu(x)
    return x


class SampledSAGEConv(SAGEConv):
    """PyG's :class:`~torch_geometric.nn.conv.SAGEConv` (mean aggregator, root weight) whose sparse
    aggregation uses the same fast-backward product as :class:`DualConv`, so both are timed on
    equal terms: ``x' = W_1 x + W_2 mean_{j in N(i)} x_j``."""

    # the arguments of propagate() for PyG's generated code (SAGEConv's own annotation lacks `transposed`)
    propagate_type = {"x": "Tuple[Tensor, Optional[Tensor]]", "transposed": "Optional[Tensor]"}

    def forward(self, x: Tensor, adj: Tensor, adj_t: Tensor | None = None) -> Tensor:  # type: ignore[override]
        return linear(self.propagate(adj, x=(x, x), transposed=adj_t), self.lin_l) + linear(x, self.lin_r)

    def message_and_aggregate(self, adj_t: Tensor, x: tuple[Tensor, Tensor | None], transposed: Tensor | None) -> Tensor:
        return sparse_matmul(adj_t, x[0], transposed)


class SAGE(nn.Module):
    """Single-embedding GraphSAGE over the undirected neighbourhood; source = target = ``x``."""

    relations = ("both",)

    def __init__(self, num_nodes: int, dim: int, num_layers: int) -> None:
        super().__init__()
        self.embedding = nn.Embedding(num_nodes, dim)
        nn.init.normal_(self.embedding.weight, std=0.1)
        self.convs = nn.ModuleList(SampledSAGEConv(dim, dim, aggr="mean") for _ in range(num_layers))

    def forward(
        self, node_ids: Tensor, adjacency: dict[str, Tensor], transposed: dict[str, Tensor] | None = None
    ) -> tuple[Tensor, Tensor]:
        x = single_embedding_layers(self.convs, node_embeddings(self.embedding, node_ids), "both", adjacency, transposed)
        return x, x


class Shallow(nn.Module):
    """Source and target lookup tables, no message passing (APP/HOPE-style dual embeddings)."""

    relations: tuple[str, ...] = ()

    def __init__(self, num_nodes: int, dim: int, num_layers: int) -> None:
        super().__init__()
        self.source_embedding = nn.Embedding(num_nodes, dim)
        self.target_embedding = nn.Embedding(num_nodes, dim)
        for table in (self.source_embedding, self.target_embedding):
            nn.init.normal_(table.weight, std=0.1)

    def forward(
        self, node_ids: Tensor, adjacency: dict[str, Tensor], transposed: dict[str, Tensor] | None = None
    ) -> tuple[Tensor, Tensor]:
        return node_embeddings(self.source_embedding, node_ids), node_embeddings(self.target_embedding, node_ids)


class _GCNLayer(MessagePassing):
    """``x' = W mean_{j in N_out(i) + i} x_j`` with the row-normalised adjacency ``D^-1 (A + I)``."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__(aggr="mean")
        self.linear = Linear(in_channels, out_channels, bias=True)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        self.linear.reset_parameters()

    def forward(self, x: Tensor, adj: Tensor, adj_t: Tensor | None = None) -> Tensor:
        return linear(self.propagate(adj, x=x, transposed=adj_t), self.linear)

    def message(self, x_j: Tensor) -> Tensor:
        return x_j

    def message_and_aggregate(self, adj_t: Tensor, x: Tensor, transposed: Tensor | None) -> Tensor:
        return sparse_matmul(adj_t, x, transposed)


class GravityGAE(nn.Module):
    """Gravity-inspired graph autoencoder (Salha et al. 2019) on learned input embeddings.

    The encoder averages each node with its out-neighbours (``out_self``: the ``out`` relation plus
    self-loops); the last output column is the mass ``m``. ``source = [z, 0]`` and
    ``target = [z, m]``, scored by :func:`gravity_scores`.
    """

    relations = ("out_self",)

    def __init__(self, num_nodes: int, dim: int, num_layers: int) -> None:
        super().__init__()
        self.embedding = nn.Embedding(num_nodes, dim)
        nn.init.normal_(self.embedding.weight, std=0.1)
        self.convs = nn.ModuleList(_GCNLayer(dim, dim) for _ in range(num_layers))

    def forward(
        self, node_ids: Tensor, adjacency: dict[str, Tensor], transposed: dict[str, Tensor] | None = None
    ) -> tuple[Tensor, Tensor]:
        x = single_embedding_layers(self.convs, node_embeddings(self.embedding, node_ids), "out_self", adjacency, transposed)
        z, mass = x[:, :-1], x[:, -1:]  # (n, d-1), (n, 1)
        return torch.cat([z, torch.zeros_like(mass)], 1), torch.cat([z, mass], 1)


ENCODERS: dict[str, type[nn.Module]] = {"dual": DualGNN, "sage": SAGE, "shallow": Shallow, "gravity": GravityGAE}


# ---------------------------------------------------------------- decoders


def dot_scores(source: Tensor, target: Tensor) -> Tensor:
    """All-pairs ``s_u . t_v``: ``(b, d) x (m, d) -> (b, m)``."""
    return source @ target.T


def dot_pair_scores(source: Tensor, target: Tensor) -> Tensor:
    """Row-wise ``s_i . t_i`` over the last axis (broadcasting): ``(..., d) x (..., d) -> (...)``."""
    return (source * target).sum(-1)


def gravity_scores(source: Tensor, target: Tensor, strength: float = 1.0) -> Tensor:
    """All-pairs gravity score ``m_v - strength * log(||z_u - z_v||^2 + eps)`` (Salha et al. 2019, eq. 8)."""
    z_u, z_v, mass = source[:, :-1], target[:, :-1], target[:, -1]
    squared = (z_u.pow(2).sum(1, keepdim=True) + z_v.pow(2).sum(1) - 2 * z_u @ z_v.T).clamp(min=0)  # (b, m)
    return mass - strength * torch.log(squared + 1e-6)


def gravity_pair_scores(source: Tensor, target: Tensor, strength: float = 1.0) -> Tensor:
    """Row-wise gravity score of pairs ``(source[i], target[i])`` (broadcasting over leading axes)."""
    squared = (source[..., :-1] - target[..., :-1]).pow(2).sum(-1)  # (...)
    return target[..., -1] - strength * torch.log(squared + 1e-6)


Decoder = tuple[Callable[[Tensor, Tensor], Tensor], Callable[[Tensor, Tensor], Tensor]]
# encoder name -> (all-pairs scores, row-wise pair scores)
DECODERS: dict[str, Decoder] = {
    "dual": (dot_scores, dot_pair_scores),
    "sage": (dot_scores, dot_pair_scores),
    "shallow": (dot_scores, dot_pair_scores),
    "gravity": (gravity_scores, gravity_pair_scores),
}
