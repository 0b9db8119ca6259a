"""The metrics files of T2 as dataclasses that write and read their own JSON: the schema lives here.

* :class:`StreamResult`: ``reports/metrics/delayed/<dataset>.json`` (stage ``delayed-stream``),
  one stream's methods over every seed;
* :class:`SweepResult`: ``reports/metrics/delayed/sweep.json`` (stage ``delayed-sweep``,
  ``"layout": "regime_sweep"``), the simulated regimes one factor at a time.

Statistics over seeds are :func:`recsys_challenges.stats.mean_ci` dicts (``mean``, ``std``, ``n``,
``ci95``, per-seed ``values``), or ``null`` where a seed's value is undefined (RI's 0/0, a slot
without both classes); they stay plain dicts here, as do the per-slot series and the auxiliary
models' reports. ``to_json`` gives the dict the stage writes (:func:`recsys_challenges.io.write_json`,
sorted keys; optional fields that are None left out) and ``from_json`` reads it back:
``from_json(d).to_json() == d``.
"""

from __future__ import annotations

from dataclasses import dataclass, is_dataclass
from pathlib import Path
from typing import Any

METRICS_ROOT = Path("reports/metrics/delayed")
SWEEP_FILE = METRICS_ROOT / "sweep.json"
SWEEP_LAYOUT = "regime_sweep"

Stats = dict[str, Any] | None  # a mean_ci dict, or None (undefined on some seed)
Summary = dict[str, dict[str, Stats]]  # method -> metric -> Stats
Paired = dict[str, Summary]  # reference -> method -> metric -> Stats of method - reference, paired by seed


def _json(value: Any) -> Any:
    """A result's field as JSON: a dataclass as the dict of its fields, a dict of dataclasses value by value."""
    if is_dataclass(value):
        return {key: _json(item) for key, item in vars(value).items()}
    if isinstance(value, dict) and value and is_dataclass(next(iter(value.values()))):
        return {key: _json(item) for key, item in value.items()}
    return value


def _fields_json(result: Any, order: tuple[str, ...]) -> dict[str, Any]:
    """``result``'s fields of ``order`` as JSON, in that order; a field that is None is left out (optional)."""
    return {name: _json(getattr(result, name)) for name in order if getattr(result, name) is not None}


@dataclass
class StreamProtocol:
    """``protocol``: the stream's window, slots and start, what was pretrained and tested on.

    Wall times are printed, not stored: the same params give a byte-identical file.
    """

    window_hours: float
    slot_hours: float
    stream_start_ts: int
    steps: int
    elapsed_window_minutes: float
    pretrain_clicks: int
    pretrain_conversions: int
    test_clicks: int
    test_conversion_rate: float
    test_true_mean_probability: float | None  # simulator: the test clicks' mean true probability; real data None
    batch_size: int
    fake_negative_share: float  # fake negatives among the clicks observed negative at ES-DFM's window c (C5's room)


@dataclass
class StreamSeries:
    """``stream``: each test slot's start, rows and positives, and ``per_slot[method][metric]`` = one
    list per seed of per-slot values (``None`` where undefined)."""

    slot_start_ts: list[int]
    rows: list[int]
    positives: list[int]
    per_slot: dict[str, dict[str, list[list[float | None]]]]


@dataclass
class Waiting:
    """``waiting``: the waiting-N lines' hours and names."""

    hours: list[float]
    methods: list[str]


@dataclass
class SignalSweep:
    """``signal_sweep`` (simulator only): ``pcaw[str(strength)][metric]`` at each signal strength
    (``fsiw`` and the RI anchors do not depend on the signals: they are the ``summary`` entries)."""

    strengths: list[float]
    pcaw: dict[str, dict[str, Stats]]


@dataclass
class YoungItems:
    """``young_items``: the metrics on the test clicks of items younger than ``hours`` (field ``field``)."""

    field: str
    hours: float
    test_clicks: int
    test_conversions: int
    summary: Summary
    paired: Paired


