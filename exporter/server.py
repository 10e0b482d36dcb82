"""The exporter's HTTP endpoints, served by aiohttp on the exporter's own event loop.

The server never probes anything: `/metrics` joins already-rendered results, so it answers in
milliseconds whatever the targets do. No endpoint takes a target from the request
(blackbox_exporter's `/probe?target=` is an SSRF vector), and none reads a request body.
aiohttp parses requests (llhttp, or its pure-Python parser with the same rules); `_strict` adds
what the endpoints need beyond HTTP/1.1 itself.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import gzip
import html
import json
import logging
import socket
import ssl
import struct
from dataclasses import dataclass
from typing import Awaitable, Callable, Iterator

from aiohttp import web

from exporter import __version__, runbook
from exporter.exposition import CONTENT_TYPE

log = logging.getLogger("spse_exporter.server")

# Connections beyond this are closed as they are accepted, TLS ones before their handshake; the kernel
# queues BACKLOG more.
MAX_CONNECTIONS = 1024
BACKLOG = 512
# A request must have fully arrived this long after its connection was accepted (its TLS handshake
# included) or the previous answer left, however slowly its bytes trickle in; its answer must have
# left this long after it was ready, however slowly the client reads. Shorter than
# Prometheus' 15 s interval, so an idle kept-alive connection is closed well before the next scrape.
REQUEST_DEADLINE = 10.0
# Closing a TLS connection waits this long for the client's close_notify (asyncio's default, 30 s, would let a
# client that never answers it hold its place under the cap three times as long as an idle one).
TLS_CLOSE_TIMEOUT = 1.0
# After a failed accept (out of file descriptors), accepting waits this long for some to close.
ACCEPT_RETRY = 1.0
MAX_HEADERS = 100
# Bytes a connection may send before its next request has arrived: request heads (pipelined ones too; no
# endpoint takes a body). A Prometheus request is about 300; more is closed without an answer.
MAX_HEAD_BYTES = 32 * 1024
# Answers go out in pieces of this size, each once the client has taken the ones before.
SEND_CHUNK = 64 * 1024
# Threads that build /metrics, /probes and /runbook; more scrapes at once wait for one.
PAGE_BUILDERS = concurrent.futures.ThreadPoolExecutor(2, thread_name_prefix="pages")
PAGE_SLICE = 0.005  # seconds of building /metrics on the loop before the probes get a turn


@dataclass
class App:
    """What the endpoints need from the rest of the exporter."""

    render_metrics: Callable[[], bytes]
    is_ready: Callable[[], bool]
    reload: Callable[[], Awaitable[str | None]]  # an error message, or None on success
    last_results: Callable[[], dict]
    # Given the Authorization header (or ""), whether the request may go on; None: no auth.
    authorize: Callable[[str], Awaitable[bool]] | None = None
    lifecycle: bool = False  # --web.enable-lifecycle: POST /-/reload allowed
    # The page gzip-compressed as it is built, chunk by chunk (Exposition.gzip_chunks); None: render_metrics' page
    # compressed.
    metrics_gzip_chunks: Callable[[], Iterator[bytes]] | None = None
    refresh: Callable[[], None] | None = None  # before each /metrics: may block (reads Alertmanager's status)


LANDING = """<!doctype html>
<html><head><meta charset="utf-8"><title>SPSE exporter</title></head>
<body><h1>SPSE exporter {version}</h1>
<p>Watches SPSE sites, their time sources and their upstream network.
Probes run on their own schedule; this page and /metrics only read their last results.</p>
<ul>
<li><a href="metrics">/metrics</a> - Prometheus metrics</li>
<li><a href="probes">/probes</a> - last result of every configured probe (JSON)</li>
<li><a href="runbook">/runbook</a> - what to do for each alert (the runbook the alerts link to)</li>
<li><a href="-/healthy">/-/healthy</a> - process is up</li>
<li><a href="-/ready">/-/ready</a> - first probe round finished</li>
<li>POST /-/reload - reload the config file (with --web.enable-lifecycle; SIGHUP always does)</li>
</ul></body></html>
"""


def text(status: int, body: str, **headers: str) -> web.Response:
    return web.Response(status=status, body=body.encode(), content_type="text/plain", charset="utf-8",
                        headers=headers)


async def landing(app: App, request: web.Request) -> web.Response:
    return web.Response(body=LANDING.format(version=html.escape(__version__)).encode(),
                        content_type="text/html", charset="utf-8")


async def _in_thread(function: Callable, *args):
    """Build a page in a thread: the probes share this loop, and a page of megabytes takes tens of
    milliseconds (zlib lets go of the GIL; the other steps at least share it). Not in the default
    executor: the probes' getaddrinfo runs there, and a flood of scrapes must not queue ahead of it."""
    return await asyncio.get_running_loop().run_in_executor(PAGE_BUILDERS, function, *args)


