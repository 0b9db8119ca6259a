"""How the report prints a verdict's stability, and the verdict summary DVC reads."""

import json
import typing

import pytest

from recsys_challenges.report.evidence import ClaimResult, Verdict
from recsys_challenges.report.render import VERDICT_CODE, ClaimText, stability_text, verdict_summary


@pytest.mark.parametrize("stability, unstable, shown", [
    (0.8975, True, "UNSTABLE 0.89 (tipped by kdd)"), (0.29, True, "UNSTABLE 0.29 (tipped by kdd)"), (1.0, False, "1.00"),
    (0.9, False, "0.90"), (None, False, "n/a"),
])
def test_stability_is_cut_not_rounded_so_a_share_under_the_threshold_never_reads_as_it(stability, unstable, shown):
    result = ClaimResult("C7", "reproduced", "", stability=stability, tipped_by="kdd" if unstable else None, unstable=unstable)
    assert stability_text(result) == shown


def test_every_verdict_has_its_own_code():
    assert sorted(VERDICT_CODE) == sorted(typing.get_args(Verdict))
    assert len(set(VERDICT_CODE.values())) == len(VERDICT_CODE)


def test_verdict_summary_is_flat_code_and_stability_per_claim():
    texts = [ClaimText(c, "directed", "", "", "", ()) for c in ("C1", "C2")]
    results = {"C1": ClaimResult("C1", "partly reproduced", "", stability=0.75),
               "C2": ClaimResult("C2", "no data", "")}
    assert json.loads(verdict_summary(texts, results)) == {
        "C1": {"verdict": 1, "stability": 0.75}, "C2": {"verdict": -3, "stability": None}}
