"""The SPSE HTTP probe against a real fake SPSE site on 127.0.0.1 (plain and TLS)."""

from __future__ import annotations

import asyncio
import gzip
import os
import re
import socket
import sys
import time
import zlib

import hypothesis
import hypothesis.strategies as st
import pytest
import yaml

from exporter.config import Target, parse_config
from exporter.logs import JsonFormatter, LogfmtFormatter
from exporter.probes import http
from exporter.probes.http import FOLDS_TO_ASCII, ascii_phrase, body_matches, lowered_for_phrases, probe_http
from tests.conftest import server_context
from tests.fakes import FakeSPSE

SPSE_ERROR = "terjadi error pada aplikasi SPSE"


def make_target(url: str, **settings) -> Target:
    settings.setdefault("timeout", "1s")
    config = {"interval": "5s", "targets": [{"name": "site", "url": url, **settings}]}
    return parse_config(yaml.safe_dump(config)).targets[0]


def probe(url: str, **settings):
    return asyncio.run(probe_http(make_target(url, **settings)))


def test_healthy_site(spse):
    result = probe(spse.url, fail_if_body_matches=[SPSE_ERROR])
    assert result.success and result.reason == "" and result.status_code == 200
    assert result.response_size > 10_000 and result.ip_version == 4 and result.redirects == 0
    assert result.phases["connect"] > 0 and result.phases["processing"] > 0 and result.phases["tls"] == 0
    assert result.cert_expiry is None


@pytest.mark.parametrize("status", [504, 503, 500])
def test_server_errors_fail_with_http_status(spse, status):
    spse.set("status", status=status)
    result = probe(spse.url)
    assert (result.success, result.reason, result.status_code) == (False, "http_status", status)


def test_spse_error_page_served_with_200_fails_body_match(spse):
    spse.set("error_page")
    result = probe(spse.url, fail_if_body_matches=[SPSE_ERROR])
    assert (result.success, result.reason, result.status_code) == (False, "body_match", 200)
    assert SPSE_ERROR in result.message


def test_fail_if_body_not_matches(spse):
    assert probe(spse.url, fail_if_body_not_matches=["Pengadaan Secara Elektronik"]).success
    result = probe(spse.url, fail_if_body_not_matches=["this text is not on the page"])
    assert (result.success, result.reason) == (False, "body_match")


def test_valid_status_codes_list(spse):
    spse.set("status", status=503)
    assert probe(spse.url, valid_status_codes=[200, 503]).success


@pytest.mark.parametrize("mode", ["hang", "slow"])
def test_slow_or_silent_site_ends_at_the_deadline_as_timeout(spse, mode):
    spse.set(mode if mode == "hang" else "ok", delay=5.0 if mode == "slow" else 0.0)
    began = time.monotonic()
    result = probe(spse.url, timeout="500ms")
    elapsed = time.monotonic() - began
    assert (result.success, result.reason, result.status_code) == (False, "timeout", 0)
    assert 0.45 <= elapsed < 2.0, elapsed


def test_skewed_date_header_is_measured(spse):
    spse.set("ok", date_skew=-120.0)
    result = probe(spse.url)
    assert result.success
    assert result.date_offset == pytest.approx(-120.0, abs=1.0)


def test_redirect_is_followed_and_counted(spse):
    spse.set("redirect")
    result = probe(spse.url)
    assert result.success and result.redirects == 1 and result.url.endswith("/eproc4/home")


def test_cookies_set_before_a_redirect_go_with_the_next_hop(spse):
    spse.set("cookie_redirect")
    result = probe(spse.url)
    assert (result.success, result.status_code, result.redirects) == (True, 200, 1), result.message
    assert spse.last_headers["Cookie"] == "SPSE_SESSION=abc123"


