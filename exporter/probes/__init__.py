"""Probes: one module per protocol, each returning a plain result, never raising.

Failure reasons form a small closed set so that alert rules and dashboards can rely on them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ProbeResult:
    """What every probe returns; probes with more to say (HTTP, NTP) extend it."""

    success: bool
    reason: str  # "" on success, else one of the probe's failure reasons (a metric label)
    message: str  # for people: the log and /probes
    duration: float


class ProbeFailure(Exception):
    """A probe ended without success; `reason` is the metric label, the message is for people."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason
