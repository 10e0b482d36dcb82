"""glibc malloc settings for a process that opens a TLS connection per probe and builds megabyte pages.

uvloop gives every TLS connection a 256 KiB read buffer (malloc) and frees it when the probe ends; a scrape
joins megabytes. glibc serves the first such block with mmap, but once one is freed it raises its mmap threshold
above it, and from then on serves them from the heap, which keeps the pages of every buffer that was ever in use
at once (docs/benchmarks.md). A fixed threshold keeps them mmapped: unmapped, and out of RSS, when freed.
"""

from __future__ import annotations

import ctypes

M_MMAP_THRESHOLD = -3  # glibc's malloc.h; setting it also turns the dynamic threshold off
MMAP_THRESHOLD = 128 * 1024  # glibc's default starting value


def keep_large_blocks_mapped() -> bool:
    """Fix glibc's mmap threshold at its default; False where the C library has no mallopt (musl)."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (AttributeError, OSError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    return mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1
