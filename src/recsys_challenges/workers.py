"""A pool of worker processes for a stage's independent jobs: (method, seed) in T1, (line, seed) in T2,
(estimator, seed) in T3.

Each job seeds itself and shares no state with the others, so the results are the same whatever the
pool's size: :func:`map_jobs` returns them in the order of the jobs, not of their finishing. Workers
are spawned (not forked: a forked child inherits the parent's OpenMP state and may hang), each runs
``threads`` torch threads, and inherits the determinism pins of the parent's environment
(``determinism.py``). One worker runs the jobs one after the other in this process, with no pool.

The pool's size is ``workers`` in params.yaml: a number, or ``null`` for the cores this process may
use. It is no stage's DVC parameter: the results do not depend on it.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from pathlib import Path
from typing import Any, TypeVar

from recsys_challenges.config import PARAMS_FILE, read_yaml
from recsys_challenges.errors import ConfigError

Job = TypeVar("Job")
Result = TypeVar("Result")


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity where the platform tells, else ``os.cpu_count``)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def load_workers(path: Path | str = PARAMS_FILE) -> int:
    """``workers`` of params.yaml as a pool size: a positive integer, or ``null``/absent for :func:`available_cores`."""
    path = Path(path)
    value = read_yaml(path).get("workers")
    if value is None:
        return available_cores()
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{path}: workers must be a positive integer or null (the number of cores), got {value!r}")
    return value


def _start_worker(threads: int) -> None:
    import torch

    torch.set_num_threads(threads)


def _timed(function: Callable[[Job], Result], job: Job) -> tuple[Result, float]:
    started = time.perf_counter()
    result = function(job)
    return result, time.perf_counter() - started


def map_jobs(
    function: Callable[[Job], Result],
    jobs: Sequence[Job],
    workers: int,
    describe: Callable[[Job, Result, float], str] | None = None,
    threads: int = 1,
) -> list[Result]:
    """``[function(job) for job in jobs]``, run by ``workers`` processes, in the jobs' order.

    ``function`` must be a module-level function and ``jobs`` picklable. ``describe(job, result,
    seconds)`` gives the line printed as each job finishes, prefixed ``[done/total]``. A job's
    exception stops the pool (jobs not yet started are cancelled) and is raised here.
    """
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    total = len(jobs)
    results: list[Any] = [None] * total

    def report(done: int, index: int, seconds: float) -> None:
        if describe is not None:
            print(f"[{done}/{total}] {describe(jobs[index], results[index], seconds)}", flush=True)

    if workers == 1 or total <= 1:
        for index, job in enumerate(jobs):
            results[index], seconds = _timed(function, job)
            report(index + 1, index, seconds)
        return results

    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(min(workers, total), mp_context=context, initializer=_start_worker, initargs=(threads,)) as pool:
        pending: dict[Future, int] = {}
        for index, job in enumerate(jobs):
            pending[pool.submit(_timed, function, job)] = index
        done_count = 0
        while pending:
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                index = pending.pop(future)
                error = future.exception()
                if error is not None:
                    for other in pending:
                        other.cancel()
                    raise error
                results[index], seconds = future.result()
                done_count += 1
                report(done_count, index, seconds)
    return results
