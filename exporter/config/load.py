"""Load and validate the exporter's YAML config.

Everything is checked at load, so a running exporter never meets a bad value:
each error names the file, the key path and what is wrong, e.g.
``spse.yml: targets[2].url: scheme must be http or https``.
"""

from __future__ import annotations

import difflib
import ipaddress
import os
import re
import ssl
import stat
import sys
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta, timezone, tzinfo
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlsplit

import dns.exception
import dns.name
import httpx
import yaml

EXAMPLE_CONFIG = Path(__file__).parent.parent / "examples" / "spse.yml"
# A config of a thousand targets is about 130 kB; a file past this is a mistake (a log, an image), not
# read into memory and parsed for minutes.
MAX_CONFIG_BYTES = 1024 * 1024
# YAML nesting; the config's own goes 4 deep (targets[0].tls.ca_file). PyYAML's scanner slows with depth
# (seconds at 1,000 levels) and its composer ends in RecursionError, so deeper is refused early.
MAX_NESTING = 32

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
DURATION_RE = re.compile(
    r"^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$"
)
DURATION_UNITS = (365 * 86400, 7 * 86400, 86400, 3600, 60, 1, 0.001)
MAX_DURATION = 366 * 86400  # no setting here means more than a year: a longer one is a typo, not a wish
HEADER_NAME_RE = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
# RFC 9110 field values: visible characters, space and tab; CR, LF, NUL and the rest of C0 and DEL
# would split the request or be rejected by the server.
HEADER_VALUE_CONTROL_RE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
SIZE_RE = re.compile(r"^(\d+)\s*(B|KiB|MiB|GiB|KB|MB|GB)?$")
SIZE_UNITS = {None: 1, "B": 1, "KB": 1000, "MB": 10**6, "GB": 10**9,
              "KiB": 1024, "MiB": 1024**2, "GiB": 1024**3}
DNS_RECORD_TYPES = ("A", "AAAA", "NS", "MX", "TXT", "SOA", "CNAME")
CHECK_SCHEMES = ("tcp", "dns", "ntp", "http", "https")
# Probes send no credentials from a URL, and URLs are shown in /probes, logs and the `check` label.
URL_CREDENTIALS = "has a user name or password, which probes never send and /probes, logs and metrics would show"
SECRET_MIN_LENGTH = 6  # shorter parts of a query or header are no credential; hiding them would garble the log
HTTP_METHODS = ("GET", "HEAD")
IP_PROTOCOLS = ("ip4", "ip6")
# Upstream groups the alert rules read (gateway -> national/global -> clock -> SPSE); any other group
# must be named custom_<name>, so that a typo such as "nasional" cannot silently leave the chain.
ALERTING_GROUPS = ("gateway", "national", "global")
CUSTOM_GROUP_PREFIX = "custom_"
CLOCK_VIA_GROUPS = ("national", "global")  # the links a time source's path can go through
HOST_TIME_DAEMONS = ("auto", "chrony", "ntpsec", "none")  # the host time daemons host_time can read, or none (off)
# Words an operator may mean a group by, Bahasa Indonesia included, for the "did you mean" hint.
GROUP_WORDS = {**{g: g for g in ALERTING_GROUPS}, "nasional": "national", "internasional": "global",
               "international": "global", "router": "gateway", "lokal": "gateway", "local": "gateway"}
DEFAULT_INTERVAL = 15.0
DEFAULT_TIMEOUT = 10.0
DEFAULT_NTP_PORT = 123
DEFAULT_DNS_PORT = 53
# Indonesia's three zones by their usual names; none has daylight saving time.
INDONESIAN_ZONES = {"WIB": timezone(timedelta(hours=7), "WIB"), "WITA": timezone(timedelta(hours=8), "WITA"),
                    "WIT": timezone(timedelta(hours=9), "WIT")}


class ConfigError(Exception):
    """A config problem, naming the file and the key path it was found at."""

    def __init__(self, source: str, path: str, message: str):
        self.source, self.path, self.message = source, path, message
        where = f"{path}: " if path else ""
        super().__init__(f"{source}: {where}{message}")


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

    daemon: str  # auto (chrony if it answers, else ntpsec, else none), chrony or ntpsec
    chronyc: tuple[str, ...]  # the command and its options, before `-c sources`
    ntpq: tuple[str, ...]  # the same for ntpsec's ntpq
    national_networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]
    # (host, group) of every time server and upstream check host this config groups, clock.servers first
    known_hosts: tuple[tuple[str, str], ...]
    interval: float
    timeout: float


