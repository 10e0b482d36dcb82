"""Measure what one real site remote-writes to the watcher, and keep it as the load generator's template.

    python3 -m bench.site_profile [--seconds 90] [--output bench/site_profile.json]

Runs the real stack of one site on loopback: the exporter with exporter/examples/spse.yml (every
address swapped for a stand-in of the same kind, nothing else changed), the site's Prometheus with
the shipped prometheus.yml, rules and remote-write.yml, and its Alertmanager. Remote write goes to a
bare receiving Prometheus, so what arrives there is exactly what the site would send the watcher
(after write_relabel_configs). Prints the series count and samples/s, and writes every series with
two of its values (`--seconds` apart) for bench/national_load.py to replay.
"""

from __future__ import annotations

import argparse
import datetime
import json
import ssl
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import trustme
import yaml

from tests.fakes import FakeDNS, FakeNTP, FakeSPSE, TcpListener, free_port
from tests.stack import (STACK_DIR, AlertmanagerProcess, PrometheusProcess, WebhookReceiver,
                         render_alertmanager_config, render_prometheus_config)
from tests.support import ROOT, ExporterProcess, http_get, parse_metrics, poll

EXAMPLE = ROOT / "exporter" / "examples" / "spse.yml"
PROFILE = Path(__file__).resolve().parent / "site_profile.json"
SCRAPE_INTERVAL = 15.0  # the shipped prometheus.yml's
BATCH_DELAY = 20.0  # a batch reaches the receiver within batch_send_deadline (5s): read values this far back


class StandIns:
    """A loopback stand-in for each kind of address the example config names."""

    def __init__(self, workdir: Path):
        ca = trustme.CA()
        self.ca_file = workdir / "ca.pem"
        ca.cert_pem.write_to_path(str(self.ca_file))
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
        self.spse = FakeSPSE(tls=context)
        self.web = FakeSPSE()  # http(s) upstream checks: any answer under 500
        self.tcp = TcpListener()
        self.dns = FakeDNS()
        self.ntp: list[FakeNTP] = []

    def ntp_address(self) -> str:
        self.ntp.append(FakeNTP())
        return self.ntp[-1].address

    def upstream(self, check: str) -> str:
        scheme = urlsplit(check).scheme
        if scheme == "tcp":
            return f"tcp://{self.tcp.address}"
        if scheme == "dns":
            return f"dns://{self.dns.address}{urlsplit(check).path}"
        if scheme == "ntp":
            return f"ntp://{self.ntp_address()}"
        return f"http://127.0.0.1:{self.web.port}/"

    def config(self) -> dict:
        """exporter/examples/spse.yml with its addresses on loopback; counts, kinds and options kept."""
        config = yaml.safe_load(EXAMPLE.read_text())
        for target in config["targets"]:
            target["url"] = self.spse.url
            target["tls"] = {"ca_file": str(self.ca_file)}
        clock = config["clock"]
        clock["servers"] = [{**server, "host": self.ntp_address()} for server in clock["servers"]]
        clock["reference_servers"] = [self.ntp_address() for _ in clock.get("reference_servers", [])]
        config["upstream"] = {group: [self.upstream(check) for check in checks]
                              for group, checks in config["upstream"].items()}
        return config

    def close(self) -> None:
        for fake in (self.spse, self.web, self.tcp, self.dns, *self.ntp):
            fake.close()


def own_metric(prometheus: PrometheusProcess, name: str) -> float:
    """A sample of Prometheus' own /metrics (the receiver does not scrape itself)."""
    status, body, _ = http_get(f"{prometheus.url}/metrics")
    assert status == 200, status
    return sum(parse_metrics(body.decode()).series(name).values())


def instant(prometheus: PrometheusProcess, expr: str, at: float) -> list[dict]:
    return prometheus.get_json("/api/v1/query", query=expr, time=f"{at:.3f}")["data"]["result"]


