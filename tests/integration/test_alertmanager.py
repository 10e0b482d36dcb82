"""The shipped Alertmanager config: valid, routes by severity, inhibits along the chain (checked on
the real Alertmanager), and its notification template reads every cause in both languages."""

from __future__ import annotations

import json
import re
import subprocess

import pytest
import yaml

from tests.fakes import free_port
from tests.stack import (STACK_DIR, WebhookReceiver, compress_rules, render_alertmanager_config,
                         render_prometheus_config)
from tests.support import poll

CONFIG = STACK_DIR / "alertmanager.yml"
WATCHER_CONFIG = STACK_DIR / "watcher" / "alertmanager.yml"
TEMPLATES = STACK_DIR / "templates" / "*.tmpl"


def amtool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["amtool", *args], capture_output=True, text=True, timeout=60)


def render(text: str, data=None, tmp_path=None) -> str:
    args = ["template", "render", f"--template.glob={TEMPLATES}", f"--template.text={text}"]
    if data is not None:
        path = tmp_path / "data.json"
        path.write_text(json.dumps(data))
        args.append(f"--template.data={path}")
    result = amtool(*args)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_amtool_checks_the_shipped_config():
    result = amtool("check-config", str(CONFIG))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 templates" in result.stdout


@pytest.mark.parametrize("labels, receiver", [
    (["alertname=SPSEDown", "severity=critical", "site=kutaibarat"], "ops-critical"),
    (["alertname=UpstreamGlobalLost", "severity=critical", "site=kutaibarat"], "ops-critical"),
    (["alertname=SPSEServerErrors", "severity=warning", "site=kutaibarat"], "ops-warning"),
    (["alertname=Watchdog", "severity=none"], "watchdog"),
    (["alertname=SomethingElse", "site=kutaibarat"], "ops-warning"),
])
def test_routes_by_severity(labels, receiver):
    result = amtool("config", "routes", "test", f"--config.file={CONFIG}", f"--verify.receivers={receiver}", *labels)
    assert result.returncode == 0, result.stdout + result.stderr


def test_inhibition_follows_the_chain_per_site(tmp_path, start_alertmanager, webhook_receiver):
    alertmanager = start_alertmanager(render_alertmanager_config(tmp_path, webhook_receiver.url))
    a = {"site": "a", "severity": "critical"}
    alertmanager.post_alerts([
        {**a, "alertname": "UpstreamGlobalLost", "group": "global"},
        {**a, "alertname": "ClockUnvalidated", "explained_by": "global"},
        {**a, "alertname": "UpstreamDegraded", "group": "global", "severity": "warning"},
        {**a, "alertname": "UpstreamDegraded", "group": "national", "severity": "warning"},
        {**a, "alertname": "SPSEDown", "target": "t"},
        {**a, "alertname": "SPSEServerErrors", "target": "t", "severity": "warning"},
        {**a, "alertname": "SPSEServerErrors", "target": "u", "severity": "warning"},
        {**a, "alertname": "SPSETLSCertExpiringSoon", "target": "t"},
        {**a, "alertname": "SPSETLSCertExpiringSoon", "target": "t", "severity": "warning"},
        {"site": "b", "severity": "critical", "alertname": "ClockUnvalidated", "explained_by": "global"},
        {"site": "c", "severity": "critical", "alertname": "UpstreamGatewayLost", "group": "gateway"},
        {"site": "c", "severity": "critical", "alertname": "UpstreamNationalLost", "group": "national"},
        {"site": "c", "severity": "warning", "alertname": "ClockOffsetHigh"},
    ])

    expected = {
        ("a", "UpstreamGlobalLost", "global", "critical"): "active",
        ("a", "ClockUnvalidated", "", "critical"): "suppressed",        # explained by the global loss
        ("a", "UpstreamDegraded", "global", "warning"): "suppressed",   # the whole group is lost
        ("a", "UpstreamDegraded", "national", "warning"): "active",
        ("a", "SPSEDown", "t", "critical"): "active",                   # the impact always pages
        ("a", "SPSEServerErrors", "t", "warning"): "suppressed",
        ("a", "SPSEServerErrors", "u", "warning"): "active",            # another target
        ("a", "SPSETLSCertExpiringSoon", "t", "critical"): "active",
        ("a", "SPSETLSCertExpiringSoon", "t", "warning"): "suppressed",
        ("b", "ClockUnvalidated", "", "critical"): "active",            # another site
        ("c", "UpstreamGatewayLost", "gateway", "critical"): "active",
        ("c", "UpstreamNationalLost", "national", "critical"): "suppressed",
        ("c", "ClockOffsetHigh", "", "warning"): "active",              # needs an answering source
    }

    # Inhibition settles once Alertmanager's inhibitor has seen the source alerts: poll until it has.
    def states():
        got = {(a["labels"]["site"], a["labels"]["alertname"], a["labels"].get("group", a["labels"].get("target", "")),
                a["labels"]["severity"]): a["status"]["state"] for a in alertmanager.alerts()}
        assert got == expected
        return got
    poll(states, 20, 0.2, "the posted alerts in their expected states")


