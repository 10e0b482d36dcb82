"""The HTTP server module in-process: a slow-trickling client cannot hold a connection slot."""

from __future__ import annotations

import socket
import time

import pytest

from exporter import server
from tests.support import http_get


@pytest.fixture
def running(monkeypatch):
    monkeypatch.setattr(server, "REQUEST_DEADLINE", 1.0)
    app = server.App(render_metrics=lambda: b"up 1\n", is_ready=lambda: True, reload=lambda: None,
                     last_results=dict)
    httpd = server.serve("127.0.0.1", 0, app)
    yield f"http://127.0.0.1:{httpd.server_address[1]}", httpd.server_address[1]
    httpd.shutdown()
    httpd.server_close()


def test_trickled_request_is_cut_at_the_deadline(running):
    url, port = running
    with socket.create_connection(("127.0.0.1", port), timeout=5) as client:
        client.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
        began = time.monotonic()
        closed = False
        for _ in range(40):  # one header byte every 0.1 s: each read is quick, the request never ends
            try:
                client.sendall(b"X")
                if client.recv(1, socket.MSG_DONTWAIT) == b"":
                    closed = True
                    break
            except BlockingIOError:
                pass
            except OSError:
                closed = True
                break
            time.sleep(0.1)  # the trickle itself, not a wait for a condition
        assert closed and 0.9 < time.monotonic() - began < 3.0
    assert http_get(f"{url}/metrics")[1] == b"up 1\n"


def test_kept_alive_connection_serves_many_requests_past_the_deadline(running):
    import http.client
    _, port = running
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    began = time.monotonic()
    count = 0
    while time.monotonic() - began < 2.5 and count < 500:  # longer than the deadline, in one connection
        connection.request("GET", "/metrics")
        response = connection.getresponse()
        assert response.status == 200 and response.read() == b"up 1\n"
        count += 1
    connection.close()
    assert count > 10
