"""Network values in the config: host[:port] endpoints, IP literals, and the one check of a URL a probe requests."""

from __future__ import annotations

import ipaddress
from urllib.parse import SplitResult, urlsplit

import httpx

from exporter.config.model import Endpoint
from exporter.messages import Problem


def parse_endpoint(text: str, default_port: int | None) -> Endpoint:
    """Split ``host``, ``host:port``, ``[v6]:port`` or a bare IPv6 address; raise a Problem naming what is wrong."""
    if default_port is not None and ":" in text and is_ip_literal(text):
        return Endpoint(text, default_port)  # as chrony takes `server 2001:db8::1`: no port can be meant
    parts = urlsplit(f"//{text}")
    try:
        host, port = parts.hostname, parts.port
    except ValueError as err:
        raise Problem("endpoint_bad_port", value=text, detail=err) from None
    if not host or parts.path or parts.query or parts.username:
        raise Problem("endpoint_invalid", value=text)
    if port is None:
        if default_port is None:
            raise Problem("endpoint_needs_port", value=text)
        port = default_port
    if port == 0:
        raise Problem("endpoint_port_zero", value=text)
    return Endpoint(host, port)



def is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def check_url(url: str, schemes: tuple[str, ...], wrong_scheme: Problem, credentials: Problem | None) -> SplitResult:
    """The one check of a URL a probe will request (a target, an upstream check, a redirect's Location): a scheme
    of `schemes`, a usable port, a host, no user name or password unless `credentials` is None (then they are
    allowed), and for http(s) what httpx can send. Raises ValueError (a Problem, but for urlsplit's own) saying what
    is wrong; `wrong_scheme` and `credentials` are the problems, with their advice, for their cases."""
    parts = urlsplit(url)  # ValueError: e.g. an unclosed [ of an IPv6 address
    if parts.scheme not in schemes:
        raise wrong_scheme
    try:
        port = parts.port
    except ValueError as err:
        raise Problem("url_bad_port", detail=err) from None
    if not parts.hostname:
        raise Problem("url_no_host")
    if credentials is not None and (parts.username is not None or parts.password is not None):
        raise credentials
    if port == 0:
        raise Problem("url_port_zero")
    if parts.scheme in ("http", "https"):
        try:
            httpx.URL(url)  # the probe's HTTP client refuses what it cannot send: control characters, over 64 kB
        except httpx.InvalidURL as err:
            raise Problem("url_invalid", detail=err) from None
    return parts
