"""Receivers from .env and `spse-exporter notify-test`, end to end: the README's steps on the shipped files,
the real Alertmanager, and a local stand-in for Telegram's Bot API on loopback."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
import yaml

from exporter import receivers
from tests.fakes import free_port
from tests.stack import STACK_DIR, compress_rules, render_alertmanager_config, render_prometheus_config
from tests.support import ROOT, http_get, parse_metrics, poll
from tests.unit.test_compose import PASSWORD, compose_config, env_example

TOKEN = "123456:test-token"
CHAT_ID = "-1001234567890"


class FakeTelegram:
    """Answers the Bot API's sendMessage as Telegram does and records each message."""

    def __init__(self):
        self.messages: list[dict] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.path == f"/bot{TOKEN}/sendMessage":
                    fake.messages.append(json.loads(body))
                    reply = {"ok": True, "result": {"message_id": len(fake.messages), "date": 0,
                                                    "chat": {"id": int(CHAT_ID), "type": "supergroup"}}}
                else:
                    reply = {"ok": False, "error_code": 404, "description": "Not Found"}
                data = json.dumps(reply).encode()
                self.send_response(200 if reply["ok"] else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def telegram():
    fake = FakeTelegram()
    yield fake
    fake.close()


def compose_services(tmp_path, **settings) -> dict[str, dict]:
    """README: `cp .env.example .env` and fill in the receiver; the services as Debian's docker-compose
    resolves them."""
    env_file = tmp_path / ".env"
    env_file.write_text("".join(f"{key}={value}\n" for key, value in
                                {**env_example(), "GRAFANA_ADMIN_PASSWORD": PASSWORD, **settings}.items()))
    result = compose_config(env_file)
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)["services"]


def compose_receiver_env(tmp_path, **settings) -> dict[str, str]:
    """The environment docker compose gives the alertmanager-config service with these settings in .env."""
    return compose_services(tmp_path, **settings)["alertmanager-config"]["environment"]


def render_as_compose(tmp_path, env: dict[str, str],
                      template: str = str(STACK_DIR / "alertmanager.yml")) -> subprocess.CompletedProcess:
    """The alertmanager-config service's command on the shipped file (a path from the checkout, or absolute as in
    compose), with that environment only: compose's container has no .env, and a checkout's own must not count."""
    return subprocess.run([sys.executable, "-m", "exporter", "alertmanager-config", template,
                           str(tmp_path / "alertmanager.yml"), "--env-file=/dev/null"],
                          capture_output=True, text=True, env={"PATH": "/usr/bin:/bin", **env}, cwd=ROOT, timeout=30)


def notify_test(alertmanager, *flags: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "exporter", "notify-test", f"--alertmanager.url={alertmanager.url}",
                           "--timeout=20", *flags], capture_output=True, text=True, cwd=ROOT, timeout=60)


def test_readme_steps_deliver_a_test_notification_through_telegram(tmp_path, telegram, start_alertmanager):
    env = compose_receiver_env(tmp_path, TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_CHAT_ID=CHAT_ID,
                               TELEGRAM_API_URL=telegram.url)
    rendered = render_as_compose(tmp_path, env)
    assert rendered.returncode == 0, rendered.stderr
    assert "ops-critical mengirim lewat telegram" in rendered.stderr and "PERINGATAN" not in rendered.stderr
    alertmanager = start_alertmanager(tmp_path / "alertmanager.yml")

    result = notify_test(alertmanager)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "notify-test: TERKIRIM" in result.stdout and "telegram: terkirim" in result.stdout, result.stdout
    [message] = telegram.messages
    assert message["chat_id"] == CHAT_ID and message["parse_mode"] == "HTML"
    assert message["text"].startswith("<b>UJI NOTIFIKASI / NOTIFICATION TEST: spse-exporter</b>"), message["text"]
    assert "UJI: notifikasi uji dari spse-exporter, bukan gangguan" in message["text"], message["text"]


