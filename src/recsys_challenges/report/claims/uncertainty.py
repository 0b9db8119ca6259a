"""C6-C7, T3 uncertainty-aware decision boundaries (Arora, Merugu, Saladi & Rastogi, ICLR 2024): each
claim's text next to the rule that decides it (:class:`~recsys_challenges.report.claims.Claim`), and the
T3 datasets' roles and power for the report (:func:`uncertainty_role`, :func:`uncertainty_power_table`)."""

from __future__ import annotations

from typing import Any

from recsys_challenges.report.claims import Claim, ClaimParams, files_of, fraction, graded, no_data, number, percent
from recsys_challenges.report.evidence import (
    ClaimResult,
    Count,
    Evidence,
    MetricsFile,
    Verdict,
    ci_above,
    ci_below,
    count_passing,
    decide,
    enough,
)
from recsys_challenges.report.render import ClaimText
from recsys_challenges.stats import minimum_detectable_effect

# the high precision bounds of C7 (the talk: "at high precision")
HIGH_PRECISION = 0.8
BASELINE_BOUNDARY = "single"  # C7's baseline: one score threshold
# the smallest effect the paper reports, relative to the baseline's recall (the rule's "paper effect":
# evidence whose CI reaches it cannot rule the claim out)
PAPER_RECALL_GAIN = 0.25      # Arora et al. 2024: +25% to +40% recall at high precision
# T3 datasets whose figures the claims report shows: the simulator, KDD Cup, and the real tables
# that can decide C6 and C7 (their C7 figure: the boundaries over the test rows)
FIGURE_DATASETS = ("click_log_sim", "kddcup2004_protein", "movielens_100k", "adult_census", "womens_reviews")


def _uncertainty_files(files: list[MetricsFile]) -> tuple[list[MetricsFile], list[MetricsFile]]:
    """T3 files that can carry a verdict, and those excluded because no method reaches any precision
    bound on them (``role.counts_toward_verdict``)."""
    counted, excluded = [], []
    for file in files_of(files, "uncertainty"):
        (counted if file.content["role"]["counts_toward_verdict"] else excluded).append(file)
    return counted, excluded


def _roles(counted: list[MetricsFile], excluded: list[MetricsFile]) -> str:
    """The datasets' roles, for a reason: which were excluded and which are labelled."""
    notes = [f"{f.dataset} excluded (no method reaches any precision bound)" for f in excluded]
    for file in counted:
        labels = [k for k in ("saturated", "underpowered") if file.content["role"][k]]
        if labels:
            notes.append(f"{file.dataset} {' and '.join(labels)}")
    return f" ({'; '.join(notes)})" if notes else ""


def _blind_control(counted: list[MetricsFile]) -> list[str]:
    """The positive control's verdict on the headline estimator: the notes of the simulated datasets
    whose noise-free C7 ceiling says the estimator's uncertainty is uninformative, when every
    simulated dataset says so (else empty: the harness can see the effect somewhere)."""
    simulated = [f for f in counted if f.data_kind == "simulated"]
    notes = [f"{f.dataset}: {f.content['diagnostics']['verdict_note']}" for f in simulated
             if not f.content["diagnostics"]["informative"]]
    return notes if simulated and len(notes) == len(simulated) else []


def _decide_uncertainty(
    claim_id: str, counted: list[MetricsFile], evidence: list[Evidence], reason: str, quantity: str | None
) -> ClaimResult:
    """``untestable`` when the simulator's positive control says the estimator is uninformative; else
    reproduced on enough real datasets, partly on at least one dataset of either kind (``quantity``:
    the evidence that decides)."""
    blind = _blind_control(counted)
    if blind:
        return ClaimResult(claim_id, "untestable", f"estimator uninformative: {'; '.join(blind)}; {reason}", evidence)

    def verdict_of(count: Count) -> Verdict:
        on_real, on_simulated = count(quantity=quantity), count("simulated", quantity)
        return graded(enough(on_real), on_real[0] + on_simulated[0] >= 1)

    return decide(claim_id, evidence, verdict_of, reason)


# C6


def c6_text(params: ClaimParams) -> ClaimText:
    evaluate = params.uncertainty_evaluate
    return ClaimText(
        "C6", "uncertainty", "positivity falls as uncertainty grows",
        "At a fixed score, the empirical positivity rate falls as the model's uncertainty grows.",
        "Per dataset, the headline estimator's (the density posterior: a Beta posterior whose evidence is the "
        "kernel count of training rows near the example in each field's learned embedding) log-odds slope of the "
        "test positivity rate "
        "against the uncertainty's rank within its score bin, over the upper half of the score bins, pooled over "
        "seeds with a group-bootstrap CI. Datasets where no method reaches any precision bound do not count. "
        f"Untestable when the simulator's positive control (noise-free C7 ceiling >= "
        f"{percent(evaluate.uninformative_ceiling)}) says the estimator's "
        "uncertainty is uninformative. Reproduced: CI below 0 on enough real datasets; partly: on at least one "
        "dataset of either kind; inconclusive: a CI that contains 0 and reaches a slope of "
        f"-{number(evaluate.c6_effect)} could tip it; else not.",
        tuple(f"figures/uncertainty/{d}/c6_positivity.png" for d in FIGURE_DATASETS),
    )


def rule_c6(files: list[MetricsFile]) -> ClaimResult:
    counted, excluded = _uncertainty_files(files)
    evidence = []
    for file in counted:
        slope = file.stat("classifier", "c6_slope_upper")
        if slope["mean"] is None:
            continue
        effect = file.content["config"]["c6_effect"]
        quantity = f"c6_slope_upper ({file.content['estimator']}): log-odds, least -> most uncertain at a fixed score"
        evidence.append(Evidence.of(file, quantity, slope, ci_below(slope), effect, direction=-1))
    if not evidence:
        return no_data("C6", "positivity-by-uncertainty slopes on a dataset where some bound is reachable")
    real, simulated = count_passing(evidence), count_passing(evidence, "simulated")
    reason = (
        f"the positivity rate falls with uncertainty at a fixed score (upper-half slope, group-bootstrap CI "
        f"below 0) on {fraction(real)} real and {fraction(simulated)} simulated datasets{_roles(counted, excluded)}"
    )
    return _decide_uncertainty("C6", counted, evidence, reason, None)


C6 = Claim("C6", c6_text, rule_c6)


# C7


def c7_text(params: ClaimParams) -> ClaimText:
    return ClaimText(
        "C7", "uncertainty", "one threshold per uncertainty level raises recall",
        "At high precision bounds, one threshold per uncertainty level gives higher recall than a single score "
        "threshold (paper: +25% to +40%).",
        f"Per dataset, the relative test recall gain of EW-DPMT over the single threshold at every precision "
        f"bound >= {HIGH_PRECISION} the single threshold meets on the hold-out of every seed and above the "
        "hold-out's positive share (a lower bound is met by selecting every row), both chosen on the "
        f"hold-out with a {percent(params.uncertainty_boundaries.confidence)} Wilson "
        "lower bound on their precision (EW-DPMT's levels and score bins chosen per bound by K-fold "
        "cross-validation on the hold-out, with a minimum of positives in every level's top bin: "
        "uncertainty.boundaries), pooled over "
        "seeds with a group-bootstrap CI (MIST shown for context). "
        "Datasets where no method reaches any precision bound do not count; untestable when the simulator's "
        "positive control says the estimator is uninformative. Reproduced: CI above 0 at every such bound on enough "
        "real datasets; partly: on at least one dataset of either kind; inconclusive: a CI that contains 0 and "
        f"reaches the paper's +{percent(PAPER_RECALL_GAIN)} could tip it; else not.",
        (
            *(f"figures/uncertainty/{d}/c7_gain.png" for d in FIGURE_DATASETS[:2]),
            *(f"figures/uncertainty/{d}/boundary.png" for d in FIGURE_DATASETS[2:]),
        ),
    )


def _c7_evidence(file: MetricsFile) -> tuple[list[Evidence], set[str], set[str]]:
    """One dataset's recall gains at the high precision bounds, and the bounds left out: those the single
    threshold meets on the hold-out of some seeds only, and those at or below the hold-out's positive share."""
    evidence, unreached, trivial = [], set(), set()
    for method, by_bound in sorted(file.content["c7"]["recall_gain"].items()):
        for bound, gain in sorted(by_bound.items()):
            if float(bound) < HIGH_PRECISION or gain["mean"] is None:
                continue
            # a bound the baseline meets on the hold-out of some seeds only compares recalls of
            # a few rows (the simulator at 0.9: 0.1% vs 0.2%), not two boundaries
            feasible = file.stat(BASELINE_BOUNDARY, f"feasible@{bound}")["mean"]
            if feasible < 1.0:
                unreached.add(f"{file.dataset} @ {bound} ({100 * feasible:.0f}% of seeds)")
                continue
            # a bound at or below the hold-out's positive share is met by selecting every row:
            # no boundary to compare (women's reviews, 82% positive, at 0.8)
            data = file.content["data"]
            share = data["positives"]["holdout"] / data["rows"]["holdout"]
            if float(bound) <= share:
                trivial.add(f"{file.dataset} @ {bound} ({100 * share:.0f}% positive)")
                continue
            quantity = f"{method} / single - 1 @ precision {bound} ({file.content['estimator']})"
            evidence.append(Evidence.of(file, quantity, gain, ci_above(gain), PAPER_RECALL_GAIN))
    return evidence, unreached, trivial


