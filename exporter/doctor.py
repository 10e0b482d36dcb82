"""`spse-exporter doctor`: what this SPSE host depends on, each marked fine or at risk, and what would stop if the
international link went, as on 4 April 2023. Run once by an administrator before an ISP's maintenance window.

It reuses the exporter's own readers: the config, one round of the http and upstream probes, the host_time reader
and its grouping, Alertmanager's running receivers and Prometheus' running config; each is bounded in time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import yaml

from exporter.config import ConfigError, HostTimeConfig, host_time_defaults, is_ip_literal, load_config
from exporter import formatting, messages
from exporter.doctor_text import PHRASES, join, reason
from exporter.notifytest import destination, receivers_of
from exporter.probes import ProbeFailure
from exporter.probes.host_time import classify, probe_host_time
from exporter.probes.registry import PROBE_KINDS
from exporter.probes.resolve import resolve
from exporter.receivers import TEST_RECEIVER, WATCHDOG_RECEIVER
from exporter.resolvers import RESOLV_CONF, RESOLVED_CONF, check_resolvers, host_nameservers

# Hosts abroad whatever this config says: Telegram's Bot API is served from outside Indonesia.
ABROAD = ("api.telegram.org",)
DNS_QUESTION = "go.id"  # asked of each resolver when no SPSE URL names a host
NATIONAL_SIDE = ("gateway", "national")  # what stays when the international link goes
# SPSETimeSourcesAtRisk's `sources` (prometheus/mixin/thresholds.yml, not installed with the exporter; a test holds
# them equal): fewer reachable time sources is one loss from none.
MIN_TIME_SOURCES = 2
# Reading a running Alertmanager's or Prometheus' config: HTTP failures, and (KeyError, ValueError, TypeError,
# AttributeError, YAMLError) an answer that is not theirs, e.g. another server's page on that port.
READ_ERRORS = (httpx.HTTPError, KeyError, ValueError, TypeError, AttributeError, yaml.YAMLError)
# The dead man's switch pages nobody about SPSE, and notify-test's receiver repeats ops-critical's integrations.
NOT_ON_CALL = (WATCHDOG_RECEIVER, TEST_RECEIVER)


@dataclass
class Entry:
    """One line under a check: a time source, a resolver, an upstream check, a receiver, a remote write."""

    name: str
    ok: bool
    text: str  # in the chosen language
    group: str = ""


@dataclass
class Check:
    """One dependency of the host, fine or at risk; `stops`/`may_stop`: what losing global links would stop."""

    check: str  # time_sources, resolvers, upstream, spse, receivers, watcher
    title: str
    at_risk: bool
    problem: str = ""  # why it is at risk, one sentence
    entries: list[Entry] = field(default_factory=list)
    stops: str = ""
    may_stop: str = ""


def with_loss(check: Check, groups: set[str], what: str) -> Check:
    """`check`, saying that `what` stops without global links when all it reaches (`groups`) is global, or may stop
    when none of it is on the national side (unknown counts as neither)."""
    if groups and groups <= {"global"}:
        check.stops = what
    elif groups and not groups & set(NATIONAL_SIDE):
        check.may_stop = what
    return check


class Doctor:
    """One run's settings and language; each check gives one Check (or one per job) and never raises for a peer."""

    def __init__(self, args: argparse.Namespace, lang: str):
        self.args, self.lang, self.words = args, lang, PHRASES[lang]

    def group(self, name: str) -> str:
        return formatting.group_word(name, self.lang)

    def within(self, seconds: float) -> str:
        """"tidak merespons dalam 5 detik" / "no answer within 5 seconds"."""
        return self.words["timeout"].format(timeout=formatting.duration(seconds, self.lang))

    def why(self, code: str, status: int | None = None) -> str:
        return reason(code, self.lang, status)

    def http_why(self, err: Exception) -> str:
        """Why Alertmanager or Prometheus could not be read, in the run's language."""
        if isinstance(err, httpx.TimeoutException):
            return self.within(self.args.timeout)
        if isinstance(err, httpx.HTTPStatusError):
            return self.words["http_status"].format(status=err.response.status_code)
        return self.words["http_connect" if isinstance(err, httpx.TransportError) else "http_garbage"]

    async def time_sources(self, spec: HostTimeConfig) -> Check:
        round_ = await probe_host_time(spec)
        w = self.words
        title = w["time_sources"].format(daemon=f" ({round_.daemon})" if round_.daemon != "none" else "")
        if round_.daemon == "none":
            return Check("time_sources", title, True, w["time_none"].format(why=self.why(round_.reason)))
        if not round_.success:
            why = self.within(spec.timeout) if round_.reason == "timeout" else self.why(round_.reason)
            return Check("time_sources", title, True, w["time_unreadable"].format(daemon=round_.daemon, why=why))
        entries = [Entry(s.name, s.reachable, f"{s.name} ({self.group(s.group)}): "
                       f"{w['reachable' if s.reachable else 'unreachable']}", s.group) for s in round_.sources]
        reached = [s for s in round_.sources if s.reachable]
        # As SPSETimeSourcesAtRisk: fewer than MIN_TIME_SOURCES reachable, or none outside global.
        outside_global = [s for s in reached if s.group != "global"]
        problem = (w["time_global_only"] if reached and not outside_global else
                   w["time_few"].format(n=len(reached), min=MIN_TIME_SOURCES) if len(reached) < MIN_TIME_SOURCES else
                   w["time_unsynchronised"] if not round_.synchronised else "")
        return with_loss(Check("time_sources", title, bool(problem), problem, entries), {s.group for s in reached},
                         w["stop_time"])

    async def resolvers(self, spec: HostTimeConfig, question: str) -> Check:
        w = self.words
        try:
            addresses, via_resolved = host_nameservers(self.args.resolv_conf, self.args.resolved_conf)
        except (OSError, UnicodeDecodeError) as err:
            why = ("file_missing" if isinstance(err, FileNotFoundError) else
                   "file_denied" if isinstance(err, PermissionError) else "file_unreadable")
            path = getattr(err, "filename", None) or self.args.resolv_conf
            return Check("resolvers", w["resolvers"], True,
                         w["resolvers_unreadable"].format(why=w[why].format(path=path)))
        title = w["resolvers_via_resolved" if via_resolved else "resolvers"]
        if not addresses:
            path = self.args.resolved_conf if via_resolved else self.args.resolv_conf
            return Check("resolvers", title, True, w["resolvers_none"].format(path=path))
        found = await check_resolvers(addresses, spec, question, self.args.timeout)
        entries = [Entry(r.address, r.answered, f"{r.address} ({self.group(r.group)}): " + (
            w["answers"] if r.answered else self.within(self.args.timeout)
            if r.problem == "timeout" else w["refused" if r.problem == "refused" else "unreachable_dns"]), r.group)
            for r in found]
        answering = {r.group for r in found if r.answered}
        return with_loss(Check("resolvers", title, "national" not in answering,
                               "" if "national" in answering else w["resolvers_not_national"], entries),
                         answering, w["stop_dns"])

    async def probes(self, config) -> list[Check]:
        """One round of each SPSE URL (http) and upstream group, through the probes the exporter runs."""
        jobs = [(kind, name, spec) for kind in ("http", "upstream") for name, spec in PROBE_KINDS[kind].specs(config)]
        rounds = await asyncio.gather(*(PROBE_KINDS[kind].probe(spec) for kind, _, spec in jobs))
        return [self._spse(spec, result) if kind == "http" else self._upstream(spec, result)
                for (kind, _, spec), result in zip(jobs, rounds)]

    def _spse(self, target, result) -> Check:
        w = self.words
        title = w["spse"].format(name=target.name, url=target.url)
        if result.success:
            return Check("spse", title, False)
        return Check("spse", title, True, w["spse_down"].format(why=self.why(result.reason, result.status_code)))

    def _upstream(self, group, results) -> Check:
        w = self.words
        name = self.group(group.name)
        entries = [Entry(check.url, r.success, f"{check.url}: " + (w["answered"] if r.success else self.why(r.reason)),
                         group.name)
                   for check, r in zip(group.checks, results)]
        down = not any(r.success for r in results)
        return Check("upstream", w["upstream"].format(group=name, name=group.name), down,
                     w["upstream_down"] if down else "", entries)

    async def host_group(self, host: str, spec: HostTimeConfig) -> str:
        """The group of a receiver's or a remote write's host: by config name, known host, or resolved address."""
        known = dict(spec.known_hosts)
        if host in known:
            return known[host]
        if host in ABROAD:
            return "global"
        try:
            address, _ = await asyncio.wait_for(resolve(host), self.args.timeout)
        except (ProbeFailure, TimeoutError):  # a name that does not resolve is in no group
            return "unknown"
        return classify(address, spec, {})

    async def running_config(self, url: str, path: str, *keys: str) -> dict:
        """The YAML config a running Alertmanager or Prometheus reports at `path`, under `keys` of its JSON answer;
        one of READ_ERRORS when it cannot be read or is not such an answer."""
        async with httpx.AsyncClient(timeout=self.args.timeout) as client:
            answer = (await client.get(f"{url.rstrip('/')}{path}")).raise_for_status().json()
        for key in keys:
            answer = answer[key]
        return yaml.safe_load(answer) or {}

    async def receivers(self, spec: HostTimeConfig) -> Check:
        w, url = self.words, self.args.alertmanager_url
        title = w["receivers"].format(url=url)
        try:
            found = receivers_of(await self.running_config(url, "/api/v2/status", "config", "original"))
        except READ_ERRORS as err:
            return Check("receivers", title, True, w["receivers_unreadable"].format(why=self.http_why(err)))
        entries, abroad = [], set()
        for receiver, integrations in found.items():
            if receiver in NOT_ON_CALL:
                continue
            for integration, configs in integrations.items():
                address = destination(integration, configs[0]) if configs else None
                if address is None:
                    continue
                group = await self.host_group(address[0], spec)
                entries.append(Entry(receiver, True, w["receiver_entry"].format(
                    receiver=receiver, integration=integration, host=f"{address[0]} ({self.group(group)})"), group))
                if group not in NATIONAL_SIDE:
                    abroad.add(integration)
        if not entries:
            return Check("receivers", title, True, w["receivers_none"])
        return with_loss(Check("receivers", title, False, entries=entries), {e.group for e in entries},
                         w["stop_receivers"].format(integrations=join(sorted(abroad), self.lang)))

    async def watcher(self, spec: HostTimeConfig) -> Check:
        w, url = self.words, self.args.prometheus_url
        title = w["watcher"].format(url=url)
        try:
            config = await self.running_config(url, "/api/v1/status/config", "data", "yaml")
            writers = [(writer.get("name") or writer["url"], urlsplit(writer["url"]).hostname or "?")
                       for writer in config.get("remote_write") or []]
        except READ_ERRORS as err:
            return Check("watcher", title, True, w["watcher_unreadable"].format(why=self.http_why(err)))
        if not writers:
            return Check("watcher", title, True, w["watcher_none"])
        entries = []
        for name, host in writers:
            group = await self.host_group(host, spec)
            entries.append(Entry(name, True, w["watcher_entry"].format(name=name, host=f"{host} ({self.group(group)})"),
                                 group))
        return with_loss(Check("watcher", title, False, entries=entries), {e.group for e in entries}, w["stop_watcher"])

    async def run(self, config) -> list[Check]:
        spec = config.host_time or host_time_defaults(config)
        hosts = [urlsplit(t.url).hostname for t in config.targets]
        question = next((h for h in hosts if h and not is_ip_literal(h)), DNS_QUESTION)
        time_sources, resolvers, probes, receivers, watcher = await asyncio.gather(
            self.time_sources(spec), self.resolvers(spec, question), self.probes(config), self.receivers(spec),
            self.watcher(spec))
        return [time_sources, resolvers, *probes, receivers, watcher]

    def loss_sentence(self, checks: list[Check]) -> str:
        w = self.words
        will, may = [c.stops for c in checks if c.stops], [c.may_stop for c in checks if c.may_stop]
        stops = ([w["will_stop"].format(what=join(will, self.lang))] if will else []) + (
            [w["may_stop"].format(what=join(may, self.lang))] if may else [])
        return w["loss"].format(stops="; ".join(stops)) if stops else w["loss_none"]

    def text(self, checks: list[Check]) -> str:
        w = self.words
        lines = [w["title"].format(config=self.args.config_file), ""]
        for check in checks:
            lines.append(f"{check.title}: {w['at_risk' if check.at_risk else 'fine']}")
            if check.problem:
                lines.append(f"  {check.problem}")
            lines += [f"  - {e.text}" for e in check.entries]
        bad, n = sum(c.at_risk for c in checks), len(checks)
        lines += ["", self.loss_sentence(checks), w["verdict_at_risk" if bad else "verdict_fine"].format(bad=bad, n=n)]
        return "\n".join(lines)

    def json(self, checks: list[Check]) -> str:
        return json.dumps({"config": self.args.config_file, "lang": self.lang,
                           "at_risk": any(c.at_risk for c in checks), "checks": [asdict(c) for c in checks],
                           "global_loss": self.loss_sentence(checks)},
                          ensure_ascii=False, indent=2)