def measure(seconds: float, workdir: Path) -> dict:
    stand_ins, started = StandIns(workdir), []
    webhook = WebhookReceiver()
    try:
        config_path = workdir / "spse.yml"
        config_path.write_text(yaml.safe_dump(stand_ins.config()))
        exporter = ExporterProcess(config_path)
        started.append(exporter)
        exporter.wait_ready(60)
        am_dir = workdir / "alertmanager"
        am_dir.mkdir()
        alertmanager = AlertmanagerProcess(render_alertmanager_config(am_dir, webhook.url), am_dir)
        started.append(alertmanager)
        receiver_dir = workdir / "receiver"
        receiver_dir.mkdir()
        (receiver_dir / "prometheus.yml").write_text("global: {}\n")
        receiver = PrometheusProcess(receiver_dir / "prometheus.yml", receiver_dir,
                                     ["--web.enable-remote-write-receiver"])
        started.append(receiver)
        site_dir = workdir / "site"
        (site_dir / "secrets").mkdir(parents=True)
        (site_dir / "secrets" / "watcher_password").write_text("unused: the receiver has no web config")
        site_port = free_port()
        site = PrometheusProcess(render_prometheus_config(
            site_dir, exporter=exporter.address, alertmanager=alertmanager.address, prometheus=f"127.0.0.1:{site_port}",
            remote_write=f"{receiver.url}/api/v1/write"), site_dir, port=site_port)
        started.append(site)
        for process in (alertmanager, receiver, site):
            process.wait_ready(60)
        # Two scrapes and two rule evaluations in, everything the site sends exists at the receiver.
        poll(lambda: instant(receiver, 'count_over_time(up{job="spse-exporter"}[5m]) >= 3', time.time()),
             timeout=120, interval=1, what="three scrapes of the exporter at the receiver")
        # The receiver scrapes nothing: every sample it appends came from the site.
        first, appended_first = time.time(), own_metric(receiver, "prometheus_tsdb_head_samples_appended_total")
        time.sleep(seconds)  # the measured window: a duration, nothing is waited for
        last, appended_last = time.time(), own_metric(receiver, "prometheus_tsdb_head_samples_appended_total")
        per_series = {}
        shipped = {exporter.address: "exporter:10040", alertmanager.address: "alertmanager:9093"}
        for stamp, key in ((first - BATCH_DELAY, 0), (last - BATCH_DELAY, 1)):
            for series in instant(receiver, '{__name__=~".+"}', stamp):
                labels = {name: shipped.get(value, value) for name, value in series["metric"].items()}
                per_series.setdefault(json.dumps(labels, sort_keys=True), [None, None])[key] = float(series["value"][1])
        window = last - first
        return {
            "measured": {
                "command": "python3 -m bench.site_profile " + " ".join(sys.argv[1:]),
                "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                "window_s": round(window, 1), "scrape_interval_s": SCRAPE_INTERVAL,
                "series": len(per_series), "head_series": own_metric(receiver, "prometheus_tsdb_head_series"),
                "samples_per_s": round((appended_last - appended_first) / window, 2),
                "by_job": count_by(per_series, "job"),
            },
            "series": [[json.loads(key), *values] for key, values in sorted(per_series.items())],
        }
    finally:
        for process in reversed(started):
            process.stop()
        webhook.close()
        stand_ins.close()


def count_by(per_series: dict, label: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for key in per_series:
        value = json.loads(key).get(label, "")
        counts[value] = counts.get(value, 0) + 1
    return dict(sorted(counts.items()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m bench.site_profile", description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=90.0, help="window between the two values kept per series")
    parser.add_argument("--output", type=Path, default=PROFILE)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="spse-site-profile-") as workdir:
        profile = measure(args.seconds, Path(workdir))
    args.output.write_text(json.dumps(profile, indent=0, sort_keys=True) + "\n")
    print(json.dumps(profile["measured"], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
