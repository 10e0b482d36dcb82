"""The watcher's rules unchanged on VictoriaMetrics (issue 24, "Past one pair"), next to the Prometheus watcher.

One site on loopback writes by the shipped remote-write.yml to both watchers at once, as a site of an HA
watcher does (two remote_write entries):

    site exporter -> site Prometheus --remote write--> watcher Prometheus (rules) -> Alertmanager -> webhook P
                                     +--remote write--> victoria-metrics <- vmalert (rules) -> Alertmanager -> webhook V
    outside exporter <- scraped by the watcher Prometheus, and by vmagent (same prometheus.yml) into victoria-metrics

Both run the shipped watcher rules and routing 15 times faster (tests/stack.py). The site's Prometheus stops, then
SPSE fails: both webhooks must get the same pages with the same texts, and none while the site is healthy.
"""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path

import pytest
import yaml

from tests.fakes import FakeSPSE
from tests.stack import (STACK_DIR, VictoriaMetricsProcess, compress_remote_write, compress_rules,
                         render_alertmanager_config, WebhookReceiver, render_prometheus_config)
from tests.support import http_get, poll

pytestmark = pytest.mark.timeout(240)

SPEEDUP = 15
SITE = "kutaibarat"  # the site name of the shipped prometheus.yml and remote-write.yml
WATCHER_DIR = STACK_DIR / "watcher"
RUNBOOK_BASE = "http://localhost:10040"  # the watcher's prometheus.yml external label
PAGES = ("SiteSilent", "SPSEDownFromOutside")


def firing(webhook, alertname: str) -> list[dict]:
    """Every firing alert named `alertname` that reached `webhook`, oldest first."""
    return [alert for _, payload in webhook.received for alert in payload["alerts"]
            if alert["status"] == "firing" and alert["labels"]["alertname"] == alertname]


def page(alert: dict) -> tuple:
    """What the on-call sees of an alert: its labels and texts."""
    return (tuple(sorted(alert["labels"].items())), alert["annotations"]["summary"],
            alert["annotations"]["description"], alert["annotations"]["runbook_url"])


def notifier_config(tmp_dir: Path, prometheus_config: Path) -> Path:
    """vmalert's -notifier.config from the alerting section of a Prometheus config: the same Alertmanagers and
    alert relabelling (the watcher's drops runbook_base, the external label its runbook links read)."""
    alerting = yaml.safe_load(prometheus_config.read_text())["alerting"]
    path = tmp_dir / "notifier.yml"
    # vmalert labels each alert with its rule group's name, Prometheus does not: the same pages need it dropped.
    relabel = [*alerting.get("alert_relabel_configs", []), {"action": "labeldrop", "regex": "alertgroup"}]
    path.write_text(yaml.safe_dump({**alerting["alertmanagers"][0], "alert_relabel_configs": relabel}))
    return path


def flush_every(store: VictoriaMetricsProcess, seconds: float, done: threading.Event) -> None:
    """Make new series searchable every `seconds`. VictoriaMetrics does it by itself within 10-20 s of wall time
    (seen here), which the 15 times faster clock would turn into minutes: a new cause or ALERTS series (a new
    page) would come late. In production that delay is about one 15 s evaluation."""
    while not done.wait(seconds):
        try:
            http_get(f"{store.url}/internal/force_flush")
        except OSError:  # a slow answer under load, or the store stopping at teardown: flush at the next turn
            continue


