"""The watcher at national scale: N sites remote-writing, N outside probes, the national dashboard's queries.

    python3 -m bench.national --sites 100 700 2000 --warmup 60 --window 120 --json /tmp/national.json
    python3 -m bench.national --sites 700 --compare-rules OLD_RULES_DIR   # what each rule costs, beside an older set

For each size, on loopback: a fake world of N SPSE sites (bench/world.py, plain HTTP), the real
exporter probing all N from outside with exporter/examples/watcher.yml's target settings, and the
real watcher Prometheus (prometheus/watcher/prometheus.yml and its rules, unchanged but for
addresses), `--replicas` of them, each holding the last hour of what the national dashboard reads
(backfilled with promtool). bench/national_load.py writes N sites' series to every replica. After
the warm-up, over the window: active series, samples/s appended, rule evaluation time as a share of
the interval, each replica's RSS, the outside exporter's CPU; then the national dashboard's queries
over a 1-hour range, all of one dashboard load at once, `--query-rounds` times: p50 / p99 / max.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import concurrent.futures
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

import yaml

from bench import national_load, report
from bench.procs import cpu_seconds
from bench.run import World
from bench.subjects import Case, SpseExporter
from tests.fakes import free_port
from tests.stack import STACK_DIR, PrometheusProcess, render_prometheus_config
from tests.support import ROOT, http_get, parse_metrics, poll, proc_status

NATIONAL_DASHBOARD = ROOT / "grafana" / "dashboards" / "spse-national.json"
INTERVAL = 15.0  # the watcher's scrape and evaluation interval, and each site's (--interval changes it, for tests)
BACKFILL_SECONDS = 3600
QUERY_RANGE = 3600
QUERY_STEP = "15s"  # Grafana's step for 1 hour on a panel: the datasource's timeInterval (15s) bounds it below
RATE_INTERVAL = "1m"  # Grafana's $__rate_interval at a 15s scrape interval
SAMPLE_EVERY = 5.0
BROWSER_CONNECTIONS = 6  # requests a browser has in flight to one HTTP/1.1 host: Grafana's panel queries queue behind them
DEFAULT_MAX_CONNECTIONS = 512  # Prometheus' --web.max-connections
QUERY_TIMEOUT = 120  # seconds: a query that takes longer is a result ("did not come up"), not a hang
COST_ROUNDS = 3  # evaluations of each rule, as a query, for its median time
RULES_NAMED = 6  # the slowest rules named in the notes under the table
GOALS = {"rule_share": 0.25, "rss_gb": 4.0, "query_p99_s": 1.0}  # at 700 sites (issue 24)
class WatcherExporter(SpseExporter):
    """The watcher's outside probe: one target per site (named as national_load names the sites), settings of
    exporter/examples/watcher.yml (the watcher profile of bench/subjects.py)."""

    name = "outside exporter"


def own_metrics(prometheus: PrometheusProcess) -> dict:
    status, body, _ = http_get(f"{prometheus.url}/metrics", timeout=QUERY_TIMEOUT)
    assert status == 200, status
    return parse_metrics(body.decode())


def rule_seconds(prometheus: PrometheusProcess) -> dict[str, float]:
    """Each rule's and each group's last evaluation time (s) from /api/v1/rules, keyed "group" and "group/rule"."""
    seconds = {}
    for group in prometheus.get_json("/api/v1/rules")["data"]["groups"]:
        seconds[group["name"]] = group["evaluationTime"]
        for rule in group["rules"]:
            seconds[f"{group['name']}/{rule['name']}"] = max(seconds.get(f"{group['name']}/{rule['name']}", 0.0),
                                                               rule["evaluationTime"])
    return seconds


def rule_costs(prometheus: PrometheusProcess, rule_dir: Path, at: float, rounds: int) -> dict[str, dict]:
    """Every rule of the files in `rule_dir` run as an instant query at `at`, as its group evaluates it: the samples
    it reads (Prometheus' query statistics: a count, the same on a loaded machine) and the median of `rounds`
    evaluation times. Keyed "group/rule"; template expansion of alerts is not in it."""
    costs = {}
    for path in sorted(rule_dir.glob("*.yml")):
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                params = urllib.parse.urlencode({"query": rule["expr"], "time": f"{at:.3f}", "stats": "all"})
                runs = []
                for _ in range(rounds):  # a loaded watcher may take seconds: longer than a test's 5 s
                    status, body, _ = http_get(f"{prometheus.url}/api/v1/query?{params}", timeout=QUERY_TIMEOUT)
                    if status != 200:
                        raise RuntimeError(f"{rule['expr']}: {status} {body[:300]!r}")
                    runs.append(json.loads(body)["data"]["stats"])
                costs[f"{group['name']}/{rule.get('record') or rule['alert']}"] = {
                    "samples": runs[-1]["samples"]["totalQueryableSamples"],
                    "seconds": statistics.median(run["timings"]["evalTotalTime"] for run in runs)}
    return costs


def group_costs(costs: dict[str, dict]) -> dict[str, dict]:
    """rule_costs summed per group."""
    groups: dict[str, dict] = {}
    for key, cost in costs.items():
        group = groups.setdefault(key.partition("/")[0], {"samples": 0, "seconds": 0.0})
        group["samples"] += cost["samples"]
        group["seconds"] += cost["seconds"]
    return groups


def total(samples, name: str) -> float:
    return sum(samples.series(name).values())


def backfill(path: Path, sites: int, outside_instance: str, end: float, seconds: float) -> int:
    """OpenMetrics text for the hour before `end` of the series the national dashboard reads: the outside probe,
    the site's `up`, the watcher's recorded series per site and the count per cause (every site healthy).
    Returns the sample count."""
    labels, _, _ = national_load.load_profile(national_load.PROFILE)
    site_up = next(series for series in labels if series["__name__"] == "up" and series.get("job") == "spse-exporter")
    stamps = [f"{end - seconds + i * INTERVAL:.3f}" for i in range(int(seconds / INTERVAL))]
    count = 0

    def series(name: str, labels: dict[str, str], value: str) -> None:
        nonlocal count
        text = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
        handle.writelines(f"{name}{{{text}}} {value} {stamp}\n" for stamp in stamps)
        count += len(stamps)

    with open(path, "w") as handle:
        for index in range(sites):
            own = national_load.site_labels(index)
            site = {"site": own["site"]}
            series("spse_http_probe_success", {**site, "target": own["site"], "job": "spse-exporter",
                                               "instance": outside_instance, "vantage": "outside"}, "1")
            series("up", {**{k: v for k, v in site_up.items() if k != "__name__"}, **own}, "1")
            series("watcher:site_info", own, "1")
            series("watcher:site_cause", {**site, "cause": "none"}, "1")
            for name in ("watcher:outside_down", "watcher:inside_down", "watcher:site_silent"):
                series(name, site, "0")
        regions = collections.Counter(tuple(national_load.site_labels(i)[k] for k in ("province", "timezone"))
                                      for i in range(sites))
        for (province, zone), number in sorted(regions.items()):
            series("watcher:sites_by_cause:count", {"province": province, "timezone": zone, "cause": "none"},
                   str(number))
        handle.write("# EOF\n")
    return count


def dashboard_queries() -> list[tuple[str, str, bool]]:
    """(panel title, PromQL as Grafana sends it with every filter on All, instant?) of the national dashboard."""
    dashboard = json.loads(NATIONAL_DASHBOARD.read_text())
    found = []
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            expr = target["expr"]
            for name, value in {"province": ".*", "timezone": ".*", "__rate_interval": RATE_INTERVAL,
                                "__range": f"{QUERY_RANGE}s", "__interval": QUERY_STEP}.items():
                expr = expr.replace(f"${{{name}}}", value).replace(f"${name}", value)
            found.append((panel["title"], expr, target.get("instant", False)))
    return found


def timed_query(prometheus: PrometheusProcess, expr: str, instant: bool) -> tuple[float, int]:
    now = time.time()
    if instant:
        path, params = "/api/v1/query", {"query": expr, "time": f"{now:.3f}"}
    else:
        path, params = "/api/v1/query_range", {"query": expr, "start": f"{now - QUERY_RANGE:.3f}",
                                               "end": f"{now:.3f}", "step": QUERY_STEP}
    began = time.monotonic()
    status, body, _ = http_get(f"{prometheus.url}{path}?{urllib.parse.urlencode(params)}", timeout=QUERY_TIMEOUT)
    took = time.monotonic() - began
    reply = json.loads(body)
    if status != 200 or reply.get("status") != "success":
        raise RuntimeError(f"{expr}: {status} {reply.get('error')}")
    return took, len(reply["data"]["result"])


def query_latencies(prometheus: PrometheusProcess, rounds: int) -> dict:
    """Every query of the dashboard, as a browser loading it sends them (6 at a time), `rounds` times."""
    queries = dashboard_queries()
    times: list[float] = []
    empty = set()
    slowest: dict[str, float] = {}
    with concurrent.futures.ThreadPoolExecutor(BROWSER_CONNECTIONS) as pool:
        for _ in range(rounds):
            answers = list(pool.map(lambda q: timed_query(prometheus, q[1], q[2]), queries))
            for (title, _, _), (took, series) in zip(queries, answers):
                times.append(took)
                slowest[title] = max(slowest.get(title, 0.0), took)
                if not series:
                    empty.add(title)
    return {"queries": len(queries), "rounds": rounds, "p50_s": report.percentile(times, 50),
            "p99_s": report.percentile(times, 99), "max_s": max(times),
            "slowest_panel": max(slowest, key=slowest.get), "empty_panels": sorted(empty)}


def loadavg() -> str:
    return " ".join(open("/proc/loadavg").read().split()[:3])


class Replica:
    """One watcher Prometheus, its storage backfilled before it starts."""

    def __init__(self, name: str, workdir: Path, exporter: str, openmetrics: Path, interval: float,
                 max_connections: int | None):
        self.dir = workdir / f"watcher-{name}"
        self.dir.mkdir()
        self.port = free_port()
        storage = self.dir / f"prometheus-data-{self.port}"  # where PrometheusProcess keeps it
        subprocess.run(["promtool", "tsdb", "create-blocks-from", "openmetrics", str(openmetrics), str(storage)],
                       check=True, capture_output=True, timeout=1800)
        config = render_prometheus_config(self.dir, exporter=exporter, source=STACK_DIR / "watcher" / "prometheus.yml",
                                          scrape_interval=f"{interval:g}s", evaluation_interval=f"{interval:g}s")
        doc = yaml.safe_load(config.read_text())
        doc["global"]["external_labels"]["replica"] = name  # as the replica pair tells its two apart
        config.write_text(yaml.safe_dump(doc, sort_keys=False))
        flags = ["--web.enable-remote-write-receiver"]
        if max_connections:  # Prometheus' default, 512, is below one connection per site past 500 sites
            flags.append(f"--web.max-connections={max_connections}")
        self.process = PrometheusProcess(config, self.dir, flags, port=self.port)
        self.name = name

    @property
    def write_url(self) -> str:
        return f"{self.process.url}/api/v1/write"


async def measure_size(args: argparse.Namespace, sites: int, workdir: Path) -> dict:
    load_before = loadavg()
    # the watcher's example: a 10 s timeout in a 15 s interval
    case = Case(sites, "http", args.window, args.interval, args.interval * 2 / 3, "localhost", None, profile="watcher")
    world = World(case, workdir, (None, None, None), None, args.warmup + args.window + 1800)
    started: list = []
    generator = None
    try:
        world_info = await world.info()
        exporter = WatcherExporter(case, world_info, workdir, None)
        started.append(exporter)
        await exporter.start()
        openmetrics = workdir / f"backfill-{sites}.om"
        began = time.monotonic()
        backfilled = backfill(openmetrics, sites, f"127.0.0.1:{exporter.port}", time.time() - 60, args.backfill)
        replicas = []
        for name in "ab"[:args.replicas]:
            connections = None if args.max_connections == 0 else args.max_connections or sites + DEFAULT_MAX_CONNECTIONS
            replicas.append(Replica(name, workdir, f"127.0.0.1:{exporter.port}", openmetrics, args.interval,
                                    connections))
            started.append(replicas[-1].process)
        openmetrics.unlink()
        backfill_s = time.monotonic() - began
        for replica in replicas:
            await asyncio.to_thread(replica.process.wait_ready, 600)
        command = [sys.executable, "-m", "bench.national_load", f"--sites={sites}",
                   f"--seconds={args.warmup + args.window + 900}", "--stdin", f"--interval={args.interval:g}",
                   f"--ramp={args.ramp:g}",
                   *(f"--url={replica.write_url}" for replica in replicas)]
        generator = subprocess.Popen(command, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=open(workdir / f"load-{sites}.log", "wb"), text=True)
        expected = sites * len(national_load.load_profile(national_load.PROFILE)[0])
        for replica in replicas:  # every site has written once
            await asyncio.to_thread(poll, lambda r=replica: total(own_metrics(r.process), "prometheus_tsdb_head_series")
                                    >= expected, 300 + args.ramp, 2.0, f"{expected} series at replica {replica.name}")
        await asyncio.sleep(args.warmup)  # rule evaluations and head chunks settle: a duration, not a wait for something
        t0 = time.monotonic()
        first = {r.name: own_metrics(r.process) for r in replicas}
        cpu0 = {"exporter": cpu_seconds(exporter.process.proc.pid), "generator": cpu_seconds(generator.pid),
                "world": cpu_seconds(world.pid), **{r.name: cpu_seconds(r.process.proc.pid) for r in replicas}}
        probes0 = await exporter.tally()
        rule_share = {r.name: [] for r in replicas}
        rss = {r.name: [] for r in replicas}
        by_rule = {r.name: collections.Counter() for r in replicas}  # the largest evaluation time seen per rule
        while time.monotonic() - t0 < args.window:
            for r in replicas:
                durations = own_metrics(r.process).series("prometheus_rule_group_last_duration_seconds")
                rule_share[r.name].append({dict(labels)["rule_group"].rpartition(";")[2]: value / args.interval
                                           for labels, value in durations.items()})
                rss[r.name].append(proc_status(r.process.proc.pid, "VmRSS") / 1024**2)
                for rule, seconds in rule_seconds(r.process).items():
                    by_rule[r.name][rule] = max(by_rule[r.name][rule], seconds)
            await asyncio.sleep(SAMPLE_EVERY)
        window = time.monotonic() - t0
        last = {r.name: own_metrics(r.process) for r in replicas}
        cpu1 = {"exporter": cpu_seconds(exporter.process.proc.pid), "generator": cpu_seconds(generator.pid),
                "world": cpu_seconds(world.pid), **{r.name: cpu_seconds(r.process.proc.pid) for r in replicas}}
        probes1 = await exporter.tally()
        queries = await asyncio.to_thread(query_latencies, replicas[0].process, args.query_rounds)
        at = time.time()
        costs = {label: await asyncio.to_thread(rule_costs, replicas[0].process, rule_dir, at, COST_ROUNDS)
                 for label, rule_dir in (("shipped", STACK_DIR / "watcher" / "rules"), ("compared", args.compare_rules))
                 if rule_dir}
        generator.stdin.close()
        sent = json.loads(await asyncio.to_thread(generator.stdout.readline) or "{}")
        per_replica = {}
        for r in replicas:
            shares = [max(sample.values()) for sample in rule_share[r.name] if sample]
            groups = {group: max(sample.get(group, 0.0) for sample in rule_share[r.name])
                      for group in set().union(*rule_share[r.name])}
            per_replica[r.name] = {
                "head_series": total(last[r.name], "prometheus_tsdb_head_series"),
                "samples_per_s": (total(last[r.name], "prometheus_tsdb_head_samples_appended_total")
                                  - total(first[r.name], "prometheus_tsdb_head_samples_appended_total")) / window,
                "rule_share_max": max(shares) if shares else None,
                "rule_share_median": statistics.median(shares) if shares else None,
                "rule_share_max_by_group": groups,
                "rule_iterations_missed": total(last[r.name], "prometheus_rule_group_iterations_missed_total"),
                "rss_gb_end": rss[r.name][-1], "rss_gb_peak": proc_status(r.process.proc.pid, "VmHWM") / 1024**2,
                "cpu_pct": (cpu1[r.name] - cpu0[r.name]) / window * 100,
                "rule_seconds_max": dict(by_rule[r.name].most_common()),
            }
        return {
            "sites": sites, "replicas": len(replicas), "load_before": load_before, "load_after": loadavg(),
            "window_s": round(window, 1), "backfill_samples": backfilled, "backfill_s": round(backfill_s, 1),
            "per_replica": per_replica, "queries": queries, "generator": sent, "rule_costs": costs,
            "exporter_cpu_pct": (cpu1["exporter"] - cpu0["exporter"]) / window * 100,
            "exporter_probes": probes1.completed - probes0.completed,
            "exporter_probes_due": round(sites * window / args.interval),
            "generator_cpu_pct": (cpu1["generator"] - cpu0["generator"]) / window * 100,
            "world_cpu_pct": (cpu1["world"] - cpu0["world"]) / window * 100,
        }
    finally:  # every process this size started is stopped, whatever stopped the measurement
        if generator and generator.poll() is None:
            generator.kill()
            generator.wait(10)
        for process in reversed(started):
            try:
                await process.stop() if isinstance(process, SpseExporter) else process.stop()
            except (OSError, subprocess.SubprocessError, asyncio.CancelledError):
                pass  # a process already gone; the rest are still stopped
        world.stop()


HEADER = ("| Sites | Active series (per replica) | Samples/s appended | Rule evaluation / interval (max) "
          "| RSS per replica GB (end / peak) | Outside exporter CPU | Dashboard queries 1 h: p50 / p99 / max s "
          "| Load average before |\n|---:|---:|---:|---:|---:|---:|---:|---|")


def row(result: dict) -> str:
    if "failed" in result:
        return f"| {result['sites']} | did not come up: {result['failed'][:200]} | | | | | | {result['load_before']} |"
    replicas = result["per_replica"].values()
    series = " / ".join(f"{r['head_series']:,.0f}" for r in replicas)
    samples = " / ".join(f"{r['samples_per_s']:,.0f}" for r in replicas)
    share = " / ".join(f"{r['rule_share_max'] * 100:.1f}%" if r["rule_share_max"] is not None else "-" for r in replicas)
    rss = " / ".join(f"{r['rss_gb_end']:.2f} / {r['rss_gb_peak']:.2f}" for r in replicas)
    q = result["queries"]
    return (f"| {result['sites']} | {series} | {samples} | {share} | {rss} | {result['exporter_cpu_pct']:.0f}% of a core "
            f"| {q['p50_s']:.3f} / {q['p99_s']:.3f} / {q['max_s']:.3f} | {result['load_before']} |")


def notes(result: dict) -> str:
    if "failed" in result:
        return f"- {result['sites']} sites: {result['failed']}; load average after {result['load_after']}"
    q, g = result["queries"], result["generator"]
    replicas = "; ".join(f"replica {name}: CPU {r['cpu_pct']:.0f}% of a core, rule evaluation median "
                         f"{(r['rule_share_median'] or 0) * 100:.1f}% (max by group: "
                         + ", ".join(f"{g} {v * 100:.1f}%" for g, v in sorted(r["rule_share_max_by_group"].items()))
                         + f"), missed iterations {r['rule_iterations_missed']:.0f}, slowest rules (max s): "
                         + ", ".join(f"{rule} {seconds:.3f}" for rule, seconds in
                                     [(k, v) for k, v in r["rule_seconds_max"].items() if "/" in k][:RULES_NAMED])
                         for name, r in result["per_replica"].items())
    costs = "; ".join(f"rules {label} (samples read / median s per evaluation): " + ", ".join(
        f"{group} {cost['samples']:,} / {cost['seconds']:.3f}" for group, cost in sorted(group_costs(found).items()))
        for label, found in result.get("rule_costs", {}).items())
    return (f"- {result['sites']} sites: window {result['window_s']:g} s; {replicas}; {costs}; generator sent "
            f"{g.get('samples_per_s_per_url', 0):,.0f} samples/s per replica ({g.get('failed', '?')} failed of "
            f"{g.get('requests', '?')} requests, {g.get('late', '?')} late sends), its CPU {result['generator_cpu_pct']:.0f}%; "
            f"outside probes {result['exporter_probes']} of {result['exporter_probes_due']} due; fake world CPU "
            f"{result['world_cpu_pct']:.0f}%; backfill {result['backfill_samples']:,} samples in "
            f"{result['backfill_s']:g} s; {q['queries']} queries x {q['rounds']} loads, slowest panel "
            f"\"{q['slowest_panel']}\"{', empty: ' + ', '.join(q['empty_panels']) if q['empty_panels'] else ''}; "
            f"load average after {result['load_after']}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python3 -m bench.national", description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, nargs="+", default=[100])
    parser.add_argument("--replicas", type=int, choices=(1, 2), default=1, help="watcher Prometheus replicas")
    parser.add_argument("--warmup", type=float, default=60.0, help="seconds after every site has written once")
    parser.add_argument("--window", type=float, default=120.0, help="measured seconds")
    parser.add_argument("--query-rounds", type=int, default=10, help="dashboard loads timed after the window")
    parser.add_argument("--ramp", type=float, default=0.0,
                        help="seconds over which the sites start writing (a first deployment: sites join in turn)")
    parser.add_argument("--interval", type=float, default=INTERVAL,
                        help="scrape, evaluation, probe and send interval (15 s as shipped; shorter only for tests)")
    parser.add_argument("--backfill", type=float, default=BACKFILL_SECONDS,
                        help="seconds of history written before the start, for the dashboard's 1-hour queries")
    parser.add_argument("--max-connections", type=int, default=None,
                        help="the replicas' --web.max-connections (default: sites + 512, one per site over "
                             "Prometheus' default; 0: Prometheus' default of 512)")
    parser.add_argument("--compare-rules", type=Path,
                        help="a directory of other watcher rule files (an earlier release's) whose cost per evaluation "
                             "is measured beside the shipped rules' on the same data")
    parser.add_argument("--json", type=Path, help="also write every figure to this file")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (configs and logs)")
    return parser.parse_args(argv)


async def run(args: argparse.Namespace) -> int:
    print(f"# {os.cpu_count()} CPU(s), load {loadavg()}", flush=True)
    results = []
    for sites in args.sites:
        workdir = Path(tempfile.mkdtemp(prefix=f"spse-national-{sites}-"))
        print(f"# {sites} sites ... (work dir {workdir})", flush=True)
        load_before = loadavg()
        try:
            results.append(await measure_size(args, sites, workdir))
        except (AssertionError, RuntimeError, OSError, TimeoutError) as err:  # the watcher fell over: that is a result
            results.append({"sites": sites, "failed": str(err)[:500], "load_before": load_before,
                            "load_after": loadavg()})
        finally:
            if not args.keep:
                shutil.rmtree(workdir, ignore_errors=True)
        print(row(results[-1]), flush=True)
        if args.json:  # after every size, so a later one that fails keeps the earlier figures
            args.json.write_text(json.dumps(results, indent=1))
    print(f"\nCommand: `python3 -m bench.national {shlex.join(sys.argv[1:])}`\n")
    print(HEADER)
    print("\n".join(row(result) for result in results))
    print()
    print("\n".join(notes(result) for result in results))
    return 0


def main(argv: list[str] | None = None) -> int:
    return asyncio.run(run(parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
