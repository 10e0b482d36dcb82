"""Replays the 4 April 2023 incident through the real exporter, Prometheus and Alertmanager.

A world on loopback (fake SPSE, time sources, gateway/national/global anchors) goes through:
healthy -> global anchors and time sources dark (national stays up) -> SPSE answers 504 ->
everything recovers. The shipped rules and routing run 15 times faster (tests/stack.py): one
second here is one 15-second scrape in production. The webhook must get one notification group
for the site with UpstreamGlobalLost and the SPSE alerts carrying their cause, never a
ClockUnvalidated notification, and resolved notifications after recovery.
"""

from __future__ import annotations

import json
import subprocess
import time

import pytest

from tests.fakes import FakeDNS, FakeNTP, FakeSPSE, TcpListener, free_port
from tests.stack import STACK_DIR, compress_rules, render_alertmanager_config, render_prometheus_config
from tests.support import poll

SPEEDUP = 15  # production scrape/probe interval 15s -> 1s here
SITE = "kutaibarat"
SPSE_ALERTS = ("SPSEDown", "SPSEGatewayTimeout")


@pytest.fixture
def world():
    """The fakes the exporter probes; closed after the test."""
    parts = {
        "spse": FakeSPSE(),
        "time_sources": [FakeNTP(), FakeNTP()],
        "gateway": TcpListener(),
        "national": [TcpListener(), FakeDNS()],
        "global_dns": FakeDNS(),
        "global_ntp": FakeNTP(),
    }
    yield parts
    for part in (parts["spse"], *parts["time_sources"], parts["gateway"], *parts["national"],
                 parts["global_dns"], parts["global_ntp"]):
        part.close()


def exporter_config(world) -> dict:
    national_tcp, national_dns = world["national"]
    return {
        "interval": "1s",
        "timeout": "500ms",
        "targets": [{"name": SITE, "url": world["spse"].url}],
        # The SPSE server's own sources, all behind the international routes, as on 4 April 2023.
        "clock": {"servers": [{"host": ntp.address, "via": "global"} for ntp in world["time_sources"]]},
        "upstream": {
            "gateway": [f"tcp://{world['gateway'].address}"],
            "national": [f"tcp://{national_tcp.address}", f"dns://{national_dns.address}/inaproc.id"],
            "global": [f"dns://{world['global_dns'].address}/google.com", f"ntp://{world['global_ntp'].address}"],
        },
    }


def alerts_by_name(payload: dict, status: str) -> dict[str, dict]:
    return {a["labels"]["alertname"]: a for a in payload["alerts"] if a["status"] == status}


def first_payload(webhook, check, after: float):
    """The first (arrival time, payload) received after `after` for which check(payload) holds."""
    for arrived, payload in webhook.received:
        if arrived >= after and check(payload):
            return arrived, payload
    return None


def set_global_links(world: dict, mode: str) -> None:
    """Everything behind the international routes: the global anchors and every time source."""
    for fake in (world["global_dns"], world["global_ntp"], *world["time_sources"]):
        fake.set(mode)


