"""CPU per HTTP probe, the probe code alone: one or more checkouts, alternating, against one fake world.

bench.run measures whole exporters and carries this VM's drift of about 15%; this runs only
`probe_http`, a few thousand times per run in a fresh process, so that two versions of the probe
can be told apart by a few percent. `--pace` starts one probe every so many seconds (as the
exporter's scheduler spreads them) instead of keeping `--concurrency` probes in flight; `--spse` turns on the
SPSE page checks (identity, version, data age); `--profile N` prints each checkout's top N functions by own
time (cProfile of CPU time over one more run; cProfile slows a run, so its CPU figure is left out).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import pstats
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Coroutine

CHILD_TIMEOUT = 600.0
SHORT_PATH = re.compile(r"^.*/(?:site-packages|lib/python3\.\d+)/|^.*/(?=(?:exporter|bench)/)")  # for the profile
# The measuring child runs this file as a script with only the checkout under test on its path,
# so everything the parent alone needs is imported in main().


async def probe_many(config: Path, probes: int, concurrency: int, pace: float,
                     profiler: cProfile.Profile | None = None) -> dict:
    """Run `probes` probes over the config's targets after one warm-up round; CPU per probe in ms.
    `profiler` runs over the measured probes only (not the config's loading or the warm-up)."""
    from exporter.config import load_config  # from the checkout this process runs in
    from exporter.probes.http import probe_http

    targets = list(load_config(config).targets)
    reasons: dict[str, int] = {}
    slots = asyncio.Semaphore(concurrency)

    async def one(target) -> None:
        async with slots:
            result = await probe_http(target)
        reasons[result.reason or "success"] = reasons.get(result.reason or "success", 0) + 1

    await asyncio.gather(*(one(target) for target in targets))
    reasons.clear()
    loop = asyncio.get_running_loop()
    if profiler:
        profiler.enable()
    cpu, began, due, tasks = time.process_time(), loop.time(), loop.time(), []
    for i in range(probes):
        if pace:
            await asyncio.sleep(max(0.0, due - loop.time()))
            due += pace
        tasks.append(asyncio.ensure_future(one(targets[i % len(targets)])))
    await asyncio.gather(*tasks)
    if profiler:
        profiler.disable()
    with open("/proc/self/status") as status:  # memory after the run: a loop or a cache that keeps too much
        rss = next(int(line.split()[1]) for line in status if line.startswith("VmRSS:")) / 1024
    return {"cpu_ms_per_probe": 1000 * (time.process_time() - cpu) / probes,
            "seconds": loop.time() - began, "rss_mib": rss, "results": dict(sorted(reasons.items()))}


def event_loop_runner(loop: str) -> Callable[[Coroutine], Any]:
    """asyncio.run, or uvloop's run, or "default": however the checkout's exporter runs its loop."""
    if loop == "uvloop":
        import uvloop

        return uvloop.run
    import exporter

    # A checkout older than exporter/eventloop.py ran on asyncio.run; an editable install of another
    # checkout would lend it that module, so look for the file.
    if loop == "default" and (Path(exporter.__file__).parent / "eventloop.py").exists():
        from exporter.eventloop import runner

        return runner()
    return asyncio.run


def profile_table(path: Path, rows: int) -> str:
    """The profile's top functions by own time as a Markdown table, paths shortened to the package."""
    stats = pstats.Stats(str(path))
    lines = [f"total {stats.total_tt:.2f} s profiled\n", "| own s | share | calls | function |", "|---:|---:|---:|---|"]
    top = sorted(stats.stats.items(), key=lambda item: item[1][2], reverse=True)[:rows]
    for (file, line, function), (_, calls, own, _, _) in top:
        where = SHORT_PATH.sub("", file)
        name = f"{where}:{line} {function}" if file != "~" else function  # "~": a built-in
        lines.append(f"| {own:.3f} | {own / stats.total_tt:.1%} | {calls} | `{name}` |")
    return "\n".join(lines)


def label(root: Path, loop: str) -> str:
    return str(root) if loop == "default" else f"{root} ({loop})"


def write_config(workdir: Path, world: dict, ca_file: Path, host: str, spse: bool = False) -> Path:
    """Targets as bench.run gives them, less the slow sites (they add waiting, not CPU); with `spse`, each
    also reads the page as SPSE's (`spse: {app_check: false}`: the front page only, as the probe measured)."""
    from bench.subjects import spse_target

    urls = [f"https://{host}:{site['port']}/eproc4" for site in world["sites"] if site["kind"] != "slow"]
    extra = {"spse": {"app_check": False}} if spse else {}
    config = {"interval": "15s", "timeout": "10s",
              "targets": [{**spse_target(i, url, ca_file), **extra} for i, url in enumerate(urls)]}
    path = workdir / "probe-cpu.yml"
    path.write_text(json.dumps(config))  # JSON is YAML
    return path


def run_child(root: Path, loop: str, config: Path, args: argparse.Namespace, cpu: int | None,
              profile: Path | None = None) -> dict:
    from bench.procs import pinned

    command = pinned([sys.executable, __file__, "--child", str(config), f"--probes={args.probes}",
                      f"--concurrency={args.concurrency}", f"--pace={args.pace}", f"--loop={loop}",
                      *([f"--profile-to={profile}"] if profile else [])], cpu)
    env = {**os.environ, "PYTHONPATH": str(root)}  # that checkout's exporter package
    done = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, timeout=CHILD_TIMEOUT)
    if done.returncode != 0:
        raise RuntimeError(f"probe run in {root} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m bench.probe_cpu", description=__doc__.splitlines()[0])
    parser.add_argument("--exporter-root", type=Path, nargs="+", default=[Path(__file__).resolve().parent.parent],
                        help="checkouts whose probe code to run (default: this one); ratios are to the first")
    parser.add_argument("--sites", type=int, default=200)
    parser.add_argument("--probes", type=int, default=2000, help="probes per run")
    parser.add_argument("--rounds", type=int, default=3, help="runs per checkout, alternating")
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--pace", type=float, default=0.0, help="start a probe every PACE seconds (0: all at once)")
    parser.add_argument("--host", default="localhost")
    parser.add_argument("--cpu", default="0", help="CPU for the probing process ('none' to not pin)")
    parser.add_argument("--spse", action="store_true", help="SPSE page checks on every target (`spse:`)")
    parser.add_argument("--profile", type=int, default=0, metavar="N",
                        help="after the measured runs, one more per checkout under cProfile: its top N functions")
    parser.add_argument("--loop", nargs="+", choices=("default", "asyncio", "uvloop"), default=["default"],
                        help="event loops to run each checkout on (default: the one the checkout's exporter runs)")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--profile-to", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        profiler = cProfile.Profile(time.process_time) if args.profile_to else None  # CPU, not waiting
        figures = event_loop_runner(args.loop[0])(
            probe_many(args.child, args.probes, args.concurrency, args.pace, profiler))
        if profiler:
            profiler.dump_stats(args.profile_to)
        print(json.dumps(figures))
        return 0

    from bench.procs import split_cpus
    from bench.run import World, write_tls
    from bench.subjects import Case

    cpu, others = split_cpus(args.cpu)
    workdir = Path(tempfile.mkdtemp(prefix="spse-probe-cpu-"))
    variants = [(root.resolve(), loop) for root in args.exporter_root for loop in args.loop]
    figures: dict[tuple[Path, str], list[float]] = {variant: [] for variant in variants}
    try:
        tls = write_tls(workdir, args.host)
        case = Case(args.sites, "https", 0.0, 15.0, 10.0, args.host, cpu)
        world = World(case, workdir, tls, others, CHILD_TIMEOUT * (args.rounds + bool(args.profile)) * len(variants))
        try:
            config = write_config(workdir, asyncio.run(world.info()), tls[0], args.host, args.spse)
            for round_ in range(args.rounds):
                for variant in variants if round_ % 2 == 0 else variants[::-1]:
                    result = run_child(*variant, config, args, cpu)
                    figures[variant].append(result["cpu_ms_per_probe"])
                    print(f"# {label(*variant)}: {result['cpu_ms_per_probe']:.3f} ms/probe over "
                          f"{result['seconds']:.1f}s, RSS {result['rss_mib']:.1f} MiB, {result['results']}", flush=True)
            for index, variant in enumerate(variants if args.profile else ()):
                run_child(*variant, config, args, cpu, workdir / f"profile-{index}.prof")
                print(f"\n{label(*variant)}: cProfile, top {args.profile} by own CPU time\n", flush=True)
                print(profile_table(workdir / f"profile-{index}.prof", args.profile))
        finally:
            world.stop()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    base = statistics.median(figures[variants[0]])
    print(f"\n{args.probes} HTTPS probes per run{' with the SPSE page checks' if args.spse else ''}, "
          f"{'one every %gs' % args.pace if args.pace else f'{args.concurrency} in flight'}, "
          f"{args.rounds} runs each\n\n| checkout | CPU ms / probe, median | runs | ratio |\n|---|---:|---|---:|")
    for variant, values in figures.items():
        runs = ", ".join(f"{v:.2f}" for v in values)
        print(f"| {label(*variant)} | {statistics.median(values):.2f} | {runs} | {statistics.median(values) / base:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
