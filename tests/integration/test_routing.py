"""Warnings do not page: what the runbook and both READMEs say about who gets which alert, and when, is what the
rendered Alertmanager config does (read with the real amtool, delivered by the real Alertmanager)."""

from __future__ import annotations

import re
import subprocess
import time

import pytest
import yaml

from exporter import receivers
from tests.stack import STACK_DIR, render_alertmanager_config
from tests.support import ROOT, poll

TELEGRAM = {"TELEGRAM_BOT_TOKEN": "123:abc", "TELEGRAM_CHAT_ID": "-100"}
EMAIL_SERVER = {"SMTP_FROM": "spse@contoh.example", "SMTP_SMARTHOST": "mail.contoh.example:587"}
UNITS = {"s": ("second", "detik"), "m": ("minute", "menit"), "h": ("hour", "jam")}


def words(duration: str, language: str) -> str:
    """'10m' -> '10 minutes' / '10 menit': the shipped routes use one unit each."""
    number, unit = re.fullmatch(r"(\d+)([smh])", duration).groups()
    english, indonesian = UNITS[unit]
    return f"{number} {indonesian}" if language == "id" else f"{number} {english}{'s' if number != '1' else ''}"


def rendered(tmp_path, env: dict[str, str]):
    """The shipped site config as alertmanager-config writes it with `env`: its path and its receivers by name."""
    config, _ = receivers.render(STACK_DIR / "alertmanager.yml", env)
    path = tmp_path / "alertmanager.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path, {receiver["name"]: receiver for receiver in config["receivers"]}


def routes_to(path, receiver: str, *labels: str) -> bool:
    """Whether the real amtool routes an alert with `labels` to `receiver` (and to nothing else)."""
    result = subprocess.run(["amtool", "config", "routes", "test", f"--config.file={path}",
                             f"--verify.receivers={receiver}", *labels], capture_output=True, text=True, timeout=60)
    return result.returncode == 0


def timing(path, severity: str) -> dict[str, str]:
    """group_wait, group_interval and repeat_interval of the route for `severity`, the root's where it sets none."""
    root = yaml.safe_load(path.read_text())["route"]
    (route,) = [r for r in root["routes"] if r["matchers"] == [f'severity="{severity}"']]
    return {key: route.get(key, root[key]) for key in ("group_wait", "group_interval", "repeat_interval")}


def runbook_table() -> dict[str, list[str]]:
    """The runbook's "How alerts reach you" table: severity -> [receiver, first, then, reminder] cells."""
    section = re.search(r"^## How alerts reach you\n(.*?)(?=^## )", (ROOT / "docs/runbook.md").read_text(),
                        re.S | re.M).group(1)
    rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in section.splitlines()
            if line.startswith("| critical") or line.startswith("| warning")]
    return {row[0].split(" / ")[0]: row[1:] for row in rows}


@pytest.mark.parametrize("env", [TELEGRAM, {**TELEGRAM, "WARNING_SMTP_TO": "ops@contoh.example", **EMAIL_SERVER}],
                         ids=["warnings-through-the-pages-integrations", "warnings-by-their-own-email"])
def test_the_runbook_table_is_what_the_routing_does(tmp_path, env):
    """Each severity reaches the receiver the runbook names (amtool), with the first message, the interval and the
    reminder it states, in English and in Indonesian; NotificationsFailing, a warning, is not held for the digest."""
    path, _ = rendered(tmp_path, env)
    table = runbook_table()
    assert set(table) == {"critical", "warning"}, table
    for severity, (receiver, first, then, reminder) in table.items():
        name = receiver.strip("`")
        assert routes_to(path, name, "alertname=SomeAlert", f"severity={severity}", "site=kutaibarat"), severity
        other = {"ops-critical": "ops-warning", "ops-warning": "ops-critical"}[name]
        assert not routes_to(path, other, "alertname=SomeAlert", f"severity={severity}", "site=kutaibarat")
        wait, interval, repeat = timing(path, severity).values()
        assert first == f"after {words(wait, 'en')} / setelah {words(wait, 'id')}", (severity, first)
        assert then == f"every {words(interval, 'en')} / setiap {words(interval, 'id')}", (severity, then)
        assert reminder == f"every {words(repeat, 'en')} / setiap {words(repeat, 'id')}", (severity, reminder)
    assert timing(path, "warning")["group_wait"] == "10m", "the runbook promises a digest, not a page"
    assert routes_to(path, "ops-warning", "alertname=NotificationsFailing", "severity=warning", "integration=email")
    root = yaml.safe_load(path.read_text())["route"]
    (failing,) = [r for r in root["routes"] if r["matchers"] == ['alertname="NotificationsFailing"']]
    assert not {"group_wait", "group_interval", "repeat_interval"} & set(failing) and root["group_wait"] == "30s"


def normalised(path: str) -> str:
    return re.sub(r"\s+", " ", (ROOT / path).read_text())


