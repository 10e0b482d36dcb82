"""Runs every probe on its own schedule in the background, never at scrape time.

Each SPSE target, the clock round and each upstream group is one job with its own asyncio
task: a hanging peer holds up only its own job, and only until its timeout. Jobs start at a
stable offset inside their interval so that many targets spread their load evenly, and run
at a fixed rate: a round that cannot start on time is skipped and counted, not queued.
"""

from __future__ import annotations

import asyncio
import logging
import zlib
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

from exporter.config import ClockConfig, Config, Target, UpstreamGroup
from exporter.metrics import Metrics
from exporter.probes.http import probe_http
from exporter.probes.ntp import probe_ntp
from exporter.probes.runner import scrub
from exporter.probes.spse_app import AppCheck, probe_spse_app
from exporter.probes.timex import HostClock, read_host_clock
from exporter.probes.upstream import run_check

log = logging.getLogger("spse_exporter.scheduler")


@dataclass(frozen=True)
class Job:
    key: tuple  # (probe, name): also the metrics owner
    spec: Target | AppCheck | ClockConfig | UpstreamGroup  # a changed spec restarts the job on reload

    @property
    def interval(self) -> float:
        return self.spec.interval


def jobs_for(config: Config) -> dict[tuple, Job]:
    jobs = [Job(("http", t.name), t) for t in config.targets]
    jobs.extend(Job(("spse_app", t.name), AppCheck(t)) for t in config.targets if t.spse and t.spse.app_check)
    if config.clock:
        jobs.append(Job(("clock",), config.clock))
    jobs.extend(Job(("upstream", g.name), g) for g in config.upstream)
    return {job.key: job for job in jobs}


def start_offset(job: Job) -> float:
    """A stable point inside the interval, so restarts keep the same spread."""
    return zlib.crc32("/".join(job.key).encode()) / 2**32 * job.interval


