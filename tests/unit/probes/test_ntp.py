"""The NTP probe against a fake NTP server on 127.0.0.1 whose clock is shifted by a chosen offset; against
Debian's chronyd: tests/integration/test_ntp_probe.py."""

from __future__ import annotations

import asyncio
import socket
import time

import pytest

from exporter.config import Endpoint, parse_endpoint
from exporter.probes.ntp import probe_ntp
from tests.fakes import free_port


def query(address: str, timeout: float = 1.0):
    return asyncio.run(probe_ntp(parse_endpoint(address, 123), timeout))


@pytest.mark.parametrize("offset", [0.0, 2.5, -30.0, 3600.25])
def test_offset_matches_the_servers_shift_within_10ms(ntp, offset):
    ntp.set("ok", offset=offset)
    result = query(ntp.address)
    assert result.success and result.reason == ""
    assert result.offset == pytest.approx(offset, abs=0.010)
    assert 0 <= result.rtt < 0.5 and result.stratum == 2


@pytest.mark.parametrize("mode, reason, detail", [
    ("short", "protocol", "20 bytes"),
    ("kod", "kod", "kiss code RATE"),
    ("kod_deny", "kod", "kiss code DENY"),  # ntpd's kisses carry leap 3: the code decides
    ("unsync", "unsynchronized", "leap 3, stratum 2"),
    ("unsync_init", "unsynchronized", "leap 3, stratum 0, refid INIT"),  # chronyd/ntpd without a reference
    ("unsync_zero", "unsynchronized", "leap 3, stratum 0, refid 00000000"),
    ("zero_receive", "protocol", "timestamp is zero"),
    ("zero_transmit", "protocol", "timestamp is zero"),
])
def test_bad_replies_are_rejected_with_their_reason(ntp, mode, reason, detail):
    ntp.set(mode)
    result = query(ntp.address)
    assert (result.success, result.reason, result.offset) == (False, reason, None)
    assert detail in result.message


async def _probe_while_the_loop_is_blocked(ntp, block: float):
    """Probe `ntp`, and block the event loop for `block` seconds once the server has the request.

    sleep(0) polls without waiting in select(): the loop cannot read the reply before this
    coroutine has seen the request counted and blocked (the server counts before it replies).
    """
    probe = asyncio.create_task(probe_ntp(parse_endpoint(ntp.address, 123), 2.0))
    deadline = time.monotonic() + 2.0
    while ntp.requests == 0 and time.monotonic() < deadline:
        await asyncio.sleep(0)
    time.sleep(block)  # the reply arrives meanwhile and waits in the socket buffer
    return await probe


@pytest.mark.parametrize("offset", [0.0, 2.5])
def test_event_loop_lag_does_not_bias_offset_or_delay(ntp, offset):
    """The receive time is the kernel's arrival time of the datagram, not when the probe resumes."""
    ntp.set("ok", offset=offset)
    result = asyncio.run(_probe_while_the_loop_is_blocked(ntp, 0.5))
    assert result.success and ntp.requests == 1
    # Read after the block, the delay would be ~0.5 s and the offset 0.25 s low; the margins only absorb
    # a loaded machine descheduling the fake server's thread.
    assert result.rtt < 0.1 and result.offset == pytest.approx(offset, abs=0.05)


def test_reply_with_wrong_origin_is_not_trusted(ntp):
    ntp.set("wrong_origin")
    result = query(ntp.address, timeout=0.5)
    assert (result.success, result.reason) == (False, "origin_mismatch")
    assert ntp.requests == 1


def test_reply_from_the_wrong_port_is_dropped(ntp):
    ntp.set("wrong_port")
    result = query(ntp.address, timeout=0.5)
    assert (result.success, result.reason) == (False, "timeout")
    assert ntp.requests == 1


def test_silent_server_times_out_at_the_deadline(ntp):
    ntp.set("silent")
    result = query(ntp.address, timeout=0.3)
    assert (result.success, result.reason) == (False, "timeout")
    assert 0.25 < result.duration < 1.0


def test_closed_port_fails_at_once_on_the_icmp_refusal():
    result = query(f"127.0.0.1:{free_port(kind=socket.SOCK_DGRAM)}", timeout=2.0)
    assert (result.success, result.reason) == (False, "connect")
    assert result.duration < 1.0


def test_unresolvable_server_is_dns():
    result = asyncio.run(probe_ntp(Endpoint("no-such-host.invalid", 123), 1.0))
    assert (result.success, result.reason) == (False, "dns")
