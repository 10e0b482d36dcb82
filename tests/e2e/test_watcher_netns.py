"""The watcher in network namespaces, with the real exporter, Prometheus and Alertmanager on both sides.

    lpse (the site)      exporter, Prometheus (remote-writes to the watcher), Alertmanager, SPSE at 192.0.2.2:80
    national             the watcher: outside exporter, Prometheus (remote-write receiver, basic auth),
                         Alertmanager, and the on-call's national webhook; national anchors; the site's
                         SMTP relay (its second path, from the last scenario on)
    internet             the Telegram stand-in (the site's receiver, abroad); global anchors and time sources

One topology serves every scenario, in order: start-up, blips, a real SPSE failure, the international
routes cut (4 April 2023), the site's uplink cut, and the international routes cut again with e-mail
through a national relay as the site's second path. The shipped files run 15 times faster (tests/stack.py):
one second here is 15 s in production. Each scenario prints which receiver got what, after how long.
"""

from __future__ import annotations

import email
import email.policy
import json
import math
import re
import socketserver
import subprocess
import threading
import time

import bcrypt
import pytest
import yaml

from tests import netns
from tests.fakes import FakeSPSE
from tests.netns import INTERNET, INTERNET_2, LPSE, NATIONAL, NamespacedStack
from tests.stack import (STACK_DIR, AlertmanagerProcess, PrometheusProcess, WebhookReceiver, compress_remote_write,
                         compress_rules, render_alertmanager_config, render_prometheus_config)
from tests.support import hold, http_get, parse_metrics, poll, poll_steady

UNAVAILABLE = netns.unavailable()
pytestmark = [pytest.mark.skipif(bool(UNAVAILABLE), reason=UNAVAILABLE), pytest.mark.timeout(300)]

SPEEDUP = 15
SITE = "kutaibarat"  # the site name of the shipped prometheus.yml and remote-write.yml
WATCHER_DIR = STACK_DIR / "watcher"
SITE_PASSWORD, READER_PASSWORD = "site-test-password", "reader-test-password"
SPSE_URL = f"http://{LPSE}/eproc4"
PRODUCTION_PAGE_BOUND = 180  # seconds: the root-cause page must get out within 3 production minutes
GROUP_WAIT = 30 / SPEEDUP  # both Alertmanagers' group_wait for a site's group
WATCHDOGS = "Watchdog|WatcherWatchdog|SiteHeard"  # always firing (SiteHeard while the site is heard)
REPORT: list[str] = []


