"""The watcher without a single point of failure, with the real binaries in network namespaces: two Prometheus
replicas and three gossiping Alertmanager peers, laid out as docker-compose.watcher.yml and the native units run them.

    lpse        the site: exporter, Prometheus (remote-writes to both replicas), Alertmanager and its receiver,
                SPSE at 192.0.2.2:80
    national    the watcher: outside exporter, Prometheus replicas a and b (the shipped prometheus.yml, told apart
                by WATCHER_REPLICA), Alertmanager peers 1-3 in one gossip cluster, the on-call's webhook

One topology serves every scenario, in order; the shipped files run 15 times faster (tests/stack.py), the peers'
--cluster.peer-timeout 3 times (15 s -> 5 s: their gossip runs at its own speed). Paths are cut with iptables DROP
inside `national`: a site->replica path by the replica's port, the peers' gossip by their cluster ports. After each
scenario, passed or not, every cut is healed, SPSE answers and every killed process runs again, so that a failure
does not cascade. Each scenario prints what the on-call got.

The replica scenario runs first, while no peer holds a notification group of the site: each peer times its groups
from when it created them, and a group lives on after an incident for as long as Prometheus re-sends its resolved
alerts (15 minutes, not compressed). Peers whose timers of one group are out of step (one restarted, or one dropped
the group between two re-sends and made it again) can each send the group's next change, or send a stale "resolved"
(Alertmanager 0.25, docs/alerting.md "What the engines do not do"); that scenario asserts every page exactly once.
"""

from __future__ import annotations

import time
from datetime import datetime

import bcrypt
import pytest
import yaml

from tests import netns
from tests.fakes import FakeSPSE, free_port
from tests.netns import LPSE, NATIONAL, NamespacedStack
from tests.stack import (STACK_DIR, AlertmanagerProcess, PrometheusProcess, WebhookReceiver, compress_remote_write,
                         compress_rules, render_alertmanager_config, render_prometheus_config)
from tests.support import http_get, parse_metrics, poll, poll_steady
from tests.e2e.test_watcher_netns import first, hold, names, payloads, production, settled

UNAVAILABLE = netns.unavailable()
pytestmark = [pytest.mark.skipif(bool(UNAVAILABLE), reason=UNAVAILABLE), pytest.mark.timeout(300)]

SPEEDUP = 15
SITE = "kutaibarat"  # the site name of the shipped remote-write.yml
WATCHER_DIR = STACK_DIR / "watcher"
SITE_PASSWORD, READER_PASSWORD = "site-test-password", "reader-test-password"
SPSE_URL = f"http://{LPSE}/eproc4"
REPLICAS = ("a", "b")
PEERS = 3
GROUP_WAIT, GROUP_INTERVAL = 30 / SPEEDUP, 120 / SPEEDUP  # the watcher's site groups
# Alertmanager's --cluster.peer-timeout (15 s): a peer waits its position times this before it sends what the gossiped
# notification log does not show. Divided by 3 only: gossip does not run faster with the clock, and at 1 s a loaded
# machine's late gossip made a second peer send the page again.
PEER_TIMEOUT = 5
BLOCKED = 5 * 60 / SPEEDUP  # the 5 production minutes one site->replica path is cut
ALWAYS_ON = {"SiteHeard", "WatcherWatchdog"}
PROBES = {"interval": "1s", "timeout": "800ms", "targets": [{"name": SITE, "url": SPSE_URL}]}  # site and outside
QUEUE = yaml.safe_load((STACK_DIR / "remote-write.yml").read_text())["remote_write"][0]["queue_config"]
REPORT: list[str] = []


