import json

import pytest

from recsys_challenges.errors import DataError
from recsys_challenges.report.evidence import (
    Evidence,
    ci_above,
    count_passing,
    enough,
    load_metrics,
    paired_difference,
)
from recsys_challenges.stats import mean_ci


def write(root, technique, dataset, summary, data_kind="real"):
    path = root / technique / f"{dataset}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"technique": technique, "dataset": dataset, "data_kind": data_kind, "seeds": [0, 1, 2], "summary": summary}))
    return path


def test_load_metrics_reads_every_file_and_checks_the_layout(tmp_path):
    write(tmp_path, "t", "a", {"m": {"auc": mean_ci([0.6, 0.7, 0.8])}})
    write(tmp_path, "t", "b", {"m": {"auc": mean_ci([0.5, 0.5, 0.5])}}, "simulated")
    files = load_metrics(tmp_path)
    assert [(f.dataset, f.data_kind) for f in files] == [("a", "real"), ("b", "simulated")]
    assert files[0].stat("m", "auc")["mean"] == pytest.approx(0.7)
    with pytest.raises(DataError, match="no summary for method 'x', metric 'auc'"):
        files[0].stat("x", "auc")
    (tmp_path / "t" / "c.json").write_text('{"technique": "t"}')
    with pytest.raises(DataError, match=r"c.json: missing key\(s\) dataset, data_kind, seeds, summary"):
        load_metrics(tmp_path)


def test_paired_difference_pairs_seed_by_seed():
    # a - b per seed: 0.1, 0.1, 0.1 -> mean 0.1, sd 0, so the CI collapses to the mean
    diff = paired_difference(mean_ci([0.6, 0.7, 0.8]), mean_ci([0.5, 0.6, 0.7]), "x")
    assert diff["mean"] == pytest.approx(0.1) and diff["ci95"] == pytest.approx([0.1, 0.1])
    assert ci_above(diff) and not ci_above(diff, 0.2) and not ci_above(mean_ci([1.0]))
    with pytest.raises(DataError, match="cannot pair 3 seeds with 1"):
        paired_difference(mean_ci([0.6, 0.7, 0.8]), mean_ci([0.5]), "x")


def test_count_passing_needs_every_piece_of_a_dataset_to_pass():
    ev = [
        Evidence("a", "real", "q1", 0.1, [0.05, 0.15], 3, True),
        Evidence("a", "real", "q2", 0.1, [-0.05, 0.25], 3, False),
        Evidence("b", "real", "q1", 0.1, [0.05, 0.15], 3, True),
        Evidence("s", "simulated", "q1", 0.1, [0.05, 0.15], 3, True),
    ]
    assert count_passing(ev) == (1, 2)
    assert count_passing(ev, "simulated") == (1, 1)


@pytest.mark.parametrize(
    "counts, expected",
    [((1, 1), True), ((0, 1), False), ((1, 2), False), ((2, 2), True), ((2, 3), True), ((3, 7), False), ((4, 7), True), ((0, 0), False)],
)
def test_enough_is_half_of_the_real_datasets_and_at_least_two(counts, expected):
    assert enough(counts) is expected
