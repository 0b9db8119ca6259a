"""T1 directed graphs: headline numbers per graph and the rows of the C1 plot (stage ``directed_headline``).

Per evaluated graph (a payload with a ``by_degree`` section; the planted positive control of stage
``directed_control`` has no baselines and is left out), seed means of:

* ``mrr_dual``, ``mrr_best_baseline``, ``mrr_gap``: MRR of the dual GNN (degree-adaptive sampling),
  of the best baseline by mean (GraphSAGE, shallow source/target embeddings, Gravity-GAE or the
  in-degree rule, picked as claim C2 picks it) and dual minus best;
* ``hit10_dual``, ``hit10_best_baseline``, ``hit10_gap``: the same for HitRate@10 (the best baseline
  picked again, for this metric);
* ``direction_auc_dual``, ``direction_auc_sage``, ``direction_auc_in_degree``: direction AUC on
  held-out one-way edges of the dual GNN, of single-embedding GraphSAGE (0.5 by construction) and of
  the training-free in-degree rule (claim C1);
* ``low_degree_mrr_gap``: MRR of adaptive minus fixed fan-out in the lowest source-degree quarter
  (claim C3's lowest bucket).

Ranking is against all nodes where the payload measured it, else against sampled candidates (as
in the claim rules); the names then say so (``mrr_sampled_dual``, ``low_degree_mrr_sampled_gap``).
"""

from __future__ import annotations

from recsys_challenges.errors import DataError
from recsys_challenges.headline.common import Headline, Row, difference, mean, number, pick, stage_main
from recsys_challenges.report.claims.directed import DUAL, DUAL_FIXED, IN_DEGREE_RULE, RANKING_BASELINES, SINGLE
from recsys_challenges.report.evidence import MetricsFile

RANKING = (("mrr", "mrr"), ("hitrate@10", "hit10"))  # payload metric, headline name
DIRECTION = ((DUAL, "dual"), (SINGLE, "sage"), (IN_DEGREE_RULE, "in_degree"))  # method, headline name
PLOTTED = (DUAL, SINGLE, IN_DEGREE_RULE)  # the lines of the C1 plot


def ranking_metric(file: MetricsFile, name: str) -> str:
    """``name`` when the dual GNN was ranked against all nodes, else ``<name>_sampled``."""
    return name if name in pick(file, "summary", DUAL) else f"{name}_sampled"


def best_baseline(file: MetricsFile, metric: str) -> str:
    """The ranking baseline with the highest seed mean of ``metric``."""
    present = [b for b in RANKING_BASELINES if file.has(b, metric) and mean(file, b, metric) is not None]
    if not present:
        raise DataError(f"{file.path}: no ranking baseline ({', '.join(RANKING_BASELINES)}) has a mean {metric!r}")
    return max(present, key=lambda b: mean(file, b, metric))


def bucket_mean(file: MetricsFile, method: str, bucket: str, metric: str) -> float | None:
    """The seed mean of ``metric`` for ``method`` in source-degree bucket ``bucket``."""
    return number(pick(file, "by_degree", method, bucket, metric, "mean"),
                  f"{file.path}: by_degree.{method}.{bucket}.{metric}.mean")


def graph_headline(file: MetricsFile) -> dict[str, float | None]:
    """The ten headline numbers of one evaluated graph (module docstring)."""
    numbers: dict[str, float | None] = {}
    for metric, name in RANKING:
        used = ranking_metric(file, metric)
        label = name + used[len(metric):]  # "mrr" or "mrr_sampled"
        dual, best = mean(file, DUAL, used), mean(file, best_baseline(file, used), used)
        numbers |= {f"{label}_dual": dual, f"{label}_best_baseline": best, f"{label}_gap": difference(dual, best)}
    for method, name in DIRECTION:
        numbers[f"direction_auc_{name}"] = mean(file, method, "direction_auc")
    used = ranking_metric(file, "mrr")
    lowest = min(pick(file, "by_degree", DUAL))
    numbers[f"low_degree_{used}_gap"] = difference(
        bucket_mean(file, DUAL, lowest, used), bucket_mean(file, DUAL_FIXED, lowest, used)
    )
    return numbers


def evaluated(files: list[MetricsFile]) -> list[MetricsFile]:
    """The payloads of evaluated graphs (with a ``by_degree`` section)."""
    return [file for file in files if "by_degree" in file.content]


def headline(files: list[MetricsFile]) -> Headline:
    """Dataset -> :func:`graph_headline`, for every evaluated graph."""
    return {file.dataset: graph_headline(file) for file in evaluated(files)}


def direction_rows(files: list[MetricsFile]) -> list[Row]:
    """C1 plot: direction AUC (seed mean) by source-degree bucket of the dual GNN, GraphSAGE and the
    in-degree rule, one row per graph, method and bucket (buckets q1 = lowest degree)."""
    rows = []
    for file in evaluated(files):
        for method in PLOTTED:
            for bucket in sorted(pick(file, "by_degree", method)):
                auc = bucket_mean(file, method, bucket, "direction_auc")
                if auc is not None:
                    rows.append({"dataset": file.dataset, "method": method, "degree_bucket": bucket, "direction_auc": auc})
    return rows


def main(argv: list[str] | None = None) -> int:
    return stage_main("directed", headline, direction_rows, argv)
