"""``directed_search`` stage: a validation-only grid of the same size for every searched method.

For each method of ``search.methods`` and each combination of learning rate and reversed-edge
weight in ``directed.search``, train on the ``search.seed`` split of each ``search.datasets`` with
the training budget of ``directed.train`` (early stopping on validation MRR) and record the best
validation MRR (sampled candidates; the test split is never touched). Both dual models are
searched; the pair takes the learning rate with the best mean over the two, so that adaptive and
fixed differ in the sampler only. The issue's full grid (4 reversed-edge weights x 3 learning rates x 2 widths x 2 weight
decays) is reduced to the two axes that changed the ranking in earlier runs (see the README). The chosen
values are copied into ``directed.methods`` by hand (params.yaml stays the single source of
hyper-parameters); this stage is frozen in dvc.yaml, so ``dvc repro`` does not rerun it (not even
with ``-f``): ``python -m recsys_challenges directed-search`` reruns it, ``dvc commit directed_search``
records the result.

Output ``reports/metrics/directed/search/validation_grid.json``:
``{"seed", "datasets", "grid": {name: [values]}, "results": {method: [{"learning_rate",
"hard_negative_weight", "val_mrr": {dataset: value}, "mean_val_mrr"}]}, "best": {method: {...}}}``.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from recsys_challenges.config import require
from recsys_challenges.data.formats import PREPARED_ROOT, load_graph
from recsys_challenges.directed import config as cfg
from recsys_challenges.directed.splits import split_edges
from recsys_challenges.directed.train import quiet_lightning, train_method, validation_set
from recsys_challenges.io import write_json
from recsys_challenges.tracking import TrackingParams

OUTPUT = Path("reports/metrics/directed/search/validation_grid.json")


@dataclass(frozen=True)
class SearchParams:
    """``directed.search``: the datasets, seed and grid of the validation search."""

    datasets: list[str] = field(default_factory=lambda: ["cora_ml", "citeseer"])
    methods: list[str] = field(default_factory=lambda: ["dual_fixed", "sage", "shallow", "gravity_gae"])
    seed: int = 0
    learning_rate: list[float] = field(default_factory=lambda: [0.01, 0.02])
    hard_negative_weight: list[float] = field(default_factory=lambda: [0.0, 1.0])

    def __post_init__(self) -> None:
        require(len(self.datasets) >= 1 and len(self.methods) >= 1, "search.datasets and search.methods must not be empty")
        require(len(self.learning_rate) >= 1 and len(self.hard_negative_weight) >= 1, "empty search grid")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="recsys_challenges directed-search", description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--out", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    search = cfg.load(SearchParams, "search", args.params)
    experiment = cfg.load(cfg.ExperimentParams, "experiment", args.params)
    split_params = cfg.load(cfg.SplitParams, "split", args.params)
    params = cfg.load_training(args.params)
    known = cfg.load_methods(args.params)
    missing = [name for name in search.methods if name not in known]
    require(not missing, f"{args.params}: search.methods {missing} are not in directed.methods")
    methods = {name: known[name] for name in search.methods}
    torch.set_num_threads(experiment.num_threads)
    quiet_lightning()
    no_tracking = TrackingParams(csv=False, wandb=False)
    graphs = {name: load_graph(PREPARED_ROOT / name) for name in search.datasets}
    splits = {
        name: split_edges(g.edge_index, g.num_nodes, split_params.val_fraction, split_params.test_fraction, search.seed)
        for name, g in graphs.items()
    }
    validation = {
        name: validation_set(g.edge_index, g.num_nodes, splits[name], params["train"], search.seed)
        for name, g in graphs.items()
    }
    results: dict[str, list[dict]] = {}
    for method_name, method in methods.items():
        results[method_name] = []
        for rate, weight in itertools.product(search.learning_rate, search.hard_negative_weight):
            variant = dataclasses.replace(method, learning_rate=rate, hard_negative_weight=weight)
            scores, selection = {}, {}
            for name, g in graphs.items():
                _, _, record = train_method(
                    method_name, variant, name, g.edge_index, g.num_nodes, splits[name], validation[name],
                    search.seed, params, no_tracking,
                )
                scores[name] = record["val_mrr"]
                selection[name] = {key: record[key] for key in ("selected_epoch", "epochs_run", "budget_bound")}
            results[method_name].append(
                {"learning_rate": rate, "hard_negative_weight": weight, "val_mrr": scores,
                 "mean_val_mrr": float(np.mean(list(scores.values()))), "selection": selection}
            )
            print(f"  {method_name} lr {rate} w_h {weight}: " + ", ".join(f"{k} {v:.4f}" for k, v in scores.items()))
    best = {m: max(rows, key=lambda row: row["mean_val_mrr"]) for m, rows in results.items()}
    grid = {"learning_rate": search.learning_rate, "hard_negative_weight": search.hard_negative_weight}
    write_json(args.out, {"seed": search.seed, "datasets": search.datasets, "grid": grid, "results": results, "best": best})
    for method_name, row in best.items():
        print(f"  best {method_name}: lr {row['learning_rate']}, w_h {row['hard_negative_weight']}, "
              f"mean val MRR {row['mean_val_mrr']:.4f}")
    return 0
