"""Experiment profiles: ``experiments/<name>.yaml`` files that override parts of ``params.yaml``.

A profile is a partial params file. Mappings merge key by key; lists and scalars replace; a
mapping tagged ``!replace`` replaces the whole mapping (e.g. the tiny profile's
``data.datasets: !replace {...}`` keeps none of the default datasets). Two ways to use one:

* ``python -m recsys_challenges profile apply experiments/quick.yaml`` rewrites params.yaml
  (for a plain ``dvc repro``);
* ``python -m recsys_challenges profile exp experiments/quick.yaml`` runs it as the DVC experiment
  ``quick`` (``dvc exp run --name quick -S ...``) without touching the workspace's params.yaml;
  ``profile args`` prints those ``-S`` arguments, quoted for ``eval "dvc exp run $(...)"``.
"""

from __future__ import annotations

import argparse
import copy
import subprocess
from pathlib import Path
from typing import Any

import yaml

from recsys_challenges.config import read_yaml
from recsys_challenges.errors import ConfigError
from recsys_challenges.io import atomic_file


class Replace(dict):
    """A profile mapping tagged ``!replace``: it replaces the params mapping instead of merging."""


class _ProfileLoader(yaml.SafeLoader):
    pass


_ProfileLoader.add_constructor(
    "!replace", lambda loader, node: Replace(loader.construct_mapping(node, deep=True))
)


def read_profile(path: Path) -> dict[str, Any]:
    """Read a profile file (YAML with the ``!replace`` tag)."""
    try:
        data = yaml.load(path.read_text(), Loader=_ProfileLoader)
    except FileNotFoundError:
        raise ConfigError(f"{path}: profile not found") from None
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML: {error}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    return data


def _mergeable(value: Any, base_value: Any) -> bool:
    return isinstance(value, dict) and not isinstance(value, Replace) and isinstance(base_value, dict)


def merge(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``overrides`` merged in: mappings recursively unless ``!replace``, the rest replaced."""
    merged = copy.deepcopy(base)
    for key, value in overrides.items():
        if _mergeable(value, merged.get(key)):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = _plain(value)
    return merged


def _plain(value: Any) -> Any:
    """Deep copy with ``Replace`` turned back into ``dict`` (so it dumps as plain YAML)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _hydra_value(value: Any) -> str:
    return yaml.safe_dump(_plain(value), default_flow_style=True, width=1 << 16).strip().removesuffix("\n...")


def dvc_set_args(base: dict[str, Any], overrides: dict[str, Any], prefix: str = "") -> list[str]:
    """``-S`` arguments for ``dvc exp run`` equivalent to merging ``overrides`` into ``base``.

    Keys absent from ``base`` get Hydra's ``+`` (add) prefix; lists are set whole.
    """
    args: list[str] = []
    for key, value in overrides.items():
        path = f"{prefix}{key}"
        if _mergeable(value, base.get(key)):
            args += dvc_set_args(base[key], value, f"{path}.")
        else:
            args += ["-S", f"{'' if key in base else '+'}{path}={_hydra_value(value)}"]
    return args


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="recsys_challenges profile", description=__doc__.splitlines()[0])
    parser.add_argument(
        "action", choices=["apply", "args", "exp"],
        help="rewrite params.yaml; print `dvc exp run` -S args (for eval); or run `dvc exp run` named after the profile",
    )
    parser.add_argument("profile", type=Path, help="a profile file, e.g. experiments/quick.yaml")
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("dvc_args", nargs="*", help="exp: more `dvc exp run` arguments, after --")
    args = parser.parse_args(argv)
    base, overrides = read_yaml(args.params), read_profile(args.profile)
    if args.action == "apply":
        with atomic_file(args.params) as tmp:
            tmp.write_text(yaml.safe_dump(merge(base, overrides), sort_keys=False, width=100))
        print(f"applied {args.profile} to {args.params}")
    elif args.action == "args":
        print(" ".join(f"'{a}'" if a != "-S" else a for a in dvc_set_args(base, overrides)))
    else:
        command = ["dvc", "exp", "run", "--name", args.profile.stem, *dvc_set_args(base, overrides), *args.dvc_args]
        print(" ".join(command), flush=True)
        return subprocess.run(command, check=False).returncode
    return 0

