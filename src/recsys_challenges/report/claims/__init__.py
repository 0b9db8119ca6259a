"""The seven claims of the talk (Rastogi, RecSys 2023 keynote; ``../shared/DESIGN.md``), each written
next to the rule that turns the metrics files into its verdict.

A :class:`Claim` pairs ``text`` (what the claim says and how its verdict is decided, shown in the
report, with the numbers of params.yaml: :class:`ClaimParams`) with ``rule``. The claims live by
technique: :mod:`.directed` (C1-C3, T1), :mod:`.delayed` (C4-C5, T2), :mod:`.uncertainty` (C6-C7,
T3); this module holds what they share and :data:`CLAIMS`, all of them in report order.

A rule reads only :class:`~recsys_challenges.report.evidence.MetricsFile` objects (the
``reports/metrics/**.json`` files) and returns a :class:`ClaimResult` with the numbers it used.
Comparisons of two methods are per-seed paired differences (same split and seed), so their 95%
Student-t CI says whether the gap is larger than the seed-to-seed noise. "Enough datasets" means at
least half of the real datasets and at least two of them, or every real dataset when fewer than
two exist (:func:`~recsys_challenges.report.evidence.enough`). Each rule states its verdict as a
function of those counts (on the scale of :func:`graded`) and hands it to
:func:`~recsys_challenges.report.evidence.decide`, which says ``inconclusive`` when evidence whose
CI includes both 0 and the paper's reported effect could tip it; :func:`judge` adds each verdict's
stability under re-drawn seeds (:mod:`recsys_challenges.report.stability`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from recsys_challenges.config import PARAMS_FILE, load_section
from recsys_challenges.report.evidence import ClaimResult, Evidence, MetricsFile, Verdict, ci_above, paired_difference
from recsys_challenges.report.render import ClaimText
from recsys_challenges.report.stability import ReportConfig, stability

if TYPE_CHECKING:
    from recsys_challenges.directed import config as directed_config
    from recsys_challenges.uncertainty import config as uncertainty_config

Rule = Callable[[list[MetricsFile]], ClaimResult]

LOWER_IS_BETTER = {"nll"}  # metrics whose paired gaps are taken the other way round (T2's NLL)


@dataclass(frozen=True)
class ClaimParams:
    """The params.yaml values the claim texts quote, read by the techniques' own config dataclasses
    (:func:`load_claim_params`), so that a text cannot drift from the runs it describes."""

    directed_train: directed_config.TrainParams
    directed_model: directed_config.ModelParams
    directed_sampling: directed_config.SamplingParams
    directed_evaluate: directed_config.EvaluateParams
    directed_search: directed_config.SearchParams
    uncertainty_boundaries: uncertainty_config.BoundaryParams
    uncertainty_evaluate: uncertainty_config.EvaluateParams


def load_claim_params(path: Path | str = PARAMS_FILE) -> ClaimParams:
    """The :class:`ClaimParams` of ``path``."""
    # imported here, not at the top: the rules, and the headline stages that import their method
    # names, need no technique module beyond these configs (which import no torch)
    from recsys_challenges.directed import config as directed
    from recsys_challenges.uncertainty import config as uncertainty

    return ClaimParams(
        directed_train=directed.load(directed.TrainParams, "train", path),
        directed_model=directed.load(directed.ModelParams, "model", path),
        directed_sampling=directed.load(directed.SamplingParams, "sampling", path),
        directed_evaluate=directed.load(directed.EvaluateParams, "evaluate", path),
        directed_search=directed.load(directed.SearchParams, "search", path),
        uncertainty_boundaries=load_section(uncertainty.BoundaryParams, "uncertainty.boundaries", path),
        uncertainty_evaluate=load_section(uncertainty.EvaluateParams, "uncertainty.evaluate", path),
    )


@dataclass(frozen=True)
class Claim:
    """A claim of the talk: ``text`` says what it claims and how ``rule`` decides its verdict, with
    the numbers of the params; ``rule`` gives the verdict from the metrics files alone."""

    claim_id: str
    text: Callable[[ClaimParams], ClaimText]
    rule: Rule


# numbers as the texts write them


def number(value: float) -> str:
    """``0.003``, ``1``, ``1e-6``: the shortest form (``g``) without the exponent's padding."""
    return re.sub(r"e([+-])0*(\d)", r"e\1\2", f"{value:g}")


def percent(share: float) -> str:
    """``0.995`` -> ``99.5%``, ``0.05`` -> ``5%``."""
    return f"{number(round(100 * share, 6))}%"


def grid(values: list[float]) -> str:
    """A search axis: ``{0.003, 0.01, 0.02}``."""
    return "{" + ", ".join(number(v) for v in values) + "}"


# what every rule uses


def files_of(files: list[MetricsFile], technique: str) -> list[MetricsFile]:
    return [f for f in files if f.technique == technique]


def real_files_of(files: list[MetricsFile], technique: str) -> list[MetricsFile]:
    return [f for f in files_of(files, technique) if f.data_kind == "real"]


def graded(reproduced: bool, partly: bool) -> Verdict:
    """The verdict scale of every rule: reproduced, else partly reproduced, else not reproduced."""
    return "reproduced" if reproduced else "partly reproduced" if partly else "not reproduced"


def no_data(claim_id: str, what: str) -> ClaimResult:
    return ClaimResult(claim_id, "no data", f"no metrics file holds {what}")


def fraction(counts: tuple[int, int]) -> str:
    """(passing, total) as ``passing/total``."""
    return f"{counts[0]}/{counts[1]}"


def span(ci95: list[float] | None) -> str:
    return "no CI" if ci95 is None else f"{ci95[0]:+.4f}, {ci95[1]:+.4f}"


def undecided(item: Evidence, why: str) -> Evidence:
    """``item`` as evidence that cannot decide (``inconclusive`` whatever its CI says), with the reason."""
    return replace(item, quantity=f"{item.quantity} [{why}]", passes=False, outcome="inconclusive")


def paired_gap(file: MetricsFile, better: str, worse: str, metric: str) -> dict[str, Any]:
    """Per-seed paired gap by which ``better`` beats ``worse``: ``better - worse``, or ``worse - better``
    for a lower-is-better metric (NLL)."""
    a, b = file.stat(better, metric), file.stat(worse, metric)
    if metric in LOWER_IS_BETTER:
        a, b = b, a
    return paired_difference(a, b, f"{file.path}: {metric}")


def paired(
    file: MetricsFile, better: str, worse: str, metric: str, prefix: str = "", relative_effect: float | None = None
) -> Evidence:
    """Evidence that ``better`` beats ``worse`` on ``metric``: the CI of the (sign-adjusted) gap lies above 0.
    ``relative_effect``: the paper's gain as a fraction of ``worse``'s mean (its ``paper_effect``)."""
    gap = paired_gap(file, better, worse, metric)
    flipped = " (lower is better: sign flipped)" if metric in LOWER_IS_BETTER else ""
    effect = None if relative_effect is None else relative_effect * abs(file.stat(worse, metric)["mean"])
    return Evidence.of(file, f"{prefix}{better} - {worse}: {metric}{flipped}", gap, ci_above(gap), effect)


# every claim, in report order: the technique modules import the helpers above, so they come after them
from recsys_challenges.report.claims import delayed, directed, uncertainty  # noqa: E402

CLAIMS: tuple[Claim, ...] = (
    directed.C1, directed.C2, directed.C3, delayed.C4, delayed.C5, uncertainty.C6, uncertainty.C7,
)
RULES: dict[str, Rule] = {claim.claim_id: claim.rule for claim in CLAIMS}


def claim_texts(params: ClaimParams) -> list[ClaimText]:
    """Every claim's text, in report order, with the numbers of ``params``."""
    return [claim.text(params) for claim in CLAIMS]


def judge(files: list[MetricsFile], config: ReportConfig | None = None) -> dict[str, ClaimResult]:
    """The verdict of every claim, from the metrics files alone; with ``config``, also each verdict's
    stability under re-drawn seeds.

    A user's own datasets (``data_kind: "user"``, README "Your own data") are judged apart: their
    evidence is listed with each claim's, but the verdict, its reason and its stability come from
    the other files only, unless ``config.count_user_data`` (then they count as real datasets,
    named "<dataset> (user data)")."""
    own = [f for f in files if f.data_kind == "user"]
    counted = [f for f in files if f.data_kind != "user"]
    if config is not None and config.count_user_data:
        counted += [replace(f, dataset=f"{f.dataset} (user data)", data_kind="real") for f in own]
        own = []
    results = {claim.claim_id: claim.rule(counted) for claim in CLAIMS}
    if config is not None:
        results = stability(counted, RULES, results, config.stability_bootstrap, config.stability_seed,
                            config.unstable_below)
    if own:
        # each rule reads the user's files as real ones (some rules judge real data only), and their
        # evidence is labelled "user" again for the tables
        as_real = [replace(f, data_kind="real") for f in own]
        results = {
            key: replace(
                result, evidence=result.evidence + [replace(e, data_kind="user") for e in RULES[key](as_real).evidence]
            )
            for key, result in results.items()
        }
    return results
