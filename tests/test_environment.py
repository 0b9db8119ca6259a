"""The three install routes (requirements, environment.yml, Makefile) stay in step."""

from __future__ import annotations

import configparser
import re

import yaml

from tests.conftest import ROOT


def pins(lines: list[str]) -> dict[str, str]:
    found = {}
    for line in lines:
        line = line.split("#")[0].strip()
        if line:
            match = re.fullmatch(r"([A-Za-z0-9_.\-]+)==([A-Za-z0-9_.+\-]+)", line)
            assert match, f"not an exact pin: {line!r}"
            found[match[1].lower()] = match[2]
    return found


def test_environment_yml_pins_equal_requirements():
    pip_pins = pins((ROOT / "requirements.txt").read_text().splitlines())
    pip_pins |= pins((ROOT / "requirements-dev.txt").read_text().splitlines())
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert pins(pip_section) == pip_pins
    assert "python=3.11" in env["dependencies"]


def test_the_tested_together_pins():
    pip_pins = pins((ROOT / "requirements.txt").read_text().splitlines())
    expected = {
        "torch": "2.13.0", "torch-geometric": "2.8.1", "lightning": "2.6.6", "torchmetrics": "1.9.0",
        "wandb": "0.31.0", "ogb": "1.3.6", "seaborn": "0.13.2", "dvc": "3.67.1", "pandas": "3.1.1",
        "scikit-learn": "1.9.1",
    }
    assert {k: pip_pins[k] for k in expected} == expected


def test_makefile_installs_the_pinned_torch_first():
    makefile = (ROOT / "Makefile").read_text()
    torch_line = makefile.index("pip install --quiet --disable-pip-version-check torch==2.13.0")
    assert torch_line < makefile.index("-r requirements.txt")


def test_dvc_analytics_is_off():
    config = configparser.ConfigParser()
    config.read(ROOT / ".dvc" / "config")
    assert config["core"]["analytics"] == "false"


def test_readme_opens_with_the_two_commands():
    head = (ROOT / "README.md").read_text().splitlines()[:12]
    commands = [line.strip() for line in head if line.strip().startswith(("make ", "RECSYS_DATA_MIRROR="))]
    assert commands[0].startswith("RECSYS_DATA_MIRROR=../shared/datasets make repro")
    assert commands[1].startswith("make test")
    assert "make test" in (ROOT / ".ci" / "run").read_text()
