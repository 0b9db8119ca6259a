"""Generic parsers for a user's own files (README "Your own data"), one per file layout.

Each is named by ``data.local.<name>.parser`` in params.yaml and reads the file at
``data.local.<name>.path`` with the options of :class:`LocalDataset`; every problem is a
:class:`DataError` naming the file and the column (or npz array) at fault.

Directed graphs (for T1), written as :class:`GraphData` with the stated direction:

* ``edge_list``: CSV/TSV ``source,target[,weight]``, ids of any type (mapped to ``0..N-1`` in
  sorted order, numerically when every id is an integer; the originals are kept as ``node_ids``);
  ``header: false`` for a file without a header row (columns then by position).
* ``edge_index_npz``: an ``.npz`` with ``edge_index`` ``(2, E)`` or ``(E, 2)`` integer node ids
  and ``num_nodes`` (a scalar); optional ``edge_weight`` ``(E,)`` and node ``features`` ``(N, F)``
  (in the same file, so that the one file the stage tracks holds all of the dataset).
* ``sparse_adjacency``: a scipy sparse matrix saved by ``scipy.sparse.save_npz``; ``A[i, j] != 0``
  is the stored edge i -> j, its value the weight.

``direction: forward`` keeps a stored pair (i, j) as the edge i -> j; ``reverse`` turns it into
j -> i (e.g. a file of "cited, citing" pairs when edges should mean "u cites v"). ``meaning`` says
what an edge u -> v means, in words.

Event logs (for T2): ``event_log``, a CSV/parquet ``user, item, event, timestamp[, category]``
(timestamps as integer Unix seconds or dates). ``events`` maps each role to the event names of
the file: ``click`` (the exposure that starts a click), ``conversion``, and the pre-conversion
signals ``cart`` and ``fav``; unmapped events are dropped and counted. The output has the columns
of the Taobao log (``user_id, item_id, category_id, behavior, timestamp``, behavior pv / cart / fav
/ buy), so the T2 builder of ``delayed.conversions`` reads both alike.

Tables (for T3):

* ``labelled_table``: a CSV/parquet of features and a binary ``label`` column (0/1); numeric
  columns are numeric features (no NaN), text columns categorical ones (empty = missing); an
  optional ``group`` column keeps correlated rows in one split. The estimator trains on it.
* ``scored_table``: ``score, uncertainty, label[, group]`` from the user's own model; only the
  decision boundaries are computed (no training).
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import scipy.sparse as sp

from recsys_challenges.config import require
from recsys_challenges.data.formats import GraphData, TableData, canonical_edges
from recsys_challenges.data.schema import (
    read_csv,
    require_columns,
    require_finite,
    require_in,
    require_nullable_number,
    require_present,
    require_rows,
)
from recsys_challenges.data.sources.events import BEHAVIORS  # the Taobao log's categories
from recsys_challenges.errors import DataError

ROLES = {"click": "pv", "conversion": "buy", "cart": "cart", "fav": "fav"}  # role in params -> behavior
EVENT_COLUMNS = ["user", "item", "event", "timestamp"]


@dataclass(frozen=True)
class LocalDataset:
    """``data.local.<name>`` in params.yaml: a dataset read from a local file (no URL, no catalog).

    ``path`` is the file, relative to the project root or absolute; its SHA-256 is recorded at
    first use and verified after (``prepare-local``). The other keys are the parser's options
    (module docstring); a key that does not apply to the parser is an error.
    """

    path: str
    parser: str
    direction: Literal["forward", "reverse"] | None = None
    meaning: str | None = None
    header: bool = True
    delimiter: str | None = None
    events: dict[str, list[str]] | None = None
    label: str = "label"

    def __post_init__(self) -> None:
        require(self.parser in FILE_PARSERS, f"unknown parser {self.parser!r} (known: {', '.join(FILE_PARSERS)})")
        graph = self.parser in GRAPH_PARSERS
        require(graph == (self.direction is not None),
                "direction (forward | reverse) is required for a graph parser and only there")
        require(graph or self.meaning is None, "meaning applies to graph parsers only")
        require(self.header or self.parser == "edge_list", "header: false applies to edge_list only")
        require((self.events is not None) == (self.parser == "event_log"),
                "events (role -> event names) is required for event_log and only there")
        if self.events is not None:
            unknown = sorted(set(self.events) - set(ROLES))
            require(not unknown, f"events: unknown role(s) {unknown} (known: {', '.join(ROLES)})")
            require("click" in self.events and "conversion" in self.events, "events: needs 'click' and 'conversion'")
            names = [n for names in self.events.values() for n in names]
            require(len(names) == len(set(names)), f"events: an event name is mapped to two roles: {names}")
        require(self.label == "label" or self.parser == "labelled_table", "label applies to labelled_table only")


def read_frame(path: Path, delimiter: str | None, **kwargs) -> pd.DataFrame:
    """A CSV/TSV (separator: ``delimiter``, else tab for ``.tsv``/``.tab``, comma otherwise) or parquet file."""
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    if path.suffix in (".parquet", ".pq"):
        try:
            return pd.read_parquet(path)
        except (pa.ArrowException, OSError) as error:
            raise DataError(f"{path}: not a valid parquet file: {error}") from None
    sep = delimiter or ("\t" if path.suffix in (".tsv", ".tab") else ",")
    return read_csv(path, path, sep=sep, **kwargs)


def _load_npz(path: Path) -> dict[str, np.ndarray]:
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    try:
        with np.load(path, allow_pickle=False) as npz:
            return {name: npz[name] for name in npz.files}
    except (OSError, ValueError, zipfile.BadZipFile) as error:
        raise DataError(f"{path}: not a readable npz file: {error}") from None


def _integer_array(values: np.ndarray, name: str, path: Path) -> np.ndarray:
    """``values`` as int64, naming the first NaN or fractional entry of npz array ``name``."""
    if np.issubdtype(values.dtype, np.integer):
        return values.astype(np.int64)
    if not np.issubdtype(values.dtype, np.floating):
        raise DataError(f"{path}: array {name!r} has dtype {values.dtype}, expected integers")
    bad = ~np.isfinite(values) | (values != np.floor(values))
    if bad.any():
        first = np.unravel_index(int(np.flatnonzero(bad)[0]), values.shape)
        raise DataError(f"{path}: array {name!r} has {int(bad.sum())} NaN or non-integer value(s), "
                        f"first at index {tuple(int(i) for i in first)}: {values[first]!r}")
    return values.astype(np.int64)


def _graph(path: Path, pairs: tuple[np.ndarray, np.ndarray], num_nodes: int, spec: LocalDataset, what: str,
           weight: np.ndarray | None = None, node_ids: np.ndarray | None = None,
           features: sp.csr_matrix | None = None) -> GraphData:
    """The stored pairs ``(i, j)`` (``(E,)`` each) as a graph in the stated direction; an empty graph
    or one of self-loops only is an error naming ``what`` (the columns or array of the pairs)."""
    src, dst = pairs if spec.direction == "forward" else pairs[::-1]
    if src.size == 0:
        raise DataError(f"{path}: {what}: no edges (empty graph)")
    edge_index, edge_weight, stats = canonical_edges(src, dst, num_nodes, weight)
    if edge_index.shape[1] == 0:
        raise DataError(f"{path}: {what}: all {src.size} edges are self-loops; no edge is left")
    meaning = spec.meaning or "u -> v"
    return GraphData(edge_index, num_nodes, meaning, node_ids=node_ids, features=features,
                     edge_weight=edge_weight, stats=stats | {"direction_flag": spec.direction})


def _features(values: np.ndarray, num_nodes: int, path: Path) -> sp.csr_matrix:
    """npz array ``features``: ``(N, F)`` finite numbers, one row per node."""
    if values.ndim != 2 or values.shape[0] != num_nodes or not np.issubdtype(values.dtype, np.number):
        raise DataError(f"{path}: array 'features' has shape {values.shape} and dtype {values.dtype}, "
                        f"expected ({num_nodes}, F) numbers")
    if not np.isfinite(values).all():
        raise DataError(f"{path}: array 'features' has {int((~np.isfinite(values)).sum())} NaN or infinite values")
    return sp.csr_matrix(values.astype(np.float32))


def edge_list(path: Path, spec: LocalDataset) -> GraphData:
    """CSV/TSV ``source,target[,weight]`` with ids of any type (module docstring)."""
    frame = read_frame(path, spec.delimiter, dtype=str, keep_default_na=False, header=0 if spec.header else None)
    if not spec.header:
        if frame.shape[1] not in (2, 3):
            raise DataError(f"{path}: {frame.shape[1]} columns, expected 2 or 3 (source, target[, weight])")
        frame.columns = ["source", "target", "weight"][: frame.shape[1]]
    require_columns(frame, ["source", "target"], path)
    require_present(frame, ["source", "target"], path)
    weight = None
    if "weight" in frame.columns:
        frame = require_nullable_number(frame, ["weight"], path, integer=False)
        require_finite(frame, ["weight"], path)
        weight = frame["weight"].to_numpy(np.float32)
    labels = pd.concat([frame["source"], frame["target"]], ignore_index=True).str.strip()
    numbers = pd.to_numeric(labels, errors="coerce")
    if numbers.notna().all() and (numbers == np.floor(numbers)).all():  # integer ids: numeric order
        ids, inverse = np.unique(numbers.to_numpy(np.int64), return_inverse=True)
    else:
        ids, inverse = np.unique(labels.to_numpy(dtype=str), return_inverse=True)
    n = len(frame)
    return _graph(path, (inverse[:n], inverse[n:]), ids.size, spec, "columns 'source', 'target'", weight,
                  node_ids=ids.astype(str))


def edge_index_npz(path: Path, spec: LocalDataset) -> GraphData:
    """An npz with ``edge_index`` ``(2, E)`` or ``(E, 2)`` and ``num_nodes`` (module docstring)."""
    arrays = _load_npz(path)
    for name in ("edge_index", "num_nodes"):
        if name not in arrays:
            raise DataError(f"{path}: missing array {name!r} (found: {', '.join(arrays) or 'none'})")
    edges = _integer_array(arrays["edge_index"], "edge_index", path)
    if edges.ndim != 2 or 2 not in edges.shape:
        raise DataError(f"{path}: array 'edge_index' has shape {edges.shape}, expected (2, E) or (E, 2)")
    pairs = edges if edges.shape[0] == 2 else edges.T  # (2, E); a (2, 2) array is read as (2, E)
    if arrays["num_nodes"].size != 1:
        raise DataError(f"{path}: array 'num_nodes' must be a single integer, got shape {arrays['num_nodes'].shape}")
    num_nodes = int(_integer_array(arrays["num_nodes"].reshape(()), "num_nodes", path))
    if num_nodes < 1:
        raise DataError(f"{path}: array 'num_nodes' is {num_nodes}, expected >= 1")
    outside = (pairs < 0) | (pairs >= num_nodes)
    if outside.any():
        edge = int(np.flatnonzero(outside.any(axis=0))[0])
        raise DataError(f"{path}: array 'edge_index' has {int(outside.any(axis=0).sum())} edge(s) with a node id "
                        f"outside 0..{num_nodes - 1} (num_nodes), first edge {edge}: {pairs[:, edge].tolist()}")
    weight = None
    if "edge_weight" in arrays:
        weight = arrays["edge_weight"].astype(np.float64)
        if weight.shape != (pairs.shape[1],) or not np.isfinite(weight).all():
            raise DataError(f"{path}: array 'edge_weight' must hold {pairs.shape[1]} finite values, "
                            f"got shape {weight.shape} with {int((~np.isfinite(weight)).sum())} NaN/inf")
    features = _features(arrays["features"], num_nodes, path) if "features" in arrays else None
    return _graph(path, (pairs[0], pairs[1]), num_nodes, spec, "array 'edge_index'", weight, features=features)


def sparse_adjacency(path: Path, spec: LocalDataset) -> GraphData:
    """A scipy sparse adjacency (``save_npz``): ``A[i, j] != 0`` is the stored edge i -> j, weighted by its value."""
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    try:
        adjacency = sp.load_npz(path).tocoo()
    except (OSError, ValueError, zipfile.BadZipFile) as error:
        raise DataError(f"{path}: not a scipy sparse matrix (scipy.sparse.save_npz): {error}") from None
    if adjacency.shape[0] != adjacency.shape[1]:
        raise DataError(f"{path}: adjacency matrix has shape {adjacency.shape}, expected square (N, N)")
    if not np.isfinite(adjacency.data).all():
        raise DataError(f"{path}: adjacency matrix has {int((~np.isfinite(adjacency.data)).sum())} NaN or infinite entries")
    keep = adjacency.data != 0  # explicit zeros are no edge
    weight = adjacency.data[keep].astype(np.float64)
    weight = None if (weight == 1).all() else weight
    return _graph(path, (adjacency.row[keep].astype(np.int64), adjacency.col[keep].astype(np.int64)),
                  adjacency.shape[0], spec, "adjacency entries", weight)


def _timestamps(frame: pd.DataFrame, path: Path) -> np.ndarray:
    """Column ``timestamp`` as int64 Unix seconds: integers as they are, dates (text or datetime) converted."""
    column = frame["timestamp"]
    if pd.api.types.is_datetime64_any_dtype(column):
        parsed = pd.to_datetime(column, utc=True)
    else:
        numbers = pd.to_numeric(column, errors="coerce")
        if numbers.notna().all():
            if (numbers != np.floor(numbers)).any():
                first = int(np.flatnonzero((numbers != np.floor(numbers)).to_numpy())[0])
                raise DataError(f"{path}: column 'timestamp' row {frame.index[first]}: {column.iloc[first]!r} "
                                f"is not whole seconds")
            return numbers.to_numpy(np.int64)
        parsed = pd.to_datetime(column, utc=True, errors="coerce", format="mixed")
        if parsed.isna().any():
            first = int(np.flatnonzero(parsed.isna().to_numpy())[0])
            raise DataError(f"{path}: column 'timestamp' row {frame.index[first]}: {column.iloc[first]!r} "
                            f"is neither Unix seconds nor a date")
    return (parsed - pd.Timestamp(0, tz="UTC")).dt.total_seconds().to_numpy().astype(np.int64)


def _codes(values: pd.Series) -> np.ndarray:
    """Ids of any type -> ``0..K-1`` in sorted order of their text."""
    return np.unique(values.astype(str).to_numpy(), return_inverse=True)[1].astype(np.int64)


def event_log(path: Path, spec: LocalDataset) -> TableData:
    """CSV/parquet ``user, item, event, timestamp[, category]`` -> the Taobao log's columns (module docstring)."""
    frame = read_frame(path, spec.delimiter, dtype=str, keep_default_na=False)
    require_columns(frame, EVENT_COLUMNS, path)
    require_rows(len(frame), 1, path, "events")
    require_present(frame, EVENT_COLUMNS, path)
    timestamps = _timestamps(frame, path)
    behavior_of = {name: ROLES[role] for role, names in spec.events.items() for name in names}
    events = frame["event"].astype(str)
    mapped = events.map(behavior_of)
    if not (mapped == "pv").any():
        raise DataError(f"{path}: column 'event' has no click event {spec.events['click']} "
                        f"(found: {', '.join(sorted(events.unique())[:10])})")
    keep = mapped.notna().to_numpy()
    table = pd.DataFrame({
        "user_id": _codes(frame["user"]),
        "item_id": _codes(frame["item"]),
        "category_id": _codes(frame["category"]) if "category" in frame.columns else np.zeros(len(frame), np.int64),
        "behavior": pd.Categorical(mapped, categories=BEHAVIORS),
        "timestamp": timestamps,
    })[keep].reset_index(drop=True)
    stats = {
        "rows_read": int(len(frame)),
        "unmapped_events_dropped": {str(k): int(v) for k, v in events[~keep].value_counts().sort_index().items()},
        "users": int(table["user_id"].nunique()),
        "items": int(table["item_id"].nunique()),
        "behavior_counts": {b: int(c) for b, c in table["behavior"].value_counts().sort_index().items()},
    }
    return TableData(table, stats)


