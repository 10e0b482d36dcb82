"""From the stored series to the facts of a report: incidents, what users saw, the root-cause chain, alerts.

Works from the exporter's raw series alone (as scraped, with the `site` label of the scrape target);
ALERTS and the recording rule `spse:probable_cause` are used when Prometheus holds them. Series of an
outside watcher carry `vantage="outside"`; the site's own view is the series without `vantage` (read from
the site's Prometheus) or with `vantage="site"` (as the sites remote-write them to the watcher). Other extra
labels are aggregated away.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

from exporter.messages import Problem
from exporter.report.prom import MAX_POINTS, Prometheus

# The chain in order: a link earlier in it explains the failures of the links after it.
LINKS = ("gateway", "national", "global", "time_sources", "spse")
# How far before an incident the chain is looked at, and after it the alerts (a lost link usually
# precedes SPSE's failure by a few minutes; alerts resolve a few minutes after recovery).
CONTEXT = 1800.0


class ReportError(Problem):
    """The report cannot be made as asked (unknown site, several targets, empty window); rendered in the operator's
    language."""


@dataclass
class Span:
    """A stretch where something held: from the first sample showing it to the first sample after it that
    did not (None: still so at the end of the data). `count` is the number of samples showing it."""
    first: int
    last: int
    recovered: int | None
    count: int


@dataclass
class Link:
    link: str
    went_down: float
    came_back: float | None
    down_before_data: bool


@dataclass
class AlertSpan:
    alertname: str
    fired_at: float
    resolved_at: float | None


@dataclass
class Outside:
    failed_probes: int
    failing_from: float | None
    failing_to: float | None  # the first success after the failures; None: still failing


@dataclass
class NoData:
    """A stretch without data from the exporter; what the watcher saw meanwhile (None: no watcher series)."""
    start: float
    end: float | None
    outside_failed_probes: int | None


@dataclass
class Incident:
    start: float
    end: float | None
    failed_probes: int
    status_codes: list[tuple[str, int]]
    failure_reasons: list[tuple[str, int]]
    chain: list[Link]
    sources_reachable_min: int | None
    sources_configured: int | None
    offset_before: float | None
    offset_max_abs: float | None
    alerts: list[AlertSpan]
    recorded_cause: str | None
    outside: Outside | None
    no_data_seconds: float

    @property
    def started_before_data(self) -> bool:
        """SPSE was already failing when the data read begins (CONTEXT before the window): the start is earlier."""
        return any(link.link == "spse" and link.down_before_data for link in self.chain)

    @property
    def down_at_start(self) -> list[str]:
        """The links down when SPSE began to fail, root first (SPSE last). A link that came back before is in
        the chain as context, but not the cause."""
        return [link.link for link in self.chain
                if link.went_down <= self.start and (link.came_back is None or link.came_back > self.start)]

    @property
    def first_broken_link(self) -> str:
        return self.down_at_start[0]

    @property
    def dominant_status_code(self) -> str | None:
        return self.status_codes[0][0] if self.status_codes else None


@dataclass
class Report:
    site: str
    target: str
    window_start: float
    window_end: float
    step: float
    merge_gap: float
    min_failed: int
    incidents: list[Incident]
    blips: list[tuple[float, int]]
    exporter_down: list[NoData]
    links_monitored: list[str]  # the links with data in the window, in chain order
    times: list[float]
    signals: dict[str, list[float | None]] = field(repr=False)


def quote(value: str) -> str:
    """A PromQL string literal."""
    return json.dumps(value)


def find_spans(states: list[bool | None], times: list[float], merge_gap: float) -> list[Span]:
    """Stretches of True: a True after a False starts a new stretch unless the Falses before it lasted less
    than `merge_gap` seconds. None (no data) neither starts nor ends a stretch."""
    spans: list[Span] = []
    current: Span | None = None
    for k, state in enumerate(states):
        if state:
            if current and (current.recovered is None or times[k] - times[current.recovered] < merge_gap):
                current.last, current.recovered = k, None
                current.count += 1
            else:
                current = Span(k, k, None, 1)
                spans.append(current)
        elif state is False and current and current.recovered is None:
            current.recovered = k
    return spans


def counter_increases(values: list[float | None], first: int, last: int) -> int:
    """How much a counter grew from the sample before `first` to `last`, counting through resets."""
    total, previous = 0.0, None
    for value in values[:first]:
        previous = value if value is not None else previous
    for value in values[first:last + 1]:
        if value is None:
            continue
        if previous is not None:
            total += value - previous if value >= previous else value
        previous = value
    return int(round(total))


class Collector:
    """Fetches one site's series over the window (plus CONTEXT before it) and builds the Report."""

    def __init__(self, prom: Prometheus, site: str, target: str | None, start: float, end: float,
                 step: float, merge_gap: float, min_failed: int):
        if end <= start:
            raise ReportError("report_empty_window")
        self.prom, self.site = prom, site
        self.window = (start, end)
        span = end - start + CONTEXT
        self.step = max(step, math.ceil(span / MAX_POINTS / step) * step)
        self.t0 = math.floor((start - CONTEXT) / self.step) * self.step
        self.times = [self.t0 + k * self.step for k in range(int((end - self.t0) // self.step) + 1)]
        self.merge_gap, self.min_failed = merge_gap, min_failed
        self.target = self._target(target)

    def _target(self, target: str | None) -> str:
        sites = self.prom.label_values("site")
        if self.site not in sites:
            if not sites:
                raise ReportError("report_no_sites", site=self.site)
            raise ReportError("report_unknown_site", site=self.site, known=", ".join(sites))
        targets = self.prom.label_values("target", f"spse_http_probe_success{{{self.inside()}}}")
        if target is not None:
            if target not in targets:
                raise ReportError("report_no_such_target", site=self.site, target=target, targets=", ".join(targets))
            return target
        if len(targets) > 1:
            raise ReportError("report_several_targets", site=self.site, targets=", ".join(targets))
        return targets[0] if targets else ""

    def inside(self) -> str:
        return f'site={quote(self.site)},vantage=~"|site"'

    def probe(self) -> str:
        return self.inside() + (f",target={quote(self.target)}" if self.target else "")

    def by(self, expr: str, label: str | None = None) -> dict[str, list[float | None]]:
        """{value of `label` (or ""): values aligned to self.times, None where absent}."""
        out = {}
        for labels, values in self.prom.query_range(expr, self.times[0], self.times[-1], self.step):
            aligned = [None] * len(self.times)
            for t, v in values.items():
                aligned[round((t - self.t0) / self.step)] = v
            out[labels.get(label, "") if label else ""] = aligned
        return out

    def one(self, expr: str) -> list[float | None]:
        return self.by(expr).get("", [None] * len(self.times))

    def collect(self) -> Report:
        inside, probe = self.inside(), self.probe()
        # `up` of the exporter's scrape target only: at the watcher, the site's Alertmanager has a site label too.
        up = self.by(f"max(up{{{inside}}} and on (job, instance) spse_exporter_build_info{{{inside}}})")
        success = self.one(f"min(spse_http_probe_success{{{probe}}})")
        # The exporter counts as running where Prometheus scraped it; without `up` series (data sent from
        # elsewhere), wherever the probe series exist.
        running = [v == 1 for v in up[""]] if up else [v is not None for v in success]
        signals = {
            "spse": success,
            **{group: values for group, values in
               self.by(f"max by (group) (spse_upstream_probe_success{{{inside}}})", "group").items()
               if group in LINKS},
            "time_sources": self.one(f"max(spse_clock_sources_reachable{{{inside}}})"),
            "sources_configured": self.one(f"max(spse_clock_sources_configured{{{inside}}})"),
            "offset": self.one(f"avg(spse_clock_offset_seconds{{{inside}}})"),
        }
        for values in signals.values():
            values[:] = [v if ok else None for v, ok in zip(values, running)]
        down = {link: [None if v is None else v == 0 for v in signals[link]] for link in LINKS if link in signals}
        # As upstream:gateway_confirmed_lost: a lost gateway counts only while every national and global group
        # configured is lost too; a refused gateway check while the internet answers is a wrong check.
        others = [down[group] for group in ("national", "global") if group in down]
        if "gateway" in down:
            down["gateway"] = [lost and all(other[k] is not False for other in others)
                               for k, lost in enumerate(down["gateway"])]
        # Where the exporter runs on the SPSE host, the kernel's verdict counts too (clock:unvalidated).
        kernel = self.one(f"min(spse_host_clock_synchronized{{{inside}}})")
        down["time_sources"] = [True if synced == 0 and ok else lost for lost, synced, ok
                                in zip(down["time_sources"], kernel, running)]
        monitored = [link for link in LINKS if any(state is not None for state in down.get(link, []))]
        codes = self.by(f"sum by (code) (spse_http_responses_total{{{probe}}})", "code")
        reasons = self.by(f"sum by (reason) (spse_http_probe_failures_total{{{probe}}})", "reason")
        outside = self.by(f'min(spse_http_probe_success{{site={quote(self.site)},vantage="outside"}})')
        alerts = self.by(f'max by (alertname) (ALERTS{{site={quote(self.site)},alertstate="firing",severity!="none"}})',
                         "alertname")
        causes = self.by(f"max by (cause) (spse:probable_cause{{site={quote(self.site)}}})", "cause")

        start, end = self.window
        incidents, blips = [], []
        for span in find_spans(down["spse"], self.times, self.merge_gap):
            span_end = self.times[span.recovered] if span.recovered is not None else None
            if self.times[span.first] > end or (span_end is not None and span_end <= start):
                continue
            if span.count < self.min_failed:
                blips.append((self.times[span.first], span.count))
                continue
            incidents.append(self.incident(span, down, signals, codes, reasons, outside, alerts, causes, running))
        not_running = find_spans([not ok for ok in running], self.times, 0)
        stop = len(self.times) - 1
        exporter_down = [
            NoData(max(self.times[s.first], start), self.times[s.recovered] if s.recovered is not None else None,
                   sum(outside[""][k] == 0 for k in range(s.first, (s.recovered or stop) + 1)) if outside else None)
            for s in not_running
            if self.times[s.first] <= end and (s.recovered is None or self.times[s.recovered] > start)]
        signals["outside"] = outside.get("")
        return Report(self.site, self.target, start, end, self.step, self.merge_gap, self.min_failed, incidents,
                      blips, exporter_down, monitored, self.times, signals)

    def overlapping(self, spans: list[Span], since: float, until: float | None) -> list[Span]:
        return [s for s in spans if (until is None or self.times[s.first] <= until)
                and (s.recovered is None or self.times[s.recovered] >= since)]

    def incident(self, span: Span, down, signals, codes, reasons, outside, alerts, causes, running) -> Incident:
        times = self.times
        start = times[span.first]
        end = times[span.recovered] if span.recovered is not None else None
        stop = span.recovered if span.recovered is not None else len(times) - 1
        chain = []
        for link in LINKS:
            if link == "spse":
                chain.append(Link("spse", start, end, span.first == 0))
                continue
            hits = self.overlapping(find_spans(down.get(link, []), times, 0), start - CONTEXT, end)
            if hits:
                back = hits[-1].recovered
                chain.append(Link(link, times[hits[0].first], None if back is None else times[back],
                                  hits[0].first == 0))
        chain.sort(key=lambda link: (link.went_down, LINKS.index(link.link)))

        during = range(span.first, stop + 1)
        reachable = [signals["time_sources"][k] for k in during if signals["time_sources"][k] is not None]
        configured = [v for v in signals["sources_configured"] if v is not None]
        before = [v for v in signals["offset"][:span.first] if v is not None]
        offsets = [abs(signals["offset"][k]) for k in during if signals["offset"][k] is not None]

        def counts(series: dict) -> list[tuple[str, int]]:
            found = ((key, counter_increases(values, span.first, span.last)) for key, values in series.items())
            return sorted(((key, n) for key, n in found if n > 0), key=lambda item: (-item[1], item[0]))

        fired = []
        for name, values in alerts.items():
            for s in self.overlapping(find_spans([v is not None for v in values], times, 0),
                                      start - CONTEXT, None if end is None else end + CONTEXT):
                fired.append(AlertSpan(name, times[s.first], None if s.recovered is None else times[s.recovered]))
        fired.sort(key=lambda a: (a.fired_at, a.alertname))

        recorded = sorted((next(k for k in during if values[k] is not None), cause)
                          for cause, values in causes.items()
                          if cause != "none" and any(values[k] is not None for k in during))
        outside_view = None
        if "" in outside:
            seen = self.overlapping(find_spans([None if v is None else v == 0 for v in outside[""]], times, 0),
                                    start, end)
            outside_view = Outside(sum(s.count for s in seen), times[seen[0].first] if seen else None,
                                   None if not seen or seen[-1].recovered is None else times[seen[-1].recovered])
        return Incident(
            start=start, end=end, failed_probes=span.count,
            status_codes=counts(codes), failure_reasons=counts(reasons), chain=chain,
            sources_reachable_min=int(min(reachable)) if reachable else None,
            sources_configured=int(max(configured)) if configured else None,
            offset_before=before[-1] if before else None,
            offset_max_abs=max(offsets) if offsets else None,
            alerts=fired, recorded_cause=recorded[0][1] if recorded else None, outside=outside_view,
            no_data_seconds=sum(self.step for k in during if not running[k]))
