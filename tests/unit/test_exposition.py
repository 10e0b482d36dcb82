"""/metrics byte for byte after a representative run of every probe kind: what Prometheus, the rules and the
dashboards read must not change when the code behind it is reshaped. The run goes through the scheduler's
registration and each kind's own `record`, at a frozen time; only the process collector's lines are left out.

When a change to the exposition is meant, regenerate the pinned page with SPSE_PIN_EXPOSITION=write and say why
in the commit (and give rules and dashboards a migration note when a name changes)."""

from __future__ import annotations

import asyncio
import os
import time
from datetime import datetime, timezone

import yaml

from exporter import __version__
from exporter.config import parse_config
from exporter.metrics import Metrics
from exporter.probes import ProbeResult
from exporter.probes.clock import ClockRound
from exporter.probes.host_time import HostTimeRound, HostTimeSource
from exporter.probes.http import PHASES, HttpResult
from exporter.probes.ntp import NtpResult
from exporter.probes.spse_page import SpsePage
from exporter.probes.timex import HostClock
from exporter.scheduler import Scheduler, jobs_for
from tests.support import ROOT
from tests.unit.test_metrics import freeze_now

PINNED = ROOT / "tests" / "golden" / "exposition_representative.prom"
MOMENT = datetime(2026, 12, 7, 3, 30, tzinfo=timezone.utc)  # a Monday, 10.30 WIB: working time
CONFIG = {
    "holidays": ["2026-12-25"],
    "targets": [{"name": "lpse-a", "url": "https://a.example/eproc4", "valid_status_codes": [200, 302],
                 "spse": {"timezone": "WITA"}},
                {"name": "lpse-b", "url": "http://b.example/eproc4", "interval": "30s"}],
    "clock": {"servers": [{"host": "ntp1.example", "via": "national"}, "ntp2.example:1123"],
              "reference_servers": ["ref.example"], "host_kernel": True},
    "upstream": {"national": ["tcp://192.0.2.1:443", "dns://192.0.2.53/lpse.contoh.example?type=AAAA"],
                 "custom_site": ["https://site.example/health"]},
    "host_time": {"daemon": "chrony"},
}


def http_result(success: bool, reason: str, status: int, duration: float, page: SpsePage | None = None,
                date_offset: float | None = None) -> HttpResult:
    return HttpResult(success, reason, "message", duration, status, {p: 0.0125 * (i + 1) for i, p in enumerate(PHASES)},
                      date_offset, 1798675200.0 if page else None, 51234, 1, 4, "https://a.example/eproc4", page)


def results_for(config) -> dict[tuple, list]:
    """Two rounds of each job: a failure among them, so that counters, codes and the histogram move."""
    page = SpsePage("spse", version="4.5u20230214", data_updated_at=MOMENT.timestamp() - 5400)
    ntp_ok, ntp_late = NtpResult(True, "", "ok", 0.02, 0.25, 0.031, 2), NtpResult(True, "", "ok", 0.03, 0.75, 0.029, 3)
    sources = (HostTimeSource("192.0.2.123", "server", "*", 2, 0o377, "national"),
               HostTimeSource("198.51.100.7", "server", "-", 3, 0, "unknown"),
               HostTimeSource("198.51.100.7", "server", "+", 3, 0o17, "unknown"))
    return {  # the clock first: the SPSE servers' clock offset needs its reference
        ("clock", ""): [ClockRound([ntp_ok, NtpResult(False, "timeout", "no answer", 3.0), ntp_late],
                                   HostClock(True, 0.0015, 0.25, 0.0, 0)),
                        ClockRound([ntp_ok, ntp_ok, ntp_late], HostClock(False, 16.0, 16.0, 0.5, 64))],
        ("http", "lpse-a"): [http_result(True, "", 200, 0.3, page, date_offset=-119.5),
                             http_result(False, "http_status", 504, 12.0, page, date_offset=-119.5)],
        ("http", "lpse-b"): [http_result(False, "timeout", 0, 10.0), http_result(True, "", 799, 0.07)],
        ("spse_app", "lpse-a"): [http_result(False, "no_token", 200, 1.5), http_result(True, "", 200, 0.9)],
        ("upstream", "national"): [[ProbeResult(True, "", "ok", 0.012), ProbeResult(False, "rcode", "SERVFAIL", 0.3)],
                                   [ProbeResult(True, "", "ok", 0.011), ProbeResult(True, "", "ok", 0.05)]],
        ("upstream", "custom_site"): [[ProbeResult(False, "tls", "bad certificate", 0.2)]],
        ("host_time", ""): [HostTimeRound("chrony", sources, True)],
    }


def representative_page(monkeypatch) -> str:
    freeze_now(monkeypatch, MOMENT)
    monkeypatch.setattr(time, "time", MOMENT.timestamp)
    config = parse_config(yaml.safe_dump(CONFIG))
    metrics = Metrics()
    metrics.config_loaded(True)

    async def register() -> None:  # what a start does: jobs registered, none run (each waits for its offset)
        scheduler = Scheduler(metrics)
        scheduler.apply(config)
        await scheduler.stop()
    asyncio.run(register())
    jobs = jobs_for(config)
    for key, rounds in results_for(config).items():
        job = jobs[key]
        for result in rounds:
            job.kind.record(metrics, job.key, job.spec, result)
    metrics.exposition.extra = None  # the process collector's CPU and memory differ from run to run
    return metrics.exposition.render().decode().replace(f'version="{__version__}"', 'version="VERSION"')


def test_exposition_of_a_representative_run_is_pinned(monkeypatch):
    page = representative_page(monkeypatch)
    if os.environ.get("SPSE_PIN_EXPOSITION") == "write":
        PINNED.write_text(page)
    assert page == PINNED.read_text()
    # The pin covers every kind's families, not a page of headers only.
    for name in ("spse_http_responses_total{target=\"lpse-b\",code=\"7xx\"} 1", "spse_app_probe_failures_total",
                 "spse_ntp_stratum", "spse_host_clock_synchronized 0", "spse_upstream_group_reachable_ratio",
                 "spse_host_time_source_reachable", "spse_data_age_working_seconds", "spse_probe_rounds_total",
                 "spse_http_server_clock_offset_seconds{target=\"lpse-a\"} -119.75"):
        assert name in page, name
