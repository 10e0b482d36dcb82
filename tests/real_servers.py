"""Real third-party servers from Debian for the probe tests, each run as our own foreground instance.

nginx (and chronyd) are unpacked under .cache/debs by scripts/test.sh, not installed; dnsmasq comes
from dnsmasq-base. `wrapper` runs a server through another command, e.g. ["ip", "netns", "exec", NS].
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import dns.exception
import dns.message
import dns.query
import ntplib

from tests.support import ROOT, ServerProcess, poll

NGINX = ROOT / ".cache/debs/root/usr/sbin/nginx"
DNSMASQ = Path("/usr/sbin/dnsmasq")


class Nginx(ServerProcess):
    """nginx in the foreground with the test's `server { }` blocks, plus its own ready server on `port`."""

    name = "nginx"

    def __init__(self, workdir: Path, servers: str, port: int, wrapper: list[str] | None = None):
        workdir.mkdir(parents=True, exist_ok=True)
        temp_paths = "".join(f"    {kind}_temp_path {workdir}/{kind};\n"
                             for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        (workdir / "nginx.conf").write_text(
            f"daemon off;\nmaster_process off;\npid {workdir}/nginx.pid;\nerror_log {workdir}/error.log warn;\n"
            f"events {{ worker_connections 64; }}\n"
            f"http {{\n    access_log off;\n{temp_paths}"
            f"    server {{ listen {self.host}:{port}; location = /-/ready {{ return 200 ready; }} }}\n"
            f"{servers}\n}}\n")
        command = [*(wrapper or []), str(NGINX), "-p", str(workdir), "-c", str(workdir / "nginx.conf"),
                   "-e", str(workdir / "error.log")]
        super().__init__(command, workdir / "nginx.out", port)
        self.error_log = workdir / "error.log"


class Dnsmasq(ServerProcess):
    """dnsmasq answering `records` ({name: IPv4}) on `port`; other names under /test/ get NXDOMAIN.

    `extra` adds flags, e.g. `--server=/blackhole.test/127.0.0.2#5353` to forward a zone.
    """

    name = "dnsmasq"

    def __init__(self, workdir: Path, records: dict[str, str], port: int, extra: tuple[str, ...] = (),
                 wrapper: list[str] | None = None, host: str = "127.0.0.1"):
        workdir.mkdir(parents=True, exist_ok=True)
        self.records, self.host = records, host
        command = [*(wrapper or []), str(DNSMASQ), "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv",
                   "--no-hosts", "--no-poll", f"--port={port}", f"--listen-address={self.host}",
                   "--bind-interfaces", "--local=/test/", f"--pid-file={workdir}/dnsmasq.pid", "--user=root",
                   *(f"--host-record={name},{address}" for name, address in records.items()), *extra]
        super().__init__(command, workdir / "dnsmasq.log", port)

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Ready once it answers a query for its first record (call it from the server's namespace)."""
        query = dns.message.make_query(next(iter(self.records)), "A")

        def answers():
            if self.proc.poll() is not None:
                raise RuntimeError(f"dnsmasq exited with {self.proc.returncode}:\n{self.logs()}")
            try:
                return dns.query.udp(query, self.host, timeout=0.5, port=self.port).answer
            except dns.exception.Timeout:
                return None
        poll(answers, timeout, what="dnsmasq answering")


CHRONYD = ROOT / ".cache/debs/root/usr/sbin/chronyd"
LIBFAKETIME = Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1")


class ChronyServer(ServerProcess):
    """chronyd serving NTP on a loopback `port`, never touching the system clock (-x).

    `synced`: with `local stratum 8` it answers as a synchronised stratum-8 server; without, the way
    a server that lost its sources does (leap 3, stratum 0). `offset` shifts its clock with
    libfaketime; keep it 0 or at least 1 s from 0 (chrony trusts the kernel's unfaked receive
    timestamps within 1 s of its own clock).
    """

    name = "chronyd"

    def __init__(self, workdir: Path, port: int, synced: bool = True, offset: float = 0.0, host: str = "127.0.0.1",
                 allow: str = "127.0.0.1", wrapper: list[str] | None = None):
        workdir.mkdir(parents=True, exist_ok=True)
        # Any 127/8 address (chronyc -n lists sources by address, not port), whose clients send from 127.0.0.1;
        # or, with a `wrapper` into a network namespace, that namespace's address and the clients it `allow`s.
        self.host = host
        (workdir / "chrony.conf").write_text(
            f"port {port}\nbindaddress {self.host}\nallow {allow}\ncmdport 0\nbindcmdaddress /\n"
            f"pidfile {workdir}/chronyd.pid\ndriftfile {workdir}/drift\n" + ("local stratum 8\n" if synced else ""))
        env = None
        if offset:
            env = {**os.environ, "LD_PRELOAD": str(LIBFAKETIME), "FAKETIME": f"{offset:+g}",
                   "FAKETIME_DONT_FAKE_MONOTONIC": "1"}
        command = [*(wrapper or []), str(CHRONYD), "-f", str(workdir / "chrony.conf"), "-x", "-d", "-u", "root"]
        super().__init__(command, workdir / "chronyd.log", port, env=env)

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Ready once it answers an NTP request, synchronised or not (call it from the server's namespace)."""
        def answers():
            if self.proc.poll() is not None:
                raise RuntimeError(f"chronyd exited with {self.proc.returncode}:\n{self.logs()}")
            try:
                return ntplib.NTPClient().request(self.host, port=self.port, version=4, timeout=0.5)
            except ntplib.NTPException:
                return None
        poll(answers, timeout, what="chronyd answering NTP")


CHRONYC = ROOT / ".cache/debs/root/usr/bin/chronyc"


class ChronyClient(ServerProcess):
    """chronyd as a host's time daemon (-x: it never touches the clock), polling `servers` ("host port") every
    1/16 s, serving no NTP and answering chronyc on 127.0.0.1:`cmdport` (UDP): `chronyc` is the command to read it.
    With a `wrapper` into a network namespace, chronyc and wait_ready must run in that namespace too."""

    name = "chronyd client"

    def __init__(self, workdir: Path, cmdport: int, servers: list[str], wrapper: list[str] | None = None):
        workdir.mkdir(parents=True, exist_ok=True)
        (workdir / "chrony.conf").write_text(
            f"port 0\ncmdport {cmdport}\nbindcmdaddress 127.0.0.1\ncmdallow 127.0.0.1\n"
            f"pidfile {workdir}/chronyd.pid\ndriftfile {workdir}/drift\n"
            + "".join(f"server {host} port {port} iburst minpoll -4 maxpoll -4\n"
                      for host, port in (server.split() for server in servers)))
        self.chronyc = [str(CHRONYC), "-h", "127.0.0.1", "-p", str(cmdport)]
        command = [*(wrapper or []), str(CHRONYD), "-f", str(workdir / "chrony.conf"), "-x", "-d", "-u", "root"]
        super().__init__(command, workdir / "chronyd.log", cmdport)

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Ready once chronyc gets an answer on the command port."""
        def answers():
            if self.proc.poll() is not None:
                raise RuntimeError(f"chronyd exited with {self.proc.returncode}:\n{self.logs()}")
            return subprocess.run([*self.chronyc, "-c", "tracking"], capture_output=True, timeout=10).returncode == 0
        poll(answers, timeout, what="chronyd answering chronyc")


NTPSEC = ROOT / ".cache/debs/root/usr/sbin/ntpd"
NTPQ = ["/usr/bin/python3", str(ROOT / ".cache/debs/root/usr/bin/ntpq")]  # its own interpreter, not the venv's
NTPQ_PYTHONPATH = ROOT / ".cache/debs/root/usr/lib/python3/dist-packages"  # ntpq's `ntp` module, from python3-ntp


class NtpsecDaemon(ServerProcess):
    """ntpsec's ntpd as a host's time daemon polling `servers` every 8 s, run through `wrapper` (a network
    namespace: ntpd serves only port 123 and refuses 127.x sources besides 127.0.0.1). It runs without
    CAP_SYS_TIME, so it never sets the clock. `ntpq` is the command that reads it."""

    name = "ntpd"

    def __init__(self, workdir: Path, servers: list[str], wrapper: list[str]):
        workdir.mkdir(parents=True, exist_ok=True)
        (workdir / "ntp.conf").write_text(
            f"driftfile {workdir}/ntp.drift\n"
            + "".join(f"server {server} iburst minpoll 3 maxpoll 3\n" for server in servers)
            + "tos minsane 1\nrestrict default kod nomodify noquery limited\nrestrict 127.0.0.1\n")
        self.ntpq = [*wrapper, "env", f"PYTHONPATH={NTPQ_PYTHONPATH}", *NTPQ]
        command = [*wrapper, "setpriv", "--bounding-set=-sys_time", "--inh-caps=-sys_time",
                   str(NTPSEC), "-n", "-c", str(workdir / "ntp.conf")]
        super().__init__(command, workdir / "ntpd.log", 123)

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Ready once ntpq gets its peer list."""
        def answers():
            if self.proc.poll() is not None:
                raise RuntimeError(f"ntpd exited with {self.proc.returncode}:\n{self.logs()}")
            return "remote" in subprocess.run([*self.ntpq, "-n", "-p"], capture_output=True, text=True,
                                              timeout=10).stdout
        poll(answers, timeout, what="ntpd answering ntpq")
