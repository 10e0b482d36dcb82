"""The exporter's HTTP endpoints, served from their own threads.

The server never probes anything: `/metrics` joins already-rendered results, so it answers
in milliseconds whatever the targets do, even while the probe loop is busy. No endpoint
takes a target from the request (blackbox_exporter's `/probe?target=` is an SSRF vector).
"""

from __future__ import annotations

import gzip
import html
import json
import logging
import socket
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable

from exporter import __version__
from exporter.exposition import CONTENT_TYPE

log = logging.getLogger("spse_exporter.server")

MAX_CONNECTIONS = 64
MAX_REQUEST_BODY = 4096
SOCKET_TIMEOUT = 10.0
# A whole request (TLS handshake, line, headers, body) must arrive within this. The socket timeout
# bounds each read only: a client trickling a byte every few seconds would hold a slot for ever.
REQUEST_DEADLINE = 15.0


class Reaper:
    """One thread that shuts down connections whose request is overdue, unblocking their reads."""

    TICK = 0.25

    def __init__(self):
        self._deadlines: dict[socket.socket, float] = {}
        self._lock = threading.Lock()
        self.stopped = threading.Event()
        threading.Thread(target=self._run, name="http-reaper", daemon=True).start()

    def watch(self, sock: socket.socket, seconds: float) -> None:
        with self._lock:
            self._deadlines[sock] = time.monotonic() + seconds

    def release(self, sock: socket.socket) -> None:
        with self._lock:
            self._deadlines.pop(sock, None)

    def _run(self) -> None:
        while not self.stopped.wait(self.TICK):
            now = time.monotonic()
            with self._lock:
                overdue = [sock for sock, deadline in self._deadlines.items() if deadline <= now]
                for sock in overdue:
                    del self._deadlines[sock]
            for sock in overdue:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass  # already closed


@dataclass
class App:
    """What the endpoints need from the rest of the exporter."""

    render_metrics: Callable[[], bytes]
    is_ready: Callable[[], bool]
    reload: Callable[[], str | None]  # returns an error message, or None on success
    last_results: Callable[[], dict]
    authorize: Callable[[BaseHTTPRequestHandler], bool] = lambda handler: True


LANDING = """<!doctype html>
<html><head><meta charset="utf-8"><title>SPSE exporter</title></head>
<body><h1>SPSE exporter {version}</h1>
<p>Watches SPSE sites, their time sources and their upstream network.
Probes run on their own schedule; this page and /metrics only read their last results.</p>
<ul>
<li><a href="metrics">/metrics</a> - Prometheus metrics</li>
<li><a href="probes">/probes</a> - last result of every configured probe (JSON)</li>
<li><a href="-/healthy">/-/healthy</a> - process is up</li>
<li><a href="-/ready">/-/ready</a> - first probe round finished</li>
<li>POST /-/reload - reload the config file (SIGHUP does the same)</li>
</ul></body></html>
"""


