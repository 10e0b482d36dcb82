"""The probes' httpx transport against a real fake SPSE site on 127.0.0.1: steps, errors and limits."""

from __future__ import annotations

import asyncio
import ssl

import httpx
import pytest

from exporter.probes.transport import FreshConnectionTransport
from tests.conftest import server_context
from tests.fakes import SPSE_PAGE, FakeSPSE, free_port

TIMEOUTS = httpx.Timeout(2.0).as_dict()


def fetch(url: str, ssl_context: ssl.SSLContext | None = None, timeouts: dict = TIMEOUTS,
          **extensions) -> tuple[httpx.Response, bytes, list[str]]:
    """GET `url` through the transport; return the response, its body and the trace events."""
    events: list[str] = []

    async def trace(event: str, info: dict) -> None:
        events.append(event)

    async def go() -> tuple[httpx.Response, bytes]:
        transport = FreshConnectionTransport(ssl_context or ssl.create_default_context())
        request = httpx.Request("GET", url, extensions={"timeout": timeouts, "trace": trace, **extensions})
        response = await transport.handle_async_request(request)
        try:
            return response, b"".join([chunk async for chunk in response.aiter_raw()])
        finally:
            await response.aclose()

    return (*asyncio.run(go()), events)


@pytest.fixture
def client_tls(ca_file) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(ca_file))


def test_tls_request_reports_its_steps_in_order(spse_tls, client_tls):
    response, body, events = fetch(spse_tls.url, client_tls)
    assert (response.status_code, body) == (200, SPSE_PAGE.encode())
    assert events == [
        "connection.connect_tcp.started", "connection.connect_tcp.complete",
        "connection.start_tls.started", "connection.start_tls.complete",
        "http11.send_request.started", "http11.send_request.complete",
        "http11.receive_response_headers.started", "http11.receive_response_headers.complete",
    ]
    ssl_object = response.extensions["network_stream"].get_extra_info("ssl_object")
    assert ssl_object.getpeercert()["subjectAltName"]


def test_plain_request_skips_tls_and_sends_the_callers_headers(spse):
    response, body, events = fetch(spse.url)
    assert response.status_code == 200 and len(body) == len(SPSE_PAGE)
    assert not any("start_tls" in event for event in events)
    assert spse.last_headers["Host"] == f"127.0.0.1:{spse.port}"


def test_every_request_has_its_own_connection(spse):
    for _ in range(3):
        fetch(spse.url)
    assert spse.connections == 3


def test_interim_1xx_answers_are_skipped(spse):
    spse.set("informational")
    response, body, _ = fetch(spse.url)
    assert response.status_code == 200 and body == SPSE_PAGE.encode()


def test_http10_body_ends_at_the_close(spse):
    spse.set("http10")
    response, body, _ = fetch(spse.url)
    assert response.status_code == 200 and body == SPSE_PAGE.encode()


def test_header_block_over_the_limit_is_refused(spse):
    spse.set("huge_headers")
    with pytest.raises(httpx.RemoteProtocolError):
        fetch(spse.url)


def test_reset_inside_the_headers_is_an_error(spse):
    spse.set("reset")
    with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
        fetch(spse.url)


def test_close_without_an_answer_says_so(spse):
    spse.set("close")
    with pytest.raises(httpx.RemoteProtocolError, match="^connection closed by the server without a response$"):
        fetch(spse.url)


def test_silent_server_raises_read_timeout(spse):
    spse.set("hang")
    with pytest.raises(httpx.ReadTimeout):
        fetch(spse.url, timeouts=httpx.Timeout(0.3).as_dict())


def test_refused_connection_raises_connect_error():
    with pytest.raises(httpx.ConnectError):
        fetch(f"http://127.0.0.1:{free_port()}/eproc4")


def test_sni_hostname_picks_the_name_the_certificate_is_checked_against(ca, client_tls):
    fake = FakeSPSE(tls=server_context(ca, "lpse.contoh.example"))
    try:
        with pytest.raises(httpx.ConnectError) as failure:
            fetch(fake.url, client_tls)
        assert isinstance(failure.value.__cause__, ssl.SSLCertVerificationError)
        response, _, _ = fetch(fake.url, client_tls, sni_hostname="lpse.contoh.example")
        assert response.status_code == 200
    finally:
        fake.close()
