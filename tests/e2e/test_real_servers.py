"""Probes against real servers from Debian, not the project's fakes: nginx in front of an SPSE site
(504, 502, a close without an answer, redirects to HTTPS, TLS, SPSE's error page served with 200) and
dnsmasq for DNS, including a resolver that never answers, seen from the exporter's own process."""

from __future__ import annotations

import asyncio
import gzip
import os
import socket
import subprocess
import time
from pathlib import Path

import pytest
import trustme

from exporter.config import parse_check
from exporter.probes.upstream import run_check
from tests import netns
from tests.fakes import free_port
from tests.real_servers import DNSMASQ, NGINX, Dnsmasq, Nginx
from tests.support import ExporterProcess, poll
from tests.unit.probes.test_http import SPSE_ERROR, probe

pytestmark = pytest.mark.skipif(not NGINX.exists() or not DNSMASQ.exists(),
                                reason="needs nginx unpacked under .cache/debs and dnsmasq (scripts/test.sh)")
SPSE_PAGE = "<html><body><h1>Layanan Pengadaan Secara Elektronik</h1></body></html>"
SPSE_ERROR_PAGE = "<html><body><h2>Maaf, terjadi error pada aplikasi SPSE.</h2></body></html>"
CLOSED_WITHOUT_ANSWER = "connection closed by the server without a response"
DAY = 86400


def site() -> str:
    """An SPSE page as nginx serves it: `return 200` with the page as its body."""
    return f'location = /eproc4 {{ default_type text/html; return 200 "{SPSE_PAGE}"; }}'


def self_signed(workdir: Path, days: int) -> Path:
    """A self-signed certificate and key in one PEM file, as many LPSE sites run."""
    path = workdir / "self-signed.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", str(path.with_suffix(".key")), "-out", str(path), "-days", str(days),
                    "-subj", "/CN=lpse.test"], check=True, capture_output=True)
    path.write_text(path.read_text() + path.with_suffix(".key").read_text())
    return path


@pytest.fixture(scope="module")
def nginx(tmp_path_factory, ca: trustme.CA):
    """One nginx: a plain site with the failure shapes, a TLS site (test CA) and a self-signed one."""
    workdir = tmp_path_factory.mktemp("nginx")
    silent = socket.create_server(("127.0.0.1", 0), backlog=16)  # the kernel accepts; nobody ever answers
    ports = {"http": free_port(), "tls": free_port(), "self_signed": free_port()}
    trusted = workdir / "trusted.pem"
    ca.issue_cert("127.0.0.1").private_key_and_cert_chain_pem.write_to_path(str(trusted))
    untrusted = self_signed(workdir, days=20)
    servers = f"""
    server {{
        listen 127.0.0.1:{ports["http"]};
        {site()}
        location = /error-page {{ default_type text/html; return 200 "{SPSE_ERROR_PAGE}"; }}
        location = /gateway-timeout {{ proxy_pass http://127.0.0.1:{silent.getsockname()[1]}; proxy_read_timeout 1s; }}
        location = /bad-gateway {{ proxy_pass http://127.0.0.1:{free_port()}; }}
        location = /close {{ return 444; }}
        location = /redirect-to-close {{ return 301 /close; }}
        location = /to-https {{ return 301 https://127.0.0.1:{ports["tls"]}/eproc4; }}
        location = /to-self-signed {{ return 301 https://127.0.0.1:{ports["self_signed"]}/eproc4; }}
    }}
    server {{
        listen 127.0.0.1:{ports["tls"]} ssl;
        ssl_certificate {trusted}; ssl_certificate_key {trusted};
        {site()}
    }}
    server {{
        listen 127.0.0.1:{ports["self_signed"]} ssl;
        ssl_certificate {untrusted}; ssl_certificate_key {untrusted};
        {site()}
    }}"""
    server = Nginx(workdir, servers, free_port())
    try:
        server.wait_ready()
        server.urls = {name: f"{'https' if name != 'http' else 'http'}://127.0.0.1:{port}"
                       for name, port in ports.items()}
        yield server
    finally:
        server.stop()
        silent.close()


def test_nginx_gateway_timeout_is_a_504(nginx):
    result = probe(f"{nginx.urls['http']}/gateway-timeout", timeout="4s")
    assert (result.success, result.reason, result.status_code) == (False, "http_status", 504), result.message


def test_nginx_closed_upstream_is_a_502(nginx):
    result = probe(f"{nginx.urls['http']}/bad-gateway")
    assert (result.success, result.reason, result.status_code) == (False, "http_status", 502), result.message


def test_close_without_an_answer_says_so(nginx):
    result = probe(f"{nginx.urls['http']}/close")
    assert (result.success, result.reason, result.status_code) == (False, "protocol", 0)
    assert CLOSED_WITHOUT_ANSWER in result.message, result.message


