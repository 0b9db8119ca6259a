"""T3 uncertainty-aware decision boundaries: headline numbers per dataset and the rows of the C7
plot (stage ``uncertainty_headline``).

Per dataset (``reports/metrics/uncertainty/<dataset>.json``, the headline estimator's results):

* ``test_auc``: the classifier's test AUC (seed mean);
* ``c6_slope``: claim C6's upper-half slope, the change in log-odds of being positive from the
  least to the most uncertain level at a fixed score (C6 expects it below 0);
* ``c6_mde``: the smallest slope that the data would detect with 80% power at 5% (two-sided);
* ``ew_dpmt_gain_p<bound>``: EW-DPMT's relative test recall gain over one score threshold at the
  precision bound (``p80``: precision >= 0.8), e.g. 0.25 = +25% (claim C7); null where no seed
  reaches the bound.
"""

from __future__ import annotations

from recsys_challenges.headline.common import Headline, Row, mean, number, pick, stage_main
from recsys_challenges.report.evidence import MetricsFile

CLASSIFIER = "classifier"  # the summary's entry for the classifier itself
GAIN_METHOD = "ew_dpmt"


def bound_label(bound: str) -> str:
    """``"0.8"`` -> ``"p80"``, ``"0.925"`` -> ``"p92.5"``: the bound in percent, without a dot where possible."""
    return f"p{float(bound) * 100:g}"


def dataset_headline(file: MetricsFile) -> dict[str, float | None]:
    """The headline numbers of one dataset (module docstring)."""
    slope = pick(file, "summary", CLASSIFIER, "c6_slope_upper")
    numbers = {
        "test_auc": mean(file, CLASSIFIER, "test_auc"),
        "c6_slope": number(slope.get("mean"), f"{file.path}: summary.{CLASSIFIER}.c6_slope_upper.mean"),
        "c6_mde": number(pick(file, "summary", CLASSIFIER, "c6_slope_upper", "mde"), f"{file.path}: c6_slope_upper.mde"),
    }
    for bound, gain in sorted(pick(file, "c7", "recall_gain", GAIN_METHOD).items(), key=lambda item: float(item[0])):
        numbers[f"{GAIN_METHOD}_gain_{bound_label(bound)}"] = number(gain.get("mean"), f"{file.path}: c7.recall_gain.{GAIN_METHOD}.{bound}.mean")
    return numbers


def headline(files: list[MetricsFile]) -> Headline:
    """Dataset -> :func:`dataset_headline`, for every dataset."""
    return {file.dataset: dataset_headline(file) for file in files}


def recall_rows(files: list[MetricsFile]) -> list[Row]:
    """C7 plot: test recall against the precision bound, one row per dataset, boundary method
    (single threshold, EW-DPMT, MIST) and bound the method reaches (its pooled estimate)."""
    rows = []
    for file in files:
        for method, by_bound in sorted(pick(file, "c7", "recall").items()):
            for bound, recall in sorted(by_bound.items(), key=lambda item: float(item[0])):
                value = number(recall.get("estimate"), f"{file.path}: c7.recall.{method}.{bound}.estimate")
                if value is not None:
                    rows.append({"dataset": file.dataset, "method": method, "precision_bound": float(bound), "recall": value})
    return rows


def main(argv: list[str] | None = None) -> int:
    return stage_main("uncertainty", headline, recall_rows, argv)
