from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from recsys_challenges.data.simulate.click_log import (
    ClickLogParams,
    intercept_for_rate,
    main,
    simulate_click_log,
    zipf_probabilities,
)
from recsys_challenges.errors import ConfigError

SMALL = ClickLogParams(rows=20_000, cardinality=300, seed=3)


def test_zipf_probabilities_by_hand():
    # weights 1, 1/2, 1/3 sum to 11/6: probabilities 6/11, 3/11, 2/11
    assert zipf_probabilities(3, 1.0) == pytest.approx([6 / 11, 3 / 11, 2 / 11])


def test_intercept_for_rate_by_hand():
    # sigmoid(0 + b) = 0.5 at b = 0; sigmoid(b) = sigmoid(1) at b = 1
    assert intercept_for_rate(np.zeros(4), 0.5) == pytest.approx(0.0, abs=1e-9)
    assert intercept_for_rate(np.zeros(4), 1 / (1 + np.exp(-1))) == pytest.approx(1.0, abs=1e-8)


def test_click_log_has_criteo_columns_and_its_click_rate():
    frame = simulate_click_log(SMALL).frame
    assert list(frame.columns) == ["label", "I1", "I2", "I3", "I4", *(f"C{i}" for i in range(1, 7)), "true_ctr"]
    assert frame["label"].dtype == np.int8 and str(frame["I1"].dtype) == "Int64" and str(frame["C1"].dtype) == "string"
    assert frame["true_ctr"].between(0, 1).all()
    assert frame["true_ctr"].mean() == pytest.approx(SMALL.click_rate, abs=1e-8)  # intercept solved for it
    # label ~ Bernoulli(true_ctr): the click rate within 5 binomial standard errors
    assert abs(frame["label"].mean() - SMALL.click_rate) < 5 * np.sqrt(0.1 * 0.9 / SMALL.rows)
    assert frame["I1"].isna().mean() == pytest.approx(SMALL.missing_rate, abs=0.02)
    assert (frame["I1"].dropna() >= 0).all()


def test_click_log_values_follow_zipf_and_carry_their_effect():
    frame = simulate_click_log(SMALL).frame
    shares = frame["C3"].value_counts(normalize=True).to_numpy()
    assert shares[0] == pytest.approx(zipf_probabilities(SMALL.cardinality, SMALL.zipf_exponent)[0], abs=0.01)
    # each value of C1 shifts the log-odds by its own effect ~ N(0, 1.2^2): across frequent values
    # (>= 100 rows, so other fields average out) the mean log-odds vary with about that variance
    log_odds = np.log(frame["true_ctr"] / (1 - frame["true_ctr"]))
    by_value = log_odds.groupby(frame["C1"]).agg(["mean", "size"])
    frequent = by_value.loc[by_value["size"] >= 100, "mean"]
    assert len(frequent) >= 15
    assert frequent.var() == pytest.approx(SMALL.categorical_effect_std**2, rel=0.5)


def test_same_params_same_log_other_seed_other_log():
    first, again = simulate_click_log(SMALL).frame, simulate_click_log(SMALL).frame
    pd.testing.assert_frame_equal(first, again)
    other = simulate_click_log(ClickLogParams(rows=20_000, cardinality=300, seed=4)).frame
    assert not first["true_ctr"].equals(other["true_ctr"])


def test_bad_params_are_rejected():
    with pytest.raises(ConfigError, match="click_rate"):
        ClickLogParams(click_rate=0.7)
    with pytest.raises(ConfigError, match="missing_rate"):
        ClickLogParams(missing_rate=1.0)


def test_stage_writes_a_prepared_table(tmp_path):
    params = tmp_path / "params.yaml"
    params.write_text("uncertainty:\n  click_log: {rows: 500, cardinality: 50}\n")
    out = tmp_path / "click_log"
    assert main(["--params", str(params), "--out", str(out)]) == 0
    meta = json.loads((out / "meta.json").read_text())
    assert meta["num_rows"] == 500 and meta["simulated"] and meta["params"]["cardinality"] == 50
    assert len(pd.read_parquet(out / "table.parquet")) == 500
