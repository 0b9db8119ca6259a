"""The worker pool (workers.py): results in the jobs' order for any pool size, errors raised, params checked."""

from __future__ import annotations

import math
import os
import time
from concurrent.futures.process import BrokenProcessPool

import pytest

from recsys_challenges import cli, workers
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


def _pid_after(seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()


def test_this_process_runs_jobs_beside_its_helpers():
    """Two workers: the stage's process and one helper, each taking the next job when it is free."""
    pids = map_jobs(_pid_after, [0.3] * 6, 2)
    assert os.getpid() in pids
    assert len(set(pids)) == 2


def test_prestarted_helpers_serve_every_map_of_the_process():
    workers.prestart(3, ["json"])
    try:
        first = set(map_jobs(_pid_after, [0.3] * 6, 3)) - {os.getpid()}
        second = set(map_jobs(_pid_after, [0.3] * 6, 3)) - {os.getpid()}
        assert len(first) == 2 and first == second  # the same two helpers, not a new pool per map
    finally:
        workers.shutdown()
    assert workers._Helpers.prestarted is None
    assert len(set(map_jobs(_pid_after, [0.3] * 4, 2)) - {os.getpid()} - first) == 1  # a pool of its own


def test_a_stage_prestarts_the_helpers_its_params_ask_for(tmp_path, monkeypatch):
    started = []
    monkeypatch.setattr(workers, "prestart", lambda count, modules: started.append((count, modules)))
    (tmp_path / "other.yaml").write_text("workers: 3\n")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit):
        cli.main(["uncertainty-train", "--params", "other.yaml", "--help"])
    assert started == []  # --help starts nothing
    assert cli.main(["uncertainty-train", "nope", "--params", "other.yaml"]) == 1  # other.yaml has no such dataset
    assert started == [(3, cli.JOB_MODULES["uncertainty-train"])]
    cli.main(["report", "--params=other.yaml"])
    assert len(started) == 1  # a stage without jobs starts no helper


def test_a_helper_that_dies_fails_the_map_instead_of_dropping_its_job(tmp_path, monkeypatch):
    """A helper killed while it starts (here: on importing a module) breaks the pool: map_jobs
    raises, it does not return a result list with a job missing."""
    (tmp_path / "dies_on_import.py").write_text("import os\nos._exit(3)\n")
    monkeypatch.syspath_prepend(str(tmp_path))  # spawned helpers get this process's sys.path
    workers.prestart(2, ["dies_on_import"])
    time.sleep(4)  # the helper is gone before the first job is submitted: submit itself raises
    try:
        with pytest.raises(BrokenProcessPool):
            map_jobs(_pid_after, [0.5] * 4, 2)
    finally:
        workers.shutdown()
