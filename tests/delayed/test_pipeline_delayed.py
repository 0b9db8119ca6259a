"""T2 in the tiny profile's `dvc repro` (the shared ``tiny_project`` fixture): outputs exist and are well formed."""

from __future__ import annotations

import json
import math

from tests.conftest import BIN, run_checked

PNG = b"\x89PNG\r\n\x1a\n"


def _finite(summary: dict) -> bool:
    """Every value finite; only an RI may be null (0/0 when the oracle and vanilla score the same)."""
    for scores in summary.values():
        for metric, stats in scores.items():
            if stats is None:
                if not metric.startswith("ri_"):
                    return False
            elif not all(math.isfinite(v) for v in stats["values"]):
                return False
    return True


def test_conversion_tables_and_simulator_calibration(tiny_project):
    work, _, _ = tiny_project
    taobao = json.loads((work / "data/delayed/conversions/taobao/meta.json").read_text())
    assert taobao["builder"] == "taobao_events" and taobao["stats"]["clicks"] > 1000
    sim = json.loads((work / "data/delayed/conversions/sim/meta.json").read_text())
    assert sim["stats"]["clicks"] == 20_000
    assert 0 < sim["calibration"]["conversion_rate"] < 0.1
    assert set(sim["calibration"]["fitted_delay_quantiles_h"]) == {"0.1", "0.25", "0.5", "0.75", "0.9"}


def test_metrics_files(tiny_project):
    work, _, _ = tiny_project
    for dataset, kind in (("taobao", "real"), ("sim", "simulated")):
        payload = json.loads((work / f"reports/metrics/delayed/{dataset}.json").read_text())
        assert (payload["technique"], payload["dataset"], payload["data_kind"]) == ("delayed", dataset, kind)
        assert payload["seeds"] == [0]
        assert set(payload["summary"]) == set(payload["methods"])
        controls = {"esdfm_unit", "pcaw_oracle"} | ({"esdfm_true"} if kind == "simulated" else set())
        assert {"oracle", "vanilla", "waiting_1h", "waiting_6h", "fnw", "fsiw", "esdfm", "defer", "pcaw",
                "pcaw_fsiw", "defuse", "defuse_signals"} | controls == set(payload["methods"])
        assert set(payload["paired"]["esdfm"]) == set(payload["methods"]) - {"esdfm"}
        assert _finite(payload["summary"])
        assert len(payload["stream"]["rows"]) == payload["protocol"]["steps"]
        assert ("signal_sweep" in payload) == (kind == "simulated")


def test_regime_sweep_file(tiny_project):
    work, _, _ = tiny_project
    sweep = json.loads((work / "reports/metrics/delayed/sweep.json").read_text())
    assert sweep["layout"] == "regime_sweep" and sweep["seeds"] == [0]
    assert set(sweep["points"]) == {"base", "conversion_rate=0.05", "elapsed_window_minutes=60"}
    assert all(0 <= p["fake_negative_share"]["mean"] < 1 for p in sweep["points"].values())


def test_figures_are_real_pngs(tiny_project):
    work, _, _ = tiny_project
    for name in ("c4_methods.png", "c4_stream.png", "c5_signals.png", "c5_controls.png", "waiting_tradeoff.png",
                 "c5_regime_sweep.png"):
        data = (work / "reports/figures/delayed" / name).read_bytes()
        assert data.startswith(PNG) and len(data) > 20_000


def test_benchmark_file(tiny_project):
    """``make bench``'s second command, outside ``dvc repro``."""
    work, env, _ = tiny_project
    run_checked([str(BIN / "python"), "-m", "recsys_challenges", "delayed-bench"], work, env)
    bench = json.loads((work / "reports/bench/delayed.json").read_text())
    assert bench["stream"]["rows"] == 20_000 and bench["stream"]["peak_rss_gib"] > 0
    for method in ("fnw", "fsiw", "esdfm", "defer", "pcaw", "pcaw_fsiw", "defuse_signals"):
        assert bench["throughput"][method]["overhead_ratio"] > 0
    assert bench["throughput"]["plain_bce"]["rows_per_s"] > 0


def test_delayed_stages_are_in_the_dag(tiny_project):
    work, env, _ = tiny_project
    dag = run_checked([str(BIN / "dvc"), "dag", "--dot"], work, env).stdout
    assert '"prepare@taobao_small" -> "delayed_conversions@taobao"' in dag
    assert '"delayed_conversions@taobao" -> "delayed_conversions@sim"' in dag
    assert '"delayed_stream@sim" -> "delayed_figures"' in dag


def test_scale_workloads_return_their_rows(tiny_project):
    # the `make bench` contract, on the tiny project's tables (sim_2e7 shrunk to 20k rows here)
    work, env, _ = tiny_project
    script = ("import json; from recsys_challenges.delayed import bench; bench.SCALE_ROWS = 20_000; "
              "print(json.dumps([bench.SCALE_WORKLOADS[name]() for name in ('taobao', 'sim_2e7')]))")
    rows = json.loads(run_checked([str(BIN / "python"), "-c", script], work, env).stdout.strip().splitlines()[-1])
    taobao = json.loads((work / "data/delayed/conversions/taobao/meta.json").read_text())["stats"]["clicks"]
    assert [(r["workload"], r["size"]) for r in rows] == [("taobao", taobao), ("sim_2e7", 20_000)]
    for row in rows:
        assert set(row) == {"technique", "workload", "data", "size", "unit", "wall_s", "throughput"}
        assert row["technique"] == "delayed" and row["unit"] == "rows"
        assert row["wall_s"] > 0 and row["throughput"] == row["size"] / row["wall_s"]
