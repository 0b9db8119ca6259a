"""From a user's own file to a metrics file, per technique, as README "Your own data" shows it
(a graph as an edge list, an ``edge_index`` npz and a sparse adjacency; an event log; a table and
a scored table):
``add-dataset`` then the stages ``prepare_local``, the technique's train and evaluate stages (the
commands ``dvc repro <technique>_evaluate@<name>`` runs), at tiny settings. The metrics files say
``"data_kind": "user"``, and the report's index accepts them but counts none toward a verdict.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import yaml

from recsys_challenges.cli import main as cli
from recsys_challenges.data.formats import load_graph
from recsys_challenges.report.claims import judge
from recsys_challenges.report.evidence import Evidence, count_passing, load_metrics
from recsys_challenges.report.stability import ReportConfig
from tests.conftest import ROOT


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    """A temp project folder holding the project's params.yaml with tracking off."""
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["tracking"] |= {"csv": False, "wandb": False}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def tune(**sections) -> None:
    """Merge ``sections`` (technique -> {key: value}) into the project's params.yaml."""
    params = yaml.safe_load(Path("params.yaml").read_text())
    for technique, values in sections.items():
        params[technique] |= values
    Path("params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


def run(*argv: str) -> None:
    assert cli(list(argv)) == 0, argv


def write_graph(layout: str, pairs: list[tuple[int, int]]) -> tuple[list[str], int]:
    """The citing -> cited ``pairs`` in one file layout; ``(add-dataset arguments, nodes)``."""
    if layout == "edge_list":  # stored as "cited,citing" with text ids: the reverse of "u cites v"
        pd.DataFrame([(f"p{v}", f"p{u}") for u, v in pairs], columns=["source", "target"]).to_csv("g.csv", index=False)
        return ["--graph", "g.csv", "--direction", "reverse"], len({x for pair in pairs for x in pair})
    if layout == "edge_index_npz":  # (E, 2) rows (citing, cited)
        np.savez("g.npz", edge_index=np.array(pairs), num_nodes=320, features=np.ones((320, 4)))
    else:  # A[citing, cited] = 1
        rows, cols = np.array(pairs).T
        sp.save_npz("g.npz", sp.csr_matrix((np.ones(len(pairs)), (rows, cols)), shape=(320, 320)))
    return ["--graph", "g.npz", "--direction", "forward"], 320


@pytest.mark.parametrize("layout", ["edge_list", "edge_index_npz", "sparse_adjacency"])
def test_own_graph_through_t1(project, layout):
    # 320 papers, the last 300 citing 5 earlier ones each: every edge points back in time (one-way)
    rng = np.random.default_rng(0)
    pairs = [(u, int(v)) for u in range(20, 320) for v in rng.choice(u, 5, replace=False)]
    arguments, nodes = write_graph(layout, pairs)
    run("add-dataset", "papers", *arguments, "--meaning", "u cites v")
    run("prepare-local", "papers")
    graph = load_graph("data/prepared/papers")
    ids = graph.node_ids if graph.node_ids is not None else np.arange(graph.num_nodes).astype(str)
    names = {(str(u), str(v)) for u, v in pairs} if layout != "edge_list" else {(f"p{u}", f"p{v}") for u, v in pairs}
    assert (graph.num_nodes, graph.num_edges, graph.direction) == (nodes, 1500, "u cites v")
    assert {(ids[u], ids[v]) for u, v in graph.edge_index.T} == names  # citing -> cited
    tune(directed={
        "experiment": {"seeds": [0], "num_threads": 1},
        "model": {"dim": 8, "num_layers": 1},
        "methods": {"dual_fixed": {"encoder": "dual", "fanout_rule": "fixed", "choice": "uniform"}},
        "train": {"max_epochs": 2, "min_epochs": 1, "patience": 1, "val_candidates": 20},
    })
    run("directed-train", "papers")
    run("directed-evaluate", "papers")
    metrics = json.loads(Path("reports/metrics/directed/papers.json").read_text())
    assert (metrics["dataset"], metrics["data_kind"]) == ("papers", "user")
    assert metrics["protocol"]["num_edges"] == 1500 and metrics["protocol"]["num_nodes"] == nodes
    assert "direction_auc" in metrics["summary"]["dual_fixed"]
    # the report's index takes it, labelled, and counts it for no verdict
    (file,) = load_metrics("reports/metrics")
    item = Evidence.of(file, "mrr", metrics["summary"]["dual_fixed"]["mrr"], True)
    assert file.data_kind == item.data_kind == "user" and count_passing([item]) == (0, 0)


def test_own_event_log_through_t2(project):
    # 400 users over 4 days: a view, a conversion 0.5-8 h later for a quarter, a cart event before it
    rng = np.random.default_rng(1)
    start = int(pd.Timestamp("2024-03-01", tz="UTC").timestamp())
    events, converted = [], 0
    for user in range(400):
        item, t = f"i{rng.integers(30)}", start + int(rng.integers(0, 4 * 86400 - 12 * 3600))
        events.append((f"u{user}", item, "view", t))
        if rng.random() < 0.25:
            delay = int(rng.integers(1800, 8 * 3600))
            events += [(f"u{user}", item, "add_to_cart", t + delay // 2), (f"u{user}", item, "order", t + delay)]
            converted += 1
        events.append((f"u{user}", item, "share", t + 60))  # not mapped: dropped
    pd.DataFrame(events, columns=["user", "item", "event", "timestamp"]).to_parquet("events.parquet")
    run("add-dataset", "shop", "--events", "events.parquet", "--click", "view", "--conversion", "order",
        "--cart", "add_to_cart")
    run("prepare-local", "shop")
    tune(delayed={
        "conversions": {"window_hours": 12},
        "protocol": {"stream_start_hours": 48.0, "stream_hours": 12.0, "waiting_hours": [1.0]},
        "model": {"hash_bits": 8, "embedding_dim": 4, "hidden": [8], "aux_hidden": [4]},
        "train": {"seeds": [0], "methods": ["oracle", "vanilla", "pcaw"]},
    })
    run("delayed-conversions", "shop")
    meta = json.loads(Path("data/delayed/conversions/shop/meta.json").read_text())
    assert (meta["builder"], meta["data_kind"], meta["origin_ts"]) == ("event_log", "user", start)
    assert (meta["stats"]["clicks"], meta["stats"]["conversions"]) == (400, converted)
    run("delayed-stream", "shop")
    metrics = json.loads(Path("reports/metrics/delayed/shop.json").read_text())
    assert (metrics["data_kind"], metrics["methods"]) == ("user", ["oracle", "vanilla", "pcaw"])
    assert metrics["protocol"]["test_clicks"] > 0


def test_own_tables_through_t3(project):
    rng = np.random.default_rng(2)
    n = 800
    x = rng.normal(size=(n, 2))
    city = rng.choice(["north", "south", "east"], n)
    label = (rng.random(n) < 1 / (1 + np.exp(-(2 * x[:, 0] + (city == "north") - 1)))).astype(int)
    pd.DataFrame({"clicked": label, "x0": x[:, 0], "x1": x[:, 1], "city": city}).to_csv("table.csv", index=False)
    score = 1 / (1 + np.exp(-2 * x[:, 0]))
    pd.DataFrame({"score": score, "uncertainty": rng.random(n) / 10, "label": label}).to_csv("scores.csv", index=False)
    run("add-dataset", "mine", "--table", "table.csv", "--label", "clicked")
    run("add-dataset", "given", "--scores", "scores.csv")
    tune(uncertainty={
        "train": {"seeds": [0, 1], "model": {"hidden": [8], "epochs": 2, "batch_size": 128}, "deep_ensemble": {"members": 2}},
        "boundaries": {"levels": 2, "rows_per_bin": 10, "max_bins": 50},
        "evaluate": {"precision_bounds": [0.5, 0.7], "bootstrap_resamples": 50, "c6_score_bins": 3, "c6_levels": 2},
    })
    for name in ("mine", "given"):
        run("prepare-local", name)
        run("uncertainty-train", name)
        run("uncertainty-evaluate", name)
    trained = json.loads(Path("reports/metrics/uncertainty/mine.json").read_text())
    given = json.loads(Path("reports/metrics/uncertainty/given.json").read_text())
    assert trained["data_kind"] == given["data_kind"] == "user"
    assert trained["seeds"] == [0, 1] and given["seeds"] == [0]  # the given scores: one run, nothing trained
    assert sum(trained["data"]["rows"].values()) == sum(given["data"]["rows"].values()) == n
    assert given["data"]["rows"]["train"] == 0
    assert given["summary"]["classifier"]["test_auc"]["mean"] > 0.6  # the scores carry the planted signal
    assert set(given["summary"]) >= {"single", "ew_dpmt", "mist"}
    # a changed file no longer matches its recorded checksum: an error, the earlier output untouched
    before = Path("data/prepared/given/table.parquet").read_bytes()
    Path("scores.csv").write_text("score,uncertainty,label\n0.1,0.1,0\n0.2,0.1,1\n")
    assert cli(["prepare-local", "given"]) == 1
    assert Path("data/prepared/given/table.parquet").read_bytes() == before


def test_user_datasets_are_listed_but_not_counted_unless_params_say_so(tmp_path):
    from tests.report.test_claims import clear, directed, verdicts, write

    write(tmp_path, "directed", "a", directed(clear(0.2), clear(0.1), clear(0.1), clear(0.01)))
    assert verdicts(tmp_path)["C1"] == "reproduced"
    write(tmp_path, "directed", "mine", directed(clear(-0.2), clear(-0.1), clear(-0.1), clear(0.01)), "user")
    results = judge(load_metrics(tmp_path))
    assert results["C1"].verdict == "reproduced" and "1/1 real" in results["C1"].reason  # the user's file: no vote
    assert {(e.dataset, e.data_kind) for e in results["C1"].evidence} == {("a", "real"), ("mine", "user")}
    counted = judge(load_metrics(tmp_path), ReportConfig(0, 0, 0.9, count_user_data=True))
    assert counted["C1"].verdict == "not reproduced" and "1/2 real" in counted["C1"].reason
    assert {e.dataset for e in counted["C1"].evidence} == {"a", "mine (user data)"}
    (tmp_path / "directed" / "a.json").unlink()  # the user's data alone decides nothing
    alone = judge(load_metrics(tmp_path))["C1"]
    assert alone.verdict == "no data" and {e.data_kind for e in alone.evidence} == {"user"}
