"""The two exporters under test, each started, driven and counted the way Prometheus would use it.

spse-exporter probes on its own schedule and is scraped once per interval. blackbox_exporter
probes when asked: one `/probe?target=` request per target per interval, at a stable offset
inside the interval, as Prometheus' scrape loops do. Both run the same checks: a site's (the
default profile: spse-exporter also runs its clock round and upstream checks) or the watcher's
(exporter/examples/watcher.yml's target settings, nothing else).
"""

from __future__ import annotations

import asyncio
import re
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import h11
import yaml

from bench.client import Client
from bench.procs import pinned
from tests.fakes import free_port
from tests.support import ROOT, ServerProcess

BLACKBOX = "/usr/bin/prometheus-blackbox-exporter"
ERROR_PAGE_PATTERN = "(?i)terjadi error pada aplikasi SPSE"
START_TIMEOUT = 60.0
# Reading a config takes about 0.7 ms of CPU per HTTPS target (3.4 s for 5,000), and a first round that fills
# the core queues its probes: a large config gets this much longer to come up, per target.
START_PER_TARGET = 0.01
# Prometheus tells blackbox its scrape timeout; blackbox subtracts --timeout-offset (0.5 s) from it.
TIMEOUT_OFFSET = 0.5
WATCHER_EXAMPLE = ROOT / "exporter" / "examples" / "watcher.yml"
SITE_CHECKS = {"valid_status_codes": [200], "fail_if_body_matches": [ERROR_PAGE_PATTERN]}
# spse-exporter's target checks and the blackbox http module's settings that do the same
BLACKBOX_CHECKS = {"valid_status_codes": "valid_status_codes", "fail_if_body_matches": "fail_if_body_matches_regexp",
                   "fail_if_body_not_matches": "fail_if_body_not_matches_regexp"}
PROFILES = ("site", "watcher")


@dataclass(frozen=True)
class Case:
    """One benchmark run: N targets of one scheme, probed every `interval` seconds."""

    targets: int
    scheme: str
    duration: float
    interval: float
    timeout: float
    host: str
    cpu: int | None  # CPU to pin the exporter to, or None
    exporter_root: str = str(ROOT)  # the spse-exporter checkout to run (another one for before/after figures)
    profile: str = "site"  # one of PROFILES: whose checks the targets run, and whether the clock and upstream run


def duration(seconds: float) -> str:
    """15 -> '15s', 1.333 -> '1333ms': the exporter's duration form."""
    ms = round(seconds * 1000)
    return f"{ms // 1000}s" if ms % 1000 == 0 else f"{ms}ms"


def watcher_example() -> tuple[dict, dict]:
    """exporter/examples/watcher.yml: its top-level settings and the checks of its first target (less name, url)."""
    example = yaml.safe_load(WATCHER_EXAMPLE.read_text())
    target = {key: value for key, value in example["targets"][0].items() if key not in ("name", "url")}
    return {key: value for key, value in example.items() if key != "targets"}, target


def target_checks(profile: str) -> dict:
    """What each target checks in `profile`: the settings an spse-exporter target carries besides name, url, tls."""
    return SITE_CHECKS if profile == "site" else watcher_example()[1]


def blackbox_checks(checks: dict) -> dict:
    """The blackbox http module's settings for spse-exporter's target `checks`; a check it cannot do is an error."""
    missing = sorted(set(checks) - set(BLACKBOX_CHECKS))
    if missing:
        raise ValueError(f"bench/subjects.py: no blackbox_exporter setting does what {', '.join(missing)} does; "
                         "add it to BLACKBOX_CHECKS or the exporters would not run the same probes")
    return {BLACKBOX_CHECKS[key]: value for key, value in checks.items()}


@dataclass
class Tally:
    """Probes an exporter has finished so far (all time), and how many of them failed."""

    completed: int = 0
    failed: int = 0
    seconds: float = 0.0  # the probes' durations as each exporter measured them, summed


def probe_duration(body: bytes) -> float:
    """blackbox_exporter's `probe_duration_seconds` in one /probe answer (0 where it has none)."""
    match = re.search(rb"^probe_duration_seconds (\S+)$", body, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


class SpseProcess(ServerProcess):
    name = "spse-exporter"


class BlackboxProcess(ServerProcess):
    name = "blackbox_exporter"
    ready_path = "/-/healthy"  # 0.23 has no /-/ready


def spse_target(index: int, url: str, ca_file: Path | None, checks: dict = SITE_CHECKS) -> dict:
    """One SPSE target in spse-exporter's config, checked as blackbox_exporter's module checks it."""
    tls = {"tls": {"ca_file": str(ca_file)}} if ca_file else {}
    return {"name": f"site{index:04d}", "url": url, **checks, **tls}


def target_urls(case: Case, world: dict) -> list[str]:
    return [f"{case.scheme}://{case.host}:{site['port']}/eproc4" for site in world["sites"]]


async def scrape_times(client: Client, count: int, pause: float) -> tuple[list[float], int]:
    """Time `count` gzip scrapes of /metrics to the last byte (not decoded); return the times and the page size.

    blackbox_exporter's /metrics holds only its own process and Go metrics: each probe's results come with
    its /probe answer instead, so its scrape time stays the same at any number of targets."""
    loop = asyncio.get_running_loop()
    times = []
    for _ in range(count):
        began = loop.time()
        await client.get("/metrics", headers={"Accept-Encoding": "gzip"})
        times.append(loop.time() - began)
        await asyncio.sleep(pause)
    return times, len((await client.get("/metrics"))[1])


class SpseExporter:
    name = "spse-exporter"

    def __init__(self, case: Case, world: dict, workdir: Path, ca_file: Path):
        self.case, self.world, self.workdir, self.ca_file = case, world, workdir, ca_file
        self.port = free_port()
        self.client = Client("127.0.0.1", self.port, timeout=30)
        self.process: SpseProcess | None = None

    def config(self) -> dict:
        ca_file = self.ca_file if self.case.scheme == "https" else None
        checks = target_checks(self.case.profile)
        config = {
            "interval": duration(self.case.interval),
            "timeout": duration(self.case.timeout),
            "targets": [spse_target(i, url, ca_file, checks)
                        for i, url in enumerate(target_urls(self.case, self.world))],
        }
        if self.case.profile == "watcher":  # the watcher's exporter probes the sites and nothing else
            return config
        ntp, anchors = self.world["ntp"], self.world["anchors"]
        return {
            **config,
            "clock": {"servers": ntp},
            "upstream": {"gateway": [f"tcp://{anchors[0]}"],
                         "national": [f"tcp://{anchors[1]}", f"ntp://{ntp[0]}"],
                         "global": [f"tcp://{anchors[2]}", f"ntp://{ntp[1]}"]},
        }

    async def start(self) -> None:
        path = self.workdir / f"spse-{self.case.targets}-{self.case.scheme}.yml"
        path.write_text(yaml.safe_dump(self.config()))
        command = [sys.executable, "-m", "exporter", f"--config.file={path}",
                   f"--web.listen-address=127.0.0.1:{self.port}"]
        self.process = SpseProcess(pinned(command, self.case.cpu), path.with_suffix(".log"), self.port,
                                   cwd=Path(self.case.exporter_root))
        # ready once every target finished a round: up to one interval and a timeout after the config is read
        await asyncio.to_thread(self.process.wait_ready, START_TIMEOUT + self.case.interval + self.case.timeout
                                + START_PER_TARGET * self.case.targets)

    async def drive(self) -> None:
        """Scrape /metrics once per interval, as Prometheus would (gzip, like Prometheus asks for)."""
        loop = asyncio.get_running_loop()
        due = loop.time()
        while True:
            await asyncio.sleep(max(0.0, due - loop.time()))
            await self.client.get("/metrics", headers={"Accept-Encoding": "gzip"})
            due += self.case.interval

    async def tally(self) -> Tally:
        _, body = await self.client.get("/metrics")
        tally = Tally()
        for line in body.decode().splitlines():
            if line.startswith("spse_http_probe_duration_seconds_count{"):
                tally.completed += int(float(line.rpartition(" ")[2]))
            elif line.startswith("spse_http_probe_failures_total{"):
                tally.failed += int(float(line.rpartition(" ")[2]))
            elif line.startswith("spse_http_probe_duration_seconds_sum{"):
                tally.seconds += float(line.rpartition(" ")[2])
        return tally

    def late_rounds_logged(self) -> int:
        """Rounds the scheduler itself reported as skipped because a probe ran late."""
        return sum(int(m) for m in re.findall(r"late: skipping (\d+) round", self.process.logs()))

    async def stop(self) -> None:
        if self.process:
            self.process.stop()
        self.client.close()


class Blackbox:
    name = "blackbox_exporter"

    def __init__(self, case: Case, world: dict, workdir: Path, ca_file: Path):
        self.case, self.world, self.workdir, self.ca_file = case, world, workdir, ca_file
        self.port = free_port()
        self.client = Client("127.0.0.1", self.port, timeout=case.interval)
        self.process: BlackboxProcess | None = None
        self.counts = Tally()
        self.driver_late = 0

    def config(self) -> dict:
        http = {**blackbox_checks(target_checks(self.case.profile)), "preferred_ip_protocol": "ip4"}
        if self.case.scheme == "https":
            http["tls_config"] = {"ca_file": str(self.ca_file)}
        return {"modules": {"spse": {"prober": "http", "timeout": f"{self.case.timeout:g}s", "http": http}}}

    async def start(self) -> None:
        path = self.workdir / f"blackbox-{self.case.targets}-{self.case.scheme}.yml"
        path.write_text(yaml.safe_dump(self.config()))
        command = [BLACKBOX, f"--config.file={path}", f"--web.listen-address=127.0.0.1:{self.port}",
                   "--log.level=warn"]
        self.process = BlackboxProcess(pinned(command, self.case.cpu), path.with_suffix(".log"), self.port)
        await asyncio.to_thread(self.process.wait_ready, START_TIMEOUT)

    async def drive(self) -> None:
        """One scrape loop per target, each at a stable offset inside the interval."""
        urls = target_urls(self.case, self.world)
        await asyncio.gather(*(self._scrape_loop(url) for url in urls))

    async def _scrape_loop(self, target: str) -> None:
        loop = asyncio.get_running_loop()
        interval = self.case.interval
        due = loop.time() + zlib.crc32(target.encode()) / 2**32 * interval
        headers = {"X-Prometheus-Scrape-Timeout-Seconds": f"{self.case.timeout + TIMEOUT_OFFSET:g}"}
        path = "/probe?" + urlencode({"target": target, "module": "spse"})
        while True:
            await asyncio.sleep(max(0.0, due - loop.time()))
            if loop.time() - due > 1.0:
                self.driver_late += 1
            try:
                status, body = await self.client.get(path, headers)
            except (OSError, TimeoutError, h11.ProtocolError):
                pass  # not counted as completed: the world's arrival record shows the missing round
            else:
                if status == 200:
                    self.counts.completed += 1
                    self.counts.failed += b"\nprobe_success 1\n" not in body
                    self.counts.seconds += probe_duration(body)
            due += interval
            while due < loop.time():  # Prometheus, too, skips a scrape it cannot start on time
                due += interval

    async def tally(self) -> Tally:
        return Tally(self.counts.completed, self.counts.failed, self.counts.seconds)

    def late_rounds_logged(self) -> int:
        return self.driver_late

    async def stop(self) -> None:
        if self.process:
            self.process.stop()
        self.client.close()
