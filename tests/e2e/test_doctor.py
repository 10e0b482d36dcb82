"""`spse-exporter doctor` and the resolver reading it uses: unit checks of resolv.conf, bad input, and a whole SPSE
host in network namespaces (its real chronyd, a real dnsmasq, Alertmanager, Prometheus and the exporter), including
SPSETimeSourcesAtRisk firing for a host whose time comes only from abroad and not for one with national sources."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from exporter.doctor import MIN_TIME_SOURCES, Check, Doctor, with_loss
from exporter.config import parse_config
from exporter import formatting
from exporter.doctor_text import LANGUAGES, PHRASES, reason
from exporter.probes import host_time
from exporter.probes.http import HTTP_REASONS, SPSE_REASONS
from exporter.probes.upstream import REASONS as UPSTREAM_REASONS
from exporter.resolvers import host_nameservers, nameservers
from tests import netns
from tests.fakes import free_port
from tests.netns import INTERNET, INTERNET_2, NATIONAL, Topology
from tests.real_servers import ChronyClient, ChronyServer, Dnsmasq
from tests.stack import AlertmanagerProcess, PrometheusProcess, compress_remote_write, compress_rules, \
    render_alertmanager_config, render_prometheus_config
from tests.support import ROOT, ExporterProcess, hold, poll

NATIONAL_2 = "198.51.100.11"  # a second national time server, on the national namespace's link
SPEEDUP = 60  # SPSETimeSourcesAtRisk's `for: 30m` becomes 30 s


def doctor(*args: str, wrapper: tuple[str, ...] = (), cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([*wrapper, sys.executable, "-m", "exporter", "doctor", *args], capture_output=True,
                          text=True, timeout=120, cwd=cwd, env={**os.environ, "PYTHONPATH": str(ROOT)})


def test_resolv_conf_nameservers_in_order_without_zones_or_junk():
    text = ("# generated\nsearch lpse.example\nnameserver 198.51.100.53\nnameserver fe80::1%eth0\n"
            "nameserver not-an-address\n;nameserver 192.0.2.9\noptions edns0\nnameserver 203.0.113.53 # second\n")
    assert nameservers(text) == ["198.51.100.53", "fe80::1", "203.0.113.53"]


def test_systemd_resolved_stub_is_read_through_to_its_own_list(tmp_path):
    stub, uplinks = tmp_path / "resolv.conf", tmp_path / "resolved.conf"
    stub.write_text("nameserver 127.0.0.53\noptions edns0 trust-ad\n")
    uplinks.write_text("nameserver 198.51.100.53\nnameserver 203.0.113.53\n")
    assert host_nameservers(stub, uplinks) == (["198.51.100.53", "203.0.113.53"], True)
    stub.write_text("nameserver 127.0.0.53\nnameserver 198.51.100.1\n")  # not only the stub: read as written
    assert host_nameservers(stub, uplinks) == (["127.0.0.53", "198.51.100.1"], False)


def test_what_stops_without_global_links_is_said_in_one_sentence_by_the_groups_each_check_reaches():
    reached = [("time_sources", {"global"}, "waktu"), ("resolvers", {"unknown"}, "DNS"),
               ("receivers", {"unknown", "global"}, "notifikasi melalui telegram"),
               ("watcher", {"national", "global"}, "watcher"), ("spse", set(), "SPSE")]
    checks = [with_loss(Check(kind, kind, False), groups, what) for kind, groups, what in reached]
    assert [(c.stops, c.may_stop) for c in checks] == [("waktu", ""), ("", "DNS"), ("", "notifikasi melalui telegram"),
                                                       ("", ""), ("", "")]
    indonesian = Doctor(argparse.Namespace(), "id").loss_sentence(checks + [Check("x", "x", False, may_stop="surel")])
    assert indonesian == ("Jika konektivitas internasional terputus, yang akan berhenti adalah waktu; yang mungkin berhenti "
                          "(alamat tujuannya tidak tercatat sebagai jaringan nasional) adalah DNS, notifikasi melalui "
                          "telegram, dan surel.")  # EYD: a comma before "dan" in a list of three
    assert Doctor(argparse.Namespace(), "en").loss_sentence(checks[3:]) == (
        "If global connectivity were lost, nothing checked here is known to stop.")


def test_a_receivers_or_watchers_host_is_grouped_by_the_config_then_by_its_address():
    spec = parse_config(yaml.safe_dump({"upstream": {"national": ["tcp://relay.contoh.example:25"]}, "host_time": {
        "national_networks": ["198.51.100.0/24"]}})).host_time
    doctor = Doctor(argparse.Namespace(timeout=5.0), "id")

    def group(host: str) -> str:
        return asyncio.run(doctor.host_group(host, spec))
    assert group("relay.contoh.example") == "national"  # a host of the config's national checks, not resolved
    assert group("api.telegram.org") == "global"  # Telegram's Bot API, whatever the config says
    assert group("198.51.100.25") == "national" and group("192.0.2.25") == "unknown"
    assert group("localhost") == "unknown"  # resolved (from /etc/hosts), in no national network


def test_the_doctors_minimum_of_time_sources_is_the_alerts():
    limits = yaml.safe_load((ROOT / "prometheus/mixin/thresholds.yml").read_text(encoding="utf-8"))
    assert MIN_TIME_SOURCES == limits["SPSETimeSourcesAtRisk"]["sources"]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_failure_reason_the_doctor_can_meet_has_words_in_both_languages(lang):
    """No raw code reaches a person: the SPSE URL's and the upstream checks' reasons, and the time daemon's."""
    reasons = {*HTTP_REASONS, *SPSE_REASONS, *(r for rs in UPSTREAM_REASONS.values() for r in rs), *host_time.REASONS}
    raw = reasons - PHRASES[lang]["reason"].keys() - formatting.REASONS[lang].keys()  # else shown as the code
    assert not raw, raw
    assert reason("http_status", lang, 504) == {"id": "mengembalikan galat 504", "en": "returns error 504"}[lang]