def test_cookies_do_not_outlive_the_probe(spse):
    target = make_target(spse.url)
    spse.set("cookie_redirect")
    asyncio.run(probe_http(target))
    spse.set("ok")
    asyncio.run(probe_http(target))
    assert "Cookie" not in spse.last_headers


def test_redirect_loop_fails_as_protocol(spse):
    spse.set("redirect_loop")
    result = probe(spse.url, max_redirects=3)
    assert (result.success, result.reason, result.redirects) == (False, "protocol", 3)


# Credentials a config may carry: a token in the URL's query, an API key and a bearer token in headers.
QUERY_TOKEN, API_KEY, BEARER = "q-7f3a9c2e41", "k-5b8d0e6f93", "b-c4e1a7d259"
CREDENTIALS = {"headers": {"X-Api-Key": API_KEY, "Authorization": f"Bearer {BEARER}"}}


def test_an_unexpected_error_quoting_the_request_logs_no_secret_of_the_config(spse, monkeypatch, caplog):
    """A bug whose exception quotes the request (URL with the query's token, the headers): the log keeps the
    exception's type and where it was raised, in both log formats, and none of the config's credentials."""
    def buggy(response, wall_time):
        raise RuntimeError(f"cannot read the Date of {response.request.url}: {dict(response.request.headers)}")
    monkeypatch.setattr(http, "_date_offset", buggy)

    result = probe(f"{spse.url}?session={QUERY_TOKEN}", **CREDENTIALS)

    assert (result.reason, result.status_code) == ("protocol", 200)
    assert result.message.startswith('unexpected error: RuntimeError("cannot read the Date of http://127.0.0.1:')
    logged = "".join(formatter.format(record) for record in caplog.records
                     for formatter in (LogfmtFormatter(), JsonFormatter()))
    assert "RuntimeError: cannot read the Date of" in logged and ", in send" in logged and ", in buggy" in logged
    assert "<hidden>" in logged
    for secret in (QUERY_TOKEN, API_KEY, BEARER):
        assert secret not in logged and secret not in result.message


def test_a_redirect_loop_on_a_url_with_a_token_does_not_quote_it(spse):
    """The server sends the probe back to the same URL, token and all: the message (logged while the probe
    fails) says so without the token."""
    spse.set("redirect_loop")
    result = probe(f"{spse.url}?session={QUERY_TOKEN}", max_redirects=2, **CREDENTIALS)
    assert (result.reason, result.message) == ("protocol", f"more than 2 redirects (last to {spse.url}?<hidden>)")


def test_redirect_not_followed_when_max_redirects_is_zero(spse):
    spse.set("redirect")
    result = probe(spse.url, max_redirects=0)
    assert (result.success, result.reason, result.status_code) == (False, "http_status", 301)


