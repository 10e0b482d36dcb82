"""Real servers for the tests: a fake SPSE site (HTTP/HTTPS), a fake NTP source, a fake DNS server, TCP listeners.

They bind to the address they are given (127.0.0.1 by default, or an address inside a network
namespace the test made) and their behaviour can be switched while they run, so one world can
replay an outage. Every wait inside them is bounded, and `close()` ends them.

Run as a program (`python -m tests.fakes --spec world.json`) they serve a whole world from one
process, which is how tests put them inside network namespaces.
"""

from __future__ import annotations

import argparse
import email.utils
import itertools
import json
import os
import secrets
import signal
import socket
import socketserver
import ssl
import struct
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import dns.flags
import dns.message
import dns.rcode
import dns.rrset

from exporter.probes.ntp import TIMESPEC, TIMESTAMPNS, arrival_time

# SPSE 4 pages built from what a public SPSE client library relies on (issue 15): the <noscript> sentence,
# the footer with "SPSE v4..." and "Update terakhir DD-MM-YYYY HH:MM," in the site's time, the error page
# with its 9-character "Kode Error", the not-found page, and the token script of /lelang.
SPSE_NOSCRIPT = ("<noscript>Untuk tampilan aplikasi SPSE yang lebih baik, harap aktifkan fitur javascript pada "
                 "browser anda</noscript>")
SPSE_VERSION = "4.5u20230214"
WITA = timezone(timedelta(hours=8), "WITA")


def spse_footer(version: str | None = f"SPSE v{SPSE_VERSION}", updated: datetime | None = None) -> str:
    """SPSE's footer; `updated` (default: now) is written in WITA, as Kutai Barat's site does."""
    stamp = (updated or datetime.now(WITA)).astimezone(WITA).strftime("%d-%m-%Y %H:%M")
    shown = f"{version} | " if version else ""
    return (f'<div id="footer"><p>LPSE Kabupaten Contoh &copy; 2026 | {shown}Update terakhir {stamp}, '
            "Layanan Pengadaan Secara Elektronik</p></div>")


def spse_front_page(footer: str | None = None, body: str = "<p>Daftar paket lelang.</p>" * 400,
                    noscript: str = SPSE_NOSCRIPT) -> str:
    return ("<html><head><title>SPSE 4 - LPSE Kabupaten Contoh</title></head><body>" + noscript
            + "<h1>Layanan Pengadaan Secara Elektronik</h1>" + body
            + (spse_footer() if footer is None else footer) + "</body></html>")


SPSE_PAGE_UPDATED = datetime(2026, 11, 27, 9, 30, tzinfo=WITA)
SPSE_PAGE = spse_front_page(spse_footer(updated=SPSE_PAGE_UPDATED))
SPSE_ERROR_CODE = "7QH2K9X4A"
SPSE_ERROR_PAGE = ("<html><body><h2>Maaf, terjadi error pada aplikasi SPSE.</h2>"
                   f"<p>Kode Error: {SPSE_ERROR_CODE}</p><p>Silakan hubungi admin LPSE.</p></body></html>")
SPSE_NOT_FOUND_PAGE = spse_front_page(body="<h2>Halaman yang dituju tidak ditemukan</h2>")
CAPTIVE_PORTAL_PAGE = ("<html><head><title>Hotspot login</title></head><body><h1>Welcome to FreeWifi</h1>"
                       "<form action='/login'>Voucher: <input name='v'></form></body></html>")
NGINX_WELCOME_PAGE = ("<!DOCTYPE html><html><head><title>Welcome to nginx!</title></head><body><h1>Welcome to "
                      "nginx!</h1><p>If you see this page, the nginx web server is successfully installed.</p>"
                      "</body></html>")


def spse_lelang_page(token: str | None) -> str:
    script = f"<script>$(function() {{ var d = {{}}; d.authenticityToken = '{token}'; }});</script>" if token else ""
    return spse_front_page(body="<table id='tbllelang'></table>" + script)
GATEWAY_TIMEOUT_PAGE = "<html><head><title>504 Gateway Time-out</title></head><body>504 Gateway Time-out</body></html>"
MAX_HOLD = 60.0  # no fake holds a connection longer than this
NTP_EPOCH_OFFSET = 2208988800


