"""Building blocks of claim verdicts: the metrics index, paired comparisons, and verdict records.

Every metrics file (``reports/metrics/<technique>/<dataset>.json``) has the core layout

    {"technique", "dataset", "data_kind": "real" | "simulated" | "user", "seeds": [...],
     "summary": {method: {metric: {"mean", "std", "n", "ci95", "values"}}}, ...}

with per-seed ``values`` in seed order, so two methods of one file can be compared seed by seed.

Verdict scale (:data:`Verdict`): ``reproduced`` / ``partly reproduced`` / ``not reproduced`` as the
claim's rule says; ``inconclusive`` when the data cannot tell two of those apart (some evidence has a
CI that includes 0 *and* the effect the paper reports, :func:`decide`); ``untestable`` when a
rule's own control (a positive control, an oracle ceiling) shows that the harness cannot see the
effect; ``no data``. Each verdict also gets a *stability* (:mod:`recsys_challenges.report.stability`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any, Literal

from recsys_challenges.errors import DataError
from recsys_challenges.stats import mean_ci

Verdict = Literal["reproduced", "partly reproduced", "not reproduced", "inconclusive", "untestable", "no data"]
Outcome = Literal["pass", "fail", "inconclusive"]

CORE_KEYS = ("technique", "dataset", "data_kind", "seeds", "summary")
# metrics files of another layout, read by their own figures and not by the claim rules
# (``regime_sweep``: ``delayed/sweep.json``, simulated regimes of stage delayed_sweep)
OTHER_LAYOUTS = ("regime_sweep",)
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


def load_metrics(root: Path | str, pattern: str = "*/*.json") -> list[MetricsFile]:
    """Every ``<technique>/<dataset>.json`` under ``root`` (those matching ``pattern``, e.g.
    ``directed/*.json``), checked for the core layout (files whose ``layout`` is one of
    :data:`OTHER_LAYOUTS` are left out)."""
    files = []
    for path in sorted(Path(root).glob(pattern)):
        try:
            content = json.loads(path.read_text())
        except json.JSONDecodeError as error:
            raise DataError(f"{path}: not valid JSON: {error}") from None
        if content.get("layout") in OTHER_LAYOUTS:
            continue
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


def outcome_of(passes: bool, ci95: list[float] | None, paper_effect: float | None, direction: int = 1) -> Outcome:
    """``pass`` when the rule's test passes; ``inconclusive`` when it does not but the 95% CI (oriented
    by ``direction``: +1 when larger supports the claim, -1 when smaller does) still reaches the
    paper's effect, so the data cannot rule it out (no CI, one seed, counts as that too); else ``fail``.
    Without a ``paper_effect`` every non-pass is a ``fail``."""
    if passes:
        return "pass"
    if paper_effect is None:
        return "fail"
    if ci95 is None:
        return "inconclusive"
    upper = ci95[1] if direction > 0 else -ci95[0]
    return "inconclusive" if upper >= abs(paper_effect) else "fail"


@dataclass(frozen=True)
class Evidence:
    """One number behind a verdict: what was compared, on which data, whether it passes the rule, and
    its :func:`outcome_of` against the effect the paper reports (on the same scale as ``mean``)."""

    dataset: str
    data_kind: str
    quantity: str
    mean: float
    ci95: list[float] | None
    n: int
    passes: bool
    outcome: Outcome = "fail"
    paper_effect: float | None = None
    mde: float | None = None  # minimum detectable effect of the CI, where the metrics file gives one

    def __post_init__(self) -> None:
        if self.passes and self.outcome != "pass":
            object.__setattr__(self, "outcome", "pass")

    @classmethod
    def of(
        cls,
        file: MetricsFile,
        quantity: str,
        summary: dict[str, Any],
        passes: bool,
        paper_effect: float | None = None,
        direction: int = 1,
    ) -> Evidence:
        outcome = outcome_of(passes, summary["ci95"], paper_effect, direction)
        return cls(
            file.dataset, file.data_kind, quantity, summary["mean"], summary["ci95"], summary["n"], passes, outcome,
            None if paper_effect is None else direction * abs(paper_effect), summary.get("mde"),
        )


@dataclass(frozen=True)
class ClaimResult:
    """A claim's verdict; ``stability`` is the share of seed re-draws giving the same verdict and
    ``tipped_by`` the dataset whose evidence changes most often in the draws that disagree."""

    claim_id: str
    verdict: Verdict
    reason: str
    evidence: list[Evidence] = field(default_factory=list)
    stability: float | None = None
    tipped_by: str | None = None
    unstable: bool = False


def count_passing(
    evidence: list[Evidence], data_kind: str = "real", quantity: str | None = None, lenient: bool = False
) -> tuple[int, int]:
    """(datasets where every piece of evidence passes, datasets with evidence), for one data kind,
    optionally only the evidence whose ``quantity`` starts with ``quantity``. ``lenient`` counts
    inconclusive evidence as passing (the best case the data allow)."""
    accepted = ("pass", "inconclusive") if lenient else ("pass",)
    by_dataset: dict[str, list[bool]] = {}
    for item in evidence:
        if item.data_kind == data_kind and (quantity is None or item.quantity.startswith(quantity)):
            by_dataset.setdefault(item.dataset, []).append(item.outcome in accepted)
    return sum(all(v) for v in by_dataset.values()), len(by_dataset)


Count = Callable[..., tuple[int, int]]


def decide(claim_id: str, evidence: list[Evidence], verdict_of: Callable[[Count], Verdict], reason: str) -> ClaimResult:
    """The verdict of ``verdict_of(count)``, where ``count(data_kind="real", quantity=None)`` is
    :func:`count_passing` over ``evidence``; computed with inconclusive evidence as failing and as
    passing. When the two differ the data cannot tell them apart and the verdict is ``inconclusive``."""
    strict = verdict_of(partial(count_passing, evidence))
    lenient = verdict_of(partial(count_passing, evidence, lenient=True))
    if strict == lenient:
        return ClaimResult(claim_id, strict, reason, evidence)
    open_sets = sorted({f"{e.dataset}" for e in evidence if e.outcome == "inconclusive"})
    reason += (
        f"; inconclusive: the data cannot tell '{strict}' from '{lenient}' (CIs that include both 0 and the "
        f"paper's effect on {', '.join(open_sets)})"
    )
    return ClaimResult(claim_id, "inconclusive", reason, evidence)


SUMMARY = "summary"  # a node of a redraw plan: a summary dict to recompute


def _redraw_plan(node: Any, n: int) -> Any:
    """Where ``node``'s summaries over ``n`` seeds are: :data:`SUMMARY` for a summary dict (per-seed
    ``values``, a ``mean``, a Student-t CI), a dict or list of the plans of the children that hold one,
    or None where none does (that part of a redrawn file is the original, shared)."""
    if isinstance(node, dict):
        values = node.get("values")
        if isinstance(values, list) and len(values) == n and "mean" in node and node.get("ci_method", "t") == "t":
            return SUMMARY
        plans = {key: plan for key, value in node.items() if (plan := _redraw_plan(value, n)) is not None}
        return plans or None
    if isinstance(node, list) and any(isinstance(item, dict | list) for item in node):
        plans = [_redraw_plan(item, n) for item in node]
        return plans if any(plan is not None for plan in plans) else None
    return None


def _redraw(node: Any, plan: Any, positions: list[int]) -> Any:
    if plan is None:
        return node
    if plan is SUMMARY:
        return node | mean_ci([node["values"][i] for i in positions])
    if isinstance(node, dict):
        return {key: _redraw(value, plan.get(key), positions) for key, value in node.items()}
    return [_redraw(item, item_plan, positions) for item, item_plan in zip(node, plan, strict=True)]


class SeedRedraws:
    """Re-draws of one file's seeds: ``SeedRedraws(file)(positions)`` is ``file`` as if only the seeds
    at ``positions`` (repeats allowed) had been run. Every summary dict with one per-seed value per seed
    is recomputed by :func:`mean_ci`; summaries whose CI is not a Student-t over seeds carry
    ``"ci_method"`` (other than ``"t"``) and are kept as they are. The summaries are located once: the
    stability report redraws every file a few hundred times, and walking the whole file each time took
    most of the report stage."""

    def __init__(self, file: MetricsFile) -> None:
        self.file = file
        self.plan = _redraw_plan(file.content, len(file.seeds))

    def __call__(self, positions: list[int]) -> MetricsFile:
        seeds = [self.file.seeds[i] for i in positions]
        content = _redraw(self.file.content, self.plan, positions) | {"seeds": seeds}
        return replace(self.file, seeds=seeds, content=content)


def enough(counts: tuple[int, int]) -> bool:
    """``counts`` = (passing, total): at least half of the datasets pass, and at least two of them (or
    all, when fewer than two exist)."""
    passing, total = counts
    return total > 0 and passing >= max(min(2, total), (total + 1) // 2)
