"""Stability of each verdict under re-drawn seeds.

A verdict that flips when one seed is left out, or when the seeds are resampled, rests on float noise
rather than on the data. :func:`stability` re-runs every claim's rule on re-drawn metrics files
(:class:`~recsys_challenges.report.evidence.SeedRedraws`): each leave-one-seed-out draw, then
``bootstrap`` resamples of the seeds with replacement (one seeded generator, so the report is
reproducible). Stability is the share of draws whose verdict equals the full-data verdict; the draws
that disagree name the dataset whose evidence changes most often ("tipped by").
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

import numpy as np

from recsys_challenges.config import require
from recsys_challenges.report.evidence import ClaimResult, Evidence, MetricsFile, SeedRedraws

Rule = Callable[[list[MetricsFile]], ClaimResult]


def redraws(files: list[MetricsFile], bootstrap: int, seed: int) -> Iterator[list[MetricsFile]]:
    """Leave-one-seed-out draws (files with at least 3 seeds, so 2 remain for a CI), then ``bootstrap``
    resamples of each file's seeds; a file's methods keep being paired seed by seed."""
    sizes = [len(f.seeds) for f in files]
    draw = [SeedRedraws(f) for f in files]
    most = max(sizes, default=0)
    if most >= 3:
        for left_out in range(most):
            yield [
                redraw([i for i in range(n) if i != left_out % n]) if n >= 3 else f
                for f, n, redraw in zip(files, sizes, draw, strict=True)
            ]
    rng = np.random.default_rng(seed)
    for _ in range(bootstrap if most >= 2 else 0):
        yield [redraw(rng.integers(0, n, n).tolist()) if n >= 2 else f
               for f, n, redraw in zip(files, sizes, draw, strict=True)]


def _by_dataset(evidence: list[Evidence]) -> dict[str, tuple[str, ...]]:
    outcomes: dict[str, list[str]] = {}
    for item in evidence:
        outcomes.setdefault(item.dataset, []).append(item.outcome)
    return {dataset: tuple(values) for dataset, values in outcomes.items()}


def stability(
    files: list[MetricsFile],
    rules: dict[str, Rule],
    results: dict[str, ClaimResult],
    bootstrap: int,
    seed: int,
    unstable_below: float,
) -> dict[str, ClaimResult]:
    """``results`` with each claim's ``stability`` (share of re-draws with the same verdict) and, when
    it is below ``unstable_below``, ``tipped_by``: the dataset whose evidence outcomes differ from the
    full data's in most of the disagreeing draws. Claims with no data, or files with a single seed,
    keep ``stability = None``."""
    agree: Counter[str] = Counter()
    tips: dict[str, Counter[str]] = {claim_id: Counter() for claim_id in rules}
    draws = 0
    for drawn in redraws(files, bootstrap, seed):
        draws += 1
        for claim_id, rule in rules.items():
            redrawn = rule(drawn)
            if redrawn.verdict == results[claim_id].verdict:
                agree[claim_id] += 1
                continue
            full, other = _by_dataset(results[claim_id].evidence), _by_dataset(redrawn.evidence)
            tips[claim_id].update(d for d in full.keys() | other.keys() if full.get(d) != other.get(d))
    updated = {}
    for claim_id, result in results.items():
        if draws == 0 or result.verdict == "no data":
            updated[claim_id] = result
            continue
        share = agree[claim_id] / draws
        tipped = tips[claim_id].most_common(1)[0][0] if share < unstable_below and tips[claim_id] else None
        updated[claim_id] = replace(result, stability=share, tipped_by=tipped, unstable=share < unstable_below)
    return updated


@dataclass(frozen=True)
class ReportConfig:
    """``params.yaml: report``: the seed re-draws behind each verdict's stability."""

    stability_bootstrap: int    # bootstrap resamples of the seeds, after the leave-one-seed-out draws
    stability_seed: int
    unstable_below: float       # a verdict reproduced by fewer draws than this share is marked unstable
    count_user_data: bool = False  # a user's own datasets (data_kind "user") count toward verdicts as real ones

    def __post_init__(self) -> None:
        require(self.stability_bootstrap >= 0, f"stability_bootstrap must be >= 0, got {self.stability_bootstrap}")
        require(0.0 < self.unstable_below <= 1.0, f"unstable_below must be in (0, 1], got {self.unstable_below}")
