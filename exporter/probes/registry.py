"""Every kind of probe the exporter runs, by name: the scheduler's only list of them (a new kind is one line)."""

from __future__ import annotations

from exporter.probes import clock, host_time, http, spse_app, upstream
from exporter.probes.kind import ProbeKind

PROBE_KINDS: dict[str, ProbeKind] = {kind.name: kind for kind in (
    http.PROBE_KIND,
    spse_app.PROBE_KIND,
    clock.PROBE_KIND,
    upstream.PROBE_KIND,
    host_time.PROBE_KIND,
)}
