"""Low-level readers shared by the parsers: text lines from plain or gzip files, tolerant of a cut end.

Several mirrored files are byte prefixes of bigger files (SOURCES.md says which): a gzip stream
that stops mid-block, or a text file whose last line is cut mid-record. These readers yield only
complete lines and report what they dropped, so a parser keeps every complete record and says so.
"""

from __future__ import annotations

import contextlib
import io
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from recsys_challenges.io import progress

CHUNK = 1 << 20


@dataclass
class ReadReport:
    """What a tolerant read dropped. ``partial_line`` holds the bytes of a cut last line."""

    truncated_stream: bool = False
    partial_line: bytes = b""

    def as_stats(self) -> dict[str, object]:
        return {
            "truncated_stream": self.truncated_stream,
            "partial_last_line_dropped": bool(self.partial_line),
        }


def iter_lines(path: Path, report: ReadReport) -> Iterator[bytes]:
    """Yield complete lines (without ``\\n``) of a plain or ``.gz`` file.

    A gzip stream that ends early is accepted (``report.truncated_stream``); the bytes after the
    last newline are never yielded but kept in ``report.partial_line``.
    """
    gz = path.suffix == ".gz" or path.name.endswith(".jlg")
    decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS) if gz else None
    pending = b""
    with open(path, "rb") as handle, progress(
        total=path.stat().st_size, unit="B", unit_scale=True, desc=f"read {path.name}"
    ) as bar:
        while chunk := handle.read(CHUNK):
            bar.update(len(chunk))
            data = decompressor.decompress(chunk) if decompressor else chunk
            *complete, pending = (pending + data).split(b"\n")
            yield from complete
    if decompressor is not None:
        tail = decompressor.flush()
        if tail:
            *complete, pending = (pending + tail).split(b"\n")
            yield from complete
        report.truncated_stream = not decompressor.eof
    report.partial_line = pending


class _ProgressPrefix(io.RawIOBase):
    """The first ``limit`` bytes of a binary file, advancing a progress bar as they are read."""

    def __init__(self, handle: io.BufferedIOBase, limit: int, bar) -> None:
        self._handle, self._left, self._bar = handle, limit, bar

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        size = min(len(buffer), self._left)
        data = self._handle.read(size)
        buffer[: len(data)] = data
        self._left -= len(data)
        self._bar.update(len(data))
        return len(data)


def complete_lines_prefix(path: Path, report: ReadReport) -> int:
    """Length in bytes of ``path`` up to its last newline; the cut bytes after it go to ``report``."""
    size = path.stat().st_size
    with open(path, "rb") as handle:
        tail_start = max(0, size - (1 << 16))
        handle.seek(tail_start)
        tail = handle.read()
    cut = tail.rfind(b"\n")
    end = tail_start + cut + 1 if cut >= 0 else 0
    report.partial_line = tail[cut + 1 :] if cut >= 0 else tail
    return end


@contextlib.contextmanager
def complete_lines(path: Path, report: ReadReport) -> Iterator[io.BufferedReader]:
    """A binary stream over the complete lines of an uncompressed text file, for chunked parsing.

    Bytes after the last newline (a cut record) are left out and kept in ``report.partial_line``.
    """
    limit = complete_lines_prefix(path, report)
    with open(path, "rb") as handle, progress(total=limit, unit="B", unit_scale=True, desc=f"read {path.name}") as bar:
        yield io.BufferedReader(_ProgressPrefix(handle, limit, bar), buffer_size=CHUNK)
