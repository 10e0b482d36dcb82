"""Load and validate the exporter's YAML config.

Everything is checked at load, so a running exporter never meets a bad value:
each error names the file, the key path and what is wrong, e.g.
``spse.yml: targets[2].url: scheme must be http or https``.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
import ssl
import sys
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import dns.exception
import dns.name

from exporter.config.durations import format_duration, parse_duration
from exporter.config.errors import ConfigError, join, type_name
from exporter.config.model import (Check, ClockConfig, Config, Endpoint, HostTimeConfig, SpseConfig, Target,
                                   TimeSource, TLSConfig, UpstreamGroup)
from exporter.config.network import check_url, parse_endpoint
from exporter.config.secrets import secrets_in
from exporter.config.strict_yaml import parse_yaml, read_text
from exporter.config.tls import is_sni_name, make_ssl_context
from exporter.config.zones import parse_zone
from exporter.messages import Problem

EXAMPLE_CONFIG = Path(__file__).parent.parent / "examples" / "spse.yml"

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
HEADER_NAME_RE = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
# RFC 9110 field values: visible characters, space and tab; CR, LF, NUL and the rest of C0 and DEL
# would split the request or be rejected by the server.
HEADER_VALUE_CONTROL_RE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
SIZE_RE = re.compile(r"^(\d+)\s*(B|KiB|MiB|GiB|KB|MB|GB)?$")
SIZE_UNITS = {None: 1, "B": 1, "KB": 1000, "MB": 10**6, "GB": 10**9,
              "KiB": 1024, "MiB": 1024**2, "GiB": 1024**3}
DNS_RECORD_TYPES = ("A", "AAAA", "NS", "MX", "TXT", "SOA", "CNAME")
CHECK_SCHEMES = ("tcp", "dns", "ntp", "http", "https")
HTTP_METHODS = ("GET", "HEAD")
IP_PROTOCOLS = ("ip4", "ip6")
# Upstream groups the alert rules read (gateway -> national/global -> clock -> SPSE); any other group
# must be named custom_<name>, so that a typo such as "nasional" cannot silently leave the chain.
ALERTING_GROUPS = ("gateway", "national", "global")
CUSTOM_GROUP_PREFIX = "custom_"
CLOCK_VIA_GROUPS = ("national", "global")  # the links a time source's path can go through
HOST_TIME_DAEMONS = ("auto", "chrony", "ntpsec", "timesyncd", "none")  # the host time daemons host_time reads, or none
# Words an operator may mean a group by, Bahasa Indonesia included, for the "did you mean" hint.
GROUP_WORDS = {**{g: g for g in ALERTING_GROUPS}, "nasional": "national", "internasional": "global",
               "international": "global", "router": "gateway", "lokal": "gateway", "local": "gateway"}
DEFAULT_INTERVAL = 15.0
DEFAULT_TIMEOUT = 10.0
DEFAULT_NTP_PORT = 123
DEFAULT_DNS_PORT = 53


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
                raise self.fail(join(path, "ca_file"), "ca_unloadable", detail=err) from None
        return self.ssl_contexts[tls]

    def fail(self, path: str, code: str, **params: Any) -> ConfigError:
        """The error at `path`: a message code of exporter/messages.py and its parameters."""
        return ConfigError(self.source, path, code, **params)

    def failed(self, path: str, problem: ValueError) -> ConfigError:
        """The error at `path` for what a value's parser raised."""
        return ConfigError.of(self.source, path, problem)

    def mapping(self, value: Any, path: str, allowed: tuple[str, ...]) -> dict:
        if not isinstance(value, dict):
            raise self.fail(path, "not_mapping", type=type_name(value))
        for key in value:
            if not isinstance(key, str) or not key:  # an empty key would leave the path blank
                raise self.fail(path, "key_not_string", key=key)
            if key not in allowed:
                raise self.fail(join(path, key), "unknown_key", allowed=", ".join(allowed))
        return value

    def string_list(self, value: Any, path: str) -> list[str]:
        if not isinstance(value, list):
            raise self.fail(path, "not_list", type=type_name(value))
        for i, item in enumerate(value):
            if not isinstance(item, str) or not item:
                raise self.fail(f"{path}[{i}]", "not_nonempty_string")
        return value

    def headers(self, value: Any, path: str) -> dict[str, str]:
        if not isinstance(value, dict):
            raise self.fail(path, "headers_not_mapping", type=type_name(value))
        for key, text in value.items():
            if not isinstance(key, str) or not HEADER_NAME_RE.match(key):
                raise self.fail(path, "header_name_invalid", name=key)
            if not isinstance(text, str):
                raise self.fail(join(path, key), "not_string", type=type_name(text))
            bad = HEADER_VALUE_CONTROL_RE.search(text)
            if bad:
                raise self.fail(join(path, key), "header_control_character", character=bad.group())
        return value

    def duration(self, value: Any, path: str) -> float:
        try:
            return parse_duration(value)
        except ValueError as err:
            raise self.failed(path, err) from None

    def boolean(self, value: Any, path: str) -> bool:
        if not isinstance(value, bool):
            raise self.fail(path, "not_boolean", type=type_name(value))
        return value

    def choice(self, value: Any, path: str, choices: tuple[str, ...]) -> str:
        if value not in choices:
            raise self.fail(path, "not_choice", choices=", ".join(choices), value=value)
        return value

    def regexes(self, value: Any, path: str) -> tuple[re.Pattern, ...]:
        compiled = []
        for i, pattern in enumerate(self.string_list(value, path)):
            try:
                compiled.append(re.compile(pattern))
            except (re.error, OverflowError, RecursionError) as err:  # huge repeats, deep nesting
                raise self.fail(f"{path}[{i}]", "regex_invalid", detail=err) from None
        return tuple(compiled)

    def size(self, value: Any, path: str) -> int:
        if isinstance(value, int) and not isinstance(value, bool):
            size = value
        else:
            match = SIZE_RE.match(value) if isinstance(value, str) else None
            if not match:
                raise self.fail(path, "size_invalid")
            size = int(match.group(1)) * SIZE_UNITS[match.group(2)]
        if size <= 0:
            raise self.fail(path, "not_positive")
        return size

    def integer(self, value: Any, path: str, low: int, high: int) -> int:
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise self.fail(path, "integer_range", low=low, high=high, value=value)
        return value

    def timing(self, raw: dict, path: str, interval: float, timeout: float | None) -> tuple[float, float | None]:
        """Read interval/timeout at `path`; `timeout` None means "not set above": default it, as Prometheus does."""
        if "interval" in raw:
            interval = self.duration(raw["interval"], join(path, "interval"))
        if "timeout" in raw:
            timeout = self.duration(raw["timeout"], join(path, "timeout"))
            if timeout >= interval:
                raise self.fail(join(path, "timeout"), "timeout_not_below_interval",
                                timeout=format_duration(timeout), interval=format_duration(interval))
        elif timeout is not None and timeout >= interval:
            raise self.fail(join(path, "interval"), "interval_not_above_timeout", interval=format_duration(interval),
                            timeout=format_duration(timeout), key=join(path, "timeout"))
        return interval, timeout

    def settle(self, interval: float, timeout: float | None) -> float:
        """The effective timeout: as set, else 10s or 80% of a shorter interval."""
        return timeout if timeout is not None else min(DEFAULT_TIMEOUT, round(interval * 0.8, 3))





