"""The watcher without Docker: contrib/systemd's template units for the two Prometheus replicas and the three
Alertmanager peers verify under systemd 252 (Debian 12), and their own command lines, as README.md's "The watcher
without Docker" sets them up (/etc/hosts naming the peers, one loopback address per peer), run Debian's binaries
as one cluster that gets both replicas' alerts, with the Alertmanager config the README's alertmanager-config line
writes from .env. Run in a network namespace whose /etc/hosts is the README's. README.id.md gives the same commands."""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import bcrypt
import pytest
import yaml

from tests import netns
from tests.stack import STACK_DIR
from tests.support import ROOT, ServerProcess, http_get, parse_metrics, poll

UNITS = ROOT / "contrib/systemd"
PROMETHEUS_UNIT = UNITS / "spse-watcher-prometheus@.service"
ALERTMANAGER_UNIT = UNITS / "spse-watcher-alertmanager@.service"
REPLICAS, PEERS = ("a", "b"), ("1", "2", "3")
HOSTS = "127.0.1.1 alertmanager-1\n127.0.1.2 alertmanager-2\n127.0.1.3 alertmanager-3\n127.0.0.1 exporter\n"
PASSWORD = "reader-test-password"


def unit_settings(unit: Path) -> dict[str, list[str]]:
    """Key -> values of the [Service] lines, continuation lines joined."""
    found: dict[str, list[str]] = {}
    for line in unit.read_text().replace("\\\n", " ").splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, value = line.split("=", 1)
            found.setdefault(key, []).append(" ".join(value.split()))
    return found


def command(unit: Path, instance: str, env: dict[str, str], root: Path) -> list[str]:
    """The unit's ExecStart for `instance` as systemd runs it, with its directories moved under `root`."""
    (line,) = unit_settings(unit)["ExecStart"]
    line = line.replace("%i", instance).replace("/etc/spse-watcher", str(root / "etc"))
    line = line.replace("/var/lib/spse-watcher", str(root / "var"))
    return [re.sub(r"\$\{(\w+)\}", lambda match: env[match.group(1)], word) for word in line.split()]


@pytest.mark.parametrize("unit, instance", [(PROMETHEUS_UNIT, "a"), (ALERTMANAGER_UNIT, "1")])
def test_units_verify_without_warnings(tmp_path, unit, instance):
    shutil.copy(unit, tmp_path)
    (tmp_path / unit.name.replace("@", f"@{instance}")).symlink_to(tmp_path / unit.name)
    result = subprocess.run(["systemd-analyze", "verify", str(tmp_path / unit.name.replace("@", f"@{instance}"))],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr


def test_replicas_differ_only_in_their_instance():
    settings = unit_settings(PROMETHEUS_UNIT)
    assert settings["Environment"] == ["WATCHER_REPLICA=%i"] and settings["User"] == ["prometheus"]
    (exec_start,) = settings["ExecStart"]
    assert "--enable-feature=expand-external-labels" in exec_start
    assert "--config.file=/etc/spse-watcher/prometheus/watcher/prometheus.yml" in exec_start
    peers = [flag for flag in unit_settings(ALERTMANAGER_UNIT)["ExecStart"][0].split() if "--cluster.peer=" in flag]
    assert peers == [f"--cluster.peer=alertmanager-{peer}:9094" for peer in PEERS]
    assert re.findall(r"(\S+) alertmanager-", HOSTS) == [f"127.0.1.{peer}" for peer in PEERS]
    readme = (ROOT / "README.md").read_text()
    assert HOSTS.strip().replace("\n", "\\n") in readme  # the README's printf line


def watcher_native_commands(name: str) -> list[str]:
    """The commands of the README's "watcher without Docker" block: continuation lines joined, comments dropped."""
    heading = {"README.md": "### The watcher without Docker", "README.id.md": "### Watcher tanpa Docker"}[name]
    text = (ROOT / name).read_text()
    (block,) = re.findall(r"```sh\n(.*?)```", text[text.index(heading):].split("\n## ", 1)[0], re.S)
    return [re.sub(r"\s+# .*$", "", line) for line in block.replace("\\\n", " ").splitlines()
            if not line.startswith("#")]


def test_both_readmes_give_the_same_watcher_steps_and_let_alertmanager_config_read_env():
    """The same commands in both languages; .env is read by alertmanager-config itself, as at the site (it is root's
    only there: `set -a && . ./.env` in the operator's shell would not read it, nor keep the secrets out of it)."""
    english = watcher_native_commands("README.md")
    assert english == watcher_native_commands("README.id.md")
    (render,) = [line for line in english if " alertmanager-config " in line]
    assert " --env-file .env " in render and not [line for line in english if "set -a" in line or ". ./.env" in line]


def readme_alertmanager_config(etc: Path, cwd: Path) -> subprocess.CompletedProcess:
    """README.md's alertmanager-config line as written, run in `cwd` with /etc/spse-watcher moved to `etc`, and none of
    the receivers' settings in the environment: they can come only from `cwd`/.env."""
    (render,) = [line.split() for line in watcher_native_commands("README.md") if " alertmanager-config " in line]
    assert render[:2] == ["sudo", "/opt/spse-exporter/bin/spse-exporter"], render
    argv = [sys.executable, "-m", "exporter", *[word.replace("/etc/spse-watcher", str(etc)) for word in render[2:]]]
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("TELEGRAM_", "SMTP_", "WEBHOOK_", "WARNING_", "WATCHDOG_"))}
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=60)


