"""The last result of every probe, for the /probes debug view: read from the server's thread, so locked."""

from __future__ import annotations

import threading
import time

from exporter.probes.key import ProbeKey


class ProbeHistory:
    def __init__(self):
        self._last: dict[ProbeKey, dict] = {}
        self._lock = threading.Lock()

    def remember(self, owner: ProbeKey, record: dict) -> None:
        with self._lock:
            self._last[owner] = {**record, "completed_at": round(time.time(), 3)}

    def last_results(self) -> dict[str, dict]:
        """Last result per probe, keyed "probe/name"."""
        with self._lock:
            return {"/".join(owner): record for owner, record in sorted(self._last.items())}

    def retain(self, keep: set[ProbeKey]) -> None:
        with self._lock:
            for owner in [owner for owner in self._last if owner not in keep]:
                del self._last[owner]
