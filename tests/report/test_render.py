"""How the report prints a verdict's stability."""

import pytest

from recsys_challenges.report.evidence import ClaimResult
from recsys_challenges.report.render import stability_text


@pytest.mark.parametrize("stability, unstable, shown", [
    (0.8975, True, "UNSTABLE 0.89 (tipped by kdd)"), (0.29, True, "UNSTABLE 0.29 (tipped by kdd)"), (1.0, False, "1.00"),
    (0.9, False, "0.90"), (None, False, "n/a"),
])
def test_stability_is_cut_not_rounded_so_a_share_under_the_threshold_never_reads_as_it(stability, unstable, shown):
    result = ClaimResult("C7", "reproduced", "", stability=stability, tipped_by="kdd" if unstable else None, unstable=unstable)
    assert stability_text(result) == shown
