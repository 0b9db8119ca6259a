"""The two errors every part of the project raises for bad input; the CLI turns both into a
one-line message and exit status 1 (``cli.py``)."""

from __future__ import annotations


class ConfigError(ValueError):
    """A parameter file or section that does not match its dataclass."""


class DataError(ValueError):
    """A data file that is missing, corrupt, truncated or not in the expected format."""
