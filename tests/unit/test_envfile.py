"""`spse-exporter alertmanager-config` outside compose reads .env as compose does: the same values as Debian's
docker-compose resolves from the same file, the environment winning, and a bad line named in both languages."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import yaml

from exporter import envfile
from tests.stack import STACK_DIR
from tests.support import ROOT

# The forms an operator writes, with what compose makes of each.
FORMS = """\
# comment / komentar
TELEGRAM_BOT_TOKEN=123:abc
export TELEGRAM_CHAT_ID=-1001234567890
SMTP_TO = ops@contoh.example   # inline comment after a space
SMTP_FROM="Monitor SPSE <spse@contoh.example>"  # quoted, then a comment
SMTP_AUTH_PASSWORD='p#ss $word \\n'
WEBHOOK_URL=http://127.0.0.1:9/hook#anchor
SMTP_SMARTHOST="mail.contoh.example:${SMTP_PORT:-587}"
WATCHDOG_URL=
TAB_ESCAPE="a\\tb"
"""


def compose_values(tmp_path, env_file, names) -> dict[str, str]:
    """The values Debian's docker-compose 1.29 gives `names` from `env_file` (no daemon needed: `config`)."""
    compose = tmp_path / "docker-compose.yml"
    compose.write_text(yaml.safe_dump({"services": {"probe": {
        "image": "busybox", "environment": {name: f"${{{name}}}" for name in names}}}}))
    result = subprocess.run(["docker-compose", "--env-file", str(env_file), "-f", str(compose), "config"],
                            capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"}, timeout=60)
    assert result.returncode == 0, result.stderr
    # `config` prints a compose file, where a literal $ is written $$.
    return {name: str(value).replace("$$", "$") for name, value in
            yaml.safe_load(result.stdout)["services"]["probe"]["environment"].items()}


def test_reads_every_form_as_docker_compose_does(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text(FORMS)
    ours = envfile.read(env_file, environ={})
    assert ours["SMTP_FROM"] == "Monitor SPSE <spse@contoh.example>" and ours["SMTP_SMARTHOST"].endswith(":587")
    assert ours == compose_values(tmp_path, env_file, list(ours))


@pytest.mark.parametrize("line", ['TELEGRAM_BOT_TOKEN="123:abc', "TELEGRAM_CHAT_ID", "1TOKEN=x",
                                  "SMTP_TO='a@b' c@d", "TELEGRAM CHAT_ID=-100", "SMTP_AUTH_PASSWORD='x${HOME}'",
                                  "SMTP_AUTH_PASSWORD=p$ss"])
def test_a_bad_line_is_named_by_its_number_in_both_languages_without_its_value(tmp_path, line):
    env_file = tmp_path / ".env"
    env_file.write_text(f"# ok\nWEBHOOK_URL=http://127.0.0.1:9/\n{line}\n")
    with pytest.raises(envfile.EnvFileError) as raised:
        envfile.read(env_file, environ={})
    indonesian, english = raised.value.render("id"), raised.value.render("en")
    assert f"{env_file} baris 3" in indonesian and f"{env_file} line 3" in english, (indonesian, english)
    for message in (indonesian, english):
        assert "123:abc" not in message and "-100" not in message, "a secret in a log"


def alertmanager_config(cwd, *args: str, **env: str) -> subprocess.CompletedProcess:
    """The command as an operator runs it from `cwd` without compose, with only `env` exported."""
    return subprocess.run([sys.executable, "-m", "exporter", "alertmanager-config", str(STACK_DIR / "alertmanager.yml"),
                           "out.yml", *args], capture_output=True, text=True, cwd=cwd,
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), **env}, timeout=60)


def ops_critical(cwd) -> dict:
    return {r["name"]: r for r in yaml.safe_load((cwd / "out.yml").read_text())["receivers"]}["ops-critical"]


def test_alertmanager_config_reads_dot_env_and_the_environment_wins(tmp_path):
    """./.env by default, as `docker compose` reads it; a variable exported in the shell overrides the file."""
    (tmp_path / ".env").write_text("TELEGRAM_BOT_TOKEN=123:abc\nTELEGRAM_CHAT_ID=-100 # ops group\n")
    result = alertmanager_config(tmp_path)
    assert result.returncode == 0, result.stderr
    assert [(t["bot_token"], t["chat_id"]) for t in ops_critical(tmp_path)["telegram_configs"]] == [("123:abc", -100)]

    assert alertmanager_config(tmp_path, TELEGRAM_CHAT_ID="-200").returncode == 0
    assert [t["chat_id"] for t in ops_critical(tmp_path)["telegram_configs"]] == [-200]


