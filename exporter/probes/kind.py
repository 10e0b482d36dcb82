"""What the scheduler knows of one kind of probe: how its jobs come from the config, one round, how the round's
result becomes metrics, and what the log says about it. Each probe module defines its kind; registry.py maps them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from exporter.probes.key import ProbeKey

if TYPE_CHECKING:  # only for the types: the store imports probes/key.py, not this module
    from exporter.config import Config
    from exporter.metrics import Metrics


@dataclass(frozen=True)
class Health:
    """One round's verdict for the log: the scheduler logs only its changes."""

    healthy: bool
    message: str
    reasons: tuple[str, ...] = ()  # a new reason while failing is logged again
    partial: bool = False  # some of several results failed


def several(labelled: list[tuple[str, Any]], what: str, none_answered: str) -> Health:
    """The verdict on one round of several results (a group's checks, SPSE's time sources): all, some or none
    failing. Each result's message names no peer; the label here does, once."""
    failed = [(label, r) for label, r in labelled if not r.success]
    healthy = len(failed) < len(labelled)
    summary = f"{len(failed)} of {len(labelled)} {what} failing: " if healthy else none_answered
    return Health(healthy, summary + "; ".join(f"{label}: {r.reason}: {r.message}" for label, r in failed),
                  tuple(f"{label} {r.reason}" for label, r in failed), partial=bool(failed))


@dataclass(frozen=True)
class ProbeKind:
    """One kind of probe, as the scheduler runs it. A spec is what one job probes; it has an `interval`."""

    name: str  # the first half of its jobs' keys
    specs: Callable[[Config], Iterable[tuple[str, Any]]]  # (job name, spec) for each job the config asks for
    probe: Callable[[Any], Awaitable[Any]]  # one round; never raises for a peer's fault
    record: Callable[[Metrics, ProbeKey, Any, Any], None]  # (metrics, key, spec, result): the round's samples
    health: Callable[[ProbeKey, Any, Any], Iterable[tuple[ProbeKey, Health]]]  # (key, spec, result): the log's verdicts
    # The `probe` label(s) of the job's round counters and metric owners, if not the job's own key (the clock
    # counts rounds per time source).
    owners: Callable[[ProbeKey, Any], Iterable[ProbeKey]] = lambda key, spec: (key,)
    ready_waits: bool = True  # readiness waits for the first round; not for a kind whose interval is long

    def jobs(self, config: Config) -> Iterable[tuple[ProbeKey, Any]]:
        return ((ProbeKey(self.name, name), spec) for name, spec in self.specs(config))

