"""The national-scale benchmark (bench/national.py, bench/national_load.py) at toy size, so that it cannot rot.

The load generator's hand-encoded remote write must be what a real Prometheus accepts, series for
series, and the harness must run end to end: the figures themselves are judged by the benchmark.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest
import yaml

from bench import national, national_load, remote_write
from tests.stack import STACK_DIR, PrometheusProcess
from tests.support import ROOT

SITES = 3


def test_varint_and_labels_encode_as_protobuf_does():
    assert remote_write.varint(1) == b"\x01" and remote_write.varint(300) == b"\xac\x02"
    # Label{name: "a", value: "b"} inside TimeSeries field 1; names sorted
    assert remote_write.encode_labels({"b": "2", "a": "1"}) == b"\x0a\x06\x0a\x01a\x12\x011" + b"\x0a\x06\x0a\x01b\x12\x012"


def test_generated_sites_arrive_at_a_real_prometheus_as_the_profiled_site_sent_them(tmp_path):
    config = tmp_path / "prometheus.yml"
    config.write_text("global: {}\n")
    receiver = PrometheusProcess(config, tmp_path, ["--web.enable-remote-write-receiver"])
    try:
        receiver.wait_ready()
        run = subprocess.run([sys.executable, "-m", "bench.national_load", f"--sites={SITES}", "--seconds=3",
                              "--interval=1", f"--url={receiver.url}/api/v1/write"],
                             cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert run.returncode == 0, run.stdout + run.stderr
        sent = json.loads(run.stdout)
        labels, models, _ = national_load.load_profile(national_load.PROFILE)
        assert sent["failed"] == 0 and sent["series"] == SITES * len(labels), sent
        # Three sends per site, each with every series of the profile
        assert sent["samples"] == 3 * SITES * len(labels), sent
        per_site = receiver.query('count by (site, province, timezone) ({__name__=~".+"})')
        assert sorted((s["metric"]["site"], s["metric"]["province"], s["metric"]["timezone"], s["value"][1])
                      for s in per_site) == [
            ("site0000", "Aceh", "WIB", str(len(labels))), ("site0001", "Sumatera Utara", "WIB", str(len(labels))),
            ("site0002", "Sumatera Barat", "WIB", str(len(labels)))]
        # Values: the site's exporter is up, and a counter of the profile grows from one send to the next
        assert [s["value"][1] for s in receiver.query('up{site="site0001", job="spse-exporter"}')] == ["1"]
        counter = next(i for i, model in enumerate(models) if model.counter and model.rate > 0)
        name = labels[counter]["__name__"]
        growth = receiver.query(f'increase({name}{{site="site0002"}}[1m]) > 0')
        assert growth, f"{name} did not grow"
    finally:
        receiver.stop()


@pytest.mark.timeout(200)  # above the run's own 150 s, so the process group is always ended below
def test_national_benchmark_runs_end_to_end(tmp_path):
    figures = tmp_path / "national.json"
    # Its own session: a benchmark killed on timeout would leave its Prometheus, exporter and world running for
    # the rest of the suite; the whole group goes.
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.national", f"--sites={SITES}", "--interval=2", "--warmup=2", "--window=4",
         "--backfill=120", "--query-rounds=1", f"--compare-rules={STACK_DIR / 'watcher' / 'rules'}", f"--json={figures}"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        stdout, stderr = process.communicate(timeout=150)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    run = subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "| Sites | Active series" in run.stdout, run.stdout
    [result] = json.loads(figures.read_text())
    replica = result["per_replica"]["a"]
    profile_series = len(national_load.load_profile(national_load.PROFILE)[0])
    assert replica["head_series"] >= SITES * profile_series, result
    assert replica["samples_per_s"] > 0 and replica["rss_gb_end"] > 0 and replica["rule_share_max"] is not None, result
    assert result["generator"]["failed"] == 0 and result["generator"]["requests"] > 0, result
    # Every query of the national dashboard ran, and each returned series from this world
    assert result["queries"]["queries"] == len(national.dashboard_queries()) and not result["queries"]["empty_panels"]
    assert result["exporter_probes"] > 0, result
    # Every rule's cost was measured as Prometheus counts it (the samples the latch reads are the sites' counters),
    # the compared set's too, and each rule's evaluation time seen during the window.
    rules = {f"{group['name']}/{rule.get('record') or rule['alert']}" for path in (STACK_DIR / "watcher" / "rules").glob("*.yml")
             for group in yaml.safe_load(path.read_text())["groups"] for rule in group["rules"]}
    assert set(result["rule_costs"]["shipped"]) == set(result["rule_costs"]["compared"]) == rules, result["rule_costs"]
    assert result["rule_costs"]["shipped"]["watcher.recording/watcher:notifications:increase15m"]["samples"] > 0
    assert rules <= set(replica["rule_seconds_max"]), replica["rule_seconds_max"]