def render_template(tmp_path, data: dict, text: str) -> str:
    """`text` rendered by amtool with the shipped templates on `data`, a notification's webhook payload (the same
    fields as the templates' data)."""
    path = tmp_path / "data.json"
    path.write_text(json.dumps(data))
    result = subprocess.run(["amtool", "template", "render", f"--template.glob={STACK_DIR}/templates/*.tmpl",
                             f"--template.text={text}", f"--template.data={path}"],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def post_alerts(alertmanager, alerts: list[dict]) -> None:
    """Post whole alerts (labels, annotations, endsAt) as Prometheus does."""
    httpx.post(f"{alertmanager.url}/api/v2/alerts", json=alerts, timeout=10).raise_for_status()


def alert_payloads(webhook, alertname: str) -> list[dict]:
    """The webhook payloads (status, receiver, alerts) about `alertname`, in arrival order."""
    return [payload for _, payload in webhook.received
            if any(alert["labels"]["alertname"] == alertname for alert in payload["alerts"])]


@pytest.mark.timeout(180)
def test_the_test_message_says_so_links_the_runbook_and_is_never_followed_by_a_resolution(
        tmp_path, telegram, webhook_receiver, start_alertmanager, start_exporter, tcp_listener):
    """The shipped routing 60 times faster (group_interval 5m -> 5s), Telegram and a webhook as receivers. The test
    says it is a test (Indonesian first, no FIRING), its runbook link opens the real exporter's NotificationTest
    section, and after notify-test has ended its alert no "resolved" message comes. Positive control: an ordinary
    alert resolved after the test is resolved, through the same integrations with send_resolved, does come."""
    exporter = start_exporter({"interval": "5s", "timeout": "1s",
                               "targets": [{"name": "t", "url": f"http://127.0.0.1:{tcp_listener.port}/"}]})
    alertmanager = start_alertmanager(render_alertmanager_config(
        tmp_path, webhook_receiver.url, factor=60,
        env={"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_CHAT_ID": CHAT_ID, "TELEGRAM_API_URL": telegram.url}))
    # What Prometheus sends all the time: Watchdog, whose link carries prometheus.yml's runbook_base.
    post_alerts(alertmanager, [{"labels": {"alertname": "Watchdog", "severity": "none"},
                                "annotations": {"runbook_url": f"{exporter.url}/runbook#watchdog"}}])

    result = notify_test(alertmanager)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "telegram: terkirim" in result.stdout and "webhook: terkirim" in result.stdout, result.stdout
    [message] = telegram.messages
    text = message["text"]
    assert text.startswith("<b>UJI NOTIFIKASI / NOTIFICATION TEST: spse-exporter</b>"), text
    assert "[FIRING" not in text and "[RESOLVED" not in text, text
    assert text.index("UJI: notifikasi uji") < text.index("TEST: a test notification"), text
    assert "tidak akan ada pesan pemulihan" in text and "no RESOLVED message follows" in text, text
    [link] = re.findall(r"^Panduan penanganan / Runbook: (\S+)$", text, re.M)
    assert link == f"{exporter.url}/runbook#notificationtest", text
    status, page, _ = http_get(link.partition("#")[0])
    assert status == 200 and b'id="notificationtest"' in page
    [fired] = alert_payloads(webhook_receiver, "NotificationTest")
    assert (fired["status"], fired["receiver"]) == ("firing", "notify-test"), fired
    assert fired["alerts"][0]["annotations"]["runbook_url"] == link
    # The e-mail of the same notification (alertmanager-config's subject and body), from the delivered data.
    [email] = receivers.integrations({"SMTP_TO": "a@contoh.example", "SMTP_FROM": "b@contoh.example",
                                      "SMTP_SMARTHOST": "mail.contoh.example:587"})["email_configs"]
    subject = render_template(tmp_path, fired, email["headers"]["Subject"])
    body = render_template(tmp_path, fired, email["html"])
    assert subject == "UJI NOTIFIKASI / NOTIFICATION TEST: spse-exporter", subject
    assert "[FIRING" not in body and f"Panduan penanganan / Runbook: {link}" in body, body
    # It ended itself: nothing about the test stays active in Alertmanager.
    assert not alertmanager.alerts(filter='alertname="NotificationTest"')

    # The control goes to ops-critical (group_interval 2 s; warnings wait for their digest), posted and resolved
    # after the test was resolved: its group's resolving flush comes after the test group's would have.
    control = {"labels": {"alertname": "ResolutionControl", "severity": "critical", "site": "control"}}
    post_alerts(alertmanager, [control])
    poll(lambda: alert_payloads(webhook_receiver, "ResolutionControl"), 60, 0.2, "the control alert firing")
    post_alerts(alertmanager, [{**control, "endsAt": datetime.now(timezone.utc).isoformat()}])
    poll(lambda: [p for p in alert_payloads(webhook_receiver, "ResolutionControl") if p["status"] == "resolved"],
         60, 0.2, "the control alert's resolution (positive control)")
    # Two more group intervals (5 s each) for a late resolution of the test to show up, if one were coming.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and len(alert_payloads(webhook_receiver, "NotificationTest")) == 1:
        time.sleep(0.2)
    assert [p["status"] for p in alert_payloads(webhook_receiver, "NotificationTest")] == ["firing"]
    assert [m["text"].split("\n", 1)[0] for m in telegram.messages] == [
        "<b>UJI NOTIFIKASI / NOTIFICATION TEST: spse-exporter</b>", "<b>1 alert aktif / 1 firing: SPSE control</b>",
        "<b>Pulih / Resolved: SPSE control</b>"]


def test_rendered_from_a_relative_path_outside_compose_the_message_keeps_its_text(tmp_path, telegram,
                                                                                 start_alertmanager):
    """Without Docker an operator runs `spse-exporter alertmanager-config prometheus/alertmanager.yml OUT`
    from the checkout: the written file must still find the templates, or Telegram gets an empty text."""
    env = {"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_CHAT_ID": CHAT_ID, "TELEGRAM_API_URL": telegram.url}
    rendered = render_as_compose(tmp_path, env, "prometheus/alertmanager.yml")
    assert rendered.returncode == 0, rendered.stderr
    alertmanager = start_alertmanager(tmp_path / "alertmanager.yml")

    assert notify_test(alertmanager).returncode == 0
    [message] = telegram.messages
    assert "UJI: notifikasi uji dari spse-exporter" in message["text"], message["text"]


def test_integrations_written_into_ops_critical_by_hand_reach_the_test_receiver_once_rendered(
        tmp_path, telegram, start_alertmanager):
    """README: without compose, add telegram_configs to alertmanager.yml. Run as written, the test receiver has none
    and notify-test says what to do; written by alertmanager-config, it gets ops-critical's with send_resolved
    false and the test is delivered."""
    config = yaml.safe_load((STACK_DIR / "alertmanager.yml").read_text())
    [ops_critical] = [r for r in config["receivers"] if r["name"] == receivers.OPS_RECEIVERS[0]]
    ops_critical["telegram_configs"] = [{"bot_token": TOKEN, "chat_id": int(CHAT_ID), "api_url": telegram.url,
                                         "send_resolved": True}]
    config["templates"] = [str(STACK_DIR / "templates/*.tmpl")]
    (tmp_path / "edited").mkdir()
    edited = tmp_path / "edited" / "alertmanager.yml"
    edited.write_text(yaml.safe_dump(config))

    as_written = notify_test(start_alertmanager(edited))
    assert as_written.returncode == 1 and not telegram.messages
    assert "penerima notify-test belum punya integrasi ops-critical (telegram): salin ke sana dengan " \
           "send_resolved: false" in as_written.stdout, as_written.stdout

    assert render_as_compose(tmp_path, {}, str(edited)).returncode == 0
    rendered = {r["name"]: r for r in yaml.safe_load((tmp_path / "alertmanager.yml").read_text())["receivers"]}
    assert rendered["notify-test"]["telegram_configs"] == [{**ops_critical["telegram_configs"][0], "send_resolved": False}]
    assert notify_test(start_alertmanager(tmp_path / "alertmanager.yml")).returncode == 0
    assert len(telegram.messages) == 1


def test_unreachable_receiver_is_reported_not_delivered_with_the_reason(tmp_path, start_alertmanager):
    closed = f"http://127.0.0.1:{free_port()}"
    env = compose_receiver_env(tmp_path, TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_CHAT_ID=CHAT_ID, TELEGRAM_API_URL=closed)
    assert render_as_compose(tmp_path, env).returncode == 0
    alertmanager = start_alertmanager(tmp_path / "alertmanager.yml")

    result = notify_test(alertmanager)

    assert result.returncode == 1, result.stdout + result.stderr
    assert "notify-test: TIDAK TERKIRIM" in result.stdout
    assert (f"telegram: tidak terkirim: percobaan pengiriman gagal; {closed.removeprefix('http://')} dari host ini: "
            "Connection refused") in result.stdout, result.stdout
    result = notify_test(alertmanager, "--lang=en")
    assert "notify-test: NOT DELIVERED" in result.stdout
    assert (f"telegram: not delivered: the attempt failed; {closed.removeprefix('http://')} from this host: "
            "Connection refused") in result.stdout, result.stdout


def test_a_receiver_that_never_answers_is_reported_as_hanging_not_as_no_attempt(tmp_path, start_alertmanager):
    """A lost route or a proxy that holds the request: Alertmanager's attempt starts and never returns, so no
    request is counted. notify-test says the attempt hangs, not that none was made or that the token is wrong."""
    with socket.socket() as silent:  # the kernel completes the handshake; nobody ever reads or answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        address = f"127.0.0.1:{silent.getsockname()[1]}"
        env = compose_receiver_env(tmp_path, TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_CHAT_ID=CHAT_ID,
                                   TELEGRAM_API_URL=f"http://{address}")
        assert render_as_compose(tmp_path, env).returncode == 0
        alertmanager = start_alertmanager(tmp_path / "alertmanager.yml")

        result = subprocess.run([sys.executable, "-m", "exporter", "notify-test", f"--alertmanager.url={alertmanager.url}",
                                 "--timeout=5", "--lang=en"], capture_output=True, text=True, cwd=ROOT, timeout=60)

    assert result.returncode == 1, result.stdout + result.stderr
    assert "telegram: not delivered: the attempt started and got no answer within 5 seconds" in result.stdout, \
        result.stdout
    assert f"{address} accepts connections from this host but does not answer" in result.stdout, result.stdout
    assert "check the token" not in result.stdout


def test_without_receiver_the_stack_says_so_and_notify_test_fails(tmp_path, start_alertmanager):
    env = compose_receiver_env(tmp_path)
    rendered = render_as_compose(tmp_path, env)
    assert rendered.returncode == 0, rendered.stderr
    assert "PERINGATAN: belum ada penerima notifikasi" in rendered.stderr, rendered.stderr
    config = yaml.safe_load((tmp_path / "alertmanager.yml").read_text())
    assert all(set(r) == {"name"} for r in config["receivers"]), "nothing may point at an address nobody listens on"
    alertmanager = start_alertmanager(tmp_path / "alertmanager.yml")
    # What NotificationsNotConfigured (prometheus/rules/alerts.yml) reads.
    assert parse_metrics(http_get(f"{alertmanager.url}/metrics")[1].decode()).get_value("alertmanager_integrations") == 0
    result = notify_test(alertmanager)
    assert result.returncode == 1
    assert "penerima ops-critical belum punya integrasi" in result.stdout, result.stdout
    # the fix for both ways of running it
    assert "--force-recreate alertmanager-config alertmanager" in result.stdout and \
        "tanpa Docker jalankan lagi `sudo bash scripts/install-native.sh`" in result.stdout, result.stdout
    result = notify_test(alertmanager, "--lang=en")
    assert "receiver ops-critical has no integration" in result.stdout and \
        "without Docker run `sudo bash scripts/install-native.sh` again" in result.stdout, result.stdout


@pytest.mark.timeout(120)
def test_a_dead_mans_switch_alone_still_says_nobody_is_paged(tmp_path, start_alertmanager, start_prometheus):
    """WATCHDOG_URL only: Alertmanager has one integration, the watchdog's, and pages nobody about SPSE. The
    alertmanager-config step warns, and NotificationsNotConfigured fires on the real Prometheus (shipped rules,
    15 times faster) reading the real Alertmanager."""
    env = compose_receiver_env(tmp_path, WATCHDOG_URL=f"http://127.0.0.1:{free_port()}/ping")
    rendered = render_as_compose(tmp_path, env)
    assert rendered.returncode == 0, rendered.stderr
    assert "PERINGATAN: belum ada penerima notifikasi" in rendered.stderr, rendered.stderr
    assert "WATCHDOG_URL hanya untuk layanan pemantau sinyal hidup" in rendered.stderr, rendered.stderr
    alertmanager = start_alertmanager(tmp_path / "alertmanager.yml")
    assert parse_metrics(http_get(f"{alertmanager.url}/metrics")[1].decode()).get_value("alertmanager_integrations") == 1
    prometheus = start_prometheus(render_prometheus_config(
        tmp_path, exporter=None, alertmanager=alertmanager.address, rules_dir=compress_rules(tmp_path / "rules", 15),
        scrape_interval="1s", evaluation_interval="1s"))
    poll(lambda: prometheus.query('ALERTS{alertname="NotificationsNotConfigured",alertstate="firing"}'), 30, 0.5,
         "NotificationsNotConfigured firing with only the watchdog configured")


def test_unreachable_alertmanager_is_a_clear_failure():
    result = subprocess.run([sys.executable, "-m", "exporter", "notify-test",
                             f"--alertmanager.url=http://127.0.0.1:{free_port()}"],
                            capture_output=True, text=True, cwd=ROOT, timeout=30)
    assert result.returncode == 1
    assert "TIDAK TERKIRIM" in result.stdout and "tidak dapat dipakai" in result.stdout, result.stdout


def test_a_web_page_at_the_alertmanager_address_is_a_clear_failure(spse):
    """A wrong port (Grafana, a portal) answers HTML with 200: named as unusable, not a JSON traceback."""
    result = subprocess.run([sys.executable, "-m", "exporter", "notify-test", f"--alertmanager.url=http://127.0.0.1:{spse.port}",
                             "--lang=en"], capture_output=True, text=True, cwd=ROOT, timeout=30)
    assert result.returncode == 1 and "cannot use Alertmanager" in result.stdout, result.stdout + result.stderr
    assert "Traceback" not in result.stderr


def test_settings_come_from_secret_files(tmp_path):
    token = tmp_path / "telegram_bot_token"
    token.write_text(TOKEN + "\n")
    password = tmp_path / "smtp_password"
    password.write_text("s3cret'\"\n")
    for secret in (token, password):
        secret.chmod(0o600)  # as secrets/README.md says: a secret others can read is refused
    config, names = receivers.render(STACK_DIR / "alertmanager.yml", {
        "TELEGRAM_BOT_TOKEN_FILE": str(token), "TELEGRAM_CHAT_ID": CHAT_ID,
        "SMTP_TO": "ops@contoh.example", "SMTP_FROM": "am@contoh.example", "SMTP_SMARTHOST": "mail.contoh.example:587",
        "SMTP_AUTH_USERNAME": "am@contoh.example", "SMTP_AUTH_PASSWORD_FILE": str(password),
        "WATCHDOG_URL": "https://hc-ping.com/uuid"})
    assert names == ["telegram", "email"]
    by_name = {r["name"]: r for r in config["receivers"]}
    for name in receivers.OPS_RECEIVERS:
        assert by_name[name]["telegram_configs"][0]["bot_token"] == TOKEN
        assert by_name[name]["email_configs"][0]["auth_password"] == "s3cret'\""
    assert by_name["watchdog"]["webhook_configs"] == [{"url": "https://hc-ping.com/uuid", "send_resolved": False}]
    path = tmp_path / "alertmanager.yml"
    path.write_text(yaml.safe_dump(config))
    check = subprocess.run(["amtool", "check-config", str(path)], capture_output=True, text=True, timeout=30)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "1 templates" in check.stdout


@pytest.mark.parametrize("env, error, galat", [
    ({"TELEGRAM_BOT_TOKEN": TOKEN}, "Telegram: set TELEGRAM_CHAT_ID too", "Telegram: isi juga TELEGRAM_CHAT_ID"),
    ({"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_CHAT_ID": "@opsgroup"}, "TELEGRAM_CHAT_ID: '@opsgroup' is not a number",
     "TELEGRAM_CHAT_ID: '@opsgroup' bukan angka"),
    ({"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_BOT_TOKEN_FILE": "/x"}, "both set", "sama-sama diisi"),
    ({"TELEGRAM_BOT_TOKEN_FILE": "/nonexistent/token"}, "TELEGRAM_BOT_TOKEN_FILE: /nonexistent/token does not exist",
     "TELEGRAM_BOT_TOKEN_FILE: /nonexistent/token tidak ada"),
    ({"SMTP_TO": "ops@contoh.example"}, "E-mail: set SMTP_FROM and SMTP_SMARTHOST too",
     "Surel: isi juga SMTP_FROM dan SMTP_SMARTHOST"),
])
def test_bad_settings_name_the_variable(tmp_path, env, error, galat):
    """In Bahasa Indonesia, or in English with SPSE_LANG=en: Alertmanager does not start until it is fixed, so say
    what to do."""
    result = render_as_compose(tmp_path, env)
    assert result.returncode == 2
    assert galat in result.stderr and error not in result.stderr, result.stderr
    assert "Perbaiki pengaturan penerima yang disebut di atas di .env" in result.stderr
    result = render_as_compose(tmp_path, {**env, "SPSE_LANG": "en"})
    assert result.returncode == 2 and error in result.stderr, result.stderr
    assert "Fix the receiver setting named above in .env" in result.stderr
    assert not (tmp_path / "alertmanager.yml").exists()


def test_an_unwritable_output_is_a_clear_error(tmp_path):
    output = tmp_path / "missing-dir" / "alertmanager.yml"
    result = subprocess.run([sys.executable, "-m", "exporter", "alertmanager-config", str(STACK_DIR / "alertmanager.yml"),
                             str(output)], capture_output=True, text=True, cwd=ROOT, timeout=30)
    assert result.returncode == 2 and f"{output} tidak dapat ditulis" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("integration, field, supported", [
    ("telegram_configs", {"bot_token_file": "/run/secrets/token", "chat_id": 1}, False),
    ("webhook_configs", {"url_file": "/run/secrets/url"}, False),
    ("email_configs", {"to": "a@contoh.example", "from": "b@contoh.example", "smarthost": "mail.contoh.example:587",
                       "auth_password_file": "/run/secrets/password"}, True),
])
def test_why_receivers_are_rendered_alertmanager_0_25_has_few_file_fields(tmp_path, integration, field, supported):
    """Debian's Alertmanager 0.25 (the compose image's version) has no bot_token_file or webhook url_file: a token
    can reach it only inside the config file, hence alertmanager-config. A newer Alertmanager would flip this."""
    path = tmp_path / "alertmanager.yml"
    path.write_text(yaml.safe_dump({"route": {"receiver": "r"}, "receivers": [{"name": "r", integration: [field]}]}))
    result = subprocess.run(["amtool", "check-config", str(path)], capture_output=True, text=True, timeout=30)
    assert (result.returncode == 0) == supported, result.stdout + result.stderr
