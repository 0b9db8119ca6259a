"""Canonical prepared forms, written by the ``prepare`` stage and read by every technique.

* Directed graphs: ``data/prepared/<name>/graph.npz`` (no pickles) holding ``edge_index``
  ``(2, E)`` int64 with rows (source, target) in the normalised direction convention, plus
  optional node arrays (ids, labels, titles) and CSR node features. Self-loops and duplicate
  edges are removed and counted.
* Tables (event logs, click logs, classification sets): ``data/prepared/<name>/table.parquet``.

Each folder also holds ``meta.json``: counts, the direction convention, and what was dropped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recsys_challenges.errors import DataError
from recsys_challenges.io import write_json

PREPARED_ROOT = Path("data/prepared")
GRAPH_FILE = "graph.npz"
TABLE_FILE = "table.parquet"
META_FILE = "meta.json"


@dataclass
class GraphData:
    """A directed graph: edge ``u -> v`` means ``direction`` (e.g. "u cites v").

    Attributes:
        edge_index: ``(2, E)`` int64, row 0 = source u, row 1 = target v.
        num_nodes: number of nodes ``N`` (ids ``0..N-1``; isolated nodes allowed).
        direction: what an edge means, in words.
        node_ids: ``(N,)`` str, the original id of each node (paper id, ASIN, ...).
        labels: ``(N,)`` int64 class of each node, ``-1`` where unknown.
        label_names: ``(C,)`` str, the name of each class.
        titles: ``(N,)`` str, a human-readable name per node (product title), ``""`` if none.
        features: ``(N, F)`` float32 CSR node features.
        edge_weight: ``(E,)`` float32, e.g. the number of customers behind a co-purchase edge.
        stats: what the parser dropped or noticed, for ``meta.json``.
    """

    edge_index: np.ndarray
    num_nodes: int
    direction: str
    node_ids: np.ndarray | None = None
    labels: np.ndarray | None = None
    label_names: np.ndarray | None = None
    titles: np.ndarray | None = None
    features: sp.csr_matrix | None = None
    edge_weight: np.ndarray | None = None
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def num_edges(self) -> int:
        return int(self.edge_index.shape[1])


def canonical_edges(
    src: np.ndarray, dst: np.ndarray, num_nodes: int, weight: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray | None, dict[str, int]]:
    """Drop self-loops and duplicate edges, sort by (source, target).

    Duplicate edges' weights are summed. Returns ``(edge_index (2, E), weight (E,) or None, counts)``.
    """
    src = np.asarray(src, dtype=np.int64)
    dst = np.asarray(dst, dtype=np.int64)
    if src.shape != dst.shape or src.ndim != 1:
        raise ValueError(f"source and target arrays differ in shape: {src.shape} vs {dst.shape}")
    if src.size and (min(src.min(), dst.min()) < 0 or max(src.max(), dst.max()) >= num_nodes):
        raise DataError(f"edge endpoint outside 0..{num_nodes - 1}")
    keep = src != dst
    self_loops = int((~keep).sum())
    src, dst = src[keep], dst[keep]
    w = None if weight is None else np.asarray(weight, dtype=np.float32)[keep]
    key = src * num_nodes + dst  # (E,) unique per ordered pair
    unique, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    if w is not None:
        w = np.bincount(inverse, weights=w, minlength=unique.size).astype(np.float32)
    edge_index = np.stack([unique // num_nodes, unique % num_nodes]).astype(np.int64)
    counts = {"self_loops_dropped": self_loops, "duplicate_edges_dropped": int(src.size - unique.size)}
    return edge_index, w, counts


def reciprocity(edge_index: np.ndarray, num_nodes: int) -> float:
    """Fraction of edges ``u -> v`` whose reverse ``v -> u`` is also an edge (1.0 = undirected)."""
    if edge_index.shape[1] == 0:
        return 0.0
    forward = edge_index[0] * num_nodes + edge_index[1]
    backward = edge_index[1] * num_nodes + edge_index[0]
    return float(np.isin(backward, forward).mean())


def save_graph(graph: GraphData, folder: Path, extra_meta: dict[str, Any]) -> dict[str, Any]:
    """Write ``graph.npz`` and ``meta.json`` into ``folder``; return the meta."""
    arrays: dict[str, np.ndarray] = {
        "edge_index": graph.edge_index.astype(np.int64),
        "num_nodes": np.asarray(graph.num_nodes, dtype=np.int64),
    }
    for name in ("node_ids", "labels", "label_names", "titles", "edge_weight"):
        value = getattr(graph, name)
        if value is not None:
            arrays[name] = np.asarray(value)
    if graph.features is not None:
        csr = graph.features.tocsr().astype(np.float32)
        arrays |= {
            "features_data": csr.data,
            "features_indices": csr.indices.astype(np.int64),
            "features_indptr": csr.indptr.astype(np.int64),
            "features_shape": np.asarray(csr.shape, dtype=np.int64),
        }
    for name, value in arrays.items():
        if value.dtype == object:
            raise TypeError(f"graph array {name!r} has dtype object; use fixed-width strings")
    np.savez_compressed(folder / GRAPH_FILE, **arrays)
    meta = extra_meta | {
        "kind": "graph",
        "direction": graph.direction,
        "num_nodes": graph.num_nodes,
        "num_edges": graph.num_edges,
        "reciprocity": round(reciprocity(graph.edge_index, graph.num_nodes), 4),
        "has_features": graph.features is not None,
        "num_features": 0 if graph.features is None else int(graph.features.shape[1]),
        "has_labels": graph.labels is not None,
        "stats": graph.stats,
    }
    write_json(folder / META_FILE, meta)
    return meta


def load_graph(folder: Path | str) -> GraphData:
    """Read a prepared graph folder."""
    folder = Path(folder)
    path = folder / GRAPH_FILE
    if not path.is_file():
        raise DataError(f"{path}: prepared graph not found (run `dvc repro prepare@{folder.name}`)")
    with np.load(path, allow_pickle=False) as npz:
        arrays = {name: npz[name] for name in npz.files}
    meta = read_meta(folder)
    features = None
    if "features_data" in arrays:
        features = sp.csr_matrix(
            (arrays["features_data"], arrays["features_indices"], arrays["features_indptr"]),
            shape=tuple(arrays["features_shape"]),
        )
    return GraphData(
        edge_index=arrays["edge_index"],
        num_nodes=int(arrays["num_nodes"]),
        direction=meta["direction"],
        node_ids=arrays.get("node_ids"),
        labels=arrays.get("labels"),
        label_names=arrays.get("label_names"),
        titles=arrays.get("titles"),
        features=features,
        edge_weight=arrays.get("edge_weight"),
        stats=meta.get("stats", {}),
    )


@dataclass
class TableData:
    """A typed table (event log, click log, classification set) and what its parser noticed."""

    frame: pd.DataFrame
    stats: dict[str, Any] = field(default_factory=dict)


def save_table(table: TableData, folder: Path, extra_meta: dict[str, Any]) -> dict[str, Any]:
    """Write ``table.parquet`` and ``meta.json`` into ``folder``; return the meta."""
    table.frame.to_parquet(folder / TABLE_FILE, index=False)
    meta = extra_meta | {
        "kind": "table",
        "num_rows": int(len(table.frame)),
        "columns": {c: str(t) for c, t in table.frame.dtypes.items()},
        "stats": table.stats,
    }
    write_json(folder / META_FILE, meta)
    return meta


def load_table(folder: Path | str) -> pd.DataFrame:
    """Read a prepared table folder."""
    path = Path(folder) / TABLE_FILE
    if not path.is_file():
        raise DataError(f"{path}: prepared table not found (run `dvc repro prepare@{Path(folder).name}`)")
    return pd.read_parquet(path)


def read_meta(folder: Path | str) -> dict[str, Any]:
    path = Path(folder) / META_FILE
    if not path.is_file():
        raise DataError(f"{path}: not found")
    return json.loads(path.read_text())
