"""ProbeKey, the one name of a probe job: its key in the scheduler, the owner of its samples and counters in the
store, and its name in the log and /probes."""

from __future__ import annotations

from typing import NamedTuple


class ProbeKey(NamedTuple):
    """Names one job, its metrics owner and its log lines: ("http", "lpse-x"). A kind with one job per config
    (the clock) has no name; as a tuple the key compares and joins like the bare tuples it replaced."""

    kind: str
    name: str = ""

    def __str__(self) -> str:
        """The job's name in the log: "http/lpse-x", or "clock"."""
        return f"{self.kind}/{self.name}" if self.name else self.kind
