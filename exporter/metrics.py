"""The metric contract: every family the exporter serves, and how probe results become samples in the store.

Rules, dashboards and tests depend on these names and labels; the README's metric table
lists the same families (a test keeps the two in step).
"""

from __future__ import annotations

import statistics
import time
from dataclasses import asdict
from datetime import datetime
from http import HTTPStatus

from prometheus_client import CollectorRegistry, PlatformCollector, ProcessCollector, generate_latest

from exporter import __version__
from exporter.config import ClockConfig, HostTimeConfig, Target, UpstreamGroup
from exporter.counters import CounterStore, Rounds
from exporter.exposition import Exposition, Family, sample
from exporter.probe_history import ProbeHistory
from exporter.probes import ProbeResult
from exporter.probes.clock import source_key
from exporter.probes.host_time import GROUPS as HOST_TIME_GROUPS
from exporter.probes.host_time import HostTimeRound
from exporter.probes.http import PHASES, HttpResult
from exporter.probes.kind import ProbeKey
from exporter.probes.ntp import SERVER_TIME_REASONS, NtpResult
from exporter.probes.timex import HostClock
from exporter.workhours import is_working_time, working_seconds

HTTP_REASONS = ("timeout", "dns", "connect", "tls", "http_status", "body_match", "protocol")
SPSE_REASONS = ("spse_error", "not_spse")  # front-page reasons of targets with `spse:` on
SPSE_APP_REASONS = ("timeout", "dns", "connect", "tls", "http_status", "protocol", "spse_error", "no_token",
                    "bad_data")
NTP_REASONS = ("timeout", "dns", "connect", "protocol", "kod", "unsynchronized", "origin_mismatch")
UPSTREAM_REASONS = {
    "tcp": ("timeout", "dns", "connect"),
    "dns": ("timeout", "dns", "connect", "protocol", "rcode", "no_answer"),
    "ntp": tuple(r for r in NTP_REASONS if r not in SERVER_TIME_REASONS),  # a check tests the path, not the time
    "http": ("timeout", "dns", "connect", "protocol", "http_status"),
    "https": ("timeout", "dns", "connect", "tls", "protocol", "http_status"),
}
# Codes whose counters exist from the start, so increase() sees the first 5xx, not only the second.
PREINITIALISED_CODES = ("500", "502", "503", "504", "5xx")
# Statuses in IANA's registry (as Python lists it) keep their own `code` label; any other only its class,
# so a peer inventing statuses adds at most five series per target.
REGISTERED_CODES = frozenset(HTTPStatus)
# Owners of the samples no probe job writes: they stay through every reload (the clock's while a time source does).
EXPORTER, CONFIG, CLOCK, ALERTMANAGER = (ProbeKey(name) for name in ("exporter", "config", "clock", "alertmanager"))

