"""Stages ``report`` (claims.md, claims.json, headline/claims.json) and ``report_gallery`` (README.md, index.html).

``report`` reads only ``reports/metrics/<technique>/<dataset>.json`` and applies the rules of
:mod:`recsys_challenges.report.claims` (their texts quote ``--params``). ``report_gallery`` adds
every figure of ``reports/figures/`` with one paragraph each (:data:`CAPTIONS`) to the verdicts and
titles of ``claims.json``; the HTML page embeds the PNGs, so it opens offline (``make screenshot``
renders it in headless Chromium).
"""

from __future__ import annotations

import argparse
import json
from fnmatch import fnmatch
from pathlib import Path

from recsys_challenges.config import load_section
from recsys_challenges.report.claims import CLAIMS, claim_texts, judge, load_claim_params
from recsys_challenges.report.claims.uncertainty import uncertainty_power_table, uncertainty_role
from recsys_challenges.report.evidence import ClaimResult, Evidence, load_metrics
from recsys_challenges.report.render import (
    ClaimText,
    Figure,
    claims_json,
    claims_markdown,
    gallery_html,
    gallery_markdown,
    stability_text,
    verdict_summary,
    write_text,
)
from recsys_challenges.report.stability import ReportConfig

REPORTS = Path("reports")

# figure path (relative to reports/, fnmatch pattern) -> one paragraph; the first match wins
CAPTIONS: dict[str, str] = {
    "figures/directed/c1_direction_auc.png": (
        "C1. Direction AUC on held-out one-way edges u -> v: how often a method scores u -> v above v -> u "
        "(mean and 95% CI over seeds). Any symmetric scorer, such as one embedding per node with a dot "
        "product, sits at 0.5; the popularity bar is the training-free in-degree rule, the bar to beat."
    ),
    "figures/directed/c2_ranking.png": (
        "C2. Node recommendation: MRR and HitRate@10 of the true target ranked against every node (filtered), "
        "per method and graph, mean and 95% CI over seeds."
    ),
    "figures/directed/c3_degree_buckets.png": (
        "C3. MRR by source-degree bucket (q1 = lowest training degree), degree-adaptive against fixed fan-out "
        "at equal mean neighbour budget: the talk expects the largest gain on the left."
    ),
    "figures/directed/example_forward_backward.png": (
        "The talk's 'phone -> phone case' example on real Amazon products: the top targets of s_u . t_v "
        "(forward, bought after u) against the top sources of s_w . t_u (backward, bought before u)."
    ),
    "figures/delayed/c4_methods.png": (
        "C4. AUC, PR-AUC and NLL of every method over the whole stream (mean and 95% CI over seeds); real "
        "Taobao and the calibrated simulator in separate rows."
    ),
    "figures/delayed/c4_stream.png": "C4. AUC and NLL over the stream, seed mean, rolling over a day of hourly slots.",
    "figures/delayed/c5_signals.png": (
        "C5. Relative improvement RI = (M - vanilla) / (oracle - vanilla) with and without pre-conversion "
        "signals in the weights, and on the simulator at several signal strengths."
    ),
    "figures/delayed/c5_regime_sweep.png": (
        "C5 by regime (stage delayed_sweep): simulated streams, one factor at a time around a base regime "
        "(conversion rate, ES-DFM's elapsed window c, share of slow delays, signal strength). Lines: AUC gain "
        "over ES-DFM of the signal-aware weights and of their ceiling (fake negatives weighted 0 by their true "
        "flip), paired by seed with 95% CIs; bars: the share of fake negatives among observed negatives, the "
        "room any signal-aware weight has."
    ),
    "figures/delayed/c4_drift_sweep.png": (
        "C4 by drift (stage delayed_sweep): simulated streams at the sweep's base regime with campaigns that "
        "matter more (the sd of a campaign's logit effect) or live shorter. Lines: AUC minus ES-DFM of the "
        "oracle, the signal-aware weights, vanilla and each waiting-N, paired by seed with 95% CIs: where the "
        "waiting lines fall below 0, waiting for mature labels stops winning."
    ),
    "figures/delayed/waiting_tradeoff.png": (
        "The waiting-N trade-off: waiting longer gives more correct labels but staler data; the reference lines "
        "are the oracle, ES-DFM and the signal-aware weights."
    ),
    "figures/uncertainty/*/c6_positivity.png": (
        "C6. Test positivity rate against the mean score, one curve per uncertainty level (quantiles within each "
        "score bin), Clopper-Pearson 95% intervals, one panel per estimator (density posterior, posterior network, "
        "deep ensemble, MC dropout) titled with its pooled upper-half slope: the claim expects the high-uncertainty curves below."
    ),
    "figures/uncertainty/*/c6_heatmap.png": (
        "C6. The headline estimator's (density posterior) positivity rates over (score bin, uncertainty level)."
    ),
    "figures/uncertainty/*/c7_recall.png": (
        "C7. Test recall (bootstrap 95% CI) and achieved test precision against the precision bound for one "
        "threshold, EW-DPMT and MIST, all chosen on the hold-out split with a 99.5% Wilson lower bound."
    ),
    "figures/uncertainty/*/c7_gain.png": (
        "C7. Recall gain of EW-DPMT and MIST over one threshold against the precision bound (group-bootstrap 95% "
        "CI pooled over seeds), one panel per estimator; on simulated data the noise-free ceiling is drawn, and "
        "the paper's +25% is marked."
    ),
    "figures/uncertainty/*/boundary.png": (
        "The decision boundaries chosen on the hold-out, drawn over the test rows in the (score, detrended "
        "uncertainty) plane: one threshold per uncertainty level against the single threshold."
    ),
}
UNCAPTIONED = "(no paragraph registered for this figure in report/stage.py:CAPTIONS)"


