"""Stored history for tests: a site's series in the exporter's contract, written as OpenMetrics and turned
into a real Prometheus TSDB by `promtool tsdb create-blocks-from openmetrics`.

A `Site` is described by the stretches when things were wrong (global lost, time sources silent, SPSE
answering 504, the exporter not scraped); `openmetrics` writes every 15 s sample the real exporter and
Prometheus would have stored, including `up`, ALERTS and `spse:probable_cause` when given.
"""

from __future__ import annotations

import subprocess
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

PROMTOOL_BIN = "/usr/bin/promtool"
STEP = 15
Stretch = tuple[float, float]


def at(text: str, zone: str) -> float:
    """Unix time of 'YYYY-MM-DD HH:MM[:SS]' in an IANA zone."""
    fmt = "%Y-%m-%d %H:%M:%S" if text.count(":") == 2 else "%Y-%m-%d %H:%M"
    return datetime.strptime(text, fmt).replace(tzinfo=ZoneInfo(zone)).timestamp()


def inside(t: float, stretches: list) -> bool:
    return any(s[0] <= t < s[1] for s in stretches)


@dataclass
class Site:
    name: str
    timezone: str | None  # spse.timezone in the exporter's config, None: not configured
    start: float
    end: float
    gateway_lost: list[Stretch] = field(default_factory=list)
    national_lost: list[Stretch] = field(default_factory=list)
    global_lost: list[Stretch] = field(default_factory=list)
    groups: tuple[str, ...] = ("gateway", "national", "global")  # the upstream groups configured
    sources_lost: list[Stretch] = field(default_factory=list)
    # (from, to, status code): a 200 is SPSE's error page (reason spse_error), "0" no answer in time (timeout,
    # no response counted), other codes fail as http_status
    spse_down: list[tuple[float, float, str]] = field(default_factory=list)
    exporter_down: list[Stretch] = field(default_factory=list)
    kernel_unsynchronized: list[Stretch] | None = None  # None: the exporter is not on the SPSE host
    vantage: str | None = None  # "site": the series as a site remote-writes them to the watcher
    outside_down: list[Stretch] | None = None  # None: no outside watcher
    alerts: list[tuple[str, float, float, str]] = field(default_factory=list)  # (alertname, from, to, severity)
    probable_cause: list[tuple[float, float, str]] = field(default_factory=list)

    def labels(self, **extra) -> str:
        labels = {"job": "spse-exporter", "instance": "exporter:10040", "site": self.name,
                  **({"vantage": self.vantage} if self.vantage else {}), **extra}
        return "{" + ",".join(f'{k}="{v}"' for k, v in labels.items()) + "}"

    def samples(self):
        """(family, type, series name, labels, value, time) for every sample, in time order."""
        counters = defaultdict(int)
        t = self.start
        while t < self.end:
            if inside(t, self.exporter_down):
                yield "up", "gauge", "up", self.labels(), 0, t
                # the site's Alertmanager, sent to the watcher with the site's label, answered meanwhile
                yield "up", "gauge", "up", self.labels(job="alertmanager", instance="alertmanager:9093"), 1, t
            else:
                yield from self.scrape(t, counters)
            if self.outside_down is not None:
                yield ("spse_http_probe_success", "gauge", "spse_http_probe_success",
                       self.labels(target=self.name, vantage="outside", instance="watcher:10040"),
                       0 if inside(t, self.outside_down) else 1, t)
            for name, begin, end, severity in self.alerts:
                if begin <= t < end:
                    yield ("ALERTS", "gauge", "ALERTS", '{alertname="%s",alertstate="firing",severity="%s",site="%s"}'
                           % (name, severity, self.name), 1, t)
            for begin, end, cause in self.probable_cause:
                if begin <= t < end:
                    yield ("spse:probable_cause", "gauge", "spse:probable_cause",
                           f'{{cause="{cause}",site="{self.name}"}}', 1, t)
            t += STEP

    def scrape(self, t: float, counters: dict):
        """One scrape of the exporter at `t`: what it reports and what Prometheus adds (`up`)."""
        down = [code for begin, end, code in self.spse_down if begin <= t < end]
        code = down[0] if down else "200"
        counters[code] += 1
        reason = {"200": "spse_error", "0": "timeout"}.get(code, "http_status")
        if down:
            counters[reason] += 1
        target = self.labels(target=self.name)
        lost = {"gateway": self.gateway_lost, "national": self.national_lost, "global": self.global_lost}
        reachable = 0 if inside(t, self.sources_lost) else 2
        yield "up", "gauge", "up", self.labels(), 1, t
        yield "spse_exporter_build_info", "gauge", "spse_exporter_build_info", self.labels(version="0.1.0"), 1, t
        yield "spse_http_probe_success", "gauge", "spse_http_probe_success", target, 0 if down else 1, t
        for each in ["200", *sorted({code for _, _, code in self.spse_down} - {"0"})]:
            yield ("spse_http_responses", "counter", "spse_http_responses_total",
                   self.labels(target=self.name, code=each), counters[each], t)
        for each in ("http_status", "spse_error", "timeout"):
            yield ("spse_http_probe_failures", "counter", "spse_http_probe_failures_total",
                   self.labels(target=self.name, reason=each), counters[each], t)
        for group in self.groups:
            yield ("spse_upstream_probe_success", "gauge", "spse_upstream_probe_success",
                   self.labels(group=group, check=f"tcp://{group}.test:443"), 0 if inside(t, lost[group]) else 1, t)
        yield "spse_clock_sources_reachable", "gauge", "spse_clock_sources_reachable", self.labels(), reachable, t
        yield "spse_clock_sources_configured", "gauge", "spse_clock_sources_configured", self.labels(), 2, t
        if self.kernel_unsynchronized is not None:
            yield ("spse_host_clock_synchronized", "gauge", "spse_host_clock_synchronized", self.labels(),
                   0 if inside(t, self.kernel_unsynchronized) else 1, t)
        if self.timezone:  # the target's spse.timezone
            offset = datetime.fromtimestamp(t, ZoneInfo(self.timezone)).utcoffset().total_seconds()
            yield "spse_site_utc_offset_seconds", "gauge", "spse_site_utc_offset_seconds", target, offset, t
        if reachable:
            yield "spse_clock_offset_seconds", "gauge", "spse_clock_offset_seconds", self.labels(), 0.012, t


def openmetrics(sites: list[Site]) -> str:
    """OpenMetrics text of every site, each family's samples together and each series in time order."""
    families: dict[str, tuple[str, dict[str, list[str]]]] = {}
    for site in sites:
        for family, kind, name, labels, value, t in site.samples():
            families.setdefault(family, (kind, defaultdict(list)))[1][name + labels].append(f"{value} {t:.0f}")
    lines = []
    for family, (kind, series) in families.items():
        lines.append(f"# TYPE {family} {kind}")
        for key, points in series.items():
            lines.extend(f"{key} {point}" for point in points)
    return "\n".join(lines) + "\n# EOF\n"


def create_blocks(sites: list[Site], tmp_dir: Path, storage: Path) -> None:
    """Write the sites' history as TSDB blocks into `storage`, for a Prometheus started on it."""
    source = tmp_dir / "history.om"
    source.write_text(openmetrics(sites))
    subprocess.run([PROMTOOL_BIN, "tsdb", "create-blocks-from", "openmetrics", str(source), str(storage)],
                   check=True, capture_output=True, timeout=120)
