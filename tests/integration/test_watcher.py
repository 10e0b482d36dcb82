"""The watcher's shipped files (prometheus/watcher/, docker-compose.watcher.yml, exporter/examples/watcher.yml,
prometheus/remote-write.yml): valid for promtool, amtool and docker-compose, unit-tested, explained in both
languages with a runbook section, and routed as docs/alerting.md says."""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import sys

import bcrypt
import pytest
import yaml

from tests.stack import STACK_DIR, render_prometheus_config
from tests.support import ROOT, http_get
from tests.unit.test_compose import ports
from tests.e2e.test_notify import CHAT_ID, TOKEN, notify_test, render_as_compose, telegram  # noqa: F401 (a fixture)
from tests.integration.test_rules import RUNBOOK, RUNBOOK_BASE, bilingual_halves, promtool

WATCHER_DIR = STACK_DIR / "watcher"
RULES = WATCHER_DIR / "rules" / "watcher.yml"
UNIT_TESTS = ROOT / "tests" / "watcher" / "rules.yml"
REPLICA_UNIT_TESTS = ROOT / "tests" / "watcher" / "replicas.yml"  # prometheus/watcher/rules/replicas.yml
DOOR_UNIT_TESTS = ROOT / "tests" / "watcher" / "door.yml"  # prometheus/watcher/rules/door.yml (rendered)
COMPOSE = ROOT / "docker-compose.watcher.yml"
ALERTS = {"SiteSilent", "SPSEDownFromOutside", "SiteNotificationsFailing", "SiteAlertForwarded",
          "WatcherNotificationsFailing", "WatcherWatchdog", "SiteHeard",
          "WatcherDoorDown", "WatcherDoorSeriesCapNearlyFull", "WatcherDoorRefusing"}
REPLICAS = ("a", "b")
PEERS = ("alertmanager-1", "alertmanager-2", "alertmanager-3")


def watcher_alerts() -> list[dict]:
    return [rule for path in sorted((WATCHER_DIR / "rules").glob("*.yml"))
            for group in yaml.safe_load(path.read_text())["groups"] for rule in group["rules"] if "alert" in rule]


def test_promtool_checks_the_watcher_config_and_rules():
    result = promtool("check", "config", str(WATCHER_DIR / "prometheus.yml"))
    assert result.returncode == 0 and "SUCCESS: 19 rules found" in result.stdout, result.stdout + result.stderr
    assert "Checking " + str(WATCHER_DIR / "rules" / "door.yml") + "\n  SUCCESS: 4 rules found" in result.stdout


def test_watcher_unit_tests_pass():
    result = promtool("test", "rules", str(UNIT_TESTS), str(REPLICA_UNIT_TESTS), str(DOOR_UNIT_TESTS))
    assert result.returncode == 0, result.stdout + result.stderr


def test_door_unit_tests_bite_on_a_watcher_without_a_door(tmp_path):
    """Without the latch (a part of the door answered once), a watcher run without a door, whose scrapes of
    127.0.0.1:8429 and :3903 fail, would page WatcherDoorDown for ever."""
    rules = tmp_path / "prometheus" / "watcher" / "rules"
    rules.mkdir(parents=True)
    text = (WATCHER_DIR / "rules" / "door.yml").read_text()
    gate = " and on (job) watcher:door_part_seen"
    assert text.count(gate) == 1
    (rules / "door.yml").write_text(text.replace(gate, ""))
    tests = tmp_path / "tests" / "watcher"
    tests.mkdir(parents=True)
    shutil.copy(DOOR_UNIT_TESTS, tests)
    result = promtool("test", "rules", str(tests / DOOR_UNIT_TESTS.name))
    assert result.returncode == 1 and "alertname: WatcherDoorDown, time: 1h," in result.stderr, (
        result.stdout + result.stderr)


def unit_tests_on(tmp_path, rules_text: str) -> subprocess.CompletedProcess:
    """The watcher's unit tests (both files) run on `rules_text` in place of the shipped watcher.yml."""
    rules = tmp_path / "prometheus" / "watcher" / "rules"
    rules.mkdir(parents=True)
    (rules / RULES.name).write_text(rules_text)
    shutil.copy(WATCHER_DIR / "rules" / "replicas.yml", rules)
    tests = tmp_path / "tests" / "watcher"
    tests.mkdir(parents=True)
    for path in (UNIT_TESTS, REPLICA_UNIT_TESTS):
        shutil.copy(path, tests)
    return promtool("test", "rules", str(tests / UNIT_TESTS.name), str(tests / REPLICA_UNIT_TESTS.name))