@dataclass(frozen=True)
class Config:
    source: str
    interval: float
    timeout: float
    targets: tuple[Target, ...]
    clock: ClockConfig | None
    upstream: tuple[UpstreamGroup, ...]
    host_time: HostTimeConfig | None = None

    def summary(self) -> str:
        checks = sum(len(g.checks) for g in self.upstream)
        sources = len(self.clock.servers) if self.clock else 0
        references = len(self.clock.sources) - sources if self.clock else 0
        groups = ", ".join(f"{g.name}={len(g.checks)}" for g in self.upstream) or "none"
        return (f"{self.source}: OK: {len(self.targets)} SPSE target(s), {sources} SPSE time source(s) "
                f"+ {references} reference(s), "
                f"{len(self.upstream)} upstream group(s) with {checks} check(s) ({groups}); "
                f"interval {format_duration(self.interval)}, timeout {format_duration(self.timeout)}")


def parse_duration(value: Any) -> float:
    """Parse a Prometheus duration such as ``15s``, ``1m30s`` or ``500ms`` into seconds."""
    if not isinstance(value, str) or not value:
        raise ValueError("must be a duration string such as 15s or 1m")
    match = DURATION_RE.match(value)
    if not match or not any(match.groups()):
        raise ValueError(f"{value!r} is not a duration (use forms like 500ms, 15s, 1m, 1h30m)")
    seconds = sum(int(g) * unit for g, unit in zip(match.groups(), DURATION_UNITS) if g)
    if seconds <= 0:
        raise ValueError("must be greater than zero")
    if seconds > MAX_DURATION:
        raise ValueError(f"{value!r} is longer than a year (366d at most)")
    return float(seconds)


def format_duration(seconds: float) -> str:
    return f"{seconds * 1000:g}ms" if seconds < 1 else f"{seconds:g}s"