def test_alertmanager_config_takes_another_env_file_and_refuses_a_bad_one(tmp_path):
    other = tmp_path / "site.env"
    other.write_text("WEBHOOK_URL=http://127.0.0.1:9/hook\n")
    (tmp_path / ".env").write_text("TELEGRAM_BOT_TOKEN=123:abc\n")  # not read: --env-file names another
    assert alertmanager_config(tmp_path, "--env-file", str(other)).returncode == 0
    assert set(ops_critical(tmp_path)) == {"name", "webhook_configs"}

    other.write_text('WEBHOOK_URL="http://127.0.0.1:9/hook\n')
    result = alertmanager_config(tmp_path, "--env-file", str(other))
    assert result.returncode == 2 and "baris 1 (WEBHOOK_URL)" in result.stderr, result
    result = alertmanager_config(tmp_path, "--env-file", str(other), SPSE_LANG="en")
    assert result.returncode == 2 and "line 1 (WEBHOOK_URL)" in result.stderr, result


def test_a_missing_env_file_is_named_with_how_to_make_it(tmp_path):
    nope = tmp_path / "nope.env"
    missing = alertmanager_config(tmp_path, "--env-file", str(nope))
    assert missing.returncode == 2 and f"{nope} tidak ada. Buat dari contoh: cp .env.example .env" in missing.stderr, \
        missing.stderr
    missing = alertmanager_config(tmp_path, "--env-file", str(nope), "--lang=en")
    assert f"{nope} does not exist. Make it from the example: cp .env.example .env" in missing.stderr, missing.stderr


def test_a_half_filled_env_file_names_what_to_set_in_the_chosen_language(tmp_path):
    (tmp_path / ".env").write_text("TELEGRAM_BOT_TOKEN=123:abc\nSMTP_TO=ops@contoh.example\n")
    result = alertmanager_config(tmp_path)
    assert result.returncode == 2 and "Telegram: isi juga TELEGRAM_CHAT_ID" in result.stderr, result.stderr
    assert "Perbaiki pengaturan penerima yang disebut di atas di .env" in result.stderr
    result = alertmanager_config(tmp_path, SPSE_LANG="en")
    assert result.returncode == 2 and "Telegram: set TELEGRAM_CHAT_ID too" in result.stderr, result.stderr
    assert "Fix the receiver setting named above in .env" in result.stderr
    (tmp_path / ".env").write_text("TELEGRAM_BOT_TOKEN=123:abc\nTELEGRAM_CHAT_ID=-100\nSMTP_TO=ops@contoh.example\n")
    result = alertmanager_config(tmp_path)
    assert result.returncode == 2 and "Surel: isi juga SMTP_FROM dan SMTP_SMARTHOST" in result.stderr, result.stderr


def test_a_secret_file_open_to_others_or_unreadable_is_refused_with_the_fix(tmp_path):
    secret = tmp_path / "telegram_bot_token"
    secret.write_text("123:abc\n")
    secret.chmod(0o644)
    env = {"TELEGRAM_BOT_TOKEN_FILE": str(secret), "TELEGRAM_CHAT_ID": "-100"}
    result = alertmanager_config(tmp_path, "--env-file=/dev/null", **env)
    assert result.returncode == 2, result.stderr
    assert "berisi rahasia tetapi bermode 0644" in result.stderr and f"chmod 600 {secret}" in result.stderr
    assert "has mode 0644" in alertmanager_config(tmp_path, "--env-file=/dev/null", "--lang=en", **env).stderr
    secret.chmod(0o600)  # positive control: fixed as told, it is read
    assert alertmanager_config(tmp_path, "--env-file=/dev/null", **env).returncode == 0
    if os.geteuid() == 0:  # only root can give a file away: owned by nobody, nobody could swap the token
        os.chown(secret, 65534, 65534)
        result = alertmanager_config(tmp_path, "--env-file=/dev/null", **env)
        assert result.returncode == 2 and "berisi rahasia tetapi milik nobody" in result.stderr, result.stderr
        assert f"sudo chown root:root {secret} && sudo chmod 600 {secret}" in result.stderr