def test_status_code_is_zero_when_the_last_hop_got_no_response(nginx):
    result = probe(f"{nginx.urls['http']}/redirect-to-close")
    assert (result.success, result.reason, result.redirects) == (False, "protocol", 1), result.message
    assert result.status_code == 0  # not the redirect's 301: the final hop had no response
    assert CLOSED_WITHOUT_ANSWER in result.message


def test_spse_error_page_served_with_200_fails_body_match(nginx):
    result = probe(f"{nginx.urls['http']}/error-page", fail_if_body_matches=[f"(?i){SPSE_ERROR}"])
    assert (result.success, result.reason, result.status_code) == (False, "body_match", 200)


def test_http_to_https_redirect_checks_with_the_targets_ca_file(nginx, ca_file):
    result = probe(f"{nginx.urls['http']}/to-https", tls={"ca_file": str(ca_file)})
    assert (result.success, result.status_code, result.redirects) == (True, 200, 1), result.message
    assert result.url.startswith("https://") and result.phases["tls"] > 0
    assert probe(f"{nginx.urls['http']}/to-https").reason == "tls"  # without the CA the hop is untrusted


def test_http_to_https_redirect_honours_insecure_skip_verify(nginx):
    result = probe(f"{nginx.urls['http']}/to-self-signed", tls={"insecure_skip_verify": True})
    assert (result.success, result.status_code, result.redirects) == (True, 200, 1), result.message
    assert probe(f"{nginx.urls['http']}/to-self-signed").reason == "tls"


def test_insecure_skip_verify_still_reports_the_certificate_expiry(nginx):
    result = probe(f"{nginx.urls['self_signed']}/eproc4", tls={"insecure_skip_verify": True})
    assert result.success, result.message
    assert result.cert_expiry == pytest.approx(time.time() + 20 * DAY, abs=DAY)


# nginx compressing: `gzip_static always` sends a stored .gz copy whatever the probe accepts (with a
# Content-Length), and `gzip on` compresses as it sends (chunked) for a target whose headers ask for gzip.

LIMIT = 64 * 1024


