"""The boundary figure draws the boundaries uncertainty_evaluate recorded, not boundaries chosen again."""

import numpy as np
import pytest

from recsys_challenges.errors import DataError
from recsys_challenges.uncertainty.figures import recorded_boundaries


def _metrics() -> dict:
    def rows(thresholds: list) -> dict:
        return {"0.8": [{"seed": 3, "feasible": True, "level_edges": [0.5], "thresholds": thresholds},
                        {"seed": 4, "feasible": False, "level_edges": [0.5], "thresholds": ["inf", "inf"]}]}

    return {"c7": {"precision_bounds": [0.8],
                   "boundaries": {"single": rows([0.3, 0.3]), "ew_dpmt": rows([0.2, "inf"]), "mist": rows(["-inf", 0.4])}}}


def test_recorded_boundaries_read_back_infinities_and_the_seed() -> None:
    boundaries = recorded_boundaries(_metrics(), 0.8, 3, "m.json")
    assert boundaries["ew_dpmt"].thresholds.tolist() == [0.2, np.inf]
    assert boundaries["mist"].thresholds.tolist() == [-np.inf, 0.4]
    assert boundaries["single"].level_edges.tolist() == [0.5] and boundaries["single"].feasible
    assert not recorded_boundaries(_metrics(), 0.8, 4, "m.json")["ew_dpmt"].feasible


def test_a_bound_or_seed_that_was_not_evaluated_is_a_clear_error() -> None:
    with pytest.raises(DataError, match=r"m.json: no boundaries at precision 0.9 .*\[0.8\]"):
        recorded_boundaries(_metrics(), 0.9, 3, "m.json")
    with pytest.raises(DataError, match="m.json: no boundary of single for seed 7"):
        recorded_boundaries(_metrics(), 0.8, 7, "m.json")