class SmtpRelay:
    """A mail relay on national links: speaks plain SMTP (no STARTTLS) and keeps every message it queues."""

    def __init__(self, host: str, port: int):
        self._lock = threading.Lock()
        self._messages: list[email.message.EmailMessage] = []
        relay = self

        class Handler(socketserver.StreamRequestHandler):
            timeout = 10  # seconds a silent client keeps its connection

            def handle(self):
                self.wfile.write(b"220 relay.test ESMTP\r\n")
                for _ in range(100):  # one message takes 5 commands
                    verb = self.rfile.readline()[:4].upper()
                    if verb in (b"", b"QUIT"):
                        self.wfile.write(b"221 bye\r\n")
                        return
                    if verb == b"DATA":
                        self.wfile.write(b"354 end with <CRLF>.<CRLF>\r\n")
                        relay._keep(self._message())
                    self.wfile.write(b"250 ok\r\n")

            def _message(self) -> bytes:
                lines = []
                for line in iter(self.rfile.readline, b""):
                    if line == b".\r\n":
                        break
                    lines.append(line[1:] if line.startswith(b"..") else line)  # dot-stuffing
                return b"".join(lines)

        self.server = socketserver.ThreadingTCPServer((host, port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True, name="smtp-relay").start()

    def _keep(self, message: bytes) -> None:
        with self._lock:
            self._messages.append(email.message_from_bytes(message, policy=email.policy.default))

    def texts(self) -> list[tuple[str, str]]:
        """(subject, text of the HTML body) of every message, in arrival order."""
        with self._lock:
            messages = list(self._messages)
        return [(str(m["Subject"]), m.get_body(("html", "plain")).get_content()) for m in messages]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def production(seconds: float) -> str:
    return f"{seconds:.1f}s (production ~{seconds * SPEEDUP / 60:.1f} min)"


def names(payload: dict, status: str) -> set[str]:
    return {alert["labels"]["alertname"] for alert in payload["alerts"] if alert["status"] == status}


class Stack(NamespacedStack):
    """The site and the watcher, each in its namespace, with their receivers."""

    def _start(self, tmp) -> None:
        self.started = time.monotonic()
        t = self.topology
        t.serve(t.national, {"tcp": [{"host": NATIONAL, "port": 443}], "dns": [{"host": NATIONAL, "port": 53}]},
                seconds=900)
        t.serve(t.internet, {"tcp": [{"host": INTERNET, "port": 443}], "dns": [{"host": INTERNET, "port": 53}],
                             "ntp": [{"host": INTERNET, "port": 123}, {"host": INTERNET_2, "port": 123}]},
                seconds=900)
        self.spse = self._server(t.lpse.call(FakeSPSE, LPSE, 80))
        self.telegram = self._server(t.internet.call(WebhookReceiver, INTERNET, 8443))
        self.oncall = self._server(t.national.call(WebhookReceiver, NATIONAL, 8080))
        self.relay = self._server(t.national.call(SmtpRelay, NATIONAL, 25))
        self._start_watcher(tmp / "watcher")
        self._start_site(tmp / "site")

    def _start_watcher(self, directory) -> None:
        national = self.topology.national
        wrapper = ["ip", "netns", "exec", national.name]
        self.outside = self._exporter(national, directory, {
            "interval": "1s", "timeout": "800ms", "targets": [{"name": SITE, "url": SPSE_URL}]})
        self.watcher_am = self._process(national, AlertmanagerProcess(
            render_alertmanager_config(directory, self.oncall.url, SPEEDUP, source=WATCHER_DIR / "alertmanager.yml"),
            directory, wrapper=wrapper))
        web = directory / "web.yml"
        web.write_text(yaml.safe_dump({"basic_auth_users": {
            user: bcrypt.hashpw(password.encode(), bcrypt.gensalt(4)).decode()
            for user, password in ((SITE, SITE_PASSWORD), ("grafana", READER_PASSWORD))}}))
        config = render_prometheus_config(
            directory, exporter=self.outside.address, alertmanager=self.watcher_am.address, source=WATCHER_DIR / "prometheus.yml",
            rules_dir=compress_rules(directory / "rules", SPEEDUP, source_dir=WATCHER_DIR / "rules"),
            scrape_interval="1s", evaluation_interval="1s")
        self.watcher = self._process(national, PrometheusProcess(
            config, directory, ["--rules.alert.resend-delay=1s", "--web.enable-remote-write-receiver",
                                f"--web.config.file={web}"],
            host=NATIONAL, wrapper=wrapper, auth=("grafana", READER_PASSWORD)))

    def _start_site(self, directory) -> None:
        self.site_dir = directory
        lpse = self.topology.lpse
        wrapper = ["ip", "netns", "exec", lpse.name]
        self.exporter = self._exporter(lpse, directory, {
            "interval": "1s", "timeout": "800ms", "targets": [{"name": SITE, "url": SPSE_URL}],
            "clock": {"servers": [INTERNET, INTERNET_2]},
            "upstream": {"national": [f"tcp://{NATIONAL}:443", f"dns://{NATIONAL}/lpse.contoh.example"],
                         "global": [f"tcp://{INTERNET}:443", f"dns://{INTERNET}/example.com"]}})
        self.site_am = self._process(lpse, AlertmanagerProcess(
            render_alertmanager_config(directory, self.telegram.url, SPEEDUP), directory, wrapper=wrapper))
        path = render_prometheus_config(
            directory, exporter=self.exporter.address, alertmanager=self.site_am.address,
            rules_dir=compress_rules(directory / "rules", SPEEDUP), scrape_interval="1s", evaluation_interval="1s",
            remote_write=f"{self.watcher.url}/api/v1/write")
        compress_remote_write(path, SPEEDUP)
        (directory / "secrets").mkdir()
        (directory / "secrets" / "watcher_password").write_text(SITE_PASSWORD)  # the shipped password_file
        self.site = self._process(lpse, PrometheusProcess(path, directory, ["--rules.alert.resend-delay=1s"],
                                                          wrapper=wrapper))

    def give_the_site_a_second_path(self) -> None:
        """Reload the site's Alertmanager with e-mail through the national relay beside the Telegram stand-in, as
        an operator who sets SMTP_* in .env gets it (the relay speaks no TLS, so require_tls is turned off)."""
        path = render_alertmanager_config(self.site_dir, self.telegram.url, SPEEDUP, env={
            "SMTP_TO": "oncall@lpse.example", "SMTP_FROM": "alertmanager@lpse.example", "SMTP_SMARTHOST": f"{NATIONAL}:25"})
        config = yaml.safe_load(path.read_text())
        for receiver in config["receivers"]:
            for mail in receiver.get("email_configs", []):
                mail["require_tls"] = False
        path.write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True))
        status, body, _ = self.topology.lpse.call(http_get, f"{self.site_am.url}/-/reload", method="POST")
        assert status == 200, body

    def watcher_query(self, expr: str) -> list[dict]:
        return self.topology.national.call(self.watcher.query, expr)

    def site_query(self, expr: str) -> list[dict]:
        return self.topology.lpse.call(self.site.query, expr)

    def scrape(self, namespace, process, metric: str, **labels) -> float:
        status, body, _ = namespace.call(http_get, f"{process.url}/metrics", headers=process.headers)
        assert status == 200, status
        return sum(value for (name, found), value in parse_metrics(body.decode()).items()
                   if name == metric and set(labels.items()) <= set(found))

    def quiet(self, what: str) -> None:
        """Wait until both sides are healthy, neither Prometheus has an alert (pending or firing) nor either
        Alertmanager one besides the watchdogs, and every receiver got the resolution of what it was paged
        about, and that for a group_wait: nothing on its way arrives during the next scenario. (Prometheus alone
        is not enough: an alert it resolved before its Alertmanager's group_wait was over still got sent.)"""
        t = self.topology

        def calm():
            site = self.site_query(f'ALERTS{{alertname!~"{WATCHDOGS}"}}')
            watcher = self.watcher_query(f'ALERTS{{vantage!="site",alertname!~"{WATCHDOGS}"}}')
            held = [alert for namespace, alertmanager in ((t.lpse, self.site_am), (t.national, self.watcher_am))
                    for alert in namespace.call(alertmanager.alerts)
                    if not re.fullmatch(WATCHDOGS, alert["labels"]["alertname"])]
            healthy = self.watcher_query(f'watcher:site_cause{{site="{SITE}",cause="none"}}')
            return (not site and not watcher and not held and healthy and settled(self.telegram)
                    and settled(self.oncall))
        poll_steady(calm, GROUP_WAIT, 120, 0.5, what)


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    stack = Stack(tmp_path_factory.mktemp("watcher-netns"))
    try:
        poll(lambda: stack.watcher_query(f'up{{job="spse-exporter",vantage="site",site="{SITE}"}} == 1'), 60, 0.5,
             "the site's series at the watcher")
        poll(lambda: stack.watcher_query(f'alertmanager_notification_requests_total{{vantage="site",site="{SITE}"}}'),
             30, 0.5, "the site's Alertmanager metrics at the watcher")
        stack.quiet("a healthy site and watcher")
        yield stack
    finally:
        stack.close()
        print("\n".join(["", f"watcher scenarios ({SPEEDUP}x compressed):", *REPORT]))