def _read_tls(r: _Reader, raw: Any, path: str) -> TLSConfig:
    raw = r.mapping(raw, path, ("insecure_skip_verify", "ca_file", "server_name"))
    tls = TLSConfig(
        insecure_skip_verify=r.boolean(raw.get("insecure_skip_verify", False), join(path, "insecure_skip_verify")),
        ca_file=raw.get("ca_file"),
        server_name=raw.get("server_name"),
    )
    if tls.ca_file is not None:
        if not isinstance(tls.ca_file, str) or not Path(tls.ca_file).is_file():
            raise r.fail(join(path, "ca_file"), "file_missing", file=tls.ca_file)
    if tls.server_name is not None and not is_sni_name(tls.server_name):
        raise r.fail(join(path, "server_name"), "not_host_name")
    return tls



TARGET_KEYS = ("name", "url", "interval", "timeout", "method", "valid_status_codes",
               "fail_if_body_matches", "fail_if_body_not_matches", "headers", "ip_protocol",
               "ip_protocol_fallback", "max_redirects", "body_size_limit", "tls", "spse")
SPSE_KEYS = ("timezone", "data_max_age", "app_check", "app_interval")



def _read_holidays(r: _Reader, raw: Any) -> tuple[tuple[date, date], ...]:
    """`holidays:` (national holidays, cuti bersama): each a date YYYY-MM-DD or a range FIRST/LAST, both included."""
    if not isinstance(raw, list):
        raise r.fail("holidays", "holidays_not_list", type=type_name(raw))
    ranges = []
    for i, item in enumerate(raw):
        path = f"holidays[{i}]"
        if not isinstance(item, str):
            raise r.fail(path, "holiday_not_string", type=type_name(item))
        first, slash, last = item.partition("/")
        try:
            first = date.fromisoformat(first.strip())
            last = date.fromisoformat(last.strip()) if slash else first
        except ValueError:
            raise r.fail(path, "holiday_invalid", value=item[:40]) from None
        if last < first:
            raise r.fail(path, "holiday_reversed", value=item)
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
        raise r.fail(path, "spse_invalid", type=type_name(raw))
    raw = r.mapping(raw, path, SPSE_KEYS)
    name = raw.get("timezone", "WIB")
    try:
        zone = parse_zone(name)
    except ValueError as err:
        raise r.failed(join(path, "timezone"), err) from None
    interval = r.duration(raw.get("app_interval", "5m"), join(path, "app_interval"))
    if interval <= target_timeout:
        raise r.fail(join(path, "app_interval"), "app_interval_not_above_timeout",
                     timeout=format_duration(target_timeout))
    return SpseConfig(timezone=name, zone=zone,
                      data_max_age=r.duration(raw.get("data_max_age", "8h"), join(path, "data_max_age")),
                      app_check=r.boolean(raw.get("app_check", True), join(path, "app_check")),
                      app_interval=interval, holidays=holidays)


