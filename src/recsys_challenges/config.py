"""Typed, strict configuration: ``params.yaml`` sections loaded into frozen dataclasses.

``params.yaml`` is the only source of hyper-parameters. Every stage reads its own section with
:func:`load_section`, which builds the stage's frozen dataclass and rejects what a typo would
otherwise hide: unknown keys, missing keys without a default, and values of the wrong type.
Range checks belong in each dataclass's ``__post_init__`` and raise :class:`ConfigError` through
:func:`require`.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from pathlib import Path
from typing import Any, Literal, TypeVar, Union

import yaml

from recsys_challenges.errors import ConfigError

T = TypeVar("T")

PARAMS_FILE = Path("params.yaml")


def require(condition: bool, message: str) -> None:
    """Raise :class:`ConfigError` with ``message`` unless ``condition`` holds (for ``__post_init__``)."""
    if not condition:
        raise ConfigError(message)


def read_yaml(path: Path) -> dict[str, Any]:
    """Read a YAML mapping, naming the file in every error."""
    try:
        with open(path, encoding="utf-8") as handle:
            data = yaml.safe_load(handle)
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found (run from the project root)") from None
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML: {error}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level, got {type(data).__name__}")
    return data


def load_section(cls: type[T], section: str, path: Path | str = PARAMS_FILE) -> T:
    """Load ``section`` (dotted, e.g. ``"data"`` or ``"directed"``) of ``path`` into ``cls``."""
    path = Path(path)
    node: Any = read_yaml(path)
    for part in section.split("."):
        if not isinstance(node, dict) or part not in node:
            raise ConfigError(f"{path}: section '{section}' is missing")
        node = node[part]
    return from_mapping(cls, node, where=f"{path}: {section}")


def from_mapping(cls: type[T], data: Any, where: str) -> T:
    """Build dataclass ``cls`` from a mapping, recursively, rejecting unknown keys and wrong types."""
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls!r} is not a dataclass")
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping, got {type(data).__name__} {data!r}")
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(
            f"{where}: unknown key{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))} "
            f"(allowed: {', '.join(fields)})"
        )
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for name, field in fields.items():
        if name in data:
            kwargs[name] = _convert(hints[name], data[name], f"{where}.{name}")
        elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            raise ConfigError(f"{where}: missing key '{name}'")
    try:
        return cls(**kwargs)
    except ConfigError as error:
        raise ConfigError(f"{where}: {error}") from None


def _convert(hint: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if dataclasses.is_dataclass(hint):
        return from_mapping(hint, value, where)
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for option in (a for a in args if a is not type(None)):
            try:
                return _convert(option, value, where)
            except ConfigError as error:
                errors.append(str(error))
        raise ConfigError(f"{where}: {value!r} matches none of {hint}: {'; '.join(errors)}")
    if origin is Literal:
        if value not in args:
            raise ConfigError(f"{where}: {value!r} is not one of {', '.join(map(repr, args))}")
        return value
    if origin in (list, tuple):
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{where}: expected a list, got {type(value).__name__} {value!r}")
        item = args[0] if args else Any
        converted = [_convert(item, v, f"{where}[{i}]") for i, v in enumerate(value)]
        return tuple(converted) if origin is tuple else converted
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping, got {type(value).__name__} {value!r}")
        key_type, value_type = args if args else (Any, Any)
        return {
            _convert(key_type, k, f"{where}"): _convert(value_type, v, f"{where}.{k}")
            for k, v in value.items()
        }
    if hint is Any:
        return value
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true/false, got {value!r}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: expected an integer, got {value!r}")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where}: expected a string, got {value!r}")
        return value
    raise TypeError(f"{where}: unsupported type hint {hint!r}")


def to_dict(config: Any) -> dict[str, Any]:
    """Plain-dict view of a config dataclass (for logging the full config of a run)."""
    return dataclasses.asdict(config)
