"""Parsers for the directed citation graphs (SOURCES.md section 1).

Every parser returns edges in one convention: ``u -> v`` means **paper u cites paper v**.
The files disagree, so each parser states how it maps its storage onto that convention.
"""

from __future__ import annotations

import gzip
import json
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recsys_challenges.data.formats import GraphData, canonical_edges
from recsys_challenges.data.schema import read_csv, require_columns, require_integer
from recsys_challenges.errors import DataError

CITES = "u cites v"


def _csr(npz: np.lib.npyio.NpzFile, prefix: str, sep: str, path: Path) -> sp.csr_matrix:
    try:
        return sp.csr_matrix(
            (npz[f"{prefix}{sep}data"], npz[f"{prefix}{sep}indices"], npz[f"{prefix}{sep}indptr"]),
            shape=tuple(npz[f"{prefix}{sep}shape"]),
        )
    except KeyError as error:
        raise DataError(f"{path}: missing array {error} (found: {', '.join(npz.files)})") from None


def _graph_from_adjacency(adj: sp.csr_matrix, transpose: bool, **fields) -> GraphData:
    coo = adj.tocoo()
    src, dst = (coo.col, coo.row) if transpose else (coo.row, coo.col)
    edge_index, _, stats = canonical_edges(src, dst, adj.shape[0])
    return GraphData(edge_index=edge_index, num_nodes=adj.shape[0], direction=CITES, stats=stats, **fields)


def cora_ml(raw: Path) -> GraphData:
    """Cora-ML (Bojchevski & Guennemann 2018): ``A[i, j] = 1`` means i cites j, kept as is."""
    path = raw / "cora_ml.npz"
    # allow_pickle: the file stores two unused object arrays; fetch verified its SHA-256 first.
    with np.load(path, allow_pickle=True) as npz:
        adj = _csr(npz, "adj_matrix", ".", path)
        features = _csr(npz, "attr_matrix", ".", path)
        return _graph_from_adjacency(
            adj,
            transpose=False,
            node_ids=np.char.strip(npz["node_names"].astype(str)),
            labels=npz["labels"].astype(np.int64),
            label_names=npz["class_names"].astype(str),
            features=features,
        )


def nettack(raw: Path, name: str) -> GraphData:
    """LINQS Cora/CiteSeer as packed by Nettack: row = cited, column = citing, so transposed."""
    path = raw / f"{name}.npz"
    with np.load(path, allow_pickle=True) as npz:
        adj = _csr(npz, "adj", "_", path)
        features = _csr(npz, "attr", "_", path)
        idx_to_node = npz["idx_to_node"].item()
        idx_to_class = npz["idx_to_class"].item()
        labels = npz["labels"].astype(np.int64)
    return _graph_from_adjacency(
        adj,
        transpose=True,
        node_ids=np.array([str(idx_to_node[i]) for i in range(adj.shape[0])]),
        labels=labels,
        label_names=np.array([str(idx_to_class[c]) for c in range(len(idx_to_class))]),
        features=features,
    )


def cora_cites(raw: Path) -> GraphData:
    """LINQS ``cora.cites``: lines ``<cited>\\t<citing>``, so the edge is citing -> cited."""
    path = raw / "cora.cites"
    frame = read_csv(path, path, sep="\t", header=None, names=["cited", "citing"], dtype=str)
    frame = require_integer(frame, ["cited", "citing"], path)
    ids, inverse = np.unique(np.concatenate([frame["citing"], frame["cited"]]), return_inverse=True)
    n = len(frame)
    edge_index, _, stats = canonical_edges(inverse[:n], inverse[n:], ids.size)
    return GraphData(edge_index, ids.size, CITES, node_ids=ids.astype(str), stats=stats)