class Watcher(NamespacedStack):
    """The site and the two-replica, three-peer watcher, each in its namespace."""

    def _start(self, tmp) -> None:
        t = self.topology
        self.spse = self._server(t.lpse.call(FakeSPSE, LPSE, 80))
        self.oncall = self._server(t.national.call(WebhookReceiver, NATIONAL, 8080))
        self.site_receiver = self._server(t.lpse.call(WebhookReceiver, LPSE, 8080))
        self._start_watcher(tmp / "watcher")
        self._start_site(tmp / "site")

    def _start_watcher(self, directory) -> None:
        national = self.topology.national
        self.outside = self._exporter(national, directory, PROBES)
        self.cluster_ports = [free_port() for _ in range(PEERS)]
        self.peer_ports = [free_port() for _ in range(PEERS)]
        self.peer_config = render_alertmanager_config(directory, self.oncall.url, SPEEDUP,
                                                      source=WATCHER_DIR / "alertmanager.yml")
        self.peers = [self.start_peer(index) for index in range(PEERS)]
        web = directory / "web.yml"
        web.write_text(yaml.safe_dump({"basic_auth_users": {
            user: bcrypt.hashpw(password.encode(), bcrypt.gensalt(4)).decode()
            for user, password in ((SITE, SITE_PASSWORD), ("grafana", READER_PASSWORD))}}))
        # One file for both replicas, as shipped: only WATCHER_REPLICA differs.
        self.replica_config = render_prometheus_config(
            directory, exporter=self.outside.address, alertmanager=[peer.address for peer in self.peers],
            source=WATCHER_DIR / "prometheus.yml", scrape_interval="1s", evaluation_interval="1s",
            rules_dir=compress_rules(directory / "rules", SPEEDUP, source_dir=WATCHER_DIR / "rules"))
        self.replica_flags = ["--rules.alert.resend-delay=1s", "--web.enable-remote-write-receiver",
                              f"--web.config.file={web}", "--enable-feature=expand-external-labels"]
        self.replicas = {replica: self.start_replica(replica) for replica in REPLICAS}

    def start_peer(self, index: int) -> AlertmanagerProcess:
        """Alertmanager peer `index` (0-2) on its ports and storage: gossiping with all three, as shipped."""
        cluster = [f"--cluster.listen-address=127.0.0.1:{self.cluster_ports[index]}",
                   f"--cluster.advertise-address=127.0.0.1:{self.cluster_ports[index]}",
                   *(f"--cluster.peer=127.0.0.1:{port}" for port in self.cluster_ports),
                   f"--cluster.peer-timeout={PEER_TIMEOUT:g}s", "--cluster.reconnect-interval=1s"]
        national = self.topology.national
        return self._process(national, AlertmanagerProcess(
            self.peer_config, self.peer_config.parent, wrapper=["ip", "netns", "exec", national.name],
            cluster=cluster, port=self.peer_ports[index]))

    def start_replica(self, replica: str, port: int | None = None) -> PrometheusProcess:
        """Replica `replica` ("a" or "b"); the same `port` again restarts it on its storage."""
        national = self.topology.national
        return self._process(national, PrometheusProcess(
            self.replica_config, self.replica_config.parent, self.replica_flags, port=port, host=NATIONAL,
            wrapper=["ip", "netns", "exec", national.name, "env", f"WATCHER_REPLICA={replica}"],
            auth=("grafana", READER_PASSWORD)))

    def _start_site(self, directory) -> None:
        lpse = self.topology.lpse
        wrapper = ["ip", "netns", "exec", lpse.name]
        self.exporter = self._exporter(lpse, directory, PROBES)
        self.site_am = self._process(lpse, AlertmanagerProcess(
            render_alertmanager_config(directory, self.site_receiver.url, SPEEDUP), directory, wrapper=wrapper))
        path = render_prometheus_config(
            directory, exporter=self.exporter.address, alertmanager=self.site_am.address,
            rules_dir=compress_rules(directory / "rules", SPEEDUP), scrape_interval="1s", evaluation_interval="1s",
            remote_write=[f"{self.replicas[replica].url}/api/v1/write" for replica in REPLICAS])
        compress_remote_write(path, SPEEDUP)
        (directory / "secrets").mkdir()
        (directory / "secrets" / "watcher_password").write_text(SITE_PASSWORD)  # the shipped password_file
        self.site = self._process(lpse, PrometheusProcess(path, directory, ["--rules.alert.resend-delay=1s"],
                                                          wrapper=wrapper))

    def query(self, replica: str, expr: str) -> list[dict]:
        return self.topology.national.call(self.replicas[replica].query, expr)

    def value(self, replica: str, expr: str) -> float:
        """The one value of `expr` at `replica`, 0 when it has none."""
        return sum(float(sample["value"][1]) for sample in self.query(replica, expr))

    def metric(self, namespace, process, metric: str, **labels) -> float:
        status, body, _ = namespace.call(http_get, f"{process.url}/metrics", headers=process.headers)
        assert status == 200, status
        return sum(value for (name, found), value in parse_metrics(body.decode()).items()
                   if name == metric and set(labels.items()) <= set(found))

    def peer_metric(self, peer: AlertmanagerProcess, metric: str, **labels) -> float:
        return self.metric(self.topology.national, peer, metric, **labels)

    def site_metric(self, metric: str, **labels) -> float:
        return self.metric(self.topology.lpse, self.site, metric, **labels)

    def peer_alerts(self, peer: AlertmanagerProcess) -> list[dict]:
        return self.topology.national.call(peer.alerts)

    def pages(self, peer: AlertmanagerProcess) -> float:
        """Notifications `peer` started to the on-call's webhook (the only integration of the watcher here)."""
        return self.peer_metric(peer, "alertmanager_notifications_total", integration="webhook")

    def gossiped(self, peer: AlertmanagerProcess) -> float:
        """Updates `peer` received from the others: notification log entries (and silences, none here)."""
        return self.peer_metric(peer, "alertmanager_cluster_messages_received_total", msg_type="update")

    def one_cluster(self) -> bool:
        return all(self.peer_metric(peer, "alertmanager_cluster_members") == PEERS for peer in self.peers)

    def _iptables(self, verb: str, *rule: str) -> None:
        self.topology.national.exec("iptables", verb, "INPUT", *rule, "-j", "DROP")

    def cut_path(self, replica: str, verb: str = "-I") -> None:
        """Drop what the site sends to `replica`, silently (-D: restore it)."""
        self._iptables(verb, "-s", LPSE, "-p", "tcp", "--dport", str(self.replicas[replica].port))

    def silence_site(self, verb: str = "-I") -> None:
        """Cut the site's paths to both replicas: the site is silent while SPSE still answers outside (-D: restore)."""
        for replica in REPLICAS:
            self.cut_path(replica, verb)

    def partition(self, verb: str = "-I") -> None:
        """Drop the peers' gossip (TCP and UDP to every cluster port): each peer alone (-D: heal)."""
        for port in self.cluster_ports:
            for protocol in ("tcp", "udp"):
                self._iptables(verb, "-p", protocol, "--dport", str(port))

    def restore(self) -> None:
        """Heal every cut (only the tests' DROP rules live in this namespace), let SPSE answer and start again any
        replica or peer a scenario killed, on its port and storage."""
        self.topology.national.exec("iptables", "-F", "INPUT")
        self.spse.set("ok")
        for replica, process in self.replicas.items():
            if process.proc.poll() is not None:
                self.replicas[replica] = self.start_replica(replica, process.port)
        restarted = [index for index, peer in enumerate(self.peers) if peer.proc.poll() is not None]
        for index in restarted:
            self.peers[index] = self.start_peer(index)
        if restarted:
            poll(self.one_cluster, 60, 0.5, "the restarted peers back in the cluster")

    def site_groups_gone(self) -> bool:
        """No peer holds a notification group but the two always there: WatcherWatchdog's and the site's SiteHeard."""
        return self.heard_by_both() and all(
            self.peer_metric(peer, "alertmanager_dispatcher_aggregation_groups") == 2 for peer in self.peers)

    def heard_by_both(self) -> bool:
        return {alert["labels"].get("heard_by") for alert in self.peer_alerts(self.peers[0])
                if alert["labels"]["alertname"] == "SiteHeard"} == set(REPLICAS)

    def quiet(self, what: str) -> None:
        """Wait until no peer holds an alert but the always-on ones, every on-call group's last word was
        resolved, and that for a group_wait."""
        def calm():
            held = [alert for peer in self.peers for alert in self.peer_alerts(peer)
                    if alert["labels"]["alertname"] not in ALWAYS_ON]
            return not held and settled(self.oncall)
        poll_steady(calm, GROUP_WAIT, 90, 0.5, what)


