"""Client TLS contexts for the probes, built once at config load."""

from __future__ import annotations

import ssl
from typing import Any

from exporter.config.model import TLSConfig


def make_ssl_context(tls: TLSConfig) -> ssl.SSLContext:
    """A client TLS context, built at config load: loading CA files per probe costs CPU."""
    context = ssl.create_default_context(cafile=tls.ca_file)
    if tls.insecure_skip_verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context



def is_sni_name(name: Any) -> bool:
    """A name TLS can send: the ssl module refuses NUL and empty or over-long labels at every handshake."""
    if not isinstance(name, str) or not name or "\0" in name:
        return False
    try:
        name.encode("idna")
    except UnicodeError:
        return False
    return True