CLOCK_CASES = {
    # site: (lost link, ClockUnvalidated's explained_by, expected state of ClockUnvalidated)
    "global-sources-global-lost": ("UpstreamGlobalLost", "global", "suppressed"),  # 4 April 2023
    "national-sources-global-lost": ("UpstreamGlobalLost", "national", "active"),
    "global-sources-national-lost": ("UpstreamNationalLost", "global", "active"),
    "national-sources-national-lost": ("UpstreamNationalLost", "national", "suppressed"),
    "mixed-sources-global-lost": ("UpstreamGlobalLost", "national_global", "active"),
    "unstated-sources-global-lost": ("UpstreamGlobalLost", "none", "active"),
    "mixed-sources-gateway-lost": ("UpstreamGatewayLost", "national_global", "suppressed"),
    "unstated-sources-gateway-lost": ("UpstreamGatewayLost", "none", "active"),  # e.g. a time source on the LAN
}


def test_a_lost_link_silences_clock_alerts_only_when_it_explains_them(tmp_path, start_alertmanager, webhook_receiver):
    """On the real Alertmanager: ClockUnvalidated is inhibited only by the link that carries SPSE's own
    sources; ClockOffsetHigh (a source answers) is never inhibited by any lost link."""
    alertmanager = start_alertmanager(render_alertmanager_config(tmp_path, webhook_receiver.url))
    posted = []
    for site, (lost, explained_by, _) in CLOCK_CASES.items():
        group = {"UpstreamGatewayLost": "gateway", "UpstreamNationalLost": "national"}.get(lost, "global")
        posted += [{"site": site, "severity": "critical", "alertname": lost, "group": group},
                   {"site": site, "severity": "critical", "alertname": "ClockUnvalidated", "explained_by": explained_by},
                   {"site": site, "severity": "warning", "alertname": "ClockOffsetHigh"}]
    alertmanager.post_alerts(posted)

    expected = {}
    for site, (lost, _, state) in CLOCK_CASES.items():
        expected |= {(site, "ClockUnvalidated"): state, (site, "ClockOffsetHigh"): "active", (site, lost): "active"}

    # Inhibition settles once Alertmanager's inhibitor has seen the source alerts: poll until it has.
    def states():
        got = {(a["labels"]["site"], a["labels"]["alertname"]): a["status"]["state"] for a in alertmanager.alerts()}
        assert got == expected
        return got
    poll(states, 20, 0.2, "the posted alerts in their expected states")


def severities() -> dict[str, set[str]]:
    """Every site alert's severities (prometheus/rules/alerts.yml)."""
    found: dict[str, set[str]] = {}
    for group in yaml.safe_load((STACK_DIR / "rules" / "alerts.yml").read_text())["groups"]:
        for rule in group["rules"]:
            found.setdefault(rule["alert"], set()).add(rule["labels"]["severity"])
    return found


