"""Cumulative counts per probe owner: failures by reason, responses by code, a duration histogram, and the
rounds each probe completed. They survive reloads while their owner stays configured."""

from __future__ import annotations

from exporter.exposition import sample
from exporter.probes.key import ProbeKey

DURATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 7.5, 10, 15, 20, 30, 60)
BUCKET_BOUNDS = (*(f"{bound:g}" for bound in DURATION_BUCKETS), "+Inf")  # the `le` labels, formatted once


class Counters:
    """One owner's counts; every reason and code it was created or reloaded with is exposed from 0."""

    def __init__(self, reasons: tuple[str, ...], codes: tuple[str, ...] = ()):
        self.failures = dict.fromkeys(reasons, 0)
        self.codes = dict.fromkeys(codes, 0)
        self.buckets = [0] * len(DURATION_BUCKETS)
        self.count = 0
        self.sum = 0.0

    def fail(self, reason: str) -> None:
        """Count a failure; "" (a success) counts nothing."""
        if reason:
            self.failures[reason] = self.failures.get(reason, 0) + 1

    def observe(self, duration: float) -> None:
        self.count += 1
        self.sum += duration
        for i, bound in enumerate(DURATION_BUCKETS):
            if duration <= bound:
                self.buckets[i] += 1

    def failure_samples(self, name: str, labels: dict) -> str:
        return "".join(sample(name, {**labels, "reason": reason}, count) for reason, count in self.failures.items())

    def histogram(self, name: str, labels: dict) -> str:
        bucket = f"{name}_bucket"
        lines = [sample(bucket, {**labels, "le": bound}, count)
                 for bound, count in zip(BUCKET_BOUNDS, (*self.buckets, self.count))]
        lines.append(sample(f"{name}_sum", labels, self.sum))
        lines.append(sample(f"{name}_count", labels, self.count))
        return "".join(lines)


class CounterStore:
    """Counters by owner, and by part of an owner where one job counts several things (a group's checks)."""

    def __init__(self):
        self._counters: dict[tuple[ProbeKey, str], Counters] = {}

    def of(self, owner: ProbeKey, reasons: tuple[str, ...], codes: tuple[str, ...] = (), part: str = "") -> Counters:
        counters = self._counters.get((owner, part))
        if counters is None:
            counters = self._counters[owner, part] = Counters(reasons, codes)
        for reason in reasons:  # a reload may have added some (spse: on): they start at 0 too
            counters.failures.setdefault(reason, 0)
        for code in codes:
            counters.codes.setdefault(code, 0)
        return counters

    def retain(self, keep: set[ProbeKey]) -> None:
        for owner, part in [(owner, part) for owner, part in self._counters if owner not in keep]:
            del self._counters[owner, part]


class Rounds:
    """Completed rounds per probe: Prometheus judges staleness by this counter's increase, on its own clock."""

    def __init__(self):
        self._rounds: dict[ProbeKey, int] = {}

    def register(self, key: ProbeKey) -> bool:
        """Start a new probe's count at 0; False when it already counts (a reload kept it)."""
        if key in self._rounds:
            return False
        self._rounds[key] = 0
        return True

    def complete(self, key: ProbeKey) -> int:
        self._rounds[key] = self._rounds.get(key, 0) + 1
        return self._rounds[key]

    def retain(self, keep: set[ProbeKey]) -> None:
        for key in [key for key in self._rounds if key not in keep]:
            del self._rounds[key]