async def _joined_on_the_loop(chunks: Iterator[bytes]) -> bytes:
    """Build a page on the loop, letting the probes run every PAGE_SLICE seconds of it. In a thread it waits on
    the GIL at every chunk while the loop runs probes, and handing over at every chunk is as slow: /metrics p99
    at 1,000 targets 41-48 ms both ways against 21-27 ms built in one go (docs/benchmarks.md)."""
    loop = asyncio.get_running_loop()
    out, handed_over = [], loop.time()
    for chunk in chunks:
        out.append(chunk)
        if loop.time() - handed_over >= PAGE_SLICE:
            await asyncio.sleep(0)
            handed_over = loop.time()
    return b"".join(out)


async def metrics(app: App, request: web.Request) -> web.Response:
    gzipped = "gzip" in request.headers.get("Accept-Encoding", "")
    if app.refresh:
        await _in_thread(app.refresh)
    if gzipped and app.metrics_gzip_chunks:  # what Prometheus asks for
        body = await _joined_on_the_loop(app.metrics_gzip_chunks())
    else:
        body = await _in_thread(_metrics_body, app.render_metrics, gzipped)
    headers = {"Content-Type": CONTENT_TYPE, **({"Content-Encoding": "gzip"} if gzipped else {})}
    return web.Response(body=body, headers=headers)


def _metrics_body(render_metrics: Callable[[], bytes], gzipped: bool) -> bytes:
    body = render_metrics()
    return gzip.compress(body, compresslevel=1) if gzipped else body


def _probes_body(last_results: Callable[[], dict]) -> bytes:
    return json.dumps(last_results(), indent=1, sort_keys=True, default=str).encode()


async def probes(app: App, request: web.Request) -> web.Response:
    return web.Response(body=await _in_thread(_probes_body, app.last_results), content_type="application/json")


async def runbook_page(app: App, request: web.Request) -> web.Response:
    # Rendered from Markdown on the first request only, but that takes about 0.1 s.
    return web.Response(body=await _in_thread(runbook.page), content_type="text/html", charset="utf-8")


async def healthy(app: App, request: web.Request) -> web.Response:
    return text(200, "Healthy.\n")


async def ready(app: App, request: web.Request) -> web.Response:
    if app.is_ready():
        return text(200, "Ready.\n")
    return text(503, "Not ready: the first probe round has not finished.\n")


async def reload(app: App, request: web.Request) -> web.Response:
    if not app.lifecycle:
        return text(403, "Reload over HTTP is disabled: start the exporter with --web.enable-lifecycle "
                         "(SIGHUP always reloads).\n")
    error = await app.reload()
    if error:
        return text(500, f"failed to reload config: {error}\n")
    return text(200, "Config reloaded.\n")