class Handler(BaseHTTPRequestHandler):
    server_version = f"spse-exporter/{__version__}"
    protocol_version = "HTTP/1.1"
    timeout = SOCKET_TIMEOUT
    # Headers and body go out in two writes: with Nagle on, a kept-alive scrape (Prometheus)
    # waits ~40 ms for the client's delayed ACK before the body leaves.
    disable_nagle_algorithm = True
    app: App  # set on the subclass that `serve` builds

    ROUTES = {
        "/": ("GET", "landing"),
        "/metrics": ("GET", "metrics"),
        "/probes": ("GET", "probes"),
        "/-/healthy": ("GET", "healthy"),
        "/-/ready": ("GET", "ready"),
        "/-/reload": ("POST", "reload"),
    }

    def log_message(self, format: str, *args) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    def handle_one_request(self) -> None:
        self.server.reaper.watch(self.connection, REQUEST_DEADLINE)
        try:
            super().handle_one_request()
        finally:
            self.server.reaper.release(self.connection)

    def _send(self, status: int, body: bytes, content_type: str = "text/plain; charset=utf-8",
              headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Content-Type-Options", "nosniff")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _dispatch(self) -> None:
        # Consume the body before any answer: a body left unread on a kept-alive connection would be
        # parsed as the next request, hiding one request inside another (request smuggling).
        length = self.headers.get("Content-Length", "0")
        if "Transfer-Encoding" in self.headers or not length.isdigit() or int(length) > MAX_REQUEST_BODY:
            self._send(413, b"request body too large or not length-delimited\n", headers={"Connection": "close"})
            self.close_connection = True
            return
        if int(length):
            self.rfile.read(int(length))
        self.server.reaper.release(self.connection)  # the request is in; answering it is ours to bound
        path = self.path.split("?", 1)[0]
        route = self.ROUTES.get(path)
        if route is None:
            self._send(404, b"404 page not found\n")
            return
        method, name = route
        allowed = ("GET", "HEAD") if method == "GET" else ("POST", "PUT")
        if self.command not in allowed:
            self._send(405, f"method {self.command} not allowed on {path}\n".encode(),
                       headers={"Allow": ", ".join(allowed)})
            return
        if not self.app.authorize(self):
            return
        getattr(self, f"_{name}")()

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _dispatch

    def _landing(self) -> None:
        self._send(200, LANDING.format(version=html.escape(__version__)).encode(), "text/html; charset=utf-8")

    def _metrics(self) -> None:
        body = self.app.render_metrics()
        if "gzip" in self.headers.get("Accept-Encoding", ""):
            self._send(200, gzip.compress(body, compresslevel=1), CONTENT_TYPE, {"Content-Encoding": "gzip"})
        else:
            self._send(200, body, CONTENT_TYPE)

    def _probes(self) -> None:
        body = json.dumps(self.app.last_results(), indent=1, sort_keys=True, default=str).encode()
        self._send(200, body, "application/json")

    def _healthy(self) -> None:
        self._send(200, b"Healthy.\n")

    def _ready(self) -> None:
        if self.app.is_ready():
            self._send(200, b"Ready.\n")
        else:
            self._send(503, b"Not ready: the first probe round has not finished.\n")

    def _reload(self) -> None:
        error = self.app.reload()
        if error:
            self._send(500, f"failed to reload config: {error}\n".encode())
        else:
            self._send(200, b"Config reloaded.\n")


class Server(ThreadingHTTPServer):
    """Thread per connection, with a cap so that a flood of idle sockets cannot pile up threads."""

    daemon_threads = True
    request_queue_size = 128

    def __init__(self, address, handler, ssl_wrap: Callable | None = None):
        self._slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
        self._ssl_wrap = ssl_wrap
        self.reaper = Reaper()
        super().__init__(address, handler)

    def process_request(self, request, client_address):
        if not self._slots.acquire(blocking=False):
            self.shutdown_request(request)  # over the cap: drop rather than queue unboundedly
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request, client_address):
        try:
            if self._ssl_wrap is not None:
                raw = request
                raw.settimeout(SOCKET_TIMEOUT)
                self.reaper.watch(raw, REQUEST_DEADLINE)
                try:
                    request = self._ssl_wrap(raw)
                finally:
                    self.reaper.release(raw)
            super().process_request_thread(request, client_address)
        except OSError as err:  # TLS handshake failures and resets: the client's problem, not ours
            log.debug("connection from %s failed: %s", client_address[0], err)
            self.shutdown_request(request)
        finally:
            self._slots.release()

    def handle_error(self, request, client_address):
        log.debug("error serving %s", client_address[0], exc_info=True)

    def server_close(self):
        self.reaper.stopped.set()
        super().server_close()


def serve(host: str, port: int, app: App, ssl_wrap: Callable | None = None) -> Server:
    """Bind and start serving in a daemon thread; raises OSError if the address is unusable."""
    handler = type("BoundHandler", (Handler,), {"app": app})
    server_class = type("Server6", (Server,), {"address_family": socket.AF_INET6}) if ":" in host else Server
    server = server_class((host, port), handler, ssl_wrap)
    threading.Thread(target=server.serve_forever, name="http-server", daemon=True).start()
    return server