def test_watcher_unit_tests_bite(tmp_path):
    """SiteSilent after 1 minute of silence instead of 2 must fail them."""
    text = RULES.read_text()
    assert text.count('vantage="site"}[2m]') == 1
    result = unit_tests_on(tmp_path, text.replace('vantage="site"}[2m]', 'vantage="site"}[1m]'))
    assert result.returncode == 1 and "alertname: SiteSilent" in result.stderr, result.stdout + result.stderr


def test_watcher_unit_tests_bite_on_a_replica_back_from_an_outage(tmp_path):
    """Without the guard on watcher:watching_since, a replica back before the sites' queues caught up with it
    calls them all silent (the page issue 24's HA test saw after a site's recovery)."""
    guard = "            and on () (watcher:watching_since offset 2m == watcher:watching_since)\n"
    text = RULES.read_text()
    assert text.count(guard) == 1
    result = unit_tests_on(tmp_path, text.replace(guard, ""))
    assert result.returncode == 1 and "alertname: SiteSilent, time: 10m," in result.stderr, (
        result.stdout + result.stderr)


@pytest.mark.parametrize("rule, mutation", [
    # without the latch a page resolves in the gaps between a hanging request's give-up and the next one
    ("watcher:notifications_failing", ("              (watcher:notifications_failing\n", "              (vector(0) == 1\n")),
    # without watcher:site_delivering a site whose page got out by e-mail is paged again by the watcher
    ("SiteNotificationsFailing", (" unless on (site) watcher:site_delivering", "")),
])
def test_watcher_unit_tests_bite_on_the_delivery_rules(tmp_path, rule, mutation):
    """The latch and the one-page-per-incident gate are each needed by the unit tests."""
    text = RULES.read_text()
    assert text.count(mutation[0]) == 1, rule
    result = unit_tests_on(tmp_path, text.replace(*mutation))
    assert result.returncode == 1 and "SiteNotificationsFailing|SiteAlertForwarded" in result.stderr, (
        result.stdout + result.stderr)


def test_every_watcher_alert_is_unit_tested_firing_and_silent():
    firing, silent = set(), set()
    tests = [test for path in (UNIT_TESTS, REPLICA_UNIT_TESTS, DOOR_UNIT_TESTS)
             for test in yaml.safe_load(path.read_text())["tests"]]
    for test in tests:
        for case in test.get("alert_rule_test", []):
            (firing if case["exp_alerts"] else silent).add(case["alertname"])
    assert {rule["alert"] for rule in watcher_alerts()} == ALERTS == firing
    assert silent == ALERTS - {"WatcherWatchdog"}


@pytest.mark.parametrize("rule", watcher_alerts(), ids=lambda rule: rule["alert"])
def test_every_watcher_alert_is_explained_in_both_languages_and_links_its_runbook(rule):
    annotations = rule["annotations"]
    for key in ("summary", "description"):
        bilingual_halves(annotations[key])
    assert rule["labels"]["severity"] in {"critical", "warning", "none"}
    assert annotations["runbook_url"] == f"{RUNBOOK_BASE}#{rule['alert'].lower()}"
    assert f"## {rule['alert']}" in RUNBOOK.read_text().splitlines()


def amtool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["amtool", *args], capture_output=True, text=True, timeout=60)