# One line per endpoint: path -> (methods, handler(app, request)). GET also answers HEAD.
ROUTES = {
    "/": (("GET",), landing),
    "/metrics": (("GET",), metrics),
    "/probes": (("GET",), probes),
    "/runbook": (("GET",), runbook_page),
    "/-/healthy": (("GET",), healthy),
    "/-/ready": (("GET",), ready),
    "/-/reload": (("POST", "PUT"), reload),
}


def _strict(app: App):
    @web.middleware
    async def middleware(request: web.Request, handler) -> web.StreamResponse:
        request.protocol.request_arrived()
        # No endpoint reads a body, so none may come: an unread body on a kept-alive connection is
        # where a hidden request would wait. aiohttp already refuses chunked with a length.
        if "Transfer-Encoding" in request.headers or request.body_exists:
            response = text(400, "request bodies and Transfer-Encoding are not accepted\n")
            response.force_close()
            return response
        if app.authorize is not None and not await app.authorize(request.headers.get("Authorization", "")):
            return text(401, "Unauthorized\n", **{"WWW-Authenticate": 'Basic realm="spse-exporter"'})
        try:
            response = await handler(request)
        except web.HTTPException as err:  # the router's 404 and 405 (with Allow)
            allow = {"Allow": err.headers["Allow"]} if "Allow" in err.headers else {}
            response = text(err.status, f"{err.status} {err.reason}\n", **allow)
        except Exception:
            log.exception("error serving %s %s", request.method, request.path)
            response = text(500, "internal error\n")
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Server"] = f"spse-exporter/{__version__}"
        return await _send(request, response)
    return middleware


async def _send(request: web.Request, page: web.Response) -> web.StreamResponse:
    """Send an answer here rather than leave it to aiohttp, to bound it: in pieces that each wait for the
    client to take the one before, all within REQUEST_DEADLINE. In one piece, asyncio would hold a whole
    page for a client that stops reading (a zero TCP window), TLS ones past any flow control, for good."""
    response = web.StreamResponse(status=page.status, headers=page.headers)
    response.content_length = len(page.body)
    try:
        async with asyncio.timeout(REQUEST_DEADLINE):
            await response.prepare(request)
            if request.method != "HEAD":
                body = memoryview(page.body)
                for start in range(0, len(body), SEND_CHUNK):
                    await response.write(body[start:start + SEND_CHUNK])
            await response.write_eof()
    except TimeoutError:
        log.debug("%s %s: the answer was not read within %.0fs", request.method, request.path, REQUEST_DEADLINE)
        if request.transport is not None:  # reset: a closed socket would go on trying to deliver the page
            linger = struct.pack("ii", 1, 0)
            request.transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
            request.transport.abort()
    return response


def build(app: App) -> web.Application:
    web_app = web.Application(middlewares=[_strict(app)])
    for path, (methods, handler) in ROUTES.items():
        for method in methods:
            if method == "GET":
                web_app.router.add_get(path, functools.partial(handler, app))  # and HEAD
            else:
                web_app.router.add_route(method, path, functools.partial(handler, app))
    return web_app


class _PeerErrors(logging.LoggerAdapter):
    """aiohttp logs a malformed request as an error with a traceback: the peer's fault, so debug.
    Errors of the exporter's own handlers are logged by `_strict`."""

    def log(self, level, msg, *args, **kwargs):
        kwargs.pop("exc_info", None)
        super().log(logging.DEBUG, msg, *args, **kwargs)


# aiohttp's options for each connection. lingering_time=0: a refused body is not read on for seconds after
# the answer.
HANDLER_OPTIONS = {"access_log": None, "lingering_time": 0, "max_headers": MAX_HEADERS, "logger": _PeerErrors(log, {})}