@pytest.fixture(scope="module")
def ha(tmp_path_factory):
    watcher = Watcher(tmp_path_factory.mktemp("watcher-ha"))
    try:
        for replica in REPLICAS:
            poll(lambda: watcher.query(replica, f'up{{job="spse-exporter",vantage="site",site="{SITE}"}} == 1'),
                 60, 0.5, f"the site's series at replica {replica}")
        poll(watcher.one_cluster, 60, 0.5, "three Alertmanager peers in one cluster")
        watcher.quiet("a healthy site and watcher")
        yield watcher
    finally:
        watcher.close()
        print("\n".join(["", f"watcher HA scenarios ({SPEEDUP}x compressed):", *REPORT]))


@pytest.fixture(autouse=True)
def restored(ha):
    """Whatever a scenario leaves cut or killed, passed or failed, is healed before the next one."""
    try:
        yield
    finally:
        ha.restore()


def report(scenario: str, *lines: str) -> None:
    REPORT.extend([f"- {scenario}", *(f"    {line}" for line in lines)])


def firing_pages(receiver: WebhookReceiver, since: float, alertname: str) -> list[dict]:
    """Notifications since `since` in which `alertname` fires."""
    return [payload for _, payload in payloads(receiver, since) if alertname in names(payload, "firing")]