def probe_answered_by(head: str, body: bytes = b"", **settings):
    """Probe a server on the probe's loop that answers every request with the response head `head` and `body`."""
    async def scenario():
        async def answer(reader, writer):
            await reader.readuntil(b"\r\n\r\n")
            writer.write(f"{head}\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body)
            await writer.drain()
            writer.close()
        server = await asyncio.start_server(answer, "127.0.0.1", 0)
        async with server:
            port = server.sockets[0].getsockname()[1]
            return await probe_http(make_target(f"http://127.0.0.1:{port}/eproc4", **settings))
    return asyncio.run(scenario())


@pytest.mark.parametrize("location", ["http://127.0.0.1:99999/eproc4", "http://[::1/eproc4", "", "/eproc4/a\x01b"])
def test_unusable_redirect_location_is_a_protocol_failure_not_a_crash(location, caplog):
    """A Location no URL parser accepts is the peer's fault: reason protocol, and no traceback logged every round."""
    result = probe_answered_by(f"HTTP/1.1 302 Found\r\nLocation: {location}")
    assert (result.success, result.reason, result.redirects) == (False, "protocol", 0), result.message
    assert "Location" in result.message and not caplog.records


@pytest.mark.parametrize("form", ["%a, %d %b %Y %H:%M:%S GMT", "%a %b %d %H:%M:%S %Y"])
def test_date_header_is_utc_in_every_http_date_form(form, monkeypatch):
    """RFC 9110's asctime form carries no zone and means GMT; read in the host's zone (WITA here) it put the
    server's clock 8 hours off."""
    monkeypatch.setenv("TZ", "Asia/Makassar")
    time.tzset()
    try:
        result = probe_answered_by(f"HTTP/1.1 200 OK\r\nDate: {time.strftime(form, time.gmtime())}")
    finally:
        monkeypatch.undo()
        time.tzset()
    assert result.success and result.date_offset == pytest.approx(0, abs=2.0), result.date_offset


def test_head_method_reads_no_body(spse):
    result = probe(spse.url, method="HEAD")
    assert result.success and result.response_size == 0


def test_body_size_limit(spse):
    result = probe(spse.url, body_size_limit="4KiB")
    assert (result.success, result.reason) == (False, "protocol")
    assert "body_size_limit" in result.message


def test_body_size_limit_holds_for_a_compressed_body_too():
    """A server that compresses although asked not to: the limit is on the page, not on its compressed bytes."""
    page = gzip.compress(b"<p>Daftar paket lelang.</p>" * 4000)  # 108 kB of page in 1 kB
    result = probe_answered_by("HTTP/1.1 200 OK\r\nContent-Encoding: gzip", page, body_size_limit="64KiB")
    assert (result.success, result.reason) == (False, "protocol") and "body_size_limit" in result.message, result


@pytest.mark.parametrize("encoding, encode", [("deflate", zlib.compress), ("gzip", gzip.compress), ("", bytes)])
def test_body_size_limit_is_on_the_page_whether_or_not_it_is_compressed(encoding, encode):
    """A page of exactly the limit passes and one byte more fails; random bytes compress to more than the page."""
    page = os.urandom(4097)
    head = f"HTTP/1.1 200 OK\r\nContent-Encoding: {encoding}" if encoding else "HTTP/1.1 200 OK"
    at_limit = probe_answered_by(head, encode(page[:4096]), body_size_limit=4096)
    assert at_limit.success, at_limit.message
    over = probe_answered_by(head, encode(page), body_size_limit=4096)
    assert (over.success, over.reason, over.message) == (False, "protocol", "body is larger than body_size_limit (4096 bytes)")


def test_connection_refused_is_connect(spse):
    url = spse.url
    spse.close()
    result = probe(url)
    assert (result.success, result.reason) == (False, "connect")


def test_unresolvable_host_is_dns():
    result = probe("http://no-such-host.invalid/eproc4")
    assert (result.success, result.reason) == (False, "dns")


def test_ip_protocol_falls_back_to_the_other_family(spse, monkeypatch):
    """A name with an IPv4 address only: ip6 first, then IPv4. The system resolver answers for it as for a name
    without AAAA record; "localhost" was used before, which many machines (Docker's /etc/hosts) give ::1 too."""
    real_getaddrinfo = socket.getaddrinfo

    def getaddrinfo(host, port, family=0, *args, **kwargs):
        if host != "lpse.test":
            return real_getaddrinfo(host, port, family, *args, **kwargs)
        if family == socket.AF_INET6:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port or 0))]
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    url = spse.url.replace("127.0.0.1", "lpse.test")
    result = probe(url, ip_protocol="ip6")
    assert result.success and result.ip_version == 4
    strict = probe(url, ip_protocol="ip6", ip_protocol_fallback=False)
    assert (strict.success, strict.reason) == (False, "dns")


def test_tls_short_lived_certificate_expiry_and_phases(ca, ca_file, spse_tls):
    result = probe(spse_tls.url, tls={"ca_file": str(ca_file)})
    assert result.success, result.message
    assert result.phases["tls"] > 0
    assert result.cert_expiry == pytest.approx(time.time() + 5 * 86400, abs=86400)


