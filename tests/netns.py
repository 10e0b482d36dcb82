"""The incident's network in Linux network namespaces, for fault-injection tests (root only).

    lpse (exporter) 192.0.2.2 --- 192.0.2.1 router 198.51.100.1 --- 198.51.100.10 national
                                                   203.0.113.1  --- 203.0.113.10, .11 internet

tests/e2e/test_watcher_netns.py puts the site's stack in `lpse`, the watcher in `national` and the
Telegram stand-in in `internet`. Only TEST-NET addresses are used and every interface lives inside
the namespaces, so nothing is added to the host's network and parallel runs do not collide (names
carry the pid).
"""

from __future__ import annotations

import ctypes
import json
import os
import select
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

from tests.support import ExporterProcess

ROOT = Path(__file__).resolve().parent.parent
CLONE_NEWNET = 0x40000000
LPSE, ROUTER_LPSE = "192.0.2.2", "192.0.2.1"
NATIONAL, ROUTER_NATIONAL = "198.51.100.10", "198.51.100.1"
INTERNET, INTERNET_2, ROUTER_INTERNET, INTERNET_NET = "203.0.113.10", "203.0.113.11", "203.0.113.1", "203.0.113.0/24"


def unavailable() -> str:
    """Why namespaces cannot be made here ("" when they can): the tests skip with this reason."""
    if os.geteuid() != 0:
        return "network namespaces need root (CI runs as root)"
    if shutil.which("ip") is None or shutil.which("iptables") is None:
        return "needs the ip and iptables commands (apt-get install iproute2 iptables)"
    probe = f"spse-probe-{os.getpid()}"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if made.returncode != 0:
        return f"cannot create a network namespace: {made.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe], check=True)
    return ""


def _enter(name: str) -> None:
    """Move the calling thread (only it) into namespace `name`."""
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(f"/run/netns/{name}", os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f"setns into {name}")
    finally:
        os.close(fd)


def sh(*command: str) -> None:
    result = subprocess.run(command, capture_output=True, text=True, timeout=20)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)}: {result.stderr.strip()}")


class Namespace:
    """One named network namespace, with a thread inside it for the test's own sockets."""

    def __init__(self, name: str):
        self.name = name
        sh("ip", "netns", "add", name)
        self.ip("link", "set", "lo", "up")
        self._thread = ThreadPoolExecutor(1, thread_name_prefix=name, initializer=_enter, initargs=(name,))

    def ip(self, *args: str) -> None:
        sh("ip", "-n", self.name, *args)

    def exec(self, *command: str) -> None:
        sh("ip", "netns", "exec", self.name, *command)

    def call(self, function, *args, **kwargs):
        """Run `function` in the thread inside this namespace: its sockets connect from here."""
        return self._thread.submit(function, *args, **kwargs).result()

    def popen(self, command: list[str], **kwargs) -> subprocess.Popen:
        return subprocess.Popen(["ip", "netns", "exec", self.name, *command], cwd=ROOT,
                                env={**os.environ, "PYTHONPATH": str(ROOT)}, **kwargs)

    def delete(self) -> None:
        self._thread.shutdown(wait=False)
        subprocess.run(["ip", "netns", "del", self.name], capture_output=True)


