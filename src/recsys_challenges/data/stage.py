"""The data stages' entry points: ``fetch``, ``prepare``, ``prepare-local`` and ``add-dataset``.

Each ``main_*`` parses its arguments, calls its library module (:mod:`.fetch`, :mod:`.prepare`,
:mod:`.add`) and writes, nothing else; each imports its library inside it, so ``fetch`` pays for no
parser's imports.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from recsys_challenges.config import load_section


def main_fetch(argv: list[str] | None = None) -> int:
    """Stage ``fetch@<source>``: download (or copy from the mirror) one catalog source, checking its sha256."""
    from recsys_challenges.data import fetch
    from recsys_challenges.data.catalog import load_catalog

    parser = argparse.ArgumentParser(prog="recsys_challenges fetch", description=fetch.__doc__.splitlines()[0])
    parser.add_argument("source", help="catalog source name (see src/recsys_challenges/data/catalog.yaml)")
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default data/raw/<source>)")
    args = parser.parse_args(argv)
    params = load_section(fetch.FetchParams, "data.fetch", args.params)
    source = load_catalog().source(args.source)
    dest = args.out or fetch.RAW_ROOT / args.source
    checksums = fetch.fetch_source(args.source, source, dest, params)
    print(f"fetched {len(checksums)} file(s) of {args.source!r} into {dest}")
    return 0


def main_prepare(argv: list[str] | None = None) -> int:
    """Stage ``prepare@<dataset>``: parse one fetched source into a prepared dataset."""
    from recsys_challenges.data import prepare
    from recsys_challenges.data.fetch import RAW_ROOT
    from recsys_challenges.data.formats import PREPARED_ROOT

    parser = argparse.ArgumentParser(prog="recsys_challenges prepare", description=prepare.__doc__.splitlines()[0])
    parser.add_argument("dataset", help="dataset name, a key of data.datasets in params.yaml")
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--raw", type=Path, default=None, help="fetched source folder (default data/raw/<source>)")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default data/prepared/<dataset>)")
    args = parser.parse_args(argv)
    spec = load_section(prepare.DatasetSpec, f"data.datasets.{args.dataset}", args.params)
    raw = args.raw or RAW_ROOT / spec.source
    prepare.prepare(args.dataset, spec, raw, args.out or PREPARED_ROOT / args.dataset)
    return 0


def main_prepare_local(argv: list[str] | None = None) -> int:
    """Stage ``prepare_local@<dataset>``: check and prepare one of the user's own files (``data.local``)."""
    from recsys_challenges.data import prepare
    from recsys_challenges.data.formats import PREPARED_ROOT

    parser = argparse.ArgumentParser(prog="recsys_challenges prepare-local",
                                     description=prepare.__doc__.splitlines()[0])
    parser.add_argument("dataset", help="dataset name, a key of data.local in params.yaml")
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default data/prepared/<dataset>)")
    parser.add_argument("--lock", type=Path, default=prepare.LOCK_FILE,
                        help=f"checksum record (default {prepare.LOCK_FILE})")
    args = parser.parse_args(argv)
    spec = load_section(prepare.LocalDataset, f"data.local.{args.dataset}", args.params)
    prepare.prepare_local(args.dataset, spec, args.out or PREPARED_ROOT / args.dataset, args.lock)
    return 0


def main_add_dataset(argv: list[str] | None = None) -> int:
    """``add-dataset``: add one of the user's own files to params.yaml (not a DVC stage)."""
    from recsys_challenges.data import add
    from recsys_challenges.data.prepare import LOCK_FILE

    parser = argparse.ArgumentParser(prog="recsys_challenges add-dataset", description=add.__doc__.splitlines()[0])
    parser.add_argument("name", help="dataset name (a new key of data.local)")
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--graph", help="T1: edge list CSV/TSV, edge_index npz or scipy sparse adjacency npz")
    what.add_argument("--events", help="T2: event log CSV/parquet (user, item, event, timestamp)")
    what.add_argument("--table", help="T3: features + label CSV/parquet (the estimator trains on it)")
    what.add_argument("--scores", help="T3: score, uncertainty, label CSV/parquet (boundaries only)")
    parser.add_argument("--format", choices=["edge_list", "edge_index_npz", "sparse_adjacency"],
                        help="graph file layout (default: from the suffix and the npz's arrays)")
    parser.add_argument("--direction", choices=["forward", "reverse"],
                        help="graph: a stored pair (i, j) is the edge i -> j (forward) or j -> i (reverse)")
    parser.add_argument("--meaning", help="graph: what an edge u -> v means, e.g. 'u follows v'")
    parser.add_argument("--no-header", action="store_true", help="edge list without a header row")
    parser.add_argument("--delimiter", help="edge list: field separator (default: tab for .tsv, else comma)")
    for role in add.ROLES:
        parser.add_argument(f"--{role}", help=f"events: comma-separated event names of role {role!r}")
    parser.add_argument("--label", help="table: the label column (default 'label')")
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    args = parser.parse_args(argv)
    entry, technique = add.local_entry(args)
    add.add_dataset(args.name, entry, technique, args.params)
    print(f"added {args.name!r} to data.local and {technique}.datasets of {args.params}; "
          f"run: dvc repro {add.STAGE[technique]}@{args.name} (records the file's sha256 in {LOCK_FILE})")
    return 0