def settled(receiver: WebhookReceiver) -> bool:
    """Every alert group's latest notification at `receiver` says resolved (watchdog groups aside)."""
    latest = {payload["groupKey"]: payload for _, payload in receiver.received
              if names(payload, "firing") - {"Watchdog", "WatcherWatchdog"} or payload["status"] == "resolved"}
    return all(payload["status"] == "resolved" for payload in latest.values())


def payloads(receiver: WebhookReceiver, since: float) -> list[tuple[float, dict]]:
    return [(arrived, payload) for arrived, payload in receiver.received if arrived >= since]


def first(receiver: WebhookReceiver, since: float, check) -> tuple[float, dict] | None:
    return next(((arrived, payload) for arrived, payload in payloads(receiver, since) if check(payload)), None)


def report(scenario: str, *lines: str) -> None:
    REPORT.extend([f"- {scenario}", *(f"    {line}" for line in lines)])


def test_nothing_pages_during_start_up(stack):
    """From the first process started to steady state (the fixture's quiet), neither Prometheus had an alert
    besides the watchdogs, not even pending, and neither receiver got anything else: a fresh install of the
    site and the watcher pages nobody. First in the module, so that nothing but start-up is in the window."""
    window = f"{math.ceil(time.monotonic() - stack.started) + 1}s"
    for side, query in (("site", stack.site_query), ("watcher", stack.watcher_query)):
        seen = {(a["metric"]["alertname"], a["metric"]["alertstate"])
                for a in query(f'last_over_time(ALERTS{{alertname!~"{WATCHDOGS}"}}[{window}])')}
        failures = {tuple(sorted(a["metric"].items())): a["value"][1] for a in query(
            f"last_over_time(spse_http_probe_failures_total[{window}]) > 0")}
        assert not seen, f"alerts at the {side}'s Prometheus during start-up: {seen}; probe failures: {failures}"
    watchdogs = set(WATCHDOGS.split("|"))
    for name, receiver in (("Telegram stand-in", stack.telegram), ("on-call webhook", stack.oncall)):
        sent = {alert["labels"]["alertname"] for _, payload in receiver.received for alert in payload["alerts"]}
        assert not sent - watchdogs, f"{name} got during start-up: {sent - watchdogs}"
    report("start-up of the site and the watcher",
           f"no alert but the watchdogs (pending or firing) at either Prometheus over {production(float(window[:-1]))}; "
           "Telegram stand-in and on-call webhook: nothing but watchdogs")


