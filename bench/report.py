"""Turn raw measurements into figures and the markdown table that docs/benchmarks.md quotes."""

from __future__ import annotations

import statistics

LATE_AFTER = 1.0  # seconds past its slot before a round counts as late
GOAL_RSS_MB = 150
GOAL_RENDER_P99_MS = 50


def rounds(arrivals: dict[str, list[float]], t0: float, t1: float, interval: float) -> dict:
    """Judge every target's rounds from when its connections reached the world during [t0, t1].

    A gap of 1.5 intervals or more is a missed round; a gap over interval + LATE_AFTER is a late
    one. A round at either edge of the window can fall either side of it, so a target is short
    of rounds only when it has fewer than (window / interval) - 1.
    """
    per_target = round((t1 - t0) / interval)
    expected = seen = missed = late = 0
    jitter = []
    for times in arrivals.values():
        times = sorted(t for t in times if t0 <= t <= t1)
        expected += per_target
        seen += len(times)
        gaps = [b - a for a, b in zip(times, times[1:])]
        in_gaps = sum(round(gap / interval) - 1 for gap in gaps if gap >= 1.5 * interval)
        missed += max(in_gaps, per_target - 1 - len(times))
        late += sum(1 for gap in gaps if interval + LATE_AFTER < gap < 1.5 * interval)
        jitter.extend(abs(gap - interval) for gap in gaps if gap < 1.5 * interval)
    return {"expected": expected, "seen": seen, "missed": missed, "late": late,
            "jitter_p99_ms": percentile(jitter, 99) * 1000 if jitter else None}


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


HEADER = ("| Targets | Scheme | Exporter | Probes done / due | Missed / late rounds | CPU s | CPU ms / probe "
          "| RSS steady / peak MiB | RSS growth MiB | /metrics p50 / p99 ms | Probes failed |\n"
          "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")


def row(result: dict) -> str:
    c, r = result["case"], result["rounds"]
    render = result.get("render")
    render_text = f"{fmt(render['p50_ms'])} / {fmt(render['p99_ms'])}" if render else "n/a"
    return (f"| {c['targets']} | {c['scheme']} | {result['exporter']} | {result['completed']} / {r['expected']} "
            f"| {r['missed']} / {r['late']} | {fmt(result['cpu_s'])} "
            f"| {fmt(result['cpu_ms_per_probe'], 2)} | {fmt(result['rss']['steady_mb'])} / {fmt(result['rss']['peak_mb'])} "
            f"| {result['rss']['growth_mb']:+.1f} | {render_text} | {result['failed_share'] * 100:.1f}% |")


def ratio_row(ours: dict, theirs: dict) -> str:
    c = ours["case"]
    return (f"| {c['targets']} | {c['scheme']} | **ratio exporter / blackbox** | | "
            f"| {ratio(ours['cpu_s'], theirs['cpu_s'])} | **{ratio(ours['cpu_ms_per_probe'], theirs['cpu_ms_per_probe'])}** "
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
    return [
        ("no missed or late rounds", r["missed"] == 0 and r["late"] == 0 and ours["late_logged"] == 0),
        ("CPU per probe <= blackbox_exporter's", ours["cpu_ms_per_probe"] <= theirs["cpu_ms_per_probe"]),
        (f"RSS under {GOAL_RSS_MB} MiB", ours["rss"]["peak_mb"] < GOAL_RSS_MB),
        ("RSS flat (grew < 5% over the run)", ours["rss"]["growth_mb"] < 0.05 * ours["rss"]["steady_mb"]),
        (f"/metrics p99 under {GOAL_RENDER_P99_MS} ms", render is not None and render["p99_ms"] < GOAL_RENDER_P99_MS),
    ]


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
                     f"CPU of the fake world {res['world_cpu_pct']:.0f}% and of the harness {res['driver_cpu_pct']:.0f}% of a core")
    return "\n".join(lines)
