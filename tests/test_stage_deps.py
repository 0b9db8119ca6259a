"""Every technique stage lists, among its deps, the technique's modules its command imports.

Technique stages list the files they read so that editing a figure does not retrain a model; a list
that misses a module leaves outputs stale without a word from ``dvc status``. Checked: the modules of
the stage's own technique package (``directed``, ``delayed``, ``uncertainty``), docstring-only
``__init__.py`` files aside, and the package-level modules that compute numbers (``blas.py``). A
stage's command reaches its entry function's module (its top-level imports and every function but
the other stages' entry functions) and whatever that imports.
"""

import ast
from pathlib import Path

import pytest
import yaml

from recsys_challenges.cli import STAGES

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "recsys_challenges"
TECHNIQUES = ("directed", "delayed", "uncertainty")
SHARED_NUMERICS = frozenset({PACKAGE / "blas.py"})  # the other package-level modules wire, log or time


def _module_file(name: str) -> Path | None:
    path = ROOT / "src" / Path(*name.split("."))
    for candidate in (path.with_suffix(".py"), path / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imports(tree: ast.AST) -> list[str]:
    """The package modules ``tree`` imports (lazy ones included), and the names imported from them
    (which may be submodules)."""
    modules = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("recsys_challenges"):
            modules.append(node.module)
            modules.extend(f"{node.module}.{alias.name}" for alias in node.names)  # submodules imported by name
        elif isinstance(node, ast.Import):
            modules.extend(alias.name for alias in node.names if alias.name.startswith("recsys_challenges"))
    return modules


def imported_files(module: str, skip: frozenset[str] = frozenset()) -> set[Path]:
    """Files of the package reached from ``module`` through its imports (lazy ones included), leaving
    out the top-level functions of ``module`` itself named in ``skip``."""
    seen: set[Path] = set()
    stack = [module]
    while stack:
        name = stack.pop()
        path = _module_file(name)
        if path is None or path in seen:
            continue
        seen.add(path)
        tree = ast.parse(path.read_text())
        if name == module and skip:
            tree.body = [node for node in tree.body if not (isinstance(node, ast.FunctionDef) and node.name in skip)]
        stack.extend(_imports(tree))
    return seen


def _entry(stage: dict) -> tuple[str, str]:
    words = stage["cmd"].split()
    assert words[:3] == ["python", "-m", "recsys_challenges"], f"not a package command: {stage['cmd']}"
    module, function = STAGES[words[3]].split(":")
    return module, function


def _entry_module(stage: dict) -> str:
    return _entry(stage)[0]


def entry_files(module: str, function: str) -> set[Path]:
    """Files a stage command reaches: its entry module without the *other* stages' entry functions
    (a stage file holding several stages' mains imports each one's library inside its main)."""
    others = {entry.split(":")[1] for entry in STAGES.values() if entry.split(":")[0] == module} - {function}
    return imported_files(module, frozenset(others))


def _stages() -> list[tuple[str, dict]]:
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    body = {name: stage.get("do", stage) for name, stage in stages.items()}
    return [(name, stage) for name, stage in body.items() if _entry_module(stage).split(".")[1] in TECHNIQUES]


@pytest.mark.parametrize("name,stage", _stages(), ids=[name for name, _ in _stages()])
def test_stage_deps_cover_the_modules_its_command_imports(name: str, stage: dict) -> None:
    module, function = _entry(stage)
    deps = [ROOT / dep for dep in stage.get("deps", [])]
    package = PACKAGE / module.split(".")[1]
    method_files = {
        path
        for path in entry_files(module, function)
        if (path.parent == package and path.name != "__init__.py") or path in SHARED_NUMERICS
    }
    missing = sorted(
        str(path.relative_to(ROOT)) for path in method_files
        if not any(path == dep or dep in path.parents for dep in deps)
    )
    assert not missing, f"dvc.yaml stage {name} imports modules its deps do not list: {missing}"
