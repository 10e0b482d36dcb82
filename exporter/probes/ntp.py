"""NTP probe: one client/server exchange per time source, on a connected UDP socket.

ntplib encodes and decodes the packets and computes offset and delay; the exchange is
done here, in asyncio, so that it has a hard deadline without a thread per request and
so that replies are checked: a connected socket drops datagrams from any other address
or port, a reply must echo our transmit timestamp, and kiss-of-death or unsynchronised
servers are rejected rather than trusted (an upstream check, which asks only whether the
path to the server works, takes them as an answer). As in chrony, a reply's receive time is
the kernel's timestamp of the datagram, so a busy event loop does not bias offset and delay.
"""

from __future__ import annotations

import asyncio
import os
import platform
import socket
import struct
import sys
import time
from dataclasses import dataclass

import ntplib

from exporter.config import Endpoint
from exporter.probes import ProbeFailure, ProbeResult
from exporter.probes.resolve import resolve
from exporter.probes.runner import guarded

PACKET_SIZE = 48
MODE_SERVER = 4
LEAP_UNSYNCHRONISED = 3
STRATUM_UNSYNCHRONISED = 16
# RFC 5905 section 7.4. INIT is left out: chronyd and ntpd send it (or a zero refid) with
# leap 3 and stratum 0 while they have no reference, which is "unsynchronised", not a refusal.
KISS_CODES = frozenset(b"ACST AUTH AUTO BCST CRYP DENY DROP RSTR MCST NKEY RATE RMOT STEP".split())
# Rejections of the server's own time, not of the exchange: the reply still proves the path works.
REASONS = ("timeout", "dns", "connect", "protocol", "kod", "unsynchronized", "origin_mismatch")
SERVER_TIME_REASONS = frozenset({"kod", "unsynchronized"})
# SO_TIMESTAMPNS: the kernel's receive time of each datagram. Python has no constant for it; 35 is
# its value on Linux's common architectures. Elsewhere the receive time is when the datagram is read.
LINUX_GENERIC = ("x86_64", "aarch64", "i686", "armv7l", "riscv64", "ppc64le", "s390x")
TIMESTAMPNS = 35 if sys.platform == "linux" and platform.machine() in LINUX_GENERIC else None
TIMESPEC = struct.Struct("@ll")


@dataclass(frozen=True)
class NtpResult(ProbeResult):
    offset: float | None = None
    rtt: float | None = None
    stratum: int | None = None


def request_packet() -> tuple[bytes, float]:
    """A client request and the NTP time it was made at.

    Like chrony, the transmit field's fraction is random: it is a nonce the reply must echo,
    while the offset is computed from the real send time kept here.
    """
    sent_at = ntplib.system_to_ntp_time(time.time())
    packet = bytearray(ntplib.NTPPacket(mode=3, version=4, tx_timestamp=sent_at).to_data())
    packet[44:48] = os.urandom(4)
    return bytes(packet), sent_at


def check_reply(data: bytes, request: bytes) -> tuple[str, str]:
    """(reason, detail) of why a datagram is not an acceptable reply to `request`; reason "" when it is."""
    if len(data) < PACKET_SIZE:
        return "protocol", f"{len(data)} bytes"
    if data[24:32] != request[40:48]:
        return "origin_mismatch", "does not echo our transmit timestamp"
    leap, mode, stratum, ref_id = data[0] >> 6, data[0] & 0x7, data[1], data[12:16]
    if mode != MODE_SERVER:
        return "protocol", f"mode {mode}"
    if stratum == 0 and ref_id in KISS_CODES:
        return "kod", f"kiss code {ref_id.decode()}"
    if stratum == 0 or stratum >= STRATUM_UNSYNCHRONISED or leap == LEAP_UNSYNCHRONISED:
        name = ref_id.rstrip(b"\0")
        return "unsynchronized", f"leap {leap}, stratum {stratum}, refid {name.decode() if name.isalpha() else ref_id.hex()}"
    if not any(data[32:40]) or not any(data[40:48]):
        return "protocol", "receive or transmit timestamp is zero"
    return "", ""


