"""Probes: one module per protocol, each returning a plain result, never raising.

Failure reasons form a small closed set so that alert rules and dashboards can rely on them.
"""

from __future__ import annotations


class ProbeFailure(Exception):
    """A probe ended without success; `reason` is the metric label, the message is for people."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason
