"""One command for the whole benchmark: `python3 -m bench.run --targets 100 1000 --schemes http https`.

For each size and scheme it starts a fake world, then runs spse-exporter and blackbox_exporter
on it one after the other (the order alternates between cases), measures CPU per probe and share
of the core, memory, missed, late and how late rounds start, and /metrics scrape time, and prints
a markdown table with the ratios and, per exporter, the sizes at which it fell behind.
`--profile watcher` probes as the watcher's exporter does (exporter/examples/watcher.yml: 700 HTTPS
URLs by default, no clock or upstream checks): `python3 -m bench.run --profile watcher`.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path

import trustme

from bench import report
from bench.procs import cpu_seconds, split_cpus
from bench.subjects import BLACKBOX, PROFILES, ROOT, Blackbox, Case, SpseExporter, scrape_times, watcher_example
from bench.world import FAILING_KINDS
from exporter.config.durations import parse_duration
from tests.support import proc_status

RSS_EVERY = 1.0
WORLD_START_TIMEOUT = 120.0
WATCHER_URLS = 700  # the LPSE sites a national watcher probes from outside (issue 23)


def write_tls(workdir: Path, host: str) -> tuple[Path, Path, Path]:
    """A local CA and one RSA server certificate (what most SPSE sites serve) for `host` and 127.0.0.1."""
    ca = trustme.CA(key_type=trustme.KeyType.RSA)
    cert = ca.issue_cert(host, "127.0.0.1", key_type=trustme.KeyType.RSA)
    paths = workdir / "ca.pem", workdir / "server.pem", workdir / "server.key"
    ca.cert_pem.write_to_path(str(paths[0]))
    cert.private_key_and_cert_chain_pem.write_to_path(str(paths[1]))
    cert.private_key_pem.write_to_path(str(paths[2]))
    return paths


class World:
    """The fake world process (bench/world.py), pinned away from the exporters."""

    def __init__(self, case: Case, workdir: Path, tls: tuple[Path, Path, Path], cpus: set[int] | None,
                 seconds: float):
        command = [sys.executable, "-m", "bench.world", f"--sites={case.targets}", f"--seconds={seconds:g}"]
        if case.scheme == "https":
            command += [f"--cert={tls[1]}", f"--key={tls[2]}"]
        if cpus:
            command = ["taskset", "-c", ",".join(map(str, sorted(cpus))), *command]
        self.workdir = workdir
        self.log_path = workdir / f"world-{case.targets}-{case.scheme}.log"
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(command, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=log, text=True)
        self.pid = self.proc.pid

    async def _answer(self, timeout: float) -> str:
        line = await asyncio.wait_for(asyncio.to_thread(self.proc.stdout.readline), timeout)
        if not line:
            raise RuntimeError(f"fake world exited:\n{self.log_path.read_text(errors='replace')[-2000:]}")
        return line

    async def info(self) -> dict:
        return json.loads(await self._answer(WORLD_START_TIMEOUT))

    async def arrivals(self) -> dict[str, list[float]]:
        path = self.workdir / "arrivals.json"
        self.proc.stdin.write(f"arrivals {path}\n")
        self.proc.stdin.flush()
        answer = await self._answer(30)
        if answer.strip() != "ok":
            raise RuntimeError(f"fake world: {answer!r}")
        return json.loads(path.read_text())

    def stop(self) -> None:
        try:
            self.proc.stdin.write("quit\n")
            self.proc.stdin.close()
            self.proc.wait(10)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait(5)


async def sample_rss(pid: int, samples: list[tuple[float, float]]) -> None:
    loop = asyncio.get_running_loop()
    while True:
        samples.append((loop.time(), proc_status(pid, "VmRSS") / 1024))
        await asyncio.sleep(RSS_EVERY)


async def measure(subject, world: World, case: Case, render_scrapes: int) -> dict:
    """Warm up for one interval, then measure one window of `case.duration` seconds."""
    loop = asyncio.get_running_loop()
    try:
        await subject.start()
    except BaseException:  # one that never came up must not outlive the run
        await subject.stop()
        raise
    pid = subject.process.proc.pid
    driver = asyncio.create_task(subject.drive())
    rss: list[tuple[float, float]] = []
    try:
        await asyncio.sleep(case.interval)  # warm-up: a full round after the exporter is ready
        await world.arrivals()  # forget the warm-up's arrivals
        before = await subject.tally()
        t0, cpu0, world0, driver0 = loop.time(), cpu_seconds(pid), cpu_seconds(world.pid), cpu_seconds(os.getpid())
        sampler = asyncio.create_task(sample_rss(pid, rss))
        await asyncio.sleep(case.duration)
        t1, cpu1, world1, driver1 = loop.time(), cpu_seconds(pid), cpu_seconds(world.pid), cpu_seconds(os.getpid())
        sampler.cancel()
        after = await subject.tally()
        arrivals = await world.arrivals()
        render = None
        if render_scrapes:
            times, size = await scrape_times(subject.client, render_scrapes, pause=0.02)
            render = {"p50_ms": report.percentile(times, 50) * 1000, "p99_ms": report.percentile(times, 99) * 1000,
                      "scrapes": len(times), "bytes": size}
        # the kernel updates VmHWM lazily: it can lag the RSS last sampled
        peak = max(proc_status(pid, "VmHWM") / 1024, *(value for _, value in rss))
    finally:
        driver.cancel()
        await asyncio.gather(driver, return_exceptions=True)
        await subject.stop()
    completed = after.completed - before.completed
    sites = subject.world["sites"]
    return {
        "exporter": subject.name, "case": asdict(case), "completed": completed,
        "failed_share": (after.failed - before.failed) / completed if completed else 0.0,
        "world_failed_share": sum(site["kind"] in FAILING_KINDS for site in sites) / len(sites),
        "cpu_s": cpu1 - cpu0, "cpu_pct": (cpu1 - cpu0) / (t1 - t0) * 100,
        "cpu_ms_per_probe": (cpu1 - cpu0) / completed * 1000 if completed else None,
        "probe_ms_mean": (after.seconds - before.seconds) / completed * 1000 if completed else None,
        "rss": {**report.rss_figures(rss), "peak_mb": peak},
        "rounds": report.rounds(arrivals, t0, t1, case.interval),
        "late_logged": subject.late_rounds_logged(),
        "render": render, "world_cpu_pct": (world1 - world0) / (t1 - t0) * 100,
        "driver_cpu_pct": (driver1 - driver0) / (t1 - t0) * 100,
    }


def world_budget(case: Case, render_scrapes: int) -> float:
    """Seconds the world may live on its own: both exporters' turns, each its start, first round, warm-up,
    window and timed scrapes, with room for what grows with the targets (reading the config, the page).
    The world stops as soon as the driver closes its input; this only ends one whose driver vanished."""
    turn = (case.duration + 3 * case.interval + case.timeout + 120 + 0.1 * case.targets
            + render_scrapes * (0.05 + case.targets / 5000))
    return 2 * turn


def write_json(path: Path | None, info: dict, pairs: list[tuple[dict, dict]]) -> None:
    if path:
        path.write_text(json.dumps({"machine": info, "results": [r for p in pairs for r in p]}, indent=1))


def machine() -> dict:
    model = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    answer = subprocess.run([BLACKBOX, "--version"], capture_output=True, text=True)
    version = (answer.stdout + answer.stderr).splitlines()
    return {"nproc": os.cpu_count(), "cpu": model, "loadavg": open("/proc/loadavg").read().split()[:3],
            "python": platform.python_version(), "kernel": platform.release(),
            "blackbox": version[0] if version else "?",
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python3 -m bench.run", description=__doc__.splitlines()[0])
    parser.add_argument("--profile", choices=PROFILES, default="site",
                        help="site: a site's exporter (clock and upstream checks too); watcher: the watcher's outside "
                             f"probes, exporter/examples/watcher.yml's targets, interval and timeout ({WATCHER_URLS} "
                             "targets unless --targets says otherwise)")
    parser.add_argument("--targets", type=int, nargs="+", help="sizes to run (default 100; the watcher profile "
                                                                  f"{WATCHER_URLS})")
    parser.add_argument("--schemes", nargs="+", choices=("http", "https"), default=["https"])
    parser.add_argument("--duration", type=float, default=120.0,
                        help="measured window per exporter and case, seconds (rounded up to whole intervals)")
    parser.add_argument("--goal-duration", type=float, default=None,
                        help="window for the goal case (largest size, https), e.g. 600 for the 10-minute run")
    parser.add_argument("--interval", type=float, help="seconds (default 15; the watcher profile: watcher.yml's)")
    parser.add_argument("--timeout", type=float, help="seconds (default 10; the watcher profile: watcher.yml's)")
    parser.add_argument("--host", default="localhost", help="host name in target URLs (resolved on every probe)")
    parser.add_argument("--cpu", default="0",
                        help="CPU to pin both exporters to, the world and driver get the others; 'none' to not pin")
    parser.add_argument("--render-scrapes", type=int, default=200, help="timed /metrics scrapes after each window")
    parser.add_argument("--exporter-root", type=Path, default=ROOT,
                        help="run spse-exporter from this checkout instead (e.g. an older commit, for before/after)")
    parser.add_argument("--json", type=Path, help="also write every figure to this file")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (configs and logs)")
    args = parser.parse_args(argv)
    defaults = {"targets": [100], "interval": 15.0, "timeout": 10.0}
    if args.profile == "watcher":
        settings = watcher_example()[0]
        defaults = {"targets": [WATCHER_URLS], "interval": parse_duration(settings["interval"]),
                    "timeout": parse_duration(settings["timeout"])}
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    return args


def cases(args: argparse.Namespace, cpu: int | None) -> list[Case]:
    goal = (max(args.targets), "https" if "https" in args.schemes else args.schemes[-1])
    out = []
    for targets in args.targets:
        for scheme in args.schemes:
            duration = args.goal_duration if args.goal_duration and (targets, scheme) == goal else args.duration
            windows = max(1, -(-round(duration) // round(args.interval)))
            out.append(Case(targets, scheme, windows * args.interval, args.interval, args.timeout, args.host, cpu,
                            str(args.exporter_root.resolve()), args.profile))
    return out


async def run(args: argparse.Namespace) -> int:
    cpu, others = split_cpus(args.cpu)
    if others:
        os.sched_setaffinity(0, others)  # the driver shares the world's CPUs, not the exporters'
    workdir = Path(tempfile.mkdtemp(prefix="spse-bench-"))
    info = machine()
    print(f"# machine: {info['nproc']} CPU(s), {info['cpu']}, load {' '.join(info['loadavg'])}; "
          f"work dir {workdir}", flush=True)
    tls = write_tls(workdir, args.host)
    pairs = []
    try:
        for index, case in enumerate(cases(args, cpu)):
            world = World(case, workdir, tls, others, world_budget(case, args.render_scrapes))
            try:
                world_info = await world.info()
                subjects = [SpseExporter, Blackbox] if index % 2 == 0 else [Blackbox, SpseExporter]
                results = {}
                for kind in subjects:
                    print(f"# {case.targets} {case.scheme}: {kind.name} for {case.duration:g}s ...", flush=True)
                    subject = kind(case, world_info, workdir, tls[0])
                    results[kind.name] = await measure(subject, world, case, args.render_scrapes)
                pairs.append((results[SpseExporter.name], results[Blackbox.name]))
                # each case as soon as it is measured: a long run that stops later keeps what it measured
                print(f"# measured:\n{report.table(pairs[-1:])}", flush=True)
                write_json(args.json, info, pairs)
            finally:
                world.stop()
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    print_report(args, info, pairs)
    return 0


def print_report(args: argparse.Namespace, info: dict, pairs: list[tuple[dict, dict]]) -> None:
    command = "python3 -m bench.run " + shlex.join(sys.argv[1:])
    print(f"\nCommand: `{command}`  \n"
          f"Machine: {info['nproc']} CPU(s), {info['cpu']}, load average before the run {' '.join(info['loadavg'])}, "
          f"Python {info['python']}, Linux {info['kernel']}, {info['blackbox']}, {info['date']}.\n")
    print(report.table(pairs))
    results = [r for pair in pairs for r in pair]
    print(f"\nWhere each exporter fell behind (probes done under due, missed rounds, round lateness p99 over "
          f"{report.LATE_AFTER:g} s, failures over the world's share, or {report.NEAR_FULL_CORE_PCT}% of the core "
          f"or more):")
    print(report.bends(results))
    print()
    print(report.notes(results))
    if args.profile != "site":  # the goals are a site exporter's (issue 23 sets none for the watcher's probes)
        return
    ours, theirs = max(pairs, key=lambda p: (p[0]["case"]["targets"], p[0]["case"]["scheme"] == "https"))
    print(f"\nGoals ({ours['case']['targets']} {ours['case']['scheme']} targets, "
          f"{ours['case']['duration']:g}s window):")
    for text, met in report.goals(ours, theirs):
        print(f"- [{'x' if met else ' '}] {text}")


def main(argv: list[str] | None = None) -> int:
    return asyncio.run(run(parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
