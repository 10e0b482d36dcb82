"""Name resolution with an IP-version preference, shared by every probe.

IPv4 is preferred by default: an IPv6-first resolver breaks probes in the many
container networks that have no IPv6 route (a known blackbox_exporter pain point).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator

from exporter.config import is_ip_literal
from exporter.probes import ProbeFailure

FAMILIES = {"ip4": socket.AF_INET, "ip6": socket.AF_INET6}
OTHER = {"ip4": "ip6", "ip6": "ip4"}
RESOLVING = "still resolving "  # note that resolve() adds to the cancellation a probe's deadline sends it


async def resolve(host: str, ip_protocol: str = "ip4", fallback: bool = True,
                  socktype: int = socket.SOCK_STREAM) -> tuple[str, int]:
    """Return (address, IP version) for `host`, trying the preferred family first."""
    if is_ip_literal(host):
        return host, 6 if ":" in host else 4
    loop = asyncio.get_running_loop()
    order = [ip_protocol, OTHER[ip_protocol]] if fallback else [ip_protocol]
    errors = []
    for protocol in order:
        try:
            infos = await loop.getaddrinfo(host, None, family=FAMILIES[protocol], type=socktype)
        except (socket.gaierror, UnicodeError) as err:
            errors.append(f"{protocol}: {err}")
            continue
        except asyncio.CancelledError as err:
            err.add_note(RESOLVING + host)
            raise
        if infos:
            return infos[0][4][0], 4 if protocol == "ip4" else 6
    raise ProbeFailure("dns", f"cannot resolve {host!r} ({'; '.join(errors)})")


@contextlib.asynccontextmanager
async def deadline(seconds: float) -> AsyncIterator[None]:
    """asyncio.timeout(seconds), except that running out while resolve() still waits on the resolver
    raises ProbeFailure("dns"): a resolver outage must read as one, not as a slow peer."""
    try:
        async with asyncio.timeout(seconds):
            yield
    except TimeoutError as err:
        notes = getattr(err.__cause__, "__notes__", ())  # the cancellation that interrupted the probe
        host = next((note[len(RESOLVING):] for note in notes if note.startswith(RESOLVING)), None)
        if host is None:
            raise
        raise ProbeFailure("dns", f"no answer from the resolver for {host!r} within {seconds:g}s") from None
