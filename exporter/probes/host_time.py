"""The host's own time daemon: which sources it uses, which it still reaches, and whether it is synchronised.

The April 2023 outage was foreseeable: the SPSE host took its time only from servers abroad. Each source is
grouped (gateway, national, global, unknown) by what this exporter's config says of it, so a host that would
lose every source with the international link can be flagged before that happens. chronyd is read with `chronyc`,
ntpd (ntpsec) with `ntpq`, systemd-timesyncd with `timedatectl`.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from exporter.config import HostTimeConfig, is_ip_literal
from exporter.exposition import sample
from exporter.probes import ProbeFailure
from exporter.probes.kind import Health, ProbeKey, ProbeKind
from exporter.probes.runner import guarded

if TYPE_CHECKING:  # the store the probes record into
    from exporter.metrics import Metrics

GROUPS = ("gateway", "national", "global", "unknown")
REASONS = ("not_installed", "not_running", "timeout", "bad_output")  # why the daemon could not be read
MAX_OUTPUT = 1 << 20  # bytes read from chronyc: far above 100 sources' ~10 KB
CHRONY_MODES = {"^": "server", "=": "peer", "#": "refclock"}
NTPQ_TALLY = " x.-+#*o"  # ntpq -p's first column: the peer's selection status
# What each client says when its daemon is not there (recorded from chronyc 4.3, ntpq 1.2.2, timedatectl 252).
NOT_RUNNING = ("506 Cannot talk to daemon", "probably ntpd is not running", "not been booted with systemd",
               "Failed to connect to bus")


@dataclass(frozen=True)
class HostTimeSource:
    name: str  # as the daemon lists it: an address (chronyc -n) or a reference clock's name
    mode: str  # chrony: server, peer or refclock; ntpq: its `t` column (u unicast, p pool, l local, ...)
    state: str  # chrony's state or ntpq's tally character; `*` is the selected source in both
    stratum: int
    reach: int  # the reach register: one bit for each of the last 8 polls that got an answer
    group: str = "unknown"

    @property
    def reachable(self) -> bool:
        return self.reach != 0


@dataclass(frozen=True)
class HostTimeRound:
    daemon: str  # chrony or ntpsec, or none when auto found no daemon
    sources: tuple[HostTimeSource, ...] = ()
    synchronised: bool = False
    reason: str = ""  # one of REASONS when the daemon could not be read
    message: str = ""

    @property
    def success(self) -> bool:
        return not self.reason


def _source(number: int, name: str, mode: str, state: str, stratum: str, reach: str) -> HostTimeSource:
    """One listed source; the reach register is written in octal by both chronyc and ntpq."""
    try:
        stratum_value, reach_value = int(stratum), int(reach, 8)
    except ValueError:
        raise ValueError(f"line {number}: stratum {stratum[:20]!r} or reach {reach[:20]!r} is not a number") from None
    if not 0 <= reach_value <= 0o377:
        raise ValueError(f"line {number}: reach {reach!r} is no 8-bit register")
    return HostTimeSource(name, mode, state, stratum_value, reach_value)


def parse_chrony_sources(text: str) -> list[HostTimeSource]:
    """`chronyc -c -n sources`: mode,state,name,stratum,poll,reach(octal),lastrx,offsets... one source a line."""
    sources = []
    for number, line in enumerate(text.splitlines(), 1):
        fields = line.split(",")
        if len(fields) != 10 or fields[0] not in CHRONY_MODES or len(fields[1]) != 1 or not fields[2]:
            raise ValueError(f"line {number} is not a chronyc -c sources line: {line[:80]!r}")
        sources.append(_source(number, fields[2], CHRONY_MODES[fields[0]], fields[1], fields[3], fields[5]))
    return sources


def parse_chrony_tracking(text: str) -> bool:
    """`chronyc -c tracking`: synchronised unless the reference ID is 0 or the leap status says otherwise."""
    fields = text.strip().split(",")
    if len(fields) != 14 or len(fields[0]) != 8:
        raise ValueError(f"not a chronyc -c tracking line: {text.strip()[:80]!r}")
    return int(fields[0], 16) != 0 and fields[13] != "Not synchronised"


def parse_ntpq_peers(text: str) -> list[HostTimeSource]:
    """`ntpq -pn`: a header, a rule of '=', then tally+remote, refid, st, t, when, poll, reach (octal), delay,
    offset, jitter; a remote too long for its column (IPv6) has the rest on the next line."""
    lines = text.splitlines()
    if len(lines) < 2 or lines[0].split()[:1] != ["remote"] or not lines[1].startswith("==="):
        raise ValueError(f"not ntpq -p output: {text.strip()[:80]!r}")
    sources, pending = [], ""
    for number, line in enumerate(lines[2:], 3):
        line = pending + line
        fields = line[1:].split()
        if len(fields) == 1:
            pending = line
            continue
        pending = ""
        if len(fields) != 10 or line[0] not in NTPQ_TALLY:
            raise ValueError(f"line {number} is not an ntpq -p peer line: {line[:80]!r}")
        sources.append(_source(number, fields[0], fields[3], line[0], fields[2], fields[6]))
    return sources


def _properties(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)


def parse_timesyncd(text: str) -> list[HostTimeSource]:
    """`timedatectl show-timesync --all`: timesyncd asks one server at a time (ServerName, at ServerAddress) from
    its list (link, system and runtime servers; the fallback list only when those are empty). It keeps no reach
    register: the server in use counts as reachable when its last reply (NTPMessage) is not leap 3 (unsynchronised);
    the others, not being asked, as not reachable."""
    props = _properties(text)
    if "FallbackNTPServers" not in props and "ServerName" not in props:
        raise ValueError(f"not timedatectl show-timesync output: {text.strip()[:80]!r}")
    listed = [name for key in ("LinkNTPServers", "SystemNTPServers", "RuntimeNTPServers")
              for name in props.get(key, "").split()] or props.get("FallbackNTPServers", "").split()
    current, address = props.get("ServerName", ""), props.get("ServerAddress", "")
    if current and current not in listed:
        listed.insert(0, current)
    leap, stratum = (re.search(rf"\b{field}=(\d+)", props.get("NTPMessage", "")) for field in ("Leap", "Stratum"))
    answered = bool(leap and stratum) and leap.group(1) != "3" and stratum.group(1) != "0"
    sources = []
    for name in listed:
        if name == current and answered:
            sources.append(HostTimeSource(address or name, "server", "*", int(stratum.group(1)), 1))
        else:
            sources.append(HostTimeSource(address or name if name == current else name, "server", " ", 0, 0))
    return sources


def parse_timedatectl_synchronised(text: str) -> bool:
    """`timedatectl show -p NTPSynchronized`: the kernel's verdict, as timedated reads it."""
    value = _properties(text).get("NTPSynchronized")
    if value not in ("yes", "no"):
        raise ValueError(f"no NTPSynchronized=yes|no in timedatectl show: {text.strip()[:80]!r}")
    return value == "yes"


