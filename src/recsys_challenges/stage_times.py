"""Wall and CPU seconds of every stage of a pipeline run: the profile ``make verify`` leaves in
``reports/bench/stage_times.json`` (README, "Run time").

With ``RECSYS_STAGE_TIMES=<file>`` in the environment, each ``python -m recsys_challenges <stage>``
appends one JSON line to that file as it ends: the stage's command line, its exit status, its wall
seconds and its CPU seconds (its own and those of the worker processes it waited for, user and
system). :func:`summarise` turns those lines and the whole run's totals into the profile.
"""

from __future__ import annotations

import json
import os
import resource
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

STAGE_TIMES = "RECSYS_STAGE_TIMES"


def cpu_seconds(who: int) -> float:
    """User + system CPU seconds of ``resource.RUSAGE_SELF`` or ``RUSAGE_CHILDREN`` (children waited for)."""
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def process_cpu_seconds() -> float:
    """CPU seconds of this process and of every child process it has waited for."""
    return cpu_seconds(resource.RUSAGE_SELF) + cpu_seconds(resource.RUSAGE_CHILDREN)


class StageClock:
    """Started when a stage starts; the CPU seconds of the process count from its start (imports are part of a stage's cost)."""

    def __init__(self) -> None:
        self.started = time.perf_counter()

    def append_to(self, path: Path, command: str, status: int) -> None:
        """Append this stage's line; one ``write`` of one line, so concurrent stages do not interleave."""
        line = {"stage": command, "status": status, "wall_s": round(time.perf_counter() - self.started, 3),
                "cpu_s": round(process_cpu_seconds(), 3)}
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(line) + "\n")


def read_lines(path: Path) -> list[dict[str, Any]]:
    """The stage lines of a ``RECSYS_STAGE_TIMES`` file (none when it is absent)."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def machine() -> dict:
    """What the numbers were measured on."""
    # imported here: every stage's entry point imports this module, and importlib.metadata alone
    # costs ~35 ms of start-up that only the profile's summary needs
    import importlib.metadata
    import platform

    cpuinfo = Path("/proc/cpuinfo")
    names = [line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines() if line.startswith("model name")] if cpuinfo.exists() else []
    return {
        "cpu": names[0] if names else platform.processor(),
        "cpu_count": os.cpu_count(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "python": platform.python_version(),
        "torch": importlib.metadata.version("torch"),
        "platform": platform.platform(),
    }


def summarise(lines: list[dict[str, Any]], wall_s: float, cpu_s: float, cores: int, what: str) -> dict[str, Any]:
    """The profile: machine, the run's wall and CPU seconds and its CPU use (CPU seconds over wall x
    cores), and every stage, slowest first."""
    stages = sorted(lines, key=lambda line: line["wall_s"], reverse=True)
    return {
        "what": what,
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d"),
        "machine": machine() | {"cores": cores},
        "wall_s": round(wall_s, 1),
        "cpu_s": round(cpu_s, 1),
        "cpu_use": round(cpu_s / (wall_s * cores), 3) if wall_s > 0 else None,
        "stages": stages,
    }


def render_slowest(profile: dict[str, Any], count: int = 10) -> str:
    """The ``count`` slowest stages as a small table, with the run's totals."""
    lines = [f"stage times ({profile['machine']['cpu']}, {profile['machine']['cores']} cores): "
             f"{profile['wall_s'] / 60:.1f} min wall, CPU use {profile['cpu_use']:.2f}",
             "| stage | wall s | CPU s |", "|---|---|---|"]
    lines += [f"| {s['stage']} | {s['wall_s']:.0f} | {s['cpu_s']:.0f} |" for s in profile["stages"][:count]]
    return "\n".join(lines)
