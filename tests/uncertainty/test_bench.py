from __future__ import annotations

import numpy as np

from recsys_challenges.uncertainty.bench import benchmark
from recsys_challenges.uncertainty.config import BenchParams


def test_benchmark_reports_every_timing_and_the_targets():
    result = benchmark(BenchParams(rows=5000, levels=3, bins=10, repeats=1))
    assert set(result["seconds"]) >= {"single", "ew_dpmt", "mist", "binning_only", "ew_dpmt_dp_only", "ew_dpmt_detrended_lcb"}
    assert all(np.isfinite(s) and s > 0 for s in result["seconds"].values())
    assert result["ratio_to_single"]["ew_dpmt"] == result["seconds"]["ew_dpmt"] / result["seconds"]["single"]
    assert set(result["targets_met"]) == {"ew_dpmt_seconds", "ew_dpmt_detrended_lcb_seconds", "ew_dpmt_ratio_to_single"}
