"""``directed_search`` stage: a validation-only search of the same size for every searched method.

Four axes (``directed.search``): learning rate, reversed-edge weight ``w_h``, embedding width and
weight decay. Each grid point trains on the ``search.seed`` split of each ``search.datasets`` with the
training budget of ``directed.train`` (early stopping on validation MRR) and records the best
validation MRR (sampled candidates; the test split is never touched). The search runs in stages
(:data:`STAGES`): stage 1 is the joint grid of learning rate x ``w_h`` (width and weight decay at
their first values), stage 2 the joint grid of learning rate x width x weight decay at the method's
stage-1 ``w_h``; points met twice are trained once. That is 12 + 9 = 21 trainings per method and
dataset instead of the full product's 48 (``full_product: true`` runs the 48, about 4x longer): the
stage-2 axes are searched jointly with the learning rate they interact with, ``w_h`` is not, and the
README says so. Every method gets the same points. The methods of ``search.shared`` (the dual pair,
which differ in the sampler only) are searched as one group: each point is trained for all of them and
scored by their mean, so that the pair ends on one shared configuration; every other method is a group
of its own. Groups run in ``search.workers`` processes (one torch thread each). The chosen values are copied into
``directed.methods`` by hand (params.yaml stays the single source of hyper-parameters); this stage is
frozen in dvc.yaml, so ``dvc repro`` does not rerun it (not even with ``-f``):
``python -m recsys_challenges directed-search`` reruns it, ``dvc commit directed_search`` records the
result.

Output ``reports/metrics/directed/search/validation_grid.json``:
``{"seed", "datasets", "grid": {axis: [values]}, "stages": [[axis, ...]], "results": {method:
[{axis: value, ..., "stage", "val_mrr": {dataset: value}, "mean_val_mrr", "selection"}]},
"best": {method: row}, "groups": [{"methods", "point", "mean_val_mrr"}]}``: ``groups`` holds each
group's chosen point (for a group of one, the method's own best).
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
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
from recsys_challenges.workers import map_jobs

OUTPUT = Path("reports/metrics/directed/search/validation_grid.json")
AXES = ("learning_rate", "hard_negative_weight", "dim", "weight_decay")  # MethodParams fields
STAGES = (("learning_rate", "hard_negative_weight"), ("learning_rate", "dim", "weight_decay"))


@dataclass(frozen=True)
class SearchParams:
    """``directed.search``: the datasets, seed and axes of the validation search."""

    datasets: list[str] = field(default_factory=lambda: ["cora_ml", "citeseer"])
    methods: list[str] = field(default_factory=lambda: ["dual_fixed", "sage", "shallow", "gravity_gae"])
    seed: int = 0
    learning_rate: list[float] = field(default_factory=lambda: [0.01, 0.02])
    hard_negative_weight: list[float] = field(default_factory=lambda: [0.0, 1.0])
    dim: list[int] = field(default_factory=lambda: [32])
    weight_decay: list[float] = field(default_factory=lambda: [0.0])
    full_product: bool = False  # one stage over all four axes instead of STAGES
    shared: list[str] = field(default_factory=list)  # methods searched as one group: one shared configuration
    workers: int = 1  # groups searched in parallel processes


    def __post_init__(self) -> None:
        require(len(self.datasets) >= 1 and len(self.methods) >= 1, "search.datasets and search.methods must not be empty")
        for axis in AXES:
            require(len(getattr(self, axis)) >= 1, f"search.{axis} must not be empty")
        outside = [name for name in self.shared if name not in self.methods]
        require(not outside, f"search.shared {outside} are not in search.methods")
        require(self.workers >= 1, "search.workers must be >= 1")

    def axes(self) -> dict[str, list]:
        return {axis: list(getattr(self, axis)) for axis in AXES}

    def stages(self) -> tuple[tuple[str, ...], ...]:
        return (AXES,) if self.full_product else STAGES

    def groups(self) -> list[list[str]]:
        """The ``shared`` methods as one group, then every other method alone."""
        alone = [[name] for name in self.methods if name not in self.shared]
        return ([list(self.shared)] if self.shared else []) + alone


def stage_points(axes: dict[str, list], varied: tuple[str, ...], base: dict) -> list[dict]:
    """Every combination of the ``varied`` axes' values, the other axes held at ``base``."""
    return [base | dict(zip(varied, values)) for values in itertools.product(*(axes[axis] for axis in varied))]


