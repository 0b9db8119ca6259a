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
==========  =====================  ==============================================  ======================

``pcaw`` differs from ``esdfm`` (and ``pcaw_fsiw`` from ``fsiw``) only in the model of the
probability that an unconverted click stays negative, which sees the pre-conversion signals:
their gaps measure claim C5. ``pcaw`` (on ES-DFM's stream, the protocol of this comparison) is the
talk's method in the headline comparison; ``pcaw_fsiw`` shows the same idea on FSIW's stream.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import torch

from recsys_challenges.delayed import stream
from recsys_challenges.delayed import weights as w
from recsys_challenges.delayed.config import ProtocolParams


@dataclass
class WeightInputs:
    """What a weight function may use, for one minibatch ``(B,)``: the observed labels, the CVR
    model's own detached prediction and the auxiliary model's head probabilities."""

    observed: torch.Tensor
    p_model: torch.Tensor
    aux: dict[str, torch.Tensor]
    max_weight: float


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
}


@dataclass(frozen=True)
class Method:
    """One line of the comparison."""

    strategy: stream.Strategy
    weights: str  # key of WEIGHTS
    aux: tuple[str, ...] = ()  # auxiliary families (auxiliary.FAMILIES) whose heads the weights read
    signal_strength: float | None = None  # simulator only: which thinned signals the line sees


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
    }
    return dict(line for name in names for line in catalogue[name])


def waiting_name(hours: float) -> str:
    return f"waiting_{hours:g}h"


def sweep_name(strength: float) -> str:
    return f"pcaw@{strength:g}"