def test_amtool_checks_the_watcher_alertmanager_config():
    result = amtool("check-config", str(WATCHER_DIR / "alertmanager.yml"))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("labels, receiver", [
    ("alertname=SiteSilent site=kb severity=critical", "ops-critical"),
    ("alertname=SPSEDownFromOutside site=kb target=kb severity=critical", "ops-critical"),
    ("alertname=SiteNotificationsFailing site=kb integration=telegram severity=critical", "ops-critical"),
    ("alertname=SiteAlertForwarded site=kb site_alertname=SPSEDown severity=critical", "ops-critical"),
    # The watcher's own failing delivery goes to the receiver that does not share its path, and to ops-critical
    # for when the failing integration is ops-fallback's own.
    ("alertname=WatcherNotificationsFailing integration=telegram severity=critical", "ops-fallback,ops-critical"),
    ("alertname=WatcherWatchdog severity=none", "watchdog"),
    ("alertname=SiteHeard site=kb heard_by=a severity=none", "heard"),  # to no one: the inhibit rule's source
    # The door's: warnings, the digest (the other replica's door still takes every site's writes).
    ("alertname=WatcherDoorDown job=door-vmagent door=a severity=warning", "ops-warning"),
    ("alertname=WatcherDoorSeriesCapNearlyFull limit=hourly door=a severity=warning", "ops-warning"),
    ("alertname=WatcherDoorRefusing site=kb status=401 door=a severity=warning", "ops-warning"),
])
def test_watcher_routes(labels, receiver):
    result = amtool("config", "routes", "test", f"--config.file={WATCHER_DIR / 'alertmanager.yml'}",
                    f"--verify.receivers={receiver}", *labels.split())
    assert result.returncode == 0, result.stdout + result.stderr


def test_site_config_with_remote_write_is_valid(tmp_path):
    """The opt-in: prometheus.yml with remote-write.yml appended, as the README says, passes promtool."""
    shutil.copytree(STACK_DIR / "rules", tmp_path / "rules")
    combined = tmp_path / "prometheus.yml"
    combined.write_text((STACK_DIR / "prometheus.yml").read_text() + (STACK_DIR / "remote-write.yml").read_text())
    result = promtool("check", "config", str(combined))
    assert result.returncode == 0, result.stdout + result.stderr
    writers = yaml.safe_load(combined.read_text())["remote_write"]
    assert [writer["name"] for writer in writers] == [f"watcher-{replica}" for replica in REPLICAS]  # one per replica
    a, b = ({key: value for key, value in writer.items() if key not in ("name", "url")} for writer in writers)
    assert a == b and writers[0]["url"] != writers[1]["url"]
    assert a["basic_auth"]["password_file"] == "secrets/watcher_password"  # ./secrets/ is out of git
    relabel = {rule.get("target_label"): rule for rule in a["write_relabel_configs"]}
    assert relabel["vantage"]["replacement"] == "site"
    # What a dead replica can hold in the site's memory: capacity samples per shard, max_shards shards.
    assert a["queue_config"]["capacity"] * a["queue_config"]["max_shards"] <= 10_000


