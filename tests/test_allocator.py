"""allocator.py: freed memory stays in the process, so a large tensor allocated again is not faulted in anew."""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys

import pytest

from recsys_challenges import allocator

pytestmark = pytest.mark.skipif(
    getattr(ctypes.CDLL(None), "mallopt", None) is None, reason="the C library has no mallopt (not glibc)"
)

# mallocs, fills and frees a 64 MiB block five times; prints the page faults of the last four
FAULTS = """
import ctypes, resource, sys
from recsys_challenges import allocator
if sys.argv[1] == "keep":
    assert allocator.keep_freed_memory()
libc = ctypes.CDLL(None)
libc.malloc.restype, libc.free.argtypes = ctypes.c_void_p, [ctypes.c_void_p]
size = 64 * 2**20
for round in range(5):
    if round == 1:
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    block = libc.malloc(size)
    ctypes.memset(block, 1, size)
    libc.free(block)
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def page_faults(mode: str) -> int:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    out = subprocess.run([sys.executable, "-c", FAULTS, mode], env=env, capture_output=True, text=True, check=True)
    return int(out.stdout.split()[-1])


def test_a_large_block_allocated_again_reuses_the_freed_pages():
    default, kept = page_faults("default"), page_faults("keep")
    pages = 4 * 64 * 2**20 // 4096
    assert default > pages // 2  # the control: glibc returns each 64 MiB block to the kernel when freed
    assert kept < pages // 20


def test_children_inherit_the_settings_and_the_switch_turns_it_off():
    environ = {}
    assert allocator.keep_freed_memory(environ)
    assert environ == allocator.ENVIRONMENT
    assert environ["MALLOC_MMAP_MAX_"] == "0"
    switched_off = {allocator.SWITCH: "off"}
    assert not allocator.keep_freed_memory(switched_off)
    assert switched_off == {allocator.SWITCH: "off"}
    assert not allocator.keep_freed_memory({allocator.SWITCH: " False "})  # the words RECSYS_DETERMINISM takes