class DuplicateKeyError(yaml.YAMLError):
    """A mapping lists a key twice: plain YAML loading would keep the last one silently."""

    def __init__(self, path: str, line: int, first_line: int):
        super().__init__(f"{path}: duplicate key")
        self.path, self.line, self.first_line = path, line, first_line


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that rejects duplicate mapping keys, naming the key path and both lines, and nesting
    deeper than MAX_NESTING."""

    _depth = 0

    def compose_node(self, parent, index):
        if self._depth >= MAX_NESTING:
            raise yaml.composer.ComposerError(None, None, f"nested deeper than {MAX_NESTING} levels",
                                              self.peek_event().start_mark)
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_document(self, node):
        self._paths = {}
        stack = [(node, "")]
        while stack:  # iterative with a visited set: aliases may form cycles
            current, path = stack.pop()
            if id(current) in self._paths:
                continue
            self._paths[id(current)] = path
            if isinstance(current, yaml.MappingNode):
                stack.extend((value, join(path, str(key.value))) for key, value in current.value
                             if isinstance(key, yaml.ScalarNode))
            elif isinstance(current, yaml.SequenceNode):
                stack.extend((item, f"{path}[{i}]") for i, item in enumerate(current.value))
        return super().construct_document(node)

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen: dict = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue  # merged keys may be overridden: that is what << is for
                key = self.construct_object(key_node, deep=True)
                try:
                    first = seen.setdefault(key, key_node)
                except TypeError:
                    continue  # unhashable: SafeLoader reports it
                if first is not key_node:
                    path = join(self._paths.get(id(node), ""), str(key_node.value))
                    raise DuplicateKeyError(path, key_node.start_mark.line + 1, first.start_mark.line + 1)
        return super().construct_mapping(node, deep)


# Dates stay text (holidays: 2026-12-25), so a bad one is an error naming its key, not a bare YAML error.
_StrictLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}


class _Reader:
    """Walks the parsed YAML, raising ConfigError with the key path of any bad value."""

    def __init__(self, source: str):
        self.source = source
        self.ssl_contexts: dict[TLSConfig, ssl.SSLContext] = {}

    def ssl_context(self, tls: TLSConfig, path: str) -> ssl.SSLContext:
        """Targets with the same TLS settings share one context: each context holds its own copy of
        the CA store (~0.8 MB with the system CAs), far too much for a thousand targets."""
        if tls not in self.ssl_contexts:
            try:
                self.ssl_contexts[tls] = make_ssl_context(tls)
            except OSError as err:  # ssl.SSLError too: a ca_file that holds no certificate, or unreadable
                raise self.fail(join(path, "ca_file"), f"cannot load CA certificates: {err}") from None
        return self.ssl_contexts[tls]

    def fail(self, path: str, message: str) -> ConfigError:
        return ConfigError(self.source, path, message)

    def mapping(self, value: Any, path: str, allowed: tuple[str, ...]) -> dict:
        if not isinstance(value, dict):
            raise self.fail(path, f"must be a mapping, got {type_name(value)}")
        for key in value:
            if not isinstance(key, str) or not key:  # an empty key would leave the path blank
                raise self.fail(path, f"key {key!r} must be a non-empty string")
            if key not in allowed:
                raise self.fail(join(path, key), f"unknown key (allowed: {', '.join(allowed)})")
        return value

    def string_list(self, value: Any, path: str) -> list[str]:
        if not isinstance(value, list):
            raise self.fail(path, f"must be a list, got {type_name(value)}")
        for i, item in enumerate(value):
            if not isinstance(item, str) or not item:
                raise self.fail(f"{path}[{i}]", "must be a non-empty string")
        return value

    def headers(self, value: Any, path: str) -> dict[str, str]:
        if not isinstance(value, dict):
            raise self.fail(path, f"must be a mapping of header name to value, got {type_name(value)}")
        for key, text in value.items():
            if not isinstance(key, str) or not HEADER_NAME_RE.match(key):
                raise self.fail(path, f"{key!r} is not a valid header name")
            if not isinstance(text, str):
                raise self.fail(join(path, key), f"must be a string, got {type_name(text)}")
            bad = HEADER_VALUE_CONTROL_RE.search(text)
            if bad:
                raise self.fail(join(path, key), f"contains the control character {bad.group()!r} "
                                                 "(header values are single-line text; tab is the only one allowed)")
        return value

    def duration(self, value: Any, path: str) -> float:
        try:
            return parse_duration(value)
        except ValueError as err:
            raise self.fail(path, str(err)) from None

    def boolean(self, value: Any, path: str) -> bool:
        if not isinstance(value, bool):
            raise self.fail(path, f"must be true or false, got {type_name(value)}")
        return value

    def choice(self, value: Any, path: str, choices: tuple[str, ...]) -> str:
        if value not in choices:
            raise self.fail(path, f"must be one of {', '.join(choices)}, got {value!r}")
        return value

    def regexes(self, value: Any, path: str) -> tuple[re.Pattern, ...]:
        compiled = []
        for i, pattern in enumerate(self.string_list(value, path)):
            try:
                compiled.append(re.compile(pattern))
            except (re.error, OverflowError, RecursionError) as err:  # huge repeats, deep nesting
                raise self.fail(f"{path}[{i}]", f"invalid regular expression: {err}") from None
        return tuple(compiled)

    def size(self, value: Any, path: str) -> int:
        if isinstance(value, int) and not isinstance(value, bool):
            size = value
        else:
            match = SIZE_RE.match(value) if isinstance(value, str) else None
            if not match:
                raise self.fail(path, "must be a size such as 1048576, 512KiB or 1MiB")
            size = int(match.group(1)) * SIZE_UNITS[match.group(2)]
        if size <= 0:
            raise self.fail(path, "must be greater than zero")
        return size

    def integer(self, value: Any, path: str, low: int, high: int) -> int:
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise self.fail(path, f"must be a whole number from {low} to {high}, got {value!r}")
        return value

    def timing(self, raw: dict, path: str, interval: float, timeout: float | None) -> tuple[float, float | None]:
        """Read interval/timeout at `path`; `timeout` None means "not set above": default it, as Prometheus does."""
        if "interval" in raw:
            interval = self.duration(raw["interval"], join(path, "interval"))
        if "timeout" in raw:
            timeout = self.duration(raw["timeout"], join(path, "timeout"))
            if timeout >= interval:
                raise self.fail(join(path, "timeout"), f"timeout ({format_duration(timeout)}) must be below "
                                                       f"interval ({format_duration(interval)})")
        elif timeout is not None and timeout >= interval:
            raise self.fail(join(path, "interval"), f"interval ({format_duration(interval)}) must be above the "
                                                    f"timeout set above it ({format_duration(timeout)}); set {join(path, 'timeout')}")
        return interval, timeout

    def settle(self, interval: float, timeout: float | None) -> float:
        """The effective timeout: as set, else 10s or 80% of a shorter interval."""
        return timeout if timeout is not None else min(DEFAULT_TIMEOUT, round(interval * 0.8, 3))


def join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def type_name(value: Any) -> str:
    return "nothing" if value is None else type(value).__name__


def parse_endpoint(text: str, default_port: int | None) -> Endpoint:
    """Split ``host``, ``host:port``, ``[v6]:port`` or a bare IPv6 address; raise ValueError naming the problem."""
    if default_port is not None and ":" in text and is_ip_literal(text):
        return Endpoint(text, default_port)  # as chrony takes `server 2001:db8::1`: no port can be meant
    parts = urlsplit(f"//{text}")
    try:
        host, port = parts.hostname, parts.port
    except ValueError as err:
        raise ValueError(f"bad port in {text!r}: {err}") from None
    if not host or parts.path or parts.query or parts.username:
        raise ValueError(f"{text!r} is not host or host:port")
    if port is None:
        if default_port is None:
            raise ValueError(f"{text!r} needs a port")
        port = default_port
    if port == 0:
        raise ValueError(f"port 0 in {text!r} is not usable")
    return Endpoint(host, port)


def make_ssl_context(tls: TLSConfig) -> ssl.SSLContext:
    """A client TLS context, built at config load: loading CA files per probe costs CPU."""
    context = ssl.create_default_context(cafile=tls.ca_file)
    if tls.insecure_skip_verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _read_tls(r: _Reader, raw: Any, path: str) -> TLSConfig:
    raw = r.mapping(raw, path, ("insecure_skip_verify", "ca_file", "server_name"))
    tls = TLSConfig(
        insecure_skip_verify=r.boolean(raw.get("insecure_skip_verify", False), join(path, "insecure_skip_verify")),
        ca_file=raw.get("ca_file"),
        server_name=raw.get("server_name"),
    )
    if tls.ca_file is not None:
        if not isinstance(tls.ca_file, str) or not Path(tls.ca_file).is_file():
            raise r.fail(join(path, "ca_file"), f"file {tls.ca_file!r} does not exist")
    if tls.server_name is not None and not _is_sni_name(tls.server_name):
        raise r.fail(join(path, "server_name"), "must be a host name")
    return tls


def _is_sni_name(name: Any) -> bool:
    """A name TLS can send: the ssl module refuses NUL and empty or over-long labels at every handshake."""
    if not isinstance(name, str) or not name or "\0" in name:
        return False
    try:
        name.encode("idna")
    except UnicodeError:
        return False
    return True


TARGET_KEYS = ("name", "url", "interval", "timeout", "method", "valid_status_codes",
               "fail_if_body_matches", "fail_if_body_not_matches", "headers", "ip_protocol",
               "ip_protocol_fallback", "max_redirects", "body_size_limit", "tls", "spse")
SPSE_KEYS = ("timezone", "data_max_age", "app_check", "app_interval")


def parse_zone(name: Any) -> tzinfo:
    """WIB, WITA, WIT or an IANA zone name such as Asia/Makassar; raise ValueError otherwise."""
    if not isinstance(name, str) or not name:
        raise ValueError("must be WIB, WITA, WIT or an IANA zone name such as Asia/Makassar")
    if name.upper() in INDONESIAN_ZONES:
        return INDONESIAN_ZONES[name.upper()]
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):  # OSError: e.g. a name too long for a file
        raise ValueError(f"unknown time zone {name[:64]!r} (use WIB, WITA, WIT or an IANA name such as "
                         "Asia/Makassar)") from None


def _read_holidays(r: _Reader, raw: Any) -> tuple[tuple[date, date], ...]:
    """`holidays:` (national holidays, cuti bersama): each a date YYYY-MM-DD or a range FIRST/LAST, both included."""
    if not isinstance(raw, list):
        raise r.fail("holidays", f"must be a list of dates YYYY-MM-DD or ranges FIRST/LAST, got {type_name(raw)}")
    ranges = []
    for i, item in enumerate(raw):
        path = f"holidays[{i}]"
        if not isinstance(item, str):
            raise r.fail(path, f"must be a date YYYY-MM-DD or a range FIRST/LAST, got {type_name(item)}")
        first, slash, last = item.partition("/")
        try:
            first = date.fromisoformat(first.strip())
            last = date.fromisoformat(last.strip()) if slash else first
        except ValueError:
            raise r.fail(path, f"{item[:40]!r} is not a date YYYY-MM-DD or a range FIRST/LAST "
                               "such as 2026-12-24/2026-12-26") from None
        if last < first:
            raise r.fail(path, f"{item!r} ends before it starts")
        ranges.append((first, last))
    return tuple(ranges)


def _read_spse(r: _Reader, raw: Any, path: str, target_timeout: float,
               holidays: tuple[tuple[date, date], ...]) -> SpseConfig | None:
    """`spse: true` (defaults), `spse: false` or absent (off), or a mapping of SPSE settings (on)."""
    if raw is None or raw is False:
        return None
    if raw is True:
        return SpseConfig(holidays=holidays)
    if not isinstance(raw, dict):
        raise r.fail(path, f"must be true, false or a mapping of SPSE settings, got {type_name(raw)}")
    raw = r.mapping(raw, path, SPSE_KEYS)
    name = raw.get("timezone", "WIB")
    try:
        zone = parse_zone(name)
    except ValueError as err:
        raise r.fail(join(path, "timezone"), str(err)) from None
    interval = r.duration(raw.get("app_interval", "5m"), join(path, "app_interval"))
    if interval <= target_timeout:
        raise r.fail(join(path, "app_interval"), f"must be above the target's timeout ({format_duration(target_timeout)})")
    return SpseConfig(timezone=name, zone=zone,
                      data_max_age=r.duration(raw.get("data_max_age", "8h"), join(path, "data_max_age")),
                      app_check=r.boolean(raw.get("app_check", True), join(path, "app_check")),
                      app_interval=interval, holidays=holidays)


def _read_target(r: _Reader, raw: Any, path: str, interval: float, timeout: float,
                 holidays: tuple[tuple[date, date], ...]) -> Target:
    raw = r.mapping(raw, path, TARGET_KEYS)
    for key in ("name", "url"):
        if key not in raw:
            raise r.fail(join(path, key), "is required")
    name = raw["name"]
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise r.fail(join(path, "name"), "must be 1-63 letters, digits, '_', '.' or '-', starting with a letter or digit")
    url = raw["url"]
    if not isinstance(url, str):
        raise r.fail(join(path, "url"), f"must be a string, got {type_name(url)}")
    try:
        parts = urlsplit(url)
    except ValueError as err:  # e.g. an unclosed [ of an IPv6 address
        raise r.fail(join(path, "url"), str(err)) from None
    if parts.scheme not in ("http", "https"):
        raise r.fail(join(path, "url"), "scheme must be http or https")
    try:
        parts.port
    except ValueError as err:
        raise r.fail(join(path, "url"), f"bad port: {err}") from None
    if not parts.hostname:
        raise r.fail(join(path, "url"), "has no host")
    if parts.username is not None or parts.password is not None:
        raise r.fail(join(path, "url"), f"{URL_CREDENTIALS}: send them with headers: {{Authorization: ...}}")
    try:
        httpx.URL(url)  # the probe's HTTP client refuses what it cannot send, e.g. control characters
    except httpx.InvalidURL as err:
        raise r.fail(join(path, "url"), str(err)) from None
    interval, timeout = r.timing(raw, path, interval, timeout)
    timeout = r.settle(interval, timeout)
    codes = raw.get("valid_status_codes", [])
    if not isinstance(codes, list):
        raise r.fail(join(path, "valid_status_codes"), f"must be a list, got {type_name(codes)}")
    for i, code in enumerate(codes):
        r.integer(code, f"{path}.valid_status_codes[{i}]", 100, 599)
    headers = r.headers(raw.get("headers", {}), join(path, "headers"))
    tls = _read_tls(r, raw.get("tls", {}), join(path, "tls"))
    return Target(
        name=name,
        url=url,
        interval=interval,
        timeout=timeout,
        method=r.choice(raw.get("method", "GET"), join(path, "method"), HTTP_METHODS),
        valid_status_codes=tuple(codes),
        fail_if_body_matches=r.regexes(raw.get("fail_if_body_matches", []), join(path, "fail_if_body_matches")),
        fail_if_body_not_matches=r.regexes(raw.get("fail_if_body_not_matches", []), join(path, "fail_if_body_not_matches")),
        headers=tuple(headers.items()),
        ip_protocol=r.choice(raw.get("ip_protocol", "ip4"), join(path, "ip_protocol"), IP_PROTOCOLS),
        ip_protocol_fallback=r.boolean(raw.get("ip_protocol_fallback", True), join(path, "ip_protocol_fallback")),
        max_redirects=r.integer(raw.get("max_redirects", 10), join(path, "max_redirects"), 0, 30),
        body_size_limit=r.size(raw.get("body_size_limit", "1MiB"), join(path, "body_size_limit")),
        tls=tls,
        ssl_context=r.ssl_context(tls, join(path, "tls")),  # http:// targets too: their redirects to https:// use it
        spse=_read_spse(r, raw.get("spse"), join(path, "spse"), timeout, holidays),
        secrets=secrets_in(url, headers.items()),
    )


def _read_time_source(r: _Reader, raw: Any, path: str, role: str) -> TimeSource:
    """`host[:port]`, or for SPSE's own sources also `{host: ..., via: national|global}`."""
    via = ""
    if isinstance(raw, dict) and role == "spse":
        raw = r.mapping(raw, path, ("host", "via"))
        if "host" not in raw:
            raise r.fail(join(path, "host"), "is required")
        if "via" in raw:
            via = r.choice(raw["via"], join(path, "via"), CLOCK_VIA_GROUPS)
        raw, path = raw["host"], join(path, "host")
    if not isinstance(raw, str) or not raw:
        form = "host[:port] or {host: ..., via: national|global}" if role == "spse" else "host[:port]"
        raise r.fail(path, f"must be {form}, got {type_name(raw)}")
    try:
        return TimeSource(raw, parse_endpoint(raw, DEFAULT_NTP_PORT), role, via)
    except ValueError as err:
        raise r.fail(path, str(err)) from None


