"""The clock round: every configured time source over NTP at once, then the host kernel's verdict if asked for.

One job per config: the sources' offsets are compared with each other (their median is the reference the HTTP
probe's Date check uses), and SPSE's own sources answering or not is the April 2023 failure itself.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from exporter.config import ClockConfig, TimeSource
from exporter.probes.kind import Health, ProbeKey, ProbeKind, several
from exporter.probes.ntp import NtpResult, probe_ntp
from exporter.probes.timex import HostClock, read_host_clock

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


def _health(key: ProbeKey, clock: ClockConfig, round_: ClockRound) -> list[tuple[ProbeKey, Health]]:
    verdicts = [(HOST_KERNEL, Health(not round_.host_error, round_.host_error))] if clock.host_kernel else []
    spse_own = [(s.server, r) for s, r in zip(clock.sources, round_.sources) if s.role == "spse"]
    verdicts.append((key, several(spse_own, "of SPSE's own time sources", "none of the SPSE server's own time "
                                  "sources answered: SPSE cannot validate its time; ")))
    return verdicts


PROBE_KIND = ProbeKind(
    "clock", specs=lambda config: [("", config.clock)] if config.clock else [], probe=probe_clock,
    record=lambda metrics, key, clock, round_: metrics.record_clock(clock, round_.sources, round_.host),
    health=_health, owners=lambda key, clock: [source_key(source) for source in clock.sources])