def rule_c7(files: list[MetricsFile]) -> ClaimResult:
    counted, excluded = _uncertainty_files(files)
    evidence, unreached, trivial = [], set(), set()
    for file in counted:
        found, file_unreached, file_trivial = _c7_evidence(file)
        evidence += found
        unreached |= file_unreached
        trivial |= file_trivial
    if not evidence:
        return no_data("C7", "recall gains at a high precision bound the single threshold reaches on every seed")
    real, simulated = count_passing(evidence, quantity="ew_dpmt"), count_passing(evidence, "simulated", "ew_dpmt")
    gains = [e.mean for e in evidence if e.quantity.startswith("ew_dpmt")]
    reason = (
        f"EW-DPMT's relative recall gain over one threshold at precision >= {HIGH_PRECISION} has a group-bootstrap "
        f"CI above 0 at every high bound the single threshold reaches on every seed, on {fraction(real)} real and "
        f"{fraction(simulated)} simulated datasets; gains {100 * min(gains):+.1f}% to {100 * max(gains):+.1f}% "
        f"(paper: +25% to +40%){_roles(counted, excluded)}"
    )
    if unreached:
        reason += f"; left out, the single threshold meets the bound on the hold-out of only some seeds: {', '.join(sorted(unreached))}"
    if trivial:
        reason += f"; left out, a bound at or below the hold-out's positive share (met by selecting all): {', '.join(sorted(trivial))}"
    return _decide_uncertainty("C7", counted, evidence, reason, "ew_dpmt")


C7 = Claim("C7", c7_text, rule_c7)


# the T3 datasets' roles and power, for the report's captions and appendix


def uncertainty_role(file: MetricsFile) -> str:
    """A T3 dataset's role in a few words, for figure captions: its kind, whether it counts toward
    the C6/C7 verdicts, its labels (saturated, underpowered) and its C6 minimum detectable effect."""
    role = file.content["role"]
    if file.data_kind == "simulated":
        words = ["simulated, the positive control"]
    else:
        words = [file.data_kind]
    if not role["counts_toward_verdict"]:
        return ", ".join([*words, "excluded: no method reaches any precision bound"])
    words += [k for k in ("saturated", "underpowered") if role[k]] or (
        ["neither saturated nor underpowered"] if file.data_kind != "simulated" else []
    )
    mde = role.get("power", {}).get("c6_mde")
    if mde is not None:
        words.append(f"C6 MDE {mde:.2f} log-odds")
    return ", ".join(words)


def _gain_text(gain: dict[str, Any]) -> str:
    if gain["mean"] is None:
        return "n/a"
    ci = "" if gain["ci95"] is None else f" [{100 * gain['ci95'][0]:+.1f}, {100 * gain['ci95'][1]:+.1f}]"
    mde = "" if gain.get("mde") is None else f" (MDE {100 * gain['mde']:.1f})"
    return f"{100 * gain['mean']:+.1f}%{ci}{mde}"


def _power_row(file: MetricsFile) -> str:
    """One T3 dataset's row of :func:`uncertainty_power_table`."""
    role, slope = file.content["role"], file.stat("classifier", "c6_slope_upper")
    auc = file.stat("classifier", "test_auc")["mean"]
    c6 = "n/a" if slope["mean"] is None else f"{slope['mean']:+.2f} [{slope['ci95'][0]:+.2f}, {slope['ci95'][1]:+.2f}]"
    mde = "" if slope.get("mde") is None else f"{slope['mde']:.2f}"
    bounds = [b for b in sorted(file.content["c7"]["recall_gain"].get("ew_dpmt", {}))
              if file.stat(BASELINE_BOUNDARY, f"feasible@{b}")["mean"] == 1.0]
    gains = {
        method: "; ".join(f"@{b}: {_gain_text(file.content['c7']['recall_gain'][method][b])}" for b in bounds)
        for method in ("ew_dpmt", "mist")
    }
    return (
        f"| {file.dataset} | {file.data_kind} | {role.get('test_rows', '')} | {role.get('test_positives', '')} | "
        f"{auc:.3f} | {uncertainty_role(file)} | {c6} | {mde} | {gains['ew_dpmt'] or 'none'} | "
        f"{gains['mist'] or 'none'} |"
    )


def uncertainty_power_table(files: list[MetricsFile], params: ClaimParams) -> list[str]:
    """Markdown lines: per T3 dataset its test rows and positives, test AUC, role, the headline C6
    slope with its CI and minimum detectable effect, and EW-DPMT's and MIST's recall gains over one
    threshold (CI, MDE) at every bound the single threshold meets on the hold-out of every seed."""
    rows = files_of(files, "uncertainty")
    if not rows:
        return []
    lines = [
        "## T3 datasets: roles and power",
        "",
        f"Per dataset (headline estimator): what it can decide. MDE: the minimum detectable effect "
        f"({minimum_detectable_effect(1.0):.1f} bootstrap SE); C6's effect of interest is a slope of "
        f"{number(params.uncertainty_evaluate.c6_effect)} log-odds, C7's the paper's +{percent(PAPER_RECALL_GAIN)}. "
        "Gains are relative recall gains over one threshold, in %, at every precision bound the single threshold "
        "meets on the hold-out of every seed.",
        "",
        "| dataset | data | test rows | test positives | test AUC | role | C6 slope [95% CI] | C6 MDE | "
        "EW-DPMT gain [CI] (MDE) | MIST gain [CI] (MDE) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    return [*lines, *(_power_row(file) for file in rows), ""]