def _read_clock(r: _Reader, raw: Any, interval: float, timeout: float) -> ClockConfig:
    raw = r.mapping(raw, "clock", ("servers", "reference_servers", "host_kernel", "interval", "timeout"))
    sources = []
    for key, role in (("servers", "spse"), ("reference_servers", "reference")):
        listed = raw.get(key, [])
        if not isinstance(listed, list):
            raise r.fail(f"clock.{key}", f"must be a list, got {type_name(listed)}")
        for i, item in enumerate(listed):
            source = _read_time_source(r, item, f"clock.{key}[{i}]", role)
            if any(source.server == known.server for known in sources):
                raise r.fail(f"clock.{key}[{i}]", f"{source.server!r} is listed twice")
            sources.append(source)
    if not any(source.role == "spse" for source in sources):
        raise r.fail("clock.servers", "needs at least one time source: the ones the SPSE server itself uses")
    host_kernel = r.boolean(raw.get("host_kernel", False), "clock.host_kernel")
    if host_kernel and sys.platform != "linux":
        raise r.fail("clock.host_kernel", "needs Linux (the kernel's adjtimex)")
    interval, timeout = r.timing(raw, "clock", interval, timeout)
    return ClockConfig(tuple(sources), interval, r.settle(interval, timeout), host_kernel)


