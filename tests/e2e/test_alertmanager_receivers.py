"""Naming the receiver behind a failing integration: Debian's Alertmanager 0.25 labels its notification counters by
integration type only, so the exporter serves which receivers use each type (spse_alertmanager_receiver_info, read
from Alertmanager's running config) and NotificationsFailing names them, on the real Prometheus and Alertmanager."""

from __future__ import annotations

import subprocess

import pytest
import yaml

from exporter.receivers import integration_receivers
from tests.fakes import free_port
from tests.stack import STACK_DIR, compress_rules, render_alertmanager_config, render_prometheus_config
from tests.support import http_get, parse_metrics, poll

NOTIFICATION_COUNTERS = ("alertmanager_notifications_total", "alertmanager_notification_requests_total",
                         "alertmanager_notification_requests_failed_total")


def failing_counters(alertmanager) -> dict[str, list[dict]]:
    """The label sets of Alertmanager's notification counters, per counter, for samples above 0."""
    samples = parse_metrics(http_get(f"{alertmanager.url}/metrics")[1].decode())
    return {name: [dict(labels) for labels, value in samples.series(name).items() if value > 0]
            for name in NOTIFICATION_COUNTERS}


def assert_lints(exporter) -> None:
    lint = subprocess.run(["promtool", "check", "metrics"], input=http_get(f"{exporter.url}/metrics")[1],
                          capture_output=True, timeout=30)
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_alertmanager_0_25_counts_failures_per_integration_type_not_per_receiver(tmp_path, start_alertmanager):
    """The limit, checked on the real binary: two receivers with a webhook each, both failing, give one series
    labelled only integration="webhook". A newer Alertmanager with a receiver label would fail this test, and the
    alert could then read the receiver directly."""
    closed = f"http://127.0.0.1:{free_port()}/"
    config = tmp_path / "alertmanager.yml"
    config.write_text(yaml.safe_dump({
        "route": {"receiver": "first", "group_wait": "0s",
                  "routes": [{"receiver": "second", "matchers": ['team="second"']}]},
        "receivers": [{"name": "first", "webhook_configs": [{"url": closed + "first"}]},
                      {"name": "second", "webhook_configs": [{"url": closed + "second"}]}]}))
    alertmanager = start_alertmanager(config)
    alertmanager.post_alerts([{"alertname": "A"}, {"alertname": "B", "team": "second"}])

    poll(lambda: all(failing_counters(alertmanager).values()), 30, 0.2, "failed webhook notifications counted")

    for name, label_sets in failing_counters(alertmanager).items():
        assert label_sets == [{"integration": "webhook"}], (name, label_sets)
    assert integration_receivers(yaml.safe_load(config.read_text())) == {"webhook": ["first", "second"]}


@pytest.mark.timeout(150)
def test_notifications_failing_names_the_receivers_of_the_failing_integration(
        tmp_path, start_alertmanager, start_prometheus, start_exporter, tcp_listener):
    """The shipped stack, rules 15 times faster: WEBHOOK_URL points at a closed port, a dead man's switch has a
    webhook too. The exporter reads the running Alertmanager's receivers; NotificationsFailing for the webhook
    names every receiver with a webhook ("one of"), since the counters cannot tell them apart."""
    closed = f"http://127.0.0.1:{free_port()}/"
    alertmanager = start_alertmanager(render_alertmanager_config(tmp_path, closed + "ops", factor=15,
                                                                 env={"WATCHDOG_URL": closed + "ping"}))
    exporter = start_exporter({"interval": "5s", "timeout": "1s",
                               "targets": [{"name": "t", "url": f"http://127.0.0.1:{tcp_listener.port}/"}]},
                              [f"--alertmanager.url={alertmanager.url}"])
    served = [dict(labels) for labels in exporter.scrape().series("spse_alertmanager_receiver_info")]
    assert sorted(labels["receiver"] for labels in served if labels["integration"] == "webhook") == [
        "notify-test", "ops-critical", "ops-warning", "watchdog"], served
    assert_lints(exporter)
    prometheus = start_prometheus(render_prometheus_config(
        tmp_path, exporter=exporter.address, alertmanager=alertmanager.address,
        rules_dir=compress_rules(tmp_path / "rules", 15), scrape_interval="1s", evaluation_interval="1s"),
        ["--rules.alert.resend-delay=1s"])

    alertmanager.post_alerts([{"alertname": "SPSEDown", "severity": "critical", "site": "s"}])

    [alert] = poll(lambda: [a for a in prometheus.get_json("/api/v1/alerts")["data"]["alerts"]
                            if a["labels"]["alertname"] == "NotificationsFailing" and a["state"] == "firing"],
                   90, 0.5, "NotificationsFailing firing for the webhook")
    assert alert["labels"]["integration"] == "webhook", alert
    summary = alert["annotations"]["summary"]
    assert summary == ("This site's Alertmanager cannot deliver via webhook (one of: notify-test, ops-critical, "
                       "ops-warning, watchdog) / Alertmanager situs ini gagal mengirim lewat webhook (salah satu "
                       "dari: notify-test, ops-critical, ops-warning, watchdog)"), summary


def test_integration_receivers_reads_a_hand_written_receiver_alone():
    """The watcher's ops-fallback with its own e-mail relay: the only e-mail receiver, so it is named alone."""
    config = yaml.safe_load((STACK_DIR / "watcher/alertmanager.yml").read_text())
    [fallback] = [r for r in config["receivers"] if r["name"] == "ops-fallback"]
    fallback["email_configs"] = [{"to": "oncall@contoh.example"}]
    config["receivers"][0]["telegram_configs"] = [{"chat_id": 1}]
    assert integration_receivers(config) == {"email": ["ops-fallback"], "telegram": ["ops-critical"]}


def test_compose_points_the_exporter_at_its_alertmanager(tmp_path):
    from tests.e2e.test_notify import compose_services
    services = compose_services(tmp_path)
    assert services["exporter"]["environment"]["SPSE_ALERTMANAGER_URL"] == "http://alertmanager:9093"
    assert "http://127.0.0.1:9093/-/ready" in services["alertmanager"]["healthcheck"]["test"]  # where it listens


def test_an_unreachable_alertmanager_costs_the_series_not_the_scrape(start_exporter, tcp_listener):
    exporter = start_exporter({"interval": "5s", "timeout": "1s",
                               "targets": [{"name": "t", "url": f"http://127.0.0.1:{tcp_listener.port}/"}]},
                              [f"--alertmanager.url=http://127.0.0.1:{free_port()}"])
    samples = exporter.scrape()
    assert not samples.series("spse_alertmanager_receiver_info")
    assert samples.get_value("spse_config_last_reload_successful") == 1
    assert_lints(exporter)
    poll(lambda: "cannot read the receivers of Alertmanager at http://127.0.0.1:" in exporter.log_path.read_text(),
         10, 0.1, "the warning in the exporter's log")
