"""The report's plots as one PNG: SPSE availability, the root-cause chain, the time sources (matplotlib, Agg)."""

from __future__ import annotations

import io

from exporter import formatting
from exporter.report import text
from exporter.report.analysis import LINKS, Report
from exporter.report.times import Clock, abbreviation

UP, DOWN, NO_DATA = "#2e7d32", "#c62828", "#bdbdbd"


def available() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def gaps(values: list[float | None]) -> list[float]:
    """None (no data) as NaN, which matplotlib leaves blank."""
    return [float("nan") if v is None else v for v in values]


def runs(values: list, times: list[float], step: float):
    """(start, width, value) for each stretch of equal values."""
    start = 0
    for k in range(1, len(values) + 1):
        if k == len(values) or values[k] != values[start]:
            yield times[start], times[k - 1] - times[start] + step, values[start]
            start = k


def render(report: Report, clock: Clock) -> bytes:
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib import dates, figure

    lang, times, signals = clock.lang, report.times, report.signals
    names, say = formatting.LINKS[lang], text.PHRASES[lang]
    moments = [clock.local(t) for t in times]
    fig = figure.Figure(figsize=(8.2, 6.4), dpi=96, layout="constrained")
    availability, chain, sources = fig.subplots(3, 1, sharex=True, height_ratios=(1, 1.6, 1.2))

    availability.step(moments, gaps(signals["spse"]), where="post", color=UP,
                      label=f"SPSE ({say['inside']})")
    if signals.get("outside"):
        availability.step(moments, gaps(signals["outside"]), where="post",
                          color="#1565c0", linestyle="--", label=f"SPSE ({say['outside_short']})")
        availability.legend(loc="lower right", fontsize=7)
    for incident in report.incidents:
        end = incident.end if incident.end is not None else times[-1]
        availability.axvspan(clock.local(incident.start), clock.local(end), color=DOWN, alpha=0.15)
    availability.set_ylim(-0.1, 1.1)
    availability.set_yticks([0, 1], [say["plot_down"], say["plot_up"]])
    availability.set_title(say["plot_alt"], fontsize=10)

    rows = [link for link in LINKS if link in signals]
    for row, link in enumerate(reversed(rows)):
        states = [None if v is None else v > 0 for v in signals[link]]
        for start, width, state in runs(states, times, report.step):
            color = NO_DATA if state is None else UP if state else DOWN
            chain.broken_barh([(dates.date2num(clock.local(start)), width / 86400)], (row - 0.4, 0.8), color=color)
    chain.set_yticks(range(len(rows)), [names[link] for link in reversed(rows)], fontsize=7)
    chain.set_ylim(-0.6, len(rows) - 0.4)

    sources.step(moments, gaps(signals["time_sources"]), where="post", color="#6a1b9a")
    sources.set_ylabel(say["plot_sources"], fontsize=8)
    sources.set_ylim(bottom=-0.2)
    offset = sources.twinx()
    offset.plot(moments, gaps(signals["offset"]), color="#ef6c00", linewidth=0.8)
    offset.set_ylabel(say["plot_offset"], fontsize=8)
    hours = "%H" + formatting.CLOCK_SEPARATOR[lang] + "%M"  # 14.42 in Bahasa Indonesia
    sources.xaxis.set_major_formatter(dates.DateFormatter(f"%d/%m {hours}" if clock.several_days else hours, tz=clock.tz))
    sources.set_xlabel(abbreviation(clock.tz, moments[0]), fontsize=8)
    sources.set_xlim(clock.local(report.window_start), clock.local(report.window_end))
    for axis in (availability, chain, sources, offset):
        axis.tick_params(labelsize=7)
    out = io.BytesIO()
    fig.savefig(out, format="png")
    return out.getvalue()
