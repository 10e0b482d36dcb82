"""Fill the shipped alertmanager.yml's receivers from environment variables or secret files.

Alertmanager 0.25 reads no environment and has no `*_file` form for a Telegram bot token or a
webhook URL, so docker compose runs this once before Alertmanager starts: secrets stay in `.env`
or in files under `secrets/`, both kept out of git, and never in the tracked alertmanager.yml.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import stat
import sys
from pathlib import Path

import yaml

from exporter import envfile, messages

# The receivers the routing tree pages through, and the dead man's switch's.
OPS_RECEIVERS = ("ops-critical", "ops-warning")
WATCHDOG_RECEIVER = "watchdog"
# `spse-exporter notify-test` goes through ops-critical's integrations with send_resolved false: the test alert is
# resolved right after it, and an operator must not read a "resolved" message as the end of an incident.
TEST_RECEIVER = "notify-test"
# Settings that give warnings a path of their own (a chat, an address, a webhook) instead of the pages'.
WARNING_PREFIX = "WARNING_"
# A secret file anyone but its owner and group may read or change (secrets/README.md: chmod 600).
OPEN_TO_OTHERS = 0o007


class ReceiverError(messages.Problem):
    """A missing or malformed setting, named by its variable; rendered in the operator's language."""


def setting(env: dict[str, str], name: str) -> str | None:
    """NAME from the environment, or the contents of the file NAME_FILE points at (Docker secrets style)."""
    value, path = env.get(name, "").strip(), env.get(f"{name}_FILE", "").strip()
    if value and path:
        raise ReceiverError("secret_both_set", name=name)
    if path:
        try:
            with open(path, encoding="utf-8") as file:
                status = os.fstat(file.fileno())
                mode, owner = stat.S_IMODE(status.st_mode), status.st_uid
                value = file.read().strip()
        except FileNotFoundError:
            raise ReceiverError("secret_missing", name=name, path=path) from None
        except PermissionError as err:
            raise ReceiverError("secret_denied", name=name, path=path, detail=err.strerror) from None
        except (OSError, UnicodeDecodeError) as err:
            raise ReceiverError("secret_unreadable", name=name, path=path,
                                detail=getattr(err, "strerror", None) or err) from None
        if owner not in (0, os.geteuid()):  # that user could swap the token
            raise ReceiverError("secret_wrong_owner", name=name, path=path, owner=user_name(owner))
        if mode & OPEN_TO_OTHERS:
            raise ReceiverError("secret_too_open", name=name, path=path, mode=f"{mode:04o}")
        if not value:
            raise ReceiverError("secret_empty", name=name, path=path)
    return value or None


def user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:  # a uid with no name on this host (a container's)
        return str(uid)


def require(env: dict[str, str], names: tuple[str, ...], code: str, **params: str) -> list[str]:
    """The settings `names`, or ReceiverError `code` naming the missing ones: a receiver half filled in."""
    values = [setting(env, name) for name in names]
    missing = [name for name, value in zip(names, values) if not value]
    if missing:
        raise ReceiverError(code, missing=missing, **params)
    return values


def integrations(env: dict[str, str], prefix: str = "") -> dict[str, list[dict]]:
    """The `*_configs` entries the settings ask for (empty: none set): the pages' from TELEGRAM_CHAT_ID, SMTP_TO and
    WEBHOOK_URL, or with prefix WARNING_ the warnings' own chat, address and webhook (same bot, same SMTP server)."""
    configs: dict[str, list[dict]] = {}
    chat_name = f"{prefix}TELEGRAM_CHAT_ID"
    if setting(env, chat_name) or (not prefix and setting(env, "TELEGRAM_BOT_TOKEN")):
        token, chat = require(env, ("TELEGRAM_BOT_TOKEN", chat_name), "receiver_incomplete",
                              receiver="Telegram")
        try:
            chat_id = int(chat)
        except ValueError:
            raise ReceiverError("receiver_chat_id", name=chat_name, value=chat) from None
        telegram = {"bot_token": token, "chat_id": chat_id, "parse_mode": "HTML",
                    "message": '{{ template "spse.message" . }}', "send_resolved": True}
        if api_url := setting(env, "TELEGRAM_API_URL"):
            telegram["api_url"] = api_url
        configs["telegram_configs"] = [telegram]
    to_name = f"{prefix}SMTP_TO"
    # SMTP_SMARTHOST alone asks for the pages' e-mail, unless it serves only the warnings' address.
    if setting(env, to_name) or (not prefix and setting(env, "SMTP_SMARTHOST")
                                 and not setting(env, f"{WARNING_PREFIX}SMTP_TO")):
        to, sender, smarthost = require(env, (to_name, "SMTP_FROM", "SMTP_SMARTHOST"), "email_incomplete")
        email = {"to": to, "from": sender, "smarthost": smarthost,
                 "headers": {"Subject": '{{ template "spse.title" . }}'},
                 "html": '<pre>{{ template "spse.message" . }}</pre>', "send_resolved": True}
        if username := setting(env, "SMTP_AUTH_USERNAME"):
            email["auth_username"] = username
            (email["auth_password"],) = require(env, ("SMTP_AUTH_PASSWORD",), "receiver_incomplete",
                                                receiver="SMTP_AUTH_USERNAME")
        configs["email_configs"] = [email]
    if url := setting(env, f"{prefix}WEBHOOK_URL"):
        configs["webhook_configs"] = [{"url": url, "send_resolved": True}]
    return configs


def warning_integrations(env: dict[str, str], pages: dict[str, list[dict]]) -> dict[str, list[dict]]:
    """ops-warning's integrations: the WARNING_* ones when set, else the pages' own. Either way a Telegram message
    about a warning arrives silently (disable_notifications): it is read, it does not ring the phone."""
    configs = integrations(env, WARNING_PREFIX) or pages
    return {key: [{**entry, "disable_notifications": True} if key == "telegram_configs" else entry
                  for entry in entries] for key, entries in configs.items()}