FAMILIES = [
    Family("spse_exporter_build_info", "gauge", "Always 1; the version label says which exporter build runs."),
    Family("spse_config_last_reload_successful", "gauge", "1 if the last config (re)load succeeded, 0 if it failed and the previous config still runs."),
    Family("spse_config_last_reload_success_timestamp_seconds", "gauge", "When the config was last loaded successfully."),
    Family("spse_alertmanager_receiver_info", "gauge", "Always 1 per receiver of the Alertmanager at --alertmanager.url and integration type it uses: Alertmanager counts failed notifications per type only."),
    Family("spse_http_probe_success", "gauge", "1 if the last SPSE probe got a valid status and passed the body checks."),
    Family("spse_http_status_code", "gauge", "HTTP status of the last SPSE probe's final response, 0 when there was no response."),
    Family("spse_http_responses_total", "counter", "SPSE responses seen, by status code of the final response."),
    Family("spse_http_probe_failures_total", "counter", "Failed SPSE probes by reason: timeout, dns, connect, tls, http_status, body_match, protocol; with spse: also spse_error, not_spse."),
    Family("spse_http_probe_duration_seconds", "histogram", "Whole SPSE probe duration, redirects included."),
    Family("spse_http_phase_duration_seconds", "gauge", "Last SPSE probe's time per phase: resolve, connect, tls, processing (to first byte), transfer."),
    Family("spse_http_server_clock_offset_seconds", "gauge", "SPSE server's Date header minus the reference time (local clock corrected by the median NTP offset); +-0.5s resolution; absent while no time source answers."),
    Family("spse_tls_cert_expiry_timestamp_seconds", "gauge", "Expiry (notAfter) of the certificate the SPSE site served, https only."),
    Family("spse_http_response_size_bytes", "gauge", "Body bytes read in the last SPSE probe's final response."),
    Family("spse_http_redirects", "gauge", "Redirects followed in the last SPSE probe."),
    Family("spse_http_ip_protocol", "gauge", "IP version (4 or 6) the last SPSE probe connected over, 0 before any connection."),
    Family("spse_info", "gauge", "Always 1 while the last SPSE front page named its version (footer 'SPSE v4...'); absent when it did not."),
    Family("spse_data_last_update_timestamp_seconds", "gauge", "SPSE's 'Update terakhir' time from the last front page, read in the site's time zone; absent when not shown."),
    Family("spse_data_age_working_seconds", "gauge", "Working time (Mon-Fri 08-16 in spse.timezone, holidays excluded) from 'Update terakhir' to the last front page; absent when not shown."),
    Family("spse_data_max_age_seconds", "gauge", "Configured working-time data age (spse.data_max_age) beyond which SPSEDataStale fires."),
    Family("spse_site_working_time", "gauge", "1 while it is the site's working hours (Mon-Fri 08-16 in spse.timezone, not a holiday), when SPSEDataStale may fire; else 0."),
    Family("spse_site_utc_offset_seconds", "gauge", "UTC offset of the site's configured time zone (spse.timezone), for reports in the site's time."),
    Family("spse_site_holiday", "gauge", "1 while the site's date (spse.timezone) is one of the config's holidays, which working hours skip; else 0."),
    Family("spse_app_probe_success", "gauge", "1 if the last application check (token from /lelang, one row of /dt/lelang as DataTables JSON) succeeded."),
    Family("spse_app_probe_failures_total", "counter", "Failed application checks by reason: timeout, dns, connect, tls, http_status, protocol, spse_error, no_token, bad_data."),
    Family("spse_app_probe_duration_seconds", "gauge", "Duration of the last application check, both requests."),
    Family("spse_clock_source_info", "gauge", "Always 1 per configured time source: role spse (the SPSE server's own) or reference (offset only), via national|global when set."),
    Family("spse_ntp_probe_success", "gauge", "1 if the last NTP exchange with this time source succeeded."),
    Family("spse_ntp_offset_seconds", "gauge", "Local clock offset to this time source (positive: local clock is behind)."),
    Family("spse_ntp_rtt_seconds", "gauge", "Round-trip delay of the last NTP exchange with this time source."),
    Family("spse_ntp_stratum", "gauge", "Stratum this time source reported."),
    Family("spse_ntp_probe_failures_total", "counter", "Failed NTP exchanges by reason: timeout, dns, connect, protocol, kod, unsynchronized, origin_mismatch."),
    Family("spse_clock_offset_seconds", "gauge", "Median offset over the time sources (SPSE's and reference) that answered in the last round; absent when none answered."),
    Family("spse_clock_sources_reachable", "gauge", "How many of the SPSE server's own time sources answered in the last round (0: SPSE cannot validate its time)."),
    Family("spse_clock_sources_configured", "gauge", "How many of the SPSE server's own time sources are configured (clock.servers)."),
    Family("spse_host_clock_synchronized", "gauge", "1 if the host kernel says its clock is synchronised (adjtimex not TIME_ERROR); clock.host_kernel only."),
    Family("spse_host_clock_estimated_error_seconds", "gauge", "The host kernel's estimated clock error (adjtimex esterror); clock.host_kernel only."),
    Family("spse_host_clock_maximum_error_seconds", "gauge", "The host kernel's maximum clock error (adjtimex maxerror; grows 0.5ms/s undisciplined, 16s caps it); clock.host_kernel only."),
    Family("spse_host_clock_offset_seconds", "gauge", "Offset the host kernel is still slewing (adjtimex offset; 0 when the time daemon steers the clock itself); clock.host_kernel only."),
    Family("spse_host_time_sources", "gauge", "How many sources the host's time daemon uses, per group (gateway, national, global, unknown by this config); daemon none when no daemon was found."),
    Family("spse_host_time_source_reachable", "gauge", "1 if the host's time daemon still reaches this source (its reach register is non-zero), else 0."),
    Family("spse_host_time_synchronised", "gauge", "1 if the host's time daemon says the clock is synchronised, 0 if not or if it could not be read."),
    Family("spse_upstream_probe_success", "gauge", "1 if the last upstream check succeeded."),
    Family("spse_upstream_probe_duration_seconds", "gauge", "Duration of the last upstream check."),
    Family("spse_upstream_probe_failures_total", "counter", "Failed upstream checks by reason (the reasons each check kind can fail with)."),
    Family("spse_upstream_group_reachable_ratio", "gauge", "Share of the group's checks that succeeded in the last round, 0..1."),
    Family("spse_probe_rounds_total", "counter", "Completed rounds of each probe (http and spse_app per target, ntp per server, upstream per group), 0 from the probe's start: staleness is judged by its increase, on Prometheus' clock."),
    Family("spse_last_probe_timestamp_seconds", "gauge", "When each probe last completed, by the exporter host's clock (for people; nothing alerts on it)."),
    Family("spse_probe_interval_seconds", "gauge", "Configured interval of each probe; staleness is judged against it."),
]
FAMILY_NAMES = [family.name for family in FAMILIES]


