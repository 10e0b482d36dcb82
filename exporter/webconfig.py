"""TLS and basic auth for the exporter's endpoints, from an exporter-toolkit web config file.

The same file format Prometheus, Alertmanager and the official exporters read
(`--web.config.file`): `tls_server_config` and `basic_auth_users` with bcrypt hashes.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re
import ssl
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

import bcrypt

from exporter.config.errors import ConfigError, type_name
from exporter.config.strict_yaml import parse_yaml, read_text

# exporter-toolkit's client_auth_type values that Python's ssl module can honour. It has no way to ask
# for a certificate without verifying it, so RequestClientCert and RequireAnyClientCert are refused
# rather than silently verified (or not asked for).
CLIENT_AUTH = {
    "NoClientCert": ssl.CERT_NONE,
    "VerifyClientCertIfGiven": ssl.CERT_OPTIONAL,
    "RequireAndVerifyClientCert": ssl.CERT_REQUIRED,
}
UNVERIFIED_CLIENT_AUTH = ("RequestClientCert", "RequireAnyClientCert")
TLS_VERSIONS = {"TLS12": ssl.TLSVersion.TLSv1_2, "TLS13": ssl.TLSVersion.TLSv1_3}
WEB_KEYS = ("tls_server_config", "basic_auth_users")
TLS_KEYS = ("cert_file", "key_file", "client_auth_type", "client_ca_file", "min_version", "max_version")
MAX_REMEMBERED = 1024
# bcrypt reads this many bytes of a password: htpasswd and exporter-toolkit ignore the rest, bcrypt 5 raises.
BCRYPT_MAX_BYTES = 72


class WebConfigError(ConfigError):
    """A bad web config: the file, the key path and a message code, as a ConfigError."""


@dataclass
class WebConfig:
    ssl_context: ssl.SSLContext | None
    users: dict[str, bytes]
    # Checked for unknown users, so that they cost what a wrong password costs (exporter-toolkit does the same).
    dummy_hash: bytes = b""
    _verified: set[bytes] = field(default_factory=set)
    # One bcrypt at a time, off the event loop: a flood of wrong passwords queues here instead of
    # taking every core, and Prometheus' remembered password skips the queue.
    _bcrypt: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(1, "bcrypt"))

    def check_password(self, user: str, password: str) -> bool:
        """bcrypt, slow on purpose; an unknown user is checked against the dummy hash all the same."""
        stored = self.users.get(user)
        return bcrypt.checkpw(password.encode()[:BCRYPT_MAX_BYTES], stored or self.dummy_hash) and stored is not None

    async def authorize(self, header: str) -> bool:
        """Whether an Authorization header carries a configured user's password. Successes are
        remembered (as exporter-toolkit does), so each scrape does not pay for bcrypt again."""
        if not self.users:
            return True
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, colon, password = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        if not (user and colon):
            return False
        key = hashlib.sha256(f"{len(user)}:{user}:{password}".encode()).digest()
        if key in self._verified:
            return True
        loop = asyncio.get_running_loop()
        if not await loop.run_in_executor(self._bcrypt, self.check_password, user, password):
            return False
        if len(self._verified) >= MAX_REMEMBERED:
            self._verified.clear()
        self._verified.add(key)
        return True


def _read_tls(raw: dict, source: str, base: Path) -> ssl.SSLContext:
    unknown = set(raw) - set(TLS_KEYS)
    if unknown:
        _bad(source, f"tls_server_config.{sorted(unknown)[0]}", "unknown_key", allowed=", ".join(TLS_KEYS))
    for key, value in raw.items():
        if not isinstance(value, str):
            _bad(source, f"tls_server_config.{key}", "not_string", type=type_name(value))
    for key in ("cert_file", "key_file"):
        if not raw.get(key):
            _bad(source, f"tls_server_config.{key}", "required")
    auth = raw.get("client_auth_type", "NoClientCert")
    if auth in UNVERIFIED_CLIENT_AUTH:
        _bad(source, "tls_server_config.client_auth_type", "web_client_auth_unverified", value=auth)
    if auth not in CLIENT_AUTH:
        _bad(source, "tls_server_config.client_auth_type", "not_choice", choices=", ".join(CLIENT_AUTH), value=auth)
    if raw.get("client_ca_file") and auth == "NoClientCert":  # exporter-toolkit refuses this too
        _bad(source, "tls_server_config.client_ca_file", "web_client_ca_without_auth")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    for key, default in (("min_version", "TLS12"), ("max_version", None)):
        version = raw.get(key, default)
        if version is not None and version not in TLS_VERSIONS:
            _bad(source, f"tls_server_config.{key}", "not_choice", choices=", ".join(TLS_VERSIONS), value=version)
    context.minimum_version = TLS_VERSIONS[raw.get("min_version", "TLS12")]
    if "max_version" in raw:
        context.maximum_version = TLS_VERSIONS[raw["max_version"]]
    try:
        context.load_cert_chain(base / raw["cert_file"], base / raw["key_file"])
    except (OSError, ssl.SSLError) as err:
        _bad(source, "tls_server_config", "web_cert_unloadable", detail=err)
    context.verify_mode = CLIENT_AUTH[auth]
    if raw.get("client_ca_file"):
        try:
            context.load_verify_locations(base / raw["client_ca_file"])
        except (OSError, ssl.SSLError) as err:
            _bad(source, "tls_server_config.client_ca_file", "ca_unloadable", detail=err)
    elif auth in ("VerifyClientCertIfGiven", "RequireAndVerifyClientCert"):
        _bad(source, "tls_server_config.client_ca_file", "web_client_ca_required", value=auth)
    return context


def _bad(source: str, path: str, code: str, **params) -> NoReturn:
    raise WebConfigError(source, path, code, **params) from None


def load_web_config(path: str) -> WebConfig:
    """Read and validate a web config file; relative file names are relative to it."""
    source = str(path)
    try:  # the main config's reader and loader: a duplicate key is an error, not the last one silently kept
        raw = parse_yaml(read_text(path, source), source) or {}
    except ConfigError as err:
        _bad(err.source, err.path, err.problem.code, **err.problem.params)
    if not isinstance(raw, dict):
        _bad(source, "", "not_mapping", type=type_name(raw))
    unknown = set(raw) - set(WEB_KEYS)
    if unknown:
        _bad(source, sorted(unknown)[0], "unknown_key", allowed=", ".join(WEB_KEYS))
    base = Path(path).resolve().parent
    context = None
    if raw.get("tls_server_config"):
        if not isinstance(raw["tls_server_config"], dict):
            _bad(source, "tls_server_config", "not_mapping", type=type_name(raw["tls_server_config"]))
        context = _read_tls(raw["tls_server_config"], source, base)
    users: dict[str, bytes] = {}
    if not isinstance(raw.get("basic_auth_users") or {}, dict):
        _bad(source, "basic_auth_users", "web_users_not_mapping")
    for user, hashed in (raw.get("basic_auth_users") or {}).items():
        if not isinstance(user, str) or not isinstance(hashed, str) or not hashed.startswith("$2"):
            _bad(source, f"basic_auth_users.{user}", "web_user_not_bcrypt")
        encoded = hashed.encode()
        if encoded.startswith(b"$2y$"):  # htpasswd's name for the same algorithm as $2b$
            encoded = b"$2b$" + encoded[4:]
        try:
            bcrypt.checkpw(b"", encoded)
        except ValueError:
            _bad(source, f"basic_auth_users.{user}", "web_hash_invalid")
        users[user] = encoded
    return WebConfig(context, users, _dummy_hash(users))


def _dummy_hash(users: dict[str, bytes]) -> bytes:
    """A hash of the highest cost among the users', so an unknown name takes as long as a known one."""
    costs = [int(match.group(1)) for hashed in users.values() if (match := re.match(rb"\$2.\$(\d\d)\$", hashed))]
    return bcrypt.hashpw(b"no such user", bcrypt.gensalt(rounds=max(costs, default=4))) if users else b""