def parse_ntpq_leap(text: str) -> bool:
    """`ntpq -c "rv 0 leap"`: leap=11 is ntpd's "not synchronised"."""
    match = re.search(r"\bleap=([01]{2})\b", text)
    if not match:
        raise ValueError(f"no leap=.. in ntpq rv: {text.strip()[:80]!r}")
    return match.group(1) != "11"


async def _run(command: tuple[str, ...]) -> str:
    """Run chronyc or ntpq, killing it if the round's deadline cancels us; raise ProbeFailure saying why it failed."""
    try:
        proc = await asyncio.create_subprocess_exec(
            *command, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT)
    except FileNotFoundError:
        raise ProbeFailure("not_installed", f"{command[0]} not found") from None
    except PermissionError as err:
        raise ProbeFailure("not_installed", f"cannot run {command[0]}: {err}") from None
    try:
        output = b""
        while chunk := await proc.stdout.read(MAX_OUTPUT - len(output)):  # until EOF, or too much to be chronyc
            output += chunk
            if len(output) >= MAX_OUTPUT:
                raise ProbeFailure("bad_output", f"{' '.join(command[-2:])}: more than {MAX_OUTPUT} bytes of output")
        await proc.wait()
    finally:
        if proc.returncode is None:  # cancelled by the deadline, or more output than MAX_OUTPUT
            proc.kill()
            await proc.wait()
    text = output.decode("utf-8", "replace")
    # chronyc: "506 Cannot talk to daemon", exit 1; ntpq: "***Socket error; probably ntpd is not running", exit 0;
    # timedatectl without systemd or D-Bus: "System has not been booted with systemd ...", "Failed to connect to bus"
    if any(words in text for words in NOT_RUNNING):
        raise ProbeFailure("not_running", f"{' '.join(command[-2:])}: {text.strip().splitlines()[-1][:200]}")
    if proc.returncode != 0:
        first = text.strip().splitlines()[0][:200] if text.strip() else f"exit status {proc.returncode}"
        raise ProbeFailure("bad_output", f"{' '.join(command[-2:])}: {first}")
    return text


async def _resolve(hosts: list[str], timeout: float) -> dict[str, str]:
    """Each configured host name's addresses, for matching chronyc's; a name that does not resolve matches none."""
    loop = asyncio.get_running_loop()

    async def one(host: str) -> list[str]:
        try:
            infos = await asyncio.wait_for(loop.getaddrinfo(host, None, type=socket.SOCK_DGRAM), timeout)
        except (OSError, TimeoutError):
            return []
        return [info[4][0] for info in infos]
    resolved = await asyncio.gather(*(one(host) for host in hosts))
    return {address: host for host, addresses in zip(hosts, resolved) for address in addresses}