@dataclass
class StreamResult:
    """``reports/metrics/delayed/<dataset>.json``.

    The common core of every technique (``technique``, ``dataset``, ``data_kind``, ``seeds``,
    ``summary[method][metric]``) with metrics ``auc``, ``pr_auc``, ``nll``, ``mean_prediction``,
    ``calibration_bias`` and, relative to vanilla and the oracle, ``ri_auc``, ``ri_pr_auc``,
    ``ri_nll`` (``None`` if for some seed the oracle and vanilla score exactly the same, RI's 0/0);
    ``paired[reference][method][metric]`` for the references ES-DFM, its unit-weight control and
    vanilla; ``methods`` in display order; ``data``: the conversion table's stats and what it was
    built from (``table_input``); ``auxiliary[model][seed]``: the auxiliary models' fitting history
    and reliability tables.
    """

    dataset: str
    data_kind: str
    seeds: list[int]
    methods: list[str]
    summary: Summary
    paired: Paired
    protocol: StreamProtocol
    data: dict[str, Any]
    stream: StreamSeries
    waiting: Waiting
    signal_sweep: SignalSweep | None = None
    auxiliary: dict[str, dict[str, Any]] | None = None
    young_items: YoungItems | None = None
    technique: str = "delayed"

    JSON_ORDER = ("technique", "dataset", "data_kind", "seeds", "methods", "summary", "paired", "protocol", "data",
                  "stream", "waiting", "signal_sweep", "auxiliary", "young_items")

    def to_json(self) -> dict[str, Any]:
        return _fields_json(self, self.JSON_ORDER)

    @classmethod
    def from_json(cls, payload: dict[str, Any]) -> StreamResult:
        sweep, young = payload.get("signal_sweep"), payload.get("young_items")
        return cls(
            dataset=payload["dataset"], data_kind=payload["data_kind"], seeds=payload["seeds"],
            methods=payload["methods"], summary=payload["summary"], paired=payload["paired"],
            protocol=StreamProtocol(**payload["protocol"]), data=payload["data"],
            stream=StreamSeries(**payload["stream"]), waiting=Waiting(**payload["waiting"]),
            signal_sweep=None if sweep is None else SignalSweep(**sweep), auxiliary=payload.get("auxiliary"),
            young_items=None if young is None else YoungItems(**young), technique=payload["technique"],
        )


@dataclass
class SweepPoint:
    """``points[name]`` of ``sweep.json``: one regime over every seed.

    ``regime`` (its fields), ``fake_negative_share`` and ``test_conversion_rate`` (``mean_ci`` over
    seeds), ``test_clicks`` per seed, ``summary[method][metric]`` and ``paired["esdfm"][method][metric]``
    (method minus ES-DFM, the sweep's reference, paired by seed; ``pcaw_oracle`` minus ES-DFM is the
    ceiling of any signal-aware weight), with metrics AUC, PR-AUC, NLL, mean prediction and
    calibration bias.
    """

    regime: dict[str, float]
    fake_negative_share: Stats
    test_conversion_rate: Stats
    test_clicks: list[int]
    summary: Summary
    paired: Paired


@dataclass
class SweepResult:
    """``reports/metrics/delayed/sweep.json`` (the claim rules read only the per-stream files and skip it).

    ``base`` (the centre regime), ``factors[factor]`` = ``{"values", "points"}`` (the point name of
    each value, ``"base"`` at the base's value), ``seeds``, ``rows`` (clicks simulated per
    replicate), ``methods``, ``reference``, ``points[name]`` (:class:`SweepPoint`) and ``wall_s``
    (the stage's wall time, set by the stage).
    """

    design: str
    seeds: list[int]
    rows: int
    methods: list[str]
    reference: str
    base: dict[str, float]
    factors: dict[str, dict[str, list]]
    points: dict[str, SweepPoint]
    wall_s: float | None = None
    technique: str = "delayed"
    layout: str = SWEEP_LAYOUT
    dataset: str = "sweep"
    data_kind: str = "simulated"

    JSON_ORDER = ("technique", "layout", "dataset", "data_kind", "design", "seeds", "rows", "methods", "reference",
                  "base", "factors", "points", "wall_s")

    def to_json(self) -> dict[str, Any]:
        return _fields_json(self, self.JSON_ORDER)

    @classmethod
    def from_json(cls, payload: dict[str, Any]) -> SweepResult:
        return cls(
            design=payload["design"], seeds=payload["seeds"], rows=payload["rows"], methods=payload["methods"],
            reference=payload["reference"], base=payload["base"], factors=payload["factors"],
            points={name: SweepPoint(**point) for name, point in payload["points"].items()},
            wall_s=payload.get("wall_s"), technique=payload["technique"], layout=payload["layout"],
            dataset=payload["dataset"], data_kind=payload["data_kind"],
        )