def test_a_lost_remote_write_batch_and_a_failed_outside_probe_do_not_page(stack):
    t = stack.topology
    failed_probes = stack.scrape(t.national, stack.outside, "spse_http_probe_failures_total")
    retried = stack.scrape(t.lpse, stack.site, "prometheus_remote_storage_samples_retried_total")
    began = time.monotonic()
    # 15 s of production: the router drops everything to the watcher's network, then forwards again.
    t.blackhole(f"{NATIONAL}/32")
    poll(lambda: stack.scrape(t.national, stack.outside, "spse_http_probe_failures_total") > failed_probes, 10, 0.05,
         "one failed outside probe")
    t.unblackhole(f"{NATIONAL}/32")
    poll(lambda: stack.scrape(t.lpse, stack.site, "prometheus_remote_storage_samples_retried_total") > retried, 20, 0.2,
         "the site to re-send the lost batch")
    lost = stack.scrape(t.national, stack.outside, "spse_http_probe_failures_total") - failed_probes

    def nothing_sent():
        assert not payloads(stack.oncall, began) and not payloads(stack.telegram, began)
        assert not stack.watcher_query(f'ALERTS{{alertstate="firing",vantage!="site",alertname!~"{WATCHDOGS}"}}')
    hold(240 / SPEEDUP, nothing_sent)  # every window and for: of the watcher, and a group_wait, have passed
    report("one lost remote-write batch (re-sent) and one blackholed outside probe",
           f"{lost:.0f} outside probe(s) failed; on-call webhook: nothing; Telegram stand-in: nothing, "
           f"over {production(time.monotonic() - began)}")


def test_a_real_spse_failure_pages_once_from_the_site(stack):
    began = time.monotonic()
    stack.spse.set("status", status=500)  # the application fails; every link is fine

    def spse_down(payload):
        return "SPSEDown" in names(payload, "firing")
    arrived, payload = poll(lambda: first(stack.telegram, began, spse_down), 60, 0.2, "SPSEDown at Telegram")
    assert payload["groupLabels"] == {"site": SITE}
    hold(2 * 120 / SPEEDUP, lambda: None)  # two group_intervals: any duplicate would arrive
    recovered = time.monotonic()
    stack.spse.set("ok")
    resolved, _ = poll(lambda: first(stack.telegram, recovered, lambda p: "SPSEDown" in names(p, "resolved")), 60, 0.2,
                       "SPSEDown resolved at Telegram")
    stack.quiet("the watcher and the site to settle")

    firing = [p for _, p in payloads(stack.telegram, began) if names(p, "firing")]
    assert len(firing) == 1 and names(firing[0], "firing") == {"SPSEDown"}, firing  # one page, one group
    assert not payloads(stack.oncall, began), "the watcher paged although the site delivered"
    report("SPSE fails (HTTP 500), everything else healthy",
           f"Telegram stand-in: 1 notification (SPSEDown) after {production(arrived - began)}, "
           f"resolved {production(resolved - recovered)} after recovery; on-call webhook: nothing")