def classify(name: str, spec: HostTimeConfig, addresses: dict[str, str]) -> str:
    """The source's group: the config's time servers and checks by name or resolved address, then the national
    networks; anything else is unknown (never counted as national)."""
    groups = dict(reversed(spec.known_hosts))  # the first listing of a host wins
    host = addresses.get(name, name)
    if host in groups:
        return groups[host]
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return "unknown"
    return "national" if any(address in network for network in spec.national_networks) else "unknown"


# Per daemon: the client, its two queries (sources, synchronised) and their parsers.
READERS = {
    "chrony": (lambda spec: spec.chronyc, ("-c", "-n", "sources"), parse_chrony_sources, ("-c", "tracking"),
               parse_chrony_tracking),
    "ntpsec": (lambda spec: spec.ntpq, ("-n", "-p"), parse_ntpq_peers, ("-c", "rv 0 leap"), parse_ntpq_leap),
    "timesyncd": (lambda spec: spec.timedatectl, ("show-timesync", "--all"), parse_timesyncd,
                  ("show", "-p", "NTPSynchronized"), parse_timedatectl_synchronised),
}


async def _read(daemon: str, spec: HostTimeConfig) -> HostTimeRound:
    client, sources_args, parse_sources, sync_args, parse_sync = READERS[daemon]
    sources_text = await _run((*client(spec), *sources_args))  # one at a time: a failure leaves no child
    sync_text = await _run((*client(spec), *sync_args))
    try:
        sources, synchronised = parse_sources(sources_text), parse_sync(sync_text)
    except ValueError as err:
        raise ProbeFailure("bad_output", f"{client(spec)[0]} answered garbage: {err}") from None
    names = [host for host, _ in spec.known_hosts if not is_ip_literal(host)]
    addresses = await _resolve(names, spec.timeout) if names else {}
    return HostTimeRound(daemon, tuple(
        HostTimeSource(s.name, s.mode, s.state, s.stratum, s.reach, classify(s.name, spec, addresses))
        for s in sources), synchronised)


async def probe_host_time(spec: HostTimeConfig) -> HostTimeRound:
    """One reading within spec.timeout. With daemon auto, chrony, then ntpsec, then timesyncd, each if the one
    before is not installed or not running, and daemon="none" if none is; with a daemon named, its failure is
    that daemon failing."""
    loop, messages, reasons = asyncio.get_running_loop(), [], set()
    deadline = loop.time() + spec.timeout
    for daemon in (tuple(READERS) if spec.daemon == "auto" else (spec.daemon,)):
        round_, reason, message, _ = await guarded(
            max(deadline - loop.time(), 0.001), _read(daemon, spec), daemon,
            lambda: ("timeout", f"{daemon} did not answer within {spec.timeout:g}s"))  # noqa: B023 - called at once
        if round_ is not None:
            return round_
        if spec.daemon != "auto" or reason not in ("not_installed", "not_running"):
            return HostTimeRound(daemon, reason=reason, message=message)
        messages.append(message)
        reasons.add(reason)
    return HostTimeRound("none", reason="not_running" if "not_running" in reasons else "not_installed",
                         message="; ".join(messages))


def record(metrics: Metrics, owner: ProbeKey, spec: HostTimeConfig, round_: HostTimeRound) -> None:
    """Every group's count from the start (0 when empty), so a rule sees a group lose its last source."""
    daemon = {"daemon": round_.daemon}
    counts = dict.fromkeys(GROUPS, 0)
    reachable: dict[tuple[str, str], int] = {}  # one series per address: chrony may list one twice (two ports)
    for source in round_.sources:
        counts[source.group] += 1
        reachable[source.name, source.group] = max(reachable.get((source.name, source.group), 0), source.reachable)
    metrics.exposition.update(owner, {
        "spse_host_time_sources": "".join(sample("spse_host_time_sources", {**daemon, "group": group}, count)
                                          for group, count in counts.items()),
        "spse_host_time_source_reachable": "".join(
            sample("spse_host_time_source_reachable", {**daemon, "source": name, "group": group}, value)
            for (name, group), value in reachable.items()),
        "spse_host_time_synchronised": sample("spse_host_time_synchronised", daemon, int(round_.synchronised)),
        **metrics.round_completed(owner, spec.interval),
    })
    metrics.history.remember(owner, asdict(round_))


def _health(key: ProbeKey, spec: HostTimeConfig, round_: HostTimeRound) -> list[tuple[ProbeKey, Health]]:
    if round_.daemon == "none":
        return [(key, Health(False, f"no time daemon found on this host: {round_.message}", (round_.reason,)))]
    if not round_.success:
        return [(key, Health(False, f"cannot read the host's time daemon: {round_.message}", (round_.reason,)))]
    return [(key, Health(True, ""))]


PROBE_KIND = ProbeKind(
    "host_time", specs=lambda config: [("", config.host_time)] if config.host_time else [],
    probe=probe_host_time, record=record,
    health=_health)
