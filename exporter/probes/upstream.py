"""Upstream reachability checks: tcp://, dns://, ntp:// and http(s):// (any answer below 500 counts).

A check answers one question, "can this site reach that host now?", so each kind does the
least real work that proves it: a TCP connect, a DNS answer, an NTP reply, an HTTP status.
"""

from __future__ import annotations

import asyncio
import importlib
import os
import socket
from dataclasses import asdict
from typing import TYPE_CHECKING

from exporter.config import Check, Config, UpstreamGroup
from exporter.exposition import sample
from exporter.probes import ProbeFailure, ProbeResult
from exporter.probes.http import Observation, Session, send, USER_AGENT
from exporter.probes.kind import Health, ProbeKey, ProbeKind, several
from exporter.probes.ntp import REASONS as NTP_REASONS
from exporter.probes.ntp import SERVER_TIME_REASONS, probe_ntp
from exporter.probes.resolve import resolve
from exporter.probes.runner import guarded, scrub

if TYPE_CHECKING:  # the store the probes record into
    from exporter.metrics import Metrics


def os_error(err: OSError) -> str:
    """The error without the peer's address (asyncio adds it; the check's URL names the peer already)."""
    return os.strerror(err.errno) if err.errno else str(err)


async def _tcp(check: Check, timeout: float) -> str:
    address, _ = await resolve(check.endpoint.host)
    try:
        _, writer = await asyncio.open_connection(address, check.endpoint.port)
    except OSError as err:
        raise ProbeFailure("connect", f"cannot connect: {os_error(err)}") from None
    writer.close()
    try:
        await writer.wait_closed()
    except OSError:
        pass  # a reset while closing still proves the connect worked
    return "connected"


def _specs(config: Config) -> list[tuple[str, UpstreamGroup]]:
    """The groups as jobs. dnspython's query half costs 1.5 MiB of RSS (the config needs only `dns.name`): a
    config with a dns:// check loads it here, not in a round where the import would hold every probe; one
    without (the watcher's) never does."""
    if any(check.kind == "dns" for group in config.upstream for check in group.checks):
        importlib.import_module("dns.asyncquery")  # and with it what _dns imports
    return [(group.name, group) for group in config.upstream]


async def _dns(check: Check, timeout: float) -> str:
    # loaded by _specs already, so each is a lookup in sys.modules
    import dns.asyncquery
    import dns.exception
    import dns.message
    import dns.rcode

    address, _ = await resolve(check.endpoint.host, socktype=socket.SOCK_DGRAM)
    query = dns.message.make_query(check.query_name, check.query_type)
    try:
        response, _ = await dns.asyncquery.udp_with_fallback(query, address, timeout=timeout, port=check.endpoint.port)
    except dns.exception.Timeout:
        raise ProbeFailure("timeout", "no answer") from None
    except (dns.exception.DNSException, ValueError, EOFError) as err:  # EOFError: TCP fallback closed early
        raise ProbeFailure("protocol", f"bad DNS reply: {err or type(err).__name__}") from None
    except OSError as err:
        raise ProbeFailure("connect", f"cannot query: {os_error(err)}") from None
    rcode = response.rcode()
    if rcode != dns.rcode.NOERROR:
        raise ProbeFailure("rcode", f"{check.query_name} {check.query_type}: {dns.rcode.to_text(rcode)}")
    if not response.answer:
        raise ProbeFailure("no_answer", f"{check.query_name} {check.query_type}: empty answer")
    return f"{sum(len(rrset) for rrset in response.answer)} record(s)"


async def _http(check: Check, timeout: float) -> str:
    seen = Observation()
    await send(Session(check.ssl_context, timeout), check.url, "GET", {"User-Agent": USER_AGENT}, seen)
    if seen.status_code >= 500:
        raise ProbeFailure("http_status", f"status {seen.status_code}")
    return f"status {seen.status_code}"


KINDS = {"tcp": _tcp, "dns": _dns, "http": _http, "https": _http}
REASONS = {  # what each kind of check can fail with
    "tcp": ("timeout", "dns", "connect"),
    "dns": ("timeout", "dns", "connect", "protocol", "rcode", "no_answer"),
    "ntp": tuple(r for r in NTP_REASONS if r not in SERVER_TIME_REASONS),  # a check tests the path, not the time
    "http": ("timeout", "dns", "connect", "protocol", "http_status"),
    "https": ("timeout", "dns", "connect", "tls", "protocol", "http_status"),
}


async def run_check(check: Check, timeout: float) -> ProbeResult:
    """Run one check; never raises, always returns by `timeout`."""
    if check.kind == "ntp":
        # The NTP probe keeps its own deadline; a second one around it would end first and lose the
        # rejected replies its timeout message names ("(rejected: origin_mismatch)"). The check asks
        # whether the path works: an unsynchronised or kiss-of-death reply answers that, so during an
        # outage a national server that lost its own sources does not make the national link look down.
        result = await probe_ntp(check.endpoint, timeout, path_only=True)
        message = result.message if result.offset is None else f"offset {result.offset:+.3f}s, stratum {result.stratum}"
        return ProbeResult(result.success, result.reason, message, result.duration)
    message, reason, failure, duration = await guarded(
        timeout, KINDS[check.kind](check, timeout), check.url, lambda: ("timeout", f"no answer within {timeout:g}s"),
        check.secrets)
    return ProbeResult(not reason, reason, failure or message, duration)


async def probe_group(group: UpstreamGroup) -> list[ProbeResult]:
    """One round of a group: its checks at once, each by the group's timeout."""
    return await asyncio.gather(*(run_check(check, group.timeout) for check in group.checks))


def record(metrics: Metrics, owner: ProbeKey, group: UpstreamGroup, results: list[ProbeResult]) -> None:
    """Each check's samples and counters (the group's owner, a part per check), and the group's reachable share."""
    lines: dict[str, list[str]] = {"spse_upstream_probe_success": [], "spse_upstream_probe_duration_seconds": [],
                                   "spse_upstream_probe_failures_total": []}
    for check, result in zip(group.checks, results):
        counters = metrics.counters.of(owner, REASONS[check.kind], part=check.url)  # the group's, per check
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
    fragments.update(metrics.round_completed(owner, group.interval))
    metrics.exposition.update(owner, fragments)
    metrics.history.remember(owner, {
        "ratio": ratio, "checks": {c.url: asdict(r) for c, r in zip(group.checks, results)}})


def _health(key: ProbeKey, group: UpstreamGroup, results: list[ProbeResult]) -> list[tuple[ProbeKey, Health]]:
    labelled = [(scrub(check.url, check.secrets), result) for check, result in zip(group.checks, results)]
    return [(key, several(labelled, "checks", "no check answered: "))]


PROBE_KIND = ProbeKind(
    "upstream", specs=_specs, probe=probe_group,
    record=record, health=_health)