def _read_target(r: _Reader, raw: Any, path: str, interval: float, timeout: float,
                 holidays: tuple[tuple[date, date], ...]) -> Target:
    raw = r.mapping(raw, path, TARGET_KEYS)
    for key in ("name", "url"):
        if key not in raw:
            raise r.fail(join(path, key), "required")
    name = raw["name"]
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise r.fail(join(path, "name"), "target_name_invalid")
    url = raw["url"]
    if not isinstance(url, str):
        raise r.fail(join(path, "url"), "not_string", type=type_name(url))
    try:
        check_url(url, ("http", "https"), Problem("target_scheme"), Problem("target_credentials"))
    except ValueError as err:
        raise r.failed(join(path, "url"), err) from None
    interval, timeout = r.timing(raw, path, interval, timeout)
    timeout = r.settle(interval, timeout)
    codes = raw.get("valid_status_codes", [])
    if not isinstance(codes, list):
        raise r.fail(join(path, "valid_status_codes"), "not_list", type=type_name(codes))
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
            raise r.fail(join(path, "host"), "required")
        if "via" in raw:
            via = r.choice(raw["via"], join(path, "via"), CLOCK_VIA_GROUPS)
        raw, path = raw["host"], join(path, "host")
    if not isinstance(raw, str) or not raw:
        raise r.fail(path, "spse_time_source_invalid" if role == "spse" else "time_source_invalid",
                     type=type_name(raw))
    try:
        return TimeSource(raw, parse_endpoint(raw, DEFAULT_NTP_PORT), role, via)
    except ValueError as err:
        raise r.failed(path, err) from None


def _read_clock(r: _Reader, raw: Any, interval: float, timeout: float) -> ClockConfig:
    raw = r.mapping(raw, "clock", ("servers", "reference_servers", "host_kernel", "interval", "timeout"))
    sources = []
    for key, role in (("servers", "spse"), ("reference_servers", "reference")):
        listed = raw.get(key, [])
        if not isinstance(listed, list):
            raise r.fail(f"clock.{key}", "not_list", type=type_name(listed))
        for i, item in enumerate(listed):
            source = _read_time_source(r, item, f"clock.{key}[{i}]", role)
            if any(source.server == known.server for known in sources):
                raise r.fail(f"clock.{key}[{i}]", "listed_twice", value=source.server)
            sources.append(source)
    if not any(source.role == "spse" for source in sources):
        raise r.fail("clock.servers", "clock_needs_server")
    host_kernel = r.boolean(raw.get("host_kernel", False), "clock.host_kernel")
    if host_kernel and sys.platform != "linux":
        raise r.fail("clock.host_kernel", "needs_linux")
    interval, timeout = r.timing(raw, "clock", interval, timeout)
    return ClockConfig(tuple(sources), interval, r.settle(interval, timeout), host_kernel)


