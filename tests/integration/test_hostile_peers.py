"""Hostile and broken peers, all at once, against one running exporter: each must end as the right
failure reason in /metrics, no bad reply may be trusted, memory stays bounded and the exporter stays up.

(The probe functions' own unit tests are in tests/unit/probes/: test_http.py, test_ntp.py, test_upstream.py.)
"""

from __future__ import annotations

import socket

import pytest
import trustme
import yaml

from tests.conftest import server_context
from tests.fakes import FakeDNS, FakeNTP, FakeSPSE, free_port
from tests.support import ExporterProcess, fastest_of, http_get, poll, proc_status

INTERVAL, TIMEOUT = 3.0, 2.0  # the timeout is above the slow loris' 1 s per byte: only the deadline ends it
MEMORY_BOUND = 50 * 1024 * 1024

# target name: (fake SPSE mode, TLS server context maker or None, scheme, reason the exporter must record)
HTTP_CASES = {
    "never-answers": ("hang", None, "http", "timeout"),
    "slow-loris": ("slowloris", None, "http", "timeout"),
    "huge-body": ("huge", None, "http", "protocol"),  # 8 GiB announced and streamed
    "redirect-loop": ("redirect_loop", None, "http", "protocol"),
    "reset-mid-headers": ("reset", None, "http", "protocol"),
    "http10-no-length": ("http10", None, "http", ""),  # valid HTTP/1.0: the body ends at the close
    "untrusted-cert": ("ok", lambda ca: server_context(trustme.CA()), "https", "tls"),
    "expired-cert": ("ok", lambda ca: server_context(ca, days=-0.5), "https", "tls"),
    "wrong-hostname": ("ok", lambda ca: server_context(ca, "lpse.lain.example"), "https", "tls"),
    "not-tls": ("ok", None, "https", "tls"),  # plain HTTP behind an https URL
}
# time source mode: reason. They all run an hour ahead, so a trusted bad reply would show in the offset.
NTP_CASES = {
    "silent": "timeout",
    "short": "protocol",
    "garbage": "origin_mismatch",  # 48 random bytes do not echo our nonce
    "kod": "kod",
    "wrong_port": "timeout",  # the connected socket drops it; nothing valid arrives
    "wrong_origin": "origin_mismatch",
}
DNS_CASES = {"nxdomain": "rcode", "servfail": "rcode", "truncated": "", "truncated_tcp_down": "protocol"}


class TcpBlackhole:
    """A loopback port that silently drops connection attempts: its accept queue is full and never
    served, and Linux drops a SYN for a full queue without a reset (no firewall rule needed)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(0)
        self.port = self.sock.getsockname()[1]
        self.fillers = [socket.socket() for _ in range(2)]
        for filler in self.fillers:
            filler.setblocking(False)
            filler.connect_ex(("127.0.0.1", self.port))

    def close(self):
        for sock in (*self.fillers, self.sock):
            sock.close()


class Hostile:
    """The fakes, the exporter's config naming them, and the running exporter."""

    def __init__(self, ca, ca_file, workdir):
        self.fakes, self.urls = [], {}
        for name, (mode, tls, scheme, _) in HTTP_CASES.items():
            fake = self._keep(FakeSPSE(tls=tls(ca) if tls else None))
            fake.set(mode)
            self.urls[name] = f"{scheme}://127.0.0.1:{fake.port}/eproc4"
        self.good_ntp = self._keep(FakeNTP())
        self.ntp = {mode: self._keep(FakeNTP(offset=3600.0)) for mode in NTP_CASES}
        for mode, fake in self.ntp.items():
            fake.set(mode)
        self.dns = {mode: self._keep(FakeDNS()) for mode in DNS_CASES}
        for mode, fake in self.dns.items():
            fake.set(mode)
        self.blackhole = self._keep(TcpBlackhole())
        self.tcp = {"refused": f"tcp://127.0.0.1:{free_port()}", "blackholed": f"tcp://127.0.0.1:{self.blackhole.port}"}
        targets = [{"name": name, "url": url, "tls": {"ca_file": str(ca_file)}} for name, url in self.urls.items()]
        targets[list(HTTP_CASES).index("huge-body")].update(interval="1s", timeout="800ms")  # more rounds to watch
        config = {
            "interval": f"{INTERVAL:g}s",
            "timeout": f"{TIMEOUT:g}s",
            "targets": targets,
            "clock": {"servers": [self.good_ntp.address, *(fake.address for fake in self.ntp.values())]},
            "upstream": {"custom_dns": [self.dns_check(mode) for mode in DNS_CASES], "custom_tcp": list(self.tcp.values())},
        }
        path = workdir / "hostile.yml"
        path.write_text(yaml.safe_dump(config))
        self.exporter = ExporterProcess(path)

    def _keep(self, fake):
        self.fakes.append(fake)
        return fake

    def dns_check(self, mode: str) -> str:
        return f"dns://{self.dns[mode].address}/lpse.contoh.example"

    def close(self):
        self.exporter.stop()
        for fake in self.fakes:
            fake.close()


