from __future__ import annotations

from recsys_challenges.profiles import dvc_set_args, merge, read_profile
from tests.conftest import ROOT


def test_merge_mappings_replace_lists_and_honour_replace_tag(tmp_path):
    profile = tmp_path / "p.yaml"
    profile.write_text("a: {x: 2, new: 1}\nb: [9]\nc: !replace {only: 1}\n")
    base = {"a": {"x": 1, "y": 1}, "b": [1, 2], "c": {"k1": 1, "k2": 2}, "d": 0}
    merged = merge(base, read_profile(profile))
    assert merged == {"a": {"x": 2, "y": 1, "new": 1}, "b": [9], "c": {"only": 1}, "d": 0}
    assert base["a"] == {"x": 1, "y": 1}  # base untouched
    assert type(merged["c"]) is dict


def test_dvc_set_args_adds_new_keys_with_plus_and_sets_replaced_mappings_whole(tmp_path):
    profile = tmp_path / "p.yaml"
    profile.write_text("a: {x: 2, new: 1}\nb: [9, 8]\nc: !replace {only: 1}\n")
    base = {"a": {"x": 1}, "b": [1], "c": {"k": 1}}
    assert dvc_set_args(base, read_profile(profile)) == [
        "-S", "a.x=2", "-S", "+a.new=1", "-S", "b=[9, 8]", "-S", "c={only: 1}",
    ]


def test_every_committed_profile_applies_to_params():
    from recsys_challenges.config import read_yaml

    base = read_yaml(ROOT / "params.yaml")
    for path in sorted((ROOT / "experiments").glob("*.yaml")):
        merged = merge(base, read_profile(path))
        assert set(merged) == set(base), f"{path.name} adds a top-level section"
