"""NTP probe: one client/server exchange per time source, on a connected UDP socket.

ntplib encodes and decodes the packets and computes offset and delay; the exchange is
done here, in asyncio, so that it has a hard deadline without a thread per request and
so that replies are checked: a connected socket drops datagrams from any other address
or port, a reply must echo our transmit timestamp, and kiss-of-death or unsynchronised
servers are rejected rather than trusted.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from dataclasses import dataclass

import ntplib

from exporter.config import Endpoint
from exporter.probes import ProbeFailure
from exporter.probes.resolve import resolve

log = logging.getLogger("spse_exporter.probes")
PACKET_SIZE = 48
MODE_SERVER = 4
LEAP_UNSYNCHRONISED = 3
STRATUM_UNSYNCHRONISED = 16


@dataclass(frozen=True)
class NtpResult:
    success: bool
    reason: str
    message: str
    duration: float
    offset: float | None = None
    rtt: float | None = None
    stratum: int | None = None


class _Exchange(asyncio.DatagramProtocol):
    """Queues datagrams and socket errors (ICMP unreachable arrives as one) in arrival order."""

    def __init__(self):
        self.arrivals: asyncio.Queue[bytes | OSError] = asyncio.Queue(maxsize=16)

    def datagram_received(self, data: bytes, addr) -> None:
        if not self.arrivals.full():
            self.arrivals.put_nowait(data)

    def error_received(self, exc: OSError) -> None:
        if not self.arrivals.full():
            self.arrivals.put_nowait(exc)


def request_packet() -> tuple[bytes, float]:
    """A client request and the NTP time it was made at.

    Like chrony, the transmit field's fraction is random: it is a nonce the reply must echo,
    while the offset is computed from the real send time kept here.
    """
    sent_at = ntplib.system_to_ntp_time(time.time())
    packet = bytearray(ntplib.NTPPacket(mode=3, version=4, tx_timestamp=sent_at).to_data())
    packet[44:48] = os.urandom(4)
    return bytes(packet), sent_at


def check_reply(data: bytes, request: bytes) -> str:
    """Why a datagram is not an acceptable reply to `request`, or "" when it is."""
    if len(data) < PACKET_SIZE:
        return "protocol"
    if data[24:32] != request[40:48]:
        return "origin_mismatch"
    leap, mode, stratum = data[0] >> 6, data[0] & 0x7, data[1]
    if mode != MODE_SERVER:
        return "protocol"
    if stratum == 0:
        return "kod"
    if leap == LEAP_UNSYNCHRONISED or stratum >= STRATUM_UNSYNCHRONISED:
        return "unsynchronized"
    return ""


async def _exchange(endpoint: Endpoint, seen: dict) -> NtpResult:
    address, version = await resolve(endpoint.host, socktype=socket.SOCK_DGRAM)
    loop = asyncio.get_running_loop()
    try:
        transport, exchange = await loop.create_datagram_endpoint(
            _Exchange, remote_addr=(address, endpoint.port),
            family=socket.AF_INET6 if version == 6 else socket.AF_INET)
    except OSError as err:
        raise ProbeFailure("connect", f"cannot reach {endpoint}: {err}") from None
    try:
        request, sent_at = request_packet()
        began = time.monotonic()
        transport.sendto(request)
        while True:
            arrival = await exchange.arrivals.get()
            received_at = time.time()
            if isinstance(arrival, OSError):
                raise ProbeFailure("connect", f"{endpoint}: {arrival}")
            rejected = check_reply(arrival, request)
            if rejected == "origin_mismatch":
                seen["rejected"] = rejected
                continue  # stale or spoofed: keep waiting for the real reply until the deadline
            if rejected:
                detail = arrival[12:16].decode("ascii", "replace") if rejected == "kod" else f"{len(arrival)} bytes"
                raise ProbeFailure(rejected, f"{endpoint}: rejected reply ({rejected}: {detail})")
            stats = ntplib.NTPStats()
            stats.from_data(arrival[:PACKET_SIZE])
            stats.orig_timestamp = sent_at
            stats.dest_timestamp = ntplib.system_to_ntp_time(received_at)
            return NtpResult(True, "", "ok", time.monotonic() - began,
                             offset=stats.offset, rtt=max(stats.delay, 0.0), stratum=stats.stratum)
    finally:
        transport.close()


async def probe_ntp(endpoint: Endpoint, timeout: float) -> NtpResult:
    """Query one time source; never raises, always returns by `timeout`."""
    began, seen = time.monotonic(), {"rejected": ""}
    try:
        async with asyncio.timeout(timeout):
            return await _exchange(endpoint, seen)
    except TimeoutError:
        reason = seen["rejected"] or "timeout"
        return NtpResult(False, reason, f"{endpoint}: no valid reply within {timeout:g}s"
                         + (f" (rejected: {reason})" if seen["rejected"] else ""), time.monotonic() - began)
    except ProbeFailure as failure:
        return NtpResult(False, failure.reason, str(failure), time.monotonic() - began)
    except Exception as err:  # noqa: BLE001 - whatever a peer sends, the probe records a result
        log.exception("unexpected error querying %s", endpoint)
        return NtpResult(False, "protocol", f"unexpected error: {err!r}", time.monotonic() - began)