def _labels_from_json(path: Path, num_nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """A ``{"node id": label}`` JSON file as (labels (N,) int64 with -1 for unknown, names (C,))."""
    try:
        mapping = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise DataError(f"{path}: not valid JSON: {error}") from None
    names = np.array(sorted({str(v) for v in mapping.values()}))
    index = {name: i for i, name in enumerate(names)}
    labels = np.full(num_nodes, -1, dtype=np.int64)
    for node, value in mapping.items():
        if not node.isdigit() or int(node) >= num_nodes:
            raise DataError(f"{path}: node id {node!r} is not an integer in 0..{num_nodes - 1}")
        labels[int(node)] = index[str(value)]
    return labels, names


def subelj_cora(raw: Path) -> GraphData:
    """KONECT subelj_cora: ``src,dst`` with the left paper citing the right one, kept as is."""
    path = raw / "subelj_cora.csv"
    frame = read_csv(path, path, header=None, names=["src", "dst"], comment="%", dtype=str)
    frame = require_integer(frame, ["src", "dst"], path)
    num_nodes = 23166  # metadata.yml: graph_info.num_nodes
    edge_index, _, stats = canonical_edges(frame["src"].to_numpy(), frame["dst"].to_numpy(), num_nodes)
    labels, names = _labels_from_json(raw / "labels.json", num_nodes)
    return GraphData(edge_index, num_nodes, CITES, labels=labels, label_names=names, stats=stats)


def pubmed(raw: Path) -> GraphData:
    """PubMed-Diabetes (dirswitch copy): ``edge_index`` rows (src, dst), paper -> cited paper."""
    path = raw / "pubmed.npz"
    with np.load(path) as npz:
        num_nodes = int(npz["num_nodes"])
        pairs = npz["edge_index"]
    if pairs.ndim != 2 or pairs.shape[1] != 2:
        raise DataError(f"{path}: edge_index has shape {pairs.shape}, expected (E, 2)")
    edge_index, _, stats = canonical_edges(pairs[:, 0], pairs[:, 1], num_nodes)
    labels, names = _labels_from_json(raw / "labels.json", num_nodes)
    return GraphData(edge_index, num_nodes, CITES, labels=labels, label_names=names, stats=stats)


def snap_cit_hep(raw: Path, name: str) -> GraphData:
    """SNAP cit-HepTh / cit-HepPh as LightGraphs ``.jlg``: header, then 1-based ``src,dst`` (citing -> cited).

    ``arxiv-<name>-ids.csv`` maps node ids to arXiv numbers; its header names the columns in the
    wrong order (column 0 is the arXiv number, column 1 the node id).
    """
    path = raw / f"arxiv-{name}.jlg"
    try:
        with gzip.open(path, "rt") as handle:
            header = handle.readline().strip().split(",")
            if len(header) < 2 or not header[0].isdigit() or not header[1].isdigit():
                raise DataError(f"{path}: expected a header 'N,E,d,graph,...', got {','.join(header)!r}")
            frame = read_csv(handle, path, header=None, names=["src", "dst"], dtype=str)
    except (EOFError, OSError, zlib.error) as error:
        raise DataError(f"{path}: unreadable compressed stream: {error}") from None
    num_nodes, num_edges = int(header[0]), int(header[1])
    if len(frame) != num_edges:
        raise DataError(f"{path}: header announces {num_edges} edges, read {len(frame)}")
    pairs = require_integer(frame, ["src", "dst"], path).to_numpy()
    edge_index, _, stats = canonical_edges(pairs[:, 0] - 1, pairs[:, 1] - 1, num_nodes)
    ids_path = raw / f"arxiv-{name}-ids.csv"
    ids = read_csv(ids_path, ids_path)
    require_columns(ids, ["NODE_ID", "ARTICLE_ID"], ids_path)
    ids = require_integer(ids, ["NODE_ID", "ARTICLE_ID"], ids_path)
    node_ids = np.full(num_nodes, "", dtype=object)
    node_ids[ids["ARTICLE_ID"].to_numpy() - 1] = ids["NODE_ID"].astype(str).str.zfill(7).to_numpy()
    return GraphData(edge_index, num_nodes, CITES, node_ids=node_ids.astype(str), stats=stats)
