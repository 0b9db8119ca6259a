"""A validation-only search of the same size for every searched method (stage ``directed_search``, :mod:`.stage`).

Four axes (``directed.search``): learning rate, reversed-edge weight ``w_h``, embedding width and
weight decay. Each grid point trains on the ``search.seed`` split of each ``search.datasets`` with the
training budget of ``directed.train`` (early stopping on validation MRR) and records the best
validation MRR (sampled candidates; the test split is never touched). The search runs in stages
(:data:`.config.SEARCH_STAGES`): stage 1 is the joint grid of learning rate x ``w_h`` (width and
weight decay at their first values), stage 2 the joint grid of learning rate x width x weight decay at the method's
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

import dataclasses
import functools
import itertools

import numpy as np
import torch

from recsys_challenges.config import require
from recsys_challenges.data.formats import PREPARED_ROOT, load_graph
from recsys_challenges.directed import config as cfg
from recsys_challenges.directed.config import SEARCH_AXES
from recsys_challenges.directed.loop import train_method, validation_set
from recsys_challenges.directed.splits import split_edges
from recsys_challenges.tracking import TrackingParams, quiet_lightning
from recsys_challenges.workers import map_jobs


def stage_points(axes: dict[str, list], varied: tuple[str, ...], base: dict) -> list[dict]:
    """Every combination of the ``varied`` axes' values, the other axes held at ``base``."""
    return [base | dict(zip(varied, values)) for values in itertools.product(*(axes[axis] for axis in varied))]


def group_best(results: dict[str, list[dict]], methods: list[str]) -> dict:
    """The grid point evaluated for every one of ``methods`` with the best mean of their mean validation MRRs."""
    scores: dict[tuple, list[float]] = {}
    for name in methods:
        for row in results[name]:
            scores.setdefault(tuple(row[axis] for axis in SEARCH_AXES), []).append(row["mean_val_mrr"])
    common = {point: values for point, values in scores.items() if len(values) == len(methods)}
    require(bool(common), f"search group {methods}: no grid point was evaluated for all of them")
    point = max(common, key=lambda key: float(np.mean(common[key])))
    return {"methods": methods, "point": dict(zip(SEARCH_AXES, point)), "mean_val_mrr": float(np.mean(common[point]))}


def search_group(group: list[str], params_path: str) -> dict[str, list[dict]]:
    """Every stage's points for the methods of ``group``, each stage around the group's best point so far."""
    search = cfg.load(cfg.SearchParams, "search", params_path)
    experiment = cfg.load(cfg.ExperimentParams, "experiment", params_path)
    split_params = cfg.load(cfg.SplitParams, "split", params_path)
    params = cfg.load_training(params_path)
    methods = cfg.load_methods(params_path)
    torch.set_num_threads(experiment.num_threads)
    quiet_lightning()
    no_tracking = TrackingParams(csv=False, wandb=False)
    graphs = {dataset: load_graph(PREPARED_ROOT / dataset) for dataset in search.datasets}
    splits = {
        dataset: split_edges(
            g.edge_index, g.num_nodes, split_params.val_fraction, split_params.test_fraction, search.seed
        )
        for dataset, g in graphs.items()
    }
    validation = {
        dataset: validation_set(g.edge_index, g.num_nodes, splits[dataset], params["train"], search.seed)
        for dataset, g in graphs.items()
    }
    axes = search.axes()
    results: dict[str, list[dict]] = {method_name: [] for method_name in group}
    base = {axis: values[0] for axis, values in axes.items()}
    for stage, varied in enumerate(search.stages(), start=1):
        seen = [{axis: row[axis] for axis in SEARCH_AXES} for row in results[group[0]]]
        for point in stage_points(axes, varied, base):
            if point in seen:
                continue
            for method_name in group:
                variant = dataclasses.replace(methods[method_name], **point)
                scores, selection = {}, {}
                for dataset, g in graphs.items():
                    _, _, record = train_method(
                        method_name, variant, dataset, g.edge_index, g.num_nodes, splits[dataset], validation[dataset],
                        search.seed, params, no_tracking,
                    )
                    scores[dataset] = record["val_mrr"]
                    selection[dataset] = {
                        key: record[key] for key in ("selected_epoch", "epochs_run", "budget_bound", "seconds")
                    }
                results[method_name].append(
                    point | {"stage": stage, "val_mrr": scores, "mean_val_mrr": float(np.mean(list(scores.values()))),
                             "selection": selection}
                )
                print(f"  {method_name} stage {stage} "
                      + " ".join(f"{axis} {point[axis]}" for axis in SEARCH_AXES) + ": "
                      + ", ".join(f"{k} {v:.4f}" for k, v in scores.items()), flush=True)
        base = group_best(results, group)["point"]
    return results


def run_search(search: cfg.SearchParams, params_path: str) -> dict:
    """Every group's search (:func:`search_group`) in ``search.workers`` processes; the payload of the
    output file (layout in the module docstring)."""
    groups = search.groups()
    searched = map_jobs(functools.partial(search_group, params_path=params_path), groups, search.workers,
                        describe=lambda group, _, seconds: f"searched {', '.join(group)} ({seconds:.0f}s)")
    results = {name: rows for group_rows in searched for name, rows in group_rows.items()}
    results = {name: results[name] for name in search.methods}
    best = {m: max(rows, key=lambda row: row["mean_val_mrr"]) for m, rows in results.items()}
    chosen = [group_best(results, group) for group in groups]
    return {"seed": search.seed, "datasets": search.datasets, "grid": search.axes(),
            "stages": [list(varied) for varied in search.stages()], "results": results, "best": best, "groups": chosen}


def print_chosen(grid: dict) -> None:
    """One line per group of :func:`run_search`'s payload: its chosen point."""
    for group in grid["groups"]:
        print(f"  chosen for {', '.join(group['methods'])}: "
              + ", ".join(f"{axis} {value}" for axis, value in group["point"].items())
              + f" (mean val MRR {group['mean_val_mrr']:.4f})")
