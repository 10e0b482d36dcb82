"""The guarded runner every probe shares: its steps run by a deadline, and whatever happens becomes a
failure reason and message for the probe's result, so a probe never raises and never overruns."""

from __future__ import annotations

import logging
import time
from typing import Awaitable, Callable, TypeVar

from exporter.probes import ProbeFailure
from exporter.probes.resolve import deadline

log = logging.getLogger("spse_exporter.probes")
T = TypeVar("T")


async def guarded(timeout: float, steps: Awaitable[T], what: str,
                  timed_out: Callable[[], tuple[str, str]]) -> tuple[T | None, str, str, float]:
    """(what `steps` returned, reason, message, duration); reason "" on success, when message is "".
    `timed_out` gives the reason and message of running out of time; `what` names the peer in the log."""
    began = time.monotonic()
    try:
        async with deadline(timeout):
            value = await steps
    except TimeoutError:
        return None, *timed_out(), time.monotonic() - began
    except ProbeFailure as failure:
        return None, failure.reason, str(failure), time.monotonic() - began
    except Exception as err:  # noqa: BLE001 - whatever a peer sends, the probe records a result
        log.exception("unexpected error probing %s", what)
        return None, "protocol", f"unexpected error: {err!r}", time.monotonic() - began
    return value, "", "", time.monotonic() - began
