"""Parsers for the Amazon product graphs (SOURCES.md section 2).

Three kinds of directed product edge:

* SNAP amazon0302: ``u -> v`` = "customers who bought u also bought v" (the SNAP file's order).
* McAuley metadata ``also_bought``: ``u -> v`` when v is listed in u's ``also_bought``; nodes are
  the complete product records, edges are kept when both ends are records.
* Review sequences, the talk's own kind of edge: ``u -> v`` when the same customer reviewed
  (bought) u strictly before v (same-day reviews give no order and no edge). ``edge_weight``
  counts the customers behind the edge.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import numpy as np
import pandas as pd

from recsys_challenges.data.formats import GraphData, canonical_edges
from recsys_challenges.data.readers import ReadReport, iter_lines
from recsys_challenges.data.schema import read_csv, require_columns, require_integer, require_rows
from recsys_challenges.errors import DataError

ALSO_BOUGHT = "customers who bought u also bought v"
BOUGHT_BEFORE = "a customer reviewed (bought) u strictly before v"


def _find(raw: Path, pattern: str) -> Path:
    matches = sorted(raw.glob(pattern))
    if len(matches) != 1:
        raise DataError(f"{raw}: expected one file matching {pattern!r}, found {[m.name for m in matches]}")
    return matches[0]


def snap_amazon(raw: Path) -> GraphData:
    """SNAP amazon0302 (head copy ``Amazon0302.txt`` or full ``amazon0302.txt.gz``): ``from\\tto`` lines.

    Node ids are remapped to ``0..N-1`` in increasing SNAP id; ``node_ids`` keeps the SNAP id.
    """
    path = _find(raw, "[Aa]mazon0302.txt*")
    frame = read_csv(path, path, sep="\t", comment="#", header=None, names=["src", "dst"], dtype=str)
    frame = require_integer(frame, ["src", "dst"], path)
    require_rows(len(frame), 1, path, "edges")
    ids, inverse = np.unique(np.concatenate([frame["src"], frame["dst"]]), return_inverse=True)
    n = len(frame)
    edge_index, _, stats = canonical_edges(inverse[:n], inverse[n:], ids.size)
    return GraphData(edge_index, ids.size, ALSO_BOUGHT, node_ids=ids.astype(str), stats=stats)


def _read_records(path: Path, parse) -> tuple[list[dict], dict[str, object]]:
    """Records of a one-record-per-line gzip file; a cut last line is dropped and counted."""
    report = ReadReport()
    records = []
    for number, line in enumerate(iter_lines(path, report), start=1):
        if not line.strip():
            continue
        try:
            records.append(parse(line.decode("utf-8")))
        except (ValueError, SyntaxError) as error:
            raise DataError(f"{path}: line {number} is not a valid record: {error}") from None
    if report.partial_line:
        print(f"{path.name}: kept {len(records)} complete records, dropped a cut last record "
              f"({len(report.partial_line)} bytes)")
    return records, report.as_stats() | {"records_kept": len(records)}


def metadata_also_bought(raw: Path) -> GraphData:
    """McAuley product metadata (``meta_*.json.gz``, one Python dict literal per line).

    Nodes: every complete record, with its title. Edges: ``asin -> a`` for ``a`` in
    ``related.also_bought`` when ``a`` also has a record.
    """
    path = _find(raw, "meta_*.json.gz")
    records, stats = _read_records(path, ast.literal_eval)
    require_rows(len(records), 1, path, "product records")
    asins = np.array([r["asin"] for r in records])
    index = {asin: i for i, asin in enumerate(asins)}
    src, dst, listed = [], [], 0
    for i, record in enumerate(records):
        for other in record.get("related", {}).get("also_bought", []):
            listed += 1
            if other in index:
                src.append(i)
                dst.append(index[other])
    edge_index, _, counts = canonical_edges(np.array(src), np.array(dst), len(records))
    titles = np.array([r.get("title", "") for r in records])
    stats |= counts | {"also_bought_listed": listed, "also_bought_outside_records": listed - len(src)}
    return GraphData(edge_index, len(records), ALSO_BOUGHT, node_ids=asins, titles=titles, stats=stats)


def review_sequence_graph(reviews: pd.DataFrame) -> GraphData:
    """Items as nodes; ``u -> v`` weighted by the customers who reviewed u strictly before v.

    ``reviews`` has columns ``user``, ``item`` (str) and ``time`` (int, day resolution).
    """
    items, item_index = np.unique(reviews["item"].to_numpy(), return_inverse=True)
    frame = pd.DataFrame({"user": reviews["user"].to_numpy(), "item": item_index, "time": reviews["time"].to_numpy()})
    pairs = frame.merge(frame, on="user", suffixes=("_u", "_v"))  # all same-customer pairs
    pairs = pairs[pairs["time_u"] < pairs["time_v"]]
    edge_index, weight, stats = canonical_edges(
        pairs["item_u"].to_numpy(), pairs["item_v"].to_numpy(), items.size, np.ones(len(pairs))
    )
    stats |= {"reviews": len(frame), "customers": int(frame["user"].nunique()), "ordered_pairs": len(pairs)}
    return GraphData(edge_index, items.size, BOUGHT_BEFORE, node_ids=items.astype(str), edge_weight=weight, stats=stats)


def reviews_json(raw: Path) -> GraphData:
    """McAuley 5-core reviews (``reviews_*_5.json.gz``, strict JSON per line) as a review-sequence graph."""
    path = _find(raw, "reviews_*_5.json.gz")
    records, stats = _read_records(path, json.loads)
    frame = pd.DataFrame(records)
    require_columns(frame, ["reviewerID", "asin", "unixReviewTime"], path)
    frame = require_integer(frame, ["unixReviewTime"], path)
    graph = review_sequence_graph(
        frame.rename(columns={"reviewerID": "user", "asin": "item", "unixReviewTime": "time"})
    )
    graph.stats |= stats
    return graph


def reviews_csv(raw: Path) -> GraphData:
    """Kaggle CSV of McAuley 5-core reviews (RFC-4180 quoting) as a review-sequence graph."""
    path = _find(raw, "*.csv")
    frame = read_csv(path, path, dtype=str, keep_default_na=False, encoding="utf-8")
    require_columns(frame, ["reviewerID", "asin", "unixReviewTime"], path)
    frame = require_integer(frame, ["unixReviewTime"], path)
    return review_sequence_graph(
        frame.rename(columns={"reviewerID": "user", "asin": "item", "unixReviewTime": "time"})
    )
