"""exporter.eventloop: which loop the exporter runs on, and that on uvloop a slow resolver holds up few probes."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from exporter import eventloop
from tests import netns

uvloop = pytest.importorskip("uvloop")

# Run inside a namespace whose resolv.conf names a server that never answers: starts `count` lookups of
# distinct names on the exporter's loop and prints how many of them reached the server within the deadline.
LOOKUPS = """
import asyncio, os, socket, sys, threading, time
from exporter.eventloop import runner

count, deadline = int(sys.argv[1]), time.monotonic() + float(sys.argv[2])
server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
server.bind(("127.0.0.1", 53))
server.settimeout(0.2)
names = set()

def listen():
    while time.monotonic() < deadline:
        try:
            names.add(server.recvfrom(512)[0][12:])  # the question: a lookup's name and type
        except socket.timeout:
            pass

async def main():
    loop = asyncio.get_running_loop()
    lookups = [asyncio.ensure_future(loop.getaddrinfo(f"site{i}.slow.test", None, family=socket.AF_INET))
               for i in range(count)]
    while len(names) < count and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    print(type(loop).__module__, len(names), flush=True)
    os._exit(0)  # the lookups stay blocked in their threads for the resolver's 30 s

threading.Thread(target=listen, daemon=True).start()
runner()(main())
"""


def test_runs_on_uvloop_where_installed_and_on_asyncio_when_asked(monkeypatch):
    environment = {}
    monkeypatch.setattr(os, "environ", environment)  # runner() sizes libuv's pool in the environment
    assert eventloop.runner() is uvloop.run
    assert environment == {"UV_THREADPOOL_SIZE": str(2 * eventloop.RESOLVER_THREADS)}
    environment["SPSE_EXPORTER_EVENT_LOOP"] = "asyncio"
    assert eventloop.runner() is asyncio.run


@pytest.fixture
def silent_resolver():
    """A network namespace whose resolver (127.0.0.1:53 inside it) takes 30 s to give up on a name."""
    if reason := netns.unavailable():
        pytest.skip(reason)
    name = f"spse-dns-{os.getpid()}"
    config = Path("/etc/netns") / name  # `ip netns exec` mounts its resolv.conf over /etc/resolv.conf
    config.mkdir(parents=True)
    try:
        (config / "resolv.conf").write_text("nameserver 127.0.0.1\noptions timeout:30 attempts:1\n")
        netns.sh("ip", "netns", "add", name)
        try:
            netns.sh("ip", "-n", name, "link", "set", "lo", "up")
            yield name
        finally:
            subprocess.run(["ip", "netns", "del", name], capture_output=True)
    finally:
        shutil.rmtree(config)


def lookups_at_once(namespace: str, count: int, **env: str) -> tuple[str, int]:
    """(the loop's module, how many of `count` lookups reached the resolver within 10 s) in `namespace`."""
    inherited = {key: value for key, value in os.environ.items()
                 if key not in ("UV_THREADPOOL_SIZE", "SPSE_EXPORTER_EVENT_LOOP")}
    done = subprocess.run(["ip", "netns", "exec", namespace, sys.executable, "-c", LOOKUPS, str(count), "10"],
                          cwd=netns.ROOT, env={**inherited, "PYTHONPATH": str(netns.ROOT), **env},
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    loop_module, started = done.stdout.split()
    return loop_module, int(started)


def test_uvloop_resolves_as_many_names_at_once_as_asyncio_did(silent_resolver):
    """uvloop resolves in libuv's thread pool, which lets getaddrinfo have half its threads: 2 of libuv's default 4,
    so two slow lookups would stall every other probe. asyncio's executor had RESOLVER_THREADS; so has uvloop."""
    count = eventloop.RESOLVER_THREADS
    assert lookups_at_once(silent_resolver, count) == ("uvloop", count)
    # Positive control: a pool of RESOLVER_THREADS lets only half of them resolve at once.
    assert lookups_at_once(silent_resolver, count, UV_THREADPOOL_SIZE=str(count)) == ("uvloop", count // 2)
