"""``make bench``: the scale table of every technique, with peak memory, in ``reports/bench.json``.

Each technique's bench module lists ``SCALE_WORKLOADS`` (name -> a function that runs one workload
in the current process and returns its row: technique, workload, data, size, unit, wall_s,
throughput). Every workload runs in a fresh process, so its peak resident memory (``ru_maxrss``)
is its own. Rows at scale (a 1M-node / 10M-edge power-law graph, a 2e7-row conversion stream,
1e7 rows of boundary search) sit beside the same measure on the default real datasets; the
real-data rows need the default pipeline's outputs (``dvc repro`` first).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import multiprocessing
import resource
import sys
import time
from pathlib import Path

from recsys_challenges.io import write_json
from recsys_challenges.stage_times import machine

BENCH_FILE = Path("reports/bench.json")
MODULES = {
    "directed": "recsys_challenges.directed.bench",
    "delayed": "recsys_challenges.delayed.bench",
    "uncertainty": "recsys_challenges.uncertainty.bench",
}
PEAK_RSS_TARGET_GIB = 16.0


def _run_one(module: str, workload: str, results: multiprocessing.Queue) -> None:
    try:
        row = importlib.import_module(module).SCALE_WORKLOADS[workload]()
        row["peak_rss_gib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB -> GiB
        results.put(row)
    except Exception as error:  # reported as the row's error, the other workloads still run
        results.put({"error": f"{type(error).__name__}: {error}"})


def run_isolated(module: str, workload: str) -> dict:
    """Run one workload in a fresh (spawned) process and return its row."""
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    process = context.Process(target=_run_one, args=(module, workload, results))
    process.start()
    row = results.get()
    process.join()
    return row


def table(rows: list[dict]) -> str:
    lines = [f"{'technique':<12} {'workload':<20} {'size':>12} {'wall s':>9} {'per s':>12} {'peak GiB':>9}"]
    for row in rows:
        if "error" in row:
            lines.append(f"{row['technique']:<12} {row['workload']:<20} error: {row['error']}")
            continue
        lines.append(
            f"{row['technique']:<12} {row['workload']:<20} {row['size']:>12,} {row['wall_s']:>9.1f} "
            f"{row['throughput']:>12,.0f} {row['peak_rss_gib']:>9.2f}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="recsys_challenges bench", description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", default=None, help="technique or technique/workload names")
    parser.add_argument("--out", type=Path, default=BENCH_FILE)
    args = parser.parse_args(argv)
    rows = []
    for technique, module in MODULES.items():
        for workload in importlib.import_module(module).SCALE_WORKLOADS:
            if args.only and technique not in args.only and f"{technique}/{workload}" not in args.only:
                continue
            print(f"bench {technique}/{workload} ...", file=sys.stderr, flush=True)
            started = time.perf_counter()
            row = {"technique": technique, "workload": workload} | run_isolated(module, workload)
            print(f"  done in {time.perf_counter() - started:.0f}s", file=sys.stderr, flush=True)
            rows.append(row)
    over = [r for r in rows if r.get("peak_rss_gib", 0) >= PEAK_RSS_TARGET_GIB]
    write_json(args.out, {"machine": machine(), "peak_rss_target_gib": PEAK_RSS_TARGET_GIB, "rows": rows,
                          "all_under_target": not over and all("error" not in r for r in rows)})
    print(table(rows))
    return 1 if any("error" in r for r in rows) else 0
