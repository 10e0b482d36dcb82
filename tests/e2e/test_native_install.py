"""The native path on Debian 12, from a fresh clone to a delivered test notification without Docker:
scripts/install-native.sh installs into a temporary root, then Debian's prometheus and prometheus-alertmanager and
the exporter run from the installed files with the command lines of their installed units and drop-ins (as the
units' users, in a network namespace where the installed root is mounted over /etc and /opt), and
`notify-test` reaches a webhook and a Telegram stand-in with every link on the operator's public addresses."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import yaml

from exporter import envfile
from tests import netns
from tests.stack import STACK_DIR, WebhookReceiver
from tests.support import ROOT, ServerProcess, http_get, poll
from tests.e2e.test_notify import CHAT_ID, TOKEN, FakeTelegram
from tests.e2e.test_runbook import Ids

SCRIPT = ROOT / "scripts/install-native.sh"
WHEELS = ROOT / ".cache/wheels"
DEBIAN_UNITS = Path("/lib/systemd/system")
# The operator's public addresses (.env): no link in a notification may point anywhere else.
PUBLIC = {"PROMETHEUS_EXTERNAL_URL": "http://pantau.lpse.contoh.example:9090",
          "ALERTMANAGER_EXTERNAL_URL": "http://pantau.lpse.contoh.example:9093",
          "EXPORTER_EXTERNAL_URL": "http://pantau.lpse.contoh.example:10040"}
# The installed root is seen at / by the services: its /etc and /opt over the host's, its state dir instead.
MOUNTS = ('r=$1; shift; mount -t overlay spse-etc -o "lowerdir=$r/etc:/etc" /etc'
          ' && mount -t overlay spse-opt -o "lowerdir=$r/opt:/opt" /opt'
          ' && mount --bind "$r/var/lib/prometheus" /var/lib/prometheus && exec "$@"')
NOT_ROOT = "" if os.geteuid() == 0 else "installs as root (CI runs as root)"
UNAVAILABLE = NOT_ROOT or netns.unavailable()


def fresh_clone(dest: Path) -> Path:
    """The files a `git clone` of this checkout has (tracked ones and new ones not ignored), nothing else: no
    .venv, .cache or .env."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        if (ROOT / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, dest / name)
    return dest


def install_env(root: Path) -> dict[str, str]:
    """A root shell's environment, with pip offline from the wheels scripts/test.sh built: no traffic beyond this
    machine (the refusals stop before pip and need none)."""
    return {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": str(root), "PIP_NO_INDEX": "1",
            "PIP_FIND_LINKS": str(WHEELS)}


def install(clone: Path, root: Path, *flags: str) -> subprocess.CompletedProcess:
    """The README's `sudo bash scripts/install-native.sh`, into `root`."""
    return subprocess.run(["bash", str(clone / "scripts/install-native.sh"), f"--root={root}", *flags], cwd=clone,
                          capture_output=True, text=True, env=install_env(root), timeout=600)


def follow_readme(clone: Path, root: Path, settings: dict[str, str]) -> subprocess.CompletedProcess:
    """README.id.md's native steps, run in `clone` as written, but: no apt-get and git clone (the packages are
    installed, the clone made), $EDITOR fills .env with `settings`, sudo is the root shell, the script gets --root."""
    (block,) = re.findall(r"```sh\n(.*?)```", native_section("README.id.md"), re.S)
    steps = [line for line in block.splitlines() if not line.startswith(("#", "sudo apt-get", "git clone", "/opt/"))]
    editor = root.parent / "editor"
    editor.write_text('#!/bin/sh\ncase "$1" in *.env) cat "$0.env" >> "$1" ;; esac\n')
    editor.chmod(0o755)
    Path(f"{editor}.env").write_text("".join(f"{key}={value}\n" for key, value in settings.items()))
    script = "set -e\nsudo() { \"$@\"; }\n" + "\n".join(steps).replace(
        "scripts/install-native.sh", f"scripts/install-native.sh --root={root}")
    return subprocess.run(["bash", "-c", script], cwd=clone, capture_output=True, text=True, timeout=600,
                          env={**install_env(root), "EDITOR": str(editor)})


