"""The runbook served by the stack itself: every alert's runbook_url, in every rule file, lands on a heading of
the HTML the exporter serves, and the real Prometheus builds the link from prometheus.yml's runbook_base."""

from __future__ import annotations

import re
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml

from exporter import notifytest, runbook
from tests.stack import STACK_DIR, render_prometheus_config
from tests.support import ROOT, http_get, poll

SITE_RULES = sorted((STACK_DIR / "rules").glob("*.yml"))
ALL_RULES = sorted(STACK_DIR.glob("**/rules/*.yml"))  # the site's and any other stack's (the watcher's)
SITE_LINK = "{{ $externalLabels.runbook_base }}/runbook#"


class Ids(HTMLParser):
    def __init__(self, html: str):
        super().__init__()
        self.ids: set[str] = set()
        self.links: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.ids.update(value for name, value in attrs if name == "id")
        self.links.extend(value for name, value in attrs if name == "href")


def alerts(paths: list[Path]) -> list[tuple[str, str]]:
    """(alert name, runbook_url) of every alerting rule in `paths`."""
    found = []
    for path in paths:
        for group in yaml.safe_load(path.read_text())["groups"]:
            found += [(rule["alert"], rule["annotations"]["runbook_url"]) for rule in group["rules"] if "alert" in rule]
    return found


def test_the_packaged_runbook_is_docs_runbook_md():
    assert runbook.markdown_text() == (ROOT / "docs/runbook.md").read_text()


@pytest.mark.parametrize("name, url", alerts(ALL_RULES), ids=lambda value: str(value).rsplit("#", 1)[-1])
def test_every_runbook_url_names_a_heading_of_the_served_runbook(name, url):
    anchor = url.rsplit("#", 1)[1]
    assert anchor in Ids(runbook.page().decode()).ids, f"{name}: no id={anchor!r} in the served runbook"


def test_the_test_notifications_link_names_a_heading_of_the_served_runbook():
    """notify-test's alert is no rule, but its message links to the runbook too (tests/e2e/test_notify.py opens it)."""
    assert notifytest.RUNBOOK_ANCHOR in Ids(runbook.page().decode()).ids


@pytest.mark.parametrize("name, url", alerts(SITE_RULES), ids=lambda value: str(value).rsplit("#", 1)[-1])
def test_site_alerts_link_to_the_stacks_own_copy(name, url):
    assert url.startswith(SITE_LINK), f"{name}: {url} does not use prometheus.yml's runbook_base"


def test_every_link_of_the_served_runbook_opens():
    """/runbook is served at the exporter's root: a relative link such as alerting.md would be /alerting.md, a 404.
    Links stay inside the page (its anchors), which also opens while international routes are down."""
    page = Ids(runbook.page().decode())
    for link in page.links:
        assert link.startswith("#") and link[1:] in page.ids, f"{link}: not an anchor of the served runbook"


def test_runbook_page_is_html_with_the_commands_as_code():
    page = runbook.page().decode()
    assert page.startswith("<!doctype html>") and '<meta charset="utf-8">' in page
    assert "<pre><code" in page and "<h2 id=\"clockunvalidated\">ClockUnvalidated</h2>" in page


def test_prometheus_builds_the_link_from_runbook_base_and_keeps_it_off_the_alert_labels(
        tmp_path, start_prometheus, start_alertmanager, webhook_receiver):
    from tests.stack import render_alertmanager_config
    shipped = yaml.safe_load((STACK_DIR / "prometheus.yml").read_text())
    base = shipped["global"]["external_labels"]["runbook_base"]
    alertmanager = start_alertmanager(render_alertmanager_config(tmp_path, webhook_receiver.url))
    config = render_prometheus_config(tmp_path, exporter="127.0.0.1:1", alertmanager=alertmanager.address,
                                      evaluation_interval="1s")
    prometheus = start_prometheus(config, ["--rules.alert.resend-delay=1s"])

    def watchdog():
        alerts = prometheus.get_json("/api/v1/alerts")["data"]["alerts"]
        return [alert for alert in alerts if alert["labels"]["alertname"] == "Watchdog"]

    (alert,) = poll(watchdog, timeout=30, what="Watchdog in Prometheus")
    assert alert["annotations"]["runbook_url"] == f"{base}/runbook#watchdog"
    (sent,) = poll(lambda: alertmanager.alerts(filter='alertname="Watchdog"'), timeout=30, what="Watchdog sent")
    assert "runbook_base" not in sent["labels"], sent["labels"]
    assert sent["annotations"]["runbook_url"] == f"{base}/runbook#watchdog"