def _read_host_time(r: _Reader, raw: Any, interval: float, timeout: float | None, clock: ClockConfig | None,
                    upstream: tuple[UpstreamGroup, ...]) -> HostTimeConfig:
    raw = r.mapping(raw if raw is not None else {}, "host_time",
                    ("daemon", "chronyc", "ntpq", "national_networks", "interval", "timeout"))
    daemon = r.choice(raw.get("daemon", "auto"), "host_time.daemon", HOST_TIME_DAEMONS)
    clients = {}
    for client in ("chronyc", "ntpq"):
        clients[client] = tuple(r.string_list(raw.get(client, [client]), f"host_time.{client}"))
        if not clients[client]:
            raise r.fail(f"host_time.{client}", f"needs the {client} command, e.g. [{client}]")
    networks = []
    for i, text in enumerate(r.string_list(raw.get("national_networks", []), "host_time.national_networks")):
        try:
            networks.append(ipaddress.ip_network(text, strict=False))
        except ValueError as err:
            raise r.fail(f"host_time.national_networks[{i}]", f"must be a network such as 103.0.0.0/8: {err}") from None
    known = [(s.endpoint.host, s.via) for s in (clock.sources if clock else ()) if s.via]
    known += [(c.endpoint.host, g.name) for g in upstream if g.name in ALERTING_GROUPS for c in g.checks]
    interval, timeout = r.timing(raw, "host_time", interval, timeout)
    return HostTimeConfig(daemon, clients["chronyc"], clients["ntpq"], tuple(networks), tuple(dict.fromkeys(known)),
                          interval, r.settle(interval, timeout))


