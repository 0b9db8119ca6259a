"""The methods compared on the stream: each is an ingestion strategy, a weight function and the
auxiliary models (if any) that provide the probabilities in its weights.

==========  =====================  ==============================================  ======================
method      ingestion (stream.py)  weights (weights.py)                            auxiliary
==========  =====================  ==============================================  ======================
oracle      oracle (true labels)   1                                               -
vanilla     at_slot_end            1                                               -
waiting_Nh  waiting N hours        1                                               -
fnw         fake_negative          FNW: 1 + f, (1 - f)(1 + f)                      -
fsiw        at_slot_end            FSIW: 1 / P(c|y=1,x,e), P(y=0|c=0,x,e)          fsiw
esdfm       elapsed_window c       ES-DFM: 1 + p_dp, (1 + p_dp) p_rn               esdfm
defer       real_negatives c       DEFER: f / (f - p_dp/2), (1 - f)/(1 - f + ...)  esdfm (p_dp)
pcaw        elapsed_window c       ours: 1 + p_dp, (1 + p_dp)(1 - p_flip(x, a))    esdfm, esdfm_signals
pcaw_fsiw   at_slot_end            ours on FSIW: FSIW's w+, 1 - p_flip(x, e, a)    fsiw, fsiw_signals
defuse      elapsed_window c       DEFUSE: soft label z = 1 - p_rn(x), DP dup. 0   esdfm
defuse_sig  elapsed_window c       DEFUSE, z = p_flip(x, a) from the signals       esdfm, esdfm_signals
==========  =====================  ==============================================  ======================

Controls (they isolate the mechanism; ``pcaw_oracle`` and ``esdfm_true`` read what a real
system cannot know, by design):

==============  =================  ================================================  ======================
esdfm_unit      elapsed_window c   1: ES-DFM's ingestion without its weights         -
pcaw_oracle     elapsed_window c   1 + p_dp, (1 + p_dp)(1 - true flip): 0 on fake     esdfm (p_dp)
                                   negatives, the ceiling of any signal-aware weight
esdfm_true      elapsed_window c   ES-DFM's weights with the simulator's true         simulator truth
                                   p_dp(x), p_rn(x) (simulators only)
==============  =================  ================================================  ======================

``pcaw`` differs from ``esdfm`` (and ``pcaw_fsiw`` from ``fsiw``) only in the model of the
probability that an unconverted click stays negative, which sees the pre-conversion signals:
their gaps measure claim C5. ``pcaw`` (on ES-DFM's stream, the protocol of this comparison) is the
talk's method in the headline comparison; ``pcaw_fsiw`` shows the same idea on FSIW's stream. On a
simulator every signal-aware line sees the signals of the main strength (``signal_strength``).
``esdfm - esdfm_unit`` measures what the weights add to ES-DFM's ingestion (C4), ``pcaw_oracle -
esdfm`` the most any signal-aware weight can add (C5's ceiling).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

import torch

from recsys_challenges.delayed import stream
from recsys_challenges.delayed import weights as w
from recsys_challenges.delayed.auxiliary import FAMILIES
from recsys_challenges.delayed.config import ProtocolParams, TrainParams
from recsys_challenges.errors import ConfigError


@dataclass
class WeightInputs:
    """What a weight function may use, for one minibatch ``(B,)``: the observed labels, the CVR
    model's own detached prediction and the auxiliary model's head probabilities."""

    observed: torch.Tensor
    p_model: torch.Tensor
    aux: dict[str, torch.Tensor]
    max_weight: float
    will_convert: torch.Tensor  # the true label y: only the controls pcaw_oracle and esdfm_true may read it
    duplicate: torch.Tensor  # bool: a delayed positive ingested again at its conversion (after the window c)


WEIGHTS: dict[str, Callable[[WeightInputs], torch.Tensor]] = {
    "unit": lambda b: w.unit_weights(b.observed),
    "fnw": lambda b: w.fnw_weights(b.observed, b.p_model),
    "fsiw": lambda b: w.fsiw_weights(b.observed, b.aux["fsiw.completion"], b.aux["fsiw.real_negative"],
                                     b.max_weight),
    "esdfm": lambda b: w.esdfm_weights(b.observed, b.aux["esdfm.delayed_positive"], b.aux["esdfm.real_negative"]),
    "defer": lambda b: w.defer_weights(b.observed, b.p_model, b.aux["esdfm.delayed_positive"], b.max_weight),
    "pcaw": lambda b: w.pcaw_weights(b.observed, b.aux["esdfm.delayed_positive"],
                                     1 - b.aux["esdfm_signals.real_negative"]),
    "pcaw_fsiw": lambda b: w.fsiw_weights(b.observed, b.aux["fsiw.completion"], b.aux["fsiw_signals.real_negative"],
                                          b.max_weight),
    "pcaw_oracle": lambda b: w.pcaw_weights(b.observed, b.aux["esdfm.delayed_positive"],
                                            w.oracle_flip(b.observed, b.will_convert)),
    "esdfm_true": lambda b: w.esdfm_weights(b.observed, b.aux["true.delayed_positive"], b.aux["true.real_negative"]),
    "defuse": lambda b: w.defuse_weights(b.observed, b.duplicate, b.aux["esdfm.delayed_positive"]),
    "defuse_signals": lambda b: w.defuse_weights(b.observed, b.duplicate, b.aux["esdfm.delayed_positive"]),
}

# Methods that correct the labels (soft labels); every other method trains on the observed labels.
LABELS: dict[str, Callable[[WeightInputs], torch.Tensor]] = {
    "defuse": lambda b: w.defuse_labels(b.observed, 1 - b.aux["esdfm.real_negative"]),
    "defuse_signals": lambda b: w.defuse_labels(b.observed, 1 - b.aux["esdfm_signals.real_negative"]),
}


def labels(name: str, inputs: WeightInputs) -> torch.Tensor:
    """The training labels of method ``name`` (key of WEIGHTS): corrected (LABELS) or the observed ones."""
    return LABELS[name](inputs) if name in LABELS else inputs.observed


@dataclass(frozen=True)
class Method:
    """One line of the comparison."""

    strategy: stream.Strategy
    weights: str  # key of WEIGHTS
    aux: tuple[str, ...] = ()  # auxiliary families (auxiliary.FAMILIES) whose heads the weights read
    signal_strength: float | None = None  # simulator only: which thinned signals the line sees
    truth: bool = False  # reads the simulator's true p_dp(x), p_rn(x) (esdfm_true)


def methods(names: list[str], protocol: ProtocolParams) -> dict[str, Method]:
    """The lines for ``delayed.train.methods`` (``waiting`` expands to one line per ``waiting_hours``)."""
    elapsed = protocol.elapsed_window_s
    at_window = partial(stream.elapsed_window, elapsed_s=elapsed)
    catalogue: dict[str, list[tuple[str, Method]]] = {
        "oracle": [("oracle", Method(stream.oracle, "unit"))],
        "vanilla": [("vanilla", Method(stream.at_slot_end, "unit"))],
        "waiting": [(waiting_name(h), Method(partial(stream.waiting, wait_s=int(round(h * 3600))), "unit"))
                    for h in protocol.waiting_hours],
        "fnw": [("fnw", Method(stream.fake_negative, "fnw"))],
        "fsiw": [("fsiw", Method(stream.at_slot_end, "fsiw", ("fsiw",)))],
        "esdfm": [("esdfm", Method(at_window, "esdfm", ("esdfm",)))],
        "defer": [("defer", Method(partial(stream.real_negatives, elapsed_s=elapsed), "defer", ("esdfm",)))],
        "pcaw": [("pcaw", Method(at_window, "pcaw", ("esdfm", "esdfm_signals")))],
        "pcaw_fsiw": [("pcaw_fsiw", Method(stream.at_slot_end, "pcaw_fsiw", ("fsiw", "fsiw_signals")))],
        "esdfm_unit": [("esdfm_unit", Method(at_window, "unit"))],
        "esdfm_true": [("esdfm_true", Method(at_window, "esdfm_true", truth=True))],
        "pcaw_oracle": [("pcaw_oracle", Method(at_window, "pcaw_oracle", ("esdfm",)))],
        "defuse": [("defuse", Method(at_window, "defuse", ("esdfm",)))],
        "defuse_signals": [("defuse_signals", Method(at_window, "defuse_signals", ("esdfm", "esdfm_signals")))],
    }
    return dict(line for name in names for line in catalogue[name])


def waiting_name(hours: float) -> str:
    return f"waiting_{hours:g}h"


def sweep_name(strength: float) -> str:
    return f"pcaw@{strength:g}"


def stream_lines(meta: dict[str, Any], train: TrainParams, protocol: ProtocolParams) -> dict[str, Method]:
    """The lines that run on the conversion table of ``meta``: the methods of ``train.methods`` plus,
    on a simulator, ``pcaw`` at each sweep strength.

    On a simulator every line that reads signals sees those of the main strength (the sweep lines
    their own); ``esdfm_true`` needs the simulator's truth and is dropped on real data.
    """
    lines = methods(train.methods, protocol)
    window_h = meta["window_s"] / 3600
    if max(protocol.waiting_hours) > window_h and "waiting" in train.methods:
        raise ConfigError(f"delayed.protocol.waiting_hours: waiting longer than the window ({window_h:g} h) gains nothing")
    if meta["data_kind"] != "simulated":
        return {name: m for name, m in lines.items() if not m.truth}
    main, *sweep = meta["signal_strengths"]
    lines = {name: replace(m, signal_strength=main) if any(FAMILIES[f].signals for f in m.aux) else m
             for name, m in lines.items()}
    if "pcaw" in lines:
        lines |= {sweep_name(s): replace(lines["pcaw"], signal_strength=s) for s in sweep}
    return lines