def resolved_pages(receiver: WebhookReceiver, since: float, alertname: str = "SiteSilent") -> list[dict]:
    """Notifications since `since` in which `alertname` is resolved."""
    return [payload for _, payload in payloads(receiver, since) if alertname in names(payload, "resolved")]


def summary(receiver: WebhookReceiver, since: float) -> list:
    """What arrived since `since`, for a failure's message: (seconds after, sending peer, [(alert, status, startsAt)])."""
    return [(round(arrived - since, 1), p["externalURL"], [(a["labels"]["alertname"], a["status"], a["startsAt"])
                                                            for a in p["alerts"]])
            for arrived, p in payloads(receiver, since)]


def started(alert: dict) -> float:
    return datetime.fromisoformat(alert["startsAt"].replace("Z", "+00:00")).timestamp()


def paged(receiver: WebhookReceiver, since: float, incident: float) -> tuple[list[list[str]], int]:
    """The alerts each notification since `since` newly reports firing (what pages the on-call), and how many
    notifications repeated the group. A repeat is allowed only as Alertmanager makes one: a peer re-sends the
    group when it still holds an alert resolved before `incident` (unix time) that the notification log does not
    list, as Prometheus re-sends resolved alerts for 15 minutes."""
    seen: set[str] = set()
    new, repeats = [], 0
    for _, payload in payloads(receiver, since):
        fresh = names(payload, "firing") - seen
        seen |= fresh
        current_resolved = [a for a in payload["alerts"] if a["status"] == "resolved" and started(a) >= incident]
        if fresh:
            new.append(sorted(fresh))
        elif not current_resolved:
            assert any(a["status"] == "resolved" and started(a) < incident for a in payload["alerts"]), \
                summary(receiver, since)
            repeats += 1
    return new, repeats


def exactly_once(receiver: WebhookReceiver, since: float, incident: float) -> list[list[str]]:
    """The alerts each notification since `since` newly reports firing, asserting that each notification tells the
    on-call something new (an alert firing or resolved) and that no alert fires again after its resolved: every page
    exactly once, no duplicate, no page after the "resolved". Alerts started before `incident` (unix time) must not
    be listed at all."""
    fired: set[str] = set()
    resolved: set[str] = set()
    new = []
    for _, payload in payloads(receiver, since):
        assert all(started(alert) >= incident for alert in payload["alerts"]), summary(receiver, since)
        firing, ended = names(payload, "firing"), names(payload, "resolved")
        assert not firing & resolved, ("paged again after its resolved", summary(receiver, since))
        assert firing - fired or ended - resolved, ("a duplicate", summary(receiver, since))
        if firing - fired:
            new.append(sorted(firing - fired))
        fired |= firing
        resolved |= ended
    return new


