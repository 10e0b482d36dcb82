"""The /probes history: the last result per probe, keyed as /probes has always shown it."""

from __future__ import annotations

from exporter.probe_history import ProbeHistory
from exporter.probes.key import ProbeKey

TARGET = ProbeKey("http", "lpse-a")


def test_history_is_keyed_probe_slash_name_and_forgets_removed_probes():
    history = ProbeHistory()
    history.remember(TARGET, {"success": True})
    history.remember(ProbeKey("host_time"), {"success": False})
    assert list(history.last_results()) == ["host_time/", "http/lpse-a"]  # as /probes has always shown them
    history.retain({TARGET})
    assert list(history.last_results()) == ["http/lpse-a"] and "completed_at" in history.last_results()["http/lpse-a"]