def _read_host_time(r: _Reader, raw: Any, interval: float, timeout: float | None, clock: ClockConfig | None,
                    upstream: tuple[UpstreamGroup, ...]) -> HostTimeConfig:
    raw = r.mapping(raw if raw is not None else {}, "host_time",
                    ("daemon", "chronyc", "ntpq", "timedatectl", "national_networks", "interval", "timeout"))
    daemon = r.choice(raw.get("daemon", "auto"), "host_time.daemon", HOST_TIME_DAEMONS)
    clients = {}
    for client in ("chronyc", "ntpq", "timedatectl"):
        clients[client] = tuple(r.string_list(raw.get(client, [client]), f"host_time.{client}"))
        if not clients[client]:
            raise r.fail(f"host_time.{client}", "needs_command", command=client)
    networks = []
    for i, text in enumerate(r.string_list(raw.get("national_networks", []), "host_time.national_networks")):
        try:
            networks.append(ipaddress.ip_network(text, strict=False))
        except ValueError as err:
            raise r.fail(f"host_time.national_networks[{i}]", "network_invalid", detail=err) from None
    known = [(s.endpoint.host, s.via) for s in (clock.sources if clock else ()) if s.via]
    known += [(c.endpoint.host, g.name) for g in upstream if g.name in ALERTING_GROUPS for c in g.checks]
    interval, timeout = r.timing(raw, "host_time", interval, timeout)
    return HostTimeConfig(daemon, clients["chronyc"], clients["ntpq"], tuple(networks), tuple(dict.fromkeys(known)),
                          interval, r.settle(interval, timeout), clients["timedatectl"])


def parse_check(url: str) -> Check:
    """Parse one upstream check URL; raise ValueError (a Problem, or the URL parser's own) saying what is wrong."""
    if urlsplit(url).scheme == "icmp":
        raise Problem("check_icmp")
    parts = check_url(url, CHECK_SCHEMES, Problem("check_scheme", schemes=", ".join(CHECK_SCHEMES)),
                      Problem("check_credentials"))
    host, port = parts.hostname, parts.port
    if parts.scheme == "tcp":
        if port is None:
            raise Problem("tcp_needs_port")
        if parts.path not in ("", "/") or parts.query:
            raise Problem("tcp_only_host_port")
        return Check(url, "tcp", Endpoint(host, port))
    if parts.scheme == "ntp":
        if parts.path not in ("", "/") or parts.query:
            raise Problem("ntp_only_host_port")
        return Check(url, "ntp", Endpoint(host, port or DEFAULT_NTP_PORT))
    if parts.scheme == "dns":
        name = parts.path.strip("/")
        if not name:
            raise Problem("dns_needs_name")
        try:
            dns.name.from_text(name)
        except dns.exception.DNSException as err:  # an empty label, a label over 63 or a name over 255 octets
            raise Problem("dns_name_invalid", name=name[:80], detail=err) from None
        query = parse_qs(parts.query)
        unknown = set(query) - {"type"}
        if unknown:
            raise Problem("dns_unknown_parameter", name=sorted(unknown)[0])
        qtype = query.get("type", ["A"])[-1].upper()
        if qtype not in DNS_RECORD_TYPES:
            raise Problem("dns_type", types=", ".join(DNS_RECORD_TYPES))
        return Check(url, "dns", Endpoint(host, port or DEFAULT_DNS_PORT), query_name=name, query_type=qtype)
    default_port = 443 if parts.scheme == "https" else 80
    context = make_ssl_context(TLSConfig()) if parts.scheme == "https" else None
    return Check(url, parts.scheme, Endpoint(host, port or default_port), ssl_context=context, secrets=secrets_in(url))



