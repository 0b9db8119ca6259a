"""Degree-adaptive neighbour sampling on a directed graph (BLADE, Virinchi & Saladi, WSDM 2023).

BLADE samples "larger neighbourhoods for low-degree nodes and smaller ones for high-degree
nodes" and biases which neighbours are drawn; its exact formula is not public. This module
implements the rule as swappable pure functions of the degree (:data:`FANOUT_RULES`) and the
neighbour-choice distribution as another swappable function (:data:`CHOICE_WEIGHTS`):

* ``fixed``: ``k(d) = f`` for every node (vanilla GraphSAGE / NeighborLoader).
* ``inverse_power``: ``k(d) = clip(round(c * (1 + d) ** -gamma), k_min, k_max)``, decreasing
  in the degree ``d``, bounded. The scale ``c`` is calibrated per graph
  (:func:`calibrate_scale`) so that the mean number of neighbours actually drawn,
  ``mean_u min(k(d_u), d_u)``, equals that of the fixed rule with fan-out ``f``: the adaptive
  rule moves budget from hubs to sparser nodes at equal mean cost. A power law is the natural
  form on graphs whose degrees follow one; ``gamma`` sets how strongly budget moves.

Two-hop pools (``two_hop``, the adaptive rule's neighbourhoods): a fixed rule can never give a node
more neighbours than its degree, so an inverse-power rule over first-hop lists only trims hubs and
leaves low-degree nodes' neighbourhoods unchanged. With two-hop pools a node with ``k(d) > d`` keeps
all ``d`` first-hop neighbours and draws ``k(d) - d`` more by random walks of length two in the same
relation (``u -> w -> x``, ``w`` and then ``x`` uniform; a walk whose ``w`` has no neighbour of its
own stops at ``w``): low-degree nodes see second-hop context, hubs a uniform subset of their list.
Every node with ``d > 0`` then gets exactly ``k(d)`` neighbours, and :func:`calibrate_scale` matches
that mean to the fixed rule's ``mean min(f, d)``. The exponent ``gamma`` is estimated per graph
(:func:`power_law_exponent`, :func:`tail_exponent`): ``k(d) ~ (1 + d) ** -(alpha - 1)``, the tail
``P(D >= d)`` of the fitted degree power law (BLADE states a power law of the degree distribution,
not its formula: this is a reconstruction).

:func:`expected_adjacency` is the operator a sampled mean aggregation has in expectation (uniform
choice): the full first-hop mean for ``k(d) >= d`` or without pools, and for pooled rows the mix
``(d * first-hop mean + (k - d) * mean walk end) / k``. Validation and test embeddings of every
sampled GNN use it (full-neighbourhood inference) instead of one random sample.

Neighbours are drawn without replacement, uniformly (Floyd's subset algorithm run on all nodes
at once: ``max k`` vectorised steps, no copy of the lists) or with probability proportional to a per-neighbour
weight (``degree``: ``(1 + deg(v)) ** beta``) by the exponential race of Efraimidis & Spirakis
(key ``1 - U ** (1 / w)``, keep the ``k`` smallest: one sort of the candidate edges). Everything
is vectorised over CSR arrays in torch; there is no per-node Python loop.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

# torch warns once per process that sparse CSR is "beta"; the products used here are stable on CPU
warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")


@dataclass(frozen=True)
class CSR:
    """Adjacency lists of one relation: the neighbours of node ``u`` are ``indices[indptr[u]:indptr[u+1]]``."""

    indptr: Tensor  # (N + 1,) int64
    indices: Tensor  # (E,) int64

    @property
    def num_nodes(self) -> int:
        return int(self.indptr.numel() - 1)

    def degree(self) -> Tensor:
        return self.indptr[1:] - self.indptr[:-1]  # (N,)


def csr_from_edges(rows: Tensor, cols: Tensor, num_nodes: int) -> CSR:
    """CSR of the lists ``rows[i] -> cols[i]`` (each row's neighbours sorted by id)."""
    order = torch.argsort(rows * num_nodes + cols)
    counts = torch.bincount(rows, minlength=num_nodes)
    indptr = torch.zeros(num_nodes + 1, dtype=torch.long)
    indptr[1:] = torch.cumsum(counts, 0)
    return CSR(indptr=indptr, indices=cols[order].contiguous())


def _undirected(src: Tensor, dst: Tensor, num_nodes: int) -> CSR:
    keys = torch.unique(torch.cat([src * num_nodes + dst, dst * num_nodes + src]))
    return csr_from_edges(keys // num_nodes, keys % num_nodes, num_nodes)


def _with_self_loops(src: Tensor, dst: Tensor, num_nodes: int) -> CSR:
    nodes = torch.arange(num_nodes)
    return csr_from_edges(torch.cat([src, nodes]), torch.cat([dst, nodes]), num_nodes)


# relation name -> builder from the (source, target) rows of the edges u -> v
RELATIONS: dict[str, Callable[[Tensor, Tensor, int], CSR]] = {
    "out": lambda src, dst, n: csr_from_edges(src, dst, n),  # the targets v of u
    "in": lambda src, dst, n: csr_from_edges(dst, src, n),  # the sources u of v
    "both": _undirected,  # undirected union, reciprocal pairs once (single-embedding baselines)
    "out_self": _with_self_loops,  # out plus a self-loop per node (Gravity-GAE's GCN encoder)
}


def directed_relations(edge_index: Tensor, num_nodes: int, names: tuple[str, ...] = tuple(RELATIONS)) -> dict[str, CSR]:
    """The neighbour relations ``names`` (see :data:`RELATIONS`) of a directed graph ``(2, E)``."""
    return {name: RELATIONS[name](edge_index[0], edge_index[1], num_nodes) for name in names}


# ---------------------------------------------------------------- fan-out rules


def fixed_fanout(degree: Tensor, *, fanout: int, **_: float) -> Tensor:
    """``k(d) = fanout`` for every node. Returns ``(N,)`` int64."""
    return torch.full_like(degree, int(fanout), dtype=torch.long)


def inverse_power_fanout(
    degree: Tensor, *, scale: float, exponent: float, min_fanout: int, max_fanout: int, **_: float
) -> Tensor:
    """``k_u = floor(n(d_u) + o_u)`` with ``n(d) = clip(scale * (1 + d) ** -exponent, min_fanout, max_fanout)``,
    non-increasing in ``d``, and the dither ``o_u = frac(u * (sqrt(5) - 1) / 2)`` (golden-ratio sequence
    over node ids, no randomness): the nodes of one degree get ``floor`` or ``ceil`` of ``n(d)`` so that
    their mean is ``n(d)``, and the realised mean budget moves continuously with ``scale`` (plain
    rounding jumps by the share of degree-1 nodes). Integer ``n(d)`` is kept exactly."""
    raw = (scale * torch.pow(1.0 + degree.double(), -exponent)).clamp(min_fanout, max_fanout)
    dither = torch.frac(torch.arange(degree.numel(), dtype=torch.float64) * GOLDEN)  # (N,) in [0, 1)
    return torch.floor(raw + dither).clamp(min_fanout, max_fanout).long()


GOLDEN = (5**0.5 - 1) / 2


def full_fanout(degree: Tensor, **_: float) -> Tensor:
    """``k(d) = d``: every neighbour, every time (full-batch message passing)."""
    return degree.clone()


# neighbourhood pools a fan-out draws from (see the module docstring)
POOLS = ("first_hop", "two_hop")

FanoutRule = Callable[..., Tensor]
FANOUT_RULES: dict[str, FanoutRule] = {
    "fixed": fixed_fanout,
    "inverse_power": inverse_power_fanout,
    "full": full_fanout,
}


def drawn_counts(fanout: Tensor, degree: Tensor, two_hop: bool = False) -> Tensor:
    """``(N,)`` neighbours each node draws: ``min(k, d)``, or with two-hop pools ``k`` where ``d > 0``."""
    return torch.where(degree > 0, fanout, 0) if two_hop else torch.minimum(fanout, degree)


def realised_budget(fanout: Tensor, degree: Tensor, two_hop: bool = False) -> float:
    """Mean number of neighbours drawn per node, ``mean_u min(k_u, d_u)`` (or ``mean_u k_u [d_u > 0]``
    with two-hop pools)."""
    return float(drawn_counts(fanout, degree, two_hop).double().mean())


def power_law_exponent(degree: Tensor) -> float:
    """Maximum-likelihood exponent ``alpha`` of ``P(d) ~ d ** -alpha`` over the degrees ``d >= 1``
    (Clauset, Shalizi & Newman 2009, eq. 3.7, discrete approximation with ``d_min = 1``):
    ``alpha = 1 + n / sum ln(d / 0.5)``."""
    positive = degree[degree > 0].double()
    return 1.0 + positive.numel() / float(torch.log(positive / 0.5).sum())


def tail_exponent(degree: Tensor, low: float = 0.25, high: float = 2.0) -> float:
    """``gamma = alpha - 1`` (clipped to ``[low, high]``): ``k(d) ~ (1 + d) ** -gamma`` then falls
    as the fitted tail ``P(D >= d) ~ d ** -(alpha - 1)``."""
    return min(high, max(low, power_law_exponent(degree) - 1.0))


def calibrate_scale(
    degree: Tensor,
    target: float,
    exponent: float,
    min_fanout: int,
    max_fanout: int,
    steps: int = 60,
    two_hop: bool = False,
) -> float:
    """Scale ``c`` of :func:`inverse_power_fanout` whose realised budget is closest to ``target``.

    Bisection on ``c`` (the realised budget is non-decreasing in ``c``); returns the upper end so
    the adaptive rule never spends less than ``target`` when the target is reachable.
    """
    def budget(scale: float) -> float:
        fan = inverse_power_fanout(degree, scale=scale, exponent=exponent, min_fanout=min_fanout, max_fanout=max_fanout)
        return realised_budget(fan, degree, two_hop)

    low, high = 0.0, float(max_fanout) * float((1.0 + degree.double().max()) ** exponent) + 1.0
    for _ in range(steps):
        middle = (low + high) / 2
        low, high = (middle, high) if budget(middle) < target else (low, middle)
    return high


# ---------------------------------------------------------------- neighbour choice


def uniform_weights(degree: Tensor, **_: float) -> Tensor | None:
    """Every neighbour equally likely (``None``: no weights needed)."""
    return None


def degree_weights(degree: Tensor, *, exponent: float, **_: float) -> Tensor:
    """Neighbour ``v`` drawn with weight ``(1 + deg(v)) ** exponent`` (> 0 favours hubs, < 0 rare nodes)."""
    return torch.pow(1.0 + degree.double(), exponent)  # (N,)


CHOICE_WEIGHTS: dict[str, Callable[..., Tensor | None]] = {"uniform": uniform_weights, "degree": degree_weights}


# ---------------------------------------------------------------- samplers


def segment_positions(starts: Tensor, lengths: Tensor) -> Tensor:
    """Flat positions ``starts[i] + 0 .. starts[i] + lengths[i] - 1``, segment after segment."""
    first = torch.cumsum(lengths, 0) - lengths  # (n,) where each segment begins in the output
    shift = torch.repeat_interleave(starts - first, lengths)  # (M,)
    return shift.add_(torch.arange(shift.numel()))


def _floyd_offsets(length: Tensor, take: Tensor, generator: torch.Generator) -> Tensor:
    """``(p, max(take))`` offsets: row ``i`` holds ``take[i]`` distinct uniform offsets in
    ``[0, length[i])`` (then ``-1`` padding), by Floyd's algorithm run on all rows at once.

    Floyd (Bentley & Floyd 1987): for ``j = length - take, ..., length - 1`` draw ``t`` uniform in
    ``[0, j]`` and keep ``t``, or ``j`` when ``t`` was already kept; this gives a uniform random
    ``take``-subset with ``take`` draws and no copy of the lists. Step ``s`` updates the rows
    with ``take > s``; rows are visited in decreasing ``take`` so those are a prefix.
    """
    order = torch.argsort(take, descending=True)
    length, take = length.index_select(0, order), take.index_select(0, order)
    steps = int(take[0]) if take.numel() else 0
    chosen = torch.full((take.numel(), steps), -1, dtype=torch.long)  # (p, k_max)
    active = torch.searchsorted(-take, -torch.arange(steps), right=False).tolist()  # #rows with take > s
    for step, count in enumerate(active):
        last = length[:count] - take[:count] + step  # (count,) j of this step
        draw = (torch.rand(count, generator=generator, dtype=torch.float64) * (last + 1).double()).long()
        seen = (chosen[:count, :step] == draw[:, None]).any(1)  # (count,)
        chosen[:count, step] = torch.where(seen, last, draw)
    return torch.empty_like(chosen).index_copy_(0, order, chosen)  # back to the callers' row order


def _order_by_weight(buffer: Tensor, length: Tensor, weight: Tensor, generator: torch.Generator) -> Tensor:
    """``buffer`` with each segment sorted by the exponential-race key ``1 - U ** (1 / w)``
    (Efraimidis & Spirakis 2006): any prefix is a weighted draw without replacement."""
    segment = torch.repeat_interleave(torch.arange(length.numel()), length).double()  # (M,)
    uniform = torch.rand(buffer.numel(), generator=generator, dtype=torch.float64)
    key = (1.0 - torch.pow(uniform, 1.0 / weight.index_select(0, buffer))).clamp(max=1.0 - 1e-6)
    return buffer.index_select(0, torch.sort(segment + key).indices)  # segment + key keeps segments in place


def sample_neighbours(
    csr: CSR,
    nodes: Tensor,
    fanout: Tensor,
    generator: torch.Generator,
    weight: Tensor | None = None,
    two_hop: bool = False,
) -> tuple[Tensor, Tensor]:
    """Draw ``min(fanout[u], deg(u))`` distinct neighbours of each ``u`` in ``nodes``, vectorised;
    with ``two_hop``, nodes with ``0 < deg(u) < fanout[u]`` add ``fanout[u] - deg(u)`` random-walk
    ends (:func:`two_hop_walks`) after their first-hop list.

    Args:
        csr: the relation to sample from.
        nodes: ``(n,)`` node ids.
        fanout: ``(N,)`` fan-out of every node of the graph.
        generator: seeded torch generator (the draw is reproducible).
        weight: ``(N,)`` positive choice weight per neighbour id, or ``None`` for uniform.
        two_hop: fill neighbourhoods smaller than the fan-out from the second hop.

    Returns:
        ``counts`` ``(n,)``: how many neighbours each node got, and ``neighbours`` ``(counts.sum(),)``
        grouped node by node in the order of ``nodes``.
    """
    start = csr.indptr.index_select(0, nodes)  # (n,)
    degree = csr.indptr.index_select(0, nodes + 1) - start  # (n,)
    counts = torch.minimum(fanout.index_select(0, nodes), degree)  # (n,)
    out_first = torch.cumsum(counts, 0) - counts  # (n,)
    neighbours = torch.empty(int(counts.sum()), dtype=torch.long)

    every = torch.nonzero(counts == degree).squeeze(1)  # nodes that keep all their neighbours
    every_counts = counts.index_select(0, every)
    neighbours.index_copy_(
        0,
        segment_positions(out_first.index_select(0, every), every_counts),
        csr.indices.index_select(0, segment_positions(start.index_select(0, every), every_counts)),
    )
    partial = torch.nonzero(counts < degree).squeeze(1)  # (p,)
    length, take = degree.index_select(0, partial), counts.index_select(0, partial)
    slots = segment_positions(out_first.index_select(0, partial), take)  # output slots, node by node
    if weight is None:
        offsets = _floyd_offsets(length, take, generator)  # (p, max take)
        offsets = offsets[offsets >= 0]  # row-major: node by node, take[i] each
        drawn = csr.indices.index_select(0, torch.repeat_interleave(start.index_select(0, partial), take) + offsets)
    else:
        buffer = csr.indices.index_select(0, segment_positions(start.index_select(0, partial), length))  # their lists
        buffer = _order_by_weight(buffer, length, weight, generator)
        drawn = buffer.index_select(0, segment_positions(torch.cumsum(length, 0) - length, take))
    neighbours.index_copy_(0, slots, drawn)
    if not two_hop:
        return counts, neighbours
    extra = torch.where(degree > 0, fanout.index_select(0, nodes) - degree, 0).clamp(min=0)  # (n,)
    walkers = torch.repeat_interleave(torch.arange(nodes.numel()), extra)  # (m,) position in `nodes`
    ends = two_hop_walks(csr, nodes.index_select(0, walkers), generator)  # (m,) node by node
    total = counts + extra  # (n,)
    first = torch.cumsum(total, 0) - total  # (n,) where each node's list begins
    merged = torch.empty(neighbours.numel() + ends.numel(), dtype=torch.long)  # node by node: first-hop list, then walk ends
    merged.index_copy_(0, segment_positions(first, counts), neighbours)
    merged.index_copy_(0, segment_positions(first + counts, extra), ends)
    return total, merged


def two_hop_walks(csr: CSR, starts: Tensor, generator: torch.Generator) -> Tensor:
    """``(m,)`` ends of one random walk ``u -> w -> x`` per entry of ``starts`` (every start has a
    neighbour): ``w`` uniform in ``u``'s list, ``x`` uniform in ``w``'s, or ``w`` when its list is empty."""
    first = csr.indptr.index_select(0, starts)  # (m,)
    length = csr.indptr.index_select(0, starts + 1) - first  # (m,) >= 1
    uniform = torch.rand(2, starts.numel(), generator=generator, dtype=torch.float64)  # (2, m)
    middle = csr.indices.index_select(0, first + (uniform[0] * length.double()).long())  # (m,)
    first = csr.indptr.index_select(0, middle)
    length = csr.indptr.index_select(0, middle + 1) - first  # (m,) may be 0
    position = (first + (uniform[1] * length.double()).long()).clamp(max=max(csr.indices.numel() - 1, 0))
    return torch.where(length > 0, csr.indices.index_select(0, position), middle)


def transpose_csr(matrix: Tensor) -> Tensor:
    """Transpose of a sparse CSR matrix, again in CSR (one stable argsort of the column ids)."""
    crow, col, values = matrix.crow_indices(), matrix.col_indices(), matrix.values()
    rows = torch.repeat_interleave(torch.arange(matrix.shape[0]), crow[1:] - crow[:-1])  # (nnz,)
    # int32 keys sort ~2x faster than int64 ones, and the stable order is the same
    order = torch.argsort(col.int() if matrix.shape[1] <= torch.iinfo(torch.int32).max else col, stable=True)
    tcrow = torch.zeros(matrix.shape[1] + 1, dtype=torch.long)
    tcrow[1:] = torch.cumsum(torch.bincount(col, minlength=matrix.shape[1]), 0)
    return torch.sparse_csr_tensor(
        tcrow,
        rows.index_select(0, order),
        values.index_select(0, order),
        (matrix.shape[1], matrix.shape[0]),
        check_invariants=False,
    )


@dataclass(frozen=True)
class Relation:
    """One relation to sample in a subgraph: its CSR, per-node fan-outs and choice weights."""

    csr: CSR
    fanout: Tensor  # (N,) int64
    weight: Tensor | None = None  # (N,) float64 or None (uniform)
    two_hop: bool = False  # fill lists shorter than the fan-out with two-hop random-walk ends


@dataclass(frozen=True)
class SampledGraph:
    """A sampled subgraph on local ids ``0..n-1``; the seeds come first.

    ``adjacency[name]`` is an ``(n, n)`` sparse CSR matrix whose row ``i`` holds ``1 / k_i`` at
    the ``k_i`` sampled neighbours of local node ``i`` (rows of the outermost hop are empty), so
    ``adjacency[name] @ x`` is the mean of the sampled neighbours' rows of ``x`` (PyG's ``adj_t``
    convention: rows receive, columns send). ``transposed[name]`` is its transpose in CSR (for
    the backward pass; empty when not asked for).
    """

    node_ids: Tensor  # (n,) global ids
    num_seeds: int
    adjacency: dict[str, Tensor]
    transposed: dict[str, Tensor]

    @property
    def num_sampled_edges(self) -> int:
        return sum(int(a.values().numel()) for a in self.adjacency.values())


def mean_csr(row_counts: Tensor, cols: Tensor, size: int) -> Tensor:
    """Row-normalised ``(size, size)`` sparse CSR: row ``i`` (in order) holds ``1 / row_counts[i]`` at its columns."""
    crow = torch.zeros(size + 1, dtype=torch.long)
    crow[1 : row_counts.numel() + 1] = torch.cumsum(row_counts, 0)
    crow[row_counts.numel() + 1 :] = crow[row_counts.numel()]
    values = torch.repeat_interleave(1.0 / row_counts.clamp(min=1).float(), row_counts)  # (nnz,)
    return torch.sparse_csr_tensor(crow, cols, values, (size, size), check_invariants=False)


def expected_adjacency(relation: Relation) -> Tensor:
    """``(N, N)`` sparse CSR operator of full-neighbourhood inference for one relation (rows receive).

    Row ``u`` is the expectation of the sampled mean aggregation under uniform choice: ``1 / d_u``
    on each first-hop neighbour when no walks are drawn (a uniform subset's mean is unbiased for
    the full mean); with ``m_u = k_u - d_u > 0`` two-hop walk ends it is
    ``(d_u * mean_{w in N(u)} x_w + m_u * mean_{w in N(u)} end(w)) / k_u``, where ``end(w)`` is the mean
    of ``w``'s list (or ``w`` itself when that list is empty). With ``degree`` choice weights it is
    the plain full first-hop mean (not the expectation of a biased draw).
    """
    csr = relation.csr
    num_nodes, degree = csr.num_nodes, csr.degree()
    rows = torch.repeat_interleave(torch.arange(num_nodes), degree)  # (E,)
    cols = csr.indices  # (E,)
    extra = torch.zeros_like(degree)
    if relation.two_hop and relation.weight is None:
        extra = torch.where(degree > 0, relation.fanout - degree, 0).clamp(min=0)  # (N,) walks per node
    total = (degree + extra).double().clamp(min=1)  # (N,)
    walk_per_start = extra.double() / total / degree.double().clamp(min=1)  # (N,) m / (k d): weight of each w's end
    col_degree = degree.index_select(0, cols)  # (E,) d_w
    first_values = 1.0 / total.index_select(0, rows) + walk_per_start.index_select(0, rows) * (col_degree == 0)
    walked = torch.nonzero((extra.index_select(0, rows) > 0) & (col_degree > 0)).squeeze(1)  # (p,) edges u -> w
    middle, length = cols.index_select(0, walked), col_degree.index_select(0, walked)  # (p,)
    second_rows = torch.repeat_interleave(rows.index_select(0, walked), length)  # (q,)
    second_cols = csr.indices.index_select(0, segment_positions(csr.indptr.index_select(0, middle), length))
    second_values = torch.repeat_interleave(walk_per_start.index_select(0, rows.index_select(0, walked)) / length, length)
    matrix = torch.sparse_coo_tensor(
        torch.stack([torch.cat([rows, second_rows]), torch.cat([cols, second_cols])]),
        torch.cat([first_values, second_values]).float(),
        (num_nodes, num_nodes),
        check_invariants=False,
    ).coalesce()  # duplicates (a node reached at both hops or by two walks) summed
    return matrix.to_sparse_csr()


def full_neighbourhood(relations: dict[str, Relation], num_nodes: int) -> SampledGraph:
    """Every node with :func:`expected_adjacency` in every relation (inference, no sampling)."""
    adjacency = {name: expected_adjacency(relation) for name, relation in relations.items()}
    return SampledGraph(torch.arange(num_nodes), num_nodes, adjacency, {})


def neighbourhood_differs(relation: Relation, fixed_fanout: Tensor) -> Tensor:
    """``(N,)`` bool: the node's draw under ``relation`` differs in distribution from the fixed rule's
    uniform first-hop draw of ``fixed_fanout`` (another count, or walk ends in its pool)."""
    degree = relation.csr.degree()
    return drawn_counts(relation.fanout, degree, relation.two_hop) != drawn_counts(fixed_fanout, degree)


def sample_subgraph(
    relations: dict[str, Relation],
    seeds: Tensor,
    num_hops: int,
    generator: torch.Generator,
    transposes: bool = False,
) -> SampledGraph:
    """Sample the ``num_hops``-hop neighbourhood of ``seeds`` (unique ids) in every relation.

    As PyG's NeighborLoader (non-disjoint): each node draws its neighbours once, in every
    relation, the first time it is reached; the neighbours it draws join the next hop.
    ``transposes``: also build each adjacency's transpose (training needs it for the backward).
    """
    if not relations:  # an encoder without message passing needs only the seeds
        return SampledGraph(seeds, int(seeds.numel()), {}, {})
    num_nodes = next(iter(relations.values())).csr.num_nodes
    local = torch.full((num_nodes,), -1, dtype=torch.long)
    local[seeds] = torch.arange(seeds.numel())
    node_ids = [seeds]
    frontier, total = seeds, seeds.numel()
    counts: dict[str, list[Tensor]] = {name: [] for name in relations}
    drawn: dict[str, list[Tensor]] = {name: [] for name in relations}
    for _ in range(num_hops):
        reached = []
        for name, relation in relations.items():
            count, neighbours = sample_neighbours(
                relation.csr, frontier, relation.fanout, generator, relation.weight, relation.two_hop
            )
            counts[name].append(count)
            drawn[name].append(neighbours)
            reached.append(neighbours)
        if total == num_nodes:  # every node already reached: no new hop
            break
        candidates = torch.unique(torch.cat(reached))
        frontier = candidates[local[candidates] < 0]
        if frontier.numel() == 0:
            break
        local[frontier] = torch.arange(total, total + frontier.numel())
        node_ids.append(frontier)
        total += frontier.numel()
    adjacency = {
        name: mean_csr(torch.cat(counts[name]), local[torch.cat(drawn[name])], total) for name in relations
    }
    transposed = {name: transpose_csr(matrix) for name, matrix in adjacency.items()} if transposes else {}
    return SampledGraph(torch.cat(node_ids), int(seeds.numel()), adjacency, transposed)