@pytest.fixture(scope="module")
def hostile(ca, ca_file, tmp_path_factory):
    world = Hostile(ca, ca_file, tmp_path_factory.mktemp("hostile"))
    try:
        world.exporter.wait_ready(timeout=30)  # every probe has finished a round
        yield world
    finally:
        world.close()


@pytest.fixture(scope="module")
def samples(hostile):
    return hostile.exporter.scrape()


@pytest.mark.parametrize("name", HTTP_CASES)
def test_http_peer_ends_with_its_reason(samples, name):
    reason = HTTP_CASES[name][3]
    target = {"target": name}
    assert samples.get_value("spse_http_probe_success", **target) == (0 if reason else 1)
    recorded = {dict(labels)["reason"]: count for labels, count in samples.series("spse_http_probe_failures_total").items()
                if dict(labels)["target"] == name and count}
    assert list(recorded) == ([reason] if reason else []), recorded
    # Whatever the peer does, the probe ends by its deadline.
    duration = samples.get_value("spse_http_probe_duration_seconds_sum", **target) / samples.get_value(
        "spse_http_probe_duration_seconds_count", **target)
    assert duration <= TIMEOUT + 1.0  # without one overall deadline the slow loris would last a minute


def test_http10_body_is_read_to_the_close(samples):
    assert samples.get_value("spse_http_response_size_bytes", target="http10-no-length") > 10_000


@pytest.mark.parametrize("mode", NTP_CASES)
def test_ntp_reply_is_rejected_with_its_reason(hostile, samples, mode):
    server = hostile.ntp[mode].address
    assert samples.get_value("spse_ntp_probe_success", server=server) == 0
    assert samples.get_value("spse_ntp_probe_failures_total", server=server, reason=NTP_CASES[mode]) >= 1
    assert samples.get_value("spse_ntp_offset_seconds", server=server) is None


def test_no_bad_time_source_is_trusted(samples):
    """Every bad source runs an hour ahead: the clock offset comes from the one good source only."""
    assert samples.get_value("spse_clock_sources_reachable") == 1
    assert abs(samples.get_value("spse_clock_offset_seconds")) < 0.1


@pytest.mark.parametrize("mode", DNS_CASES)
def test_dns_answer_ends_with_its_reason(hostile, samples, mode):
    labels = {"group": "custom_dns", "check": hostile.dns_check(mode)}
    reason = DNS_CASES[mode]
    assert samples.get_value("spse_upstream_probe_success", **labels) == (0 if reason else 1)
    if reason:
        assert samples.get_value("spse_upstream_probe_failures_total", **labels, reason=reason) >= 1


@pytest.mark.parametrize("kind, reason", [("refused", "connect"), ("blackholed", "timeout")])
def test_tcp_anchor_ends_with_its_reason(hostile, samples, kind, reason):
    labels = {"group": "custom_tcp", "check": hostile.tcp[kind]}
    assert samples.get_value("spse_upstream_probe_success", **labels) == 0
    assert samples.get_value("spse_upstream_probe_failures_total", **labels, reason=reason) >= 1


def test_multi_gigabyte_body_keeps_memory_bounded(hostile):
    exporter, target = hostile.exporter, {"target": "huge-body"}
    rss_before = proc_status(exporter.proc.pid, "VmRSS") * 1024
    rounds_before = exporter.scrape().get_value("spse_http_probe_duration_seconds_count", **target)
    samples = poll(lambda: (s := exporter.scrape()).get_value("spse_http_probe_duration_seconds_count", **target)
                   >= rounds_before + 5 and s, timeout=30, what="five more rounds of an 8 GiB body")
    growth = proc_status(exporter.proc.pid, "VmRSS") * 1024 - rss_before
    print(f"five 8 GiB answers: exporter RSS {rss_before / 2**20:.1f} MiB, then {growth / 2**20:+.1f} MiB")
    assert growth < MEMORY_BOUND, f"RSS grew {growth / 2**20:.1f} MiB over five 8 GiB answers"
    # It stopped reading just past body_size_limit (1 MiB) instead of taking the whole body.
    assert samples.get_value("spse_http_response_size_bytes", **target) < 2 * 2**20
    assert samples.get_value("spse_http_probe_failures_total", **target, reason="protocol") >= 6


def test_exporter_stays_up_and_fast_through_it_all(hostile):
    exporter = hostile.exporter
    assert fastest_of(3, f"{exporter.url}/metrics") < 0.2
    assert http_get(f"{exporter.url}/-/healthy")[0] == 200
    assert exporter.proc.poll() is None
    assert "crashed" not in exporter.logs()  # no peer made a probe raise instead of fail
