"""A pool of worker processes for a stage's independent jobs: (method, seed) in T1, (line, seed) in T2,
(estimator, seed) in T3.

Each job seeds itself and shares no state with the others, so the results are the same whatever the
pool's size: :func:`map_jobs` returns them in the order of the jobs, not of their finishing. With
``workers`` = n, the stage's own process runs jobs too, beside n - 1 helper processes: it has
imported torch already, and a helper spends seconds doing so. Helpers are spawned (not forked: a
forked child inherits the parent's OpenMP state and may hang), each job runs ``threads`` torch
threads, and the helpers inherit the determinism pins of the parent's environment
(``determinism.py``). One worker runs the jobs one after the other in this process, with no helper.

:func:`prestart` starts the helpers of a stage before the stage imports its modules (the entry point
calls it), so that a helper's start-up overlaps the stage's own imports rather than following them.

The pool's size is ``workers`` in params.yaml: a number, or ``null`` for the cores this process may
use. It is no stage's DVC parameter: the results do not depend on it.
"""

from __future__ import annotations

import importlib
import multiprocessing
import os
import sys
import threading
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


def _import(modules: Sequence[str]) -> None:
    """A helper's first task under :func:`prestart`: import what the stage's jobs will need."""
    for module in modules:
        importlib.import_module(module)


class _Helpers:
    """The helper processes of a stage: started by :func:`prestart` (then kept for every
    :func:`map_jobs` of the process) or by :func:`map_jobs` itself (then closed when it returns)."""

    prestarted: ProcessPoolExecutor | None = None
    prestarted_size = 0


def prestart(workers: int, modules: Sequence[str]) -> None:
    """Start the ``workers - 1`` helpers of this process's :func:`map_jobs` now, each importing
    ``modules``; nothing for one worker. :func:`shutdown` closes them."""
    shutdown()
    if workers < 2:
        return
    pool = ProcessPoolExecutor(workers - 1, mp_context=multiprocessing.get_context("spawn"))
    for _ in range(workers - 1):  # a spawned pool starts one process per task while none is idle
        pool.submit(_import, tuple(modules))
    _Helpers.prestarted, _Helpers.prestarted_size = pool, workers - 1


def shutdown() -> None:
    """Close the prestarted helpers, waiting for them (their CPU seconds then count as this process's children's)."""
    if _Helpers.prestarted is not None:
        _Helpers.prestarted.shutdown(wait=True, cancel_futures=True)
        _Helpers.prestarted, _Helpers.prestarted_size = None, 0


def _set_torch_threads(threads: int | None) -> int | None:
    """Set torch's intra-op threads (when torch is imported); returns the number it had."""
    torch = sys.modules.get("torch")
    if threads is None or torch is None:
        return None
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    return previous


def _timed(function: Callable[[Job], Result], job: Job, threads: int | None = None) -> tuple[Result, float]:
    if threads is not None:
        import torch  # noqa: F401  (a helper may not have imported it yet)

        _set_torch_threads(threads)
    started = time.perf_counter()
    result = function(job)
    return result, time.perf_counter() - started


class _Board:
    """The jobs of one :func:`map_jobs`, shared by this process's thread and the helpers' feeder:
    which job comes next, the results, the progress lines, the first error."""

    def __init__(self, jobs: Sequence[Any], describe: Callable[[Any, Any, float], str] | None) -> None:
        self.jobs, self.describe = jobs, describe
        self.results: list[Any] = [None] * len(jobs)
        self.error: BaseException | None = None
        self._next = self._done = 0
        self._lock = threading.Lock()

    def take(self) -> int | None:
        """The next job's index, or None when every job has started or one has failed."""
        with self._lock:
            if self.error is not None or self._next >= len(self.jobs):
                return None
            self._next += 1
            return self._next - 1

    def finish(self, index: int, result: Any, seconds: float) -> None:
        with self._lock:
            self.results[index] = result
            self._done += 1
            if self.describe is not None:
                print(f"[{self._done}/{len(self.jobs)}] {self.describe(self.jobs[index], result, seconds)}", flush=True)

    def fail(self, error: BaseException) -> None:
        with self._lock:
            self.error = self.error or error


def _feed_helpers(pool: ProcessPoolExecutor, slots: int, function: Callable, board: _Board, threads: int) -> None:
    """Keep ``slots`` jobs running in ``pool`` until the board has none left, recording each as it
    finishes; any error (a job's, or a broken pool's: a helper that died) goes on the board."""
    running: dict[Future, int] = {}
    try:
        while True:
            while len(running) < slots and (index := board.take()) is not None:
                running[pool.submit(_timed, function, board.jobs[index], threads)] = index
            if not running:
                return
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                index = running.pop(future)
                error = future.exception()
                if error is not None:
                    board.fail(error)
                else:
                    board.finish(index, *future.result())
    except BaseException as error:  # noqa: BLE001  (raised by map_jobs in the stage's thread)
        board.fail(error)


def map_jobs(
    function: Callable[[Job], Result],
    jobs: Sequence[Job],
    workers: int,
    describe: Callable[[Job, Result, float], str] | None = None,
    threads: int = 1,
) -> list[Result]:
    """``[function(job) for job in jobs]``, run by ``workers`` processes (this one and ``workers -
    1`` helpers), in the jobs' order.

    ``function`` must be a module-level function and ``jobs`` picklable. ``describe(job, result,
    seconds)`` gives the line printed as each job finishes, prefixed ``[done/total]``. A job's
    exception stops the pool (jobs not yet started are not started) and is raised here once the
    running ones have finished.
    """
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    board = _Board(jobs, describe)
    if workers == 1 or len(jobs) <= 1:
        for index, job in enumerate(jobs):
            board.finish(index, *_timed(function, job))
        return board.results

    slots = min(workers, len(jobs)) - 1
    prestarted = _Helpers.prestarted is not None and _Helpers.prestarted_size >= slots
    pool = _Helpers.prestarted if prestarted else ProcessPoolExecutor(slots, mp_context=multiprocessing.get_context("spawn"))
    feeder = threading.Thread(target=_feed_helpers, args=(pool, slots, function, board, threads), daemon=True)
    feeder.start()
    previous_threads = _set_torch_threads(threads)
    try:
        while (index := board.take()) is not None:
            try:
                outcome = _timed(function, board.jobs[index])
            except BaseException as error:  # noqa: BLE001  (raised below, after the helpers' jobs end)
                board.fail(error)
                break
            board.finish(index, *outcome)
    finally:
        feeder.join()
        _set_torch_threads(previous_threads)
        if not prestarted:
            pool.shutdown(wait=True)
    if board.error is not None:
        raise board.error
    return board.results
