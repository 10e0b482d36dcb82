"""The real exporter scraped by a real Prometheus running the shipped rules on a compressed clock: SPSEProbesStale
judges on Prometheus' clock (an exporter clock a minute behind does not matter), and a fresh start or a restart of
a healthy site pages nothing and leaves no incident in the report."""

from __future__ import annotations

import json
import math
import re
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest
import yaml

from exporter.report import cli
from tests.fakes import free_port, spse_front_page
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


# A compressed hour: the shipped rules FACTOR times faster, Prometheus scraping and evaluating every 500ms
# (30 production seconds). Probe intervals are numbers the rules compare, not durations they hold: the test
# divides those thresholds by FACTOR too, so that a 5-second application check is judged as the 5-minute
# default is in production.
FACTOR = 60
APP_ROUNDS = 6  # application checks per phase: 30 seconds, half a compressed hour
INTERVAL_THRESHOLD = re.compile(r"((?:spse_probe_interval_seconds(?:\[[0-9a-z]+\]\))?|spse:probe_counting:seconds\{[^}]*\})"
                                r"\s*<=\s*)(\d+)")


def compress_probe_rules(dest_dir: Path) -> Path:
    """compress_rules, with the interval thresholds the rules compare probes' intervals with divided as well."""
    rules = compress_rules(dest_dir, FACTOR)
    for path in rules.glob("*.yml"):
        doc = yaml.safe_load(path.read_text())
        for group in doc["groups"]:
            for rule in group["rules"]:
                rule["expr"] = INTERVAL_THRESHOLD.sub(lambda m: f"{m.group(1)}{int(m.group(2)) / FACTOR:g}", rule["expr"])
        path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))
    return rules


def test_a_fresh_start_and_a_restart_page_nothing_and_the_report_has_no_incident(
        tmp_path, spse, ntp, tcp_listener, start_prometheus, capsys):
    """Issue 19: a fresh stack paged SPSEProbesStale for the application check, which runs every 5 minutes,
    and the report carried it. Real exporter and Prometheus, shipped rules, a compressed hour: a fresh start,
    half an hour, a restart of the exporter, half an hour. Nothing may page, pending included, but Watchdog
    and a target that never answers (the positive control: it pages SPSEDown and makes the report's incident)."""
    spse.page = spse_front_page()  # "Update terakhir" now: the data of a healthy site is fresh
    config = tmp_path / "spse.yml"
    config.write_text(yaml.safe_dump({
        "interval": "1s", "timeout": "800ms",  # production 1 minute: its window (5m) is 5 seconds here
        "targets": [{"name": "kutaibarat", "url": spse.url, "spse": {"timezone": "WITA", "app_interval": "5s"}},
                    {"name": "broken", "url": f"http://127.0.0.1:{free_port()}/eproc4"}],
        "clock": {"servers": [ntp.address]},
        "upstream": {"gateway": [f"tcp://{tcp_listener.address}"]}}))
    exporter = ExporterProcess(config)
    started = time.time()
    try:
        # Lookback compressed too: a series gone for 5 seconds (5 minutes) is gone.
        prometheus = start_prometheus(render_prometheus_config(
            tmp_path, exporter=exporter.address, rules_dir=compress_probe_rules(tmp_path / "rules"),
            scrape_interval="500ms", evaluation_interval="500ms"), ["--query.lookback-delta=5s"])
        exporter.wait_ready()
        wait_for_app_rounds(prometheus, APP_ROUNDS)
        exporter.stop()
        exporter = ExporterProcess(config, port=exporter.port)
        exporter.wait_ready()
        # Prometheus must have scraped the restarted exporter first: until then the old exporter's last sample
        # (already APP_ROUNDS) would end the wait at once, and the restart might not be in the data at all.
        poll(lambda: [float(s["value"][1]) for s in prometheus.query('spse_probe_rounds_total{probe="spse_app"}')]
             < [float(APP_ROUNDS)], 30, 0.2, "Prometheus scraping the restarted exporter")
        wait_for_app_rounds(prometheus, APP_ROUNDS)
    finally:
        exporter.stop()
    ended = time.time()
    span = f"{math.ceil(ended - started) + 5}s"
    assert prometheus.query(f'resets(spse_probe_rounds_total{{probe="spse_app"}}[{span}])')[0]["value"][1] == "1"

    alerts = {(s["metric"]["alertname"], s["metric"].get("target", ""), s["metric"].get("probe", ""),
               s["metric"].get("name", ""), s["metric"]["alertstate"])
              for s in prometheus.query(f"ALERTS[{span}]")}
    assert ("Watchdog", "", "", "", "firing") in alerts and ("SPSEDown", "broken", "", "", "firing") in alerts, alerts
    # The restart itself is not compressed: the exporter's second or two without answering are minutes to
    # the rules, and SPSEExporterDown may rightly be pending for them.
    wrong = {a for a in alerts if a[0] not in ("Watchdog", "SPSEExporterDown") and a[1] != "broken"}
    assert not wrong, f"paged on a healthy site: {sorted(wrong)}"

    def incidents(target: str) -> list[dict]:
        """The report's incidents over the run, one sample per probe (as its 15s default is in production)."""
        code = cli.main(["--prometheus.url", prometheus.url, "--site", "kutaibarat", "--target", target,
                         "--from", rfc3339(started), "--to", rfc3339(ended), "--step", "1s", "--format", "json"])
        out, err = capsys.readouterr()
        assert code == 0, err
        return json.loads(out)["incidents"]

    assert incidents("kutaibarat") == []
    assert len(incidents("broken")) == 1


def wait_for_app_rounds(prometheus, rounds: int) -> None:
    """Until the application check of the running exporter has completed `rounds` rounds, as Prometheus saw them."""
    poll(lambda: [float(s["value"][1]) for s in prometheus.query('spse_probe_rounds_total{probe="spse_app"}')]
         >= [float(rounds)], 30 + 10 * rounds, 0.5, f"{rounds} application checks")


def rfc3339(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, timezone.utc).isoformat()