@pytest.mark.parametrize("lang, words, fault, absent", [
    ("id", "tidak dapat dipakai", "YAML tidak valid", "berkas tidak ada"),
    ("en", "Cannot use the config", "invalid YAML", "cannot read")])
def test_an_unusable_config_is_exit_2_naming_the_file_and_the_fault(tmp_path, lang, words, fault, absent):
    bad = tmp_path / "spse.yml"
    bad.write_text("targets: [\n")
    result = doctor(f"--config.file={bad}", f"--lang={lang}")
    assert result.returncode == 2, result
    assert words in result.stderr and str(bad) in result.stderr and fault in result.stderr
    missing = doctor(f"--config.file={tmp_path / 'none.yml'}", f"--lang={lang}")
    assert missing.returncode == 2 and "none.yml" in missing.stderr and absent in missing.stderr, missing.stderr
    forever = doctor(f"--config.file={bad}", "--timeout=-1")
    assert forever.returncode == 2 and "--timeout: '-1' is not a number of seconds" in forever.stderr


def test_a_hanging_daemon_and_absent_peers_are_at_risk_within_bounded_time(tmp_path, spse):
    """chronyc that never answers, no Alertmanager, a web page where Prometheus should be, a resolver that does not
    answer: each is named at risk, in Indonesian without raw codes, and the run ends within its timeouts."""
    config = tmp_path / "spse.yml"
    config.write_text(yaml.safe_dump({"host_time": {"chronyc": ["sh", "-c", "exec sleep 600"], "timeout": "1s"}}))
    resolv = tmp_path / "resolv.conf"
    resolv.write_text("nameserver 127.0.0.1\n")  # nothing on port 53 of this loopback: refused or silent
    closed = free_port()
    began = time.monotonic()
    result = doctor(f"--config.file={config}", f"--resolv-conf={resolv}", "--timeout=1",
                    f"--alertmanager.url=http://127.0.0.1:{closed}", f"--prometheus.url={spse.url}")
    assert time.monotonic() - began < 60  # bounded by the 1 s timeouts, not by sleep's 600 s
    assert result.returncode == 1, result
    out = result.stdout
    assert "Layanan sinkronisasi waktu chrony tidak dapat dibaca: tidak merespons dalam 1 detik." in out
    assert "Alertmanager tidak dapat dibaca: tidak dapat dihubungi." in out
    assert "Konfigurasi Prometheus tidak dapat dibaca: jawabannya tidak dapat dibaca." in out  # SPSE's page
    assert "Tidak ada server DNS nasional yang merespons" in out
    assert "Hasil: 4 dari 4 pemeriksaan berisiko." in out
    for code in ("timeout", "not_running", "bad_output", "connect", "[FIRING]"):
        assert code not in out


def test_no_time_daemon_and_no_resolver_list_are_named_in_english_too(tmp_path):
    config = tmp_path / "spse.yml"
    absent = {client: [str(tmp_path / client)] for client in ("chronyc", "ntpq", "timedatectl")}
    config.write_text(yaml.safe_dump({"host_time": absent}))
    closed = f"http://127.0.0.1:{free_port()}"
    result = doctor(f"--config.file={config}", f"--resolv-conf={tmp_path / 'resolv.conf'}", "--lang=en", "--json",
                    f"--alertmanager.url={closed}", f"--prometheus.url={closed}")
    assert result.returncode == 1, result
    checks = {check["check"]: check for check in json.loads(result.stdout)["checks"]}
    assert checks["time_sources"]["problem"] == ("No time daemon (chrony, ntpsec or systemd-timesyncd) found on this "
                                                 "host: not installed.")
    missing = tmp_path / "resolv.conf"
    assert checks["resolvers"]["problem"] == f"Cannot read the resolver list: {missing} does not exist."
    assert all(check["at_risk"] for check in checks.values())


