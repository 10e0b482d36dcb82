"""The benchmark's fake world: N SPSE sites on their own loopback ports, plus time sources and anchors.

One asyncio process serves every site (a thread per connection, as in tests/fakes.py, would cost
more CPU than the exporters under test), so its CPU is kept apart from theirs. Each site records
when connections arrive: the gaps between them show missed or late rounds, whoever the prober is.

Protocol on stdin, one command a line: `arrivals PATH` writes {port: [monotonic times]} to PATH
and forgets them, then prints `ok`; `quit` (or end of input, or --seconds passing) stops the world.
"""

from __future__ import annotations

import argparse
import asyncio
import email.utils
import functools
import json
import ssl
import sys
import time
from dataclasses import dataclass

from tests.fakes import GATEWAY_TIMEOUT_PAGE, SPSE_ERROR_PAGE, FakeNTP, TcpListener

READ_TIMEOUT = 10.0
CLOSE_TIMEOUT = 5.0
NTP_SOURCES = 3
ANCHORS = 3
FAILING_KINDS = ("504", "error_page")  # the sites every probe of which fails, whoever probes them


@dataclass(frozen=True)
class Site:
    """What site `index` serves: a normal page of tens of kB, or slowly, or a 504, or SPSE's error page."""

    kind: str  # ok, slow, 504, error_page
    status: int
    body: bytes
    delay: float = 0.0


@functools.lru_cache(maxsize=None)
def spse_page(size: int) -> bytes:
    """An SPSE-like tender list padded to about `size` bytes."""
    head = "<html><head><title>SPSE 4 - LPSE Kabupaten Contoh</title></head><body><table>"
    row = "<tr><td>Paket {0}</td><td>Pengadaan jasa konsultansi tahap {0}</td><td>Tender sedang berjalan</td></tr>"
    rows, length, i = [], len(head), 0
    while length < size:
        rows.append(row.format(i))
        length += len(rows[-1])
        i += 1
    return (head + "".join(rows) + "</table></body></html>").encode()


def site(index: int) -> Site:
    """Deterministic mix: 5% answer 504, 2% SPSE's error page, 10% slow (0.5-2.9 s), the rest fine."""
    if index % 20 == 3:
        return Site("504", 504, GATEWAY_TIMEOUT_PAGE.encode())
    if index % 50 == 11:
        return Site("error_page", 200, SPSE_ERROR_PAGE.encode())
    page = spse_page(20_000 + (index * 7919) % 41 * 1000)
    if index % 10 == 5:
        return Site("slow", 200, page, 0.5 + (index % 7) * 0.4)
    return Site("ok", 200, page)


class World:
    def __init__(self, host: str, sites: int, tls: ssl.SSLContext | None):
        self.host, self.count, self.tls = host, sites, tls
        self.arrivals: dict[int, list[float]] = {}
        self.servers: list[asyncio.AbstractServer] = []

    async def start(self) -> list[dict]:
        """Listen for every site; return [{"port", "kind"}] in site order."""
        sites = []
        for index in range(self.count):
            spec = site(index)
            server = await asyncio.start_server(
                lambda r, w, spec=spec: self._serve(r, w, spec), self.host, 0, ssl=self.tls, backlog=128)
            port = server.sockets[0].getsockname()[1]
            self.arrivals[port] = []
            self.servers.append(server)
            sites.append({"port": port, "kind": spec.kind})
        return sites

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, spec: Site) -> None:
        self.arrivals[writer.get_extra_info("sockname")[1]].append(time.monotonic())
        try:
            async with asyncio.timeout(READ_TIMEOUT):
                await reader.readuntil(b"\r\n\r\n")
            if spec.delay:
                await asyncio.sleep(spec.delay)
            reason = "OK" if spec.status == 200 else "Gateway Time-out"
            head = (f"HTTP/1.1 {spec.status} {reason}\r\nServer: nginx\r\n"
                    f"Date: {email.utils.formatdate(usegmt=True)}\r\n"
                    f"Content-Type: text/html; charset=utf-8\r\nContent-Length: {len(spec.body)}\r\n"
                    "Connection: close\r\n\r\n")
            writer.write(head.encode() + spec.body)
            await writer.drain()
        except (OSError, TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass  # a prober that gives up is its own business
        finally:
            writer.close()
            try:
                async with asyncio.timeout(CLOSE_TIMEOUT):
                    await writer.wait_closed()
            except (OSError, TimeoutError):
                pass

    def take_arrivals(self) -> dict[int, list[float]]:
        taken = {port: times for port, times in self.arrivals.items()}
        self.arrivals = {port: [] for port in taken}
        return taken


async def commands(world: World) -> None:
    """Answer the harness's commands until `quit` or end of input."""
    reader = asyncio.StreamReader()
    await asyncio.get_running_loop().connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while True:
        line = (await reader.readline()).decode()
        words = line.split()
        if not words or words[0] == "quit":
            return
        if words[0] == "arrivals" and len(words) == 2:
            with open(words[1], "w") as handle:
                json.dump(world.take_arrivals(), handle)
            print("ok", flush=True)
        else:
            print(f"error: unknown command {line.strip()!r}", flush=True)


async def serve(args: argparse.Namespace) -> None:
    tls = None
    if args.cert:
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(args.cert, args.key)
    world = World(args.host, args.sites, tls)
    sites = await world.start()
    extras = [FakeNTP(args.host) for _ in range(NTP_SOURCES)] + [TcpListener(args.host) for _ in range(ANCHORS)]
    print(json.dumps({
        "sites": sites,
        "ntp": [fake.address for fake in extras[:NTP_SOURCES]],
        "anchors": [fake.address for fake in extras[NTP_SOURCES:]],
    }), flush=True)
    try:
        await asyncio.wait_for(commands(world), args.seconds)
    except TimeoutError:
        pass
    finally:
        for server in world.servers:
            server.close()
        for fake in extras:
            fake.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve N fake SPSE sites on loopback for the benchmark.")
    parser.add_argument("--sites", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--cert", help="PEM certificate chain: serve https (with --key)")
    parser.add_argument("--key")
    parser.add_argument("--seconds", type=float, default=3600.0, help="stop by itself after this long")
    asyncio.run(serve(parser.parse_args(argv)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