def can_be_critical(matchers: list[str]) -> bool:
    """Whether a critical site alert can match these matchers: only those the watcher forwards."""
    labels = {name: (op, value) for name, op, value in (re.fullmatch(r'(\w+)(=~|=)"(.*)"', m).groups() for m in matchers)}
    op, value = labels["alertname"]
    names = [name for name, levels in severities().items() if "critical" in levels
             and (re.fullmatch(value, name) if op == "=~" else name == value)]
    return bool(names) and labels.get("severity", ("=", "critical")) == ("=", "critical")


def forwarded(rule: dict) -> dict:
    """A site inhibit rule as the watcher applies it to the site's forwarded alerts."""
    def mirror(matchers):
        return ['alertname="SiteAlertForwarded"', *(re.sub(r"^alertname\b", "site_alertname", m) for m in matchers)]
    return {"source_matchers": mirror(rule["source_matchers"]), "target_matchers": mirror(rule["target_matchers"]),
            "equal": rule["equal"]}


def test_the_watcher_silences_forwarded_alerts_as_the_site_would():
    """Every site inhibition between critical alerts, hence between alerts the watcher forwards, is the watcher's too."""
    site = yaml.safe_load(CONFIG.read_text())["inhibit_rules"]
    watcher = [rule for rule in yaml.safe_load(WATCHER_CONFIG.read_text())["inhibit_rules"]
               if 'alertname="SiteAlertForwarded"' in rule["source_matchers"]]
    wanted = [forwarded(rule) for rule in site
              if can_be_critical(rule["source_matchers"]) and can_be_critical(rule["target_matchers"])]
    assert len(wanted) == 4 and watcher == wanted


def test_forwarded_alerts_follow_the_chain_on_the_real_alertmanager(tmp_path, start_alertmanager, webhook_receiver):
    """4 April 2023 forwarded by the watcher: UpstreamGlobalLost and SPSEDown page, ClockUnvalidated (SPSE's sources
    go out through global) is explained and silenced, as at the site; not at a site whose sources are national."""
    alertmanager = start_alertmanager(render_alertmanager_config(tmp_path, webhook_receiver.url, source=WATCHER_CONFIG))
    forwarded_alert = {"alertname": "SiteAlertForwarded", "severity": "critical"}
    alertmanager.post_alerts([
        {**forwarded_alert, "site": "a", "site_alertname": "UpstreamGlobalLost", "group": "global"},
        {**forwarded_alert, "site": "a", "site_alertname": "ClockUnvalidated", "explained_by": "global"},
        {**forwarded_alert, "site": "a", "site_alertname": "SPSEDown", "target": "t"},
        {**forwarded_alert, "site": "b", "site_alertname": "UpstreamGlobalLost", "group": "global"},
        {**forwarded_alert, "site": "b", "site_alertname": "ClockUnvalidated", "explained_by": "national"},
        {**forwarded_alert, "site": "c", "site_alertname": "ClockUnvalidated", "explained_by": "global"},
    ])
    expected = {("a", "UpstreamGlobalLost"): "active", ("a", "ClockUnvalidated"): "suppressed", ("a", "SPSEDown"): "active",
                ("b", "UpstreamGlobalLost"): "active", ("b", "ClockUnvalidated"): "active",  # not explained by global
                ("c", "ClockUnvalidated"): "active"}                                         # no lost link forwarded

    def states():
        got = {(a["labels"]["site"], a["labels"]["site_alertname"]): a["status"]["state"] for a in alertmanager.alerts()}
        assert got == expected
        return got
    poll(states, 20, 0.2, "the forwarded alerts in their expected states")