def _binary_labels(frame: pd.DataFrame, column: str, path: Path) -> pd.Series:
    labels = pd.to_numeric(frame[column], errors="coerce")
    require_in(frame.assign(**{column: labels}), column, [0, 1], path)
    if labels.nunique() < 2:
        raise DataError(f"{path}: column {column!r} holds only {int(labels.iloc[0])}s; both classes are needed")
    return labels.astype(np.int8)


def labelled_table(path: Path, spec: LocalDataset) -> TableData:
    """Features and a binary label (module docstring); output columns ``label``, ``group`` (if any), features."""
    frame = read_frame(path, spec.delimiter)
    require_columns(frame, [spec.label], path)
    require_rows(len(frame), 2, path)
    reserved = {spec.label, "group"}
    features = [c for c in frame.columns if c not in reserved]
    if not features:
        raise DataError(f"{path}: no feature columns besides {spec.label!r}")
    numeric = [c for c in features if pd.api.types.is_numeric_dtype(frame[c])]
    require_finite(frame, numeric, path)
    out = pd.DataFrame({"label": _binary_labels(frame, spec.label, path)})
    if "group" in frame.columns:
        require_present(frame, ["group"], path)
        out["group"] = _codes(frame["group"])
    for column in features:
        out[str(column)] = frame[column].astype(np.float64) if column in numeric else frame[column].astype("string")
    return TableData(out, {"numeric_features": len(numeric), "categorical_features": len(features) - len(numeric)})