UNAVAILABLE = netns.unavailable()


class Host:
    """An SPSE host (namespace lpse) with its chronyd, the exporter reading it, Prometheus with the shipped rules on a
    60x clock and Alertmanager; national (198.51.100.10 and .11) and global (203.0.113.10) time servers, a national
    dnsmasq, the SPSE page and a national TCP anchor behind the router."""

    def __init__(self, tmp_path: Path):
        self.tmp = tmp_path
        self.topology = Topology(tmp_path)
        self.started: list = []
        try:
            self._start()
        except BaseException:
            self.close()
            raise

    def _keep(self, namespace, process):
        self.started.append(process)
        namespace.call(process.wait_ready)
        return process

    def _start(self) -> None:
        t = self.topology
        t.national.ip("addr", "add", f"{NATIONAL_2}/24", "dev", "uplink")
        for namespace, address in ((t.national, NATIONAL), (t.national, NATIONAL_2), (t.internet, INTERNET)):
            self._keep(namespace, ChronyServer(self.tmp / address, 123, host=address, allow="all",
                                               wrapper=["ip", "netns", "exec", namespace.name]))
        self._keep(t.national, Dnsmasq(self.tmp / "dnsmasq", {"go.id": NATIONAL}, 53, host=NATIONAL,
                                       wrapper=["ip", "netns", "exec", t.national.name]))
        t.serve(t.national, {"spse": [{"host": NATIONAL, "port": 80}], "tcp": [{"host": NATIONAL, "port": 443}]}, 900)
        self.lpse = ["ip", "netns", "exec", t.lpse.name]
        self.cmdport = free_port()
        self.chronyd = self.time_daemon([INTERNET])
        self.config = self.tmp / "spse.yml"
        self.config.write_text(yaml.safe_dump({
            # Timeouts a loaded machine keeps: the doctor's one round of each probe uses them too.
            "interval": "5s", "timeout": "4s",
            "targets": [{"name": "contoh", "url": f"http://{NATIONAL}/eproc4"}],
            "upstream": {"national": [f"tcp://{NATIONAL}:443"], "global": [f"ntp://{INTERNET}"]},
            "host_time": {"chronyc": self.chronyd.chronyc, "national_networks": ["198.51.100.0/24"],
                          "interval": "5s", "timeout": "4s"}}))
        # The shipped ports: the namespace is the host's own, and the doctor's defaults are what an operator runs.
        self.exporter = self._keep(t.lpse, ExporterProcess(self.config, wrapper=self.lpse, port=10040))
        am_dir = self.tmp / "am"
        am_dir.mkdir()
        self.alertmanager = self._keep(t.lpse, AlertmanagerProcess(
            render_alertmanager_config(am_dir, f"http://{NATIONAL}:8080/hook"), am_dir, wrapper=self.lpse, port=9093))
        (self.tmp / "secrets").mkdir()
        (self.tmp / "secrets" / "watcher_password").write_text("secret")
        prometheus_config = render_prometheus_config(
            self.tmp, self.exporter.address, self.alertmanager.address,
            rules_dir=compress_rules(self.tmp / "rules", SPEEDUP), scrape_interval="1s", evaluation_interval="1s",
            remote_write=f"https://{NATIONAL}:9443/api/v1/write")
        # Its watcher never answers: a send in flight when Prometheus stops would hold it for the 10 s remote_timeout.
        compress_remote_write(prometheus_config, SPEEDUP)
        self.prometheus = self._keep(t.lpse, PrometheusProcess(
            prometheus_config, self.tmp, ["--rules.alert.resend-delay=1s", "--storage.remote.flush-deadline=1s"],
            port=9090, wrapper=self.lpse))

    def time_daemon(self, sources: list[str]) -> ChronyClient:
        """The host's chronyd polling `sources` (on port 123), on the same command port each time it is restarted."""
        return self._keep(self.topology.lpse, ChronyClient(self.tmp / f"chronyd-{len(self.started)}", self.cmdport,
                                                           [f"{s} 123" for s in sources], wrapper=self.lpse))

    def restart_time_daemon(self, sources: list[str]) -> None:
        """What the runbook asks of an operator: edit chrony.conf, restart chronyd."""
        self.chronyd.stop()
        self.started.remove(self.chronyd)
        self.chronyd = self.time_daemon(sources)

    def doctor(self, *args: str) -> subprocess.CompletedProcess:
        resolv = self.tmp / "resolv.conf"
        resolv.write_text(f"nameserver {NATIONAL}\nnameserver {INTERNET_2}\n")
        return doctor(f"--config.file={self.config.name}", f"--resolv-conf={resolv}", *args,
                      wrapper=tuple(self.lpse), cwd=self.tmp)

    def query(self, expr: str) -> list[dict]:
        return self.topology.lpse.call(self.prometheus.query, expr)

    def at_risk_alerts(self) -> list[str]:
        return [r["metric"]["alertstate"] for r in self.query('ALERTS{alertname="SPSETimeSourcesAtRisk"}')]

    def reached(self) -> set[str]:
        return {r["metric"]["source"] for r in self.query("spse_host_time_source_reachable == 1")}

    def close(self) -> None:
        for process in self.started:
            if process.proc.poll() is None:
                process.proc.terminate()
        for process in reversed(self.started):
            process.stop()
        self.topology.close()