class FakeSPSE:
    """An SPSE-like site. `mode` picks the behaviour; see `_Handler.do_GET`."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, tls: ssl.SSLContext | None = None):
        self.mode = "ok"
        self.status = 200
        self.delay = 0.0
        self.date_skew = 0.0
        self.page: str | None = None  # the front page of "ok" mode; None: SPSE_PAGE
        self.app = "ok"  # the tender list of "ok" mode: ok, no_token, dt_html, dt_error_page, dt_status
        self.base = "/eproc4"  # where /lelang and /dt/lelang live ("" for a site served at the root)
        self.redirect_prefix: tuple[str, str] | None = None  # (old, new): tender-list paths redirected
        self.cookie_attributes = "Path=/"  # of the session cookie /lelang sets, e.g. with "; Domain=lpse.test"
        self.token = secrets.token_hex(20)
        self.dt_requests: list[dict] = []
        self.hits = 0
        self.connections = 0
        self.last_headers: dict[str, str] = {}
        self.closing = threading.Event()
        handler = type("Handler", (_Handler,), {"fake": self})
        server_class = _Server6 if ":" in host else _Server
        self.server = server_class((host, port), handler)
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True, do_handshake_on_connect=False)
        self.scheme = "https" if tls else "http"
        self.host, self.port = host, self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True, name=f"fake-spse-{self.port}").start()

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}/eproc4"

    def set(self, mode: str = "ok", status: int = 200, delay: float = 0.0, date_skew: float = 0.0) -> None:
        self.mode, self.status, self.delay, self.date_skew = mode, status, delay, date_skew

    def close(self) -> None:
        self.closing.set()
        self.server.shutdown()
        self.server.server_close()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        pass  # clients that give up mid-answer are the point of several tests


class _Server6(_Server):
    address_family = socket.AF_INET6


class _Handler(BaseHTTPRequestHandler):
    fake: FakeSPSE
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):
        pass

    def setup(self):
        self.fake.connections += 1
        super().setup()

    def date_time_string(self, timestamp=None):
        return email.utils.formatdate(time.time() + self.fake.date_skew, usegmt=True)

    def _answer(self, status: int, body: str, headers: dict | None = None,
                content_type: str = "text/html; charset=utf-8") -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        fake = self.fake
        fake.hits += 1
        fake.last_headers = dict(self.headers.items())
        mode = fake.mode
        if fake.delay:
            fake.closing.wait(min(fake.delay, MAX_HOLD))
        path = self.path.partition("?")[0]
        if mode == "ok" and (path.endswith("/lelang") or "/dt/" in path):
            self._tender_list(path)
        elif mode == "ok":
            self._answer(200, SPSE_PAGE if fake.page is None else fake.page)
        elif mode == "page":  # `page` on every path, e.g. a captive portal in front of the whole site
            self._answer(fake.status, fake.page or "")
        elif mode == "status":
            self._answer(fake.status, GATEWAY_TIMEOUT_PAGE if fake.status == 504 else f"status {fake.status}")
        elif mode == "error_page":
            self._answer(200, SPSE_ERROR_PAGE)
        elif mode == "hang":
            fake.closing.wait(MAX_HOLD)
        elif mode == "slowloris":
            self.wfile.write(b"HTTP/1.1 200 OK\r\n")
            for _ in range(int(MAX_HOLD)):
                if fake.closing.wait(1.0):
                    break
                self.wfile.write(b"X")
                self.wfile.flush()
        elif mode == "huge":
            self.send_response(200)
            self.send_header("Content-Length", str(8 * 1024**3))
            self.end_headers()
            chunk = b"0" * 65536
            deadline = time.monotonic() + MAX_HOLD
            while time.monotonic() < deadline and not fake.closing.is_set():
                self.wfile.write(chunk)  # the client hanging up ends this with an error
        elif mode == "redirect_loop":
            self._answer(302, "", {"Location": self.path})
        elif mode == "redirect":
            target = "/eproc4/home" if self.path != "/eproc4/home" else None
            if target:
                self._answer(301, "", {"Location": target})
            else:
                self._answer(200, SPSE_PAGE)
        elif mode == "cookie_redirect":  # a session cookie, then a page that needs it
            if self.path == "/eproc4":
                self._answer(302, "", {"Location": "/eproc4/home", "Set-Cookie": "SPSE_SESSION=abc123; Path=/"})
            elif "SPSE_SESSION=abc123" in self.headers.get("Cookie", ""):
                self._answer(200, SPSE_PAGE)
            else:
                self._answer(403, "no session")
        elif mode == "informational":  # an interim 1xx answer before the real one
            self.wfile.write(b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n")
            self._answer(200, SPSE_PAGE)
        elif mode == "huge_headers":  # a header block larger than any client should buffer
            self.send_response(200)
            for i in range(2000):
                self.send_header(f"X-Filler-{i}", "x" * 60)
            self.end_headers()
        elif mode == "reset":
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Ty")
            self.wfile.flush()
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
        elif mode == "close":  # read the request, answer nothing (nginx's `return 444`)
            self.close_connection = True
        elif mode == "http10":
            self.wfile.write(b"HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n\r\n" + SPSE_PAGE.encode())
            self.close_connection = True
        else:
            raise ValueError(f"unknown mode {mode}")

    def _tender_list(self, path: str) -> None:
        """SPSE's tender list: /lelang sets a session and the token; /dt/lelang wants both, and an XHR header."""
        fake = self.fake
        session = f"SPSE_SESSION={fake.token[:8]}"
        if fake.redirect_prefix and path.startswith(fake.redirect_prefix[0]):
            self._answer(302, "", {"Location": self.path.replace(*fake.redirect_prefix, 1)})
        elif path == f"{fake.base}/lelang":
            token = None if fake.app == "no_token" else fake.token
            self._answer(200, spse_lelang_page(token), {"Set-Cookie": f"{session}; {fake.cookie_attributes}"})
        elif path != f"{fake.base}/dt/lelang":
            self._answer(404, "<html><body><h1>404 Not Found</h1></body></html>")
        elif fake.app == "dt_html":
            self._answer(200, CAPTIVE_PORTAL_PAGE)
        elif fake.app == "dt_error_page":  # a dead database: the application answers its error page
            self._answer(200, SPSE_ERROR_PAGE)
        elif fake.app == "dt_status":
            self._answer(fake.status, SPSE_ERROR_PAGE)
        else:
            query = parse_qs(urlsplit(self.path).query)
            fake.dt_requests.append({"query": query, "headers": dict(self.headers.items())})
            if (query.get("authenticityToken") != [fake.token] or session not in self.headers.get("Cookie", "")
                    or self.headers.get("X-Requested-With") != "XMLHttpRequest"):
                self._answer(403, SPSE_ERROR_PAGE)
                return
            rows = [["10931234", "Pembangunan Jalan Desa", "Dinas PUPR", "Rp 1.250.000.000"]][:int(query["length"][0])]
            self._answer(200, json.dumps({"draw": int(query["draw"][0]), "recordsTotal": 1234,
                                          "recordsFiltered": 1234, "data": rows}), content_type="application/json")