def parse_check(url: str) -> Check:
    """Parse one upstream check URL; raise ValueError saying what is wrong."""
    parts = urlsplit(url)
    if parts.scheme == "icmp":
        raise ValueError("icmp checks are not supported (they need raw-socket privileges); "
                         "use tcp://host:port, dns://, ntp:// or http(s)://")
    if parts.scheme not in CHECK_SCHEMES:
        raise ValueError(f"scheme must be one of {', '.join(CHECK_SCHEMES)}")
    try:
        port = parts.port
    except ValueError as err:
        raise ValueError(f"bad port: {err}") from None
    host = parts.hostname
    if not host:
        raise ValueError("has no host")
    if parts.username is not None or parts.password is not None:
        raise ValueError(f"{URL_CREDENTIALS}: remove them (an http(s) check counts a 401 as an answer)")
    if port == 0:
        raise ValueError("port 0 is not usable")
    if parts.scheme == "tcp":
        if port is None:
            raise ValueError("tcp checks need a port, e.g. tcp://host:443")
        if parts.path not in ("", "/") or parts.query:
            raise ValueError("tcp checks take only host:port")
        return Check(url, "tcp", Endpoint(host, port))
    if parts.scheme == "ntp":
        if parts.path not in ("", "/") or parts.query:
            raise ValueError("ntp checks take only host[:port]")
        return Check(url, "ntp", Endpoint(host, port or DEFAULT_NTP_PORT))
    if parts.scheme == "dns":
        name = parts.path.strip("/")
        if not name:
            raise ValueError("dns checks need a name to query, e.g. dns://1.1.1.1/lkpp.go.id")
        try:
            dns.name.from_text(name)
        except dns.exception.DNSException as err:  # an empty label, a label over 63 or a name over 255 octets
            raise ValueError(f"{name[:80]!r} is not a DNS name: {err}") from None
        query = parse_qs(parts.query)
        unknown = set(query) - {"type"}
        if unknown:
            raise ValueError(f"unknown parameter {sorted(unknown)[0]!r} (only type=)")
        qtype = query.get("type", ["A"])[-1].upper()
        if qtype not in DNS_RECORD_TYPES:
            raise ValueError(f"type must be one of {', '.join(DNS_RECORD_TYPES)}")
        return Check(url, "dns", Endpoint(host, port or DEFAULT_DNS_PORT), query_name=name, query_type=qtype)
    default_port = 443 if parts.scheme == "https" else 80
    try:
        httpx.URL(url)  # the probe's HTTP client refuses what it cannot send, e.g. control characters
    except httpx.InvalidURL as err:
        raise ValueError(str(err)) from None
    context = make_ssl_context(TLSConfig()) if parts.scheme == "https" else None
    return Check(url, parts.scheme, Endpoint(host, port or default_port), ssl_context=context, secrets=secrets_in(url))