@pytest.fixture
def watchers(tmp_path, start_exporter, start_prometheus, start_alertmanager, webhook_receiver):
    """The site, the Prometheus watcher and the VictoriaMetrics watcher, all running."""
    spse = FakeSPSE()
    vm_webhook = WebhookReceiver()
    started: list[VictoriaMetricsProcess] = []
    done = threading.Event()

    def start_vm(binary: str, flags: list[str]) -> VictoriaMetricsProcess:
        process = VictoriaMetricsProcess(binary, flags, tmp_path)
        started.append(process)
        process.wait_ready()
        return process

    try:
        probe = {"interval": "1s", "timeout": "800ms", "targets": [{"name": SITE, "url": spse.url}]}
        site_exporter, outside = start_exporter(probe), start_exporter(probe)
        rules = compress_rules(tmp_path / "watcher-rules", SPEEDUP, source_dir=WATCHER_DIR / "rules")

        # The Prometheus watcher, as tests/e2e/test_watcher_netns.py runs it (without its web config).
        prom_dir, vm_dir, site_dir = (tmp_path / name for name in ("prometheus", "vm", "site"))
        for directory in (prom_dir, vm_dir, site_dir):
            directory.mkdir()
        prom_am = start_alertmanager(render_alertmanager_config(
            prom_dir, webhook_receiver.url, SPEEDUP, source=WATCHER_DIR / "alertmanager.yml"))
        prom_watcher = start_prometheus(render_prometheus_config(
            prom_dir, exporter=outside.address, alertmanager=prom_am.address, source=WATCHER_DIR / "prometheus.yml",
            rules_dir=rules, scrape_interval="1s", evaluation_interval="1s"),
            ["--rules.alert.resend-delay=1s", "--web.enable-remote-write-receiver"])

        # The VictoriaMetrics store, and the site writing by the shipped remote-write entry, once per watcher,
        # before the VictoriaMetrics side scrapes the outside probes: a site is given 2 minutes from its first probe.
        store = start_vm("victoria-metrics", [f"-storageDataPath={vm_dir / 'data'}", "-search.latencyOffset=1s"])
        threading.Thread(target=flush_every, args=(store, 0.5, done), daemon=True).start()
        path = render_prometheus_config(site_dir, exporter=site_exporter.address, scrape_interval="1s",
                                        evaluation_interval="1s", rules_dir=compress_rules(site_dir / "rules", SPEEDUP),
                                        remote_write=f"{prom_watcher.url}/api/v1/write")
        compress_remote_write(path, SPEEDUP)
        config = yaml.safe_load(path.read_text())
        writer = config["remote_write"][0]
        config["remote_write"].append({**writer, "name": "watcher-vm", "url": f"{store.url}/api/v1/write"})
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        (site_dir / "secrets").mkdir()
        (site_dir / "secrets" / "watcher_password").write_text("site-test-password")
        site = start_prometheus(path)

        # The rest of the VictoriaMetrics watcher: the same scrape config, rules and routing.
        vm_am = start_alertmanager(render_alertmanager_config(
            vm_dir, vm_webhook.url, SPEEDUP, source=WATCHER_DIR / "alertmanager.yml"))
        scrape = render_prometheus_config(vm_dir, exporter=outside.address, alertmanager=vm_am.address,
                                          source=WATCHER_DIR / "prometheus.yml", rules_dir=rules,
                                          scrape_interval="1s", evaluation_interval="1s")
        start_vm("vmagent", [f"-promscrape.config={scrape}", "-promscrape.config.strictParse=false",
                             f"-remoteWrite.url={store.url}/api/v1/write",
                             f"-remoteWrite.tmpDataPath={vm_dir / 'vmagent'}",
                             "-remoteWrite.flushInterval=200ms"])
        vmalert = start_vm("vmalert", [f"-rule={rules}/*.yml", f"-datasource.url={store.url}",
                                       f"-remoteWrite.url={store.url}", f"-remoteRead.url={store.url}",
                                       f"-notifier.config={notifier_config(vm_dir, scrape)}", "-evaluationInterval=1s",
                                       "-remoteWrite.flushInterval=200ms", "-rule.resendDelay=1s",
                                       f"-external.label=runbook_base={RUNBOOK_BASE}"])
        yield {"spse": spse, "site": site, "prometheus": prom_watcher, "vm": store, "vmalert": vmalert,
               "prometheus_webhook": webhook_receiver, "vm_webhook": vm_webhook}
    finally:
        done.set()
        for process in reversed(started):
            process.stop()
        vm_webhook.close()
        spse.close()


