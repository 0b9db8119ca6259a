"""Each parser on its real mirrored file: the counts must equal those stated in SOURCES.md."""

from __future__ import annotations

import numpy as np
import pytest

from recsys_challenges.data.formats import reciprocity
from recsys_challenges.data.prepare import PARSERS

# parser, source folder under the mirror, nodes, edges after dropping self-loops, self-loops, reciprocity
GRAPHS = [
    ("cora_ml_npz", "citation/cora_ml_bojchevski", 2995, 8416, 0, 0.061),
    ("nettack_cora", "citation/linqs_cora_citeseer_nettack", 2708, 5429, 0, 0.056),
    ("nettack_citeseer", "citation/linqs_cora_citeseer_nettack", 3312, 4715 - 124, 124, 0.024),
    ("cora_cites", "citation/linqs_cora_raw_pygcn", 2708, 5429, 0, 0.056),
    ("subelj_cora", "citation/subelj_cora_konect", 23166, 91500, 0, 0.051),
    ("pubmed_npz", "citation/pubmed_directed_dirswitch", 19717, 44338 - 3, 3, 0.0005),
    ("snap_cit_hepth", "citation/snap_cit_hep_snapdatasetsjl", 27770, None, None, 0.0027),
    ("snap_cit_hepph", "citation/snap_cit_hep_snapdatasetsjl", 34546, 421578 - 44, 44, 0.0031),
    ("snap_amazon", "amazon_copurchase/snap_amazon0302_head", 1612, 6120, 0, 0.514),
    ("amazon_also_bought", "amazon_copurchase/mcauley_meta_digital_music_truncated", 7419, 45706, 0, 0.417),
]


@pytest.mark.parametrize("parser, folder, nodes, edges, loops, recip", GRAPHS, ids=[g[0] for g in GRAPHS])
def test_graph_parser_counts_match_sources_md(mirror, parser, folder, nodes, edges, loops, recip):
    graph = PARSERS[parser](mirror / folder)
    assert graph.num_nodes == nodes
    if edges is not None:
        assert graph.num_edges == edges
        assert graph.stats["self_loops_dropped"] == loops
    assert graph.edge_index.dtype == np.int64 and graph.edge_index.min() >= 0
    assert graph.edge_index.max() < graph.num_nodes
    assert reciprocity(graph.edge_index, graph.num_nodes) == pytest.approx(recip, abs=0.0015)


def test_cit_hepth_total_edges_before_cleaning(mirror):
    graph = PARSERS["snap_cit_hepth"](mirror / "citation/snap_cit_hep_snapdatasetsjl")
    assert graph.num_edges + graph.stats["self_loops_dropped"] + graph.stats["duplicate_edges_dropped"] == 352807


@pytest.mark.parametrize(
    "parser, folder, items, reviews, customers, ordered_pairs",
    [
        ("amazon_reviews_json", "amazon_copurchase/mcauley_reviews_digital_music_5core_truncated", 382, 6908, 2490, 26504),
        ("amazon_reviews_csv", "amazon_copurchase/mcauley_musical_instruments_5core_partial", 385, 4981, 1374, 8085),
    ],
)
def test_review_sequence_graphs_match_sources_md(mirror, parser, folder, items, reviews, customers, ordered_pairs):
    graph = PARSERS[parser](mirror / folder)
    assert graph.num_nodes == items
    assert graph.stats["reviews"] == reviews and graph.stats["customers"] == customers
    assert graph.stats["ordered_pairs"] == ordered_pairs  # "reviewed U before V" pairs in SOURCES.md
    assert graph.edge_weight.sum() == ordered_pairs  # each distinct edge weighted by its customers
    assert graph.stats["self_loops_dropped"] == 0