def render(template: Path, env: dict[str, str]) -> tuple[dict, list[str]]:
    """The Alertmanager config of `template` with receivers filled from `env`, and the integrations
    the ops receivers got (empty: notifications go nowhere)."""
    config = yaml.safe_load(template.read_text())
    # Template globs are relative to the file; the rendered copy lives elsewhere, so make them absolute.
    config["templates"] = [str(template.absolute().parent / pattern) for pattern in config.get("templates", [])]
    receivers = {receiver["name"]: receiver for receiver in config["receivers"]}
    missing = [name for name in (*OPS_RECEIVERS, WATCHDOG_RECEIVER) if name not in receivers]
    if missing:
        raise ReceiverError("receiver_template", template=template, missing=missing)
    configs = integrations(env)
    receivers[OPS_RECEIVERS[0]].update(configs)
    receivers[OPS_RECEIVERS[1]].update(warning_integrations(env, configs))
    if TEST_RECEIVER in receivers:  # ops-critical's integrations, those written in the template too
        receivers[TEST_RECEIVER].update({key: [{**entry, "send_resolved": False} for entry in entries]
                                         for key, entries in receivers[OPS_RECEIVERS[0]].items()
                                         if key.endswith("_configs")})
    if watchdog_url := setting(env, "WATCHDOG_URL"):
        receivers[WATCHDOG_RECEIVER]["webhook_configs"] = [{"url": watchdog_url, "send_resolved": False}]
    return config, [key.removesuffix("_configs") for key in configs]


def integration_receivers(config: dict) -> dict[str, list[str]]:
    """Integration type -> the receivers that use it, sorted, in an Alertmanager config: what Alertmanager 0.25's
    notification counters (labelled by type only) cannot say."""
    found: dict[str, set[str]] = {}
    for receiver in config.get("receivers") or []:
        for key, entries in receiver.items():
            if key.endswith("_configs") and entries:
                found.setdefault(key.removesuffix("_configs"), set()).add(receiver["name"])
    return {integration: sorted(names) for integration, names in sorted(found.items())}


def write_private(output: Path, text: str) -> None:
    """Write `text` to `output` as mode 0640, whatever the umask: the secrets in it are for the owner and the
    group only (compose runs this step with Alertmanager's group). Through a temporary file renamed over
    `output`, so Alertmanager reads the old file or the new one, never half of one."""
    tmp = output.with_name(output.name + ".tmp")
    try:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()  # left by a killed run: its mode is not ours to trust
        with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w", encoding="utf-8") as file:
            os.fchmod(file.fileno(), 0o640)
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        tmp.replace(output)
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink()  # it holds the secrets
        raise


def main(argv: list[str]) -> int:
    """`spse-exporter alertmanager-config TEMPLATE OUTPUT`: render and write, exit 2 on a bad setting."""
    import argparse
    parser = argparse.ArgumentParser(
        prog="spse-exporter alertmanager-config",
        description="Write TEMPLATE (the shipped alertmanager.yml) to OUTPUT with the receivers filled from "
                    "TELEGRAM_*, SMTP_*, WEBHOOK_URL, WARNING_* and WATCHDOG_URL (each also as NAME_FILE), read from "
                    "the environment and the .env file; the environment wins, as in docker compose.")
    parser.add_argument("template", type=Path)
    parser.add_argument("output", type=Path)
    parser.add_argument("--env-file", type=Path, metavar="PATH",
                        help="settings file in compose's KEY=VALUE form (default: ./.env when it exists)")
    messages.language_argument(parser)
    args = parser.parse_args(argv)
    lang = messages.resolve_language(parser, args)

    def say(code: str, **params) -> None:
        print(f"spse-exporter alertmanager-config: {messages.render(code, lang, params)}", file=sys.stderr)
    env_file = args.env_file or (Path(".env") if Path(".env").is_file() else None)
    try:
        env = {**(envfile.read(env_file) if env_file else {}), **os.environ}
        config, names = render(args.template, env)
    except (envfile.EnvFileError, ReceiverError) as err:
        say(err.code, **err.params)
        if isinstance(err, ReceiverError):
            print(messages.render("receiver_fix", lang), file=sys.stderr)
        return 2
    except (OSError, yaml.YAMLError) as err:  # the template: a file of this checkout, not the operator's
        print(f"spse-exporter alertmanager-config: {err}", file=sys.stderr)
        return 2
    try:
        write_private(args.output, "# Generated by `spse-exporter alertmanager-config` from the shipped "
                                   "alertmanager.yml and .env: edit those, not this file.\n"
                                   + yaml.safe_dump(config, sort_keys=False, allow_unicode=True))
    except OSError as err:
        say("output_unwritable", path=args.output, detail=err.strerror or err)
        return 2
    if names:
        for receiver in config["receivers"]:
            if receiver["name"] in OPS_RECEIVERS:
                types = [key.removesuffix("_configs") for key in receiver if key.endswith("_configs")]
                say("receiver_sends", output=args.output, receiver=receiver["name"], integrations=types)
    else:  # a line of its own, starting with the word: scripts/install-native.sh looks for it
        warning = messages.render("warning", lang)
        print(f"{warning}: {messages.render('receivers_none', lang)}", file=sys.stderr)
        if setting(env, "WATCHDOG_URL"):  # a dead man's switch hears only Watchdog: it is no on-call receiver
            print(f"{warning}: {messages.render('receivers_watchdog_only', lang)}", file=sys.stderr)
    return 0