def secrets_in(url: str, headers: Iterable[tuple[str, str]] = ()) -> tuple[str, ...]:
    """What of a URL and its (name, value) headers may be a credential, for the probes to keep
    out of logs and messages: the query string and each value in it, each header value and each of its words
    (the token after "Bearer"). A user name or password in a URL is refused at load."""
    query = urlsplit(url).query
    found = {query, *(value for _, value in parse_qsl(query, keep_blank_values=True)),
             *(part.partition("=")[2] for part in query.split("&"))}  # as written, before percent-decoding
    for _, value in headers:
        found.update((value, *value.split()))
    return tuple(sorted(s for s in found if len(s) >= SECRET_MIN_LENGTH))


def _read_upstream(r: _Reader, raw: Any, interval: float, timeout: float) -> tuple[UpstreamGroup, ...]:
    if not isinstance(raw, dict):
        raise r.fail("upstream", f"must be a mapping of group name to a list of checks, got {type_name(raw)}")
    groups = []
    for name, checks in raw.items():
        path = f"upstream.{name}"
        if not isinstance(name, str) or not NAME_RE.match(name):
            raise r.fail(path, "group name must be letters, digits, '_', '.' or '-'")
        if name not in ALERTING_GROUPS and not (name.startswith(CUSTOM_GROUP_PREFIX) and name != CUSTOM_GROUP_PREFIX):
            close = difflib.get_close_matches(name.lower(), GROUP_WORDS, n=1, cutoff=0.6)
            hint = f"did you mean {GROUP_WORDS[close[0]]!r}? " if close else ""
            raise r.fail(path, f"unknown group {name!r}: {hint}the alert rules know gateway, national and global; "
                               f"name a group of your own {CUSTOM_GROUP_PREFIX}<name>")
        urls = r.string_list(checks, path)
        if not urls:
            raise r.fail(path, "needs at least one check")
        if len(set(urls)) != len(urls):
            raise r.fail(path, "lists a check twice")
        parsed = []
        for i, url in enumerate(urls):
            try:
                parsed.append(parse_check(url))
            except ValueError as err:
                raise r.fail(f"{path}[{i}]", str(err)) from None
        groups.append(UpstreamGroup(name, tuple(parsed), interval, timeout))
    return tuple(groups)