class Topology:
    """lpse -> router -> {national, internet}, with the router's changes the incident needs."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.processes: list[subprocess.Popen] = []
        self.namespaces: list[Namespace] = []
        tag = os.getpid()
        try:
            self.lpse, self.router, self.national, self.internet = (
                self._namespace(f"spse-{role}-{tag}") for role in ("lpse", "router", "national", "internet"))
            self._link(self.lpse, LPSE, ROUTER_LPSE, 30)
            self._link(self.national, NATIONAL, ROUTER_NATIONAL, 24)
            self._link(self.internet, INTERNET, ROUTER_INTERNET, 24)
            self.internet.ip("addr", "add", f"{INTERNET_2}/24", "dev", "uplink")
            self.router.exec("sh", "-c", "echo 1 > /proc/sys/net/ipv4/ip_forward")  # no procps needed
        except BaseException:
            self.close()
            raise

    def _namespace(self, name: str) -> Namespace:
        namespace = Namespace(name)
        self.namespaces.append(namespace)
        return namespace

    def _link(self, inner: Namespace, address: str, router_address: str, prefix: int) -> None:
        """A veth pair router <-> `inner`, created inside the namespaces, and `inner`'s default route."""
        port = f"to-{inner.name.split('-')[1]}"
        self.router.ip("link", "add", port, "type", "veth", "peer", "name", "uplink", "netns", inner.name)
        self.router.ip("addr", "add", f"{router_address}/{prefix}", "dev", port)
        self.router.ip("link", "set", port, "up")
        inner.ip("addr", "add", f"{address}/{prefix}", "dev", "uplink")
        inner.ip("link", "set", "uplink", "up")
        inner.ip("route", "add", "default", "via", router_address)

    def serve(self, namespace: Namespace, spec: dict, seconds: float = 300) -> None:
        """Serve the fakes `spec` lists (see tests.fakes.serve_world) inside `namespace`."""
        path = self.workdir / f"world-{namespace.name}.json"
        path.write_text(json.dumps(spec))
        proc = namespace.popen([sys.executable, "-m", "tests.fakes", "--spec", str(path), "--seconds", str(seconds)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.processes.append(proc)
        ready, _, _ = select.select([proc.stdout], [], [], 20)
        if not ready or proc.stdout.readline().strip() != "ready":
            proc.kill()
            raise RuntimeError(f"fakes in {namespace.name} did not start: {proc.stderr.read()}")

    def cut_global(self) -> None:
        """The metro-router change: the route to the internet disappears, national stays."""
        self.router.ip("route", "del", INTERNET_NET, "dev", "to-internet")

    def restore_global(self) -> None:
        self.router.ip("route", "add", INTERNET_NET, "dev", "to-internet")

    def blackhole(self, network: str) -> None:
        """Drop forwarded packets to `network` silently: no reset, no ICMP, just nothing."""
        self.router.exec("iptables", "-I", "FORWARD", "-d", network, "-j", "DROP")

    def unblackhole(self, network: str) -> None:
        self.router.exec("iptables", "-D", "FORWARD", "-d", network, "-j", "DROP")

    def cut_site(self) -> None:
        """The site's whole uplink cut: the router forwards nothing from or to `lpse`, silently."""
        for direction in ("-s", "-d"):
            self.router.exec("iptables", "-I", "FORWARD", direction, LPSE, "-j", "DROP")

    def restore_site(self) -> None:
        for direction in ("-s", "-d"):
            self.router.exec("iptables", "-D", "FORWARD", direction, LPSE, "-j", "DROP")

    def close(self) -> None:
        for proc in self.processes:
            proc.terminate()
        for proc in self.processes:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        for namespace in self.namespaces:
            namespace.delete()


class NamespacedStack:
    """Processes and servers a test starts inside a Topology's namespaces, stopped together; the watcher's
    end-to-end tests build their site and watcher on it."""

    def __init__(self, workdir: Path):
        self.topology = Topology(workdir)
        self.processes: list = []
        self.servers: list = []
        try:
            self._start(workdir)
        except BaseException:
            self.close()
            raise

    def _start(self, workdir: Path) -> None:
        """Start the stack's servers and processes; what it started so far is stopped if this fails."""
        raise NotImplementedError

    def _server(self, server):
        self.servers.append(server)
        return server

    def _process(self, namespace: Namespace, process):
        """Keep `process` for close() and wait until it is ready, asked from inside `namespace`."""
        self.processes.append(process)
        namespace.call(process.wait_ready)
        return process

    def _exporter(self, namespace: Namespace, directory: Path, config: dict) -> ExporterProcess:
        """The real exporter with `config` (a dict, written to directory/spse.yml), run inside `namespace`."""
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / "spse.yml"
        path.write_text(yaml.safe_dump(config))
        return self._process(namespace, ExporterProcess(path, wrapper=["ip", "netns", "exec", namespace.name]))

    def close(self) -> None:
        for process in self.processes:  # all at once: each takes a few seconds to shut down
            if process.proc.poll() is None:
                process.proc.terminate()
        for process in reversed(self.processes):
            process.stop()
        for server in self.servers:
            server.close()
        self.topology.close()