def resolved_since(receiver: WebhookReceiver, unix_time: float) -> set[str]:
    """Alerts that started after `unix_time` and a notification called resolved. A notification also lists the
    group's alerts resolved in an earlier incident, for as long as Prometheus re-sends them (15 minutes): those
    started before."""
    return {alert["labels"]["alertname"] for _, payload in receiver.received for alert in payload["alerts"]
            if alert["status"] == "resolved"
            and started(alert) >= unix_time}


def samples(replica: str, ha: Watcher, start: float, end: float) -> float:
    """How many `up` samples of the site `replica` holds between the unix times `start` and `end`."""
    return ha.value(replica, f'count_over_time(up{{job="spse-exporter",vantage="site",site="{SITE}"}}'
                             f'[{round((end - start) * 1000)}ms] @ {end:.3f})')


def both_replicas_hold(ha: Watcher, start: float, end: float, what: str) -> float:
    """Wait until both replicas hold the same samples of the site between `start` and `end`; how many."""
    def same():
        counts = {replica: samples(replica, ha, start, end) for replica in REPLICAS}
        return counts["a"] == counts["b"] > 0 and counts["a"]
    return poll(same, 60, 0.5, what)


def recover(ha: Watcher, incident: float) -> float:
    """Both paths and SPSE back: when the on-call had SiteSilent and SPSEDownFromOutside of `incident` resolved."""
    ha.silence_site("-D")
    ha.spse.set("ok")
    poll(lambda: {"SiteSilent", "SPSEDownFromOutside"} <= resolved_since(ha.oncall, incident), 60, 0.2,
         "both resolved at the on-call webhook")
    return time.monotonic()


def test_no_replica_hears_the_site_it_pages_once_and_a_replica_killed_mid_incident_changes_nothing(ha):
    """The positive control of the one-path cut below (both paths cut: SiteSilent pages), then replica a dies
    mid-incident: the alert joining the group pages once, nothing resolves early. Replica a comes back as the site
    recovers, before replica b's SiteHeard fires again and before the site's queue has re-sent a what it missed: it
    calls the site silent for none of that (watcher:watching_since), and gets its dead window from the site's WAL.
    The on-call gets each page exactly once, then the resolved, and nothing after."""
    poll(ha.site_groups_gone, 120, 0.5, "no peer holding a notification group of the site (their timers in step)")
    began, incident = time.monotonic(), time.time()
    ha.silence_site()
    arrived, _ = poll(lambda: first(ha.oncall, began, lambda p: "SiteSilent" in names(p, "firing")), 60, 0.2,
                      "SiteSilent at the on-call webhook")
    killed, dead_from = time.monotonic(), time.time()
    port = ha.replicas["a"].port
    ha.replicas["a"].proc.kill()  # a crash, not a shutdown
    ha.replicas["a"].stop()
    ha.spse.set("status", status=500)  # SPSE fails too: SPSEDownFromOutside (for: 2m) joins the site's group

    def no_early_resolved():
        assert not resolved_since(ha.oncall, incident), "resolved while the site is still cut"
    joined = poll(lambda: no_early_resolved() or first(ha.oncall, killed,
                                                        lambda p: "SPSEDownFromOutside" in names(p, "firing")),
                  60, 0.2, "SPSEDownFromOutside at the on-call webhook")
    hold(PEERS * PEER_TIMEOUT + GROUP_WAIT, no_early_resolved)  # a duplicate of the new page would come now
    assert exactly_once(ha.oncall, began, incident) == [["SiteSilent"], ["SPSEDownFromOutside"]]

    recovered = time.monotonic()
    ha.silence_site("-D")
    ha.spse.set("ok")
    ha.replicas["a"] = ha.start_replica("a", port)  # back on its storage, within the site's WAL window
    back, back_at = time.monotonic(), time.time()
    # The moment a returning replica used to page again: the site heard for under SiteHeard's 3 minutes.
    assert not ha.query("b", 'ALERTS{alertname="SiteHeard",alertstate="firing"}'), "replica a back too late"
    poll(lambda: {"SiteSilent", "SPSEDownFromOutside"} <= resolved_since(ha.oncall, incident), 60, 0.2,
         "both resolved at the on-call webhook")
    resolved = time.monotonic()
    count = both_replicas_hold(ha, dead_from, back_at, "replica a's dead window from the site's WAL")
    poll(ha.heard_by_both, 60, 0.5, "SiteHeard from both replicas again")
    ha.quiet("replica a back and the watcher settled")
    assert exactly_once(ha.oncall, began, incident) == [["SiteSilent"], ["SPSEDownFromOutside"]]
    assert not ha.value("a", f'count_over_time(ALERTS{{alertname="SiteSilent"}}[{time.time() - back_at:.0f}s])')
    report("both site->replica paths cut (positive control), replica a killed mid-incident, SPSE fails, replica a "
           "back as the site recovers",
           f"on-call webhook: SiteSilent after {production(arrived - began)}; replica a killed; SPSEDownFromOutside "
           f"joined after {production(joined[0] - killed)}; each paged once, no resolved until recovery, both "
           f"resolved {production(resolved - recovered)} after it, nothing after",
           f"replica a back {production(back - recovered)} after the recovery, {production(back_at - dead_from)} "
           f"after it died, before replica b's SiteHeard fired: SiteSilent never fired on it; it holds the same "
           f"{count:.0f} `up` samples of its dead window as replica b")


