"""``add-dataset``: register a local file as a dataset of one technique, in one command.

    python -m recsys_challenges add-dataset my_graph --graph edges.csv --direction forward
    dvc repro directed_evaluate@my_graph

It checks the options (the typed ``data.local`` entry) and writes into params.yaml (comments and
layout kept) the entry ``data.local.<name>`` read by stage ``prepare_local@<name>`` (which records
the file's SHA-256 at its first successful run and verifies it at every later one) and the
technique's entry:

* ``--graph``: ``<name>`` appended to ``directed.datasets`` (T1);
* ``--events``: ``delayed.datasets.<name>`` with builder ``event_log`` (T2);
* ``--table`` / ``--scores``: ``uncertainty.datasets.<name>`` with loader ``table`` / ``scores`` (T3).

The technique's metrics file says ``"data_kind": "user"``: the claims report lists the dataset,
labelled, and does not count it toward the verdicts. Nothing is written if any check fails.
"""

from __future__ import annotations

import argparse
import io
from pathlib import Path
from typing import Any

import numpy as np
from ruamel.yaml import YAML

from recsys_challenges.config import from_mapping
from recsys_challenges.data.formats import PREPARED_ROOT
from recsys_challenges.data.sources.files import ROLES, LocalDataset
from recsys_challenges.errors import ConfigError, DataError
from recsys_challenges.io import atomic_file


def _yaml() -> YAML:
    """Round-trip YAML in the layout of params.yaml (comments, flow lists and ``null`` kept)."""
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.representer.add_representer(type(None), lambda r, _: r.represent_scalar("tag:yaml.org,2002:null", "null"))
    return yaml


def _graph_parser(path: Path) -> str:
    if path.suffix != ".npz":
        return "edge_list"
    with np.load(path, allow_pickle=False) as npz:
        return "edge_index_npz" if "edge_index" in npz.files else "sparse_adjacency"


def local_entry(args: argparse.Namespace) -> tuple[dict[str, Any], str]:
    """The ``data.local.<name>`` mapping and the technique (directed / delayed / uncertainty) of ``args``."""
    if args.graph:
        entry = {"path": args.graph, "parser": args.format or _graph_parser(Path(args.graph)),
                 "direction": args.direction}
        entry |= {"meaning": args.meaning} if args.meaning else {}
        entry |= {"header": False} if args.no_header else {}
        entry |= {"delimiter": args.delimiter} if args.delimiter else {}
        return entry, "directed"
    if args.events:
        events = {role: [n.strip() for n in getattr(args, role).split(",")] for role in ROLES if getattr(args, role)}
        return {"path": args.events, "parser": "event_log", "events": events}, "delayed"
    if args.table:
        return {"path": args.table, "parser": "labelled_table"} | ({"label": args.label} if args.label else {}), \
            "uncertainty"
    return {"path": args.scores, "parser": "scored_table"}, "uncertainty"


def add_dataset(name: str, entry: dict[str, Any], technique: str, params_path: Path) -> None:
    """Validate ``entry`` and write it and the technique's entry into ``params_path``."""
    spec = from_mapping(LocalDataset, entry, where=f"{params_path}: data.local.{name}")
    if not Path(spec.path).is_file():
        raise DataError(f"{spec.path}: file not found")
    yaml = _yaml()
    params = yaml.load(params_path.read_text())
    section = params[technique]
    taken = name in params["data"]["local"] or name in params["data"]["datasets"] or name in section["datasets"]
    if taken:
        raise ConfigError(f"{params_path}: a dataset named {name!r} exists already")
    folder = str(PREPARED_ROOT / name)
    if technique == "directed":
        section["datasets"].append(name)
    elif technique == "delayed":
        section["datasets"][name] = {"builder": "event_log", "input": folder, "batch_size": 256}
    else:
        loader = "scores" if spec.parser == "scored_table" else "table"
        section["datasets"][name] = {"folder": folder, "loader": loader, "kind": "user", "negative_keep": 1.0}
    params["data"]["local"][name] = entry
    text = io.StringIO()
    yaml.dump(params, text)
    with atomic_file(params_path) as tmp:
        tmp.write_text(text.getvalue())


STAGE = {"directed": "directed_evaluate", "delayed": "delayed_stream", "uncertainty": "uncertainty_evaluate"}
