"""Shared fixtures: the fake SPSE world on 127.0.0.1 and the exporter running against it."""

from __future__ import annotations

import datetime
import itertools
import socket
import ssl
from pathlib import Path

import pytest
import trustme
import yaml

from exporter.main import raise_open_files_limit
from tests.fakes import FakeDNS, FakeNTP, FakeSPSE, TcpListener, free_port
from tests.real_servers import ChronyClient, ChronyServer
from tests.stack import AlertmanagerProcess, PrometheusProcess, WebhookReceiver
from tests.support import ExporterProcess


def pytest_configure(config):
    """Tests hold over a thousand sockets at once (tests/integration/test_endpoint_security.py): a machine that starts
    processes with a soft limit of 1,024 open files would fail them, so the tests raise it as the exporter does."""
    raise_open_files_limit()


@pytest.fixture(scope="session")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="session")
def ca_file(ca, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


def server_context(ca: trustme.CA, *names: str, days: float = 365) -> ssl.SSLContext:
    """A TLS server context with a certificate from `ca` for `names`, valid for `days`."""
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = ca.issue_cert(*(names or ("127.0.0.1", "localhost")), not_before=now - datetime.timedelta(days=1),
                         not_after=now + datetime.timedelta(days=days))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    return context


@pytest.fixture
def spse():
    fake = FakeSPSE()
    yield fake
    fake.close()


@pytest.fixture
def spse_tls(ca):
    fake = FakeSPSE(tls=server_context(ca, days=5))
    yield fake
    fake.close()


@pytest.fixture
def ntp():
    fake = FakeNTP()
    yield fake
    fake.close()


@pytest.fixture
def dns_server():
    fake = FakeDNS()
    yield fake
    fake.close()


@pytest.fixture
def tcp_listener():
    fake = TcpListener()
    yield fake
    fake.close()


def launcher(make):
    """Fixture body: yield a function that starts a process with `make(...)` and waits until it is
    ready (unless wait=False); every process it started is stopped afterwards."""
    started = []

    def start(*args, wait: bool = True, **kwargs):
        process = make(*args, **kwargs)
        started.append(process)
        if wait:
            process.wait_ready()
        return process

    try:
        yield start
    finally:
        for process in started:
            process.stop()


@pytest.fixture
def start_exporter(tmp_path):
    """Start the real exporter on a config (a dict or YAML text)."""
    numbers = itertools.count()

    def make(config, extra_args=None, scheme="http") -> ExporterProcess:
        path = tmp_path / f"config{next(numbers)}.yml"
        path.write_text(config if isinstance(config, str) else yaml.safe_dump(config))
        return ExporterProcess(path, extra_args, scheme=scheme)

    yield from launcher(make)


@pytest.fixture
def start_chrony(tmp_path):
    """Start Debian's chronyd on a loopback port (tests/real_servers.py), synchronised or not, on 127.0.0.1 or
    another `host` of 127/8."""
    names = itertools.count()
    yield from launcher(lambda host="127.0.0.1", **kwargs: ChronyServer(
        tmp_path / f"chrony{next(names)}", free_port(host, kind=socket.SOCK_DGRAM), host=host, **kwargs))


@pytest.fixture
def start_chrony_client(tmp_path):
    """Start Debian's chronyd as a host's time daemon polling `servers` ("host port"), read with its `chronyc`."""
    names = itertools.count()
    yield from launcher(lambda servers: ChronyClient(tmp_path / f"chrony-client{next(names)}",
                                                     free_port(kind=socket.SOCK_DGRAM), servers))


# Prometheus, Alertmanager and a webhook receiver (tests/stack.py), stopped after each test.


@pytest.fixture
def webhook_receiver():
    receiver = WebhookReceiver()
    yield receiver
    receiver.close()


@pytest.fixture
def start_prometheus(tmp_path):
    """Start the real Prometheus on a rendered config."""
    yield from launcher(lambda config_path, extra_flags=(), **options:
                        PrometheusProcess(config_path, tmp_path, list(extra_flags), **options))


@pytest.fixture
def start_alertmanager(tmp_path):
    """Start the real Alertmanager on a rendered config."""
    yield from launcher(lambda config_path, extra_flags=():
                        AlertmanagerProcess(config_path, tmp_path, list(extra_flags)))