def test_one_cut_site_to_replica_path_pages_no_one_and_loses_no_sample(ha):
    """Replica b hears nothing from the site for 5 production minutes and judges it silent; its SiteSilent is muted
    by replica a's SiteHeard. The site keeps paging for itself and holds at most its queue's bound for b."""
    poll(ha.heard_by_both, 60, 0.5, "SiteHeard from both replicas (3 production minutes after they hear the site)")
    began, start = time.monotonic(), time.time()
    ha.cut_path("b")

    def muted_at_every_peer():
        fired = ha.query("b", 'ALERTS{alertname="SiteSilent",alertstate="firing"}')
        muted = [alert for peer in ha.peers for alert in ha.peer_alerts(peer)
                 if alert["labels"]["alertname"] == "SiteSilent" and alert["status"]["inhibitedBy"]]
        return fired and len(muted) == PEERS
    poll(muted_at_every_peer, 30, 0.2, "replica b's SiteSilent, muted by replica a's SiteHeard at every peer")
    silent_at_b = time.monotonic() - began
    pending = []

    def nothing_pages_and_the_site_is_fine():
        assert not payloads(ha.oncall, began), "a page although replica a hears the site"
        assert ha.value("a", f'time() - timestamp(up{{job="spse-exporter",vantage="site",site="{SITE}"}})') < 5
        assert {alert["labels"]["alertname"] for alert in ha.topology.lpse.call(ha.site_am.alerts)} >= {"Watchdog"}
        pending.append(ha.site_metric("prometheus_remote_storage_samples_pending", remote_name="watcher-b"))
    hold(start + BLOCKED - time.time(), nothing_pages_and_the_site_is_fine)
    ha.cut_path("b", "-D")
    end = time.time()
    count = both_replicas_hold(ha, start, end, "the cut window's samples at replica b")
    assert max(pending) <= QUEUE["capacity"] * QUEUE["max_shards"], max(pending)
    ha.quiet("replica b to hear the site again")
    assert not payloads(ha.oncall, began)
    report("site->replica b cut for 5 production minutes, then restored",
           f"replica b's SiteSilent fired after {production(silent_at_b)}, muted by replica a's SiteHeard at all "
           f"3 peers; on-call webhook: nothing over {production(time.monotonic() - began)}",
           f"the site's queue for b held at most {max(pending):.0f} samples (bound "
           f"{QUEUE['capacity'] * QUEUE['max_shards']}); afterwards both replicas hold the same {count:.0f} `up` "
           "samples of the cut window")


