"""``prepare`` and ``prepare-local`` stages: turn one source into one canonical, typed dataset.

``prepare``: ``params.yaml`` binds each dataset name to a catalog source and a parser
(``data.datasets.<name>: {source, parser}``); the parser reads ``data/raw/<source>/``.
``prepare-local``: a user's own file (``data.local.<name>: {path, parser, ...}``, parsers in
:mod:`recsys_challenges.data.sources.files`), whose SHA-256 is recorded in :data:`LOCK_FILE` at
first use and verified at every later run. Either result is written atomically to
``data/prepared/<name>/`` (see :mod:`recsys_challenges.data.formats`); a local dataset's
``meta.json`` says ``"data_kind": "user"``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from recsys_challenges.config import require
from recsys_challenges.data.catalog import load_catalog
from recsys_challenges.data.fetch import sha256_of
from recsys_challenges.data.formats import GraphData, TableData, save_graph, save_table
from recsys_challenges.data.sources import amazon, citation, clicks, conversions, events, widedeep
from recsys_challenges.data.sources.files import FILE_PARSERS, LocalDataset
from recsys_challenges.errors import DataError
from recsys_challenges.io import atomic_dir, write_json

LOCK_FILE = Path("local_data.lock.json")  # {dataset: {file path: sha256}} of data.local, recorded at first use

Parser = Callable[[Path], GraphData | TableData]

PARSERS: dict[str, Parser] = {
    "cora_ml_npz": citation.cora_ml,
    "nettack_cora": partial(citation.nettack, name="cora"),
    "nettack_citeseer": partial(citation.nettack, name="citeseer"),
    "cora_cites": citation.cora_cites,
    "subelj_cora": citation.subelj_cora,
    "pubmed_npz": citation.pubmed,
    "snap_cit_hepth": partial(citation.snap_cit_hep, name="cit-hep-th"),
    "snap_cit_hepph": partial(citation.snap_cit_hep, name="cit-hep-ph"),
    "snap_amazon": amazon.snap_amazon,
    "amazon_also_bought": amazon.metadata_also_bought,
    "amazon_reviews_json": amazon.reviews_json,
    "amazon_reviews_csv": amazon.reviews_csv,
    "taobao_user_behavior": events.taobao_user_behavior,
    "criteo_tsv": clicks.criteo_tsv,
    "criteo_csv": clicks.criteo_csv,
    "avazu_csv": clicks.avazu_csv,
    "open_bandit": clicks.open_bandit,
    "kddcup2004_protein": clicks.kddcup2004_protein,
    "adult_census": widedeep.adult_census,
    "womens_reviews": widedeep.womens_reviews,
    "movielens_100k": widedeep.movielens_100k,
    "criteo_conversion_logs": conversions.criteo_conversion_logs,
}


@dataclass(frozen=True)
class DatasetSpec:
    """``data.datasets.<name>`` in params.yaml: which source to read and with which parser."""

    source: str
    parser: str

    def __post_init__(self) -> None:
        require(self.parser in PARSERS, f"unknown parser {self.parser!r} (known: {', '.join(PARSERS)})")
        load_catalog().source(self.source)


def prepare(name: str, spec: DatasetSpec, raw: Path, out: Path) -> dict:
    """Parse ``raw`` with the spec's parser and write the dataset to ``out``; return its meta."""
    if not raw.is_dir():
        raise DataError(f"{raw}: fetched source not found (run `dvc repro fetch@{spec.source}`)")
    started = time.perf_counter()
    result = PARSERS[spec.parser](raw)
    checksums_path = raw / "CHECKSUMS.json"
    meta = {
        "name": name,
        "source": spec.source,
        "parser": spec.parser,
        "source_title": load_catalog().source(spec.source).title,
        "source_sha256": json.loads(checksums_path.read_text()) if checksums_path.is_file() else {},
    }
    return _write(name, spec.source, result, meta, out, started)


def _write(name: str, origin: str, result: GraphData | TableData, meta: dict, out: Path, started: float) -> dict:
    with atomic_dir(out) as tmp:
        save = save_graph if isinstance(result, GraphData) else save_table
        meta = save(result, tmp, meta)
    counts = {k: meta[k] for k in ("num_nodes", "num_edges", "num_rows") if k in meta}
    print(f"prepared {name!r} from {origin!r} in {time.perf_counter() - started:.1f}s: {counts}")
    return meta


def _records(lock: Path) -> dict[str, dict[str, str]]:
    try:
        return json.loads(lock.read_text()) if lock.is_file() else {}
    except json.JSONDecodeError as error:
        raise DataError(f"{lock}: not valid JSON: {error}") from None


def verify_local_file(name: str, spec: LocalDataset, lock: Path = LOCK_FILE) -> tuple[dict[str, str], bool]:
    """``({path: sha256}, new)`` of the dataset's file: a :class:`DataError` naming the file if it is
    missing or differs from the SHA-256 recorded in ``lock``; ``new`` when ``lock`` has no record of it."""
    path = Path(spec.path)
    if not path.is_file():
        raise DataError(f"{path}: file of data.local.{name} not found")
    actual = {spec.path: sha256_of(path)}
    recorded = _records(lock).get(name, {})
    if spec.path in recorded and recorded[spec.path] != actual[spec.path]:
        raise DataError(
            f"{path}: sha256 {actual[spec.path]} differs from {recorded[spec.path]} recorded in {lock} at first use; "
            f"if you replaced the file on purpose, delete the entry {name!r} of {lock}"
        )
    return actual, recorded != actual


def prepare_local(name: str, spec: LocalDataset, out: Path, lock: Path = LOCK_FILE) -> dict:
    """Verify the local dataset's file against its recorded SHA-256, parse it and write the dataset
    to ``out``; at its first use (no record yet) record the SHA-256 in ``lock`` once all succeeded."""
    started = time.perf_counter()
    checksums, new = verify_local_file(name, spec, lock)
    result = FILE_PARSERS[spec.parser](Path(spec.path), spec)
    meta = {"name": name, "data_kind": "user", "parser": spec.parser, "path": spec.path, "source_sha256": checksums}
    meta = _write(name, spec.path, result, meta, out, started)
    if new:
        write_json(lock, _records(lock) | {name: checksums})
        print(f"recorded sha256 of {spec.path} in {lock} (its first use)")
    return meta
