"""The worker pool (workers.py): results in the jobs' order for any pool size, errors raised, params checked."""

from __future__ import annotations

import math
import time

import pytest

from recsys_challenges.errors import ConfigError
from recsys_challenges.workers import available_cores, load_workers, map_jobs


@pytest.mark.parametrize("workers", [1, 2])
def test_results_come_in_the_jobs_order_with_one_line_per_job(workers, capsys):
    jobs = [5, 0, 3, 1]
    results = map_jobs(math.factorial, jobs, workers, describe=lambda job, result, seconds: f"{job}! = {result}")
    assert results == [120, 1, 6, 1]
    lines = capsys.readouterr().out.splitlines()
    # lines come in the order jobs finish, numbered by that order
    assert [line.split("] ")[0] for line in lines] == ["[1/4", "[2/4", "[3/4", "[4/4"]
    assert sorted(line.split("] ")[1] for line in lines) == ["0! = 1", "1! = 1", "3! = 6", "5! = 120"]


@pytest.mark.parametrize("workers", [1, 2])
def test_a_failing_job_raises_its_error(workers):
    with pytest.raises(ValueError, match="not defined for negative"):
        map_jobs(math.factorial, [3, -1, 4], workers)


def test_workers_from_params(tmp_path):
    params = tmp_path / "params.yaml"
    params.write_text("workers: 3\n")
    assert load_workers(params) == 3
    params.write_text("workers: null\n")
    assert load_workers(params) == available_cores() >= 1
    params.write_text("other: 1\n")
    assert load_workers(params) == available_cores()
    for bad in ("0", "-2", "two", "true", "1.5"):
        params.write_text(f"workers: {bad}\n")
        with pytest.raises(ConfigError, match=f"{params}: workers must be a positive integer"):
            load_workers(params)


def test_each_line_comes_as_its_job_finishes_not_when_all_have(capsys):
    """A short job's line is printed while a long one still runs (the pool reports jobs one by one)."""
    start = time.perf_counter()
    printed_after = {}

    def describe(job, result, seconds):
        printed_after[job] = time.perf_counter() - start
        return f"slept {job}"

    map_jobs(time.sleep, [4.0, 0.1], 2, describe)
    assert printed_after[0.1] < printed_after[4.0] - 2  # not held back until the 4 s job is done
    assert capsys.readouterr().out.splitlines() == ["[1/2] slept 0.1", "[2/2] slept 4.0"]
