"""The metrics file's dataclasses write and read their own JSON: a round trip changes nothing."""

from __future__ import annotations

import json

from recsys_challenges.io import write_json
from recsys_challenges.uncertainty.config import BoundaryParams
from recsys_challenges.uncertainty.evaluate import evaluate
from recsys_challenges.uncertainty.results import Metrics, bound_key
from tests.uncertainty.test_evaluate import GRID, PARAMS, _predictions

CV_GRID = BoundaryParams(levels=2, rows_per_bin=10, cv_levels=(1, 2), cv_rows_per_bin=(10, 50))


def test_the_metrics_file_reads_back_into_equal_dataclasses_and_the_same_bytes(tmp_path):
    for truth, grid in [(True, GRID), (False, CV_GRID)]:
        arrays, meta = _predictions(truth=truth)
        metrics = evaluate(arrays, meta, grid, PARAMS)
        path = tmp_path / "metrics.json"
        write_json(path, metrics.to_json())
        text = path.read_text()
        back = Metrics.from_json(json.loads(text))
        assert back.to_json() == json.loads(text)
        write_json(path, back.to_json())
        assert path.read_text() == text
        assert (back.headline.diagnostics is not None) == truth
        assert back.ablations["deep_ensemble"].c7.boundaries is None
        assert back.headline.c7.boundaries["single"][bound_key(0.3)][0].seed == 0
        assert [g.seed for g in back.headline.c7.grid[bound_key(0.5)]] == [0, 1]
        assert list(back.by_estimator()) == ["posterior_network", "deep_ensemble"]


def test_the_headline_block_sits_at_the_top_level_and_ablations_have_no_boundaries():
    arrays, meta = _predictions()
    document = evaluate(arrays, meta, GRID, PARAMS).to_json()
    assert {"summary", "diagnostics", "c6", "c7"} <= set(document)
    assert "boundaries" in document["c7"]
    assert "boundaries" not in document["ablations"]["deep_ensemble"]["c7"]
