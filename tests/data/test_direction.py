"""Direction normalisation: every prepared citation graph reads ``u -> v`` = "u cites v"."""

from __future__ import annotations

import numpy as np

from recsys_challenges.data.prepare import PARSERS


def edge_set(graph) -> set[tuple[str, str]]:
    ids = graph.node_ids
    return {(ids[u], ids[v]) for u, v in graph.edge_index.T}


def test_nettack_cora_is_transposed_to_match_the_raw_linqs_file(mirror):
    """Nettack stores row = cited; cora.cites says <cited> <citing>. After normalisation both agree."""
    nettack = PARSERS["nettack_cora"](mirror / "citation/linqs_cora_citeseer_nettack")
    raw = PARSERS["cora_cites"](mirror / "citation/linqs_cora_raw_pygcn")
    assert edge_set(nettack) == edge_set(raw)


def test_cora_ml_agrees_in_direction_with_linqs_on_shared_papers(mirror):
    """SOURCES.md: of the edges both files hold, 4210 agree in direction and 320 are reversed."""
    cora_ml = edge_set(PARSERS["cora_ml_npz"](mirror / "citation/cora_ml_bojchevski"))
    linqs = edge_set(PARSERS["cora_cites"](mirror / "citation/linqs_cora_raw_pygcn"))
    same = len(cora_ml & linqs)
    reversed_ = len({(v, u) for u, v in cora_ml} & linqs)
    assert same > 10 * reversed_
    assert (same, reversed_) == (4210, 320)


def test_hep_citations_point_from_newer_to_older_papers(mirror):
    """arXiv numbers YYMMNNN: a citing paper is (almost always) newer than the one it cites."""
    graph = PARSERS["snap_cit_hepth"](mirror / "citation/snap_cit_hep_snapdatasetsjl")
    yymm = np.array([int(i[:-3]) if i else -1 for i in graph.node_ids])
    month = np.where(yymm >= 9000, yymm - 9000, yymm + 1000)  # 1992-1999 -> 200.., 2000-2003 -> 1000..
    src, dst = month[graph.edge_index[0]], month[graph.edge_index[1]]
    known = (yymm[graph.edge_index[0]] >= 0) & (yymm[graph.edge_index[1]] >= 0)
    newer = (src > dst)[known].sum()
    older = (src < dst)[known].sum()
    assert newer > 100 * older