def code_label(status: int, valid: tuple[int, ...]) -> str:
    """The `code` label of a response: "504" for a registered or configured valid status, else "5xx"."""
    return str(status) if status in REGISTERED_CODES or status in valid else f"{status // 100}xx"


def _spse_page_fragments(target: Target, result: HttpResult) -> dict[str, str]:
    """What an SPSE target's front page said about itself, and the settings the SPSE rules compare it with."""
    labels, page = {"target": target.name}, result.spse
    spse = target.spse
    now = datetime.now(spse.zone)  # the zone's wall time now: right across a DST change
    fragments = {
        "spse_data_max_age_seconds": sample("spse_data_max_age_seconds", labels, spse.data_max_age),
        "spse_site_working_time": sample("spse_site_working_time", labels,
                                         int(is_working_time(now.timestamp(), spse.zone, spse.is_holiday))),
        "spse_site_utc_offset_seconds": sample("spse_site_utc_offset_seconds", labels, now.utcoffset().total_seconds()),
        "spse_site_holiday": sample("spse_site_holiday", labels, int(spse.is_holiday(now.date()))),
    }
    if page and page.version:
        fragments["spse_info"] = sample("spse_info", {**labels, "version": page.version}, 1)
    if page and page.data_updated_at is not None:
        fragments["spse_data_last_update_timestamp_seconds"] = sample(
            "spse_data_last_update_timestamp_seconds", labels, page.data_updated_at)
        fragments["spse_data_age_working_seconds"] = sample("spse_data_age_working_seconds", labels, round(
            working_seconds(page.data_updated_at, now.timestamp(), spse.zone, spse.is_holiday), 3))
    return fragments