class Scheduler:
    def __init__(self, metrics: Metrics):
        self.metrics = metrics
        self.ready = asyncio.Event()
        self._tasks: dict[tuple, tuple[Job, asyncio.Task]] = {}
        self._waiting_for_first_round: set[tuple] = set()
        self._health: dict[tuple, tuple[str, tuple[str, ...]]] = {}  # (ok|partial|failing, failure reasons)

    def apply(self, config: Config) -> None:
        """Start, stop or restart jobs so that they match `config`; unchanged jobs keep running."""
        wanted = jobs_for(config)
        for key, (job, task) in list(self._tasks.items()):
            if wanted.get(key) != job:
                task.cancel()
                del self._tasks[key]
        for key, job in wanted.items():
            if key not in self._tasks:
                self._tasks[key] = (job, asyncio.create_task(self._run(job), name="/".join(key)))
        if not self.ready.is_set():
            # The application check's first round may be minutes away (its long interval): not waited for.
            self._waiting_for_first_round = {key for key in wanted if key[0] != "spse_app"}
        # What the log said about a removed probe goes with it: added back and still failing, it is said again.
        self._health = {key: state for key, state in self._health.items() if key in wanted or key[:1] in wanted}
        owners = {k for k in wanted if k[0] != "clock"}
        if config.clock:
            owners |= {("ntp", source.server) for source in config.clock.sources}
        self.metrics.retain(owners)
        for key, job in wanted.items():
            if key[0] == "clock":
                for source in job.spec.sources:
                    self.metrics.register_probe("ntp", source.server, job.interval)
            else:
                self.metrics.register_probe(key[0], key[1], job.interval)

    async def stop(self) -> None:
        tasks = [task for _, task in self._tasks.values()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()

    async def _run(self, job: Job) -> None:
        loop = asyncio.get_running_loop()
        runner = self._runner(job)
        next_start = loop.time() + start_offset(job)
        while True:
            await asyncio.sleep(max(0.0, next_start - loop.time()))
            try:
                await runner()
            except asyncio.CancelledError:
                raise
            except Exception:  # a bug in one probe must not stop its schedule or any other
                log.exception("probe %s crashed", "/".join(job.key))
            self._round_done(job.key)
            next_start += job.interval
            late = loop.time() - next_start
            if late > 0:
                skipped = int(late // job.interval) + 1
                next_start += skipped * job.interval
                log.warning("probe %s is %.1fs late: skipping %d round(s)", "/".join(job.key), late, skipped)

    def _round_done(self, key: tuple) -> None:
        if self.ready.is_set():
            return
        self._waiting_for_first_round.discard(key)
        if not self._waiting_for_first_round:
            log.info("first probe round complete: ready")
            self.ready.set()

    def _note_health(self, key: tuple, healthy: bool, message: str, reasons: tuple[str, ...] = (),
                     partial: bool = False) -> None:
        """Log changes only, so a long outage does not flood the log: failing or partly failing, every new
        reason while it lasts (connect -> 504 -> timeout), recovered."""
        state = ("partial" if partial else "ok") if healthy else "failing"
        previous = self._health.get(key)
        self._health[key] = (state, reasons)
        if previous == (state, reasons) or previous is None and state == "ok":
            return
        name = "/".join(key)
        if state == "ok":
            log.info("probe %s recovered", name)
            return
        words = "failing" if state == "failing" else "partly failing"
        if previous and previous[0] == state:
            words = f"still {words}, now"
        log.warning("probe %s %s: %s", name, words, message)

    def _note_results(self, key: tuple, labelled: list[tuple[str, Any]], what: str, none_answered: str) -> None:
        """Note one round of several results (a group's checks, SPSE's time sources): all, some or none failing.
        Each result's message names no peer; the label here does, once."""
        failed = [(label, r) for label, r in labelled if not r.success]
        healthy = len(failed) < len(labelled)
        summary = f"{len(failed)} of {len(labelled)} {what} failing: " if healthy else none_answered
        self._note_health(key, healthy, summary + "; ".join(f"{label}: {r.reason}: {r.message}" for label, r in failed),
                          tuple(f"{label} {r.reason}" for label, r in failed), partial=bool(failed))

    def _read_host_clock(self) -> HostClock | None:
        try:
            host = read_host_clock()
        except OSError as err:
            self._note_health(("clock", "host_kernel"), False, str(err))
            return None
        self._note_health(("clock", "host_kernel"), True, "")
        return host

    def _runner(self, job: Job) -> Callable[[], Awaitable[None]]:
        spec = job.spec
        if isinstance(spec, Target):
            async def run_http() -> None:
                result = await probe_http(spec)
                self.metrics.record_http(spec, result)
                why = f"{result.reason} {result.status_code}" if result.reason == "http_status" else result.reason
                self._note_health(job.key, result.success, f"{why}: {result.message}", (why,))
            return run_http
        if isinstance(spec, AppCheck):
            async def run_spse_app() -> None:
                result = await probe_spse_app(spec)
                self.metrics.record_spse_app(spec.target, result)
                self._note_health(job.key, result.success, result.message)
            return run_spse_app
        if isinstance(spec, ClockConfig):
            async def run_clock() -> None:
                results = await asyncio.gather(*(probe_ntp(s.endpoint, spec.timeout) for s in spec.sources))
                self.metrics.record_clock(spec, results, self._read_host_clock() if spec.host_kernel else None)
                self._note_results(job.key, [(s.server, r) for s, r in zip(spec.sources, results) if s.role == "spse"],
                                   "of SPSE's own time sources", "none of the SPSE server's own time sources "
                                   "answered: SPSE cannot validate its time; ")
            return run_clock

        async def run_upstream() -> None:
            results = await asyncio.gather(*(run_check(check, spec.timeout) for check in spec.checks))
            self.metrics.record_upstream(spec, results)
            labelled = [(scrub(check.url, check.secrets), result) for check, result in zip(spec.checks, results)]
            self._note_results(job.key, labelled, "checks", "no check answered: ")
        return run_upstream
