"""What every ``<technique>_headline`` stage shares: reading one technique's payloads, picking
numbers out of them with errors that name the file, and the stage's command line."""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from recsys_challenges.errors import DataError
from recsys_challenges.io import atomic_file, write_json
from recsys_challenges.report.evidence import MetricsFile, load_metrics

Headline = dict[str, dict[str, float | None]]  # dataset -> name -> number (None: not measured)
Row = dict[str, Any]  # one row of a DVC plot data file


def number(value: Any, where: str) -> float | None:
    """``value`` as a float; None for JSON null or NaN (DVC leaves both out of its tables)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise DataError(f"{where}: expected a number, got {value!r}")
    return None if math.isnan(value) else float(value)


def pick(file: MetricsFile, *keys: str) -> Any:
    """``file.content[keys[0]][keys[1]]...``, with an error naming the file and the missing key."""
    node: Any = file.content
    for depth, key in enumerate(keys):
        if not isinstance(node, dict) or key not in node:
            raise DataError(f"{file.path}: no {'.'.join(keys[: depth + 1])} (needed for the headline)")
        node = node[key]
    return node


def mean(file: MetricsFile, method: str, metric: str) -> float | None:
    """The seed mean of ``metric`` for ``method`` (``summary.<method>.<metric>.mean``)."""
    return number(pick(file, "summary", method, metric, "mean"), f"{file.path}: summary.{method}.{metric}.mean")


def difference(a: float | None, b: float | None) -> float | None:
    """``a - b``, None when either is not measured."""
    return None if a is None or b is None else a - b


def load_technique(root: Path, technique: str) -> list[MetricsFile]:
    """The payloads of ``root/<technique>/*.json`` (the regime sweep's other layout left out)."""
    files = load_metrics(root, f"{technique}/*.json")
    for file in files:
        if file.technique != technique:
            raise DataError(f"{file.path}: technique is {file.technique!r}, expected {technique!r}")
    return files


def write_rows(path: Path, rows: list[Row]) -> None:
    """A plot data file: a JSON list with one row per line (small git diffs), written atomically."""
    with atomic_file(path) as tmp:
        tmp.write_text("[\n" + ",\n".join(json.dumps(row, sort_keys=True, allow_nan=False) for row in rows) + "\n]\n")


def stage_main(
    technique: str,
    headline: Callable[[list[MetricsFile]], Headline],
    rows: Callable[[list[MetricsFile]], list[Row]],
    argv: list[str] | None,
) -> int:
    """Stage ``<technique>_headline``: ``reports/headline/<technique>.json`` and ``reports/plots/<technique>.json``."""
    parser = argparse.ArgumentParser(prog=f"{technique}-headline", description=f"{technique}: headline numbers and plot rows")
    parser.add_argument("--metrics", type=Path, default=Path("reports/metrics"), help="the payloads' root folder")
    parser.add_argument("--out", type=Path, default=Path("reports"), help="writes <out>/headline and <out>/plots")
    args = parser.parse_args(argv)
    files = load_technique(args.metrics, technique)
    if not files:
        raise DataError(f"{args.metrics / technique}: no payloads (*.json) to take headline numbers from")
    numbers, plotted = headline(files), rows(files)
    write_json(args.out / "headline" / f"{technique}.json", numbers)
    write_rows(args.out / "plots" / f"{technique}.json", plotted)
    count = sum(v is not None for dataset in numbers.values() for v in dataset.values())
    print(f"{technique}: {count} headline numbers for {len(numbers)} datasets, {len(plotted)} plot rows")
    return 0
