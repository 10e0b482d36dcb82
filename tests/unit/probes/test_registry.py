"""Probe kinds: the scheduler runs whatever exporter/probes/registry.py lists, so a new kind is one module and one
registry line (docs/architecture.md), and job keys still read as the bare tuples they replaced."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

import yaml

from exporter.config import parse_config
from exporter.metrics import Metrics
from exporter.probes import ProbeResult
from exporter.probes.kind import Health, ProbeKey, ProbeKind
from exporter.probes.registry import PROBE_KINDS
from exporter.scheduler import Scheduler, jobs_for
from tests.support import parse_metrics

CONFIG = {"targets": [{"name": "a", "url": "http://127.0.0.1:9/eproc4", "spse": True}],
          "clock": {"servers": ["127.0.0.1"]},
          "upstream": {"global": ["tcp://127.0.0.1:9"]}}


def test_every_configured_probe_is_one_job_of_a_registered_kind():
    keys = list(jobs_for(parse_config(yaml.safe_dump(CONFIG))))
    assert keys == [("http", "a"), ("spse_app", "a"), ("clock", ""), ("upstream", "global")]
    assert all(isinstance(key, ProbeKey) and key.kind in PROBE_KINDS for key in keys)
    assert [str(key) for key in keys] == ["http/a", "spse_app/a", "clock", "upstream/global"]  # the log's names


@dataclass(frozen=True)
class Ping:
    interval: float


def test_a_kind_added_to_the_registry_is_scheduled_recorded_and_logged(monkeypatch, caplog):
    """A kind the scheduler has never heard of: its job starts, each round is recorded, its failing and recovery
    are logged, and its interval and round counter are exposed, with nothing in the scheduler changed for it."""
    answers = iter([ProbeResult(False, "timeout", "no answer within 1s", 1.0)])
    recorded: list[ProbeResult] = []

    async def probe_ping(spec: Ping) -> ProbeResult:
        return next(answers, ProbeResult(True, "", "", 0.01))

    monkeypatch.setitem(PROBE_KINDS, "ping", ProbeKind(
        "ping", specs=lambda config: [("gateway", Ping(0.05))], probe=probe_ping,
        record=lambda metrics, key, spec, result: recorded.append(result),
        health=lambda key, spec, result: [(key, Health(result.success, result.message))]))

    async def scenario() -> str:
        metrics = Metrics()
        scheduler = Scheduler(metrics)
        scheduler.apply(parse_config(yaml.safe_dump({"targets": CONFIG["targets"]})))
        try:
            deadline = time.monotonic() + 60
            while len(recorded) < 3 and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            return metrics.exposition.render().decode()
        finally:
            await scheduler.stop()

    with caplog.at_level(logging.INFO, logger="spse_exporter.scheduler"):
        exposition = asyncio.run(scenario())
    assert len(recorded) >= 3 and not recorded[0].success and recorded[-1].success
    lines = [record.getMessage() for record in caplog.records if record.getMessage().startswith("probe ping/")]
    assert lines == ["probe ping/gateway failing: no answer within 1s", "probe ping/gateway recovered"]
    labels = frozenset({"probe": "ping", "name": "gateway"}.items())
    samples = parse_metrics(exposition)
    assert samples["spse_probe_interval_seconds", labels] == 0.05
    assert ("spse_probe_rounds_total", labels) in samples  # from the start, so staleness is judged from it
