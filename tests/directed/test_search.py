"""The staged validation search's grid points and the shared configuration of the dual pair."""

import json
from pathlib import Path

import pytest

from recsys_challenges.directed import config as cfg
from recsys_challenges.directed.config import SEARCH_AXES as AXES, SEARCH_OUTPUT, SEARCH_STAGES as STAGES, SearchParams
from recsys_challenges.directed.search import group_best, stage_points
from recsys_challenges.errors import ConfigError

GRID = {"learning_rate": [0.01, 0.02], "hard_negative_weight": [0.0, 1.0], "dim": [32, 128], "weight_decay": [0.0, 1e-6]}
BASE = {"learning_rate": 0.01, "hard_negative_weight": 0.0, "dim": 32, "weight_decay": 0.0}


def test_stage_points_vary_only_their_axes() -> None:
    points = stage_points(GRID, ("learning_rate", "dim"), BASE | {"hard_negative_weight": 1.0})
    assert points == [
        {"learning_rate": 0.01, "hard_negative_weight": 1.0, "dim": 32, "weight_decay": 0.0},
        {"learning_rate": 0.01, "hard_negative_weight": 1.0, "dim": 128, "weight_decay": 0.0},
        {"learning_rate": 0.02, "hard_negative_weight": 1.0, "dim": 32, "weight_decay": 0.0},
        {"learning_rate": 0.02, "hard_negative_weight": 1.0, "dim": 128, "weight_decay": 0.0},
    ]


def test_the_stages_cover_every_axis_and_cost_less_than_the_product() -> None:
    assert {axis for varied in STAGES for axis in varied} == set(AXES)
    stage1 = stage_points(GRID, STAGES[0], BASE)
    stage2 = stage_points(GRID, STAGES[1], BASE)
    distinct = {tuple(p.values()) for p in stage1 + stage2}
    # 4 + 8 points, the 2 at (width 32, no decay, w_h 0) met twice: 10 trainings, not the product's 16
    assert len(distinct) == 10 and len(stage_points(GRID, AXES, BASE)) == 16
    assert SearchParams(full_product=True).stages() == (AXES,)


def test_group_best_maximises_the_mean_over_the_methods_on_common_points() -> None:
    def row(rate: float, mrr: float) -> dict:
        return BASE | {"learning_rate": rate, "mean_val_mrr": mrr}

    results = {
        "a": [row(0.01, 0.50), row(0.02, 0.60)],
        "b": [row(0.01, 0.50), row(0.02, 0.30), row(0.03, 0.90)],  # 0.03: not evaluated for "a"
    }
    shared = group_best(results, ["a", "b"])
    # means: 0.01 -> 0.50, 0.02 -> 0.45; 0.03 is not common
    assert shared["point"]["learning_rate"] == 0.01 and shared["mean_val_mrr"] == pytest.approx(0.50)
    assert group_best(results, ["b"])["point"]["learning_rate"] == 0.03  # a group of one: its own best


def test_the_shared_methods_form_one_group_and_the_others_one_each() -> None:
    search = SearchParams(methods=["a", "b", "c", "d"], shared=["b", "d"])
    assert search.groups() == [["b", "d"], ["a"], ["c"]]
    assert SearchParams(methods=["a", "b"]).groups() == [["a"], ["b"]]


def test_search_params_reject_an_empty_axis_and_an_unknown_shared_method() -> None:
    with pytest.raises(ConfigError, match="search.dim"):
        SearchParams(dim=[])
    with pytest.raises(ConfigError, match="search.shared"):
        SearchParams(methods=["sage"], shared=["dual_fixed"])


def test_method_overrides_reach_the_training_sections() -> None:
    params = {"sampling": cfg.SamplingParams(), "model": cfg.ModelParams(dim=32), "loss": cfg.LossParams(),
              "train": cfg.TrainParams(learning_rate=0.01, weight_decay=0.0)}
    method = cfg.MethodParams(encoder="dual", dim=128, weight_decay=1e-6, hard_negative_weight=0.3)
    resolved = cfg.method_training(method, params)
    assert resolved["model"].dim == 128 and resolved["train"].weight_decay == 1e-6
    assert resolved["loss"].hard_negative_weight == 0.3
    assert resolved["train"].learning_rate == 0.01  # not overridden: the section's value
    assert cfg.method_training(cfg.MethodParams(encoder="dual"), params) == params


def test_params_methods_are_the_validation_winners_at_the_default_width() -> None:
    """The hand-copied ``directed.methods`` match the committed search: each group's best point among
    those at ``directed.model.dim`` (the default profile's one width); ``dual_paper_loss`` is the dual
    pair's point with the paper's ``w_h = 1``."""
    root = Path(__file__).resolve().parents[2]
    grid = json.loads((root / SEARCH_OUTPUT).read_text())
    params = root / "params.yaml"
    training = cfg.load_training(params)
    width = training["model"].dim
    search = cfg.load(SearchParams, "search", params)
    methods = cfg.load_methods(params)

    def effective(name: str) -> dict:
        resolved = cfg.method_training(methods[name], training)
        return {"learning_rate": resolved["train"].learning_rate, "weight_decay": resolved["train"].weight_decay,
                "hard_negative_weight": resolved["loss"].hard_negative_weight, "dim": resolved["model"].dim}

    at_width = {name: [row for row in rows if row["dim"] == width] for name, rows in grid["results"].items()}
    for group in search.groups():
        point = group_best(at_width, group)["point"]
        for name in group:
            assert effective(name) == pytest.approx(point), f"directed.methods.{name}: not its winner at width {width}"
    pair = group_best(at_width, search.shared)["point"]
    assert effective("dual_paper_loss") == pytest.approx(pair | {"hard_negative_weight": 1.0})