# FakeNTP modes: kiss-of-death (ntpd sends its kisses with leap 3) and unsynchronised servers
# (leap 3 with stratum 0 and refid INIT or 0 is what chronyd and ntpd send without a reference).
NTP_HEADERS = {
    "kod": (0, 0, b"RATE"),
    "kod_deny": (3, 0, b"DENY"),
    "unsync": (3, 2, b"GPS\0"),
    "unsync_init": (3, 0, b"INIT"),
    "unsync_zero": (3, 0, bytes(4)),
}


class FakeNTP:
    """A UDP NTP server whose clock runs `offset` seconds from ours. `mode` picks misbehaviour."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, offset: float = 0.0):
        self.mode, self.offset, self.stratum = "ok", offset, 2
        self.requests = 0
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_DGRAM)
        self.sock.bind((host, port))
        self.sock.settimeout(0.2)
        if TIMESTAMPNS is not None:  # receive times from the kernel, as chronyd takes them: a loaded machine
            self.sock.setsockopt(socket.SOL_SOCKET, TIMESTAMPNS, 1)  # delaying this thread biases nothing
        self.other = socket.socket(family, socket.SOCK_DGRAM)  # replies "from the wrong port"
        self.other.bind((host, 0))
        self.host, self.port = host, self.sock.getsockname()[1]
        self.closing = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True, name=f"fake-ntp-{self.port}")
        self.thread.start()

    @property
    def address(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    def set(self, mode: str = "ok", offset: float | None = None) -> None:
        self.mode = mode
        if offset is not None:
            self.offset = offset

    def reply(self, request: bytes, received_at: float) -> bytes:
        shift = self.offset + NTP_EPOCH_OFFSET

        def ntp(t: float) -> bytes:
            return struct.pack("!II", int(t), int((t % 1) * 2**32))

        leap, stratum, ref_id = 0, self.stratum, b"GPS\0"
        now = time.time() + shift
        origin, received, sent = request[40:48], ntp(received_at + shift), ntp(now)
        if self.mode in NTP_HEADERS:  # (leap, stratum, refid) of kiss-of-death and unsynchronised replies
            leap, stratum, ref_id = NTP_HEADERS[self.mode]
        elif self.mode == "wrong_origin":
            origin = os.urandom(8)
        elif self.mode == "zero_receive":
            received = bytes(8)
        elif self.mode == "zero_transmit":
            sent = bytes(8)
        header = struct.pack("!BBbb", (leap << 6) | (4 << 3) | 4, stratum, 6, -20)
        return header + struct.pack("!II", 0, 0) + ref_id + ntp(now - 10) + origin + received + sent

    def _serve(self) -> None:
        while not self.closing.is_set():
            try:
                request, ancdata, _, peer = self.sock.recvmsg(512, socket.CMSG_SPACE(TIMESPEC.size))
            except (socket.timeout, OSError):
                continue
            received_at = arrival_time(ancdata)
            self.requests += 1
            if self.mode == "silent" or len(request) < 48:
                continue
            if self.mode == "short":
                self.sock.sendto(b"\x24\x02" + b"\0" * 18, peer)
            elif self.mode == "garbage":
                self.sock.sendto(os.urandom(48), peer)  # full length, but noise: must not be read as time
            elif self.mode == "wrong_port":
                self.other.sendto(self.reply(request, received_at), peer)
            else:
                self.sock.sendto(self.reply(request, received_at), peer)

    def close(self) -> None:
        self.closing.set()
        self.thread.join(2)
        self.sock.close()
        self.other.close()


class FakeDNS:
    """A DNS server on UDP and TCP that answers A queries with `answer`, or fails as `mode` says."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, answer: str = "127.0.0.1"):
        self.mode, self.answer = "ok", answer
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        for attempt in range(20):  # port 0: the UDP port the kernel picks may be taken for TCP; pick again
            self.udp = socket.socket(family, socket.SOCK_DGRAM)
            self.udp.bind((host, port))
            self.host, self.port = host, self.udp.getsockname()[1]
            self.tcp = socket.socket(family, socket.SOCK_STREAM)
            self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                self.tcp.bind((host, self.port))
                break
            except OSError:
                self.udp.close()
                self.tcp.close()
                if port or attempt == 19:
                    raise
        self.udp.settimeout(0.2)
        self.tcp.listen(16)
        self.tcp.settimeout(0.2)
        self.closing = threading.Event()
        self.threads = [threading.Thread(target=self._serve_udp, daemon=True),
                        threading.Thread(target=self._serve_tcp, daemon=True)]
        for thread in self.threads:
            thread.start()

    @property
    def address(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    def set(self, mode: str = "ok") -> None:
        self.mode = mode

    def respond(self, wire: bytes, over_tcp: bool) -> bytes | None:
        try:
            query = dns.message.from_wire(wire)
        except Exception:
            return None
        response = dns.message.make_response(query)
        mode = self.mode
        if mode == "silent":
            return None
        if mode == "nxdomain":
            response.set_rcode(dns.rcode.NXDOMAIN)
        elif mode == "servfail":
            response.set_rcode(dns.rcode.SERVFAIL)
        elif mode == "empty":
            pass
        elif mode in ("truncated", "truncated_tcp_down") and not over_tcp:
            response.flags |= dns.flags.TC
        elif mode == "truncated_tcp_down":
            return None
        else:
            question = query.question[0]
            response.answer.append(dns.rrset.from_text(question.name, 60, "IN", "A", self.answer))
        return response.to_wire()

    def _serve_udp(self) -> None:
        while not self.closing.is_set():
            try:
                wire, peer = self.udp.recvfrom(4096)
            except (socket.timeout, OSError):
                continue
            reply = self.respond(wire, over_tcp=False)
            if reply:
                self.udp.sendto(reply, peer)

    def _serve_tcp(self) -> None:
        while not self.closing.is_set():
            try:
                conn, _ = self.tcp.accept()
            except (socket.timeout, OSError):
                continue
            with conn:
                conn.settimeout(2)
                try:
                    length = struct.unpack("!H", _read_exactly(conn, 2))[0]
                    reply = self.respond(_read_exactly(conn, length), over_tcp=True)
                    if reply:
                        conn.sendall(struct.pack("!H", len(reply)) + reply)
                except (OSError, struct.error):
                    continue

    def close(self) -> None:
        self.closing.set()
        for thread in self.threads:
            thread.join(2)
        self.udp.close()
        self.tcp.close()


def _read_exactly(conn: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            raise OSError("closed")
        data += chunk
    return data


class TcpListener:
    """Accepts connections and closes them: an upstream anchor that is up."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        server_class = type("S", (socketserver.ThreadingTCPServer,),
                            {"address_family": family, "daemon_threads": True, "allow_reuse_address": True})
        self.server = server_class((host, port), socketserver.BaseRequestHandler)
        self.host, self.port = host, self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def address(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# free_port hands out ports below the kernel's ephemeral range, where nothing else picks them: a port bind(0)
# found and let go could be picked again by any process (another test file's fake, listener or free_port)
# before the server it was meant for binds it. Each xdist worker has its own slice, each process its own start.
FIRST_PORT, SLICES = 10240, 8


def _port_slice() -> range:
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as ranges:
            ephemeral = int(ranges.read().split()[0])
    except (OSError, ValueError, IndexError):
        ephemeral = 32768  # Linux's default
    size = (ephemeral - FIRST_PORT) // SLICES
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")[2:]
    first = FIRST_PORT + int(worker) % SLICES * size if worker.isdigit() else FIRST_PORT
    return range(first, first + size) if size >= 100 else range(0)


_PORTS = _port_slice()
_port_numbers = itertools.count(os.getpid())


def free_port(host: str = "127.0.0.1", kind: int = socket.SOCK_STREAM) -> int:
    """A port free on `host` now, for TCP or (kind=SOCK_DGRAM) UDP: a free TCP port may be a UDP port in use."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    for _ in range(len(_PORTS)):
        port = _PORTS[next(_port_numbers) % len(_PORTS)]
        with socket.socket(family, kind) as sock:
            try:
                sock.bind((host, port))
                return port
            except OSError:
                continue  # in use, or a connection's TIME_WAIT: the next one
    with socket.socket(family, kind) as sock:  # no room below the ephemeral range on this machine
        sock.bind((host, 0))
        return sock.getsockname()[1]


def serve_world(spec: dict) -> list:
    """Start the servers a spec lists: {"spse": [{"host":..,"port":..,"tls":{cert,key}}], "ntp": [...], ...}."""
    started = []
    for item in spec.get("spse", []):
        tls = None
        if item.get("tls"):
            tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            tls.load_cert_chain(item["tls"]["cert"], item["tls"]["key"])
        fake = FakeSPSE(item["host"], item.get("port", 0), tls)
        fake.set(**item.get("set", {}))
        started.append(fake)
    for item in spec.get("ntp", []):
        started.append(FakeNTP(item["host"], item.get("port", 123), item.get("offset", 0.0)))
    for item in spec.get("dns", []):
        started.append(FakeDNS(item["host"], item.get("port", 53), item.get("answer", "127.0.0.1")))
    for item in spec.get("tcp", []):
        started.append(TcpListener(item["host"], item["port"]))
    return started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve a fake SPSE world until SIGTERM or --seconds pass.")
    parser.add_argument("--spec", required=True, help="JSON file naming the servers to start")
    parser.add_argument("--seconds", type=float, default=600.0, help="stop by itself after this long")
    args = parser.parse_args(argv)
    with open(args.spec) as handle:
        servers = serve_world(json.load(handle))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print("ready", flush=True)
    stop.wait(args.seconds)
    for server in servers:
        server.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