def write_env(directory: Path, **settings: str) -> Path:
    """README: cp .env.example .env, fill it in, chown root and chmod 600."""
    path = directory / ".env"
    values = {**envfile.read(ROOT / ".env.example", environ={}), **settings}
    path.write_text("".join(f"{key}={value}\n" for key, value in values.items()))
    path.chmod(0o600)
    return path


def unit_lines(*paths: Path) -> dict[str, list[str]]:
    """The [Service] settings of a unit and its drop-ins, in order, as systemd merges them: an empty ExecStart= or
    EnvironmentFile= clears the earlier ones."""
    found: dict[str, list[str]] = {}
    for path in paths:
        for line in path.read_text().replace("\\\n", " ").splitlines():
            if "=" in line and not line.startswith(("#", "[")):
                key, value = line.split("=", 1)
                found[key] = [*found.get(key, []), value] if value else []
    return found


def service(unit: Path, *dropins: Path, root: Path) -> tuple[list[str], list[str], dict[str, str]]:
    """(setpriv's user flags, ExecStart's argv, environment) of an installed service, as systemd would run it;
    EnvironmentFile paths are read from the installed root where it has them."""
    settings = unit_lines(unit, *dropins)
    env: dict[str, str] = {}
    for path in settings.get("EnvironmentFile", []):
        path = path.lstrip("-")
        env |= envfile.read(root / path.lstrip("/") if (root / path.lstrip("/")).exists() else Path(path), environ={})
    for value in settings.get("Environment", []):
        env |= dict(pair.split("=", 1) for pair in value.split())
    (line,) = settings["ExecStart"][-1:]
    argv = []
    for word in line.split():  # systemd: $NAME splits into words, ${NAME} stays one word
        if match := re.fullmatch(r"\$(\w+)", word):
            argv += env.get(match[1], "").split()
        else:
            argv.append(re.sub(r"\$\{(\w+)\}", lambda m: env.get(m[1], ""), word))
    if settings.get("DynamicUser") == ["yes"]:
        user = ["--reuid=65534", "--regid=65534", "--clear-groups"]
    else:
        (name,) = settings["User"]
        user = [f"--reuid={name}", f"--regid={name}", "--init-groups"]
    return user, argv, env