class _Handler(web.RequestHandler):
    """aiohttp's handler of one connection, bounding what it may send before its next request has arrived.
    aiohttp bounds each header line (8 KiB) and their number (100), not their sum: 98 lines of 8 KB on each
    of 200 connections took 307 MiB."""

    __slots__ = ("unanswered", "first_request_due")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.unanswered = 0  # bytes received since the last request arrived
        self.first_request_due: asyncio.TimerHandle | None = None

    def data_received(self, data: bytes) -> None:
        self.unanswered += len(data)
        if self.unanswered > MAX_HEAD_BYTES:  # closed before aiohttp buffers any of it
            self.force_close()
        else:
            super().data_received(data)

    def request_arrived(self) -> None:
        self.unanswered = 0
        if self.first_request_due is not None:
            self.first_request_due.cancel()
            self.first_request_due = None


class Connections:
    """Accepts connections and hands them to aiohttp, counting each from accept to close. With asyncio's
    create_server a TLS connection would reach aiohttp, which counts connections and times their first
    request, only once its handshake was done: silent handshakes would hold sockets beyond the cap."""

    def __init__(self, ssl_context: ssl.SSLContext | None):
        self.ssl_context = ssl_context
        self.opening: dict[_Handler, asyncio.Task] = {}  # accepted, not yet through their TLS handshake

    def start(self, sock: socket.socket, handlers: web.Server) -> None:
        self.sock, self.handlers = sock, handlers
        self.new_handler = functools.partial(_Handler, handlers, loop=asyncio.get_running_loop(),
                                             keepalive_timeout=REQUEST_DEADLINE, **HANDLER_OPTIONS)
        self.accepting = asyncio.create_task(self._accept(), name="accept")

    def __len__(self) -> int:
        # A handler is in both for a moment after its connection_made: counted once.
        return len(self.opening.keys() | set(self.handlers.connections))

    async def _accept(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                connection, _ = await loop.sock_accept(self.sock)
            except OSError as err:
                log.warning("cannot accept connections for %.0fs: %s", ACCEPT_RETRY, err)
                await asyncio.sleep(ACCEPT_RETRY)
                continue
            if len(self) >= MAX_CONNECTIONS:
                connection.close()
                continue
            handler = self.new_handler()
            self.opening[handler] = asyncio.create_task(self._open(handler, connection))

    async def _open(self, handler: _Handler, connection: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        due = loop.time() + REQUEST_DEADLINE
        try:
            await loop.connect_accepted_socket(
                lambda: handler, connection, ssl=self.ssl_context,
                ssl_handshake_timeout=REQUEST_DEADLINE if self.ssl_context else None,
                ssl_shutdown_timeout=TLS_CLOSE_TIMEOUT if self.ssl_context else None)
        except OSError as err:  # a failed or timed-out TLS handshake; asyncio has closed the connection
            log.debug("connection closed before its handshake was done: %s", err)
            return
        finally:
            del self.opening[handler]
        if self.ssl_context:  # aiohttp's deadline starts now: the first request gets only what is left of ours
            handler.first_request_due = loop.call_at(due, handler.force_close)

    async def close(self) -> None:
        self.accepting.cancel()
        opening = list(self.opening.values())
        for task in opening:
            task.cancel()
        await asyncio.gather(self.accepting, *opening, return_exceptions=True)
        self.sock.close()


@dataclass
class Server:
    runner: web.AppRunner
    connections: Connections

    @property
    def address(self) -> tuple[str, int]:
        return self.connections.sock.getsockname()[:2]

    async def close(self) -> None:
        await self.connections.close()
        await self.runner.cleanup()


async def serve(host: str, port: int, app: App, ssl_context: ssl.SSLContext | None = None) -> Server:
    """Bind and serve on the running loop; raises OSError if the address is unusable."""
    connections = Connections(ssl_context)
    runner = web.AppRunner(build(app))
    await runner.setup()
    try:
        sock = socket.create_server((host, port), family=socket.AF_INET6 if ":" in host else socket.AF_INET,
                                    backlog=BACKLOG)
    except OSError:
        await runner.cleanup()
        raise
    sock.setblocking(False)
    connections.start(sock, runner.server)
    return Server(runner, connections)
