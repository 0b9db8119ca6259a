"""Cross-CPU determinism: pin the instruction set and thread counts that the float kernels dispatch on.

The same params give byte-identical metrics on one machine (seeds everywhere); across machines the
floats diverge where a library picks its kernels by the CPU it runs on, and a training run turns a
last-bit difference into a different model. :func:`apply` pins each such choice through the
environment variable the library reads when it loads, so it must run before numpy or torch is
imported: ``python -m recsys_challenges`` calls it first (``__main__.py``), and every child process
(Lightning's DDP workers, the benchmark's spawned workloads) inherits the pinned environment.

What is pinned (the README's "Determinism across CPUs" lists the measured effect of each):

* torch ATen's vectorised kernels (reductions, ``exp``/``log``, ...) run the AVX2 build on every
  x86-64 CPU that has AVX2, instead of AVX-512 where the CPU has it (``ATEN_CPU_CAPABILITY``);
* MKL (torch's dense matrix products) runs its conditional-numerical-reproducibility branch
  ``COMPATIBLE`` (SSE2): its AVX2 branch is honoured on Intel CPUs only, on AMD ones MKL falls back
  to its automatic dispatch (``MKL_VERBOSE`` reports ``CNR:AUTO``), so only COMPATIBLE is the
  same on both vendors (``MKL_CBWR``);
* oneDNN caps its JIT kernels at AVX2 (``ONEDNN_MAX_CPU_ISA``);
* OpenBLAS (numpy, scipy, scikit-learn, and the linear layers of T1 and T3 through ``blas.py``)
  uses its Haswell kernels on one thread instead of the kernels and thread count of the machine
  (``OPENBLAS_CORETYPE``, ``OPENBLAS_NUM_THREADS``);
* numpy's ufunc loops dispatch at most to AVX2 (``NPY_DISABLE_CPU_FEATURES``);
* OpenMP and MKL default to one thread (``OMP_NUM_THREADS``, ``MKL_NUM_THREADS``); a stage that
  wants more sets its own count with ``torch.set_num_threads`` from params, the same on every machine.

Not an environment variable, so not here: torch draws ``bernoulli_`` (``nn.Dropout``'s masks) from
MKL's VSL stream on Intel CPUs and from its own generator on the others; T3's MC dropout draws its
masks with ``torch.rand`` instead (``uncertainty/estimators.py``, ``Dropout``).

``RECSYS_DETERMINISM=off`` leaves the environment as it is (the control of tests/test_determinism.py).
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping

SWITCH = "RECSYS_DETERMINISM"

PINS: dict[str, str] = {
    "ATEN_CPU_CAPABILITY": "avx2",
    "MKL_CBWR": "COMPATIBLE",
    "ONEDNN_MAX_CPU_ISA": "AVX2",
    "OPENBLAS_CORETYPE": "Haswell",
    "OPENBLAS_NUM_THREADS": "1",
    "NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512_ICL AVX512_SPR",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}


def switched_on(switch: str, environ: MutableMapping[str, str] = os.environ) -> bool:
    """Whether the environment variable ``switch`` leaves its feature on: unless it says ``off``
    (or ``0``/``false``/``no``, any case)."""
    return environ.get(switch, "on").strip().lower() not in ("off", "0", "false", "no")


def enabled(environ: MutableMapping[str, str] = os.environ) -> bool:
    """Whether the pins apply: unless ``RECSYS_DETERMINISM`` is off (:func:`switched_on`)."""
    return switched_on(SWITCH, environ)


def apply(environ: MutableMapping[str, str] = os.environ) -> dict[str, str]:
    """Set :data:`PINS` in ``environ`` (overriding what is there) unless switched off; returns what was set.

    Call it before numpy, scipy or torch is imported in the process: they read these variables
    when they load. The pins override an outer setting on purpose: the metrics must not depend on
    the shell a stage was started from.
    """
    if not enabled(environ):
        return {}
    environ.update(PINS)
    return dict(PINS)