def test_watcher_exporter_example_is_valid():
    result = subprocess.run([sys.executable, "-m", "exporter", f"--config.file={ROOT / 'exporter/examples/watcher.yml'}",
                             "--check-config"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def env_settings(path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if line.strip() and not line.startswith("#"))
    return {key.strip(): value.strip() for key, value in pairs}


@pytest.fixture(scope="module")
def watcher_stack(tmp_path_factory) -> dict:
    """docker-compose.watcher.yml as compose resolves it with .env.watcher.example filled in."""
    tmp = tmp_path_factory.mktemp("watcher-compose")
    settings = {**env_settings(ROOT / ".env.watcher.example"), "GRAFANA_ADMIN_PASSWORD": "test-only",
                "WATCHER_GRAFANA_PASSWORD": "test-only", "WATCHER_CONFIG_FILE": str(ROOT / "exporter/examples/watcher.yml")}
    env_file = tmp / ".env"
    env_file.write_text("".join(f"{key}={value}\n" for key, value in settings.items()))
    env = {key: value for key, value in os.environ.items() if key not in settings}
    result = subprocess.run(["docker-compose", "--project-directory", str(ROOT), "-f", str(COMPOSE),
                             "--env-file", str(env_file), "config"], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)["services"]


def test_watcher_compose_runs_the_watcher_role(watcher_stack):
    site = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    for name, site_name in (*((f"prometheus-{r}", "prometheus") for r in REPLICAS),
                            *((peer, "alertmanager") for peer in PEERS), ("grafana", "grafana")):
        assert watcher_stack[name]["image"] == site[site_name]["image"], name  # the same pinned versions
    for replica in REPLICAS:
        command = watcher_stack[f"prometheus-{replica}"]["command"]
        assert "--config.file=/etc/prometheus/watcher/prometheus.yml" in command
        assert "--web.enable-remote-write-receiver" in command
        assert any(flag.startswith("--web.config.file=/etc/prometheus/secrets/") for flag in command)  # basic auth
        # its own port, and its remote-write door's (nginx in its network namespace, tests/integration/test_watcher_door.py)
        assert [target for _, _, target in ports(watcher_stack[f"prometheus-{replica}"])] == [9090, 9091]
    assert watcher_stack["alertmanager-config"]["command"][1] == "/etc/alertmanager/watcher/alertmanager.yml"
    # The sites reach Prometheus and people reach Grafana; the Alertmanager peers stay on loopback.
    for peer in PEERS:
        assert [address for address, _, _ in ports(watcher_stack[peer])] == ["127.0.0.1"], peer


def data_volumes(service: dict) -> list[str]:
    return [volume.split(":")[0] for volume in service["volumes"] if not volume.startswith("/")]


def test_watcher_replicas_differ_only_in_their_name_port_and_storage(watcher_stack):
    a, b = (watcher_stack[f"prometheus-{replica}"] for replica in REPLICAS)
    assert [a["environment"], b["environment"]] == [{"WATCHER_REPLICA": replica} for replica in REPLICAS]
    assert "--enable-feature=expand-external-labels" in a["command"]  # the label takes WATCHER_REPLICA
    assert ports(a) != ports(b) and data_volumes(a) != data_volumes(b)
    shared = {key for key in a if key not in ("environment", "ports", "volumes")}
    assert {key: a[key] for key in shared} == {key: b[key] for key in shared}
    assert [v for v in a["volumes"] if v.startswith("/")] == [v for v in b["volumes"] if v.startswith("/")]
    config = yaml.safe_load((WATCHER_DIR / "prometheus.yml").read_text())
    assert config["global"]["external_labels"]["replica"] == "${WATCHER_REPLICA}"
    # Without `replica` both replicas' alerts are one alert to Alertmanager.
    (drop,) = [rule for rule in config["alerting"]["alert_relabel_configs"] if rule["action"] == "labeldrop"]
    assert "replica" in drop["regex"].split("|")


def test_watcher_alertmanager_peers_gossip_in_one_cluster_and_get_every_alert(watcher_stack):
    peers = [watcher_stack[peer] for peer in PEERS]
    commands = [peer["command"] for peer in peers]
    assert commands[0] == commands[1] == commands[2]
    assert "--cluster.listen-address=0.0.0.0:9094" in commands[0]
    assert sorted(flag.split("=", 1)[1] for flag in commands[0] if flag.startswith("--cluster.peer=")) == \
        [f"{peer}:9094" for peer in PEERS]
    assert len({volume for peer in peers for volume in data_volumes(peer)}) == 1 + len(PEERS)  # shared config, own data
    config = yaml.safe_load((WATCHER_DIR / "prometheus.yml").read_text())
    (alertmanagers,) = config["alerting"]["alertmanagers"]
    assert alertmanagers["static_configs"][0]["targets"] == [f"{peer}:9093" for peer in PEERS]
    scraped = {job["job_name"]: job["static_configs"][0]["targets"] for job in config["scrape_configs"]}
    assert scraped["alertmanager"] == [f"{peer}:9093" for peer in PEERS]


def test_watcher_grafana_reads_each_replica(watcher_stack):
    provisioned = ROOT / "grafana/provisioning-watcher/datasources/watcher.yml"
    datasources = yaml.safe_load(provisioned.read_text())["datasources"]
    prometheus = [source for source in datasources if source["type"] == "prometheus"]
    assert [source["url"] for source in prometheus] == [f"http://prometheus-{replica}:9090" for replica in REPLICAS]
    assert prometheus[0]["uid"] == "spse-prometheus"  # the dashboards' default, as at a site
    assert all(source["basicAuthUser"] == "grafana" for source in prometheus)
    assert set(watcher_stack["grafana"]["depends_on"]) == {f"prometheus-{replica}" for replica in REPLICAS}


def test_watcher_compose_refuses_to_start_without_passwords(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text((ROOT / ".env.watcher.example").read_text())
    result = subprocess.run(["docker-compose", "--project-directory", str(ROOT), "-f", str(COMPOSE),
                             "--env-file", str(env_file), "config", "-q"], capture_output=True, text=True, timeout=60,
                            env={key: value for key, value in os.environ.items() if "PASSWORD" not in key})
    assert result.returncode == 1 and "GRAFANA_ADMIN_PASSWORD" in result.stderr, result.stderr


def test_watcher_compose_refuses_to_start_without_the_operators_sites(tmp_path):
    """No fallback to the example, which names a real LPSE: the watcher probes only sites its operator listed."""
    env_file = tmp_path / ".env"
    env_file.write_text("GRAFANA_ADMIN_PASSWORD=x\nWATCHER_GRAFANA_PASSWORD=x\n")
    result = subprocess.run(["docker-compose", "--project-directory", str(ROOT), "-f", str(COMPOSE),
                             "--env-file", str(env_file), "config", "-q"], capture_output=True, text=True, timeout=60,
                            env={key: value for key, value in os.environ.items() if key != "WATCHER_CONFIG_FILE"})
    assert result.returncode == 1 and "set WATCHER_CONFIG_FILE in .env" in result.stderr, result.stderr


def test_web_config_example_once_filled_in_is_valid(tmp_path):
    """secrets/watcher-web.yml as an operator makes it from the example: each placeholder replaced by a hash."""
    text = (WATCHER_DIR / "web.yml.example").read_text()
    placeholders = [line.split(": ", 1)[1] for line in text.splitlines() if "REPLACE-WITH" in line]
    assert len(placeholders) == 2  # one site and Grafana
    for placeholder in placeholders:
        text = text.replace(placeholder, bcrypt.hashpw(b"secret", bcrypt.gensalt(4)).decode())
    (tmp_path / "watcher-web.yml").write_text(text)
    result = promtool("check", "web-config", str(tmp_path / "watcher-web.yml"))
    assert result.returncode == 0, result.stdout + result.stderr


def test_only_known_sites_may_write_to_the_watcher(tmp_path, start_prometheus):
    """The watcher's remote-write receiver behind basic auth: no password or a wrong one is refused before
    the body is read; a site's own password gets to the receiver (which rejects this empty body)."""
    web = tmp_path / "web.yml"
    web.write_text(yaml.safe_dump({"basic_auth_users": {"kutaibarat": bcrypt.hashpw(b"right", bcrypt.gensalt(4)).decode()}}))
    config = render_prometheus_config(tmp_path, exporter="127.0.0.1:1", source=WATCHER_DIR / "prometheus.yml")
    watcher = start_prometheus(config, ["--web.enable-remote-write-receiver", f"--web.config.file={web}"],
                               auth=("kutaibarat", "right"))

    def write(user: str | None) -> int:
        headers = {"Content-Type": "application/x-protobuf", "Content-Encoding": "snappy"}
        if user:
            headers["Authorization"] = "Basic " + base64.b64encode(user.encode()).decode()
        return http_get(f"{watcher.url}/api/v1/write", method="POST", headers=headers)[0]
    assert write(None) == 401
    assert write("kutaibarat:wrong") == 401
    assert write("samarinda:right") == 401
    assert write("kutaibarat:right") == 400  # past the auth: the receiver itself refuses an empty body


def test_notify_test_checks_the_watchers_receivers_at_once(tmp_path, telegram, start_alertmanager):
    """The README's watcher steps end with `notify-test` as a site's do: rendered from the watcher host's .env, the
    test notification reaches the Telegram stand-in without waiting for a site group's 30 s."""
    env = {"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_CHAT_ID": CHAT_ID, "TELEGRAM_API_URL": telegram.url}
    rendered = render_as_compose(tmp_path, env, str(WATCHER_DIR / "alertmanager.yml"))
    assert rendered.returncode == 0, rendered.stderr
    result = notify_test(start_alertmanager(tmp_path / "alertmanager.yml"))  # waits 20 s at most
    assert result.returncode == 0, result.stdout + result.stderr
    [message] = telegram.messages
    assert "UJI: notifikasi uji dari spse-exporter" in message["text"], message["text"]


@pytest.mark.parametrize("name", ["README.md", "README.id.md"])
def test_readme_watcher_steps_end_with_a_test_notification(name):
    steps = (ROOT / name).read_text().split("docker compose -p spse-watcher -f docker-compose.watcher.yml up -d", 1)[1]
    assert ("for peer in 1 2 3; do docker compose -p spse-watcher -f docker-compose.watcher.yml exec exporter "
            "spse-exporter notify-test --alertmanager.url=http://alertmanager-$peer:9093; done") \
        in steps.split("```", 1)[0], name
