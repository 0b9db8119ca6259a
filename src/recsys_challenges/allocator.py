"""Keep freed memory in the process (glibc malloc): large tensors are then reused, not faulted in anew.

glibc serves an allocation above its mmap threshold (32 MiB at most) with a fresh ``mmap`` and
returns it to the kernel when it is freed, and it trims the heap's free top above a trim
threshold. A training step that allocates the same large tensors every step (a T1 validation
gathers a 58 MB block of candidate embeddings) then pays a page fault per 4 KiB page, every step.
Measured on Subelj Cora (one thread, the determinism pins): 0.49 -> 0.43 s per epoch of the dual GNN,
0.15 -> 0.11 s of the shallow baseline. :func:`keep_freed_memory` turns both off, so the process
keeps its peak heap and reuses it; the numbers computed do not change.

It sets the ``MALLOC_*`` variables that glibc reads at start-up, for the child processes (the worker
pool spawns them), and calls ``mallopt`` for the running process. Elsewhere than glibc it does nothing.
``RECSYS_KEEP_FREED_MEMORY=off`` (or ``0``/``false``/``no``, as ``RECSYS_DETERMINISM``) leaves the
allocator as it is.
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import MutableMapping

from recsys_challenges.determinism import switched_on

SWITCH = "RECSYS_KEEP_FREED_MEMORY"

_NEVER_TRIM = 2**31 - 1  # bytes of free heap top kept (mallopt takes a C int)
_TOP_PAD = 64 * 2**20  # bytes added to each heap extension: fewer, larger brk calls
# each setting: the variable glibc reads at start-up -> (its mallopt parameter in malloc.h, the value)
SETTINGS: dict[str, tuple[int, int]] = {
    "MALLOC_MMAP_MAX_": (-4, 0),  # M_MMAP_MAX: no block is served by mmap
    "MALLOC_TRIM_THRESHOLD_": (-1, _NEVER_TRIM),  # M_TRIM_THRESHOLD
    "MALLOC_TOP_PAD_": (-2, _TOP_PAD),  # M_TOP_PAD
}
ENVIRONMENT: dict[str, str] = {variable: str(value) for variable, (_, value) in SETTINGS.items()}


def keep_freed_memory(environ: MutableMapping[str, str] = os.environ) -> bool:
    """Apply :data:`SETTINGS` to this process (``mallopt``) and to its children (:data:`ENVIRONMENT`);
    returns whether glibc took them all (False where the C library has no ``mallopt`` or the switch is off)."""
    if not switched_on(SWITCH, environ):
        return False
    mallopt = getattr(ctypes.CDLL(None), "mallopt", None)
    if mallopt is None:  # not glibc
        return False
    environ.update(ENVIRONMENT)
    # a list, not a generator: every setting is tried, even after one is refused
    taken = [mallopt(parameter, value) == 1 for parameter, value in SETTINGS.values()]
    return all(taken)
