"""The HTTP server module in-process: request deadlines, the connection cap, the lifecycle switch, and
an unknown basic-auth user costing what a wrong password costs."""

from __future__ import annotations

import asyncio
import base64
import errno
import gzip
import http.client
import os
import socket
import ssl
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import bcrypt
import pytest

from exporter import server, webconfig
from exporter.exposition import GZIP_BATCH, Exposition, Family
from exporter.probes.key import ProbeKey
from tests.conftest import server_context
from tests.support import closed_by_peer, http_get, poll, proc_status


class Running:
    """`server.serve` on its own event loop in a thread, as the exporter runs it on its loop."""

    def __init__(self, app: server.App, ssl_context=None):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.httpd = self.call(server.serve("127.0.0.1", 0, app, ssl_context))
        self.port = self.httpd.address[1]
        self.url = f"http://127.0.0.1:{self.port}"

    def call(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(10)

    def close(self):
        self.call(self.httpd.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


async def reloaded() -> None:
    return None


def make_app(**overrides) -> server.App:
    return server.App(**{"render_metrics": lambda: b"up 1\n", "is_ready": lambda: True, "reload": reloaded,
                         "last_results": dict, **overrides})


@pytest.fixture
def start(monkeypatch):
    monkeypatch.setattr(server, "REQUEST_DEADLINE", 1.0)
    started = []

    def make(ssl_context=None, **overrides) -> Running:
        started.append(Running(make_app(**overrides), ssl_context))
        return started[-1]

    yield make
    for running in started:
        running.close()


def test_trickled_request_is_cut_at_the_deadline(start):
    running = start()
    with socket.create_connection(("127.0.0.1", running.port), timeout=5) as client:
        client.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
        began = time.monotonic()
        closed = False
        for _ in range(40):  # one header byte every 0.1 s: each read is quick, the request never ends
            try:
                client.sendall(b"X")
            except OSError:
                closed = True
                break
            if closed_by_peer(client):
                closed = True
                break
            time.sleep(0.1)  # the trickle itself, not a wait for a condition
        assert closed and 0.9 < time.monotonic() - began < 3.0
    assert http_get(f"{running.url}/metrics")[1] == b"up 1\n"


def test_connection_that_sends_nothing_is_closed_at_the_deadline(start):
    running = start()
    with socket.create_connection(("127.0.0.1", running.port), timeout=5) as client:
        began = time.monotonic()
        poll(lambda: closed_by_peer(client), 5, what="the silent connection to be closed")
        assert 0.9 < time.monotonic() - began < 3.0


def test_silent_tls_handshake_is_cut_at_the_deadline(start, ca):
    running = start(server_context(ca, "127.0.0.1"))
    with socket.create_connection(("127.0.0.1", running.port), timeout=5) as client:
        began = time.monotonic()
        client.sendall(b"\x16\x03\x01")  # the first bytes of a ClientHello, and no more
        poll(lambda: closed_by_peer(client), 5, what="the stalled handshake to be cut")
        assert 0.9 < time.monotonic() - began < 3.0


def test_tls_client_that_ignores_the_close_is_let_go_at_the_deadline(start, ca, ca_file):
    """Closing a TLS connection waits for the client's close_notify: asyncio's default is 30 s, so a client that
    never answers it held its place under the cap three times as long as an idle one."""
    running = start(server_context(ca, "127.0.0.1"))
    client = ssl.create_default_context(cafile=str(ca_file))
    with socket.create_connection(("127.0.0.1", running.port), timeout=5) as plain:
        with client.wrap_socket(plain, server_hostname="127.0.0.1") as tls:
            tls.sendall(b"GET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n")
            assert tls.recv(4096).startswith(b"HTTP/1.1 200")
            began = time.monotonic()  # now idle: closed at the 1 s deadline, and the close_notify never answered
            poll(lambda: len(running.httpd.connections) == 0, 10, what="the connection to be let go")
            assert time.monotonic() - began < 3.0  # deadline 1 s, then at most 1 s for the close


@pytest.mark.parametrize("tls", [False, True])
def test_client_that_does_not_read_its_answer_is_cut_at_the_deadline(start, ca, ca_file, tls):
    """A client that asks for a big page and never reads it (its TCP window closed) held the connection, and a
    copy of the page, for good: a few hundred of them filled the cap and the memory. Now the page goes out in
    pieces, each waiting for the client, and the connection is reset at the deadline (over TLS, only pieces
    make asyncio wait for the client at all)."""
    pages = []
    running = start(server_context(ca, "127.0.0.1") if tls else None,
                    render_metrics=lambda: pages.append(1) or b"x" * 30_000_000)  # more than socket buffers hold
    with socket.socket() as raw:
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        raw.connect(("127.0.0.1", running.port))
        client = ssl.create_default_context(cafile=str(ca_file)).wrap_socket(raw, server_hostname="127.0.0.1") \
            if tls else raw
        client.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        poll(lambda: pages, 5, what="the page to be built")
        began = time.monotonic()
        poll(lambda: client.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == errno.ECONNRESET, 5,
             what="the unread answer to be cut")
        assert time.monotonic() - began < 2.5  # the deadline is 1 s
    poll(lambda: len(running.httpd.connections) == 0, 5, what="the connection to be gone")
    if not tls:
        assert http_get(f"{running.url}/-/healthy")[0] == 200


def test_request_heads_over_32_kib_are_closed_before_they_are_buffered(start, monkeypatch):
    """aiohttp bounds each header line and their number, not their sum: 98 lines of 8 KB (each allowed) on 200
    connections took 307 MiB before. A big head within the limits (21 kB) is still answered."""
    monkeypatch.setattr(server, "REQUEST_DEADLINE", 30.0)  # not the deadline: the size closes them
    running = start()
    head = b"GET /metrics HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-%d: %s\r\n" % (i, b"a" * 8000) for i in range(98))
    rss = proc_status(os.getpid(), "VmRSS")
    clients = [socket.create_connection(("127.0.0.1", running.port), timeout=5) for _ in range(100)]
    try:
        for client in clients:
            try:
                client.sendall(head)  # and never the blank line that ends it
            except (BrokenPipeError, ConnectionResetError):
                pass  # closed at 32 KiB while the rest was still being sent: what the test wants to see
        poll(lambda: all(closed_by_peer(client) for client in clients), 10, what="the 100 oversized heads closed")
        assert proc_status(os.getpid(), "VmRSS") - rss < 40_000  # kB; before, about 150 MB
    finally:
        for client in clients:
            client.close()
    big_but_real = {f"X-Forwarded-{i}": "k" * 7000 for i in range(3)}  # 21 kB, each line under aiohttp's 8 KiB
    assert http_get(f"{running.url}/metrics", headers=big_but_real)[0] == 200


def test_kept_alive_connection_serves_many_requests_past_the_deadline(start):
    running = start()
    connection = http.client.HTTPConnection("127.0.0.1", running.port, timeout=5)
    began = time.monotonic()
    count = 0
    while time.monotonic() - began < 2.5 and count < 500:  # longer than the deadline, in one connection
        connection.request("GET", "/metrics")
        response = connection.getresponse()
        assert response.status == 200 and response.read() == b"up 1\n"
        count += 1
    connection.close()
    assert count > 10


def test_connections_over_the_cap_are_closed_and_scrapes_answer_again_once_they_go(start, monkeypatch):
    monkeypatch.setattr(server, "MAX_CONNECTIONS", 20)
    monkeypatch.setattr(server, "REQUEST_DEADLINE", 30.0)  # the held connections stay for the test
    running = start()
    held = [socket.create_connection(("127.0.0.1", running.port), timeout=5) for _ in range(20)]
    try:
        poll(lambda: len(running.httpd.connections) == 20, 5, what="20 connections accepted")
        extra = socket.create_connection(("127.0.0.1", running.port), timeout=5)
        poll(lambda: closed_by_peer(extra), 5, what="the 21st connection to be refused")
        extra.close()
        assert not any(closed_by_peer(sock) for sock in held)
    finally:
        for sock in held:
            sock.close()
    poll(lambda: http_get(f"{running.url}/metrics")[0] == 200, 5, what="a scrape once the held connections went")


def test_tls_connections_count_from_accept_not_from_their_handshake(start, ca, ca_file, monkeypatch):
    """Clients that open TCP and never send a ClientHello hold a connection as any other does: the cap holds
    with them (before, none counted until its handshake was done), and TLS scrapes answer again once they go."""
    monkeypatch.setattr(server, "MAX_CONNECTIONS", 20)
    monkeypatch.setattr(server, "REQUEST_DEADLINE", 30.0)  # the silent connections stay for the test
    running = start(server_context(ca, "127.0.0.1"))
    silent = [socket.create_connection(("127.0.0.1", running.port), timeout=5) for _ in range(30)]
    try:
        poll(lambda: sum(closed_by_peer(sock) for sock in silent) >= 10, 5, what="10 connections over the cap closed")
        assert sum(not closed_by_peer(sock) for sock in silent) == 20
    finally:
        for sock in silent:
            sock.close()
    client = ssl.create_default_context(cafile=str(ca_file))
    poll(lambda: http_get(f"https://127.0.0.1:{running.port}/metrics", context=client)[0] == 200, 5,
         what="a TLS scrape once the silent connections went")


def test_tls_handshake_and_first_request_share_one_deadline(start, ca, ca_file, monkeypatch):
    """A client slow to start its handshake has only what is left of the deadline for its request: the
    connection closes REQUEST_DEADLINE after it was accepted, not a whole deadline after the handshake."""
    monkeypatch.setattr(server, "REQUEST_DEADLINE", 2.0)
    running = start(server_context(ca, "127.0.0.1"))
    client = ssl.create_default_context(cafile=str(ca_file))
    with socket.create_connection(("127.0.0.1", running.port), timeout=5) as plain:
        began = time.monotonic()
        time.sleep(1.2)  # the slow client's pause before its ClientHello
        with client.wrap_socket(plain, server_hostname="127.0.0.1") as tls:
            tls.settimeout(5)
            try:
                assert tls.recv(1) == b""  # no request sent: nothing comes but the close
            except (ssl.SSLError, ConnectionResetError):
                pass  # closed without close_notify: closed all the same
            closed_after = time.monotonic() - began
    assert 1.9 < closed_after < 2.8, closed_after  # before: 3.2 s (1.2 s of handshake wait + 2 s)


@pytest.mark.parametrize("lifecycle, status", [(False, 403), (True, 200)])
def test_reload_over_http_only_with_the_lifecycle_flag(start, lifecycle, status):
    reloads = []
    running = start(reload=lambda: reloads.append(1) or reloaded(), lifecycle=lifecycle)
    for method in ("POST", "PUT"):
        answer, body, _ = http_get(f"{running.url}/-/reload", method=method)
        assert answer == status, body
    assert len(reloads) == (2 if lifecycle else 0)
    if not lifecycle:
        assert b"--web.enable-lifecycle" in body


def test_a_failing_handler_answers_500_and_the_server_carries_on(start):
    running = start(last_results=lambda: 1 / 0)
    assert http_get(f"{running.url}/probes")[0] == 500
    assert http_get(f"{running.url}/metrics")[0] == 200


def gets_in_background(url: str, count: int) -> tuple[list[threading.Thread], list[int]]:
    """`count` GETs of `url` on their own threads, started; their statuses arrive in the list as they answer."""
    statuses: list[int] = []
    threads = [threading.Thread(target=lambda: statuses.append(http_get(url, timeout=15)[0]), daemon=True)
               for _ in range(count)]
    for thread in threads:
        thread.start()
    return threads, statuses


@pytest.mark.parametrize("path", ["/probes", "/runbook"])
def test_building_a_page_does_not_hold_the_loop(start, monkeypatch, path):
    """/probes dumps every probe's last result (tens of ms at a thousand targets) and /runbook renders Markdown
    once: both in a thread, as /metrics, so probes and other requests go on meanwhile."""
    monkeypatch.setattr(server, "REQUEST_DEADLINE", 30.0)  # the page is held for as long as the test needs
    building, release = threading.Event(), threading.Event()

    def slow():  # held until /-/healthy has answered: on the loop, it would keep that answer from coming at all
        building.set()
        release.wait(10)
        return {}
    monkeypatch.setattr(server.runbook, "page", lambda: slow() or b"runbook")
    running = start(last_results=slow)
    [page], statuses = gets_in_background(running.url + path, 1)
    try:
        assert building.wait(5)
        assert http_get(f"{running.url}/-/healthy", timeout=5)[0] == 200
        assert page.is_alive()  # answered while the page was still being built
    finally:
        release.set()
        page.join(15)  # answered before the server stops, not reset by its teardown
    assert statuses == [200]


def test_pages_being_built_leave_the_resolver_threads_to_the_probes(start, monkeypatch):
    """getaddrinfo runs in the loop's default executor: pages built there too would, under a flood of scrapes,
    queue every probe's DNS lookup behind them and fail it as reason dns."""
    monkeypatch.setattr(server, "REQUEST_DEADLINE", 30.0)  # the pages are held for as long as the test needs
    building, release = threading.Semaphore(0), threading.Event()

    def slow():  # held until the lookup is done: in the default executor, two of them would keep it from running
        building.release()
        release.wait(10)
        return {}
    running = start(last_results=slow)
    running.loop.call_soon_threadsafe(running.loop.set_default_executor, ThreadPoolExecutor(2))  # 64 in the exporter
    scrapes, statuses = gets_in_background(running.url + "/probes", 4)
    try:
        assert building.acquire(timeout=5) and building.acquire(timeout=5)  # two pages hold their threads

        async def resolve():
            return await asyncio.wait_for(asyncio.get_running_loop().getaddrinfo("localhost", 80), 5)
        assert running.call(resolve())  # before: TimeoutError, queued behind the two held pages
        assert all(scrape.is_alive() for scrape in scrapes)  # done while the pages were still held
    finally:
        release.set()
        for scrape in scrapes:  # answered before the server stops, not reset by its teardown
            scrape.join(timeout=15)
    assert statuses == [200] * 4


# --- basic auth: timing, caching, and the event loop -----------------------------------------------

PASSWORD = "rahasia-lpse"
COST = 10  # about 50-100 ms per check here: long enough to time, short enough for a test


@pytest.fixture(scope="module")
def web_yml(tmp_path_factory):
    path = tmp_path_factory.mktemp("web") / "web.yml"
    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=COST)).decode()
    path.write_text(f"basic_auth_users:\n  prometheus: '{hashed}'\n")
    return path