def _read_upstream(r: _Reader, raw: Any, interval: float, timeout: float) -> tuple[UpstreamGroup, ...]:
    if not isinstance(raw, dict):
        raise r.fail("upstream", "upstream_not_mapping", type=type_name(raw))
    groups = []
    for name, checks in raw.items():
        path = f"upstream.{name}"
        if not isinstance(name, str) or not NAME_RE.match(name):
            raise r.fail(path, "group_name_invalid")
        if name not in ALERTING_GROUPS and not (name.startswith(CUSTOM_GROUP_PREFIX) and name != CUSTOM_GROUP_PREFIX):
            close = difflib.get_close_matches(name.lower(), GROUP_WORDS, n=1, cutoff=0.6)
            if close:
                raise r.fail(path, "group_unknown_close", name=name, close=GROUP_WORDS[close[0]])
            raise r.fail(path, "group_unknown", name=name)
        urls = r.string_list(checks, path)
        if not urls:
            raise r.fail(path, "group_empty")
        if len(set(urls)) != len(urls):
            raise r.fail(path, "check_twice")
        parsed = []
        for i, url in enumerate(urls):
            try:
                parsed.append(parse_check(url))
            except ValueError as err:
                raise r.failed(f"{path}[{i}]", err) from None
        groups.append(UpstreamGroup(name, tuple(parsed), interval, timeout))
    return tuple(groups)


def parse_config(text: str, source: str = "<config>") -> Config:
    """Parse and validate config text; raise ConfigError on the first problem."""
    r = _Reader(source)
    raw = parse_yaml(text, source)
    if raw is None:
        raise r.fail("", "config_empty")
    raw = r.mapping(raw, "", ("interval", "timeout", "targets", "clock", "upstream", "holidays", "host_time"))
    interval, timeout = r.timing(raw, "", DEFAULT_INTERVAL, None)
    targets_raw = raw.get("targets", [])
    if not isinstance(targets_raw, list):
        raise r.fail("targets", "not_list", type=type_name(targets_raw))
    holidays = _read_holidays(r, raw["holidays"]) if raw.get("holidays") is not None else ()
    targets = tuple(_read_target(r, t, f"targets[{i}]", interval, timeout, holidays) for i, t in enumerate(targets_raw))
    seen: dict[str, int] = {}
    for i, target in enumerate(targets):
        if target.name in seen:
            raise r.fail(f"targets[{i}].name", "target_name_taken", name=target.name, other=f"targets[{seen[target.name]}]")
        seen[target.name] = i
    clock = _read_clock(r, raw["clock"], interval, timeout) if raw.get("clock") is not None else None
    upstream = (_read_upstream(r, raw["upstream"], interval, r.settle(interval, timeout))
                if raw.get("upstream") is not None else ())
    host_time = _read_host_time(r, raw["host_time"], interval, timeout, clock, upstream) if "host_time" in raw else None
    if host_time and host_time.daemon == "none":  # turned off
        host_time = None
    if not targets and clock is None and not upstream and host_time is None:
        raise r.fail("", "nothing_to_probe")
    # A `via` link the exporter does not watch cannot be seen lost; only a lost gateway would then
    # "explain" ClockUnvalidated, confirmed by no national or global check: a refused router check
    # would silence the clock alert while the internet works.
    groups = {group.name for group in upstream}
    for i, time_source in enumerate(clock.sources if clock else ()):  # SPSE's own first, in clock.servers order
        if time_source.via and time_source.via not in groups:
            raise r.fail(f"clock.servers[{i}].via", "via_not_watched", group=time_source.via)
    return Config(source, interval, r.settle(interval, timeout), targets, clock, upstream, host_time)


def load_config(path: str | Path) -> Config:
    """Read and validate a config file; raise ConfigError naming the file."""
    source = str(path)
    text = read_text(path, source, mounted=True)
    return parse_config(text, source)


def host_time_defaults(config: Config) -> HostTimeConfig:
    """The host_time section with its defaults (daemon auto) for a config without one: the doctor reads the host's
    time daemon whether or not the exporter does."""
    return _read_host_time(_Reader(config.source), None, config.interval, config.timeout, config.clock, config.upstream)
