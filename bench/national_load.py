"""Stand in for many LPSE sites remote-writing to the watcher, each as one real site writes.

    python3 -m bench.national_load --sites 700 --url http://127.0.0.1:9090/api/v1/write --seconds 600

Every site replays bench/site_profile.json (what one real site's Prometheus sends, measured by
bench/site_profile.py) under its own name: the same series, one sample each per 15 s interval, at
a stable offset of its own inside the interval, in requests of at most 500 samples (Prometheus'
max_samples_per_send), over its own kept-alive connection to each URL. Counters grow at the rate
they grew in the measured site; other values alternate between the two measured ones. Each site
also carries `province` and `timezone`, as its remote_write adds them (prometheus/remote-write.yml).
Prints one JSON line of what was sent when it stops (after --seconds, or at end of standard input).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from bench import remote_write
from bench.client import Client
from bench.site_profile import PROFILE

MAX_SAMPLES_PER_SEND = 500  # Prometheus 2.42's queue_config default
PROFILE_SITE = "kutaibarat"  # the site name the profile was measured under (the shipped configs')
COUNTER_SUFFIXES = ("_total", "_count", "_sum", "_bucket")
# Indonesia's 38 provinces and their time zones; the sites are spread over them in turn.
PROVINCES = {
    "WIB": ["Aceh", "Sumatera Utara", "Sumatera Barat", "Riau", "Kepulauan Riau", "Jambi", "Bengkulu",
            "Sumatera Selatan", "Kepulauan Bangka Belitung", "Lampung", "Banten", "DKI Jakarta", "Jawa Barat",
            "Jawa Tengah", "DI Yogyakarta", "Jawa Timur", "Kalimantan Barat", "Kalimantan Tengah"],
    "WITA": ["Bali", "Nusa Tenggara Barat", "Nusa Tenggara Timur", "Kalimantan Selatan", "Kalimantan Timur",
             "Kalimantan Utara", "Sulawesi Utara", "Gorontalo", "Sulawesi Tengah", "Sulawesi Barat",
             "Sulawesi Selatan", "Sulawesi Tenggara"],
    "WIT": ["Maluku", "Maluku Utara", "Papua", "Papua Barat", "Papua Barat Daya", "Papua Selatan", "Papua Tengah",
            "Papua Pegunungan"],
}
REGIONS = [(province, zone) for zone, names in PROVINCES.items() for province in names]


def site_name(index: int) -> str:
    """The same names bench/subjects.py gives the outside probe's targets, so the watcher joins the two."""
    return f"site{index:04d}"


def site_labels(index: int) -> dict[str, str]:
    province, zone = REGIONS[index % len(REGIONS)]
    return {"site": site_name(index), "province": province, "timezone": zone}


@dataclass
class Model:
    """How one profiled series' value moves: a counter grows at its measured rate, a gauge alternates."""

    first: float
    last: float
    counter: bool
    rate: float

    def value(self, seconds: float, tick: int) -> float:
        if self.counter:
            return self.last + self.rate * seconds
        return self.last if tick % 2 else self.first


def load_profile(path: Path) -> tuple[list[dict[str, str]], list[Model], float]:
    """The profiled series (labels without the site's own), their value models, and the scrape interval."""
    profile = json.loads(path.read_text())
    window = profile["measured"]["window_s"]
    labels, models = [], []
    for series, first, last in profile["series"]:
        if series.get("site") != PROFILE_SITE:
            raise ValueError(f"{path}: a series without site={PROFILE_SITE}: {series}")
        first = last if first is None else first
        last = first if last is None else last
        counter = series["__name__"].endswith(COUNTER_SUFFIXES) and last >= first
        labels.append({k: v for k, v in series.items() if k != "site"})
        models.append(Model(first, last, counter, (last - first) / window if counter else 0.0))
    return labels, models, profile["measured"]["scrape_interval_s"]


@dataclass
class Tally:
    requests: int = 0
    failed: int = 0
    samples: int = 0
    late: int = 0
    errors: dict[str, int] = field(default_factory=dict)


