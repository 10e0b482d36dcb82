"""Scrape /metrics from many concurrent clients while every probe hangs; report latency and memory.

    python3 -m bench.scrape_load --clients 8 32 48 --seconds 60 --targets 50 [--pause 0.1]

Loopback only. Every SPSE target answers nothing until the probe's deadline, every time source and
DNS server is silent, so the probe loop is as busy and stuck as it gets while the clients scrape,
each on its own kept-alive connection (as Prometheus does): back to back, or `--pause` seconds
apart. The figures go to docs/reliability.md; tests/integration/test_scrape_load.py runs a short version in CI.
"""

from __future__ import annotations

import argparse
import http.client
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from tests.fakes import FakeDNS, FakeNTP, FakeSPSE
from tests.support import ExporterProcess, proc_status

MAX_CLIENTS = 1000  # below the exporter's cap of 1,024 connections, which closes the rest by design
RSS_EVERY = 0.5


@dataclass
class LoadReport:
    clients: int
    pause: float
    seconds: float
    scrapes: int
    errors: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    rss_mib: list[float]  # sampled every RSS_EVERY seconds

    @property
    def rss_growth_mib(self) -> float:
        """Growth after the first quarter of the run (thread stacks, buffers and caches warm up there)."""
        warm = self.rss_mib[len(self.rss_mib) // 4:]
        return warm[-1] - warm[0]

    def markdown(self) -> str:
        return (f"| {self.clients} | {self.pause * 1000:g} ms | {self.seconds:g} s | {self.scrapes} | {self.errors} | {self.p50_ms:.1f} | "
                f"{self.p99_ms:.1f} | {self.max_ms:.1f} | {self.rss_mib[0]:.1f} → {max(self.rss_mib):.1f} → "
                f"{self.rss_mib[-1]:.1f} | {self.rss_growth_mib:+.1f} |")


class HangingWorld:
    """Fakes that hold every probe until its deadline, and an exporter probing `targets` of them."""

    def __init__(self, targets: int, workdir: Path, interval: float = 2.0, timeout: float = 1.5):
        self.site, self.ntp, self.dns = FakeSPSE(), FakeNTP(), FakeDNS()
        self.site.set("hang")
        self.ntp.set("silent")
        self.dns.set("silent")
        config = {
            "interval": f"{interval * 1000:g}ms", "timeout": f"{timeout * 1000:g}ms",
            "targets": [{"name": f"lpse-{i:03d}", "url": self.site.url} for i in range(targets)],
            "clock": {"servers": [self.ntp.address]},
            "upstream": {"national": [f"dns://{self.dns.address}/lpse.contoh.example", f"ntp://{self.ntp.address}"]},
        }
        path = workdir / "load.yml"
        path.write_text(yaml.safe_dump(config))
        self.exporter = ExporterProcess(path)
        self.exporter.wait_ready(timeout=30)

    def close(self) -> None:
        self.exporter.stop()
        for fake in (self.site, self.ntp, self.dns):
            fake.close()


def _client(host: str, port: int, pause: float, deadline: float, latencies: list[float], errors: list[str]) -> None:
    connection = http.client.HTTPConnection(host, port, timeout=10)
    while time.monotonic() < deadline:
        began = time.monotonic()
        try:
            connection.request("GET", "/metrics")
            response = connection.getresponse()
            body = response.read()
            if response.status != 200 or b"spse_http_probe_success" not in body:
                errors.append(f"status {response.status}")
        except (OSError, http.client.HTTPException) as err:
            errors.append(repr(err))
            connection.close()
        latencies.append(time.monotonic() - began)
        time.sleep(pause)  # pacing between scrapes, not a wait for something
    connection.close()


def run_load(exporter: ExporterProcess, clients: int, seconds: float, pause: float = 0.0) -> LoadReport:
    """`clients` threads scrape `exporter` for `seconds`, `pause` apart; its RSS is sampled meanwhile."""
    if not 1 <= clients <= MAX_CLIENTS:
        raise ValueError(f"clients must be 1..{MAX_CLIENTS}")
    latencies: list[float] = []  # list.append is atomic: the threads share these
    errors: list[str] = []
    deadline = time.monotonic() + seconds
    threads = [threading.Thread(target=_client, args=(exporter.host, exporter.port, pause, deadline, latencies, errors))
               for _ in range(clients)]
    for thread in threads:
        thread.start()
    rss = []
    while time.monotonic() < deadline:
        rss.append(proc_status(exporter.proc.pid, "VmRSS") / 1024)
        time.sleep(RSS_EVERY)  # a sampling period, not a wait for something
    for thread in threads:
        thread.join(15)
    rss.append(proc_status(exporter.proc.pid, "VmRSS") / 1024)
    ordered = sorted(latencies)
    return LoadReport(clients, pause, seconds, len(latencies), len(errors),
                      p50_ms=statistics.median(ordered) * 1000,
                      p99_ms=statistics.quantiles(ordered, n=100)[98] * 1000,
                      max_ms=ordered[-1] * 1000, rss_mib=rss)


HEADER = ("| clients | pause | duration | scrapes | errors | p50 ms | p99 ms | max ms "
          "| exporter RSS MiB (start → max → end) | growth after warm-up MiB |\n|---|---|---|---|---|---|---|---|---|---|")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[8, 32, 48])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--targets", type=int, default=50, help="hanging SPSE targets the exporter probes")
    parser.add_argument("--pause", type=float, nargs="+", default=[0.0], help="seconds between a client's scrapes")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as workdir:
        world = HangingWorld(args.targets, Path(workdir))
        try:
            print(f"{args.targets} hanging targets, a silent time source and DNS server; interval 2s, timeout 1.5s")
            print(HEADER)
            for pause in args.pause:
                for clients in args.clients:
                    print(run_load(world.exporter, clients, args.seconds, pause).markdown(), flush=True)
        finally:
            world.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