def test_international_routes_cut_the_page_gets_out_through_the_watcher(stack):
    t = stack.topology
    # The watcher counts a site's notifications over 2 minutes, and a delivery in them holds off
    # SiteNotificationsFailing (one failure that a retry delivers never pages): the last scenario's
    # resolved notification must be out of that window, or it delays this page by up to the window.
    last_delivery = max((arrived for arrived, _ in stack.telegram.received), default=0.0)
    poll(lambda: time.monotonic() - last_delivery >= 120 / SPEEDUP, 10, 0.1, "the last delivery out of the window")
    started_before = stack.scrape(t.lpse, stack.site_am, "alertmanager_notifications_total")
    began = time.monotonic()
    t.cut_global()  # 08:00 WITA: international routes lost, national routes stay
    stack.spse.set("status", status=504)  # SPSE cannot validate its clock
    due = []  # when the site's Alertmanager started its first notification: the site's page was due

    def forwarded(payload, name=None) -> bool:
        """Whether the payload carries a firing alert of the site that the watcher forwards (`name`, or any)."""
        return any("site_alertname" in alert["labels"] and name in (None, alert["labels"]["site_alertname"])
                   for alert in payload["alerts"] if alert["status"] == "firing")

    def page():
        if not due and stack.scrape(t.lpse, stack.site_am, "alertmanager_notifications_total") > started_before:
            due.append(time.monotonic())
        return first(stack.oncall, began, forwarded)
    paged, _ = poll(page, 90, 0.2, "the site's page forwarded to the on-call webhook")
    assert due, "the site's Alertmanager never tried to notify"
    # SPSEDown (for: 2m) may fire at the site after that first page went out: it joins the on-call's group
    # a group_interval later, as any alert joining a notified group does.
    arrived, payload = poll(lambda: first(stack.oncall, began, lambda p: forwarded(p, "SPSEDown")), 60, 0.2,
                            "the forwarded SPSEDown at the on-call webhook")
    failing = poll(lambda: first(stack.oncall, began, lambda p: "SiteNotificationsFailing" in names(p, "firing")),
                   30, 0.2, "SiteNotificationsFailing at the on-call webhook")
    spse_down = next(a for a in payload["alerts"] if a["labels"].get("site_alertname") == "SPSEDown")
    assert spse_down["labels"]["site"] == SITE and payload["groupLabels"] == {"site": SITE}
    assert spse_down["annotations"]["cause"] == "global_lost clock_unvalidated"
    during = payloads(stack.oncall, began)
    assert not payloads(stack.telegram, began), "the Telegram stand-in is abroad: nothing can reach it"
    assert all(not names(p, "firing") & {"SiteSilent", "SPSEDownFromOutside"} for _, p in during)
    # The promise: the site's page gets out through the watcher within 3 minutes of being due. The waits
    # configured on its way, in production seconds: the site's Prometheus scrapes its Alertmanager (15) and
    # remote-writes the sample (batch_send_deadline 5); the watcher records watcher:notifications_failing (15),
    # its alert group reads it at its own next evaluation (15), SiteNotificationsFailing waits its for: (30)
    # and SiteAlertForwarded fires in the same evaluation; the watcher's Alertmanager waits group_wait (30).
    # 110 of the 180 s, run here in 7.3 s; the other 4.7 s (70 s in production) are for what does not run
    # faster with the clock: processes, HTTP between them, the test's polling. Measured: 5.7 to 6.4 s, also
    # beside two CPU hogs (load 9).
    # Measured to the first forwarded page: it carries every alert of the site's first notification (all of
    # them fired before that notification started, so before SiteNotificationsFailing could).
    assert paged - due[0] <= PRODUCTION_PAGE_BOUND / SPEEDUP, paged - due[0]
    # The text a Telegram or e-mail receiver of the watcher would show leads with the site's root cause.
    data = stack.topology.workdir / "forwarded.json"
    data.write_text(json.dumps(payload))
    message = subprocess.run(
        ["amtool", "template", "render", f"--template.glob={STACK_DIR / 'templates' / '*.tmpl'}",
         '--template.text={{ template "spse.message" . }}', f"--template.data={data}"],
        capture_output=True, text=True, check=True, timeout=30).stdout
    assert "Kemungkinan penyebab: <b>konektivitas global (internasional) terputus → server SPSE tidak dapat" in message
    assert "<b>SiteAlertForwarded: SPSEDown</b>" in message
    assert f"SPSEDown at {SITE} ({SITE}), forwarded by the watcher" in message

    # The page stands while the incident lasts. Each of the site's notifications hangs until its Alertmanager
    # gives up (longer than the watcher's 2-minute windows) and the next one starts: nothing is delivered, so
    # neither the forwarded SPSEDown nor SiteNotificationsFailing may resolve, at the watcher or at the on-call.
    # 8 production minutes from the cut: three of the site's hang-and-retry cycles (the forwarded page once
    # resolved at ~7; the old rules' gaps came at ~3.5 and ~6).
    def still_paged():
        assert stack.site_query('ALERTS{alertname="SPSEDown",alertstate="firing"}'), "SPSEDown ended at the site"
        firing = {a["metric"]["alertname"] for a in stack.watcher_query(
            'ALERTS{alertname=~"SiteAlertForwarded|SiteNotificationsFailing",alertstate="firing"}')}
        assert firing == {"SiteAlertForwarded", "SiteNotificationsFailing"}, firing
        resolved = {name for _, p in payloads(stack.oncall, began) for name in names(p, "resolved")}
        assert not resolved, f"resolved at the on-call while SPSE still fails: {resolved}"
    hold(began + 480 / SPEEDUP - time.monotonic(), still_paged)
    held = time.monotonic() - began

    recovered = time.monotonic()
    t.restore_global()  # 22:24 WITA
    stack.spse.set("ok")

    def resolved_at_oncall():
        done = {name for _, p in payloads(stack.oncall, recovered) for name in names(p, "resolved")}
        return {"SiteAlertForwarded", "SiteNotificationsFailing"} <= done
    poll(resolved_at_oncall, 60, 0.2, "resolved notifications at the on-call webhook")
    oncall_resolved = time.monotonic()
    telegram_resolved, _ = poll(lambda: first(stack.telegram, recovered, lambda p: "SPSEDown" in names(p, "resolved")),
                                60, 0.2, "the site's own resolved SPSEDown at Telegram")
    stack.quiet("the watcher and the site to settle")
    report("international routes cut (4 April 2023: global lost, clock unvalidated, SPSE 504)",
           "Telegram stand-in: nothing while cut",
           f"site Alertmanager starts its first notification (hangs, then fails) {production(due[0] - began)} "
           "after the cut",
           f"on-call webhook: SiteNotificationsFailing after {production(failing[0] - began)}; the first forwarded "
           f"page after {production(paged - began)}, {production(paged - due[0])} after the site's own page was due; "
           f"forwarded SPSEDown (cause {spse_down['annotations']['cause']}) after {production(arrived - began)}",
           "text of the forwarded page: " + " | ".join(line for line in message.splitlines()[:4] if line),
           f"both still firing and nothing resolved at the on-call {production(held)} after the cut",
           f"recovery: on-call webhook got both resolved after {production(oncall_resolved - recovered)}; "
           f"Telegram stand-in got the site's resolved SPSEDown after {production(telegram_resolved - recovered)}")