def test_both_readmes_state_the_routings_figures(tmp_path):
    """README.md and README.id.md give the same first message, interval and reminder per severity as the config."""
    path, _ = rendered(tmp_path, TELEGRAM)
    critical, warning = timing(path, "critical"), timing(path, "warning")
    english, indonesian = normalised("README.md"), normalised("README.id.md")
    hour = {"1 hour": "hour"}
    for phrase in (f"the first message {words(critical['group_wait'], 'en')} after the alert starts",
                   f"an update at most every {words(critical['group_interval'], 'en')}",
                   f"a reminder every {hour.get(words(critical['repeat_interval'], 'en'))}",
                   f"the first message {words(warning['group_wait'], 'en')} after a warning starts",
                   f"at most one message per site every {words(warning['group_interval'], 'en')}",
                   f"a reminder every {words(warning['repeat_interval'], 'en')} while it stands"):
        assert phrase in english, phrase
    for phrase in (f"pesan pertama {words(critical['group_wait'], 'id')} setelah alert mulai",
                   f"pembaruan paling sering setiap {words(critical['group_interval'], 'id')}",
                   f"pengingat setiap {words(critical['repeat_interval'], 'id')}",
                   f"pesan pertama {words(warning['group_wait'], 'id')} setelah peringatan mulai",
                   f"paling sering satu pesan per situs setiap {words(warning['group_interval'], 'id')}",
                   f"pengingat setiap {words(warning['repeat_interval'], 'id')} selama peringatan masih berlaku"):
        assert phrase in indonesian, phrase
    for text in (english, indonesian, normalised("docs/runbook.md"), normalised(".env.example")):
        assert all(name in text for name in ("WARNING_TELEGRAM_CHAT_ID", "WARNING_SMTP_TO", "WARNING_WEBHOOK_URL"))


def test_warnings_use_the_pages_integrations_silently_unless_they_have_their_own(tmp_path):
    """No WARNING_*: ops-warning has ops-critical's integrations, its Telegram without a sound, ops-critical's with
    one. WARNING_SMTP_TO: ops-warning e-mails that address only (same SMTP server), and the pages stay on Telegram."""
    _, shared = rendered(tmp_path, {**TELEGRAM, "WEBHOOK_URL": "http://127.0.0.1:9/hook"})
    assert set(shared["ops-warning"]) == set(shared["ops-critical"]) == {"name", "telegram_configs", "webhook_configs"}
    assert [t.get("disable_notifications") for t in shared["ops-warning"]["telegram_configs"]] == [True]
    assert [t.get("disable_notifications") for t in shared["ops-critical"]["telegram_configs"]] == [None]
    assert [t.get("disable_notifications") for t in shared["notify-test"]["telegram_configs"]] == [None]

    _, separate = rendered(tmp_path, {**TELEGRAM, **EMAIL_SERVER, "WARNING_SMTP_TO": "ops@contoh.example"})
    assert set(separate["ops-critical"]) == {"name", "telegram_configs"}
    assert set(separate["ops-warning"]) == {"name", "email_configs"}
    [email] = separate["ops-warning"]["email_configs"]
    assert (email["to"], email["smarthost"]) == ("ops@contoh.example", "mail.contoh.example:587")

    _, chat = rendered(tmp_path, {**TELEGRAM, "WARNING_TELEGRAM_CHAT_ID": "-200"})
    assert [(t["chat_id"], t["bot_token"], t["disable_notifications"]) for t in chat["ops-warning"]["telegram_configs"]] \
        == [(-200, "123:abc", True)]
    with pytest.raises(receivers.ReceiverError, match="WARNING_TELEGRAM_CHAT_ID: 'ops' is not a number"):
        rendered(tmp_path, {**TELEGRAM, "WARNING_TELEGRAM_CHAT_ID": "ops"})
    with pytest.raises(receivers.ReceiverError, match="set TELEGRAM_BOT_TOKEN too"):
        rendered(tmp_path, {"WARNING_TELEGRAM_CHAT_ID": "-200"})

    # A warnings' path alone pages nobody: under NotificationsNotConfigured's 2 (alertmanager_integrations counts
    # every receiver's entries), so that alert still fires.
    _, alone = rendered(tmp_path, {"WARNING_WEBHOOK_URL": "http://127.0.0.1:9/hook"})
    assert sum(len(entries) for receiver in alone.values() for key, entries in receiver.items()
               if key.endswith("_configs")) == 1


def test_on_the_real_alertmanager_a_page_goes_out_at_once_and_a_warning_waits_for_the_digest(
        tmp_path, start_alertmanager, webhook_receiver):
    """The shipped routing 60 times faster (the warnings' 10 minutes: 10 s): a critical alert and a warning of one
    site posted together; the page comes first and alone, the warning no sooner than its digest, to ops-warning."""
    factor = 60
    alertmanager = start_alertmanager(render_alertmanager_config(tmp_path, webhook_receiver.url, factor))
    posted = time.monotonic()
    alertmanager.post_alerts([{"site": "kutaibarat", "severity": "critical", "alertname": "SPSEDown"},
                              {"site": "kutaibarat", "severity": "warning", "alertname": "SPSEDataStale"}])

    def arrivals(receiver):
        return [(arrived, payload) for arrived, payload in webhook_receiver.received if payload["receiver"] == receiver]

    (page_at, page), *_ = poll(lambda: arrivals("ops-critical"), 60, 0.2, "the page")
    (digest_at, digest), *_ = poll(lambda: arrivals("ops-warning"), 90, 0.2, "the warnings' digest")
    assert [a["labels"]["alertname"] for a in page["alerts"]] == ["SPSEDown"]
    assert [a["labels"]["alertname"] for a in digest["alerts"]] == ["SPSEDataStale"]
    assert page_at < digest_at
    # A lower bound only (load can delay, never hasten): the digest waited its group_wait.
    assert digest_at - posted >= 0.9 * 600 / factor, digest_at - posted