def test_the_watchers_failing_delivery_also_goes_out_by_the_other_receiver(tmp_path, start_alertmanager,
                                                                            webhook_receiver):
    """WatcherNotificationsFailing about ops-fallback's own integration (its e-mail relay is down) must not go only to
    ops-fallback: on the real Alertmanager (the watcher's routing) it reaches ops-critical as well as ops-fallback."""
    fallback = WebhookReceiver()
    try:
        path = render_alertmanager_config(tmp_path, webhook_receiver.url, 15, source=WATCHER_CONFIG)
        config = yaml.safe_load(path.read_text())
        next(r for r in config["receivers"] if r["name"] == "ops-fallback")["webhook_configs"] = [{"url": fallback.url}]
        path.write_text(yaml.safe_dump(config))
        alertmanager = start_alertmanager(path)
        alertmanager.post_alerts([{"alertname": "WatcherNotificationsFailing", "integration": "email", "severity": "critical"}])
        for receiver, name in ((fallback, "ops-fallback"), (webhook_receiver, "ops-critical")):
            poll(lambda: [payload for _, payload in receiver.received if payload["receiver"] == name
                          and payload["alerts"][0]["labels"]["alertname"] == "WatcherNotificationsFailing"],
                 30, 0.2, f"WatcherNotificationsFailing at {name}")
    finally:
        fallback.close()


def test_a_failing_integration_is_reported_through_the_one_that_works(tmp_path, start_alertmanager, start_prometheus,
                                                                        webhook_receiver):
    """The site's receivers with Telegram behind a closed loopback port (abroad, routes lost) and WEBHOOK_URL working
    (national): the real Prometheus, on the shipped rules 15x faster, sees the real Alertmanager fail via telegram, and
    NotificationsFailing about telegram reaches the on-call through the webhook, uninhibited by the 4 April chain."""
    closed = f"http://127.0.0.1:{free_port()}"
    alertmanager = start_alertmanager(render_alertmanager_config(
        tmp_path, webhook_receiver.url, 15,
        env={"TELEGRAM_BOT_TOKEN": "123:abc", "TELEGRAM_CHAT_ID": "-100", "TELEGRAM_API_URL": closed}))
    # Prometheus scrapes the Alertmanager it sends to, as the shipped prometheus.yml does; no exporter needed.
    config = render_prometheus_config(tmp_path, exporter=None, alertmanager=alertmanager.address,
                                      rules_dir=compress_rules(tmp_path / "rules", 15),
                                      scrape_interval="1s", evaluation_interval="1s")
    start_prometheus(config, ["--rules.alert.resend-delay=1s"])
    site = {"site": "kutaibarat", "severity": "critical"}
    alertmanager.post_alerts([{**site, "alertname": "UpstreamGlobalLost", "group": "global"},
                              {**site, "alertname": "SPSEDown", "target": "kutaibarat"}])

    def failing_alerts():
        return [alert for _, payload in webhook_receiver.received for alert in payload["alerts"]
                if alert["labels"]["alertname"] == "NotificationsFailing"]

    first, *_ = poll(failing_alerts, 60, 0.2, "NotificationsFailing at the working webhook")
    assert first["labels"]["integration"] == "telegram" and first["labels"]["severity"] == "warning", first
    assert "cannot deliver via telegram" in first["annotations"]["summary"]
    assert {alert["labels"]["integration"] for alert in failing_alerts()} == {"telegram"}  # the webhook delivers
    assert {payload["receiver"] for _, payload in webhook_receiver.received
            if payload["commonLabels"].get("alertname") == "NotificationsFailing"} == {"ops-warning"}
    (state,) = {alert["status"]["state"] for alert in alertmanager.alerts(filter='alertname="NotificationsFailing"')}
    assert state == "active"
    pages = {alert["labels"]["alertname"] for _, payload in webhook_receiver.received for alert in payload["alerts"]}
    assert {"UpstreamGlobalLost", "SPSEDown"} <= pages