UNAVAILABLE = netns.unavailable()


@pytest.mark.skipif(bool(UNAVAILABLE), reason=UNAVAILABLE)
@pytest.mark.timeout(180)
def test_the_native_layout_runs_as_one_cluster_with_both_replicas(tmp_path):
    name = f"spse-units-{os.getpid()}"
    hosts_dir = Path("/etc/netns") / name  # `ip netns exec` shows this hosts file as /etc/hosts
    namespace, processes = None, []
    try:
        hosts_dir.mkdir(parents=True)
        (hosts_dir / "hosts").write_text(HOSTS)
        namespace = netns.Namespace(name)
        etc = tmp_path / "etc"
        shutil.copytree(STACK_DIR, etc / "prometheus")  # README: sudo cp -r prometheus /etc/spse-watcher/
        hook = "http://127.0.0.1:9/on-call"  # the discard port: nothing is delivered, the config is what is tested
        (tmp_path / ".env").write_text(f"WEBHOOK_URL={hook}\n")
        rendered = readme_alertmanager_config(etc, tmp_path)
        assert rendered.returncode == 0, rendered.stderr
        assert hook in (etc / "alertmanager.yml").read_text()  # read from .env, not the environment
        (etc / "watcher-web.yml").write_text(yaml.safe_dump({"basic_auth_users": {
            "grafana": bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(4)).decode()}}))
        wrapper = ["ip", "netns", "exec", name]
        peers = []
        for peer in PEERS:
            argv = command(ALERTMANAGER_UNIT, peer, {"ADDRESS": f"127.0.1.{peer}"}, tmp_path)
            process = ServerProcess([*wrapper, *argv], tmp_path / f"alertmanager-{peer}.log", 9093)
            process.host, process.name = f"127.0.1.{peer}", f"alertmanager-{peer}"
            processes.append(process)
            peers.append(process)
        replicas = []
        for replica, port in zip(REPLICAS, (9090, 9091)):
            env = {"LISTEN": f"127.0.0.1:{port}", "EXTERNAL_URL": f"http://watcher.contoh.example:{port}"}
            argv = command(PROMETHEUS_UNIT, replica, env, tmp_path)
            # resend-delay: the first alert, sent before the peers are discovered, comes again in 1 s, not 1 minute
            process = ServerProcess([*wrapper, "env", f"WATCHER_REPLICA={replica}", *argv,
                                     "--rules.alert.resend-delay=1s"], tmp_path / f"prometheus-{replica}.log", port)
            process.name = f"prometheus-{replica}"
            process.headers = {"Authorization": "Basic " + base64.b64encode(f"grafana:{PASSWORD}".encode()).decode()}
            processes.append(process)
            replicas.append(process)
        for process in processes:
            namespace.call(process.wait_ready)

        def metric(process, name: str) -> float:
            status, body, _ = namespace.call(http_get, f"{process.url}/metrics", headers=process.headers)
            assert status == 200, status
            return sum(value for (found, _), value in parse_metrics(body.decode()).items() if found == name)
        poll(lambda: all(metric(peer, "alertmanager_cluster_members") == len(PEERS) for peer in peers), 60, 0.5,
             "three peers in one cluster")
        for replica, process in zip(REPLICAS, replicas):
            status, body, _ = namespace.call(http_get, f"{process.url}/api/v1/status/config", headers=process.headers)
            loaded = yaml.safe_load(yaml.safe_load(body)["data"]["yaml"])
            assert loaded["global"]["external_labels"]["replica"] == replica
        # Both replicas reach every peer by the names of the shipped prometheus.yml: each peer counts two senders
        # of WatcherWatchdog's alert (one alert: `replica` is dropped).
        poll(lambda: all(metric(process, "prometheus_notifications_alertmanagers_discovered") == len(PEERS)
                         and metric(process, "prometheus_notifications_sent_total") > 0 for process in replicas),
             60, 0.5, "both replicas sending to the three peers")

        def one_watchdog_at_every_peer():
            for peer in peers:
                status, body, _ = namespace.call(
                    http_get, f"{peer.url}/api/v2/alerts?filter=alertname%3D%22WatcherWatchdog%22")
                alerts = yaml.safe_load(body)
                assert status == 200 and len(alerts) == 1 and "replica" not in alerts[0]["labels"], alerts
            return True
        poll(one_watchdog_at_every_peer, 60, 0.5, "WatcherWatchdog, once, at every peer")
    finally:
        for process in processes:
            process.stop()
        if namespace:
            namespace.delete()
        shutil.rmtree(hosts_dir, ignore_errors=True)