def arrival_time(ancdata: list) -> float:
    """The kernel's receive timestamp from recvmsg's ancillary data (a socket with TIMESTAMPNS set), else now."""
    for level, kind, data in ancdata:
        if level == socket.SOL_SOCKET and kind == TIMESTAMPNS and len(data) >= TIMESPEC.size:
            seconds, nanoseconds = TIMESPEC.unpack_from(data)
            return seconds + nanoseconds / 1e9
    return time.time()


def _read_arrivals(sock: socket.socket, arrivals: asyncio.Queue) -> None:
    """Queue each waiting datagram with its arrival time, or a socket error (an ICMP refusal arrives as one).

    At most 64 per call, so that a peer flooding the socket cannot hold the event loop.
    """
    for _ in range(64):
        try:
            data, ancdata, _, _ = sock.recvmsg(512, socket.CMSG_SPACE(TIMESPEC.size))
            arrival = (data, arrival_time(ancdata))
        except (BlockingIOError, InterruptedError):
            return
        except OSError as err:
            arrival = err
        if not arrivals.full():  # a flood is dropped, not queued
            arrivals.put_nowait(arrival)
        if isinstance(arrival, OSError):
            return


def _connect(address: str, port: int, version: int) -> socket.socket:
    """A non-blocking UDP socket connected to the server: the kernel drops datagrams from anyone else."""
    sock = socket.socket(socket.AF_INET6 if version == 6 else socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.setblocking(False)
        if TIMESTAMPNS is not None:
            sock.setsockopt(socket.SOL_SOCKET, TIMESTAMPNS, 1)
        sock.connect((address, port))  # UDP: no packet sent, only the peer fixed
    except OSError:
        sock.close()
        raise
    return sock


async def _exchange(endpoint: Endpoint, seen: dict, path_only: bool) -> NtpResult:
    address, version = await resolve(endpoint.host, socktype=socket.SOCK_DGRAM)
    loop = asyncio.get_running_loop()
    try:
        sock = _connect(address, endpoint.port, version)
    except OSError as err:
        raise ProbeFailure("connect", f"cannot reach: {err}") from None
    arrivals: asyncio.Queue[tuple[bytes, float] | OSError] = asyncio.Queue(maxsize=16)
    loop.add_reader(sock.fileno(), _read_arrivals, sock, arrivals)
    try:
        request, sent_at = request_packet()
        began = time.monotonic()
        try:
            sock.send(request)
        except OSError as err:  # e.g. no route to the address
            raise ProbeFailure("connect", str(err)) from None
        while True:
            arrival = await arrivals.get()
            if isinstance(arrival, OSError):
                raise ProbeFailure("connect", str(arrival))
            data, received_at = arrival
            rejected, detail = check_reply(data, request)
            if rejected == "origin_mismatch":
                seen["rejected"] = rejected
                continue  # stale or spoofed: keep waiting for the real reply until the deadline
            if path_only and rejected in SERVER_TIME_REASONS:  # an answer all the same; its time is not trusted
                return NtpResult(True, "", f"reachable; server {rejected} ({detail})", time.monotonic() - began)
            if rejected:
                raise ProbeFailure(rejected, f"rejected reply ({rejected}: {detail})")
            stats = ntplib.NTPStats()
            stats.from_data(data[:PACKET_SIZE])
            stats.orig_timestamp = sent_at
            stats.dest_timestamp = ntplib.system_to_ntp_time(received_at)
            return NtpResult(True, "", "ok", time.monotonic() - began,
                             offset=stats.offset, rtt=max(stats.delay, 0.0), stratum=stats.stratum)
    finally:
        loop.remove_reader(sock.fileno())
        sock.close()


async def probe_ntp(endpoint: Endpoint, timeout: float, path_only: bool = False) -> NtpResult:
    """Query one time source; never raises, always returns by `timeout`. `path_only` (upstream checks):
    a kiss-of-death or unsynchronised reply succeeds too, without an offset, its verdict in the message."""
    seen = {"rejected": ""}

    def timed_out() -> tuple[str, str]:  # replies that did not echo our timestamp say more than "timeout"
        rejected = seen["rejected"]
        return rejected or "timeout", f"no valid reply within {timeout:g}s" + (f" (rejected: {rejected})" if rejected else "")
    result, reason, message, duration = await guarded(
        timeout, _exchange(endpoint, seen, path_only), str(endpoint), timed_out)
    return result or NtpResult(False, reason, message, duration)