def test_template_names_every_cause_in_both_languages():
    """Every link the recording rules can name, alone or chained, has Indonesian and English words
    (spse-words.tmpl, written from exporter/formatting.py; tests/integration/test_formatting.py compares them word for word)."""
    recording = (STACK_DIR / "rules" / "recording.yml").read_text()
    links = re.findall(r'"link", "(\w+)"', recording)
    assert links == ["gateway_lost", "national_lost", "global_lost", "clock_unvalidated"]
    for cause in [*links, "none", "global_lost clock_unvalidated"]:
        for lang, unknown in (("id", "tidak diketahui"), ("en", "unknown")):
            text = render(f'{{{{ template "spse.cause.{lang}" "{cause}" }}}}').strip()
            assert text and unknown not in text and "_" not in text, (cause, text)
    assert render('{{ template "spse.cause.id" "global_lost clock_unvalidated" }}').strip() == (
        "konektivitas global (internasional) terputus → server SPSE tidak dapat memvalidasi waktunya dengan sumber "
        "waktu (NTP)")


def test_message_puts_the_cause_and_the_upstream_alert_first(tmp_path):
    def alert(name, status="firing", **labels):
        return {"status": status, "labels": {"alertname": name, "site": "kutaibarat", "severity": "critical", **labels},
                "annotations": {"summary": f"{name} <summary> & co", "description": "d", "runbook_url": f"r#{name}",
                                **({"cause": "gateway_lost"} if name.startswith("SPSE") else {})},
                "startsAt": "2023-04-04T00:00:00Z", "endsAt": "0001-01-01T00:00:00Z"}
    alerts = [alert("SPSEDown", target="t"), alert("ClockUnvalidated"), alert("UpstreamGatewayLost", group="gateway"),
              alert("SPSEGatewayTimeout", status="resolved", target="t")]
    data = {"receiver": "ops-critical", "status": "firing", "groupLabels": {"site": "kutaibarat"},
            "commonLabels": {"site": "kutaibarat"}, "commonAnnotations": {}, "externalURL": "http://am", "alerts": alerts}
    message = render('{{ template "spse.message" . }}', data, tmp_path)
    assert message.startswith("<b>3 alert aktif / 3 firing: SPSE kutaibarat</b>\n"
                              "Kemungkinan penyebab: <b>gateway (router lokal) tidak dapat dihubungi</b>\n"
                              "Probable cause: <b>the gateway (local router) became unreachable</b>\n"), message
    assert "[FIRING" not in message and "(kritis / critical, t)" in message and "(kritis / critical, gateway)" in message
    assert message.index("UpstreamGatewayLost") < message.index("ClockUnvalidated") < message.index("SPSEDown")
    assert message.index("Pulih / Resolved:") < message.index("SPSEGatewayTimeout")
    assert "&lt;summary&gt; &amp; co" in message and "<summary>" not in message  # safe for Telegram's HTML mode


def test_each_alert_reads_in_indonesian_first(tmp_path):
    """The rules write "English / Indonesian"; the message shows the Indonesian half first. A text with two
    separators is shown as written (positive control: the swap is not applied blindly)."""
    alert = {"status": "firing", "labels": {"alertname": "SPSEDown", "site": "s", "severity": "critical"},
             "annotations": {"summary": "SPSE is down / SPSE tidak dapat diakses & <x>",
                             "description": "A / B / C", "runbook_url": "r#spsedown"}}
    data = {"status": "firing", "groupLabels": {"site": "s"}, "commonLabels": {"site": "s"}, "alerts": [alert]}
    message = render('{{ template "spse.message" . }}', data, tmp_path)
    assert "SPSE tidak dapat diakses &amp; &lt;x&gt; / SPSE is down\n" in message, message
    assert "A / B / C" in message


def test_a_group_without_a_site_is_titled_by_its_alert(tmp_path):
    """NotificationsFailing is about the site's Alertmanager, which has no site label: not "SPSE " and nothing."""
    data = {"status": "firing", "groupLabels": {}, "commonLabels": {"alertname": "NotificationsFailing"},
            "alerts": [{"status": "firing", "labels": {"alertname": "NotificationsFailing"}}]}
    assert render('{{ template "spse.title" . }}', data, tmp_path).strip() == "1 alert aktif / 1 firing: NotificationsFailing"