@pytest.fixture
def host(tmp_path):
    host = Host(tmp_path)
    yield host
    host.close()


@pytest.mark.skipif(bool(UNAVAILABLE), reason=UNAVAILABLE)
@pytest.mark.timeout(360)  # ~2.5 minutes on a loaded machine: the alert's 30 s `for`, then a 40 s hold past the cut
def test_a_host_timed_from_abroad_is_at_risk_and_national_sources_keep_its_clock_through_the_cut(host):
    # chronyd with only a global source: the doctor says so and what stops, and the alert fires before any cut.
    poll(lambda: host.reached() == {INTERNET}, 90, interval=1, what="the host's chronyd reaching its global source")
    result = host.doctor()
    assert result.returncode == 1, result
    out = result.stdout
    assert "Sumber waktu server SPSE (chrony): berisiko" in out
    assert "Semua sumber waktu yang terjangkau berada di jaringan internasional" in out
    assert f"- {INTERNET} (internasional): terjangkau" in out
    assert "Server DNS (resolver) yang dipakai server ini: baik" in out
    assert f"- {NATIONAL} (nasional): merespons" in out
    assert f"- {INTERNET_2} (tidak diketahui): tidak merespons dalam 5 detik" in out  # in no group of the config
    assert "SPSE contoh (http://198.51.100.10/eproc4): baik" in out
    assert f"ops-critical melalui webhook ke {NATIONAL} (nasional)" in out  # the doctor's default Alertmanager URL
    assert "notify-test melalui" not in out  # it repeats ops-critical
    assert f"watcher-a ke {NATIONAL} (nasional)" in out
    assert ("Jika konektivitas internasional terputus, yang akan berhenti adalah validasi waktu server SPSE (SPSE akan "
            "gagal seperti pada 4 April 2023).") in out
    assert "Hasil: 1 dari 7 pemeriksaan berisiko." in out
    english = host.doctor("--lang=en", "--json")
    report = json.loads(english.stdout)
    assert english.returncode == 1 and report["at_risk"] is True and report["lang"] == "en"
    assert [c["check"] for c in report["checks"] if c["at_risk"]] == ["time_sources"]
    assert report["global_loss"].startswith("If global connectivity were lost, the SPSE server's time validation")
    poll(lambda: host.at_risk_alerts() == ["firing"], 180, interval=1, what="SPSETimeSourcesAtRisk firing")

    # The runbook's remedy: two national sources added. The doctor finds nothing at risk; the alert ends and,
    # held past its `for`, does not come back.
    host.restart_time_daemon([NATIONAL, NATIONAL_2, INTERNET])
    poll(lambda: host.reached() == {NATIONAL, NATIONAL_2, INTERNET}, 90, interval=1, what="chronyd reaching all three")
    result = host.doctor()
    assert result.returncode == 0, result
    assert ("Jika konektivitas internasional terputus, tidak ada satu pun layanan yang diperiksa di sini yang diketahui "
            "akan berhenti.") in result.stdout
    assert "Hasil: semua 7 pemeriksaan baik." in result.stdout
    poll(lambda: host.at_risk_alerts() == [], 120, interval=1, what="SPSETimeSourcesAtRisk ended")

    # The metro router's change: international routes gone. The clock stays validated on the national sources.
    host.topology.cut_global()
    poll(lambda: host.reached() == {NATIONAL, NATIONAL_2}, 90, interval=1, what="chronyd losing its global source")

    def validated():
        assert host.at_risk_alerts() == [], "SPSETimeSourcesAtRisk after the cut with two national sources"
        synchronised = host.query("spse_host_time_synchronised")
        assert [r["value"][1] for r in synchronised] == ["1"], synchronised
    hold(40, validated)  # longer than the alert's 30 s `for` on this clock
    after_cut = host.doctor()
    assert "Sumber waktu server SPSE (chrony): baik" in after_cut.stdout
    assert f"- {INTERNET} (internasional): tidak terjangkau" in after_cut.stdout
