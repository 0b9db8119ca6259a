import resource

from recsys_challenges.bench import run_isolated, table


def _allocate() -> dict:
    block = bytearray(300 * 2**20)  # 300 MiB held while the row is measured
    return {"technique": "test", "workload": "allocate", "data": "bytes", "size": len(block), "unit": "bytes",
            "wall_s": 1.0, "throughput": float(len(block))}


def _fail() -> dict:
    raise MemoryError("too big")


SCALE_WORKLOADS = {"allocate": _allocate, "fail": _fail}


def test_each_workload_runs_in_its_own_process_with_its_own_peak_memory():
    own_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    row = run_isolated("tests.test_bench", "allocate")
    assert row["size"] == 300 * 2**20
    assert 0.29 < row["peak_rss_gib"] < 0.29 + own_peak + 0.5  # the child's 300 MiB, not the test process
    failed = run_isolated("tests.test_bench", "fail")
    assert failed == {"error": "MemoryError: too big"}
    text = table([row, {"technique": "test", "workload": "fail"} | failed])
    assert "error: MemoryError: too big" in text and "314,572,800" in text
