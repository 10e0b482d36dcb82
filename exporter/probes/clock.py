"""The clock round: every configured time source over NTP at once, then the host kernel's verdict if asked for.

One job per config: the sources' offsets are compared with each other (their median is the reference the HTTP
probe's Date check uses), and SPSE's own sources answering or not is the April 2023 failure itself.
"""

from __future__ import annotations

import asyncio
import statistics
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from exporter.config import ClockConfig, TimeSource
from exporter.exposition import sample
from exporter.probes.kind import Health, ProbeKey, ProbeKind, several
from exporter.probes.ntp import REASONS as NTP_REASONS
from exporter.probes.ntp import NtpResult, probe_ntp
from exporter.probes.timex import HostClock, read_host_clock

if TYPE_CHECKING:  # the store the probes record into
    from exporter.metrics import Metrics

HOST_KERNEL = ProbeKey("clock", "host_kernel")  # its own line in the log


def source_key(source: TimeSource) -> ProbeKey:
    """The owner of one time source's samples and round counter: the clock job counts rounds per source."""
    return ProbeKey("ntp", source.server)


@dataclass(frozen=True)
class ClockRound:
    sources: list[NtpResult]  # in the order of clock.sources: SPSE's own first
    host: HostClock | None = None  # read when clock.host_kernel is on and the kernel answered
    host_error: str = ""  # why the kernel could not be read


async def probe_clock(clock: ClockConfig) -> ClockRound:
    results = await asyncio.gather(*(probe_ntp(source.endpoint, clock.timeout) for source in clock.sources))
    if not clock.host_kernel:
        return ClockRound(results)
    try:
        return ClockRound(results, read_host_clock())
    except OSError as err:
        return ClockRound(results, host_error=str(err))


def record(metrics: Metrics, key: ProbeKey, clock: ClockConfig, round_: ClockRound) -> None:
    """One round: every source's result (SPSE's own first) under its own key, then what the round says as a whole
    (the median offset the HTTP probe's Date check uses, the kernel's verdict if read) under the clock job's."""
    results, host = round_.sources, round_.host
    for source, result in zip(clock.sources, results):
        owner = source_key(source)
        counters = metrics.counters.of(owner, NTP_REASONS)
        counters.fail(result.reason)
        labels = {"server": source.server}
        fragments = {
            "spse_clock_source_info": sample("spse_clock_source_info", {
                **labels, "role": source.role, **({"via": source.via} if source.via else {})}, 1),
            "spse_ntp_probe_success": sample("spse_ntp_probe_success", labels, int(result.success)),
            "spse_ntp_probe_failures_total": counters.failure_samples("spse_ntp_probe_failures_total", labels),
            **metrics.round_completed(owner, clock.interval),
        }
        if result.success:
            fragments["spse_ntp_offset_seconds"] = sample("spse_ntp_offset_seconds", labels, round(result.offset, 6))
            fragments["spse_ntp_rtt_seconds"] = sample("spse_ntp_rtt_seconds", labels, round(result.rtt, 6))
            fragments["spse_ntp_stratum"] = sample("spse_ntp_stratum", labels, result.stratum)
        metrics.exposition.update(owner, fragments)
        metrics.history.remember(owner, asdict(result))
    offsets = [r.offset for r in results if r.success]
    metrics.clock_offset = statistics.median(offsets) if offsets else None
    reachable = sum(r.success for s, r in zip(clock.sources, results) if s.role == "spse")
    fragments = {
        "spse_clock_sources_reachable": sample("spse_clock_sources_reachable", {}, reachable),
        "spse_clock_sources_configured": sample("spse_clock_sources_configured", {}, len(clock.servers)),
    }
    if metrics.clock_offset is not None:
        fragments["spse_clock_offset_seconds"] = sample("spse_clock_offset_seconds", {}, round(metrics.clock_offset, 6))
    if host is not None:
        fragments.update({
            "spse_host_clock_synchronized": sample("spse_host_clock_synchronized", {}, int(host.synchronized)),
            "spse_host_clock_estimated_error_seconds": sample(
                "spse_host_clock_estimated_error_seconds", {}, host.estimated_error),
            "spse_host_clock_maximum_error_seconds": sample(
                "spse_host_clock_maximum_error_seconds", {}, host.maximum_error),
            "spse_host_clock_offset_seconds": sample("spse_host_clock_offset_seconds", {}, host.offset),
        })
    metrics.exposition.update(key, fragments)


def _health(key: ProbeKey, clock: ClockConfig, round_: ClockRound) -> list[tuple[ProbeKey, Health]]:
    verdicts = [(HOST_KERNEL, Health(not round_.host_error, round_.host_error))] if clock.host_kernel else []
    spse_own = [(s.server, r) for s, r in zip(clock.sources, round_.sources) if s.role == "spse"]
    verdicts.append((key, several(spse_own, "of SPSE's own time sources", "none of the SPSE server's own time "
                                  "sources answered: SPSE cannot validate its time; ")))
    return verdicts


PROBE_KIND = ProbeKind(
    "clock", specs=lambda config: [("", config.clock)] if config.clock else [], probe=probe_clock,
    record=record,
    health=_health, owners=lambda key, clock: [source_key(source) for source in clock.sources])