def test_a_killed_alertmanager_peer_mid_incident_the_next_page_arrives_once(ha):
    """The peer that sent the first page dies; the alert that joins the group next still pages, once. A peer that
    takes over also re-sends the group's alerts resolved in the last 15 minutes that it still holds
    (docs/alerting.md): counted as repeats, not as pages."""
    began, incident = time.monotonic(), time.time()
    before = [ha.pages(peer) for peer in ha.peers]
    updates = [ha.gossiped(peer) for peer in ha.peers]
    ha.silence_site()
    arrived, _ = poll(lambda: first(ha.oncall, began, lambda p: "SiteSilent" in names(p, "firing")), 60, 0.2,
                      "SiteSilent at the on-call webhook")
    # Kill the peer that sent it (the first in the cluster's order) once the others have its notification log
    # entry (gossip, every 200 ms): the others must take over. A peer that dies before it gossips is the
    # at-least-once case: the others send the page again (docs/alerting.md).
    sender = next(index for index, peer in enumerate(ha.peers) if ha.pages(peer) > before[index])
    poll(lambda: all(ha.gossiped(peer) > updates[index] for index, peer in enumerate(ha.peers) if index != sender),
         10, 0.1, "the page's notification log entry at the other peers")
    killed = time.monotonic()
    ha.peers[sender].proc.kill()
    ha.peers[sender].stop()
    ha.spse.set("status", status=500)  # SPSEDownFromOutside will join the site's group: the next page
    page, _ = poll(lambda: first(ha.oncall, killed, lambda p: "SPSEDownFromOutside" in names(p, "firing")), 60, 0.2,
                   "SPSEDownFromOutside at the on-call webhook after the peer died")
    hold(PEERS * PEER_TIMEOUT + GROUP_WAIT, lambda: None)  # a duplicate from the third peer would come now
    new, repeats = paged(ha.oncall, began, incident)
    assert new == [["SiteSilent"], ["SPSEDownFromOutside"]], summary(ha.oncall, began)  # each page once
    assert not resolved_since(ha.oncall, incident), summary(ha.oncall, began)

    recovered = time.monotonic()
    resolved = recover(ha, incident)
    ha.peers[sender] = ha.start_peer(sender)
    poll(ha.one_cluster, 60, 0.5, "the restarted peer back in the cluster")
    ha.quiet("the watcher to settle")
    assert paged(ha.oncall, began, incident)[0] == new
    report(f"both site->replica paths cut; Alertmanager peer {sender + 1} (which sent the page) killed mid-incident",
           f"on-call webhook: SiteSilent after {production(arrived - began)}; after the kill, SPSEDownFromOutside "
           f"arrived once, {production(page - killed)} later, from a surviving peer ({repeats} repeat(s) of the "
           f"group); both resolved {production(resolved - recovered)} after recovery")


def test_partitioned_alertmanager_peers_each_page_none_is_lost(ha):
    """Split-brain: each peer alone still pages. What the on-call gets is measured and reported (docs/alerting.md)."""
    ha.partition()  # the peers may not have noticed yet: either way none sees the others' notification log
    began = time.monotonic()
    ha.silence_site()
    poll(lambda: firing_pages(ha.oncall, began, "SiteSilent"), 60, 0.2, "SiteSilent at the on-call webhook")
    hold(PEERS * PEER_TIMEOUT + GROUP_WAIT, lambda: None)  # the last peer in line waits its position's timeout
    firing = len(firing_pages(ha.oncall, began, "SiteSilent"))
    recovered = time.monotonic()
    ha.silence_site("-D")
    poll(lambda: resolved_pages(ha.oncall, recovered), 60, 0.2, "resolved at the on-call webhook")
    hold(PEERS * PEER_TIMEOUT + GROUP_INTERVAL, lambda: None)
    resolved = len(resolved_pages(ha.oncall, recovered))
    ha.partition("-D")
    poll(ha.one_cluster, 60, 0.5, "the peers in one cluster again")
    ha.quiet("the watcher to settle")
    assert 1 <= firing <= PEERS and 1 <= resolved <= PEERS, summary(ha.oncall, began)
    assert len(firing_pages(ha.oncall, began, "SiteSilent")) == firing  # healing sends nothing more
    report("Alertmanager peers partitioned from each other, then the site silent to both replicas",
           f"on-call webhook: SiteSilent {firing} time(s) (one per peer: {firing - 1} duplicate(s)), resolved "
           f"{resolved} time(s); after healing, nothing more")
