"""Low-level readers shared by the parsers: text lines from plain or gzip files, tolerant of a cut end.

Several mirrored files are byte prefixes of bigger files (SOURCES.md says which): a gzip stream
that stops mid-block, or a text file whose last line is cut mid-record. These readers yield only
complete lines and report what they dropped, so a parser keeps every complete record and says so.
"""

from __future__ import annotations

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
