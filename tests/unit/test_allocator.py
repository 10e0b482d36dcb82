"""A fixed mmap threshold gives freed TLS-sized buffers back to the kernel; glibc's default keeps them."""

from __future__ import annotations

import subprocess
import sys

import pytest

# In a fresh interpreter: free one 256 KiB block (glibc then raises its threshold), hold 80 more with 64 KiB
# of each written, as 80 TLS probes in flight do, free all but one, and print how much of that RSS stayed.
CHILD = """
import ctypes, sys
from exporter import allocator
def rss_kib():
    return next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmRSS:"))
if sys.argv[1] == "tuned":
    assert allocator.keep_large_blocks_mapped()
libc = ctypes.CDLL(None)
libc.malloc.restype, libc.free.argtypes = ctypes.c_void_p, [ctypes.c_void_p]
libc.free(libc.malloc(256 * 1024))
before = rss_kib()
blocks = [libc.malloc(256 * 1024) for _ in range(80)]
for block in blocks:
    ctypes.memset(block, 1, 64 * 1024)
held = rss_kib() - before
for block in blocks[:-1]:  # the last stays, as some probe is always in flight: it pins the heap's top
    libc.free(block)
print(held, rss_kib() - before)
"""


def kept_after_free(mode: str) -> tuple[int, int]:
    out = subprocess.run([sys.executable, "-c", CHILD, mode], capture_output=True, text=True, check=True, timeout=60)
    held, kept = map(int, out.stdout.split())
    return held, kept


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_freed_buffers_leave_rss_only_with_the_fixed_threshold():
    held, kept = kept_after_free("default")
    assert held >= 4 * 1024 and kept >= held * 3 // 4  # the positive control: glibc's default keeps them
    held, kept = kept_after_free("tuned")
    assert held >= 4 * 1024 and kept < held // 4