def scored_table(path: Path, spec: LocalDataset) -> TableData:
    """``score, uncertainty, label[, group]`` from the user's own model (module docstring)."""
    frame = read_frame(path, spec.delimiter)
    require_columns(frame, ["score", "uncertainty", "label"], path)
    require_rows(len(frame), 2, path)
    for column in ("score", "uncertainty"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce")
    require_finite(frame, ["score", "uncertainty"], path)
    if (frame["uncertainty"] < 0).any():
        first = int(np.flatnonzero((frame["uncertainty"] < 0).to_numpy())[0])
        raise DataError(f"{path}: column 'uncertainty' row {frame.index[first]} is negative")
    out = pd.DataFrame({
        "score": frame["score"].to_numpy(np.float64),
        "uncertainty": frame["uncertainty"].to_numpy(np.float64),
        "label": _binary_labels(frame, "label", path),
    })
    if "group" in frame.columns:
        require_present(frame, ["group"], path)
        out["group"] = _codes(frame["group"])
    return TableData(out, {"positives": int(out["label"].sum())})


GRAPH_PARSERS = ("edge_list", "edge_index_npz", "sparse_adjacency")
# parser name (data.local.<name>.parser) -> (file, options) -> dataset
FILE_PARSERS: dict[str, Callable[[Path, LocalDataset], GraphData | TableData]] = {
    "edge_list": edge_list,
    "edge_index_npz": edge_index_npz,
    "sparse_adjacency": sparse_adjacency,
    "event_log": event_log,
    "labelled_table": labelled_table,
    "scored_table": scored_table,
}