def test_watcher_rules_page_the_same_on_victoriametrics_as_on_prometheus(watchers):
    prom, vm = watchers["prometheus"], watchers["vm"]
    webhooks = {"prometheus": watchers["prometheus_webhook"], "victoriametrics": watchers["vm_webhook"]}
    healthy = f'watcher:site_cause{{site="{SITE}",cause="none"}}'
    poll(lambda: prom.query(healthy) and vm.query(healthy), 60, 0.5, "the site healthy on both watchers")
    # Negative control: while the site writes and SPSE answers, 12 evaluations (3 production minutes) on each
    # watcher found the site neither silent nor down, and no page went out.
    judged = [f'{name}{{site="{SITE}"}}[15s]' for name in ("watcher:site_silent", "watcher:outside_down")]
    poll(lambda: all(watcher.query(f"count_over_time({series}) >= 12") for watcher in (prom, vm) for series in judged),
         60, 0.5, "12 evaluations of a writing site on both watchers")
    for watcher in (prom, vm):
        assert [watcher.query(f"max_over_time({series}) > 0") for series in judged] == [[], []], watcher.name
    for name, webhook in webhooks.items():
        assert not [alert for alertname in PAGES for alert in firing(webhook, alertname)], name

    watchers["site"].stop()  # the site's Prometheus dies: SPSE still answers from outside
    poll(lambda: all(firing(webhook, "SiteSilent") for webhook in webhooks.values()), 60, 0.5, "SiteSilent on both")
    watchers["spse"].set("status", status=504)  # then SPSE fails too: from outside, the site's uplink is cut
    poll(lambda: all(firing(webhook, "SPSEDownFromOutside") for webhook in webhooks.values()), 60, 0.5,
         "SPSEDownFromOutside on both")
    for alertname in PAGES:
        prom_page, vm_page = (page(firing(webhook, alertname)[0]) for webhook in webhooks.values())
        assert prom_page == vm_page, alertname
    silent, down = (page(firing(webhooks["victoriametrics"], alertname)[0]) for alertname in PAGES)
    assert "SPSE still answers from outside" in silent[2]  # the cause when it went silent: site_silent
    assert "its uplink is cut" in down[2]  # and once SPSE failed too: uplink_cut


CAUSES = {  # site: (watcher:site_silent, watcher:outside_down, watcher:inside_down) -> the cause the rule names
    "a": ((0, 0, 0), "none"), "b": ((1, 0, 0), "site_silent"), "c": ((1, 1, 0), "uplink_cut"),
    "d": ((0, 1, 0), "path"), "e": ((0, 1, 1), "application")}


def site_cause_expr(ungrouped: bool = False) -> str:
    """The shipped watcher:site_cause; `ungrouped`: its causes joined by `or on (site)` without grouping each first."""
    rules = yaml.safe_load((WATCHER_DIR / "rules" / "watcher.yml").read_text())["groups"][0]["rules"]
    expr = next(rule["expr"] for rule in rules if rule.get("record") == "watcher:site_cause")
    if not ungrouped:
        return expr
    terms = [re.sub(r"^(or on \(site\) )?group by \(site, cause\) \((.*)\)$", r"\1\2", line.strip())
             for line in expr.strip().splitlines()]
    assert all("group by" not in term for term in terms), terms
    return "group by (site, cause) (" + "\n".join(terms) + ")"


def test_site_cause_names_the_same_cause_on_victoriametrics(tmp_path):
    """Each cause on VictoriaMetrics as the table in the rule file says. Control: with the causes not grouped before
    `or on (site)`, VictoriaMetrics 1.79 fills a cause that a comparison filtered out from the next one's value."""
    store = VictoriaMetricsProcess("victoria-metrics", [f"-storageDataPath={tmp_path / 'data'}"], tmp_path)
    try:
        store.wait_ready()
        now = int(time.time())
        lines = [f'{name}{{site="{site}"}} {value} {(now - age) * 1000}'
                 for site, (values, _) in CAUSES.items()
                 for name, value in zip(("watcher:site_silent", "watcher:outside_down", "watcher:inside_down"), values)
                 for age in range(30, 0, -1)]
        imported = http_get(f"{store.url}/api/v1/import/prometheus", method="POST", data="\n".join(lines).encode())
        assert imported[0] == 204, imported
        assert http_get(f"{store.url}/internal/force_flush")[0] == 200

        def causes(expr: str) -> dict[str, str]:
            return {series["metric"]["site"]: series["metric"]["cause"] for series in store.query(expr)}
        expected = {site: cause for site, (_, cause) in CAUSES.items()}
        poll(lambda: causes(site_cause_expr()) == expected, 30, 0.5, f"causes {expected}")
        assert causes(site_cause_expr(ungrouped=True))["a"] == "site_silent"  # healthy, named silent: the difference
    finally:
        store.stop()
