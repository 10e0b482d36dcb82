"""Shared fixtures: the fake SPSE world on 127.0.0.1 and the exporter running against it."""

from __future__ import annotations

import datetime
import ssl
from pathlib import Path

import pytest
import trustme
import yaml

from tests.fakes import FakeDNS, FakeNTP, FakeSPSE, TcpListener
from tests.stack import AlertmanagerProcess, PrometheusProcess, WebhookReceiver
from tests.support import ExporterProcess


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


@pytest.fixture
def start_exporter(tmp_path):
    """Start the real exporter on a config (a dict or YAML text); stops every one started."""
    started = []

    def start(config, extra_args=None, wait=True, scheme="http") -> ExporterProcess:
        path = tmp_path / f"config{len(started)}.yml"
        path.write_text(config if isinstance(config, str) else yaml.safe_dump(config))
        exporter = ExporterProcess(path, extra_args, scheme=scheme)
        started.append(exporter)
        if wait:
            exporter.wait_ready()
        return exporter

    yield start
    for exporter in started:
        exporter.stop()


# Prometheus, Alertmanager and a webhook receiver (tests/stack.py), stopped after each test.


@pytest.fixture
def webhook_receiver():
    receiver = WebhookReceiver()
    yield receiver
    receiver.close()


@pytest.fixture
def start_prometheus(tmp_path):
    """Start the real Prometheus on a rendered config and wait until it is ready."""
    started = []

    def start(config_path: Path, extra_flags=(), port=None) -> PrometheusProcess:
        process = PrometheusProcess(config_path, tmp_path, list(extra_flags), port=port)
        started.append(process)
        process.wait_ready()
        return process

    yield start
    for process in started:
        process.stop()


@pytest.fixture
def start_alertmanager(tmp_path):
    """Start the real Alertmanager on a rendered config and wait until it is ready."""
    started = []

    def start(config_path: Path, extra_flags=()) -> AlertmanagerProcess:
        process = AlertmanagerProcess(config_path, tmp_path, list(extra_flags))
        started.append(process)
        process.wait_ready()
        return process

    yield start
    for process in started:
        process.stop()
