"""TLS and basic auth for the exporter's endpoints, from an exporter-toolkit web config file.

The same file format Prometheus, Alertmanager and the official exporters read
(`--web.config.file`): `tls_server_config` and `basic_auth_users` with bcrypt hashes.
"""

from __future__ import annotations

import base64
import hashlib
import ssl
import threading
from dataclasses import dataclass, field
from pathlib import Path

import bcrypt
import yaml

CLIENT_AUTH = {
    "NoClientCert": ssl.CERT_NONE,
    "RequestClientCert": ssl.CERT_OPTIONAL,
    "RequireAnyClientCert": ssl.CERT_REQUIRED,
    "VerifyClientCertIfGiven": ssl.CERT_OPTIONAL,
    "RequireAndVerifyClientCert": ssl.CERT_REQUIRED,
}
TLS_VERSIONS = {"TLS12": ssl.TLSVersion.TLSv1_2, "TLS13": ssl.TLSVersion.TLSv1_3}
TLS_KEYS = ("cert_file", "key_file", "client_auth_type", "client_ca_file", "min_version", "max_version")


class WebConfigError(Exception):
    pass


@dataclass
class WebConfig:
    ssl_context: ssl.SSLContext | None
    users: dict[str, bytes]
    _verified: dict[tuple[str, bytes], bool] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def ssl_wrap(self, sock):
        return self.ssl_context.wrap_socket(sock, server_side=True)

    def check_password(self, user: str, password: str) -> bool:
        """bcrypt is slow on purpose; remember results so each scrape does not pay for it again."""
        stored = self.users.get(user)
        if stored is None:
            return False
        key = (user, hashlib.sha256(password.encode()).digest())
        with self._lock:
            known = self._verified.get(key)
        if known is None:
            known = bcrypt.checkpw(password.encode(), stored)
            with self._lock:
                if len(self._verified) > 1024:
                    self._verified.clear()
                self._verified[key] = known
        return known

    def authorize(self, handler) -> bool:
        """True if the request may go on; otherwise a 401 has been sent."""
        if not self.users:
            return True
        header = handler.headers.get("Authorization", "")
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() == "basic":
            try:
                user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                user, password = "", ""
            if user and self.check_password(user, password):
                return True
        handler._send(401, b"Unauthorized\n", headers={"WWW-Authenticate": 'Basic realm="spse-exporter"'})
        return False


def _read_tls(raw: dict, source: str, base: Path) -> ssl.SSLContext:
    unknown = set(raw) - set(TLS_KEYS)
    if unknown:
        raise WebConfigError(f"{source}: tls_server_config.{sorted(unknown)[0]}: unknown key")
    for key in ("cert_file", "key_file"):
        if not raw.get(key):
            raise WebConfigError(f"{source}: tls_server_config.{key}: is required")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = TLS_VERSIONS.get(raw.get("min_version", "TLS12"), None) or _bad(
        source, "tls_server_config.min_version", f"must be one of {', '.join(TLS_VERSIONS)}")
    if "max_version" in raw:
        context.maximum_version = TLS_VERSIONS.get(raw["max_version"]) or _bad(
            source, "tls_server_config.max_version", f"must be one of {', '.join(TLS_VERSIONS)}")
    try:
        context.load_cert_chain(base / raw["cert_file"], base / raw["key_file"])
    except (OSError, ssl.SSLError) as err:
        raise WebConfigError(f"{source}: tls_server_config: cannot load cert_file/key_file: {err}") from None
    auth = raw.get("client_auth_type", "NoClientCert")
    if auth not in CLIENT_AUTH:
        _bad(source, "tls_server_config.client_auth_type", f"must be one of {', '.join(CLIENT_AUTH)}")
    context.verify_mode = CLIENT_AUTH[auth]
    if raw.get("client_ca_file"):
        try:
            context.load_verify_locations(base / raw["client_ca_file"])
        except (OSError, ssl.SSLError) as err:
            raise WebConfigError(f"{source}: tls_server_config.client_ca_file: {err}") from None
    elif auth in ("VerifyClientCertIfGiven", "RequireAndVerifyClientCert"):
        _bad(source, "tls_server_config.client_ca_file", f"is required with client_auth_type {auth}")
    return context


def _bad(source: str, path: str, message: str):
    raise WebConfigError(f"{source}: {path}: {message}")


def load_web_config(path: str) -> WebConfig:
    """Read and validate a web config file; relative file names are relative to it."""
    source = str(path)
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
        raise WebConfigError(f"{source}: cannot read: {err}") from None
    if not isinstance(raw, dict):
        raise WebConfigError(f"{source}: must be a mapping")
    unknown = set(raw) - {"tls_server_config", "basic_auth_users"}
    if unknown:
        raise WebConfigError(f"{source}: {sorted(unknown)[0]}: unknown key")
    base = Path(path).resolve().parent
    context = None
    if raw.get("tls_server_config"):
        if not isinstance(raw["tls_server_config"], dict):
            _bad(source, "tls_server_config", "must be a mapping")
        context = _read_tls(raw["tls_server_config"], source, base)
    users: dict[str, bytes] = {}
    for user, hashed in (raw.get("basic_auth_users") or {}).items():
        if not isinstance(user, str) or not isinstance(hashed, str) or not hashed.startswith("$2"):
            _bad(source, f"basic_auth_users.{user}", "must map a user name to a bcrypt hash ($2a$, $2b$ or $2y$)")
        encoded = hashed.encode()
        if encoded.startswith(b"$2y$"):  # htpasswd's name for the same algorithm as $2b$
            encoded = b"$2b$" + encoded[4:]
        try:
            bcrypt.checkpw(b"", encoded)
        except ValueError:
            _bad(source, f"basic_auth_users.{user}", "is not a valid bcrypt hash")
        users[user] = encoded
    return WebConfig(context, users)
