"""The host's DNS resolvers (/etc/resolv.conf, or systemd-resolved's own list behind its stub), each grouped as
host_time groups time sources and asked one question, so the doctor can say whether names resolve without the
international link."""

from __future__ import annotations

import asyncio
import ipaddress
from dataclasses import dataclass
from pathlib import Path

import dns.asyncquery
import dns.exception
import dns.message
import dns.rcode

from exporter.config import HostTimeConfig
from exporter.probes.host_time import classify

RESOLV_CONF = Path("/etc/resolv.conf")
# systemd-resolved's list of the resolvers it forwards to (its stub in /etc/resolv.conf hides them).
RESOLVED_CONF = Path("/run/systemd/resolve/resolv.conf")
RESOLVED_STUBS = ("127.0.0.53", "127.0.0.54")
MAX_BYTES = 64 * 1024  # a resolv.conf is a few lines; more is not one


@dataclass(frozen=True)
class Resolver:
    address: str
    group: str  # gateway, national, global or unknown, as host_time.classify says
    answered: bool
    problem: str = ""  # why it did not answer: timeout, refused (an error answer) or unreachable


def nameservers(text: str) -> list[str]:
    """The `nameserver` addresses of resolv.conf text, in order; an IPv6 zone (%eth0) is dropped, a line that is
    no address is skipped as the C library skips it."""
    found = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 2 and fields[0] == "nameserver":
            address = fields[1].split("%", 1)[0]
            try:
                found.append(str(ipaddress.ip_address(address)))
            except ValueError:
                continue
    return found


def read_nameservers(path: Path) -> list[str]:
    """Raise OSError (or UnicodeDecodeError) naming what cannot be read."""
    with open(path, "rb") as file:
        return nameservers(file.read(MAX_BYTES).decode("utf-8"))


def host_nameservers(resolv_conf: Path = RESOLV_CONF, resolved_conf: Path = RESOLVED_CONF) -> tuple[list[str], bool]:
    """(the resolvers the host's lookups reach, whether they come from systemd-resolved behind its stub)."""
    listed = read_nameservers(resolv_conf)
    if listed and all(address in RESOLVED_STUBS for address in listed):
        return read_nameservers(resolved_conf), True
    return listed, False


async def ask(address: str, name: str, timeout: float) -> str:
    """"" when the resolver at `address` answers a query for `name` without a server error, else why not."""
    query = dns.message.make_query(name, "A")
    try:
        response = await dns.asyncquery.udp(query, address, timeout=timeout)
    except dns.exception.Timeout:
        return "timeout"
    except (dns.exception.DNSException, OSError, ValueError, EOFError):
        return "unreachable"
    # NXDOMAIN is an answer: the resolver works; SERVFAIL and REFUSED say it cannot resolve for us.
    return "refused" if response.rcode() in (dns.rcode.SERVFAIL, dns.rcode.REFUSED) else ""


async def check_resolvers(addresses: list[str], spec: HostTimeConfig, name: str, timeout: float) -> list[Resolver]:
    """Each resolver grouped and asked for `name` at once, within `timeout` each."""
    problems = await asyncio.gather(*(ask(address, name, timeout) for address in addresses))
    return [Resolver(address, classify(address, spec, {}), not problem, problem)
            for address, problem in zip(addresses, problems)]
