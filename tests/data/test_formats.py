from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from recsys_challenges.data.formats import (
    GraphData,
    TableData,
    canonical_edges,
    load_graph,
    load_table,
    read_meta,
    reciprocity,
    save_graph,
    save_table,
)
from recsys_challenges.errors import DataError


def test_canonical_edges_drops_self_loops_and_sums_duplicate_weights():
    # edges: 0->1 (twice, weights 1 and 2), 1->1 (self-loop), 2->0, 1->0
    edge_index, weight, counts = canonical_edges(
        np.array([0, 1, 2, 0, 1]), np.array([1, 1, 0, 1, 0]), 3, np.array([1.0, 5.0, 1.0, 2.0, 1.0])
    )
    assert edge_index.tolist() == [[0, 1, 2], [1, 0, 0]]
    assert weight.tolist() == [3.0, 1.0, 1.0]
    assert counts == {"self_loops_dropped": 1, "duplicate_edges_dropped": 1}


def test_canonical_edges_rejects_endpoints_outside_the_node_range():
    with pytest.raises(DataError, match="outside 0..2"):
        canonical_edges(np.array([0]), np.array([3]), 3)


def test_reciprocity_by_hand():
    # 0->1, 1->0 reciprocated; 1->2 not: 2 of 3 edges have their reverse
    assert reciprocity(np.array([[0, 1, 1], [1, 0, 2]]), 3) == pytest.approx(2 / 3)


def test_graph_round_trip(tmp_path):
    graph = GraphData(
        edge_index=np.array([[0, 1], [1, 2]]),
        num_nodes=3,
        direction="u cites v",
        node_ids=np.array(["a", "b", "c"]),
        labels=np.array([0, 1, -1]),
        titles=np.array(["A", "", "C"]),
        features=sp.csr_matrix(np.eye(3, 4, dtype=np.float32)),
        edge_weight=np.array([1.0, 2.0], dtype=np.float32),
        stats={"self_loops_dropped": 0},
    )
    meta = save_graph(graph, tmp_path, {"name": "g"})
    loaded = load_graph(tmp_path)
    assert meta["num_edges"] == 2 and read_meta(tmp_path)["name"] == "g"
    assert loaded.edge_index.tolist() == [[0, 1], [1, 2]] and loaded.num_nodes == 3
    assert loaded.node_ids.tolist() == ["a", "b", "c"] and loaded.titles.tolist() == ["A", "", "C"]
    assert (loaded.features.toarray() == np.eye(3, 4)).all()
    assert loaded.edge_weight.tolist() == [1.0, 2.0] and loaded.direction == "u cites v"


def test_table_round_trip_and_missing_output_error(tmp_path):
    frame = pd.DataFrame({"a": [1, 2], "b": pd.array([1, None], dtype="Int64")})
    save_table(TableData(frame, {"rows": 2}), tmp_path, {"name": "t"})
    pd.testing.assert_frame_equal(load_table(tmp_path), frame)
    with pytest.raises(DataError, match="prepared table not found .*prepare@nope"):
        load_table(tmp_path / "nope")
