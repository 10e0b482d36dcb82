"""CPU per HTTP probe, the probe code alone: one or more checkouts, alternating, against one fake world.

bench.run measures whole exporters and carries this VM's drift of about 15%; this runs only
`probe_http`, a few thousand times per run in a fresh process, so that two versions of the probe
can be told apart by a few percent. `--pace` starts one probe every so many seconds (as the
exporter's scheduler spreads them) instead of keeping `--concurrency` probes in flight.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD_TIMEOUT = 600.0
# The measuring child runs this file as a script with only the checkout under test on its path,
# so everything the parent alone needs is imported in main().


async def probe_many(config: Path, probes: int, concurrency: int, pace: float) -> dict:
    """Run `probes` probes over the config's targets after one warm-up round; CPU per probe in ms."""
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
    cpu, began, due, tasks = time.process_time(), loop.time(), loop.time(), []
    for i in range(probes):
        if pace:
            await asyncio.sleep(max(0.0, due - loop.time()))
            due += pace
        tasks.append(asyncio.ensure_future(one(targets[i % len(targets)])))
    await asyncio.gather(*tasks)
    return {"cpu_ms_per_probe": 1000 * (time.process_time() - cpu) / probes,
            "seconds": loop.time() - began, "results": dict(sorted(reasons.items()))}


def write_config(workdir: Path, world: dict, ca_file: Path, host: str) -> Path:
    """Targets as bench.run gives them, less the slow sites (they add waiting, not CPU)."""
    from bench.subjects import spse_target

    urls = [f"https://{host}:{site['port']}/eproc4" for site in world["sites"] if site["kind"] != "slow"]
    config = {"interval": "15s", "timeout": "10s",
              "targets": [spse_target(i, url, ca_file) for i, url in enumerate(urls)]}
    path = workdir / "probe-cpu.yml"
    path.write_text(json.dumps(config))  # JSON is YAML
    return path


def run_child(root: Path, config: Path, args: argparse.Namespace, cpu: int | None) -> dict:
    from bench.procs import pinned

    command = pinned([sys.executable, __file__, "--child", str(config), f"--probes={args.probes}",
                      f"--concurrency={args.concurrency}", f"--pace={args.pace}"], cpu)
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
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(asyncio.run(probe_many(args.child, args.probes, args.concurrency, args.pace))))
        return 0

    from bench.procs import split_cpus
    from bench.run import World, write_tls
    from bench.subjects import Case

    cpu, others = split_cpus(args.cpu)
    workdir = Path(tempfile.mkdtemp(prefix="spse-probe-cpu-"))
    roots = [root.resolve() for root in args.exporter_root]
    figures: dict[Path, list[float]] = {root: [] for root in roots}
    try:
        tls = write_tls(workdir, args.host)
        case = Case(args.sites, "https", 0.0, 15.0, 10.0, args.host, cpu)
        world = World(case, workdir, tls, others, CHILD_TIMEOUT * args.rounds * len(roots))
        try:
            config = write_config(workdir, asyncio.run(world.info()), tls[0], args.host)
            for round_ in range(args.rounds):
                for root in roots if round_ % 2 == 0 else roots[::-1]:
                    result = run_child(root, config, args, cpu)
                    figures[root].append(result["cpu_ms_per_probe"])
                    print(f"# {root}: {result['cpu_ms_per_probe']:.3f} ms/probe over {result['seconds']:.1f}s, "
                          f"{result['results']}", flush=True)
        finally:
            world.stop()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    base = statistics.median(figures[roots[0]])
    print(f"\n{args.probes} HTTPS probes per run, {'one every %gs' % args.pace if args.pace else f'{args.concurrency} in flight'}, "
          f"{args.rounds} runs each\n\n| checkout | CPU ms / probe, median | runs | ratio |\n|---|---:|---|---:|")
    for root, values in figures.items():
        runs = ", ".join(f"{v:.2f}" for v in values)
        print(f"| {root} | {statistics.median(values):.2f} | {runs} | {statistics.median(values) / base:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