def code_lines() -> list[str]:
    """Every line of the runbook's shell blocks."""
    blocks = re.findall(r"```sh\n(.*?)```", runbook.markdown_text(), re.S)
    return [line for block in blocks for line in block.splitlines()]


def test_commands_missing_from_a_default_server_say_how_to_install_them():
    """ntpdate, mtr, dig, traceroute and nc are not on a default Debian 12: a line using one names its package."""
    for line in code_lines():
        for tool in ("ntpdate", "mtr", "dig", "traceroute", "nc", "tracepath"):
            if re.search(rf"(^|[;&|(]\s*|\s){tool}\s", line.split("#")[0] + " "):
                assert "apt install" in line, f"{tool} without its apt install: {line}"


def test_commands_write_the_site_as_the_introduction_says():
    """`<SPSE>` and `<host>` stand for the site, as the runbook's introduction says; the examples' placeholder
    host (lpse.contoh.example) copied from a command would query a name that is nobody's SPSE."""
    for line in code_lines():
        assert "contoh.example" not in line, line


def test_chrony_lines_of_the_clock_fix_parse_in_chronyd(tmp_path):
    """The national-source lines the runbook writes into chrony's config, checked by Debian's chronyd (-p)."""
    (line,) = [line for line in code_lines() if "/etc/chrony/sources.d/" in line and line.startswith("printf")]
    content = re.search(r"printf '([^']*)'", line).group(1).replace("\\n", "\n")
    assert "pool id.pool.ntp.org iburst" in content
    config = tmp_path / "chrony.conf"
    config.write_text(content)
    result = subprocess.run([str(ROOT / ".cache/debs/root/usr/sbin/chronyd"), "-p", "-f", str(config)],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == content.splitlines()


def test_every_alert_section_is_bilingual_with_its_first_three_commands():
    """Every alert's 'Check first', the watcher's too, is also in Bahasa Indonesia and gives three commands."""
    text = runbook.markdown_text()
    for name, _ in alerts(ALL_RULES):
        section = re.search(rf"^## {name}\n(.*?)(?=^## |\Z)", text, re.S | re.M).group(1)
        check = re.search(r"\*\*Check first / Periksa dulu:\*\*(.*?)\n\n", section, re.S).group(1)
        assert re.search(r"\s/\s", check), f"{name}: 'Check first' needs the Indonesian after ' / '"
        commands = re.search(r"```sh\n(.*?)```", section, re.S).group(1).strip().splitlines()
        assert len([line for line in commands if not line.startswith("#")]) >= 3, \
            f"{name}: give the first three commands to run"


def test_the_exporter_serves_the_runbook_with_every_alerts_anchor(start_exporter, tcp_listener):
    """GET /runbook on the real exporter: the page the links open, with an id for every alert of every rule file."""
    exporter = start_exporter({"interval": "5s", "timeout": "1s",
                               "targets": [{"name": "t", "url": f"http://127.0.0.1:{tcp_listener.port}/"}]},
)
    status, body, headers = http_get(f"{exporter.url}/runbook")
    assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
    assert body.startswith(b"<!doctype html>") and b'<h2 id="watchdog">Watchdog</h2>' in body
    ids = Ids(body.decode()).ids
    missing = {name for name, url in alerts(ALL_RULES) if url.rsplit("#", 1)[1] not in ids}
    assert not missing, missing
    status, landing, _ = http_get(f"{exporter.url}/")
    assert b'<a href="runbook">/runbook</a>' in landing
