from dataclasses import dataclass, field
from typing import Literal

import pytest

from recsys_challenges.config import from_mapping, load_section, require
from recsys_challenges.errors import ConfigError


@dataclass(frozen=True)
class Inner:
    rate: float
    kind: Literal["a", "b"] = "a"

    def __post_init__(self) -> None:
        require(0 < self.rate <= 1, f"rate must be in (0, 1], got {self.rate}")


@dataclass(frozen=True)
class Outer:
    name: str
    inner: Inner
    sizes: list[int] = field(default_factory=list)
    table: dict[str, Inner] = field(default_factory=dict)
    seed: int | None = None


def test_builds_nested_dataclasses_and_converts_ints_to_floats():
    config = from_mapping(Outer, {"name": "x", "inner": {"rate": 1}, "sizes": [1, 2], "table": {"k": {"rate": 0.5, "kind": "b"}}}, "t")
    assert config == Outer("x", Inner(1.0), [1, 2], {"k": Inner(0.5, "b")})
    assert isinstance(config.inner.rate, float)


def test_rejects_unknown_key_naming_it_and_the_allowed_ones():
    with pytest.raises(ConfigError, match=r"t.inner: unknown key 'rat' \(allowed: rate, kind\)"):
        from_mapping(Outer, {"name": "x", "inner": {"rat": 0.5}}, "t")


@pytest.mark.parametrize(
    "data, message",
    [
        ({"inner": {"rate": 0.5}}, "missing key 'name'"),
        ({"name": 3, "inner": {"rate": 0.5}}, "t.name: expected a string"),
        ({"name": "x", "inner": {"rate": "fast"}}, "t.inner.rate: expected a number"),
        ({"name": "x", "inner": {"rate": 0.5, "kind": "c"}}, "is not one of 'a', 'b'"),
        ({"name": "x", "inner": {"rate": 0.5}, "sizes": [1, True]}, r"t.sizes\[1\]: expected an integer"),
        ({"name": "x", "inner": {"rate": 2.0}}, r"rate must be in \(0, 1\], got 2.0"),
        ({"name": "x", "inner": {"rate": 0.5}, "seed": 1.5}, "t.seed"),
    ],
)
def test_rejects_bad_values_with_the_key_path(data, message):
    with pytest.raises(ConfigError, match=message):
        from_mapping(Outer, data, "t")


def test_load_section_reads_a_dotted_section(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("a:\n  b:\n    rate: 0.25\n")
    assert load_section(Inner, "a.b", path) == Inner(0.25)
    with pytest.raises(ConfigError, match="section 'a.c' is missing"):
        load_section(Inner, "a.c", path)


def test_project_params_sections_load():
    """params.yaml as committed loads into every stage's dataclass."""
    from recsys_challenges.data.fetch import FetchParams
    from recsys_challenges.data.prepare import DatasetSpec
    from recsys_challenges.config import read_yaml
    from tests.conftest import ROOT

    params = read_yaml(ROOT / "params.yaml")
    load_section(FetchParams, "data.fetch", ROOT / "params.yaml")
    for name in params["data"]["datasets"]:
        spec = load_section(DatasetSpec, f"data.datasets.{name}", ROOT / "params.yaml")
        assert spec.source in params["data"]["sources"], f"{name}: source {spec.source} is not fetched"
