"""Input validation: every problem with a data file becomes a :class:`DataError` naming the file.

Parsers call these checks right after reading, so a wrong column, a non-numeric id, a NaN or a
timestamp out of range stops the stage with a message a person can act on, instead of surfacing
later as a shape error or a silently wrong metric.
"""

from __future__ import annotations

import contextlib
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd

from recsys_challenges.errors import DataError


@contextlib.contextmanager
def csv_errors(file: Path | str) -> Iterator[None]:
    """Turn every failure of reading a CSV (bad quoting, ragged rows, a corrupt compressed stream,
    bad encoding, an empty file) into a :class:`DataError` naming ``file``."""
    try:
        yield
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise DataError(f"{file}: not a valid CSV file: {error}") from None
    except (EOFError, zlib.error, OSError) as error:
        raise DataError(f"{file}: unreadable compressed stream: {error}") from None


def read_csv(source: Path | IO, file: Path | str, **kwargs: Any) -> pd.DataFrame:
    """``pandas.read_csv`` with :func:`csv_errors`."""
    with csv_errors(file):
        return pd.read_csv(source, **kwargs)


def read_csv_chunks(source: Path | IO, file: Path | str, rows: int, **kwargs: Any) -> Iterator[pd.DataFrame]:
    """``pandas.read_csv`` in chunks of ``rows``, with :func:`csv_errors`; each chunk's index
    continues the previous one, so errors name the row of the whole file."""
    start = 0
    with csv_errors(file), pd.read_csv(source, chunksize=rows, **kwargs) as reader:
        for chunk in reader:
            chunk.index = pd.RangeIndex(start, start + len(chunk))
            start += len(chunk)
            yield chunk


def read_parquet(path: Path) -> pd.DataFrame:
    """``pandas.read_parquet`` of one file; a missing or corrupt file is a :class:`DataError` naming it."""
    if not path.is_file():
        raise DataError(f"{path}: file not found (a member of the source is missing; rerun its fetch stage)")
    try:
        return pd.read_parquet(path)
    except Exception as error:  # pyarrow raises several types for a corrupt file
        raise DataError(f"{path}: unreadable parquet: {error}") from None


def require_columns(frame: pd.DataFrame, expected: Iterable[str], file: Path | str) -> None:
    """The frame has at least the ``expected`` columns."""
    missing = [c for c in expected if c not in frame.columns]
    if missing:
        raise DataError(
            f"{file}: missing column{'s' if len(missing) > 1 else ''} {', '.join(map(repr, missing))} "
            f"(found: {', '.join(map(str, frame.columns))})"
        )


def require_integer(frame: pd.DataFrame, columns: Iterable[str], file: Path | str) -> pd.DataFrame:
    """Convert ``columns`` to int64, naming the first value that is not an integer."""
    frame = frame.copy()
    for column in columns:
        values = pd.to_numeric(frame[column], errors="coerce")
        bad = values.isna() | (values != np.floor(values))
        if bad.any():
            first = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataError(
                f"{file}: column {column!r} has {int(bad.sum())} non-integer value(s), "
                f"first at row {frame.index[first]}: {frame[column].iloc[first]!r}"
            )
        frame[column] = values.astype(np.int64)
    return frame


def require_nullable_number(frame: pd.DataFrame, columns: Iterable[str], file: Path | str,
                            integer: bool = True) -> pd.DataFrame:
    """Convert text ``columns`` to nullable ``Int64`` (``integer``) or ``Float64``: an empty field
    becomes missing (``<NA>``), anything else must be a number (an integer if ``integer``);
    the error names the first bad value's row (the frame's index)."""
    for column in columns:
        text = frame[column].fillna("").astype(str).str.strip()
        values = pd.to_numeric(text.replace("", np.nan), errors="coerce")
        bad = values.isna() & (text != "")
        if integer:
            bad |= values.notna() & (values != np.floor(values))
        if bad.any():
            first = int(np.flatnonzero(bad.to_numpy())[0])
            kind = "an integer" if integer else "a number"
            raise DataError(f"{file}: column {column!r} row {frame.index[first]}: {text.iloc[first]!r} is not {kind}")
        frame[column] = values.astype("Int64" if integer else "Float64")
    return frame


def require_finite(frame: pd.DataFrame, columns: Iterable[str], file: Path | str) -> None:
    """No NaN or infinite value in the numeric ``columns``."""
    for column in columns:
        values = frame[column].to_numpy(dtype=np.float64, na_value=np.nan)
        bad = ~np.isfinite(values)
        if bad.any():
            first = int(np.flatnonzero(bad)[0])
            raise DataError(
                f"{file}: column {column!r} has {int(bad.sum())} NaN or infinite value(s), "
                f"first at row {frame.index[first]}"
            )


def require_in(frame: pd.DataFrame, column: str, allowed: Iterable[object], file: Path | str) -> None:
    """Every value of ``column`` is one of ``allowed``."""
    allowed = list(allowed)
    bad = ~frame[column].isin(allowed)
    if bad.any():
        first = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(
            f"{file}: column {column!r} has {int(bad.sum())} value(s) outside {allowed}, "
            f"first at row {frame.index[first]}: {frame[column].iloc[first]!r}"
        )


def require_range(
    frame: pd.DataFrame, column: str, low: float, high: float, file: Path | str
) -> None:
    """Every value of ``column`` lies in ``[low, high]`` (e.g. timestamps of the collection period)."""
    values = frame[column].to_numpy()
    bad = (values < low) | (values > high)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"{file}: column {column!r} has {int(bad.sum())} value(s) outside [{low}, {high}], "
            f"first at row {frame.index[first]}: {values[first]!r}"
        )


def require_rows(count: int, minimum: int, file: Path | str, what: str = "rows") -> None:
    """At least ``minimum`` records were read (an empty or cut-short file is an error)."""
    if count < minimum:
        raise DataError(f"{file}: read {count} {what}, expected at least {minimum}")


def require_present(frame: pd.DataFrame, columns: Iterable[str], file: Path | str) -> None:
    """No missing or empty value in ``columns`` (ids, event names, timestamps)."""
    for column in columns:
        values = frame[column]
        bad = values.isna() | (values.astype(str).str.strip() == "")
        if bad.any():
            first = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataError(
                f"{file}: column {column!r} has {int(bad.sum())} missing value(s), first at row {frame.index[first]}"
            )
