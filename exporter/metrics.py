"""The metric contract and its store: every family the exporter serves, and `Metrics`, where each probe kind's
`record` puts its samples (by owner), counters and last result, and where a reload's retention forgets them.

Rules, dashboards and tests depend on these names and labels; the README's metric table
lists the same families (a test keeps the two in step). Each kind's failure reasons live in its module.
"""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, PlatformCollector, ProcessCollector, generate_latest

from exporter import __version__
from exporter.counters import CounterStore, Rounds
from exporter.exposition import Exposition, Family, sample
from exporter.probe_history import ProbeHistory
from exporter.probes.key import ProbeKey

# Owners the scheduler registers no round counter for: they stay through every reload; CLOCK, the clock job's own
# samples (the sources' median, the kernel's verdict), while a time source is configured.
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

    def round_completed(self, key: ProbeKey, interval: float) -> dict[str, str]:
        """Count one completed round of a probe, for its record to expose with its samples. Prometheus judges staleness by the counter's increase over a
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
