"""T2 delayed feedback: headline numbers per stream and the rows of the AUC-over-the-stream plot
(stage ``delayed_headline``).

Per stream (``reports/metrics/delayed/<dataset>.json``; the regime sweep is left out), the seed
means over the whole stream of AUC, PR-AUC and NLL (``auc_*``, ``pr_auc_*``, ``nll_*``) for:

* ``pcaw``: importance weights conditioned on pre-conversion signals (the talk's method);
* ``esdfm``: ES-DFM, the same weights without signals;
* ``vanilla``: current labels, no correction;
* ``waiting_best``: the best waiting-N on that metric (highest AUC / PR-AUC, lowest NLL; what
  claim C4 compares against);
* ``oracle``: true labels, the ceiling.
"""

from __future__ import annotations

from recsys_challenges.errors import DataError
from recsys_challenges.headline.common import Headline, Row, mean, number, pick, stage_main
from recsys_challenges.report.claims import LOWER_IS_BETTER
from recsys_challenges.report.claims.delayed import NO_SIGNALS, SIGNALS, STREAM_METRICS
from recsys_challenges.report.evidence import MetricsFile

METHODS = (SIGNALS, NO_SIGNALS, "vanilla", "oracle")  # besides the best waiting-N
WAITING = "waiting_"  # prefix of the waiting-N methods
PLOTTED_METRIC = "auc"


def best_waiting(file: MetricsFile, metric: str) -> str:
    """The waiting-N method with the best seed mean of ``metric`` (lowest for NLL)."""
    waiting = [m for m in pick(file, "summary") if m.startswith(WAITING) and mean(file, m, metric) is not None]
    if not waiting:
        raise DataError(f"{file.path}: no waiting-N method ({WAITING}*) with a mean {metric!r}")
    sign = -1 if metric in LOWER_IS_BETTER else 1
    return max(waiting, key=lambda m: sign * mean(file, m, metric))


def stream_headline(file: MetricsFile) -> dict[str, float | None]:
    """The fifteen headline numbers of one stream (module docstring)."""
    numbers: dict[str, float | None] = {}
    for metric in STREAM_METRICS:
        for method in METHODS:
            numbers[f"{metric}_{method}"] = mean(file, method, metric)
        numbers[f"{metric}_waiting_best"] = mean(file, best_waiting(file, metric), metric)
    return numbers


def headline(files: list[MetricsFile]) -> Headline:
    """Dataset -> :func:`stream_headline`, for every stream."""
    return {file.dataset: stream_headline(file) for file in files}


def seed_mean(values: list[float | None]) -> float | None:
    """The mean over the seeds that measured a slot (a slot without positives has no AUC: null)."""
    measured = [v for v in values if v is not None]
    return sum(measured) / len(measured) if measured else None


def stream_rows(files: list[MetricsFile]) -> list[Row]:
    """AUC over the stream: one row per stream, method (those of the headline, the best waiting-N by
    AUC) and test slot with its seed mean, ``hour`` = the slot's start in hours after the stream's start."""
    rows = []
    for file in files:
        start = number(pick(file, "protocol", "stream_start_ts"), f"{file.path}: protocol.stream_start_ts")
        hours = [(ts - start) / 3600 for ts in pick(file, "stream", "slot_start_ts")]
        for method in (*METHODS, best_waiting(file, PLOTTED_METRIC)):
            seeds = pick(file, "stream", "per_slot", method, PLOTTED_METRIC)
            if any(len(seed) != len(hours) for seed in seeds):
                raise DataError(f"{file.path}: stream.per_slot.{method}.{PLOTTED_METRIC} has not one value per slot ({len(hours)})")
            for hour, values in zip(hours, zip(*seeds)):
                value = seed_mean(list(values))
                if value is not None:
                    rows.append({"dataset": file.dataset, "method": method, "hour": hour, PLOTTED_METRIC: round(value, 6)})
    return rows


def main(argv: list[str] | None = None) -> int:
    return stage_main("delayed", headline, stream_rows, argv)
