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
        rounds = prometheus.query("increase(spse_probe_rounds_total[10s])")
        assert len(rounds) == 2 and all(float(s["value"][1]) > 5 for s in rounds), rounds
        assert prometheus.query('count_over_time(ALERTS{alertname="SPSEProbesStale"}[1m])') == []
    finally:
        exporter.stop()