class Metrics:
    """The store the probes record into: families of samples by owner (the exposition), the owners' counters and
    round counts, the last result of each for /probes, and the reference clock offset; `retain` forgets owners."""

    def __init__(self):
        self.exposition = Exposition(FAMILIES)
        self.counters = CounterStore()
        self.rounds = Rounds()
        self.history = ProbeHistory()
        self.clock_offset: float | None = None
        self._loaded_at: float | None = None
        process = CollectorRegistry()
        ProcessCollector(registry=process)  # the exporter's own CPU and memory, for its own health
        PlatformCollector(registry=process)
        self.exposition.extra = lambda: generate_latest(process)
        self.exposition.update(EXPORTER, {
            "spse_exporter_build_info": sample("spse_exporter_build_info", {"version": __version__}, 1)})

    def _staleness(self, key: ProbeKey, interval: float) -> dict[str, str]:
        """Count one completed round of a probe. Prometheus judges staleness by the counter's increase over a
        window of several intervals, on its own clock: a wrong clock on this host cannot make probes look stale."""
        labels = {"probe": key.kind, "name": key.name}
        return {
            "spse_probe_rounds_total": sample("spse_probe_rounds_total", labels, self.rounds.complete(key)),
            "spse_last_probe_timestamp_seconds": sample("spse_last_probe_timestamp_seconds", labels, round(time.time(), 3)),
            "spse_probe_interval_seconds": sample("spse_probe_interval_seconds", labels, interval),
        }

    def register_probe(self, key: ProbeKey, interval: float) -> None:
        """Expose a probe's interval as soon as it is configured, and a new probe's round counter at 0 before its
        first round (client_python's practice). Prometheus then sees every probe from its start, so one that never
        completes a round goes stale too, and a reloaded interval counts at once, as the job restarts with it."""
        labels = {"probe": key.kind, "name": key.name}
        fragments = {"spse_probe_interval_seconds": sample("spse_probe_interval_seconds", labels, interval)}
        if self.rounds.register(key):  # kept by a reload, the counter goes on
            fragments["spse_probe_rounds_total"] = sample("spse_probe_rounds_total", labels, 0)
        self.exposition.patch(key, fragments)

    def last_results(self) -> dict[str, dict]:
        """Last result per probe, keyed "probe/name", for the debug view."""
        return self.history.last_results()

    def config_loaded(self, success: bool) -> None:
        fragments = {"spse_config_last_reload_successful": sample("spse_config_last_reload_successful", {}, int(success))}
        if success:
            self._loaded_at = time.time()
        if self._loaded_at is not None:
            fragments["spse_config_last_reload_success_timestamp_seconds"] = sample(
                "spse_config_last_reload_success_timestamp_seconds", {}, round(self._loaded_at, 3))
        self.exposition.update(CONFIG, fragments)

    def record_http(self, owner: ProbeKey, target: Target, result: HttpResult) -> None:
        codes = tuple(dict.fromkeys((*map(str, target.valid_status_codes or (200,)), *PREINITIALISED_CODES)))
        counters = self.counters.of(owner, HTTP_REASONS + SPSE_REASONS if target.spse else HTTP_REASONS, codes)
        counters.observe(result.duration)
        if result.status_code:
            code = code_label(result.status_code, target.valid_status_codes)
            counters.codes[code] = counters.codes.get(code, 0) + 1
        counters.fail(result.reason)
        labels = {"target": target.name}
        fragments = {
            "spse_http_probe_success": sample("spse_http_probe_success", labels, int(result.success)),
            "spse_http_status_code": sample("spse_http_status_code", labels, result.status_code),
            "spse_http_responses_total": "".join(
                sample("spse_http_responses_total", {**labels, "code": code}, count)
                for code, count in sorted(counters.codes.items())),  # three characters each: "2xx" after "299"
            "spse_http_probe_failures_total": counters.failure_samples("spse_http_probe_failures_total", labels),
            "spse_http_probe_duration_seconds": counters.histogram("spse_http_probe_duration_seconds", labels),
            "spse_http_phase_duration_seconds": "".join(
                sample("spse_http_phase_duration_seconds", {**labels, "phase": phase}, round(result.phases[phase], 6))
                for phase in PHASES),
            "spse_http_response_size_bytes": sample("spse_http_response_size_bytes", labels, result.response_size),
            "spse_http_redirects": sample("spse_http_redirects", labels, result.redirects),
            "spse_http_ip_protocol": sample("spse_http_ip_protocol", labels, result.ip_version),
            **self._staleness(owner, target.interval),
        }
        if target.spse:
            fragments.update(_spse_page_fragments(target, result))
        if result.date_offset is not None and self.clock_offset is not None:  # no answering source: no reference
            offset = result.date_offset - self.clock_offset
            fragments["spse_http_server_clock_offset_seconds"] = sample(
                "spse_http_server_clock_offset_seconds", labels, round(offset, 3))
        if result.cert_expiry is not None:
            fragments["spse_tls_cert_expiry_timestamp_seconds"] = sample(
                "spse_tls_cert_expiry_timestamp_seconds", labels, result.cert_expiry)
        self.exposition.update(owner, fragments)
        record = {"url": target.url, **vars(result)}  # shallow: asdict's deep copy costs per probe
        if result.spse:
            record["spse"] = asdict(result.spse)
        self.history.remember(owner, record)

    def record_spse_app(self, owner: ProbeKey, target: Target, result: HttpResult) -> None:
        counters = self.counters.of(owner, SPSE_APP_REASONS)
        counters.fail(result.reason)
        labels = {"target": target.name}
        self.exposition.update(owner, {
            "spse_app_probe_success": sample("spse_app_probe_success", labels, int(result.success)),
            "spse_app_probe_failures_total": counters.failure_samples("spse_app_probe_failures_total", labels),
            "spse_app_probe_duration_seconds": sample("spse_app_probe_duration_seconds", labels,
                                                      round(result.duration, 6)),
            **self._staleness(owner, target.spse.app_interval),
        })
        self.history.remember(owner, {"url": result.url, **vars(result)})

    def record_clock(self, clock: ClockConfig, results: list[NtpResult], host: HostClock | None = None) -> None:
        """One round: every source's result (SPSE's own first), and the host kernel's verdict if read."""
        for source, result in zip(clock.sources, results):
            owner = source_key(source)
            counters = self.counters.of(owner, NTP_REASONS)
            counters.fail(result.reason)
            labels = {"server": source.server}
            fragments = {
                "spse_clock_source_info": sample("spse_clock_source_info", {
                    **labels, "role": source.role, **({"via": source.via} if source.via else {})}, 1),
                "spse_ntp_probe_success": sample("spse_ntp_probe_success", labels, int(result.success)),
                "spse_ntp_probe_failures_total": counters.failure_samples("spse_ntp_probe_failures_total", labels),
                **self._staleness(owner, clock.interval),
            }
            if result.success:
                fragments["spse_ntp_offset_seconds"] = sample("spse_ntp_offset_seconds", labels, round(result.offset, 6))
                fragments["spse_ntp_rtt_seconds"] = sample("spse_ntp_rtt_seconds", labels, round(result.rtt, 6))
                fragments["spse_ntp_stratum"] = sample("spse_ntp_stratum", labels, result.stratum)
            self.exposition.update(owner, fragments)
            self.history.remember(owner, asdict(result))

        offsets = [r.offset for r in results if r.success]
        self.clock_offset = statistics.median(offsets) if offsets else None
        reachable = sum(r.success for s, r in zip(clock.sources, results) if s.role == "spse")
        fragments = {
            "spse_clock_sources_reachable": sample("spse_clock_sources_reachable", {}, reachable),
            "spse_clock_sources_configured": sample("spse_clock_sources_configured", {}, len(clock.servers)),
        }
        if self.clock_offset is not None:
            fragments["spse_clock_offset_seconds"] = sample("spse_clock_offset_seconds", {}, round(self.clock_offset, 6))
        if host is not None:
            fragments.update({
                "spse_host_clock_synchronized": sample("spse_host_clock_synchronized", {}, int(host.synchronized)),
                "spse_host_clock_estimated_error_seconds": sample(
                    "spse_host_clock_estimated_error_seconds", {}, host.estimated_error),
                "spse_host_clock_maximum_error_seconds": sample(
                    "spse_host_clock_maximum_error_seconds", {}, host.maximum_error),
                "spse_host_clock_offset_seconds": sample("spse_host_clock_offset_seconds", {}, host.offset),
            })
        self.exposition.update(CLOCK, fragments)

    def record_host_time(self, owner: ProbeKey, spec: HostTimeConfig, round_: HostTimeRound) -> None:
        """Every group's count from the start (0 when empty), so a rule sees a group lose its last source."""
        daemon = {"daemon": round_.daemon}
        counts = dict.fromkeys(HOST_TIME_GROUPS, 0)
        reachable: dict[tuple[str, str], int] = {}  # one series per address: chrony may list one twice (two ports)
        for source in round_.sources:
            counts[source.group] += 1
            reachable[source.name, source.group] = max(reachable.get((source.name, source.group), 0), source.reachable)
        self.exposition.update(owner, {
            "spse_host_time_sources": "".join(sample("spse_host_time_sources", {**daemon, "group": group}, count)
                                              for group, count in counts.items()),
            "spse_host_time_source_reachable": "".join(
                sample("spse_host_time_source_reachable", {**daemon, "source": name, "group": group}, value)
                for (name, group), value in reachable.items()),
            "spse_host_time_synchronised": sample("spse_host_time_synchronised", daemon, int(round_.synchronised)),
            **self._staleness(owner, spec.interval),
        })
        self.history.remember(owner, asdict(round_))

    def record_upstream(self, owner: ProbeKey, group: UpstreamGroup, results: list[ProbeResult]) -> None:
        lines: dict[str, list[str]] = {"spse_upstream_probe_success": [], "spse_upstream_probe_duration_seconds": [],
                                       "spse_upstream_probe_failures_total": []}
        for check, result in zip(group.checks, results):
            counters = self.counters.of(owner, UPSTREAM_REASONS[check.kind], part=check.url)  # the group's, per check
            counters.fail(result.reason)
            labels = {"group": group.name, "check": check.url}
            lines["spse_upstream_probe_success"].append(sample("spse_upstream_probe_success", labels, int(result.success)))
            lines["spse_upstream_probe_duration_seconds"].append(
                sample("spse_upstream_probe_duration_seconds", labels, round(result.duration, 6)))
            lines["spse_upstream_probe_failures_total"].append(
                counters.failure_samples("spse_upstream_probe_failures_total", labels))
        ratio = sum(r.success for r in results) / len(results)
        fragments = {name: "".join(parts) for name, parts in lines.items()}
        fragments["spse_upstream_group_reachable_ratio"] = sample(
            "spse_upstream_group_reachable_ratio", {"group": group.name}, round(ratio, 4))
        fragments.update(self._staleness(owner, group.interval))
        self.exposition.update(owner, fragments)
        self.history.remember(owner, {
            "ratio": ratio, "checks": {c.url: asdict(r) for c, r in zip(group.checks, results)}})

    def retain(self, owners: set[ProbeKey]) -> None:
        """Forget every probe owner not in `owners` (after a reload removed it)."""
        keep = owners | {EXPORTER, CONFIG, CLOCK, ALERTMANAGER}
        if not any(owner.kind == "ntp" for owner in owners):
            keep.discard(CLOCK)
            self.clock_offset = None
        for owner in self.exposition.owners() - keep:
            self.exposition.drop(owner)
        self.counters.retain(keep)
        self.rounds.retain(keep)
        self.history.retain(keep)