def parse_config(text: str, source: str = "<config>") -> Config:
    """Parse and validate config text; raise ConfigError on the first problem."""
    r = _Reader(source)
    try:
        raw = yaml.load(text, Loader=_StrictLoader)
    except DuplicateKeyError as err:
        raise ConfigError(source, err.path, f"duplicate key at line {err.line} (first at line {err.first_line}); "
                                            "remove one of them") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(err, "problem", None) or str(err)
        raise ConfigError(source, where, f"invalid YAML: {problem}") from None
    except (ValueError, TypeError, RecursionError) as err:
        raise ConfigError(source, "", f"invalid YAML: {err}") from None
    if raw is None:
        raise r.fail("", "is empty")
    raw = r.mapping(raw, "", ("interval", "timeout", "targets", "clock", "upstream", "holidays", "host_time"))
    interval, timeout = r.timing(raw, "", DEFAULT_INTERVAL, None)
    targets_raw = raw.get("targets", [])
    if not isinstance(targets_raw, list):
        raise r.fail("targets", f"must be a list, got {type_name(targets_raw)}")
    holidays = _read_holidays(r, raw["holidays"]) if raw.get("holidays") is not None else ()
    targets = tuple(_read_target(r, t, f"targets[{i}]", interval, timeout, holidays) for i, t in enumerate(targets_raw))
    seen: dict[str, int] = {}
    for i, target in enumerate(targets):
        if target.name in seen:
            raise r.fail(f"targets[{i}].name", f"{target.name!r} is already used by targets[{seen[target.name]}]")
        seen[target.name] = i
    clock = _read_clock(r, raw["clock"], interval, timeout) if raw.get("clock") is not None else None
    upstream = (_read_upstream(r, raw["upstream"], interval, r.settle(interval, timeout))
                if raw.get("upstream") is not None else ())
    host_time = _read_host_time(r, raw["host_time"], interval, timeout, clock, upstream) if "host_time" in raw else None
    if host_time and host_time.daemon == "none":  # turned off
        host_time = None
    if not targets and clock is None and not upstream and host_time is None:
        raise r.fail("", "configures nothing to probe: add targets, clock, upstream or host_time")
    # A `via` link the exporter does not watch cannot be seen lost; only a lost gateway would then
    # "explain" ClockUnvalidated, confirmed by no national or global check: a refused router check
    # would silence the clock alert while the internet works.
    groups = {group.name for group in upstream}
    for i, time_source in enumerate(clock.sources if clock else ()):  # SPSE's own first, in clock.servers order
        if time_source.via and time_source.via not in groups:
            raise r.fail(f"clock.servers[{i}].via", f"{time_source.via!r} is no upstream group of this config: add "
                                                   f"upstream.{time_source.via} (its loss explains ClockUnvalidated) or remove via")
    return Config(source, interval, r.settle(interval, timeout), targets, clock, upstream, host_time)


def load_config(path: str | Path) -> Config:
    """Read and validate a config file; raise ConfigError naming the file."""
    source = str(path)
    try:
        # O_NONBLOCK: opening a FIFO that nobody writes to would wait forever.
        with open(path, "rb", opener=lambda name, flags: os.open(name, flags | os.O_NONBLOCK)) as file:
            if not stat.S_ISREG(os.fstat(file.fileno()).st_mode):  # open() itself refuses a directory
                raise ConfigError(source, "", "cannot read: it is a FIFO, device or socket, not a regular file")
            data = file.read(MAX_CONFIG_BYTES + 1)
        if len(data) > MAX_CONFIG_BYTES:
            raise ConfigError(source, "", f"cannot read: larger than {MAX_CONFIG_BYTES // 1024 // 1024} MiB, "
                                          "the most a config file may be")
        text = data.decode("utf-8")
    except IsADirectoryError as err:
        # What docker compose leaves on the host when SPSE_CONFIG_FILE's file did not exist (README, Quick start).
        raise ConfigError(source, "", f"cannot read: {err}; docker creates a directory where a file to mount is "
                                      "missing: remove it and copy your config to that path (SPSE_CONFIG_FILE)") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(source, "", f"cannot read: {err}") from None
    return parse_config(text, source)


def is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
