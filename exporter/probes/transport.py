"""httpx transport for probes: every request on a new HTTP/1.1 connection over plain asyncio.

A probe never reuses a connection. httpx's default transport (httpcore) pools connections and
takes anyio locks and cancel scopes at every step, which cost about a third of a probe's CPU
(docs/benchmarks.md). This one speaks HTTP/1.1 with h11, the protocol library httpcore itself
uses, and reports its steps through httpx's `trace` extension, with event names in httpcore's style.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import h11
import httpx

READ_SIZE = 64 * 1024
MAX_HEAD_BYTES = 100 * 1024  # a longer status line and header block is refused (httpcore's limit)
DEFAULT_PORTS = {"http": 80, "https": 443}
NO_RESPONSE = "connection closed by the server without a response"
Trace = Callable[[str, dict], Awaitable[None]]


@contextlib.contextmanager
def _as_httpx_errors(timeout_error: type[httpx.TimeoutException],
                     network_error: type[httpx.NetworkError]) -> Iterator[None]:
    """Raise socket, TLS and HTTP syntax failures as the httpx errors a transport must raise."""
    try:
        yield
    except TimeoutError as err:
        raise timeout_error("timed out") from err
    except h11.RemoteProtocolError as err:
        raise httpx.RemoteProtocolError(str(err)) from err
    except h11.LocalProtocolError as err:
        raise httpx.LocalProtocolError(str(err)) from err
    except (OSError, EOFError) as err:  # ssl.SSLError is an OSError
        raise network_error(str(err) or type(err).__name__) from err


async def _no_trace(event: str, info: dict) -> None:
    """Stands in when the request has no `trace` extension."""


class _Exchange(httpx.AsyncByteStream):
    """One request and its response on one connection; as a byte stream, the response body."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, read_timeout: float | None):
        self._reader, self._writer, self._read_timeout = reader, writer, read_timeout
        self._h11 = h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_HEAD_BYTES)

    async def send(self, request: httpx.Request, write_timeout: float | None) -> None:
        """Send a request without a body (probes send GET and HEAD; h11 refuses a declared body)."""
        with _as_httpx_errors(httpx.WriteTimeout, httpx.WriteError):
            head = h11.Request(method=request.method, target=request.url.raw_path, headers=request.headers.raw)
            self._writer.write(self._h11.send(head) + self._h11.send(h11.EndOfMessage()))
            async with asyncio.timeout(write_timeout):
                await self._writer.drain()

    async def _next_event(self) -> h11.Event | type[h11.PAUSED]:
        while True:
            event = self._h11.next_event()
            if event is not h11.NEED_DATA:
                return event
            async with asyncio.timeout(self._read_timeout):
                data = await self._reader.read(READ_SIZE)
            if not data and self._h11.their_state is h11.SEND_RESPONSE:
                raise httpx.RemoteProtocolError(NO_RESPONSE)  # h11 would name its state machine instead
            self._h11.receive_data(data)  # b"" at the peer's close: h11 judges whether that is an end

    async def response(self) -> h11.Response:
        """Status line and headers, after any 1xx informational answers."""
        with _as_httpx_errors(httpx.ReadTimeout, httpx.ReadError):
            while True:
                event = await self._next_event()
                if isinstance(event, h11.Response):
                    return event

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _as_httpx_errors(httpx.ReadTimeout, httpx.ReadError):
            while True:
                event = await self._next_event()
                if isinstance(event, h11.Data):
                    yield bytes(event.data)
                elif isinstance(event, h11.EndOfMessage):
                    return
                elif isinstance(event, h11.ConnectionClosed):
                    raise httpx.RemoteProtocolError("server closed the connection inside the body")

    async def aclose(self) -> None:
        # No TLS close_notify exchange: the probe is done with the peer and must not wait on it.
        self._writer.transport.abort()


class FreshConnectionTransport(httpx.AsyncBaseTransport):
    """Sends each request on a new connection, closed with its response; never pools, never retries.

    Request extensions honoured: `timeout` (set by the client), `trace`, `sni_hostname` and `address`
    (the address to connect to, resolved by the caller; the URL's host otherwise).
    The response's `network_stream` extension answers get_extra_info("ssl_object").
    """

    def __init__(self, ssl_context: ssl.SSLContext | None):
        self._ssl_context = ssl_context  # None only where every request is http://

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url, extensions = request.url, request.extensions
        timeouts: dict[str, float | None] = extensions.get("timeout", {})
        trace: Trace = extensions.get("trace") or _no_trace
        await trace("connection.connect_tcp.started", {})
        with _as_httpx_errors(httpx.ConnectTimeout, httpx.ConnectError):
            async with asyncio.timeout(timeouts.get("connect")):
                reader, writer = await asyncio.open_connection(extensions.get("address") or url.host,
                                                               url.port or DEFAULT_PORTS[url.scheme])
        try:
            await trace("connection.connect_tcp.complete", {})
            if url.scheme == "https":
                await trace("connection.start_tls.started", {})
                with _as_httpx_errors(httpx.ConnectTimeout, httpx.ConnectError):
                    async with asyncio.timeout(timeouts.get("connect")):
                        await writer.start_tls(self._ssl_context,
                                               server_hostname=extensions.get("sni_hostname") or url.host)
                await trace("connection.start_tls.complete", {})
            exchange = _Exchange(reader, writer, timeouts.get("read"))
            await trace("http11.send_request.started", {})
            await exchange.send(request, timeouts.get("write"))
            await trace("http11.send_request.complete", {})
            await trace("http11.receive_response_headers.started", {})
            head = await exchange.response()
            await trace("http11.receive_response_headers.complete", {})
        except BaseException:
            writer.transport.abort()
            raise
        return httpx.Response(
            status_code=head.status_code, headers=head.headers.raw_items(), stream=exchange,
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": head.reason, "network_stream": writer},
        )