def figures(root: Path, roles: dict[str, str] | None = None) -> list[Figure]:
    """Every PNG under ``root/figures`` with its technique and paragraph, in path order; a figure of
    one dataset is captioned with the dataset's name and, where ``roles`` has one, its role."""
    roles = roles or {}
    found = []
    for path in sorted((root / "figures").rglob("*.png")):
        relative = path.relative_to(root).as_posix()
        dataset = path.parent.name if path.parent.parent.name != "figures" else ""
        caption = next((text for pattern, text in CAPTIONS.items() if fnmatch(relative, pattern)), UNCAPTIONED)
        prefix = (f"{dataset} ({roles[dataset]}): " if dataset in roles else f"{dataset}: ") if dataset else ""
        found.append(Figure(relative, relative.split("/")[1], prefix + caption))
    return found


def uncertainty_roles(metrics_root: Path) -> dict[str, str]:
    """T3 dataset -> its role in words (:func:`~recsys_challenges.report.claims.uncertainty.uncertainty_role`)."""
    return {f.dataset: uncertainty_role(f) for f in load_metrics(metrics_root) if f.technique == "uncertainty"}


def load_results(path: Path) -> dict[str, ClaimResult]:
    """The verdicts written by ``report`` (claims.json), for the gallery."""
    payload = json.loads(path.read_text())
    return {
        claim_id: ClaimResult(
            claim_id, entry["verdict"], entry["reason"], [Evidence(**e) for e in entry["evidence"]],
            entry["stability"], entry["tipped_by"], entry["unstable"],
        )
        for claim_id, entry in payload.items()
    }


def load_texts(path: Path) -> list[ClaimText]:
    """The claim texts written by ``report`` (claims.json), in report order, for the gallery."""
    payload = json.loads(path.read_text())
    return [
        ClaimText(
            claim.claim_id, payload[claim.claim_id]["technique"], payload[claim.claim_id]["title"],
            payload[claim.claim_id]["statement"], payload[claim.claim_id]["rule"],
            tuple(payload[claim.claim_id]["figures"]),
        )
        for claim in CLAIMS
    ]


def figure_captions(texts: list[ClaimText], roles: dict[str, str]) -> dict[str, str]:
    """A line under each claim figure of one T3 dataset: the dataset and its role."""
    return {
        f: f"{dataset}: {role}" for text in texts for f in text.figures
        for dataset, role in roles.items() if f.startswith(f"figures/uncertainty/{dataset}/")
    }


def main_claims(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="report", description="Claim verdicts from reports/metrics/**.json")
    parser.add_argument("--root", type=Path, default=REPORTS)
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    args = parser.parse_args(argv)
    metrics = load_metrics(args.root / "metrics")
    results = judge(metrics, load_section(ReportConfig, "report", args.params))
    params = load_claim_params(args.params)
    texts = claim_texts(params)
    captions = figure_captions(texts, uncertainty_roles(args.root / "metrics"))
    appendix = uncertainty_power_table(metrics, params)
    write_text(args.root / "claims.md", claims_markdown(texts, results, captions, appendix))
    write_text(args.root / "claims.json", claims_json(texts, results))
    write_text(args.root / "headline" / "claims.json", verdict_summary(texts, results))
    for claim_id, result in results.items():
        print(f"{claim_id}: {result.verdict} (stability {stability_text(result)}): {result.reason}")
    return 0


def main_gallery(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="report-gallery", description="reports/README.md and index.html")
    parser.add_argument("--root", type=Path, default=REPORTS)
    args = parser.parse_args(argv)
    results, texts = load_results(args.root / "claims.json"), load_texts(args.root / "claims.json")
    found = figures(args.root, uncertainty_roles(args.root / "metrics"))
    write_text(args.root / "README.md", gallery_markdown(found, results, texts))
    write_text(args.root / "index.html", gallery_html(found, results, texts))
    print(f"{len(found)} figures in {args.root / 'README.md'} and {args.root / 'index.html'}")
    return 0
