"""How long a watcher replica may be away before its site's samples are lost: the remote-write WAL window of
Debian's Prometheus 2.42, measured on a faster clock.

A sender (a site's Prometheus, scraping itself every second) remote-writes to a receiver (a watcher replica).
The receiver is killed for D seconds and started again on its storage; the sender re-reads what it missed from
its WAL. The sender runs with --storage.tsdb.min/max-block-duration=BLOCK (hidden flags; 2h in production), so
head compactions, which truncate the WAL, come every BLOCK instead of every 2 hours. Every outage runs at once,
each with its own pair, and starts after 1.5 BLOCK of warm-up (the first compaction). The result scales with
the block: a window of k x BLOCK here is k x 2 hours in production.

    python3 -m bench.wal_window --block 1m --outages 30,60,90,120,150,180
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

PROMETHEUS = "/usr/bin/prometheus"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def seconds(duration: str) -> int:
    return int(duration[:-1]) * {"s": 1, "m": 60, "h": 3600}[duration[-1]]


def query(port: int, expr: str) -> float:
    url = f"http://127.0.0.1:{port}/api/v1/query?{urllib.parse.urlencode({'query': expr})}"
    with urllib.request.urlopen(url, timeout=10) as response:
        result = json.load(response)["data"]["result"]
    return sum(float(sample["value"][1]) for sample in result)


def start(directory: Path, port: int, config: str, flags: list[str]) -> subprocess.Popen:
    (directory / f"{port}.yml").write_text(config)
    process = subprocess.Popen([PROMETHEUS, f"--config.file={directory / f'{port}.yml'}",
                                f"--storage.tsdb.path={directory / f'data-{port}'}",
                                f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn", *flags],
                               stdout=subprocess.DEVNULL, stderr=open(directory / f"{port}.log", "ab"))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/-/ready", timeout=2)
            return process
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"Prometheus on {port} not ready; see {directory / f'{port}.log'}")


def trial(directory: Path, block: str, outage: int, results: dict) -> None:
    """One sender/receiver pair, one outage of the receiver; records sent and received samples of the outage."""
    sender_port, receiver_port = free_port(), free_port()
    receiver_flags = ["--web.enable-remote-write-receiver"]
    receiver = start(directory, receiver_port, "global: {}\n", receiver_flags)
    sender_config = (f"global: {{scrape_interval: 1s}}\nscrape_configs:\n  - job_name: site\n    static_configs:\n"
                     f"      - targets: ['127.0.0.1:{sender_port}']\nremote_write:\n"
                     f"  - url: http://127.0.0.1:{receiver_port}/api/v1/write\n"
                     f"    queue_config: {{capacity: 2500, max_shards: 4, max_backoff: 1s}}\n")
    sender = start(directory, sender_port, sender_config,
                   [f"--storage.tsdb.min-block-duration={block}", f"--storage.tsdb.max-block-duration={block}"])
    try:
        time.sleep(1.5 * seconds(block))
        receiver.kill()
        receiver.wait()
        began = time.time()
        time.sleep(outage)
        ended = time.time()
        receiver = start(directory, receiver_port, "global: {}\n", receiver_flags)
        window = f'count_over_time(up{{job="site"}}[{round((ended - began) * 1000)}ms] @ {ended:.3f})'
        deadline = time.monotonic() + 60  # caught up: the receiver has all of the outage, or what it gets in 60 s
        while time.monotonic() < deadline and query(receiver_port, window) < query(sender_port, window):
            time.sleep(1)
        results[outage] = (query(sender_port, window), query(receiver_port, window),
                           query(sender_port, "prometheus_tsdb_compactions_total"))
    finally:
        for process in (sender, receiver):
            process.terminate()
            process.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--block", default="1m", help="the sender's TSDB block duration (production: 2h)")
    parser.add_argument("--outages", default="30,60,90,120,150,180", help="receiver outages to try, in seconds")
    args = parser.parse_args()
    outages = [int(value) for value in args.outages.split(",")]
    results: dict[int, tuple[float, float, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        threads = [threading.Thread(target=trial, args=(Path(tmp), args.block, outage, results)) for outage in outages]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    block = seconds(args.block)
    print(f"block {args.block}; production block 2h")
    print("| receiver away | × block | in production | sender's compactions | samples sent in the outage "
          "| received afterwards | lost |")
    print("|---|---|---|---|---|---|---|")
    for outage in outages:
        sent, received, compactions = results.get(outage, (0, 0, 0))
        print(f"| {outage} s | {outage / block:.2f} | {outage / block * 2:.1f} h | {compactions:.0f} | {sent:.0f} | "
              f"{received:.0f} | {sent - received:.0f} |")


if __name__ == "__main__":
    main()