@pytest.fixture(scope="module")
def nginx_gzip(tmp_path_factory):
    """Pages of LIMIT and LIMIT + 1 bytes, compressible and not: under /static/ with the .gz copies nginx
    sends, under /plain/ and /dynamic/ without."""
    workdir = tmp_path_factory.mktemp("nginx-gzip")
    noise = os.urandom(LIMIT + 1)  # what gzip cannot shrink: its copy is larger than the page
    for directory in ("static", "plain"):
        (workdir / "pages" / directory).mkdir(parents=True)
    for size in (LIMIT, LIMIT + 1):
        for name, text in (("text", b"<p>Daftar paket lelang.</p>" * (size // 27 + 1)), ("noise", noise)):
            (workdir / "pages" / "static" / f"{name}-{size}.gz").write_bytes(gzip.compress(text[:size]))
            (workdir / "pages" / "plain" / f"{name}-{size}").write_bytes(text[:size])
    port = free_port()
    server = Nginx(workdir, f"""
    server {{
        listen 127.0.0.1:{port};
        root {workdir}/pages;
        default_type text/html;
        location /static/ {{ gzip_static always; }}
        location /dynamic/ {{ alias {workdir}/pages/plain/; gzip on; gzip_min_length 0; }}
    }}""", free_port())
    try:
        server.wait_ready()
        server.pages_url = f"http://127.0.0.1:{port}"
        yield server
    finally:
        server.stop()


@pytest.mark.parametrize("path", ["static/text", "static/noise", "plain/text", "plain/noise", "dynamic/text",
                                  "dynamic/noise"])
def test_body_size_limit_is_the_same_for_compressed_and_plain_pages(nginx_gzip, path):
    """A page of exactly body_size_limit passes and one byte more fails, whether or not nginx compresses it."""
    settings = {"body_size_limit": LIMIT, "headers": {"Accept-Encoding": "gzip"} if "dynamic" in path else {}}
    at_limit = probe(f"{nginx_gzip.pages_url}/{path}-{LIMIT}", **settings)
    assert at_limit.success, at_limit.message
    assert at_limit.response_size != LIMIT if "plain" not in path else at_limit.response_size == LIMIT
    over = probe(f"{nginx_gzip.pages_url}/{path}-{LIMIT + 1}", **settings)
    assert (over.success, over.reason) == (False, "protocol")
    assert f"body_size_limit ({LIMIT} bytes)" in over.message


# dnsmasq: dns:// upstream checks against a real resolver.

@pytest.fixture(scope="module")
def dnsmasq(tmp_path_factory):
    blackhole = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # bound, never read: no answer, no ICMP
    blackhole.bind(("127.0.0.1", 0))
    server = Dnsmasq(tmp_path_factory.mktemp("dnsmasq"), {"lpse.test": "127.0.0.1"}, free_port(),
                     extra=(f"--server=/blackhole.test/127.0.0.1#{blackhole.getsockname()[1]}",))
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()
        blackhole.close()


@pytest.mark.parametrize("query, success, reason", [
    ("lpse.test", True, ""),
    ("missing.test", False, "rcode"),  # NXDOMAIN
    ("lpse.test?type=AAAA", False, "no_answer"),  # the name exists, with no IPv6 address
    ("spse.blackhole.test", False, "timeout"),  # forwarded upstream, which never answers
])
def test_dns_checks_against_dnsmasq(dnsmasq, query, success, reason):
    result = asyncio.run(run_check(parse_check(f"dns://{dnsmasq.address}/{query}"), 1.0))
    assert (result.success, result.reason) == (success, reason), result.message


# The exporter's own process, in a namespace whose /etc/resolv.conf names a dnsmasq that resolves the
# SPSE site and forwards another zone to a resolver that never answers.

NETNS_UNAVAILABLE = netns.unavailable()
BLACKHOLED_CHECKS = ["tcp://gw.blackhole.test:443", "dns://ns.blackhole.test/lpse.test", "ntp://ntp.blackhole.test",
                     "http://www.blackhole.test/"]


def failure_reasons(samples, metric: str, **labels) -> set[str]:
    """The reasons of the failures counted for the series with `labels`."""
    return {dict(series)["reason"] for series, count in samples.series(metric).items()
            if count and labels.items() <= dict(series).items()}


@pytest.mark.skipif(bool(NETNS_UNAVAILABLE), reason=NETNS_UNAVAILABLE)
def test_a_silent_resolver_reads_as_dns_for_every_probe(tmp_path):
    namespace = netns.Namespace(f"spse-resolv-{os.getpid()}")
    etc = Path("/etc/netns") / namespace.name  # `ip netns exec` bind-mounts its files over /etc
    processes = []
    blackhole = namespace.call(lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
    try:
        etc.mkdir(parents=True)
        (etc / "resolv.conf").write_text("nameserver 127.0.0.1\noptions timeout:1 attempts:1\n")
        wrapper = ["ip", "netns", "exec", namespace.name]
        namespace.call(blackhole.bind, ("127.0.0.2", 5353))
        resolver = Dnsmasq(tmp_path / "dnsmasq", {"lpse.test": "127.0.0.1"}, 53, wrapper=wrapper,
                           extra=("--server=/blackhole.test/127.0.0.2#5353",))
        processes.append(resolver)
        namespace.call(resolver.wait_ready)
        port = free_port()
        web = Nginx(tmp_path / "nginx", f"server {{ listen 127.0.0.1:{port}; {site()} }}", free_port(),
                    wrapper=wrapper)
        processes.append(web)
        namespace.call(web.wait_ready)
        config = tmp_path / "spse.yml"
        config.write_text(f"""
interval: 2s
timeout: 500ms
targets:
  - {{name: lpse, url: "http://lpse.test:{port}/eproc4"}}
  - {{name: dark, url: "http://lpse.blackhole.test/eproc4"}}
clock: {{servers: [ntp.blackhole.test]}}
upstream:
  national: {[*BLACKHOLED_CHECKS, f"http://lpse.test:{port}/eproc4"]}
""")
        exporter = ExporterProcess(config, wrapper=wrapper)
        processes.append(exporter)
        namespace.call(exporter.wait_ready)

        def every_blackholed_probe_failed():
            samples = namespace.call(exporter.scrape)
            failed = [failure_reasons(samples, "spse_http_probe_failures_total", target="dark"),
                      failure_reasons(samples, "spse_ntp_probe_failures_total", server="ntp.blackhole.test"),
                      *(failure_reasons(samples, "spse_upstream_probe_failures_total", check=check)
                        for check in BLACKHOLED_CHECKS)]
            return (samples, failed) if all(failed) else None
        samples, failed = poll(every_blackholed_probe_failed, 15, what="every probe of a blackholed name failing")
        assert failed == [{"dns"}] * len(failed)  # HTTP target, time source, tcp, dns, ntp and http checks
        assert samples.get_value("spse_http_probe_success", target="lpse") == 1  # resolved by dnsmasq
        assert samples.get_value("spse_upstream_probe_success", group="national",
                                 check=f"http://lpse.test:{port}/eproc4") == 1
    finally:
        for process in reversed(processes):
            process.stop()
        blackhole.close()
        namespace.delete()
        for path in etc.glob("*"):
            path.unlink()
        if etc.exists():
            etc.rmdir()
