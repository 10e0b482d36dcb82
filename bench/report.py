"""Turn raw measurements into figures and the markdown table that docs/benchmarks.md quotes."""

from __future__ import annotations

import statistics

LATE_AFTER = 1.0  # seconds past its slot before a round counts as late
GOAL_RSS_MB = 150
GOAL_CPU_RATIO = {"https": 0.8, "http": 1.0}  # issue 23: CPU per probe against blackbox_exporter's, at most
GOAL_RSS_RATIO = 2.0  # issue 23: steady RSS against blackbox_exporter's, at most
GOAL_RENDER_P99_MS = 50
NEAR_FULL_CORE_PCT = 90  # CPU share of the one core at which an exporter has no room left for bursts


def lateness(times: list[float], interval: float) -> list[float]:
    """How late each round of one target started, against a fixed grid of one slot per `interval`.

    `times` are the target's connection arrivals, one per probe. Rounds are never early, only
    late or skipped, so the grid's phase is the one from which the rounds are, summed, least late:
    the target's most punctual round is 0 late and none is negative. A delay that every round of
    a target shares alike cannot be told from its phase; one that grows or comes and goes is
    counted. A round over an interval late counts as a skipped slot (`rounds` calls it missed)
    plus the rest of its delay. A target with one round in the window has no grid to be late
    against: it gives no figure.
    """
    if len(times) < 2:
        return []
    phases = [time % interval for time in times]
    best = min(phases, key=lambda phase: sum((other - phase) % interval for other in phases), default=0.0)
    return [(phase - best) % interval for phase in phases]


def rounds(arrivals: dict[str, list[float]], t0: float, t1: float, interval: float) -> dict:
    """Judge every target's rounds from when its connections reached the world during [t0, t1].

    A gap of 1.5 intervals or more is a missed round; a gap over interval + LATE_AFTER is a late
    one. A round at either edge of the window can fall either side of it, so a target is short
    of rounds only when it has fewer than (window / interval) - 1. Lateness: see `lateness`.
    """
    per_target = round((t1 - t0) / interval)
    expected = seen = missed = late = 0
    jitter, behind = [], []
    for times in arrivals.values():
        times = sorted(t for t in times if t0 <= t <= t1)
        expected += per_target
        seen += len(times)
        gaps = [b - a for a, b in zip(times, times[1:])]
        in_gaps = sum(round(gap / interval) - 1 for gap in gaps if gap >= 1.5 * interval)
        missed += max(in_gaps, per_target - 1 - len(times))
        late += sum(1 for gap in gaps if interval + LATE_AFTER < gap < 1.5 * interval)
        jitter.extend(abs(gap - interval) for gap in gaps if gap < 1.5 * interval)
        behind.extend(lateness(times, interval))
    return {"expected": expected, "seen": seen, "missed": missed, "late": late,
            "jitter_p99_ms": percentile(jitter, 99) * 1000 if jitter else None,
            "lateness_p99_ms": percentile(behind, 99) * 1000 if behind else None,
            "lateness_max_ms": max(behind) * 1000 if behind else None}


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))]


