"""A user's own files (README "Your own data"): the generic parsers, the checksum record, add-dataset.

Every file is written here: an edge list, an ``edge_index`` npz, a scipy sparse adjacency, an
event log and two scored tables; each bad variant must fail with a message naming the file and
the column (or array), and leave no prepared folder behind.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import yaml

from recsys_challenges.config import from_mapping
from recsys_challenges.data.stage import main_add_dataset as add_main
from recsys_challenges.data.formats import load_graph, load_table, read_meta
from recsys_challenges.data.prepare import prepare_local, verify_local_file
from recsys_challenges.data.sources.citation import cora_cites
from recsys_challenges.data.sources.files import LocalDataset
from recsys_challenges.errors import ConfigError, DataError
from tests.conftest import ROOT

# a -> b, b -> c, c -> a, a -> c, d -> a, plus a self-loop and a duplicate
EDGES = "source,target,weight\na,b,1\nb,c,2\nc,a,1\na,c,0.5\nd,a,1\na,a,1\na,b,1\n"


def spec(path: Path, parser: str, **options) -> LocalDataset:
    return from_mapping(LocalDataset, {"path": str(path), "parser": parser} | options, where="test")


def prepared(tmp_path: Path, name: str, dataset: LocalDataset) -> Path:
    out = tmp_path / "prepared" / name
    prepare_local(name, dataset, out, tmp_path / "lock.json")
    return out


def edges_of(folder: Path) -> set[tuple[str, str]]:
    graph = load_graph(folder)
    ids = graph.node_ids if graph.node_ids is not None else np.arange(graph.num_nodes).astype(str)
    return {(ids[u], ids[v]) for u, v in graph.edge_index.T}


# ----------------------------------------------------------------- graphs


def test_edge_list_keeps_the_stated_direction(tmp_path):
    path = tmp_path / "edges.csv"
    path.write_text(EDGES)
    forward = prepared(tmp_path, "fwd", spec(path, "edge_list", direction="forward", meaning="u links to v"))
    assert edges_of(forward) == {("a", "b"), ("b", "c"), ("c", "a"), ("a", "c"), ("d", "a")}
    meta = read_meta(forward)
    assert (meta["data_kind"], meta["num_nodes"], meta["num_edges"], meta["direction"]) == ("user", 4, 5, "u links to v")
    assert meta["stats"] == {"self_loops_dropped": 1, "duplicate_edges_dropped": 1, "direction_flag": "forward"}
    graph = load_graph(forward)
    weight = dict(zip(map(tuple, graph.node_ids[graph.edge_index.T].tolist()), graph.edge_weight.tolist()))
    assert weight[("a", "b")] == 2.0 and weight[("a", "c")] == 0.5  # duplicates summed
    reverse = prepared(tmp_path, "rev", spec(path, "edge_list", direction="reverse"))
    assert edges_of(reverse) == {(v, u) for u, v in edges_of(forward)}


def test_edge_list_without_header_and_integer_ids_in_numeric_order(tmp_path):
    path = tmp_path / "edges.tsv"
    path.write_text("10\t2\n2\t1\n1\t10\n")
    folder = prepared(tmp_path, "tsv", spec(path, "edge_list", direction="forward", header=False))
    graph = load_graph(folder)
    assert graph.node_ids.tolist() == ["1", "2", "10"]
    assert edges_of(folder) == {("10", "2"), ("2", "1"), ("1", "10")}


def test_real_cora_cites_as_an_edge_list_equals_its_bundled_parser(mirror, tmp_path):
    """LINQS ``cora.cites`` (``<cited> TAB <citing>``, no header) read as a user's file with
    ``direction: reverse`` gives exactly the graph of the bundled parser (citing -> cited)."""
    path = mirror / "citation" / "linqs_cora_raw_pygcn" / "cora.cites"
    mine = load_graph(prepared(tmp_path, "cora", spec(path, "edge_list", direction="reverse", header=False,
                                                      delimiter="\t", meaning="u cites v")))
    bundled = cora_cites(path.parent)
    assert np.array_equal(mine.edge_index, bundled.edge_index) and np.array_equal(mine.node_ids, bundled.node_ids)
    assert (mine.num_nodes, mine.num_edges) == (2708, 5429)


def test_edge_index_npz_in_both_layouts_with_features(tmp_path):
    pairs = np.array([[0, 1], [1, 2], [2, 3], [3, 0], [0, 2]])  # (E, 2)
    for layout, edge_index in (("e2", pairs), ("2e", pairs.T)):
        path = tmp_path / f"{layout}.npz"
        np.savez(path, edge_index=edge_index, num_nodes=5, features=np.eye(5, 3))
        folder = prepared(tmp_path, layout, spec(path, "edge_index_npz", direction="forward"))
        graph = load_graph(folder)
        assert graph.num_nodes == 5 and graph.num_edges == 5  # node 4 isolated
        assert {tuple(e) for e in graph.edge_index.T.tolist()} == {tuple(p) for p in pairs.tolist()}
        assert graph.features.shape == (5, 3)


def test_sparse_adjacency_row_to_column(tmp_path):
    adjacency = sp.csr_matrix(np.array([[0, 1, 0], [0, 0, 3], [0, 0, 0]], dtype=np.float32))
    path = tmp_path / "adj.npz"
    sp.save_npz(path, adjacency)
    graph = load_graph(prepared(tmp_path, "adj", spec(path, "sparse_adjacency", direction="forward")))
    assert graph.edge_index.tolist() == [[0, 1], [1, 2]] and graph.edge_weight.tolist() == [1.0, 3.0]
    graph = load_graph(prepared(tmp_path, "adjt", spec(path, "sparse_adjacency", direction="reverse")))
    assert graph.edge_index.tolist() == [[1, 2], [0, 1]]


BAD_GRAPHS = [  # (file name, content writer, parser, the words the error must contain)
    ("missing.csv", lambda p: p.write_text("source,dst\na,b\n"), "edge_list", ["missing.csv", "'target'"]),
    ("blank.csv", lambda p: p.write_text("source,target\na,\n"), "edge_list", ["blank.csv", "'target'", "missing"]),
    ("nan.csv", lambda p: p.write_text("source,target,weight\na,b,nan\n"), "edge_list", ["nan.csv", "'weight'"]),
    ("empty.csv", lambda p: p.write_text("source,target\n"), "edge_list", ["empty.csv", "no edges"]),
    ("loops.csv", lambda p: p.write_text("source,target\na,a\nb,b\n"), "edge_list", ["loops.csv", "self-loops"]),
    ("range.npz", lambda p: np.savez(p, edge_index=np.array([[0, 1], [1, 5]]), num_nodes=3), "edge_index_npz",
     ["range.npz", "'edge_index'", "outside 0..2"]),
    ("nan.npz", lambda p: np.savez(p, edge_index=np.array([[0.0, 1.0], [1.0, np.nan]]), num_nodes=3),
     "edge_index_npz", ["nan.npz", "'edge_index'", "NaN"]),
    ("nonum.npz", lambda p: np.savez(p, edge_index=np.array([[0, 1], [1, 2]])), "edge_index_npz",
     ["nonum.npz", "'num_nodes'"]),
    ("shape.npz", lambda p: np.savez(p, edge_index=np.zeros((3, 3), int), num_nodes=3), "edge_index_npz",
     ["shape.npz", "'edge_index'", "(2, E) or (E, 2)"]),
    ("feat.npz", lambda p: np.savez(p, edge_index=np.array([[0], [1]]), num_nodes=3, features=np.ones((2, 4))),
     "edge_index_npz", ["feat.npz", "'features'", "(3, F)"]),
    ("loops.npz", lambda p: sp.save_npz(p, sp.identity(3, format="csr")), "sparse_adjacency",
     ["loops.npz", "self-loops"]),
    ("rect.npz", lambda p: sp.save_npz(p, sp.csr_matrix(np.ones((2, 3)))), "sparse_adjacency", ["rect.npz", "square"]),
]


@pytest.mark.parametrize(("name", "write", "parser", "words"), BAD_GRAPHS, ids=[b[0] for b in BAD_GRAPHS])
def test_bad_graph_files_fail_clearly_and_write_nothing(tmp_path, name, write, parser, words):
    path = tmp_path / name
    write(path)
    out = tmp_path / "prepared" / "bad"
    with pytest.raises(DataError) as error:
        prepare_local("bad", spec(path, parser, direction="forward"), out, tmp_path / "lock.json")
    assert all(word in str(error.value) for word in words), str(error.value)
    assert not out.exists() and not (tmp_path / "lock.json").exists()


@pytest.mark.parametrize(("options", "words"), [
    ({"direction": "backwards"}, ["direction", "'backwards'", "forward"]),
    ({}, ["direction (forward | reverse) is required"]),
    ({"direction": "forward", "colour": "red"}, ["colour"]),
])
def test_wrong_direction_flag_or_option_is_a_config_error(tmp_path, options, words):
    with pytest.raises(ConfigError) as error:
        spec(tmp_path / "e.csv", "edge_list", **options)
    assert all(word in str(error.value) for word in words), str(error.value)


# ----------------------------------------------------------------- event logs and tables

EVENTS = {"click": ["view"], "conversion": ["purchase"], "cart": ["basket"]}


def test_event_log_maps_events_onto_the_t2_behaviours(tmp_path):
    path = tmp_path / "events.csv"
    path.write_text("user,item,event,timestamp\n"
                    "u1,x,view,2024-01-01T10:00:00Z\nu1,x,basket,2024-01-01T10:05:00Z\n"
                    "u1,x,purchase,2024-01-01T11:00:00Z\nu2,y,view,2024-01-01 10:00:00\nu2,y,share,2024-01-01 10:01:40\n")
    folder = prepared(tmp_path, "ev", spec(path, "event_log", events=EVENTS))
    table = load_table(folder)
    assert table["behavior"].astype(str).tolist() == ["pv", "cart", "buy", "pv"]
    assert table["timestamp"].tolist() == [1704103200, 1704103500, 1704106800, 1704103200]
    assert table["user_id"].tolist() == [0, 0, 0, 1] and table["category_id"].tolist() == [0, 0, 0, 0]
    assert read_meta(folder)["stats"]["unmapped_events_dropped"] == {"share": 1}


def test_tables_for_the_estimator_and_for_boundaries_only(tmp_path):
    path = tmp_path / "table.csv"
    pd.DataFrame({"y": [0, 1, 0, 1], "age": [1.0, 2.0, 3.0, 4.0], "city": ["a", "b", None, "a"]}).to_csv(path, index=False)
    table = load_table(prepared(tmp_path, "tab", spec(path, "labelled_table", label="y")))
    assert list(table.columns) == ["label", "age", "city"] and table["label"].tolist() == [0, 1, 0, 1]
    path = tmp_path / "scores.parquet"
    pd.DataFrame({"score": [0.1, 0.9, 0.4], "uncertainty": [0.01, 0.0, 0.2], "label": [0, 1, 1]}).to_parquet(path)
    assert load_table(prepared(tmp_path, "sc", spec(path, "scored_table")))["label"].tolist() == [0, 1, 1]


BAD_TABLES = [  # (file name, content, parser, options, words)
    ("ev_col.csv", "user,item,timestamp\nu,x,1\n", "event_log", {"events": EVENTS}, ["ev_col.csv", "'event'"]),
    ("ev_ts.csv", "user,item,event,timestamp\nu,x,view,yesterday\n", "event_log", {"events": EVENTS},
     ["ev_ts.csv", "'timestamp'", "yesterday"]),
    ("ev_none.csv", "user,item,event,timestamp\nu,x,purchase,1\n", "event_log", {"events": EVENTS},
     ["ev_none.csv", "'event'", "no click"]),
    ("ev_empty.csv", "user,item,event,timestamp\n", "event_log", {"events": EVENTS}, ["ev_empty.csv", "0 events"]),
    ("tab_nan.csv", "label,age\n0,1\n1,\n", "labelled_table", {}, ["tab_nan.csv", "'age'", "NaN"]),
    ("tab_label.csv", "label,age\n0,1\n2,3\n", "labelled_table", {}, ["tab_label.csv", "'label'"]),
    ("tab_one.csv", "label,age\n1,1\n1,3\n", "labelled_table", {}, ["tab_one.csv", "'label'", "both classes"]),
    ("sc_col.csv", "score,label\n0.1,0\n0.2,1\n", "scored_table", {}, ["sc_col.csv", "'uncertainty'"]),
    ("sc_nan.csv", "score,uncertainty,label\n0.1,,0\n0.2,0.1,1\n", "scored_table", {},
     ["sc_nan.csv", "'uncertainty'", "NaN"]),
]


@pytest.mark.parametrize(("name", "content", "parser", "options", "words"), BAD_TABLES, ids=[b[0] for b in BAD_TABLES])
def test_bad_logs_and_tables_fail_clearly_and_write_nothing(tmp_path, name, content, parser, options, words):
    path = tmp_path / name
    path.write_text(content)
    out = tmp_path / "prepared" / "bad"
    with pytest.raises(DataError) as error:
        prepare_local("bad", spec(path, parser, **options), out, tmp_path / "lock.json")
    assert all(word in str(error.value) for word in words), str(error.value)
    assert not out.exists() and not (tmp_path / "lock.json").exists()


# ----------------------------------------------------------------- checksums and add-dataset


def test_checksum_is_recorded_at_first_use_and_verified_after(tmp_path):
    path = tmp_path / "edges.csv"
    lock = tmp_path / "lock.json"
    dataset = spec(path, "edge_list", direction="forward")
    out = tmp_path / "prepared" / "g"
    path.write_text("source,target\na,a\n")  # a bad file: no record of it is kept
    with pytest.raises(DataError, match="self-loops"):
        prepare_local("g", dataset, out, lock)
    assert not lock.exists()
    path.write_text(EDGES)  # fixed: its first use
    prepare_local("g", dataset, out, lock)
    first = json.loads(lock.read_text())
    assert first == {"g": {str(path): hashlib.sha256(EDGES.encode()).hexdigest()}}
    assert verify_local_file("g", dataset, lock) == (first["g"], False)
    path.write_text(EDGES + "e,a,1\n")
    before = (out / "graph.npz").read_bytes()
    with pytest.raises(DataError, match="edges.csv: sha256 .* differs from .* recorded in"):
        prepare_local("g", dataset, out, lock)
    assert (out / "graph.npz").read_bytes() == before and json.loads(lock.read_text()) == first
    lock.write_text("{not json")
    with pytest.raises(DataError, match="lock.json: not valid JSON"):
        prepare_local("g", dataset, out, lock)


def test_add_dataset_writes_params_entries_and_keeps_the_rest(tmp_path, monkeypatch):
    shutil.copy(ROOT / "params.yaml", tmp_path / "params.yaml")
    monkeypatch.chdir(tmp_path)
    Path("edges.csv").write_text(EDGES)
    Path("events.csv").write_text("user,item,event,timestamp\nu,x,view,1\n")
    Path("scores.csv").write_text("score,uncertainty,label\n0.1,0.1,0\n0.2,0.1,1\n")
    before = Path("params.yaml").read_text()
    assert add_main(["g", "--graph", "edges.csv", "--direction", "reverse", "--meaning", "u is cited by v"]) == 0
    assert add_main(["ev", "--events", "events.csv", "--click", "view", "--conversion", "purchase,order"]) == 0
    assert add_main(["sc", "--scores", "scores.csv"]) == 0
    params = yaml.safe_load(Path("params.yaml").read_text())
    assert params["data"]["local"] == {
        "g": {"path": "edges.csv", "parser": "edge_list", "direction": "reverse", "meaning": "u is cited by v"},
        "ev": {"path": "events.csv", "parser": "event_log", "events": {"click": ["view"], "conversion": ["purchase", "order"]}},
        "sc": {"path": "scores.csv", "parser": "scored_table"},
    }
    assert params["directed"]["datasets"][-1] == "g"
    assert params["delayed"]["datasets"]["ev"] == {"builder": "event_log", "input": "data/prepared/ev", "batch_size": 256}
    assert params["uncertainty"]["datasets"]["sc"] == {
        "folder": "data/prepared/sc", "loader": "scores", "kind": "user", "negative_keep": 1.0}
    assert not Path("local_data.lock.json").exists()  # recorded by the first prepare_local, not here
    # every other line is kept, comments included
    after = Path("params.yaml").read_text().splitlines()
    directed_list = next(line for line in before.splitlines() if line.startswith("  datasets: [cora_ml"))
    assert [line for line in before.splitlines() if line not in after] == ["  local: {}", directed_list]
    # a taken name or a graph without its direction: an error, nothing written
    written = Path("params.yaml").read_text()
    with pytest.raises(ConfigError, match="exists already"):
        add_main(["g", "--graph", "edges.csv", "--direction", "forward"])
    with pytest.raises(ConfigError, match="direction"):
        add_main(["g2", "--graph", "edges.csv"])
    assert Path("params.yaml").read_text() == written
