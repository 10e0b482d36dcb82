"""Helpers shared by the tests: run the real exporter as a process, scrape it, poll with a deadline."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable

from prometheus_client.parser import text_string_to_metric_families

from tests.fakes import free_port

ROOT = Path(__file__).resolve().parent.parent


def without_language() -> dict[str, str]:
    """This environment without SPSE_LANG: a command run with it prints in its default language, Indonesian."""
    return {key: value for key, value in os.environ.items() if key != "SPSE_LANG"}


def poll(check: Callable[[], object], timeout: float = 10.0, interval: float = 0.05, what: str = "condition"):
    """Call `check` until it returns something truthy or `timeout` passes; return that value."""
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        try:
            value = check()
            if value:
                return value
        except (AssertionError, OSError, KeyError, ValueError) as err:
            last_error = err
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}" + (f": {last_error}" if last_error else ""))


def hold(seconds: float, check: Callable[[], None]) -> None:
    """Keep asserting `check` for `seconds`: the proof that something does not happen."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        check()
        time.sleep(0.5)
    check()


def poll_steady(check: Callable[[], object], steady: float, timeout: float, interval: float, what: str) -> None:
    """Call `check` until it has held `steady` seconds in a row, within `timeout`: settled, not passing by."""
    since = None

    def held():
        nonlocal since
        if not check():
            since = None
            return False
        since = since or time.monotonic()
        return time.monotonic() - since >= steady
    poll(held, timeout, interval, what)


def http_get(url: str, timeout: float = 5.0, method: str = "GET", headers: dict | None = None,
             context=None, data: bytes | None = None) -> tuple[int, bytes, dict]:
    request = urllib.request.Request(url, method=method, headers=headers or {}, data=data)
    try:
        with urllib.request.urlopen(request, timeout=timeout, context=context) as response:
            return response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as err:
        return err.code, err.read(), dict(err.headers)


def proc_status(pid: int, key: str) -> int:
    """A number from /proc/PID/status, e.g. "VmRSS" (kB) or "Threads"."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name == key:
            return int(value.split()[0])
    raise KeyError(f"{key} not in /proc/{pid}/status")


def closed_by_peer(sock) -> bool:
    """Whether the other end has closed or reset a connection, found without waiting (poll, not select:
    a test holding a thousand sockets has descriptors past select's 1024)."""
    readable = select.poll()
    readable.register(sock, select.POLLIN)
    if not readable.poll(0):
        return False
    try:
        return sock.recv(1) == b""
    except OSError:
        return True


def fastest_of(tries: int, url: str) -> float:
    """Seconds the fastest of `tries` GETs of `url` took, each asserted 200: a stall of a loaded machine
    slows one try, a server that is wedged or degraded slows them all."""
    times = []
    for _ in range(tries):
        began = time.monotonic()
        status = http_get(url)[0]
        assert status == 200, f"{url}: {status}"
        times.append(time.monotonic() - began)
    return min(times)


class Samples(dict):
    """Parsed /metrics: {(name, frozenset(labels.items())): value} with a friendly getter."""

    def get_value(self, metric: str, /, **labels) -> float | None:
        return self.get((metric, frozenset(labels.items())))

    def series(self, name: str) -> dict[frozenset, float]:
        return {labels: value for (sample_name, labels), value in self.items() if sample_name == name}


def parse_metrics(text: str) -> Samples:
    samples = Samples()
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            samples[(s.name, frozenset(s.labels.items()))] = s.value
    return samples


class ServerProcess:
    """A server run as a subprocess on 127.0.0.1, logging to a file; ready once `/-/ready` answers 200."""

    name = "server"
    host = "127.0.0.1"
    scheme = "http"
    ready_path = "/-/ready"
    headers: dict[str, str] = {}  # sent with every request the tests make, e.g. basic auth

    def __init__(self, command: list[str], log_path: Path, port: int, cwd: Path = ROOT, env: dict | None = None):
        self.port, self.log_path = port, log_path
        self.log = open(log_path, "wb")
        self.proc = subprocess.Popen(command, cwd=cwd, stdout=self.log, stderr=subprocess.STDOUT, env=env)

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, timeout: float = 30.0) -> None:
        def ready():
            if self.proc.poll() is not None:  # not an AssertionError: poll() must not wait this out
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}:\n{self.logs()}")
            return http_get(f"{self.url}{self.ready_path}", timeout=2, headers=self.headers)[0] == 200
        poll(ready, timeout, what=f"{self.name} {self.ready_path}")

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.log.close()
        return self.proc.returncode


class ExporterProcess(ServerProcess):
    """The real exporter, started as `python -m exporter` on a free loopback port."""

    name = "exporter"

    def __init__(self, config_path: Path, extra_args: list[str] | None = None, scheme: str = "http",
                 wrapper: list[str] | None = None, port: int | None = None):
        self.scheme = scheme
        self.config_path = config_path
        port = port or free_port()  # a restart passes the port it had, so Prometheus sees the same target
        # wrapper runs the exporter through another command, e.g. ["ip", "netns", "exec", NS]
        command = [*(wrapper or []), sys.executable, "-m", "exporter", f"--config.file={config_path}",
                   f"--web.listen-address={self.host}:{port}", "--log.level=debug", *(extra_args or [])]
        super().__init__(command, config_path.with_suffix(".log"), port, env={**os.environ, "PYTHONPATH": str(ROOT)})

    def scrape(self) -> Samples:
        status, body, _ = http_get(f"{self.url}/metrics")
        assert status == 200, status
        return parse_metrics(body.decode())

    def reload(self) -> tuple[int, bytes]:
        status, body, _ = http_get(f"{self.url}/-/reload", method="POST")
        return status, body

    def signal(self, sig: int = signal.SIGHUP) -> None:
        self.proc.send_signal(sig)