def start(namespace: netns.Namespace, root: Path, name: str, port: int, user: list[str], argv: list[str],
          env: dict[str, str], logs: Path) -> ServerProcess:
    command = ["ip", "netns", "exec", namespace.name, "unshare", "--mount", "--propagation", "private",
               "sh", "-c", MOUNTS, "sh", str(root), "setpriv", *user, *argv]
    process = ServerProcess(command, logs / f"{name}.log", port, cwd=Path("/"),
                            env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", **env})
    process.name = name
    return process


def links(text: str) -> list[str]:
    return re.findall(r"https?://[^\s\"'<>\\]+", text)


@pytest.mark.skipif(bool(UNAVAILABLE), reason=UNAVAILABLE)
@pytest.mark.timeout(900)
def test_fresh_clone_to_a_delivered_test_notification_without_docker():
    assert any(WHEELS.glob("*.whl")), f"no wheels in {WHEELS}: scripts/test.sh builds them"
    work = Path(tempfile.mkdtemp(prefix="spse-native-"))
    work.chmod(0o755)  # the venv's interpreter path is under it, run by the services' users
    name = f"spse-native-{os.getpid()}"
    with contextlib.ExitStack() as cleanup:  # run backwards: the servers, the namespace, the files
        cleanup.callback(shutil.rmtree, work, ignore_errors=True)
        clone, root, logs = fresh_clone(work / "clone"), work / "root", work / "logs"
        logs.mkdir()
        namespace = netns.Namespace(name)
        cleanup.callback(namespace.delete)
        webhook = namespace.call(WebhookReceiver)  # listening inside the namespace, where Alertmanager runs
        telegram = namespace.call(FakeTelegram)
        token_file = clone / "secrets/telegram_bot_token"  # secrets/README.md's way, named as compose names it
        token_file.write_text(TOKEN)
        token_file.chmod(0o600)
        (clone / "secrets/watcher_password").write_text("remote-write-password")  # prometheus/remote-write.yml's

        debian = {file: Path("/etc/prometheus", file).read_bytes() for file in ("prometheus.yml", "alertmanager.yml")}
        (root / "etc/prometheus").mkdir(parents=True)
        for file, text in debian.items():  # what Debian's packages installed there
            (root / "etc/prometheus" / file).write_bytes(text)

        result = follow_readme(clone, root, {
            **PUBLIC, "TELEGRAM_BOT_TOKEN_FILE": "/run/secrets/telegram_bot_token", "TELEGRAM_CHAT_ID": CHAT_ID,
            "TELEGRAM_API_URL": telegram.url, "WEBHOOK_URL": f"{webhook.url}pages",
            "WATCHDOG_URL": f"{webhook.url}watchdog"})
        assert result.returncode == 0, result.stdout + result.stderr
        assert (clone / ".env").stat().st_mode & 0o777 == 0o600
        assert f"{root}/etc/prometheus/alertmanager.yml: ops-critical mengirim lewat telegram dan webhook" in \
            result.stderr, result.stderr
        assert {file: (root / "etc/prometheus" / f"{file}.orig").read_bytes() for file in debian} == debian
        notify_command = result.stdout.strip().splitlines()[-1].split()
        (readme_notify,) = [line.split() for line in native_section("README.id.md").splitlines()
                            if line.startswith("/opt/spse-exporter/bin/spse-exporter notify-test")]
        assert [word.split("=")[0] for word in notify_command] == [word.split("=")[0] for word in readme_notify]
        assert notify_command[-1] == f"--runbook.base={PUBLIC['EXPORTER_EXTERNAL_URL']}", result.stdout

        # The secrets: Alertmanager's group reads them, nobody else.
        rendered = root / "etc/prometheus/alertmanager.yml"
        assert (rendered.stat().st_mode & 0o777, rendered.stat().st_uid, rendered.group()) == (0o640, 0, "prometheus")
        assert TOKEN in rendered.read_text() and TOKEN not in (root / "etc/spse-exporter/native.env").read_text()

        def reads(user: list[str], path: Path) -> bool:
            return subprocess.run(["setpriv", *user, "cat", str(path)], capture_output=True, timeout=30).returncode == 0
        alertmanager_user = ["--reuid=prometheus", "--regid=prometheus", "--init-groups"]
        assert reads(alertmanager_user, rendered) and not reads(["--reuid=65534", "--regid=65534", "--clear-groups"],
                                                                rendered)
        password = root / "etc/prometheus/secrets/watcher_password"  # Prometheus reads it, relative to its config
        assert (password.stat().st_mode & 0o777, password.stat().st_uid, password.group()) == (0o640, 0, "prometheus")
        assert not (root / "etc/prometheus/secrets/telegram_bot_token").exists()  # Alertmanager's is in its config
        # prometheus.yml stays the compose one but for its addresses: generated from it, not a copy that drifts.
        native = yaml.safe_load((root / "etc/prometheus/prometheus.yml").read_text())
        compose = yaml.safe_load((STACK_DIR / "prometheus.yml").read_text())
        assert native["global"]["external_labels"].pop("runbook_base") == PUBLIC["EXPORTER_EXTERNAL_URL"]
        compose["global"]["external_labels"].pop("runbook_base")
        targets = re.compile(r"'targets': \['[^']*'\]")
        assert targets.sub("T", str(native)) == targets.sub("T", str(compose))
        assert set(re.findall(r"'targets': \['([^':]*):", str(native))) == {"127.0.0.1"}

        # Installed again: the same files, no pip, no backup of its own files.
        before = {path: path.read_bytes() for path in (root / "etc").rglob("*") if path.is_file()}
        again = install(clone, root)
        assert again.returncode == 0 and "pip install" not in again.stdout, again.stdout + again.stderr
        assert {path: path.read_bytes() for path in (root / "etc").rglob("*") if path.is_file()} == before

        for state in ("metrics2", "alertmanager"):  # what Debian's packages create, owned by their user
            (root / "var/lib/prometheus" / state).mkdir(parents=True)
            shutil.chown(root / "var/lib/prometheus" / state, "prometheus", "prometheus")
            shutil.chown(root / "var/lib/prometheus", "prometheus", "prometheus")
        units = root / "etc/systemd/system"
        alertmanager = start(namespace, root, "alertmanager", 9093, *service(
            DEBIAN_UNITS / "prometheus-alertmanager.service",
            units / "prometheus-alertmanager.service.d/spse-exporter.conf", root=root), logs)
        cleanup.callback(alertmanager.stop)
        exporter_user, exporter_argv, exporter_env = service(
            units / "spse-exporter.service", units / "spse-exporter.service.d/alertmanager.conf", root=root)
        assert exporter_env["SPSE_ALERTMANAGER_URL"] == "http://127.0.0.1:9093"
        exporter = start(namespace, root, "exporter", 10040, exporter_user, exporter_argv, exporter_env, logs)
        cleanup.callback(exporter.stop)
        user, argv, env = service(DEBIAN_UNITS / "prometheus.service",
                                  units / "prometheus.service.d/spse-exporter.conf", root=root)
        assert f"--web.external-url={PUBLIC['PROMETHEUS_EXTERNAL_URL']}" in argv
        # Test only: the first Watchdog, sent before Alertmanager is discovered, comes again in 1 s, not 1 minute.
        prometheus = start(namespace, root, "prometheus", 9090, user, [*argv, "--rules.alert.resend-delay=1s"], env,
                           logs)
        cleanup.callback(prometheus.stop)
        for process in (alertmanager, exporter, prometheus):
            namespace.call(process.wait_ready, 120)

        def scraped() -> bool:
            status, body, _ = namespace.call(http_get, f"{prometheus.url}/api/v1/query?query=up")
            up = {sample["metric"]["job"]: sample["value"][1] for sample in json.loads(body)["data"]["result"]}
            return status == 200 and up == {"spse-exporter": "1", "prometheus": "1", "alertmanager": "1"}
        poll(scraped, 120, 0.5, "Prometheus scraping the exporter, itself and Alertmanager on loopback")

        def payloads(receiver: str) -> list[dict]:
            return [payload for _, payload in webhook.received if payload["receiver"] == receiver]
        poll(lambda: payloads("watchdog"), 180, 0.5, "Watchdog through Prometheus and Alertmanager")

        sent = subprocess.run(["ip", "netns", "exec", name, "unshare", "--mount", "--propagation", "private", "sh",
                               "-c", MOUNTS, "sh", str(root), *notify_command, "--timeout=60"],
                              capture_output=True, text=True, timeout=120, cwd="/")
        assert sent.returncode == 0 and "TERKIRIM" in sent.stdout, sent.stdout + sent.stderr
        poll(lambda: payloads("notify-test") and telegram.messages, 30, 0.2, "the test notification")

        (test_payload,) = payloads("notify-test")
        (test_alert,) = test_payload["alerts"]
        # The annotation is "English / Indonesian" as the rules write them; the templates lead with Indonesian.
        assert "/ UJI: notifikasi uji" in test_alert["annotations"]["summary"]
        assert test_alert["annotations"]["runbook_url"] == f"{PUBLIC['EXPORTER_EXTERNAL_URL']}/runbook#notificationtest"
        assert test_payload["externalURL"] == PUBLIC["ALERTMANAGER_EXTERNAL_URL"]
        watchdog = payloads("watchdog")[0]["alerts"][0]
        assert watchdog["generatorURL"].startswith(f"{PUBLIC['PROMETHEUS_EXTERNAL_URL']}/graph?")
        assert watchdog["annotations"]["runbook_url"].startswith(f"{PUBLIC['EXPORTER_EXTERNAL_URL']}/runbook#")
        # The Telegram text, rendered by the installed templates, Indonesian first.
        (message,) = [m["text"] for m in telegram.messages if "UJI NOTIFIKASI" in m["text"]]
        assert "Tidak perlu tindakan apa pun" in message, message
        assert message.index("UJI: notifikasi uji") < message.index("TEST: a test notification"), message
        everything = json.dumps([payload for _, payload in webhook.received]) + message
        found = links(everything)
        assert f"{PUBLIC['EXPORTER_EXTERNAL_URL']}/runbook#notificationtest" in found
        assert [link for link in found if not link.startswith(tuple(PUBLIC.values()))] == [], found
        # And each opens: the public address is the service's (a proxy or tunnel in production, loopback here).
        listening = {PUBLIC["PROMETHEUS_EXTERNAL_URL"]: prometheus.url, PUBLIC["ALERTMANAGER_EXTERNAL_URL"]:
                     alertmanager.url, PUBLIC["EXPORTER_EXTERNAL_URL"]: exporter.url}
        for link in sorted(set(found)):
            public = next(address for address in PUBLIC.values() if link.startswith(address))
            url, _, anchor = (listening[public] + link[len(public):]).partition("#")
            status, body, _ = namespace.call(http_get, url)
            assert status == 200, f"{link}: {status}"
            assert not anchor or anchor in Ids(body.decode()).ids, f"{link}: no such anchor"

        # A half-filled .env afterwards: refused with the setting to fill in, the installed files untouched.
        write_env(clone, **PUBLIC, TELEGRAM_BOT_TOKEN=TOKEN)
        half = install(clone, root)
        assert half.returncode == 2 and "TELEGRAM_CHAT_ID" in half.stderr, half.stderr
        assert "perbaiki pengaturan penerima" in half.stderr and "Tidak ada konfigurasi yang dipasang" in half.stderr
        assert {path: path.read_bytes() for path in (root / "etc").rglob("*") if path.is_file()} == before
        # An installed file edited in place is kept once the next run installs the clone's again.
        installed = root / "etc/spse-exporter/spse.yml"
        installed.write_text(installed.read_text() + "# edited in /etc\n")
        write_env(clone, **PUBLIC, TELEGRAM_BOT_TOKEN_FILE="/run/secrets/telegram_bot_token", TELEGRAM_CHAT_ID=CHAT_ID)
        assert install(clone, root).returncode == 0
        assert installed.read_bytes() == (clone / "config/spse.yml").read_bytes()
        assert installed.with_name("spse.yml.bak").read_text().endswith("# edited in /etc\n")
        # A job added with a compose host name the generator cannot turn to loopback stops the install.
        installed_config = (root / "etc/prometheus/prometheus.yml").read_bytes()
        with (clone / "prometheus/prometheus.yml").open("a") as config:
            config.write("  - job_name: grafana\n    static_configs:\n      - targets: [grafana:3000]\n")
        compose_host = install(clone, root, "--lang=en")
        assert compose_host.returncode == 2 and "grafana:3000: host names that exist only inside docker compose" \
            in compose_host.stderr, compose_host.stderr
        assert (root / "etc/prometheus/prometheus.yml").read_bytes() == installed_config


def refused(tmp_path, *flags: str, env_file: Path | None = None) -> str:
    """The script's refusal (exit 2) of a bad setting, in the operator's language; nothing installed (it stops
    before the venv)."""
    root = tmp_path / "root"
    result = install(ROOT, root, *flags, *([f"--env-file={env_file}"] if env_file else []))
    assert result.returncode == 2, result.stdout + result.stderr
    assert not root.exists() or not any(root.iterdir())
    return result.stderr


@pytest.mark.skipif(bool(NOT_ROOT), reason=NOT_ROOT)
def test_an_unknown_language_is_named_with_the_choices_in_both_languages(tmp_path):
    message = refused(tmp_path, "--lang=jawa")
    assert "bahasa 'jawa' tidak dikenal: pakai --lang id" in message and "unknown language 'jawa'" in message


@pytest.mark.skipif(bool(NOT_ROOT), reason=NOT_ROOT)
@pytest.mark.parametrize("lang, fix", [("id", "Buat dari contoh: cp .env.example .env"),
                                       ("en", "Make it from the example: cp .env.example .env")])
def test_a_missing_env_file_says_how_to_make_it(tmp_path, lang, fix):
    message = refused(tmp_path, f"--lang={lang}", env_file=tmp_path / ".env")
    assert f"{tmp_path / '.env'}" in message and fix in message and "chmod 600 .env" in message


@pytest.mark.skipif(bool(NOT_ROOT), reason=NOT_ROOT)
def test_an_env_file_others_can_read_is_refused_with_the_fix(tmp_path):
    env_file = write_env(tmp_path, TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_CHAT_ID=CHAT_ID)
    env_file.chmod(0o644)
    message = refused(tmp_path, env_file=env_file)
    assert f"{env_file} berisi rahasia tetapi milik root dengan mode 0644" in message
    assert f"sudo chown root:root {env_file} && sudo chmod 600 {env_file}" in message


@pytest.mark.skipif(bool(NOT_ROOT), reason=NOT_ROOT)
def test_a_secret_file_with_the_wrong_owner_is_refused_with_the_fix(tmp_path):
    secret = tmp_path / "telegram_bot_token"
    secret.write_text(TOKEN)
    secret.chmod(0o600)
    os.chown(secret, 65534, 65534)  # e.g. chowned for a container's nobody: that user could swap the token
    env_file = write_env(tmp_path, TELEGRAM_BOT_TOKEN_FILE=str(secret), TELEGRAM_CHAT_ID=CHAT_ID,
                         SPSE_CONFIG_FILE=str(tmp_path / "spse.yml"))
    message = refused(tmp_path, "--lang=en", env_file=env_file)
    assert f"{secret} holds secrets but is owned by nobody with mode 0600" in message
    assert f"sudo chown root:root {secret} && sudo chmod 600 {secret}" in message
    os.chown(secret, 0, 0)  # positive control: fixed as told, the secret passes and the next check speaks
    assert f"exporter config {tmp_path / 'spse.yml'} does not exist" in refused(tmp_path, "--lang=en",
                                                                                 env_file=env_file)


@pytest.mark.skipif(bool(NOT_ROOT), reason=NOT_ROOT)
def test_a_compose_host_name_as_public_address_is_refused(tmp_path):
    env_file = write_env(tmp_path, ALERTMANAGER_EXTERNAL_URL="http://alertmanager:9093")
    message = refused(tmp_path, env_file=env_file)
    assert "ALERTMANAGER_EXTERNAL_URL=http://alertmanager:9093 memakai nama host yang hanya ada di dalam docker " \
           "compose" in message


def native_section(name: str) -> str:
    heading = {"README.md": "### The whole stack without Docker (Debian 12)",
               "README.id.md": "### Seluruh rangkaian pemantauan tanpa Docker (Debian 12)"}[name]
    text = (ROOT / name).read_text()
    return text[text.index(heading):].split("\n## ", 1)[0]


def table_keys(text: str) -> list[str]:
    """The first column's `code` names of every Markdown table row in `text`, in order."""
    return [key for row in re.findall(r"^\| ([^|]*) \|", text, re.M) for key in re.findall(r"`([^`]+)`", row)]


def test_both_readmes_give_the_same_native_steps_and_keys():
    english, indonesian = native_section("README.md"), native_section("README.id.md")
    commands = [[line for line in re.search(r"```sh\n(.*?)```", text, re.S)[1].splitlines()
                 if not line.startswith("#")] for text in (english, indonesian)]
    assert commands[0] == commands[1] and "sudo bash scripts/install-native.sh" in commands[0]
    assert table_keys(english) == table_keys(indonesian)
    # the keys the script reads are the ones the tables give
    script = SCRIPT.read_text()
    read = re.search(r"SETTINGS=\(([^)]*)\)", script)[1].split()
    assert set(read) <= set(table_keys(english)), set(read) - set(table_keys(english))
    # the commands the script's refusals name are the README's
    assert "sudo chown root:root .env && sudo chmod 600 .env" in commands[0] and \
        "sudo chown root:root .env && sudo chmod 600 .env" in script


def test_both_readmes_list_the_same_config_keys():
    """The configuration tables of README.md and README.id.md name the same keys and upstream check kinds."""
    def keys(name: str, heading: str) -> list[str]:
        text = (ROOT / name).read_text()
        return table_keys(text[text.index(heading):].split("\n## ", 2)[1])
    english, indonesian = keys("README.md", "\n## Configuration\n"), keys("README.id.md", "\n## Konfigurasi\n")
    assert len(english) > 30  # the section was found and read
    assert sorted(english) == sorted(indonesian), (f"only in README.md: {sorted(set(english) - set(indonesian))}; "
                                                   f"only in README.id.md: {sorted(set(indonesian) - set(english))}")


@pytest.mark.parametrize("unit, dropin", [
    (DEBIAN_UNITS / "prometheus.service", "prometheus.service.d/spse-exporter.conf"),
    (DEBIAN_UNITS / "prometheus-alertmanager.service", "prometheus-alertmanager.service.d/spse-exporter.conf"),
    (ROOT / "contrib/systemd/spse-exporter.service", "spse-exporter.service.d/alertmanager.conf")])
def test_units_with_their_drop_ins_verify_without_warnings(tmp_path, unit, dropin):
    """systemd 252 reads each drop-in with the unit it changes (Debian's own for Prometheus and Alertmanager)."""
    from tests.integration.test_systemd import INSTALLED_BINARY, VENV_BINARY
    (tmp_path / unit.name).write_text(unit.read_text().replace(f"ExecStart={INSTALLED_BINARY}",
                                                               f"ExecStart={VENV_BINARY}"))
    (tmp_path / dropin).parent.mkdir()

    def verify(text: str) -> subprocess.CompletedProcess:
        (tmp_path / dropin).write_text(text)
        return subprocess.run(["systemd-analyze", "verify", unit.name], capture_output=True, text=True, timeout=60,
                              cwd=tmp_path, env={**os.environ, "SYSTEMD_UNIT_PATH": f"{tmp_path}:"})
    shipped = (ROOT / "contrib/systemd" / dropin).read_text()
    result = verify(shipped)
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr
    # the drop-in was read: a misspelt key in it is reported
    assert "Unknown key 'Environmen" in verify(shipped.replace("Environment", "Environmen", 1)).stderr


def test_notify_test_without_a_running_alertmanager_says_where_to_look():
    """The README's notify-test before the services run (or with Alertmanager stopped): in Indonesian, English when
    asked, and how to see whether Alertmanager runs, with docker compose and under systemd."""
    from tests.fakes import free_port
    result = subprocess.run([sys.executable, "-m", "exporter", "notify-test",
                             f"--alertmanager.url=http://127.0.0.1:{free_port()}", "--timeout=5"],
                            capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert result.returncode == 1 and "notify-test: TIDAK TERKIRIM" in result.stdout, result.stdout
    assert "apakah Alertmanager berjalan?" in result.stdout and "is it running?" not in result.stdout
    assert "`systemctl status prometheus-alertmanager`" in result.stdout
    english = subprocess.run([sys.executable, "-m", "exporter", "notify-test", "--lang=en",
                              f"--alertmanager.url=http://127.0.0.1:{free_port()}", "--timeout=5"],
                             capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert "notify-test: NOT DELIVERED" in english.stdout and "is it running?" in english.stdout, english.stdout