@pytest.fixture
def web_config(web_yml):
    """Loaded for each test: a password one test verified would be remembered, and skip bcrypt, in the next."""
    return webconfig.load_web_config(str(web_yml))


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def cpu_seconds(web: webconfig.WebConfig, header: str) -> float:
    """CPU time of this process (bcrypt runs in one of its threads) for a refused check. Not wall time: a burst
    of load from other processes stretches that for one series of checks and not the other."""
    async def timed() -> float:
        began = time.process_time()
        assert not await web.authorize(header)
        return time.process_time() - began
    return asyncio.run(timed())


def test_unknown_user_costs_what_a_wrong_password_costs(web_config):
    """Otherwise the answer's speed tells which user names exist."""
    wrong, unknown = basic("prometheus", "salah"), basic("tamu", "salah")
    pairs = [(cpu_seconds(web_config, wrong), cpu_seconds(web_config, unknown)) for _ in range(5)]  # interleaved
    wrong_password, unknown_user = (statistics.median(times) for times in zip(*pairs))
    assert wrong_password > 0.005  # bcrypt ran
    assert 0.33 < unknown_user / wrong_password < 3.0, pairs  # before: 1/20000


def test_a_verified_password_is_remembered_and_bcrypt_never_blocks_the_loop(web_config):
    async def scenario():
        ticks = 0

        async def ticker():  # counts 5 ms timers: none fire while something blocks the loop
            nonlocal ticks
            while True:
                await asyncio.sleep(0.005)
                ticks += 1

        tick = asyncio.create_task(ticker())
        first_began = time.perf_counter()
        assert await web_config.authorize(basic("prometheus", PASSWORD))
        first = time.perf_counter() - first_began
        ticks_during_bcrypt = ticks
        again_began = time.perf_counter()
        for _ in range(100):
            assert await web_config.authorize(basic("prometheus", PASSWORD))
        again = (time.perf_counter() - again_began) / 100
        tick.cancel()
        return first, again, ticks_during_bcrypt

    first, again, ticks = asyncio.run(scenario())
    assert again < first / 20, (first, again)
    assert ticks >= 3, (ticks, first)  # the loop turned while bcrypt ran (at cost 10: 10-20 ticks)


