"""Prometheus-style durations (15s, 1m30s, 500ms) as the config writes them, and back."""

from __future__ import annotations

import re
from typing import Any

from exporter.messages import Problem

DURATION_RE = re.compile(
    r"^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$"
)
DURATION_UNITS = (365 * 86400, 7 * 86400, 86400, 3600, 60, 1, 0.001)
MAX_DURATION = 366 * 86400  # no setting here means more than a year: a longer one is a typo, not a wish


def parse_duration(value: Any) -> float:
    """Parse a Prometheus duration such as ``15s``, ``1m30s`` or ``500ms`` into seconds; a Problem otherwise."""
    if not isinstance(value, str) or not value:
        raise Problem("duration_not_string")
    match = DURATION_RE.match(value)
    if not match or not any(match.groups()):
        raise Problem("duration_invalid", value=value)
    seconds = sum(int(g) * unit for g, unit in zip(match.groups(), DURATION_UNITS) if g)
    if seconds <= 0:
        raise Problem("not_positive")
    if seconds > MAX_DURATION:
        raise Problem("duration_too_long", value=value)
    return float(seconds)


def format_duration(seconds: float) -> str:
    return f"{seconds * 1000:g}ms" if seconds < 1 else f"{seconds:g}s"

