"""The exporter's event loop: uvloop where it is installed, asyncio's own otherwise.

uvloop (libuv behind asyncio's API) spends about a fifth less CPU per HTTPS probe than asyncio's loop
(docs/benchmarks.md). asyncio's loop stays the fallback where no uvloop wheel installs;
SPSE_EXPORTER_EVENT_LOOP=asyncio chooses it where uvloop is installed.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any, Callable, Coroutine

# Names resolved at once (getaddrinfo blocks a thread each): one slow resolver must not hold up every probe.
RESOLVER_THREADS = 64


def runner() -> Callable[[Coroutine], Any]:
    """asyncio.run or uvloop.run, whichever the exporter runs on here."""
    if os.environ.get("SPSE_EXPORTER_EVENT_LOOP") == "asyncio":
        return asyncio.run
    try:
        import uvloop
    except ImportError:
        return asyncio.run
    # uvloop resolves in libuv's thread pool, not the loop's default executor. libuv reads the pool's size
    # once, at its first use (4 threads unless told), and gives getaddrinfo at most half of them.
    os.environ.setdefault("UV_THREADPOOL_SIZE", str(2 * RESOLVER_THREADS))
    return uvloop.run