def group_best(results: dict[str, list[dict]], methods: list[str]) -> dict:
    """The grid point evaluated for every one of ``methods`` with the best mean of their mean validation MRRs."""
    scores: dict[tuple, list[float]] = {}
    for name in methods:
        for row in results[name]:
            scores.setdefault(tuple(row[axis] for axis in AXES), []).append(row["mean_val_mrr"])
    common = {point: values for point, values in scores.items() if len(values) == len(methods)}
    require(bool(common), f"search group {methods}: no grid point was evaluated for all of them")
    point = max(common, key=lambda key: float(np.mean(common[key])))
    return {"methods": methods, "point": dict(zip(AXES, point)), "mean_val_mrr": float(np.mean(common[point]))}


def search_group(group: list[str], params_path: str) -> dict[str, list[dict]]:
    """Every stage's points for the methods of ``group``, each stage around the group's best point so far."""
    search = cfg.load(SearchParams, "search", params_path)
    experiment = cfg.load(cfg.ExperimentParams, "experiment", params_path)
    split_params = cfg.load(cfg.SplitParams, "split", params_path)
    params = cfg.load_training(params_path)
    methods = cfg.load_methods(params_path)
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
    axes = search.axes()
    results: dict[str, list[dict]] = {name: [] for name in group}
    base = {axis: values[0] for axis, values in axes.items()}
    for stage, varied in enumerate(search.stages(), start=1):
        seen = [{axis: row[axis] for axis in AXES} for row in results[group[0]]]
        for point in stage_points(axes, varied, base):
            if point in seen:
                continue
            for method_name in group:
                variant = dataclasses.replace(methods[method_name], **point)
                scores, selection = {}, {}
                for name, g in graphs.items():
                    _, _, record = train_method(
                        method_name, variant, name, g.edge_index, g.num_nodes, splits[name], validation[name],
                        search.seed, params, no_tracking,
                    )
                    scores[name] = record["val_mrr"]
                    selection[name] = {key: record[key] for key in ("selected_epoch", "epochs_run", "budget_bound", "seconds")}
                results[method_name].append(
                    point | {"stage": stage, "val_mrr": scores, "mean_val_mrr": float(np.mean(list(scores.values()))),
                             "selection": selection}
                )
                print(f"  {method_name} stage {stage} " + " ".join(f"{axis} {point[axis]}" for axis in AXES) + ": "
                      + ", ".join(f"{k} {v:.4f}" for k, v in scores.items()), flush=True)
        base = group_best(results, group)["point"]
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="recsys_challenges directed-search", description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--out", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    search = cfg.load(SearchParams, "search", args.params)
    known = cfg.load_methods(args.params)
    missing = [name for name in search.methods if name not in known]
    require(not missing, f"{args.params}: search.methods {missing} are not in directed.methods")
    groups = search.groups()
    searched = map_jobs(functools.partial(search_group, params_path=args.params), groups, search.workers,
                        describe=lambda group, _, seconds: f"searched {', '.join(group)} ({seconds:.0f}s)")
    results = {name: rows for group_rows in searched for name, rows in group_rows.items()}
    results = {name: results[name] for name in search.methods}
    best = {m: max(rows, key=lambda row: row["mean_val_mrr"]) for m, rows in results.items()}
    chosen = [group_best(results, group) for group in groups]
    write_json(args.out, {"seed": search.seed, "datasets": search.datasets, "grid": search.axes(),
                          "stages": [list(varied) for varied in search.stages()], "results": results,
                          "best": best, "groups": chosen})
    for group in chosen:
        print(f"  chosen for {', '.join(group['methods'])}: "
              + ", ".join(f"{axis} {value}" for axis, value in group["point"].items())
              + f" (mean val MRR {group['mean_val_mrr']:.4f})")
    return 0