def test_renewed_certificate_shows_its_own_expiry(ca, ca_file):
    tls = {"ca_file": str(ca_file)}
    expiries = []
    for days in (5, 90, 5):  # the expiry per certificate is remembered: a renewal must not hide behind it
        fake = FakeSPSE(tls=server_context(ca, days=days))
        try:
            expiries.append(probe(fake.url, tls=tls).cert_expiry - time.time())
        finally:
            fake.close()
    assert [round(seconds / 86400) for seconds in expiries] == [5, 90, 5]


def test_unverified_certificate_still_reports_its_expiry(spse_tls):
    result = probe(spse_tls.url, tls={"insecure_skip_verify": True})
    assert result.success and result.cert_expiry == pytest.approx(time.time() + 5 * 86400, abs=86400)


def test_untrusted_certificate_fails_as_tls(spse_tls):
    result = probe(spse_tls.url)
    assert (result.success, result.reason) == (False, "tls")


def test_insecure_skip_verify_accepts_untrusted_certificate(spse_tls):
    assert probe(spse_tls.url, tls={"insecure_skip_verify": True}).success


def test_wrong_hostname_fails_as_tls(ca, ca_file):
    fake = FakeSPSE(tls=server_context(ca, "lpse.lain.example"))
    try:
        result = probe(fake.url, tls={"ca_file": str(ca_file)})
        assert (result.success, result.reason) == (False, "tls")
        named = probe(fake.url, tls={"ca_file": str(ca_file), "server_name": "lpse.lain.example"})
        assert named.success, named.message
    finally:
        fake.close()


def test_each_probe_opens_a_fresh_connection(spse):
    target = make_target(spse.url)

    async def twice():
        return [await probe_http(target), await probe_http(target)]

    first, second = asyncio.run(twice())
    assert first.phases["connect"] > 0 and second.phases["connect"] > 0
    assert spse.connections == 2


def test_only_these_characters_outside_ascii_match_ascii_under_ignorecase():
    """What makes body_matches' fast path exact: checked against every code point."""
    every_ascii = re.compile("(?i)(?:" + "|".join(re.escape(chr(i)) for i in range(128)) + ")")
    beyond_ascii = [chr(i) for i in range(128, sys.maxunicode + 1) if not 0xD800 <= i <= 0xDFFF]
    assert sorted(c for c in beyond_ascii if every_ascii.fullmatch(c)) == sorted(FOLDS_TO_ASCII)
    assert [c for c in beyond_ascii if len(c.lower()) != 1] == ["\u0130"]
    assert not [c for c in beyond_ascii if c not in FOLDS_TO_ASCII and any(ch.isascii() for ch in c.lower())]


PHRASE_ALPHABET = "aeiksAEIKS -"
BODY_ALPHABET = PHRASE_ALPHABET + "".join(FOLDS_TO_ASCII) + "\u03a3\u03c3\u03c2\u00e9\u0307<>"


@hypothesis.settings(max_examples=400, deadline=None)
@hypothesis.given(phrase=st.text(PHRASE_ALPHABET, min_size=1, max_size=4), body=st.text(BODY_ALPHABET, max_size=30))
def test_body_matches_answers_as_re_does(phrase, body):
    pattern = re.compile("(?i)" + phrase)
    text = body + phrase.swapcase() if len(body) % 3 == 0 else body  # a match in a third of the cases
    assert ascii_phrase(pattern) == phrase.lower()
    assert body_matches(pattern, text, lowered_for_phrases(text)) == bool(pattern.search(text))


@pytest.mark.parametrize("pattern", ["terjadi error", "(?i)terjadi.error", "(?im)terjadi", "(?i)tèrjadi"])
def test_patterns_beyond_plain_ascii_phrases_go_to_re(pattern):
    assert ascii_phrase(re.compile(pattern)) is None
