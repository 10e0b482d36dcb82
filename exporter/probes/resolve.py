"""Name resolution with an IP-version preference, shared by every probe.

IPv4 is preferred by default: an IPv6-first resolver breaks probes in the many
container networks that have no IPv6 route (a known blackbox_exporter pain point).
"""

from __future__ import annotations

import asyncio
import socket

from exporter.config import is_ip_literal
from exporter.probes import ProbeFailure

FAMILIES = {"ip4": socket.AF_INET, "ip6": socket.AF_INET6}
OTHER = {"ip4": "ip6", "ip6": "ip4"}


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
        if infos:
            return infos[0][4][0], 4 if protocol == "ip4" else 6
    raise ProbeFailure("dns", f"cannot resolve {host!r} ({'; '.join(errors)})")
