"""The config's model: the frozen dataclasses a loaded config is made of, read by the scheduler and probes."""

from __future__ import annotations

import ipaddress
import re
import ssl
from dataclasses import dataclass, field
from datetime import date, tzinfo

from exporter import formatting, messages
from exporter.config.durations import format_duration
from exporter.config.zones import INDONESIAN_ZONES


@dataclass(frozen=True)
class TLSConfig:
    insecure_skip_verify: bool = False
    ca_file: str | None = None
    server_name: str | None = None


@dataclass(frozen=True)
class SpseConfig:
    """SPSE-aware checks of one target (`spse:` in the config)."""

    timezone: str = "WIB"  # the site's zone, for "Update terakhir"
    zone: tzinfo = INDONESIAN_ZONES["WIB"]
    data_max_age: float = 28800.0  # SPSEDataStale's threshold in working time (one working day), exported
    app_check: bool = True
    app_interval: float = 300.0  # the application check's own, longer interval
    holidays: tuple[tuple[date, date], ...] = ()  # the config's non-working days: (first, last) ranges

    def is_holiday(self, day: date) -> bool:
        """Whether `day`, a date in the site's zone, is one of the config's holidays."""
        return any(first <= day <= last for first, last in self.holidays)


@dataclass(frozen=True)
class Target:
    """One SPSE site to probe over HTTP(S)."""

    name: str
    url: str
    interval: float
    timeout: float
    method: str = "GET"
    valid_status_codes: tuple[int, ...] = ()
    fail_if_body_matches: tuple[re.Pattern, ...] = ()
    fail_if_body_not_matches: tuple[re.Pattern, ...] = ()
    headers: tuple[tuple[str, str], ...] = ()
    ip_protocol: str = "ip4"
    ip_protocol_fallback: bool = True
    max_redirects: int = 10
    body_size_limit: int = 1024 * 1024
    tls: TLSConfig = TLSConfig()
    ssl_context: ssl.SSLContext | None = field(default=None, compare=False, repr=False)
    spse: SpseConfig | None = None
    secrets: tuple[str, ...] = field(default=(), compare=False, repr=False)  # secrets_in(url, headers)

    def status_is_valid(self, code: int) -> bool:
        if self.valid_status_codes:
            return code in self.valid_status_codes
        return 200 <= code <= 299


@dataclass(frozen=True)
class Endpoint:
    host: str
    port: int

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


@dataclass(frozen=True)
class TimeSource:
    """One NTP server: one of SPSE's own sources (role "spse") or a reference that only measures the offset."""

    server: str  # as written in the config: the `server` label
    endpoint: Endpoint
    role: str  # "spse" or "reference"
    via: str = ""  # the upstream group its path goes through (national/global), if the operator said so


@dataclass(frozen=True)
class ClockConfig:
    sources: tuple[TimeSource, ...]  # SPSE's own first, then the references
    interval: float
    timeout: float
    host_kernel: bool = False  # also read the kernel's verdict (adjtimex): the exporter runs on the SPSE host

    @property
    def servers(self) -> tuple[str, ...]:
        """SPSE's own sources: the ones ClockUnvalidated watches."""
        return tuple(source.server for source in self.sources if source.role == "spse")


@dataclass(frozen=True)
class Check:
    """One upstream reachability check, parsed from its URL."""

    url: str
    kind: str  # tcp, dns, ntp, http, https
    endpoint: Endpoint
    query_name: str = ""
    query_type: str = "A"
    ssl_context: ssl.SSLContext | None = field(default=None, compare=False, repr=False)
    secrets: tuple[str, ...] = field(default=(), compare=False, repr=False)  # secrets_in(url) of http(s) checks


@dataclass(frozen=True)
class UpstreamGroup:
    name: str
    checks: tuple[Check, ...]
    interval: float
    timeout: float


@dataclass(frozen=True)
class HostTimeConfig:
    """`host_time:`: read the host's own time daemon and group its sources by what this config says of them."""

    daemon: str  # auto (chrony if it answers, else ntpsec, else systemd-timesyncd, else none), or one of them
    chronyc: tuple[str, ...]  # the command and its options, before `-c sources`
    ntpq: tuple[str, ...]  # the same for ntpsec's ntpq
    national_networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]
    # (host, group) of every time server and upstream check host this config groups, clock.servers first
    known_hosts: tuple[tuple[str, str], ...]
    interval: float
    timeout: float
    timedatectl: tuple[str, ...] = ("timedatectl",)  # the same for systemd-timesyncd's timedatectl


@dataclass(frozen=True)
class Config:
    source: str
    interval: float
    timeout: float
    targets: tuple[Target, ...]
    clock: ClockConfig | None
    upstream: tuple[UpstreamGroup, ...]
    host_time: HostTimeConfig | None = None

    def summary(self, lang: str = "en") -> str:
        """What --check-config found, in `lang`; the logs take the English one (with Prometheus' "15s")."""
        servers = len(self.clock.servers) if self.clock else 0
        durations = ((format_duration(self.interval), format_duration(self.timeout)) if lang == "en" else
                     (formatting.duration(self.interval, lang), formatting.duration(self.timeout, lang)))
        return messages.render("config_summary", lang, {
            "source": self.source, "targets": len(self.targets), "servers": servers,
            "references": len(self.clock.sources) - servers if self.clock else 0, "groups": len(self.upstream),
            "checks": sum(len(g.checks) for g in self.upstream),
            "group_checks": ", ".join(f"{g.name}={len(g.checks)}" for g in self.upstream) or messages.render("none_listed", lang),
            "interval": durations[0], "timeout": durations[1]})