class Site:
    """One site's series, encoded once, and its send loop to every URL."""

    def __init__(self, index: int, labels: list[dict[str, str]], models: list[Model], ms: int):
        own = site_labels(index)
        self.name = own["site"]
        self.models = models
        self.series = [remote_write.Series({**series, **own}, remote_write.timestamp_size(ms)) for series in labels]

    def requests(self, ms: int, since_start: float, tick: int) -> list[tuple[bytes, int]]:
        """The compressed bodies of one send, with the samples each holds."""
        values = [model.value(since_start, tick) for model in self.models]
        batches = [(self.series[i:i + MAX_SAMPLES_PER_SEND], values[i:i + MAX_SAMPLES_PER_SEND])
                   for i in range(0, len(self.series), MAX_SAMPLES_PER_SEND)]
        return [(remote_write.compress(remote_write.write_request(series, batch, ms)), len(series))
                for series, batch in batches]


async def run_site(site: Site, targets: list[tuple[Client, str]], interval: float, started: float, stop: float,
                   tally: Tally) -> None:
    """Send the site's series every interval until `stop`, beginning at `started` plus the site's own offset."""
    loop = asyncio.get_running_loop()
    wall_offset = time.time() - loop.time()
    due = started + zlib.crc32(site.name.encode()) / 2**32 * interval
    tick = 0
    while due < stop:
        await asyncio.sleep(max(0.0, due - loop.time()))
        if loop.time() - due > interval / 2:
            tally.late += 1
        ms = int((due + wall_offset) * 1000)
        bodies = site.requests(ms, due - started, tick)
        for client, path in targets:
            for body, samples in bodies:
                try:
                    status, answer = await client.post(path, body, remote_write.HEADERS)
                except (OSError, TimeoutError) as err:
                    status, answer = 0, repr(err).encode()
                tally.requests += 1
                if status // 100 == 2:
                    tally.samples += samples
                else:
                    tally.failed += 1
                    key = f"{status} {answer[:120].decode(errors='replace').strip()}"
                    tally.errors[key] = tally.errors.get(key, 0) + 1
        due += interval
        tick += 1


async def run(args: argparse.Namespace) -> dict:
    labels, models, interval = load_profile(args.profile)
    interval = args.interval or interval
    ms = int(time.time() * 1000)
    sites = [Site(i, labels, models, ms) for i in range(args.first, args.first + args.sites)]
    loop = asyncio.get_running_loop()
    started = loop.time()
    stop = started + args.seconds
    tally = Tally()
    clients = []
    tasks = []
    for site in sites:
        targets = []
        for url in args.url:
            parts = urlsplit(url)
            client = Client(parts.hostname, parts.port, timeout=args.timeout)
            clients.append(client)
            targets.append((client, parts.path))
        joins = started + args.ramp * len(tasks) / len(sites)  # sites join one after the other over --ramp seconds
        tasks.append(asyncio.create_task(run_site(site, targets, interval, joins, stop, tally)))
    ended = asyncio.create_task(end_of_input()) if args.stdin else None
    waiting = [asyncio.gather(*tasks)] + ([ended] if ended else [])
    await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    if ended:
        ended.cancel()
    for client in clients:
        client.close()
    seconds = loop.time() - started
    return {"sites": args.sites, "series_per_site": len(labels), "series": len(labels) * args.sites,
            "urls": len(args.url), "seconds": round(seconds, 1), "requests": tally.requests, "failed": tally.failed,
            "samples": tally.samples, "samples_per_s_per_url": round(tally.samples / seconds / len(args.url), 1),
            "late": tally.late, "errors": tally.errors}


async def end_of_input() -> None:
    await asyncio.to_thread(sys.stdin.read)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python3 -m bench.national_load", description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, required=True)
    parser.add_argument("--first", type=int, default=0, help="index of the first site (site0000 is 0)")
    parser.add_argument("--url", action="append", required=True,
                        help="remote write URL of a watcher replica; repeat for each replica (every site writes to all)")
    parser.add_argument("--seconds", type=float, required=True, help="stop after this long")
    parser.add_argument("--stdin", action="store_true", help="also stop when standard input ends")
    parser.add_argument("--profile", type=Path, default=PROFILE)
    parser.add_argument("--interval", type=float, default=None, help="seconds between a site's sends (default: the "
                                                                     "profile's scrape interval, 15)")
    parser.add_argument("--timeout", type=float, default=30.0)
    parser.add_argument("--ramp", type=float, default=0.0,
                        help="seconds over which the sites start writing, one after the other (0: all in the first "
                             "interval, as after the watcher's restart)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    print(json.dumps(asyncio.run(run(parse_args(argv)))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
