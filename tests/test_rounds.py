"""The interleaved-rounds timing helpers shared by the benchmarks."""

import pytest

from recsys_challenges.rounds import interleaved_rounds, median_ratio, throughput_ratio


def test_median_ratio_is_the_median_of_per_round_ratios():
    assert median_ratio([2.0, 3.0, 10.0], [1.0, 3.0, 2.0]) == 2.0  # ratios 2, 1, 5
    assert median_ratio([1.0, 4.0], [2.0, 2.0]) == 1.25  # ratios 0.5, 2: mean of the middle two
    with pytest.raises(ValueError):
        median_ratio([1.0], [1.0, 2.0])
    with pytest.raises(ValueError):
        median_ratio([], [])


def test_throughput_ratio_on_given_times():
    times = {"package": {"cpu": [2.0, 4.0, 2.5], "wall": [3.0, 4.0, 5.0]},
             "plain": {"cpu": [1.0, 2.0, 2.5], "wall": [3.0, 2.0, 2.5]}}
    result = throughput_ratio(100, times)
    assert result["examples"] == 100 and result["rounds"] == 3
    assert result["package"]["cpu_s"] == 2.5 and result["plain"]["cpu_s"] == 2.0
    assert result["package"]["examples_per_s"] == 40.0 and result["plain"]["examples_per_s"] == 50.0
    assert result["package"]["examples_per_s_wall"] == 25.0
    assert result["ratio"] == 0.5  # plain / package per round: 0.5, 0.5, 1.0
    assert result["ratio_wall"] == 0.5  # 1.0, 0.5, 0.5


def test_interleaved_rounds_order_warmup_and_setup():
    calls = []

    def arm(name):
        def prepare(round_index):
            calls.append(("setup", name, round_index))
            return lambda: calls.append(("run", name, round_index))
        return prepare

    times = interleaved_rounds({"a": arm("a"), "b": arm("b")}, repeats=2, warmup=1)
    assert [c for c in calls if c[0] == "run"] == [("run", n, r) for r in range(3) for n in "ab"]
    assert calls[:2] == [("setup", "a", 0), ("run", "a", 0)]  # set up right before its own call
    assert {name: len(t["cpu"]) for name, t in times.items()} == {"a": 2, "b": 2}
    assert all(s >= 0 for t in times.values() for s in t["cpu"] + t["wall"])
    with pytest.raises(ValueError):
        interleaved_rounds({"a": arm("a")}, repeats=0)