def test_uplink_cut_the_watcher_pages_site_silent_and_spse_down_from_outside(stack):
    t = stack.topology
    began = time.monotonic()
    t.cut_site()

    def both(payload):
        return {"SiteSilent", "SPSEDownFromOutside"} <= names(payload, "firing")
    arrived, payload = poll(lambda: first(stack.oncall, began, both), 60, 0.2,
                            "SiteSilent and SPSEDownFromOutside at the on-call webhook")
    assert payload["groupLabels"] == {"site": SITE}
    alerts = {a["labels"]["alertname"]: a for a in payload["alerts"] if a["status"] == "firing"}
    assert alerts["SiteSilent"]["labels"]["site"] == alerts["SPSEDownFromOutside"]["labels"]["site"] == SITE
    assert "uplink is cut" in alerts["SPSEDownFromOutside"]["annotations"]["description"]
    assert not payloads(stack.telegram, began)

    recovered = time.monotonic()
    t.restore_site()

    def resolved():
        done = {name for _, p in payloads(stack.oncall, recovered) for name in names(p, "resolved")}
        return {"SiteSilent", "SPSEDownFromOutside"} <= done
    poll(resolved, 60, 0.2, "SiteSilent and SPSEDownFromOutside resolved at the on-call webhook")
    report("the site's uplink cut entirely",
           f"on-call webhook: SiteSilent + SPSEDownFromOutside (site={SITE}, 'uplink is cut') after "
           f"{production(arrived - began)}; Telegram stand-in: nothing",
           f"recovery: both resolved at the on-call webhook after {production(time.monotonic() - recovered)}")


