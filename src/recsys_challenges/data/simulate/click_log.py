"""A Criteo-style click log with known click probabilities (simulated; complements the real data).

Used by T3 (uncertainty-aware decision boundaries) to reproduce the setting Arora et al. (ICLR 2024,
arXiv 2311.11723, section 3) give for the score bias: a click model trained with its negatives
down-sampled (as Criteo's public logs are) scores rows above their true click rate, and most so
where it is unsure, i.e. on rare feature values. The down-sampling itself happens at training time
(``uncertainty.datasets.<name>.negative_keep``); this module only writes the full log.

Generative model (every row independent):

* categorical field ``f = 1..F``: value ``v ~ Zipf(a)`` over ``cardinality`` values
  (``P(rank r) ~ r^-a``), a long tail of rare values as in Criteo's ``C1..C26``;
* numeric field ``k = 1..K``: latent ``z_k ~ N(0, 1)``, emitted as the count
  ``I_k = floor(exp(1 + 1.2 z_k))``, left empty with probability ``missing_rate``;
* true click log-odds ``eta = b + sum_f theta_f[v_f] + theta_12[v_1, v_2] + sum_k w_k z_k`` with
  value effects ``theta_f ~ N(0, categorical_effect_std^2)``, a pairwise effect of the first two
  fields ``theta_12 ~ N(0, interaction_effect_std^2)`` (hashed into ``cardinality`` buckets),
  weights ``w_k ~ N(0, numeric_effect_std^2)``, and the intercept ``b`` solved so that the mean
  click probability is ``click_rate``;
* ``label ~ Bernoulli(sigmoid(eta))``; the column ``true_ctr`` keeps ``sigmoid(eta)``.

Columns: ``label`` (int8), ``I1..IK`` (nullable Int64), ``C1..CF`` (string, hex ids as in Criteo),
``true_ctr`` (float64). Stage ``uncertainty_simulate`` writes it like a prepared table
(``table.parquet`` + ``meta.json``).
"""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import brentq
from scipy.special import expit

from recsys_challenges.config import load_section, require
from recsys_challenges.data.formats import TableData, save_table
from recsys_challenges.io import atomic_dir


@dataclass(frozen=True)
class ClickLogParams:
    """``uncertainty.click_log`` in params.yaml."""

    rows: int = 400_000
    seed: int = 0
    click_rate: float = 0.1
    numeric_fields: int = 4
    categorical_fields: int = 6
    cardinality: int = 20_000
    zipf_exponent: float = 1.1
    categorical_effect_std: float = 1.2
    interaction_effect_std: float = 0.6
    numeric_effect_std: float = 0.5
    missing_rate: float = 0.1

    def __post_init__(self) -> None:
        require(self.rows >= 10, f"rows must be >= 10, got {self.rows}")
        require(0.0 < self.click_rate < 0.5, f"click_rate must be in (0, 0.5), got {self.click_rate}")
        require(
            self.numeric_fields >= 0 and self.categorical_fields >= 2, "need >= 0 numeric and >= 2 categorical fields"
        )
        require(self.cardinality >= 2, f"cardinality must be >= 2, got {self.cardinality}")
        require(self.zipf_exponent > 0, f"zipf_exponent must be > 0, got {self.zipf_exponent}")
        for name in ("categorical_effect_std", "interaction_effect_std", "numeric_effect_std"):
            require(getattr(self, name) >= 0, f"{name} must be >= 0")
        require(0.0 <= self.missing_rate < 1.0, f"missing_rate must be in [0, 1), got {self.missing_rate}")


def zipf_probabilities(cardinality: int, exponent: float) -> np.ndarray:
    """``(cardinality,)`` probabilities ``P(rank r) = r^-a / sum_s s^-a``, ``r = 1..cardinality``."""
    weights = np.arange(1, cardinality + 1, dtype=np.float64) ** -exponent
    return weights / weights.sum()


def intercept_for_rate(logits: np.ndarray, rate: float) -> float:
    """The shift ``b`` with ``mean(sigmoid(logits + b)) == rate`` (monotone in ``b``: Brent's method)."""
    return float(brentq(lambda b: expit(logits + b).mean() - rate, -50.0, 50.0, xtol=1e-10))


def simulate_click_log(params: ClickLogParams) -> TableData:
    """Draw the click log described in the module docstring; same params, same table."""
    rng = np.random.default_rng(params.seed)
    n, card = params.rows, params.cardinality
    frequency = zipf_probabilities(card, params.zipf_exponent)
    values = np.stack(
        [rng.choice(card, size=n, p=frequency) for _ in range(params.categorical_fields)], axis=1
    )  # (N, F)
    effects = rng.normal(0.0, params.categorical_effect_std, size=(params.categorical_fields, card))  # (F, card)
    logits = effects[np.arange(params.categorical_fields)[None, :], values].sum(axis=1)  # (N,)
    pair_effects = rng.normal(0.0, params.interaction_effect_std, size=card)
    logits += pair_effects[(values[:, 0] * 1_000_003 + values[:, 1]) % card]
    latent = rng.normal(size=(n, params.numeric_fields))  # (N, K)
    weights = rng.normal(0.0, params.numeric_effect_std, size=params.numeric_fields)
    logits += latent @ weights
    intercept = intercept_for_rate(logits, params.click_rate)
    true_ctr = expit(logits + intercept)
    labels = (rng.random(n) < true_ctr).astype(np.int8)

    columns: dict[str, object] = {"label": labels}
    for k in range(params.numeric_fields):
        counts = pd.array(np.floor(np.exp(1.0 + 1.2 * latent[:, k])).astype(np.int64), dtype="Int64")
        counts[rng.random(n) < params.missing_rate] = pd.NA
        columns[f"I{k + 1}"] = counts
    # hex ids, as Criteo's hashed categories; a per-field random relabelling hides the frequency rank
    for f in range(params.categorical_fields):
        relabel = rng.permutation(card) + (f + 1) * 0x1000000
        columns[f"C{f + 1}"] = pd.array(np.char.mod("%08x", relabel[values[:, f]]), dtype="string")
    columns["true_ctr"] = true_ctr
    stats = {
        "positives": int(labels.sum()),
        "positive_rate": round(float(labels.mean()), 5),
        "mean_true_ctr": round(float(true_ctr.mean()), 5),
        "intercept": round(intercept, 6),
        "distinct_values": {f"C{f + 1}": int(np.unique(values[:, f]).size) for f in range(params.categorical_fields)},
    }
    return TableData(pd.DataFrame(columns), stats)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="recsys_challenges uncertainty-simulate", description=__doc__.splitlines()[0])
    parser.add_argument("--section", default="uncertainty.click_log", help="params section with ClickLogParams")
    parser.add_argument("--out", type=Path, required=True, help="output folder (table.parquet + meta.json)")
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    args = parser.parse_args(argv)
    params = load_section(ClickLogParams, args.section, args.params)
    table = simulate_click_log(params)
    with atomic_dir(args.out) as tmp:
        meta = save_table(
            table,
            tmp,
            {"name": args.out.name, "simulated": True, "simulator": __name__, "params": dataclasses.asdict(params)},
        )
    print(f"simulated click log {args.out}: {meta['num_rows']} rows, {table.stats['positives']} clicks")
    return 0
