"""Runs every probe on its own schedule in the background, never at scrape time.

Each SPSE target, the clock round and each upstream group is one job with its own asyncio
task: a hanging peer holds up only its own job, and only until its timeout. Jobs start at a
stable offset inside their interval so that many targets spread their load evenly, and run
at a fixed rate: a round that cannot start on time is skipped and counted, not queued.
Rounds start on a grid of short slots (StartSlots), the ones due in one slot together.
Which jobs a config asks for and what one round does come from the probe kinds (exporter/probes/registry.py).
"""

from __future__ import annotations

import asyncio
import logging
import math
import zlib
from dataclasses import dataclass
from typing import Any

from exporter.config import Config
from exporter.metrics import Metrics
from exporter.probes.kind import Health, ProbeKey, ProbeKind
from exporter.probes.registry import PROBE_KINDS

log = logging.getLogger("spse_exporter.scheduler")
START_SLOT = 0.1  # seconds, at most: a hundredth of the interval where that is shorter


@dataclass(frozen=True)
class Job:
    key: ProbeKey  # also the metrics owner
    spec: Any  # what its kind probes; a changed spec restarts the job on reload

    @property
    def kind(self) -> ProbeKind:
        return PROBE_KINDS[self.key.kind]

    @property
    def interval(self) -> float:
        return self.spec.interval


def jobs_for(config: Config) -> dict[ProbeKey, Job]:
    return {key: Job(key, spec) for kind in PROBE_KINDS.values() for key, spec in kind.jobs(config)}


def start_offset(job: Job) -> float:
    """A stable point inside the interval, so restarts keep the same spread."""
    return zlib.crc32(str(job.key).encode()) / 2**32 * job.interval


class StartSlots:
    """Rounds due within one slot wait on one timer and start in one pass of the loop. A probe started alone on
    an idle core costs about 40% more CPU than one started beside a few others (docs/benchmarks.md: the wake-up
    and cold caches of every step). A round starts at most one slot after its offset, at the same point
    every interval."""

    def __init__(self):
        self._due: dict[int, asyncio.Future] = {}  # slot start in microseconds of the loop's clock: its waiters

    async def wait(self, when: float, interval: float) -> None:
        """Until the first slot boundary at or after `when`."""
        size = min(START_SLOT, interval / 100)
        start = math.ceil(round(when / size, 6)) * size  # rounded: a sum of intervals a hair past a boundary stays on it
        key = round(start * 1e6)
        due = self._due.get(key)
        if due is None:
            loop = asyncio.get_running_loop()
            due = self._due[key] = loop.create_future()
            loop.call_at(start, self._start, key)
        await asyncio.shield(due)  # a job cancelled while it waits must not cancel the slot of the others

    def _start(self, key: int) -> None:
        self._due.pop(key).set_result(None)


class Scheduler:
    def __init__(self, metrics: Metrics):
        self.metrics = metrics
        self.ready = asyncio.Event()
        self._tasks: dict[ProbeKey, tuple[Job, asyncio.Task]] = {}
        self._waiting_for_first_round: set[ProbeKey] = set()
        self._health: dict[ProbeKey, tuple[str, tuple[str, ...]]] = {}  # (ok|partial|failing, failure reasons)
        self._slots = StartSlots()

    def apply(self, config: Config) -> None:
        """Start, stop or restart jobs so that they match `config`; unchanged jobs keep running."""
        wanted = jobs_for(config)
        for key, (job, task) in list(self._tasks.items()):
            if wanted.get(key) != job:
                task.cancel()
                del self._tasks[key]
        for key, job in wanted.items():
            if key not in self._tasks:
                self._tasks[key] = (job, asyncio.create_task(self._run(job), name=str(key)))
        if not self.ready.is_set():
            self._waiting_for_first_round = {key for key, job in wanted.items() if job.kind.ready_waits}
        # What the log said about a removed probe goes with it: added back and still failing, it is said again.
        # A kind's job may log under more keys than its own (the clock's host kernel line).
        self._health = {key: state for key, state in self._health.items()
                        if key in wanted or ProbeKey(key.kind) in wanted}
        owners = {key: job.interval for job in wanted.values() for key in job.kind.owners(job.key, job.spec)}
        self.metrics.retain(set(owners))
        for key, interval in owners.items():
            self.metrics.register_probe(key, interval)

    async def stop(self) -> None:
        tasks = [task for _, task in self._tasks.values()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()

    async def _run(self, job: Job) -> None:
        loop = asyncio.get_running_loop()
        next_start = loop.time() + start_offset(job)
        while True:
            await self._slots.wait(next_start, job.interval)
            try:
                await self._round(job)
            except asyncio.CancelledError:
                raise
            except Exception:  # a bug in one probe must not stop its schedule or any other
                log.exception("probe %s crashed", job.key)
            self._round_done(job.key)
            next_start += job.interval
            late = loop.time() - next_start
            if late > 0:
                skipped = int(late // job.interval) + 1
                next_start += skipped * job.interval
                log.warning("probe %s is %.1fs late: skipping %d round(s)", job.key, late, skipped)

    async def _round(self, job: Job) -> None:
        """One round of a job, as its kind says: probe, record the result, note its health."""
        kind = job.kind
        result = await kind.probe(job.spec)
        kind.record(self.metrics, job.key, job.spec, result)
        for key, health in kind.health(job.key, job.spec, result):
            self._note_health(key, health)

    def _round_done(self, key: ProbeKey) -> None:
        if self.ready.is_set():
            return
        self._waiting_for_first_round.discard(key)
        if not self._waiting_for_first_round:
            log.info("first probe round complete: ready")
            self.ready.set()

    def _note_health(self, key: ProbeKey, health: Health) -> None:
        """Log changes only, so a long outage does not flood the log: failing or partly failing, every new
        reason while it lasts (connect -> 504 -> timeout), recovered."""
        state = ("partial" if health.partial else "ok") if health.healthy else "failing"
        previous = self._health.get(key)
        self._health[key] = (state, health.reasons)
        if previous == (state, health.reasons) or previous is None and state == "ok":
            return
        if state == "ok":
            log.info("probe %s recovered", key)
            return
        words = "failing" if state == "failing" else "partly failing"
        if previous and previous[0] == state:
            words = f"still {words}, now"
        log.warning("probe %s %s: %s", key, words, health.message)
