"""Upstream checks (tcp, dns, ntp, http, https) against the fake servers on 127.0.0.1; a check of Debian's
chronyd in a running exporter: tests/integration/test_upstream.py."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest

from exporter.config import parse_check
from exporter.probes.upstream import run_check
from tests.fakes import free_port
from tests.support import ROOT


def check(url: str, timeout: float = 1.0):
    return asyncio.run(run_check(parse_check(url), timeout))


def test_tcp_connect(tcp_listener):
    assert check(f"tcp://{tcp_listener.address}").success


def test_tcp_refused():
    result = check(f"tcp://127.0.0.1:{free_port()}")
    assert (result.success, result.reason) == (False, "connect")


def test_tcp_unresolvable():
    assert check("tcp://no-such-host.invalid:443").reason == "dns"


def test_dns_answer_required(dns_server):
    result = check(f"dns://{dns_server.address}/lkpp.go.id")
    assert result.success and "1 record" in result.message


@pytest.mark.parametrize("mode, reason", [("nxdomain", "rcode"), ("servfail", "rcode"), ("empty", "no_answer")])
def test_dns_failures(dns_server, mode, reason):
    dns_server.set(mode)
    result = check(f"dns://{dns_server.address}/lkpp.go.id")
    assert (result.success, result.reason) == (False, reason)


def test_dns_truncated_answer_retries_over_tcp(dns_server):
    dns_server.set("truncated")
    assert check(f"dns://{dns_server.address}/lkpp.go.id").success
    dns_server.set("truncated_tcp_down")
    assert not check(f"dns://{dns_server.address}/lkpp.go.id", timeout=0.5).success


def test_dns_silent_server_times_out(dns_server):
    dns_server.set("silent")
    result = check(f"dns://{dns_server.address}/lkpp.go.id", timeout=0.4)
    assert (result.success, result.reason) == (False, "timeout")


def test_ntp_check(ntp):
    assert check(f"ntp://{ntp.address}").success
    ntp.set("silent")
    assert check(f"ntp://{ntp.address}", timeout=0.3).reason == "timeout"


@pytest.mark.parametrize("mode, note", [
    ("unsync_init", "reachable; server unsynchronized (leap 3, stratum 0, refid INIT)"),  # chronyd/ntpd without sources
    ("unsync", "reachable; server unsynchronized (leap 3, stratum 2"),
    ("kod", "reachable; server kod (kiss code RATE)"),
    ("kod_deny", "reachable; server kod (kiss code DENY)"),
])
def test_ntp_check_asks_for_the_path_not_the_servers_time(ntp, mode, note):
    """A national server that lost its own sources still answers across the link: the link works. The clock
    probe rejects the same reply (tests/unit/probes/test_ntp.py); the check only notes it for /probes."""
    ntp.set(mode)
    result = check(f"ntp://{ntp.address}")
    assert (result.success, result.reason) == (True, ""), result
    assert result.message.startswith(note), result.message


@pytest.mark.parametrize("mode, reason", [("short", "protocol"), ("zero_transmit", "protocol"),
                                          ("garbage", "origin_mismatch"), ("wrong_port", "timeout")])
def test_ntp_check_still_needs_an_authentic_reply(ntp, mode, reason):
    """Only a well-formed answer to our own request proves the path; anything else may come from anywhere."""
    ntp.set(mode)
    result = check(f"ntp://{ntp.address}", timeout=0.3)
    assert (result.success, result.reason) == (False, reason), result


@pytest.mark.parametrize("status, reachable", [(200, True), (204, True), (404, True), (301, True), (503, False)])
def test_http_any_answer_below_500_is_reachable(spse, status, reachable):
    spse.set("status", status=status)
    result = check(spse.url)
    assert result.success is reachable
    if not reachable:
        assert result.reason == "http_status"


def test_https_check_verifies_tls(spse_tls):
    # The fake's certificate comes from a test CA the check does not trust: reachable, but not trusted.
    assert check(spse_tls.url).reason == "tls"


def test_hanging_http_check_ends_at_deadline(spse):
    spse.set("hang")
    result = check(spse.url, timeout=0.4)
    assert (result.success, result.reason) == (False, "timeout") and result.duration < 1.5


def test_ntp_check_that_times_out_after_a_rejected_reply_names_the_rejection(ntp):
    """The check's deadline and the NTP probe's end together: the on-call must still read why the reply was refused."""
    ntp.set("wrong_origin")
    result = check(f"ntp://{ntp.address}", timeout=0.3)
    assert (result.success, result.reason) == (False, "origin_mismatch"), result
    assert "(rejected: origin_mismatch)" in result.message


@pytest.mark.parametrize("example, imported", [("watcher.yml", False), ("spse.yml", True)])
def test_dnspython_query_half_is_imported_only_for_a_config_with_a_dns_check(example, imported):
    """1.5 MiB of RSS the watcher's exporter (no dns:// check) does without; the site's example has one and
    gets it when its jobs are made, before any round."""
    script = ("import sys; from exporter.config import load_config; from exporter.probes.upstream import PROBE_KIND; "
              f"jobs = list(PROBE_KIND.jobs(load_config('exporter/examples/{example}'))); "
              "print('dns.asyncquery' in sys.modules, 'dns.message' in sys.modules)")
    run = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == [str(imported)] * 2