def seconds(text: str) -> float:
    """--timeout: a positive number of seconds, or argparse's error naming the flag."""
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value <= 300:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds between 0 and 300")
    return value


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="spse-exporter doctor",
        description="Check what this SPSE host depends on (time sources, DNS resolvers, upstream links, SPSE, "
                    "Alertmanager receivers, a watcher) and what would stop without international links. "
                    "Exit 0: all fine; 1: something at risk; 2: the config cannot be used.")
    parser.add_argument("--config.file", dest="config_file", required=True, help="the exporter's YAML config")
    messages.language_argument(parser)
    parser.add_argument("--json", action="store_true", help="print JSON for scripts")
    parser.add_argument("--alertmanager.url", dest="alertmanager_url",
                        default=os.environ.get("SPSE_ALERTMANAGER_URL") or "http://127.0.0.1:9093",
                        help="Alertmanager whose receivers to check (default: $SPSE_ALERTMANAGER_URL, else "
                             "%(default)s)")
    parser.add_argument("--prometheus.url", dest="prometheus_url", default="http://127.0.0.1:9090",
                        help="Prometheus whose remote write (a watcher) to check (default %(default)s)")
    parser.add_argument("--resolv-conf", dest="resolv_conf", type=Path, default=RESOLV_CONF,
                        help="the host's resolver list (default %(default)s)")
    parser.add_argument("--resolved-conf", dest="resolved_conf", type=Path, default=RESOLVED_CONF,
                        help="systemd-resolved's list, read when resolv.conf names only its stub 127.0.0.53 "
                             "(default %(default)s)")
    parser.add_argument("--timeout", type=seconds, default=5.0,
                        help="seconds for each question to Alertmanager, Prometheus and each resolver")
    args = parser.parse_args(argv)
    messages.resolve_language(parser, args)
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    doctor = Doctor(args, args.lang)
    try:
        config = load_config(args.config_file)
    except ConfigError as err:
        why = err.render(args.lang)
        print(f"spse-exporter doctor: {PHRASES[args.lang]['bad_config'].format(path=args.config_file, why=why)}",
              file=sys.stderr)
        return 2
    checks = asyncio.run(doctor.run(config))
    print(doctor.json(checks) if args.json else doctor.text(checks))
    return 1 if any(c.at_risk for c in checks) else 0
