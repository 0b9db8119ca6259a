"""Interleaved timing rounds for the benchmarks, robust to a machine shared with other jobs.

Each round runs every arm once, in the same order; the first ``warmup`` rounds are dropped. An arm
is a function of the round index that does its untimed setup and returns the call to time. Process
CPU time is the headline clock (it does not count the time other jobs hold the cores), wall time is
kept beside it. A ratio between two arms is the median over rounds of the per-round ratios, so load
that hits one round hits both of its terms alike.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

Arm = Callable[[int], Callable[[], object]]  # round index -> the call to time (setup done, untimed)


def interleaved_rounds(arms: dict[str, Arm], repeats: int, warmup: int = 1) -> dict[str, dict[str, list[float]]]:
    """``{arm: {"cpu": [...], "wall": [...]}}``: seconds of each arm in each of ``repeats`` timed rounds."""
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    times: dict[str, dict[str, list[float]]] = {name: {"cpu": [], "wall": []} for name in arms}
    for round_index in range(warmup + repeats):  # interleaved, so that load from other jobs hits every arm alike
        for name, arm in arms.items():
            call = arm(round_index)
            started_cpu, started_wall = time.process_time(), time.perf_counter()
            call()
            cpu, wall = time.process_time() - started_cpu, time.perf_counter() - started_wall
            if round_index >= warmup:
                times[name]["cpu"].append(cpu)
                times[name]["wall"].append(wall)
    return times


def median_ratio(numerator: list[float], denominator: list[float]) -> float:
    """Median over rounds of ``numerator[i] / denominator[i]``."""
    if not numerator or len(numerator) != len(denominator):
        raise ValueError(f"need equally many rounds on both sides, got {len(numerator)} and {len(denominator)}")
    return statistics.median(a / b for a, b in zip(numerator, denominator, strict=True))


def throughput_ratio(examples: int, times: dict[str, dict[str, list[float]]], package: str = "package",
                     plain: str = "plain") -> dict[str, Any]:
    """Examples/s of the ``package`` and ``plain`` arms (median CPU and wall seconds per round) and
    ``ratio`` = package throughput / plain throughput = median over rounds of plain time / package time
    (CPU; ``ratio_wall`` on wall time)."""
    arms = {}
    for name in (package, plain):
        cpu, wall = statistics.median(times[name]["cpu"]), statistics.median(times[name]["wall"])
        arms[name] = {"cpu_s": cpu, "wall_s": wall, "examples_per_s": examples / cpu,
                      "examples_per_s_wall": examples / wall, "cpu_s_all": times[name]["cpu"]}
    return {"examples": examples, "rounds": len(times[package]["cpu"]), **arms,
            "ratio": median_ratio(times[plain]["cpu"], times[package]["cpu"]),
            "ratio_wall": median_ratio(times[plain]["wall"], times[package]["wall"])}
