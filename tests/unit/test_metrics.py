"""Metrics in-process: a reload that removes a target, its application check or the clock leaves none of
their series, counters, rounds or /probes entries behind."""

from __future__ import annotations

import asyncio
import re
from datetime import datetime, timezone
from http import HTTPStatus

import yaml

from exporter.config import parse_config
from exporter.metrics import Metrics
from exporter.probes import ProbeResult, clock, http, spse_app, upstream
from exporter.probes.clock import ClockRound
from exporter.probes.http import PHASES, HttpResult, probe_http
from exporter.probes.kind import ProbeKey
from exporter.probes.ntp import NtpResult
from exporter.probes.spse_app import AppCheck
from exporter.probes.spse_page import SpsePage
from exporter.probes.timex import HostClock
from exporter.scheduler import Scheduler, jobs_for
from tests.support import parse_metrics

BEFORE = {"targets": [{"name": "a", "url": "https://a.example/eproc4", "spse": True},
                      {"name": "b", "url": "https://b.example/eproc4", "spse": True}],
          "clock": {"servers": ["ntp1.example"], "host_kernel": True},
          "upstream": {"global": ["tcp://192.0.2.1:53"]}}
AFTER = {"targets": [{"name": "b", "url": "https://b.example/eproc4", "spse": {"app_check": False}}]}


def freeze_now(monkeypatch, moment: datetime) -> None:
    """The exporter's metrics read the time at `moment`, in whatever zone they ask for."""
    import exporter.probes.http

    class Frozen(datetime):
        @classmethod
        def now(cls, tz=None):
            return moment.astimezone(tz)
    monkeypatch.setattr(exporter.probes.http, "datetime", Frozen)


def answered(url: str, page: SpsePage | None = None) -> HttpResult:
    """A front-page probe of `url` that succeeded, with what SPSE's page said."""
    return HttpResult(True, "", "ok", 0.1, 200, dict.fromkeys(PHASES, 0.0), None, None, 10, 0, 4, url, page)


def test_a_reload_drops_everything_of_what_it_removed():
    config = parse_config(yaml.safe_dump(BEFORE))
    metrics = Metrics()
    ok = HttpResult(True, "", "ok", 0.1, 200, dict.fromkeys(PHASES, 0.01), None, None, 10, 0, 4, "https://a.example/")
    for target in config.targets:
        http.record(metrics, ProbeKey("http", target.name), target, ok)
        spse_app.record(metrics, ProbeKey("spse_app", target.name), AppCheck(target), ok)
    clock.record(metrics, ProbeKey("clock"), config.clock,
                 ClockRound([NtpResult(True, "", "ok", 0.01, 0.001, 0.01, 2)], HostClock(True, 0.001, 0.01, 0.0, 0)))
    upstream.record(metrics, ProbeKey("upstream", "global"), config.upstream[0], [ProbeResult(True, "", "ok", 0.01)])
    before = metrics.exposition.render().decode()
    assert 'spse_app_probe_success{target="a"}' in before and "spse_host_clock_synchronized" in before

    metrics.retain({key for key in jobs_for(parse_config(yaml.safe_dump(AFTER))) if key[0] != "clock"})
    after = [line for line in metrics.exposition.render().decode().splitlines()
             if line.startswith("spse_") and not line.startswith("spse_exporter_build_info")]
    kept = [line for line in after if 'target="b"' in line and not line.startswith("spse_app")
            or 'probe="http",name="b"' in line]
    left_over = [line for line in after if line not in kept]
    assert after and not left_over, left_over
    assert list(metrics.last_results()) == ["http/b"]
    assert metrics.clock_offset is None


def test_every_probe_counts_rounds_from_0_and_a_reload_shows_its_new_interval_at_once():
    """SPSEProbesStale needs every probe's round counter from the probe's start (or a probe that never completes a
    round never goes stale) and a new interval when the job restarts with it (or a lengthened one reads as stale
    until the first round under it). The scheduler is stopped before any probe runs."""
    async def scenario() -> tuple[str, str]:
        metrics = Metrics()
        scheduler = Scheduler(metrics)
        try:
            scheduler.apply(parse_config(yaml.safe_dump(BEFORE)))
            started = metrics.exposition.render().decode()
            http.record(metrics, ProbeKey("http", "b"), parse_config(yaml.safe_dump(BEFORE)).targets[1],
                                answered("https://b.example/eproc4"))
            scheduler.apply(parse_config(yaml.safe_dump({**BEFORE, "interval": "1m"})))
            return started, metrics.exposition.render().decode()
        finally:
            await scheduler.stop()

    started, reloaded = asyncio.run(scenario())
    samples = parse_metrics(started)
    probes = {("http", "a"): 15, ("http", "b"): 15, ("spse_app", "a"): 300, ("spse_app", "b"): 300,
              ("ntp", "ntp1.example"): 15, ("upstream", "global"): 15}
    for (probe, name), interval in probes.items():
        assert samples.get_value("spse_probe_rounds_total", probe=probe, name=name) == 0, (probe, name)
        assert samples.get_value("spse_probe_interval_seconds", probe=probe, name=name) == interval, (probe, name)
    samples = parse_metrics(reloaded)
    assert samples.get_value("spse_probe_rounds_total", probe="http", name="b") == 1  # a reload does not reset it
    assert samples.get_value("spse_probe_interval_seconds", probe="http", name="b") == 60
    assert samples.get_value("spse_http_probe_success", target="b") == 1  # the round's other series stay