def test_a_password_longer_than_bcrypt_reads_is_checked_not_an_error(tmp_path):
    """bcrypt reads 72 bytes; bcrypt 5 raises on more instead of ignoring the rest as htpasswd, exporter-toolkit
    and older bcrypt do. A long password from any client must get a verdict (401), not an exception (500)."""
    long_password = "p" * 72 + "-ekor"
    path = tmp_path / "web.yml"
    hashed = bcrypt.hashpw(long_password.encode()[:72], bcrypt.gensalt(rounds=4)).decode()  # as htpasswd does
    path.write_text(f"basic_auth_users:\n  prometheus: '{hashed}'\n")
    web = webconfig.load_web_config(str(path))

    async def verdicts():
        return [await web.authorize(basic("prometheus", long_password)),
                await web.authorize(basic("prometheus", "q" * 100)),
                await web.authorize(basic("tamu", "q" * 100))]
    assert asyncio.run(verdicts()) == [True, False, False]


def test_a_gzip_scrape_is_the_plain_page_compressed_as_it_is_built(start):
    """Exposition.gzip_chunks compresses a batch of pieces at a time; unpacked, it is the page render() joins."""
    page = Exposition([Family("spse_x", "gauge", "x"), Family("spse_y", "counter", "y")])
    for i in range(3000):  # about 250 kB: several batches
        page.update(ProbeKey("http", f"site{i:04d}"), {"spse_x": f'spse_x{{target="site{i:04d}"}} {i}\n',
                                                       "spse_y": f'spse_y{{target="site{i:04d}",code="200"}} 1\n'})
    page.extra = lambda: b"process_open_fds 7\n"
    running = start(render_metrics=page.render, metrics_gzip_chunks=page.gzip_chunks)
    url = f"http://127.0.0.1:{running.port}/metrics"
    status, zipped, headers = http_get(url, headers={"Accept-Encoding": "gzip"})
    assert status == 200 and headers["Content-Encoding"] == "gzip"
    status, plain, headers = http_get(url)
    assert status == 200 and "Content-Encoding" not in headers
    assert gzip.decompress(zipped) == plain == page.render()
    assert len(plain) > 3 * GZIP_BATCH and plain.endswith(b"process_open_fds 7\n")
