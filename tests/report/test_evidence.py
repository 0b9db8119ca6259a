import json

import pytest

from recsys_challenges.errors import DataError
from recsys_challenges.report.evidence import (
    ClaimResult,
    Evidence,
    ci_above,
    count_passing,
    decide,
    enough,
    load_metrics,
    outcome_of,
    paired_difference,
    SeedRedraws,
)
from recsys_challenges.report.stability import stability
from recsys_challenges.stats import mean_ci


def write(root, technique, dataset, summary, data_kind="real", seeds=(0, 1, 2)):
    path = root / technique / f"{dataset}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"technique": technique, "dataset": dataset, "data_kind": data_kind, "seeds": list(seeds), "summary": summary}))
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


@pytest.mark.parametrize(
    "passes, ci, effect, direction, expected",
    [
        (True, [0.01, 0.02], 0.05, 1, "pass"),
        (False, [-0.01, 0.06], 0.05, 1, "inconclusive"),  # includes 0 and reaches +0.05
        (False, [-0.01, 0.04], 0.05, 1, "fail"),  # rules out the paper's +0.05
        (False, [-0.01, 0.06], None, 1, "fail"),  # no paper effect: no inconclusive
        (False, None, 0.05, 1, "inconclusive"),  # one seed: no interval, cannot rule anything out
        (False, [-0.06, 0.01], 0.05, -1, "inconclusive"),  # a claimed negative slope of at least 0.05
        (False, [-0.04, 0.01], 0.05, -1, "fail"),
    ],
)
def test_outcome_of_asks_whether_the_ci_can_rule_out_the_papers_effect(passes, ci, effect, direction, expected):
    assert outcome_of(passes, ci, effect, direction) == expected


def _item(dataset, outcome):
    return Evidence(dataset, "real", "q", 0.0, [0.0, 0.0], 3, outcome == "pass", outcome)


def test_decide_is_inconclusive_only_when_open_evidence_could_change_the_verdict():
    def verdict_of(count):  # reproduced when 2 datasets pass
        return "reproduced" if count()[0] >= 2 else "not reproduced"

    assert decide("X", [_item("a", "pass"), _item("b", "pass")], verdict_of, "r").verdict == "reproduced"
    assert decide("X", [_item("a", "fail"), _item("b", "inconclusive")], verdict_of, "r").verdict == "not reproduced"
    open_one = decide("X", [_item("a", "pass"), _item("b", "inconclusive")], verdict_of, "r")
    assert open_one.verdict == "inconclusive"
    assert open_one.reason == "r; inconclusive: the data cannot tell 'not reproduced' from 'reproduced' (CIs that include both 0 and the paper's effect on b)"


def test_seed_redraws_recompute_per_seed_summaries_and_keep_pooled_ones(tmp_path):
    pooled = {"mean": 0.3, "ci95": [0.1, 0.5], "n": 3, "values": [0.2, 0.3, 0.4], "ci_method": "group_bootstrap"}
    write(tmp_path, "t", "a", {"m": {"auc": mean_ci([0.6, 0.7, 0.8]), "slope": pooled}})
    (file,) = load_metrics(tmp_path)
    drawn = SeedRedraws(file)([0, 0, 2])
    assert drawn.seeds == [0, 0, 2]
    assert drawn.stat("m", "auc")["values"] == [0.6, 0.6, 0.8]
    assert drawn.stat("m", "auc")["mean"] == pytest.approx(2.0 / 3.0)
    assert drawn.stat("m", "slope") == pooled
    assert file.stat("m", "auc")["values"] == [0.6, 0.7, 0.8]  # the original is untouched


def test_seed_redraws_rebuild_only_the_parts_that_hold_a_summary(tmp_path):
    curve = [0.1, 0.2]
    write(tmp_path, "t", "a", {"m": {"auc": mean_ci([0.6, 0.7, 0.8])}, "curves": {"m": curve},
                               "rows": [{"auc": mean_ci([0.1, 0.2, 0.3]), "name": "x"}, {"name": "y"}]})
    (file,) = load_metrics(tmp_path)
    drawn = SeedRedraws(file)([2, 2, 1])
    assert drawn.stat("m", "auc")["values"] == [0.8, 0.8, 0.7]
    summary, original = drawn.content["summary"], file.content["summary"]
    assert summary["rows"][0] == {"auc": mean_ci([0.3, 0.3, 0.2]), "name": "x"}
    assert summary["rows"][1] is original["rows"][1]  # no summary there: shared, not copied
    assert summary["curves"] is original["curves"]


def test_stability_counts_redraws_that_keep_the_verdict(tmp_path):
    # per-seed gaps 0.3 x4 and -0.1: mean 0.22, sd 0.179, t(4) half-width 0.222 -> CI [-0.002, 0.442],
    # not above 0. Leaving out the -0.1 collapses the CI on 0.3 (passes: verdict flips); leaving out a
    # 0.3 gives mean 0.2, sd 0.2, t(3) half-width 0.318 (still fails). Leave-one-out alone: 4/5 agree.
    write(tmp_path, "t", "a", {"m": {"gap": mean_ci([0.3, 0.3, 0.3, 0.3, -0.1])}}, seeds=range(5))
    files = load_metrics(tmp_path)

    def rule(fs):
        gap = fs[0].stat("m", "gap")
        item = Evidence.of(fs[0], "gap", gap, ci_above(gap))
        return ClaimResult("X", "reproduced" if item.passes else "not reproduced", "", [item])

    full = rule(files)
    assert full.verdict == "not reproduced"
    loo = stability(files, {"X": rule}, {"X": full}, bootstrap=0, seed=0, unstable_below=0.9)["X"]
    assert (loo.stability, loo.unstable, loo.tipped_by) == (0.8, True, "a")
    assert stability(files, {"X": rule}, {"X": full}, bootstrap=0, seed=0, unstable_below=0.8)["X"].unstable is False
    drawn = stability(files, {"X": rule}, {"X": full}, bootstrap=100, seed=0, unstable_below=0.9)["X"]
    assert drawn == stability(files, {"X": rule}, {"X": full}, bootstrap=100, seed=0, unstable_below=0.9)["X"]  # seeded
    assert 0.0 < drawn.stability < 1.0