def rss_figures(samples: list[tuple[float, float]]) -> dict:
    """Steady RSS (median of the second half) and growth (last fifth's mean minus the first fifth's)."""
    values = [rss for _, rss in samples]
    fifth = max(1, len(values) // 5)
    return {"steady_mb": statistics.median(values[len(values) // 2:]),
            "growth_mb": statistics.fmean(values[-fifth:]) - statistics.fmean(values[:fifth])}


def fmt(value, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def ratio(a: float | None, b: float | None) -> str:
    return "-" if a is None or not b else f"{a / b:.2f}"


HEADER = ("| Targets | Scheme | Exporter | Probes done / due | Missed / late rounds | Round lateness p99 ms | CPU s "
          "| CPU % of one core | CPU ms / probe | RSS steady / peak MiB | RSS growth MiB | /metrics p50 / p99 ms "
          "| Probes failed |\n"
          "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")


def row(result: dict) -> str:
    c, r = result["case"], result["rounds"]
    render = result.get("render")
    render_text = f"{fmt(render['p50_ms'])} / {fmt(render['p99_ms'])}" if render else "n/a"
    return (f"| {c['targets']} | {c['scheme']} | {result['exporter']} | {result['completed']} / {r['expected']} "
            f"| {r['missed']} / {r['late']} | {fmt(r['lateness_p99_ms'])} | {fmt(result['cpu_s'])} "
            f"| {fmt(result['cpu_pct'], 0)} | {fmt(result['cpu_ms_per_probe'], 2)} | {fmt(result['rss']['steady_mb'])} / {fmt(result['rss']['peak_mb'])} "
            f"| {result['rss']['growth_mb']:+.1f} | {render_text} | {result['failed_share'] * 100:.1f}% |")


def ratio_row(ours: dict, theirs: dict) -> str:
    c = ours["case"]
    return (f"| {c['targets']} | {c['scheme']} | **ratio exporter / blackbox** | | | "
            f"| {ratio(ours['cpu_s'], theirs['cpu_s'])} | | **{ratio(ours['cpu_ms_per_probe'], theirs['cpu_ms_per_probe'])}** "
            f"| {ratio(ours['rss']['steady_mb'], theirs['rss']['steady_mb'])} / "
            f"{ratio(ours['rss']['peak_mb'], theirs['rss']['peak_mb'])} | | | |")


def table(pairs: list[tuple[dict, dict]]) -> str:
    lines = [HEADER]
    for ours, theirs in pairs:
        lines += [row(ours), row(theirs), ratio_row(ours, theirs)]
    return "\n".join(lines)


def goals(ours: dict, theirs: dict) -> list[tuple[str, bool]]:
    """The issue's goals, judged on one case (meant for the largest https one)."""
    r, render = ours["rounds"], ours["render"]
    scheme = ours["case"]["scheme"]
    limit = GOAL_CPU_RATIO[scheme]
    return [
        ("no missed or late rounds", r["missed"] == 0 and r["late"] == 0 and ours["late_logged"] == 0),
        (f"CPU per probe at most {limit:g} of blackbox_exporter's ({scheme})",
         ours["cpu_ms_per_probe"] <= limit * theirs["cpu_ms_per_probe"]),
        (f"RSS under {GOAL_RSS_MB} MiB", ours["rss"]["peak_mb"] < GOAL_RSS_MB),
        (f"RSS at most {GOAL_RSS_RATIO:g} times blackbox_exporter's",
         ours["rss"]["steady_mb"] <= GOAL_RSS_RATIO * theirs["rss"]["steady_mb"]),
        ("RSS flat (grew < 5% over the run)", ours["rss"]["growth_mb"] < 0.05 * ours["rss"]["steady_mb"]),
        (f"/metrics p99 under {GOAL_RENDER_P99_MS} ms", render is not None and render["p99_ms"] < GOAL_RENDER_P99_MS),
    ]


def behind(result: dict) -> list[str]:
    """The signs that an exporter did not keep its schedule in this run (none: it kept up)."""
    c, r = result["case"], result["rounds"]
    signs = []
    if result["completed"] < r["expected"] - c["targets"]:  # every target may lose a round at the window's edges
        signs.append(f"{result['completed']} probes done of {r['expected']} due")
    if r["missed"]:
        signs.append(f"{r['missed']} rounds missed")
    if (r["lateness_p99_ms"] or 0) > LATE_AFTER * 1000:
        signs.append(f"round lateness p99 {r['lateness_p99_ms']:.0f} ms")
    if result["failed_share"] > result["world_failed_share"] + 0.01:
        signs.append(f"{result['failed_share'] * 100:.1f}% of probes failed where the world fails "
                     f"{result['world_failed_share'] * 100:.1f}% (timeouts)")
    if result["cpu_pct"] >= NEAR_FULL_CORE_PCT:
        signs.append(f"{result['cpu_pct']:.0f}% of the core")
    if signs and result["world_cpu_pct"] + result["driver_cpu_pct"] >= NEAR_FULL_CORE_PCT:
        signs.append(f"but the fake world and the harness used {result['world_cpu_pct'] + result['driver_cpu_pct']:.0f}% "
                     "of their CPU: they may be what fell behind")
    return signs


def holds(result: dict) -> str:
    """How many targets one core would probe at this interval and this CPU per probe: where a size that kept up
    says the next one bends (a row that fell behind measured a core that was already full)."""
    per_probe = result["cpu_ms_per_probe"]
    if not per_probe:
        return "no probes done"
    return f"one core would hold about {result['case']['interval'] * 1000 / per_probe:,.0f} targets at this interval"


def bends(results: list[dict]) -> str:
    """Per exporter, in order of size: kept up, or the signs of falling behind: where the growth table bends."""
    lines = []
    for name in dict.fromkeys(res["exporter"] for res in results):
        steps = []
        for res in sorted((res for res in results if res["exporter"] == name),
                          key=lambda res: (res["case"]["targets"], res["case"]["scheme"])):
            signs = behind(res)
            steps.append(f"{res['case']['targets']} {res['case']['scheme']} "
                         + (f"fell behind ({'; '.join(signs)})" if signs else f"kept up ({holds(res)})"))
        lines.append(f"- {name}: " + ", ".join(steps))
    return "\n".join(lines)


def notes(results: list[dict]) -> str:
    lines = []
    for res in results:
        c = res["case"]
        if res["exporter"] == "spse-exporter":
            size = f"exposition {res['render']['bytes'] / 1e6:.2f} MB, " if res["render"] else ""
            extra = f"{size}rounds its scheduler logged as skipped {res['late_logged']}, "
        else:
            extra = f"scrapes the harness started over 1 s late {res['late_logged']}, "
        lines.append(f"- {c['targets']} {c['scheme']} {res['exporter']}: window {c['duration']:g}s, "
                     f"{extra}start jitter p99 {fmt(res['rounds']['jitter_p99_ms'])} ms, "
                     f"probe duration mean {fmt(res.get('probe_ms_mean'))} ms (as the exporter measured it), "
                     f"round lateness max {fmt(res['rounds']['lateness_max_ms'])} ms, "
                     f"CPU of the fake world {res['world_cpu_pct']:.0f}% and of the harness {res['driver_cpu_pct']:.0f}% of a core")
    return "\n".join(lines)
