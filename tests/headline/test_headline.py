"""Headline numbers and plot rows on hand-made payloads; every expected value is worked out below
from the means written into the payload (only ``mean`` is read, so the payloads hold only that)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from recsys_challenges.errors import DataError
from recsys_challenges.headline import delayed, directed, uncertainty
from recsys_challenges.report.evidence import MetricsFile


def payload(technique: str, dataset: str, content: dict) -> MetricsFile:
    return MetricsFile(technique, dataset, "real", [0, 1], content, Path(f"metrics/{technique}/{dataset}.json"))


# ---- T1
def graph(sampled: bool = False) -> dict:
    """MRR: dual 0.30, best baseline shallow 0.25 -> gap +0.05. HitRate@10: dual 0.40, best baseline
    sage 0.45 -> gap -0.05 (the best baseline is picked per metric). Direction AUC: dual 0.9, sage 0.5,
    in-degree rule 0.7. Lowest bucket q1: adaptive 0.15 - fixed 0.10 = +0.05 (q2 is not the lowest)."""
    suffix = "_sampled" if sampled else ""
    rank = {
        "dual_adaptive": (0.30, 0.40, 0.9), "dual_fixed": (0.28, 0.38, 0.85), "sage": (0.20, 0.45, 0.5),
        "shallow": (0.25, 0.30, 0.6), "gravity_gae": (0.22, 0.35, 0.8), "popularity": (0.10, 0.20, 0.7),
    }
    summary = {m: {f"mrr{suffix}": {"mean": r[0]}, f"hitrate@10{suffix}": {"mean": r[1]}, "direction_auc": {"mean": r[2]}}
               for m, r in rank.items()}
    bucket = {"q1": 0.15, "q2": 0.30}
    by_degree = {m: {q: {f"mrr{suffix}": {"mean": v}, "direction_auc": {"mean": 0.6}} for q, v in bucket.items()} for m in rank}
    by_degree["dual_fixed"]["q1"][f"mrr{suffix}"]["mean"] = 0.10
    by_degree["sage"]["q2"]["direction_auc"]["mean"] = None  # a bucket without one-way edges
    return {"summary": summary, "by_degree": by_degree}


def test_directed_headline_worked_by_hand():
    numbers = directed.headline([payload("directed", "cora", graph())])["cora"]
    assert numbers == pytest.approx({
        "mrr_dual": 0.30, "mrr_best_baseline": 0.25, "mrr_gap": 0.05,
        "hit10_dual": 0.40, "hit10_best_baseline": 0.45, "hit10_gap": -0.05,
        "direction_auc_dual": 0.9, "direction_auc_sage": 0.5, "direction_auc_in_degree": 0.7,
        "low_degree_mrr_gap": 0.05,
    })


def test_directed_headline_names_the_sampled_protocol_and_skips_the_planted_control():
    control = payload("directed", "planted", {"summary": {"dual_adaptive": {"mrr": {"mean": 0.5}}}})
    result = directed.headline([payload("directed", "big", graph(sampled=True)), control])
    assert list(result) == ["big"]
    assert result["big"]["mrr_sampled_gap"] == pytest.approx(0.05)
    assert result["big"]["hit10_sampled_best_baseline"] == pytest.approx(0.45)
    assert result["big"]["low_degree_mrr_sampled_gap"] == pytest.approx(0.05)


def test_directed_rows_one_per_graph_method_and_bucket():
    rows = directed.direction_rows([payload("directed", "cora", graph())])
    assert len(rows) == 3 * 2 - 1  # three methods x two buckets, sage's q2 not measured
    assert {"dataset": "cora", "method": "popularity", "degree_bucket": "q1", "direction_auc": 0.6} in rows
    assert not any(r["method"] == "sage" and r["degree_bucket"] == "q2" for r in rows)


def test_directed_missing_method_names_the_file():
    content = graph()
    del content["summary"]["sage"]["direction_auc"]
    with pytest.raises(DataError, match=r"metrics/directed/cora.json: no summary.sage.direction_auc"):
        directed.headline([payload("directed", "cora", content)])


# ---- T2
def stream() -> dict:
    """Waiting-N: the best AUC is waiting_24h (0.66 > 0.64), the best NLL waiting_1h (0.10 < 0.12)."""
    methods = {
        "pcaw": (0.70, 0.20, 0.09), "esdfm": (0.68, 0.19, 0.095), "vanilla": (0.60, 0.15, 0.11),
        "oracle": (0.72, 0.22, 0.08), "waiting_1h": (0.64, 0.16, 0.10), "waiting_24h": (0.66, 0.17, 0.12),
    }
    summary = {m: {"auc": {"mean": a}, "pr_auc": {"mean": p}, "nll": {"mean": n}} for m, (a, p, n) in methods.items()}
    per_slot = {m: {"auc": [[0.5, None, 0.7], [0.7, None, None]]} for m in methods}
    return {"summary": summary, "protocol": {"stream_start_ts": 36000},
            "stream": {"slot_start_ts": [39600, 43200, 50400], "per_slot": per_slot}}


def test_delayed_headline_worked_by_hand():
    numbers = delayed.headline([payload("delayed", "taobao", stream())])["taobao"]
    assert len(numbers) == 15
    assert numbers["auc_pcaw"] == 0.70 and numbers["nll_oracle"] == 0.08 and numbers["pr_auc_vanilla"] == 0.15
    assert numbers["auc_waiting_best"] == 0.66       # waiting_24h
    assert numbers["pr_auc_waiting_best"] == 0.17    # waiting_24h
    assert numbers["nll_waiting_best"] == 0.10       # waiting_1h: lower is better


def test_delayed_rows_are_seed_means_per_slot_in_hours():
    rows = delayed.stream_rows([payload("delayed", "taobao", stream())])
    pcaw = [r for r in rows if r["method"] == "pcaw"]
    # slot 1 h: (0.5 + 0.7) / 2; slot 2 h: no seed measured it; slot 4 h: one seed, 0.7
    assert pcaw == [{"dataset": "taobao", "method": "pcaw", "hour": 1.0, "auc": 0.6},
                    {"dataset": "taobao", "method": "pcaw", "hour": 4.0, "auc": 0.7}]
    assert {r["method"] for r in rows} == {"pcaw", "esdfm", "vanilla", "oracle", "waiting_24h"}


def test_delayed_without_waiting_names_the_file():
    content = stream()
    content["summary"] = {m: v for m, v in content["summary"].items() if not m.startswith("waiting_")}
    with pytest.raises(DataError, match=r"metrics/delayed/taobao.json: no waiting-N method"):
        delayed.headline([payload("delayed", "taobao", content)])


def test_seed_mean():
    assert delayed.seed_mean([0.2, None, 0.4]) == pytest.approx(0.3)
    assert delayed.seed_mean([None, None]) is None


# ---- T3
def boundaries() -> dict:
    return {
        "summary": {"classifier": {"test_auc": {"mean": 0.8}, "c6_slope_upper": {"mean": -0.4, "mde": 0.25}}},
        "c7": {
            "recall_gain": {"ew_dpmt": {"0.9": {"mean": None}, "0.5": {"mean": 0.1}, "0.8": {"mean": 0.3}},
                            "mist": {"0.8": {"mean": 0.2}}},
            "recall": {"single": {"0.5": {"estimate": 0.5}, "0.9": {"estimate": None}},
                       "ew_dpmt": {"0.5": {"estimate": 0.55}}},
        },
    }


def test_uncertainty_headline_worked_by_hand():
    numbers = uncertainty.headline([payload("uncertainty", "kdd", boundaries())])["kdd"]
    assert numbers == {"test_auc": 0.8, "c6_slope": -0.4, "c6_mde": 0.25,
                       "ew_dpmt_gain_p50": 0.1, "ew_dpmt_gain_p80": 0.3, "ew_dpmt_gain_p90": None}
    assert list(numbers)[3:] == ["ew_dpmt_gain_p50", "ew_dpmt_gain_p80", "ew_dpmt_gain_p90"]  # by bound


def test_bound_label():
    assert [uncertainty.bound_label(b) for b in ("0.8", "0.5", "0.925")] == ["p80", "p50", "p92.5"]


def test_uncertainty_rows_leave_out_unreached_bounds():
    rows = uncertainty.recall_rows([payload("uncertainty", "kdd", boundaries())])
    assert rows == [{"dataset": "kdd", "method": "ew_dpmt", "precision_bound": 0.5, "recall": 0.55},
                    {"dataset": "kdd", "method": "single", "precision_bound": 0.5, "recall": 0.5}]


def test_uncertainty_without_mde_names_the_file():
    content = boundaries()
    del content["summary"]["classifier"]["c6_slope_upper"]["mde"]
    with pytest.raises(DataError, match=r"metrics/uncertainty/kdd.json: no summary.classifier.c6_slope_upper.mde"):
        uncertainty.headline([payload("uncertainty", "kdd", content)])


# ---- the stage
def write_payload(root: Path, technique: str, dataset: str, content: dict) -> None:
    path = root / technique / f"{dataset}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    core = {"technique": technique, "dataset": dataset, "data_kind": "real", "seeds": [0, 1]}
    path.write_text(json.dumps(core | content))


def test_stage_writes_headline_and_plot_rows(tmp_path, capsys):
    write_payload(tmp_path / "metrics", "uncertainty", "kdd", boundaries())
    write_payload(tmp_path / "metrics", "directed", "cora", graph())  # another technique's: not read
    assert uncertainty.main(["--metrics", str(tmp_path / "metrics"), "--out", str(tmp_path / "reports")]) == 0
    written = json.loads((tmp_path / "reports/headline/uncertainty.json").read_text())
    assert written["kdd"]["ew_dpmt_gain_p90"] is None and written["kdd"]["test_auc"] == 0.8
    assert len(json.loads((tmp_path / "reports/plots/uncertainty.json").read_text())) == 2
    assert not (tmp_path / "reports/headline/directed.json").exists()
    assert "5 headline numbers for 1 datasets, 2 plot rows" in capsys.readouterr().out


def test_stage_errors_name_the_file(tmp_path):
    with pytest.raises(DataError, match="no payloads"):
        delayed.main(["--metrics", str(tmp_path), "--out", str(tmp_path / "reports")])
    bad = tmp_path / "delayed" / "taobao.json"
    bad.parent.mkdir()
    bad.write_text("{")
    with pytest.raises(DataError, match=r"delayed/taobao.json: not valid JSON"):
        delayed.main(["--metrics", str(tmp_path), "--out", str(tmp_path / "reports")])
