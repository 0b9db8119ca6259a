"""Building blocks of claim verdicts: the metrics index, paired comparisons, and verdict records.

Every metrics file (``reports/metrics/<technique>/<dataset>.json``) has the core layout

    {"technique", "dataset", "data_kind": "real" | "simulated" | "user", "seeds": [...],
     "summary": {method: {metric: {"mean", "std", "n", "ci95", "values"}}}, ...}

with per-seed ``values`` in seed order, so two methods of one file can be compared seed by seed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from recsys_challenges.errors import DataError
from recsys_challenges.stats import mean_ci

Verdict = Literal["reproduced", "partly reproduced", "not reproduced", "no data"]
CORE_KEYS = ("technique", "dataset", "data_kind", "seeds", "summary")
DATA_KINDS = ("real", "simulated", "user")  # user: a dataset of one's own (prepare-local), listed, never counted


@dataclass(frozen=True)
class MetricsFile:
    technique: str
    dataset: str
    data_kind: str
    seeds: list[int]
    content: dict[str, Any]
    path: Path

    def stat(self, method: str, metric: str) -> dict[str, Any]:
        """The summary of ``metric`` for ``method`` (a ``mean_ci`` dict); a clear error if absent."""
        try:
            return self.content["summary"][method][metric]
        except KeyError:
            methods = ", ".join(self.content["summary"])
            raise DataError(f"{self.path}: no summary for method {method!r}, metric {metric!r} (methods: {methods})") from None

    def has(self, method: str, metric: str) -> bool:
        return metric in self.content["summary"].get(method, {})


def load_metrics(root: Path | str) -> list[MetricsFile]:
    """Every ``<technique>/<dataset>.json`` under ``root``, checked for the core layout."""
    files = []
    for path in sorted(Path(root).glob("*/*.json")):
        try:
            content = json.loads(path.read_text())
        except json.JSONDecodeError as error:
            raise DataError(f"{path}: not valid JSON: {error}") from None
        missing = [k for k in CORE_KEYS if k not in content]
        if missing:
            raise DataError(f"{path}: missing key(s) {', '.join(missing)} of the metrics layout")
        if content["data_kind"] not in DATA_KINDS:
            raise DataError(f"{path}: data_kind must be one of {', '.join(DATA_KINDS)}, got {content['data_kind']!r}")
        files.append(
            MetricsFile(content["technique"], content["dataset"], content["data_kind"], list(content["seeds"]), content, path)
        )
    return files


def paired_difference(a: dict[str, Any], b: dict[str, Any], where: str) -> dict[str, Any]:
    """``mean_ci`` of the per-seed differences ``a - b`` (both summaries over the same seeds, in order)."""
    if len(a["values"]) != len(b["values"]):
        raise DataError(f"{where}: cannot pair {len(a['values'])} seeds with {len(b['values'])}")
    return mean_ci([x - y for x, y in zip(a["values"], b["values"], strict=True)])


def ci_above(summary: dict[str, Any], threshold: float = 0.0) -> bool:
    """The 95% CI lies entirely above ``threshold`` (False with a single seed: no interval, no evidence)."""
    return summary["ci95"] is not None and summary["ci95"][0] > threshold


def ci_below(summary: dict[str, Any], threshold: float = 0.0) -> bool:
    """The 95% CI lies entirely below ``threshold`` (False with a single seed)."""
    return summary["ci95"] is not None and summary["ci95"][1] < threshold


@dataclass(frozen=True)
class Evidence:
    """One number behind a verdict: what was compared, on which data, and whether it passes the rule."""

    dataset: str
    data_kind: str
    quantity: str
    mean: float
    ci95: list[float] | None
    n: int
    passes: bool

    @classmethod
    def of(cls, file: MetricsFile, quantity: str, summary: dict[str, Any], passes: bool) -> Evidence:
        return cls(file.dataset, file.data_kind, quantity, summary["mean"], summary["ci95"], summary["n"], passes)


@dataclass(frozen=True)
class ClaimResult:
    claim_id: str
    verdict: Verdict
    reason: str
    evidence: list[Evidence] = field(default_factory=list)


def count_passing(evidence: list[Evidence], data_kind: str = "real", quantity: str | None = None) -> tuple[int, int]:
    """(datasets where every piece of evidence passes, datasets with evidence), for one data kind,
    optionally only the evidence whose ``quantity`` starts with ``quantity``."""
    by_dataset: dict[str, list[bool]] = {}
    for item in evidence:
        if item.data_kind == data_kind and (quantity is None or item.quantity.startswith(quantity)):
            by_dataset.setdefault(item.dataset, []).append(item.passes)
    return sum(all(v) for v in by_dataset.values()), len(by_dataset)


def enough(counts: tuple[int, int]) -> bool:
    """``counts`` = (passing, total): at least half of the datasets pass, and at least two of them (or
    all, when fewer than two exist)."""
    passing, total = counts
    return total > 0 and passing >= max(min(2, total), (total + 1) // 2)