def test_truncated_metadata_keeps_complete_records_with_titles(mirror):
    graph = PARSERS["amazon_also_bought"](mirror / "amazon_copurchase/mcauley_meta_digital_music_truncated")
    assert graph.stats["truncated_stream"] and graph.stats["partial_last_line_dropped"]
    assert graph.stats["also_bought_listed"] == 319267
    assert graph.node_ids[0] == "5555991584" and graph.titles[0] == "Memory of Trees"


def test_taobao_head(mirror):
    table = PARSERS["taobao_user_behavior"](mirror / "conversion_events/taobao_userbehavior_head_mydeep")
    frame = table.frame
    assert table.stats["rows_read"] == 84475 and table.stats["partial_last_line_dropped"]
    assert table.stats["rows_outside_window_dropped"] == 35 and len(frame) == 84475 - 35
    assert table.stats["users"] == 815
    counts = frame["behavior"].value_counts()
    assert (counts["cart"], counts["fav"], counts["buy"]) == (4497, 2356, 1750)  # pv loses the 35 rows
    assert counts["pv"] == 75872 - 35
    assert list(frame.columns) == ["user_id", "item_id", "category_id", "behavior", "timestamp"]
    assert frame["user_id"].dtype == np.int64


def test_taobao_subset_is_the_first_43_users(mirror):
    table = PARSERS["taobao_user_behavior"](mirror / "conversion_events/taobao_userbehavior_subset")
    assert table.stats["rows_read"] == 4321 and table.stats["users"] == 43
    assert not table.stats["partial_last_line_dropped"]


@pytest.mark.parametrize(
    "parser, folder, rows, positives",
    [
        ("criteo_tsv", "click_logs/criteo_dac_head_999", 1000, 205),
        ("criteo_csv", "click_logs/deepctr_samples", 200, 49),
        ("avazu_csv", "click_logs/deepctr_samples", 100, 20),
        ("kddcup2004_protein", "classification/kddcup2004_protein_homology_widedeep", 145751, 1296),
        ("open_bandit", "click_logs/open_bandit_dataset_small", 60000, 287),
        ("adult_census", "classification/adult_census_widedeep", 48842, 11687),
        ("womens_reviews", "classification/womens_ecommerce_reviews_widedeep", 23486, 19314),  # 82.2%
    ],
)
def test_table_parsers_match_sources_md(mirror, parser, folder, rows, positives):
    frame = PARSERS[parser](mirror / folder).frame
    label = {"avazu_csv": "click", "open_bandit": "click", "kddcup2004_protein": "target",
             "adult_census": "income_over_50k", "womens_reviews": "recommended"}.get(parser, "label")
    assert len(frame) == rows
    assert int(frame[label].sum()) == positives


def test_movielens_ratings_joined_with_users_and_films_match_sources_md(mirror):
    table = PARSERS["movielens_100k"](mirror / "ratings/movielens100k_widedeep")
    frame = table.frame
    assert len(frame) == 100_000 and table.stats["users"] == 943 and table.stats["films"] == 1682
    assert round(table.stats["liked"] / 1000, 1) == 55.4  # SOURCES.md: 55.4% rated 4 or 5
    assert frame["timestamp"].min() >= 874_724_710 and frame["timestamp"].max() <= 893_286_638  # 1997-09-20..1998-04-22
    assert frame[[c for c in frame.columns if c.startswith("genre_")]].shape[1] == 19
    assert not frame[["age", "gender", "occupation"]].isna().any().any()


def test_criteo_missing_fields_stay_missing_not_nan(mirror):
    frame = PARSERS["criteo_tsv"](mirror / "click_logs/criteo_dac_head_999").frame
    assert str(frame["I1"].dtype) == "Int64" and frame["I12"].isna().any()
    assert frame.shape[1] == 40


def test_kddcup_blocks_are_the_153_native_sequences(mirror):
    table = PARSERS["kddcup2004_protein"](mirror / "classification/kddcup2004_protein_homology_widedeep")
    assert table.stats["blocks"] == 153
    assert table.frame["example_id"].is_unique
