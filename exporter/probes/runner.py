"""The guarded runner every probe shares: its steps run by a deadline, and whatever happens becomes a
failure reason and message for the probe's result, so a probe never raises and never overruns."""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Iterable
from typing import Awaitable, Callable, TypeVar
from urllib.parse import quote

from exporter.probes import ProbeFailure
from exporter.probes.resolve import deadline

log = logging.getLogger("spse_exporter.probes")
T = TypeVar("T")
HIDDEN = "<hidden>"


def scrub(text: str, secrets: Iterable[str]) -> str:
    """`text` with each secret, as written or percent-encoded, replaced by <hidden>."""
    for secret in sorted(secrets, key=len, reverse=True):  # longest first: a query string holds its values
        text = text.replace(secret, HIDDEN).replace(quote(secret, safe=""), HIDDEN)
    return text


async def guarded(timeout: float, steps: Awaitable[T], what: str, timed_out: Callable[[], tuple[str, str]],
                  secrets: Iterable[str] = ()) -> tuple[T | None, str, str, float]:
    """(what `steps` returned, reason, message, duration); reason "" on success, when message is "".
    `timed_out` gives the reason and message of running out of time; `what` names the peer in the log.
    `secrets` (read once the steps end, so they may add some) never reach the message or the log."""
    began = time.monotonic()
    try:
        async with deadline(timeout):
            value = await steps
    except TimeoutError:
        reason, message = timed_out()
    except ProbeFailure as failure:
        reason, message = failure.reason, str(failure)
    except Exception as err:  # noqa: BLE001 - whatever a peer sends, the probe records a result
        secrets = tuple(secrets)
        # The traceback as scrubbed text, not exc_info: an exception's message may quote the request.
        log.error("unexpected error probing %s\n%s", scrub(what, secrets),
                  scrub("".join(traceback.format_exception(err)).rstrip(), secrets))
        reason, message = "protocol", f"unexpected error: {err!r}"
    else:
        return value, "", "", time.monotonic() - began
    return None, reason, scrub(message, secrets), time.monotonic() - began
