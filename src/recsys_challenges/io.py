"""Atomic outputs: a stage either leaves its complete output or nothing at all.

Every file or folder a stage declares as a DVC output is written under a temporary name in the
same folder and renamed into place only when complete, so a crash, an exception or Ctrl-C never
leaves a half-written output that DVC (or a later stage) could take for a valid one.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tqdm import tqdm


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def progress(iterable: Any = None, **kwargs: Any) -> tqdm:
    """A tqdm bar shown on a terminal only (logs and CI stay clean), refreshed at most twice a second."""
    options = {"disable": None, "mininterval": 0.5, "dynamic_ncols": True, "leave": False} | kwargs
    return tqdm(iterable, **options)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


@contextlib.contextmanager
def atomic_dir(final: Path | str) -> Iterator[Path]:
    """Yield an empty temporary folder that replaces ``final`` only if the block succeeds."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent))
    tmp.chmod(0o777 & ~_umask())  # mkdtemp makes it private; the output should not be
    try:
        yield tmp
        _remove(final)
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


@contextlib.contextmanager
def atomic_file(final: Path | str) -> Iterator[Path]:
    """Yield a temporary file path that replaces ``final`` only if the block succeeds."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent)
    os.close(handle)
    tmp = Path(name)
    try:
        yield tmp
        tmp.chmod(0o666 & ~_umask())
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_json(path: Path | str, payload: Any) -> None:
    """Write ``payload`` as stable, human-readable JSON (sorted keys), atomically."""
    with atomic_file(path) as tmp:
        tmp.write_text(json.dumps(payload, indent=2, sort_keys=True, allow_nan=False) + "\n")