def test_one_of_two_paths_fails_one_page_per_incident(stack):
    """The site pages through the Telegram stand-in (abroad) and e-mail through a relay on national links, and the
    international routes are cut: Telegram hangs, e-mail delivers the site's page. The watcher sees the failing
    integration but pages nothing: one incident, one page at each receiver. Last in the module: it ends cut."""
    t = stack.topology
    stack.quiet("the site and the watcher to settle after the uplink cut")
    integrations = stack.scrape(t.lpse, stack.site_am, "alertmanager_integrations")
    stack.give_the_site_a_second_path()
    # The ops receivers now have a webhook and e-mail each. The site's exporter names no receivers here, so only
    # the e-mail can count as the site's page getting out (watcher:site_delivering).
    poll(lambda: stack.scrape(t.lpse, stack.site_am, "alertmanager_integrations") > integrations, 30, 0.5,
         "the site's Alertmanager to run with e-mail")
    # As on 4 April: the Telegram path's last delivery out of the watcher's window, so that its failure is seen.
    last_delivery = max((arrived for arrived, _ in stack.telegram.received), default=0.0)
    poll(lambda: time.monotonic() - last_delivery >= 120 / SPEEDUP, 10, 0.1, "the last delivery out of the window")
    began = time.monotonic()
    t.cut_global()
    stack.spse.set("status", status=504)

    def mailed_spse_down():
        return next((subject for subject, text in stack.relay.texts() if "<b>SPSEDown</b>" in text), None)
    subject = poll(mailed_spse_down, 60, 0.2, "the site's SPSEDown through the relay")
    mailed = time.monotonic()
    assert subject.endswith(f"SPSE {SITE}"), subject
    poll(lambda: stack.watcher_query(f'watcher:notifications_failing{{vantage="site",site="{SITE}",integration="webhook"}}'),
         30, 0.2, "the watcher to see the Telegram path fail")
    failing_seen = time.monotonic()
    watchdogs = set(WATCHDOGS.split("|"))

    def no_page_from_the_watcher():
        assert not stack.watcher_query('ALERTS{alertname=~"SiteNotificationsFailing|SiteAlertForwarded",alertstate="firing"}')
        sent = {name for _, p in payloads(stack.oncall, began) for name in names(p, "firing") | names(p, "resolved")}
        assert not sent - watchdogs, f"the watcher paged although the site's e-mail delivered: {sent - watchdogs}"
    # 4 production minutes from the cut: the single-path site's page was forwarded at about 3.
    hold(began + 240 / SPEEDUP - time.monotonic(), no_page_from_the_watcher)
    # The site's own word on the broken path reached the on-call too, through the path that works.
    def site_word_on_the_broken_path():
        mails = stack.relay.texts()
        found = [subject for subject, text in mails if "NotificationsFailing" in subject and "via webhook" in text]
        at_site = stack.site_query('ALERTS{alertname="NotificationsFailing"}')
        assert found, f"relay: {[subject for subject, _ in mails]}; at the site: {at_site}"
        return found
    poll(site_word_on_the_broken_path, 60, 0.2, "the site's NotificationsFailing about its webhook through the relay")
    no_page_from_the_watcher()
    assert not payloads(stack.telegram, began), "the Telegram stand-in is abroad: nothing can reach it"
    pages = [subject for subject, _ in stack.relay.texts() if " firing: " in subject and subject.endswith(SITE)]
    report("international routes cut, the site with a second path (e-mail through a national relay)",
           f"relay: SPSEDown after {production(mailed - began)} ({len(pages)} firing message(s) for the site's group, "
           f"as alerts joined it), and the site's NotificationsFailing (webhook); the watcher saw the Telegram path "
           f"fail after {production(failing_seen - began)}",
           f"on-call webhook: nothing over {production(time.monotonic() - began)} of the cut")