@pytest.mark.timeout(240)
def test_incident_replay_pages_once_with_root_cause(world, tmp_path, start_exporter, start_prometheus,
                                                    start_alertmanager, webhook_receiver, capsys):
    exporter = start_exporter(exporter_config(world))
    alertmanager = start_alertmanager(render_alertmanager_config(tmp_path, webhook_receiver.url, SPEEDUP))
    prometheus_port = free_port()
    config = render_prometheus_config(
        tmp_path, exporter=f"{exporter.host}:{exporter.port}", alertmanager=alertmanager.address,
        prometheus=f"127.0.0.1:{prometheus_port}", rules_dir=compress_rules(tmp_path / "rules", SPEEDUP),
        scrape_interval="1s", evaluation_interval="1s")
    prometheus = start_prometheus(config, ["--rules.alert.resend-delay=1s"], port=prometheus_port)

    # Healthy: Prometheus has scraped the exporter, sees no cause, and knows Alertmanager.
    poll(lambda: prometheus.query(f'spse:probable_cause{{site="{SITE}",cause="none"}}'
                                  f' and on(site) spse_http_probe_success == 1'), 60, 0.5, "a healthy site")
    poll(lambda: prometheus.get_json("/api/v1/alertmanagers")["data"]["activeAlertmanagers"], 30, 0.5,
         "Prometheus to discover Alertmanager")

    # 08:00 WITA: the new metro router loses international routes; national routes still work.
    dark = time.monotonic()
    set_global_links(world, "silent")
    first = poll(lambda: first_payload(webhook_receiver, lambda p: "UpstreamGlobalLost" in alerts_by_name(p, "firing"),
                                       dark), 60, 0.2, "the UpstreamGlobalLost notification")

    # The clock cannot be validated: Alertmanager holds ClockUnvalidated, inhibited by UpstreamGlobalLost.
    def clock_inhibited():
        for alert in alertmanager.alerts():
            if alert["labels"]["alertname"] == "ClockUnvalidated":
                assert alert["status"]["state"] == "suppressed", alert
                return alert["status"]["inhibitedBy"]
        return None
    poll(clock_inhibited, 60, 0.2, "ClockUnvalidated to reach Alertmanager, inhibited")

    # SPSE fails on its unvalidated clock: the web server in front answers 504.
    failing = time.monotonic()
    world["spse"].set("status", status=504)

    def spse_notified(payload):
        firing = alerts_by_name(payload, "firing")
        return "UpstreamGlobalLost" in firing and all(name in firing for name in SPSE_ALERTS)
    spse_arrived, spse_payload = poll(lambda: first_payload(webhook_receiver, spse_notified, failing), 90, 0.2,
                                      "a notification with UpstreamGlobalLost and the SPSE alerts")

    # 22:24 WITA: routes are back, the time sources answer, SPSE serves again.
    recovered = time.monotonic()
    set_global_links(world, "ok")
    world["spse"].set("ok")

    def resolved_times():
        times = {}
        for arrived, payload in webhook_receiver.received:
            if arrived >= recovered:
                for name in alerts_by_name(payload, "resolved"):
                    times.setdefault(name, arrived)
        return times if all(name in times for name in ("UpstreamGlobalLost", *SPSE_ALERTS)) else None
    resolved = poll(resolved_times, 90, 0.2, "resolved notifications for UpstreamGlobalLost and the SPSE alerts")

    received = webhook_receiver.received
    site_payloads = [p for _, p in received if p["groupLabels"].get("site") == SITE]
    # One notification group for the site's pages, and nothing else for this site but warnings.
    critical_keys = {p["groupKey"] for p in site_payloads if p["receiver"] == "ops-critical"}
    assert len(critical_keys) == 1, critical_keys
    assert all(p["receiver"] in ("ops-critical", "ops-warning") for p in site_payloads)
    # Root cause first: the SPSE alerts carry the cause; the consequences never page on their own.
    for name in SPSE_ALERTS:
        assert alerts_by_name(spse_payload, "firing")[name]["annotations"]["cause"] == "global_lost clock_unvalidated"
    for _, payload in received:
        firing = alerts_by_name(payload, "firing")
        assert "ClockUnvalidated" not in firing and "UpstreamDegraded" not in firing, payload

    # Every rule evaluated cleanly on real data (no template or vector-matching errors).
    rules = [rule for group in prometheus.get_json("/api/v1/rules")["data"]["groups"] for rule in group["rules"]]
    assert rules and all(rule["health"] == "ok" for rule in rules), [r for r in rules if r["health"] != "ok"]
    assert "error expanding template" not in json.dumps([payload for _, payload in received])

    # The Telegram text for that notification reads the cause in both languages.
    data = tmp_path / "notification.json"
    data.write_text(json.dumps(spse_payload))
    message = subprocess.run(
        ["amtool", "template", "render", f"--template.glob={STACK_DIR / 'templates' / '*.tmpl'}",
         '--template.text={{ template "spse.message" . }}', f"--template.data={data}"],
        capture_output=True, text=True, check=True, timeout=30).stdout
    assert ("Kemungkinan penyebab: <b>konektivitas global (internasional) terputus → server SPSE tidak dapat "
            "memvalidasi waktunya dengan sumber waktu (NTP)</b>\nProbable cause: <b>global (international) "
            "connectivity was lost → the SPSE server could not validate its time against its time sources "
            "(NTP)</b>") in message
    assert message.index("UpstreamGlobalLost") < message.index("SPSEGatewayTimeout")

    timeline = [
        ("global + NTP dark -> first notification (UpstreamGlobalLost)", first[0] - dark),
        ("SPSE 504 -> notification with SPSE alerts and cause", spse_arrived - failing),
        ("global + NTP dark -> notification with SPSE alerts", spse_arrived - dark),
        ("recovery -> UpstreamGlobalLost resolved", resolved["UpstreamGlobalLost"] - recovered),
        ("recovery -> SPSEDown resolved", resolved["SPSEDown"] - recovered),
        ("recovery -> SPSEGatewayTimeout resolved", resolved["SPSEGatewayTimeout"] - recovered),
    ]
    with capsys.disabled():
        print(f"\nincident replay timeline ({SPEEDUP}x compressed; production seconds = x{SPEEDUP}):")
        for what, seconds in timeline:
            print(f"  {what}: {seconds:.1f}s (production ~{seconds * SPEEDUP / 60:.1f} min)")
        print("  notifications (seconds after the fault, receiver, firing | resolved):")
        for arrived, payload in received:
            names = [", ".join(sorted(alerts_by_name(payload, status))) or "-" for status in ("firing", "resolved")]
            print(f"    +{arrived - dark:5.1f}s {payload['receiver']}: {names[0]} | {names[1]}")
        print(f"  Telegram text of the notification with the SPSE alerts:\n{message}")
