"""The file `spse-exporter alertmanager-config` writes holds the bot token, SMTP password and webhook URLs: run as
docker compose runs it, only Alertmanager's user may read it, and it is replaced whole, never rewritten in place."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import yaml

from tests.stack import STACK_DIR, AlertmanagerProcess
from tests.support import ROOT
from tests.e2e.test_notify import CHAT_ID, TOKEN, compose_services

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv"),
                                reason="needs root and setpriv (util-linux) to run as compose's users")


def as_user(user: str) -> list[str]:
    """setpriv's arguments to run as compose's `user: "uid:gid"`, without supplementary groups."""
    uid, gid = user.split(":")
    return ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups"]


@pytest.fixture
def volume():
    """The named volume both services mount: a fresh directory owned by root, mode 0755, outside pytest's
    private temporary tree so that other users can reach it."""
    path = Path(tempfile.mkdtemp(prefix="spse-rendered-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path)


def test_only_alertmanagers_user_reads_the_rendered_secrets(tmp_path, volume):
    """alertmanager-config as compose runs it (root in Alertmanager's group, no capability; here under umask 077)
    replaces a world-readable file an older version left, and a stale temporary copy, with a 0640 file in
    Alertmanager's group; the real Alertmanager as compose's user loads it, any other user cannot read it."""
    services = compose_services(tmp_path, TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_CHAT_ID=CHAT_ID)
    render, alertmanager_user = services["alertmanager-config"], services["alertmanager"]["user"]
    output = volume / "alertmanager.yml"
    output.write_text("# from an older version\n")
    output.chmod(0o644)
    (volume / "alertmanager.yml.tmp").write_text("# left by a killed run\n")
    old_inode = output.stat().st_ino

    result = subprocess.run(
        ["sh", "-c", 'umask 077 && exec "$@"', "sh", *as_user(render["user"]), "--inh-caps=-all", "--bounding-set=-all",
         "--", sys.executable, "-m", "exporter", "alertmanager-config", str(STACK_DIR / "alertmanager.yml"), str(output),
         "--env-file=/dev/null"],  # compose's container has no .env; the checkout's must not count
        capture_output=True, text=True, env={"PATH": "/usr/bin:/bin", **render["environment"]}, cwd=ROOT, timeout=30)

    assert result.returncode == 0, result.stderr
    written = output.stat()
    assert stat.S_IMODE(written.st_mode) == 0o640, oct(written.st_mode)
    assert f"{written.st_uid}:{written.st_gid}" == render["user"]
    assert alertmanager_user.split(":")[1] == render["user"].split(":")[1], "Alertmanager must be in the file's group"
    assert written.st_ino != old_inode, "a rename of a complete file, not a rewrite Alertmanager could read half of"
    assert sorted(os.listdir(volume)) == ["alertmanager.yml"]
    receivers = {r["name"]: r for r in yaml.safe_load(output.read_text())["receivers"]}
    assert receivers["ops-critical"]["telegram_configs"][0]["bot_token"] == TOKEN

    other = subprocess.run([*as_user("1000:1000"), "cat", str(output)], capture_output=True, text=True, timeout=10)
    assert other.returncode != 0 and "Permission denied" in other.stderr, other

    data = volume / "alertmanager-data"  # Alertmanager's own volume, its user's
    data.mkdir()
    os.chown(data, *map(int, alertmanager_user.split(":")))
    alertmanager = AlertmanagerProcess(output, data, wrapper=as_user(alertmanager_user))
    try:
        alertmanager.wait_ready()
        status = alertmanager.get_json("/api/v2/status")
    finally:
        alertmanager.stop()
    loaded = yaml.safe_load(status["config"]["original"])
    assert {r["name"]: r for r in loaded["receivers"]}["ops-critical"]["telegram_configs"], status["config"]