def test_site_utc_offset_is_the_zones_offset_now(monkeypatch):
    """Read at the zone's own wall time: 06:30 UTC on 8 March 2026 is 01:30 EST in New York, before its change to
    summer time; read as a New York wall time it was already EDT."""
    freeze_now(monkeypatch, datetime(2026, 3, 8, 6, 30, tzinfo=timezone.utc))
    config = parse_config(yaml.safe_dump({"targets": [
        {"name": "ny", "url": "https://ny.example/", "spse": {"timezone": "America/New_York"}}]}))
    metrics = Metrics()
    http.record(metrics, ProbeKey("http", config.targets[0].name), config.targets[0], answered("https://ny.example/"))
    assert 'spse_site_utc_offset_seconds{target="ny"} -18000\n' in metrics.exposition.render().decode()


def test_site_holiday_is_read_on_the_sites_own_date(monkeypatch):
    """17:30 UTC on 23 December 2026 is already 24 December at a WITA site (a declared holiday), still the 23rd in
    UTC: the day the working hours skip is the site's."""
    freeze_now(monkeypatch, datetime(2026, 12, 23, 17, 30, tzinfo=timezone.utc))
    config = parse_config(yaml.safe_dump({"holidays": ["2026-12-24/2026-12-26"], "targets": [
        {"name": name, "url": "https://x.example/", "spse": {"timezone": zone}} for name, zone in (("wita", "WITA"),
                                                                                                  ("utc", "UTC"))]}))
    metrics = Metrics()
    for target in config.targets:
        http.record(metrics, ProbeKey("http", target.name), target, answered("https://x.example/"))
    text = metrics.exposition.render().decode()
    assert 'spse_site_holiday{target="wita"} 1\n' in text and 'spse_site_holiday{target="utc"} 0\n' in text, text


def test_data_age_is_working_time_so_monday_morning_is_fresh(monkeypatch):
    """Monday 30 November 2026, 08:30 WITA: data updated Friday 16:00 is 30 working minutes old (64.5 hours by the
    wall clock, the weekly false page this replaced); no "Update terakhir", no age. It is working hours."""
    monday = datetime(2026, 11, 30, 0, 30, tzinfo=timezone.utc)
    freeze_now(monkeypatch, monday)
    config = parse_config(yaml.safe_dump({"targets": [
        {"name": name, "url": "https://x.example/", "spse": {"timezone": "WITA"}} for name in ("fresh", "blank")]}))
    friday = monday.timestamp() - 64.5 * 3600
    metrics = Metrics()
    for target, page in zip(config.targets, (SpsePage("spse", data_updated_at=friday), SpsePage("spse"))):
        http.record(metrics, ProbeKey("http", target.name), target, answered("https://x.example/", page))
    samples = parse_metrics(metrics.exposition.render().decode())
    assert samples.get_value("spse_data_age_working_seconds", target="fresh") == 1800
    assert samples.get_value("spse_data_age_working_seconds", target="blank") is None
    assert samples.get_value("spse_site_working_time", target="fresh") == 1
    assert samples.get_value("spse_data_max_age_seconds", target="fresh") == 8 * 3600  # one working day


def test_a_reload_that_turns_spse_on_preinitialises_its_reasons():
    """Counters outlive a reload; the reasons and codes the new settings add must still start at 0, or the first
    spse_error is a new series whose increase() is 0 and the alert's description says reason "unknown"."""
    metrics = Metrics()
    ok = answered("https://s.example/")
    for spse, codes in ((False, []), (True, [200, 203])):
        target = parse_config(yaml.safe_dump({"targets": [
            {"name": "s", "url": "https://s.example/", "spse": spse, "valid_status_codes": codes}]})).targets[0]
        http.record(metrics, ProbeKey("http", target.name), target, ok)
    text = metrics.exposition.render().decode()
    assert 'spse_http_probe_failures_total{target="s",reason="spse_error"} 0\n' in text
    assert 'spse_http_responses_total{target="s",code="203"} 0\n' in text


def test_a_server_rotating_status_codes_adds_few_code_series(spse):
    """A broken or hostile server answering status after status, on loopback: registered statuses (504, 418)
    and the target's valid ones (299) keep their own `code`, any other in 200-599 counts under its class
    ("5xx"), and 600-999 are no HTTP status at all: protocol failures, counted under no code."""
    target = parse_config(yaml.safe_dump({"targets": [
        {"name": "odd", "url": spse.url, "timeout": "2s", "valid_status_codes": [200, 299]}]})).targets[0]
    metrics = Metrics()
    statuses = [200, 226, 227, 298, 299, 418, 420, 499, *range(500, 600), 600, 799, 999]

    async def rotate():
        for status in statuses:
            spse.set("status", status=status)
            result = await probe_http(target)
            http.record(metrics, ProbeKey("http", target.name), target, result)
            if status >= 600:
                assert (result.reason, result.status_code) == ("protocol", 0), (status, result)
    asyncio.run(rotate())

    samples = parse_metrics(metrics.exposition.render().decode())
    codes = {dict(labels)["code"]: value for labels, value in samples.series("spse_http_responses_total").items()}
    registered = {str(status.value) for status in HTTPStatus}
    assert all(code in registered | {"299"} or re.fullmatch("[2-5]xx", code) for code in codes), sorted(codes)
    assert {"227", "298", "420", "499", "520", "599", "600", "799", "999"}.isdisjoint(codes), sorted(codes)
    assert codes["504"] == codes["418"] == codes["299"] == codes["226"] == codes["200"] == 1
    assert (codes["2xx"], codes["4xx"]) == (2, 2)
    assert codes["5xx"] == len(set(range(500, 600)) - {status.value for status in HTTPStatus})  # 509, 520, 599, ...
    assert samples.get_value("spse_http_probe_failures_total", target="odd", reason="protocol") == 3
    assert samples.get_value("spse_http_status_code", target="odd") == 0  # the last, 999
