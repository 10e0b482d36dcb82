"""SPSEProbesStale on Prometheus' clock: a real exporter whose host clock is a minute behind (libfaketime),
scraped by a real Prometheus running the shipped rules 15 times faster. Its probes complete, so the alert
must stay silent, although every timestamp the exporter writes reads a minute old."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.stack import compress_rules, render_prometheus_config
from tests.support import ExporterProcess, poll

FAKETIME = Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1")
MINUTE_BEHIND = ["env", f"LD_PRELOAD={FAKETIME}", "FAKETIME=-60", "FAKETIME_DONT_FAKE_MONOTONIC=1"]
WINDOW = 4  # seconds: SPSEProbesStale's increase(...[1m]) for intervals up to 20s, 15 times faster


@pytest.mark.skipif(not FAKETIME.exists(), reason="libfaketime is not installed (scripts/test.sh installs it)")
def test_an_exporter_clock_a_minute_behind_does_not_make_probes_stale(tmp_path, spse, tcp_listener, start_prometheus):
    config = tmp_path / "spse.yml"
    config.write_text(yaml.safe_dump({"interval": "1s", "timeout": "500ms", "targets": [{"name": "lpse", "url": spse.url}],
                                      "upstream": {"gateway": [f"tcp://{tcp_listener.address}"]}}))
    exporter = ExporterProcess(config, wrapper=MINUTE_BEHIND)
    try:
        exporter.wait_ready()
        prometheus = start_prometheus(render_prometheus_config(
            tmp_path, exporter=exporter.address, rules_dir=compress_rules(tmp_path / "rules", 15),
            scrape_interval="1s", evaluation_interval="1s"))
        # The shift is real: judged by the exporter's timestamps, both probes would be stale.
        by_timestamp = "time() - spse_last_probe_timestamp_seconds > 3 * spse_probe_interval_seconds"
        poll(lambda: len(prometheus.query(by_timestamp)) == 2, 30, 0.5, "timestamps a minute old")
        # 20 evaluations: five times the alert's compressed window (4s) and its `for:` (4s) over.
        poll(lambda: [float(s["value"][1]) for s in prometheus.query(
            'count_over_time(spse_probe_rounds_total{probe="http"}[1m])')] >= [20.0], 60, 0.5, "20 scrapes")
        # Judged on what happened, not on the machine keeping pace: a loaded machine may really stall the
        # exporter for a 4s window, and then the alert is right to be pending. It must never be active
        # (pending or firing) at an evaluation whose window held rounds, as it would be on the timestamps.
        alerts = series_values(prometheus.query('ALERTS{alertname="SPSEProbesStale"}[1m]'))
        rounds = series_values(prometheus.query(f"spse_probe_rounds_total[{60 + WINDOW}s]"))  # queried after
        assert len(rounds) == 2 and all(len(set(values.values())) > 10 for values in rounds.values()), rounds
        wrong = {probe: [at for at in active if rounds_in_window(rounds[probe], at)] for probe, active in alerts.items()}
        assert not any(wrong.values()), f"SPSEProbesStale active although rounds completed: {wrong}"
    finally:
        exporter.stop()


def series_values(result: list[dict]) -> dict[tuple, dict[float, float]]:
    """A range selector's samples per probe: {(probe, name): {timestamp: value}} (ALERTS' pending and firing merged)."""
    found: dict[tuple, dict[float, float]] = {}
    for series in result:
        found.setdefault((series["metric"]["probe"], series["metric"]["name"]), {}).update(
            (float(t), float(v)) for t, v in series["values"])
    return found


def rounds_in_window(samples: dict[float, float], at: float) -> bool:
    """Whether the rule evaluated at `at` surely saw the counter rise: two different values among the samples
    of its window scraped at least one scrape timeout (1s) before `at`, so they were stored by then."""
    return len({value for t, value in samples.items() if at - WINDOW < t <= at - 1}) > 1
