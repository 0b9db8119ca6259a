"""All-node ranking and the popularity baseline (:mod:`recsys_challenges.directed.evaluate`)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import yaml

from recsys_challenges.data.formats import PREPARED_ROOT, GraphData, save_graph
from recsys_challenges.directed.evaluate import all_node_ranks, popularity_embeddings
from recsys_challenges.directed.models import dot_scores
from recsys_challenges.directed.stage import main_evaluate
from recsys_challenges.errors import DataError
from tests.conftest import ROOT


def test_all_node_ranks_match_a_brute_force_filtered_ranking():
    rng = np.random.default_rng(0)
    num_nodes = 40
    keys = np.unique(rng.integers(0, num_nodes, 300) * num_nodes + rng.integers(0, num_nodes, 300))
    keys = keys[keys // num_nodes != keys % num_nodes]
    edges = np.stack([keys // num_nodes, keys % num_nodes])
    queries = edges[:, rng.permutation(edges.shape[1])[:50]]
    source = torch.from_numpy(np.round(rng.normal(size=(num_nodes, 3)), 1)).float()
    target = torch.from_numpy(np.round(rng.normal(size=(num_nodes, 3)), 1)).float()
    ranks = all_node_ranks(source, target, queries, edges, dot_scores, chunk_size=7)
    scores = (source @ target.T).numpy()
    for (u, v), rank in zip(queries.T, ranks):
        others = np.ones(num_nodes, dtype=bool)
        others[edges[1][edges[0] == u]] = False  # every known target of u, v included
        others[u] = False
        true = scores[u, v]
        assert rank == 1 + (scores[u, others] > true).sum() + 0.5 * (scores[u, others] == true).sum()


def test_popularity_scores_are_training_in_degree():
    edges = np.array([[0, 1, 2, 0], [2, 2, 1, 1]])
    source, target = popularity_embeddings(edges, 3)
    assert (source @ target.T)[0].tolist() == [0.0, 2.0, 2.0]  # indeg = (0, 2, 2)


def test_fewer_test_edges_than_degree_buckets_is_an_error_naming_the_split(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    edges = np.array([[0, 1, 2, 3, 4], [1, 2, 3, 4, 0]])  # (2, 5) one cycle
    (PREPARED_ROOT / "tiny").mkdir(parents=True)
    save_graph(GraphData(edge_index=edges, num_nodes=5, direction="u cites v"), PREPARED_ROOT / "tiny", {})
    trained = tmp_path / "trained"
    trained.mkdir()
    (trained / "training.json").write_text("{}")
    np.savez(trained / "split_seed0.npz", train=np.arange(4), val=np.array([], dtype=np.int64), test=np.array([4]))
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["directed"]["experiment"]["seeds"] = [0]
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    with pytest.raises(DataError, match=r"split_seed0\.npz: 1 test edges cannot fill 4 degree buckets"):
        main_evaluate(["tiny", "--trained", str(trained)])


@pytest.mark.parametrize("decoder", ["dual", "gravity"])
def test_sampled_ranks_equal_the_former_validation_formula(decoder):
    """Validation MRR (model selection) now ranks with the test's ``sampled_ranks``; the former
    validation code scored ``(n * K, d)`` repeated sources against flat candidates: bit-identical."""
    from recsys_challenges.directed.metrics import mean_reciprocal_rank, ranks_against, sampled_ranks
    from recsys_challenges.directed.models import DECODERS
    from recsys_challenges.directed.module import validation_mrr

    pair_scores = DECODERS[decoder][1]
    generator = torch.Generator().manual_seed(0)
    source, target = torch.randn(500, 33, generator=generator), torch.randn(500, 33, generator=generator)
    queries = torch.randint(0, 500, (2, 300), generator=generator)
    candidates = torch.randint(0, 500, (300, 100), generator=generator)
    u, v, k = queries[0], queries[1], candidates.shape[1]
    positive = pair_scores(source.index_select(0, u), target.index_select(0, v))  # the former validation_mrr
    negative = pair_scores(
        source.index_select(0, u).repeat_interleave(k, 0), target.index_select(0, candidates.flatten())
    ).view(-1, k)
    former = ranks_against(positive, negative).numpy()
    true_score, ranks = sampled_ranks(source, target, u, v, candidates, pair_scores)
    assert torch.equal(true_score, positive)
    assert np.array_equal(ranks, former)
    assert validation_mrr(source, target, queries, candidates, pair_scores) == mean_reciprocal_rank(former)
