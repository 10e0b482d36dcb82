"""The watcher's remote-write door (prometheus/watcher/door/): the shipped nginx.conf and vmagent.args, run with
Debian's nginx and vmagent in front of a real watcher Prometheus, refuse or limit a misbehaving site by name.

    site Prometheus (kutaibarat, shipped remote-write.yml over TLS) --\\
    vmagent as a misbehaving writer (samarinda) ------------------------> nginx (door) -> vmagent (door) -> Prometheus

A writer that misbehaves is a vmagent fed Prometheus text (/api/v1/import/prometheus), which it remote-writes
through the door as a site would: any series, labels and timestamps the test wants, in real remote-write requests.
"""

from __future__ import annotations

import base64
import http.client
import re
import ssl
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import subprocess

import bcrypt
import pytest
import yaml

from tests.fakes import FakeSPSE, free_port
from tests.real_servers import NGINX, Nginx
from tests.stack import STACK_DIR, PrometheusProcess, VictoriaMetricsProcess, render_prometheus_config
from tests.support import ROOT, ExporterProcess, ServerProcess, http_get, parse_metrics, poll
from tests.unit.test_compose import bind_mounts, host_path, ports
from tests.integration.test_dockerfile import arguments, exec_form
from tests.integration.test_watcher import REPLICAS, watcher_stack  # noqa: F401 (a fixture)

pytestmark = pytest.mark.timeout(240)

DOOR_DIR = STACK_DIR / "watcher" / "door"
DOOR_RULES = STACK_DIR / "watcher" / "rules" / "door.yml"  # rendered from prometheus/mixin/watcher-door.yml
GOOD, BAD = "kutaibarat", "samarinda"
PASSWORDS = {GOOD: "good-site-password", BAD: "bad-site-password", "door": "door-password"}
SERIES_CAP = 300  # the door's -remoteWrite.maxHourlySeries here: the good site's series fit, a flood does not


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def render_nginx_door(tmp: Path, port: int, vmagent: str, cert: Path, key: Path, htpasswd: Path) -> str:
    """The shipped nginx.conf with the test's addresses and files; nothing else changes."""
    text = (DOOR_DIR / "nginx.conf").read_text()
    swaps = {"listen 9091 ssl;": f"listen 127.0.0.1:{port} ssl;", "server 127.0.0.1:8429;": f"server {vmagent};",
             "/etc/nginx/secrets/watcher.crt": str(cert), "/etc/nginx/secrets/watcher.key": str(key),
             "/etc/nginx/secrets/watcher-door.htpasswd": str(htpasswd),
             "/var/log/nginx/watcher-door.log": str(tmp / "door-access.log")}
    for old, new in swaps.items():
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return text


def shipped_args(name: str) -> list[str]:
    """door/<name>.args' flags, as the native door runs them and the watcher's compose file lists them."""
    return [line for line in (DOOR_DIR / name).read_text().splitlines() if line and not line.startswith("#")]


def door_vmagent_args(tmp: Path, watcher: str, password_file: Path) -> list[str]:
    """The shipped vmagent.args with the test's addresses, files and a small series cap."""
    args = shipped_args("vmagent.args")
    swaps = {"-remoteWrite.url": f"http://{watcher}/api/v1/write",
             "-remoteWrite.basicAuth.passwordFile": str(password_file),
             "-remoteWrite.tmpDataPath": str(tmp / "door-queue"), "-remoteWrite.maxHourlySeries": str(SERIES_CAP),
             "-remoteWrite.maxDailySeries": str(2 * SERIES_CAP),
             "-remoteWrite.relabelConfig": str(DOOR_DIR / "relabel.yml")}
    rendered = []
    for arg in args:
        name, _, value = arg.partition("=")
        if name == "-httpListenAddr":
            continue  # VictoriaMetricsProcess picks a free port
        rendered.append(f"{name}={swaps.pop(name, value)}")
    assert not swaps, swaps
    return rendered


def door_mtail_args(log: Path, port: int) -> list[str]:
    """The shipped mtail.args with the test's access log and port; its programs are the shipped door directory."""
    swaps = {"-progs": str(DOOR_DIR), "-logs": str(log), "-port": str(port)}
    rendered = []
    for arg in shipped_args("mtail.args"):
        name, _, value = arg.partition("=")
        rendered.append(f"{name}={swaps.pop(name)}" if name in swaps else arg)
    assert not swaps, swaps
    return rendered


class Mtail(ServerProcess):
    """Debian's mtail with the shipped mtail.args over the door's access log."""

    name = "mtail"
    ready_path = "/metrics"

    def __init__(self, tmp: Path, log: Path, port: int):
        super().__init__(["/usr/bin/mtail", *door_mtail_args(log, port)], tmp / "mtail.log", port)

    def requests(self, site: str, status: int) -> float:
        """watcher_door_requests_total of `site` answered `status`."""
        _, body, _ = http_get(f"{self.url}/metrics")
        return parse_metrics(body.decode()).get_value("watcher_door_requests_total", site=site, status=str(status)) or 0


class Door:
    """The watcher's Prometheus behind the shipped door, the good site writing through it."""

    def __init__(self, tmp: Path, ca, spse: FakeSPSE, processes: list):
        self.tmp, self.processes = tmp, processes
        cert = ca.issue_cert("127.0.0.1")
        cert_path, key_path, self.ca_path = tmp / "door.crt", tmp / "door.key", tmp / "ca.pem"
        cert.cert_chain_pems[0].write_to_path(str(cert_path))
        cert.private_key_pem.write_to_path(str(key_path))
        ca.cert_pem.write_to_path(str(self.ca_path))

        web = tmp / "web.yml"  # the watcher's web config: only the door writes, and the test reads, as `door`
        web.write_text(yaml.safe_dump({"basic_auth_users": {"door": bcrypt.hashpw(PASSWORDS["door"].encode(),
                                                                                   bcrypt.gensalt(4)).decode()}}))
        # It scrapes its door's vmagent and mtail, as the shipped prometheus.yml does at 127.0.0.1:8429 and :3903.
        vmagent_port, mtail_port = free_port(), free_port()
        config = render_prometheus_config(tmp, exporter=None, source=STACK_DIR / "watcher" / "prometheus.yml",
                                          scrape_interval="1s", evaluation_interval="1s",
                                          door_vmagent=f"127.0.0.1:{vmagent_port}", door_mtail=f"127.0.0.1:{mtail_port}")
        self.watcher = self._start(PrometheusProcess(config, tmp, ["--web.enable-remote-write-receiver",
                                                                   f"--web.config.file={web}"],
                                                     auth=("door", PASSWORDS["door"])))
        password_file = tmp / "door_password"
        password_file.write_text(PASSWORDS["door"])
        self.vmagent = self._start(VictoriaMetricsProcess(
            "vmagent", door_vmagent_args(tmp, self.watcher.address, password_file), tmp, vmagent_port))
        htpasswd = tmp / "door.htpasswd"
        htpasswd.write_text("".join(f"{user}:{bcrypt.hashpw(PASSWORDS[user].encode(), bcrypt.gensalt(5)).decode()}\n"
                                    for user in (GOOD, BAD)))
        self.port = free_port()
        self.nginx = self._start(Nginx(tmp / "nginx", render_nginx_door(
            tmp, self.port, self.vmagent.address, cert_path, key_path, htpasswd), free_port()))
        self.url = f"https://127.0.0.1:{self.port}/api/v1/write"
        self.access_log = tmp / "door-access.log"
        self.mtail = self._start(Mtail(tmp, self.access_log, mtail_port))
        probe = tmp / "spse.yml"
        probe.write_text(yaml.safe_dump({"interval": "1s", "timeout": "800ms",
                                         "targets": [{"name": GOOD, "url": spse.url}]}))
        exporter = self._start(ExporterProcess(probe))
        self.site = self._start_site(tmp / "site", exporter.address)

    def _start(self, process):
        self.processes.append(process)
        process.wait_ready()
        return process

    def _start_site(self, directory: Path, exporter: str) -> PrometheusProcess:
        """The good site: the shipped site config and remote-write.yml, its writer pointed at the door."""
        directory.mkdir()
        path = render_prometheus_config(directory, exporter=exporter, scrape_interval="1s", evaluation_interval="1s",
                                        remote_write=self.url)
        config = yaml.safe_load(path.read_text())
        config["remote_write"][0]["tls_config"] = {"ca_file": str(self.ca_path)}  # the commented-out own-CA case
        config["remote_write"][0]["queue_config"]["batch_send_deadline"] = "1s"
        config["rule_files"] = []
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        (directory / "secrets").mkdir()
        (directory / "secrets" / "watcher_password").write_text(PASSWORDS[GOOD])
        return self._start(PrometheusProcess(path, directory))

    def writer(self, user: str, password: str) -> VictoriaMetricsProcess:
        """A vmagent that remote-writes whatever the test imports into it through the door as `user`."""
        directory = self.tmp / f"writer-{user}-{len(self.processes)}"
        directory.mkdir()
        return self._start(VictoriaMetricsProcess("vmagent", [
            f"-remoteWrite.url={self.url}", f"-remoteWrite.basicAuth.username={user}",
            f"-remoteWrite.basicAuth.password={password}", f"-remoteWrite.tlsCAFile={self.ca_path}",
            f"-remoteWrite.tmpDataPath={directory}", "-remoteWrite.flushInterval=100ms"], directory))

    def post(self, headers: dict[str, str], body: bytes = b"x") -> int:
        """Status of one remote-write request to the door over its TLS, from 127.0.0.2: nginx limits each client
        address as well, and the good site writes from 127.0.0.1, as two sites write from two addresses."""
        context = ssl.create_default_context(cafile=str(self.ca_path))
        connection = http.client.HTTPSConnection("127.0.0.1", self.port, timeout=30, context=context,
                                                 source_address=("127.0.0.2", 0))
        try:
            connection.request("POST", "/api/v1/write", body=body, headers={
                "Content-Type": "application/x-protobuf", "Content-Encoding": "snappy", **headers})
            response = connection.getresponse()
            response.read()
            return response.status
        finally:
            connection.close()

    def newest(self) -> float:
        """Timestamp of the good site's newest `up` sample at the watcher."""
        return float(self.query(f'timestamp(up{{site="{GOOD}",job="spse-exporter"}})')[0]["value"][1])

    def access(self, site: str) -> list[int]:
        """HTTP statuses the door answered `site`, in order."""
        log = self.access_log.read_text()
        return [int(status) for status in re.findall(rf'^site="{site}" status=(\d+) ', log, re.M)]

    def query(self, expr: str) -> list[dict]:
        return self.watcher.query(expr)


def import_text(writer: VictoriaMetricsProcess, lines: list[str]) -> None:
    status, body, _ = http_get(f"{writer.url}/api/v1/import/prometheus", method="POST", data="\n".join(lines).encode())
    assert status == 204, body


@pytest.fixture(scope="module")
def door(tmp_path_factory, ca):
    processes: list = []
    spse = FakeSPSE()
    try:
        door = Door(tmp_path_factory.mktemp("door"), ca, spse, processes)
        poll(lambda: door.query(f'up{{site="{GOOD}",vantage="site"}}'), 60, 0.5,
             "the good site's series at the watcher")
        yield door
    finally:
        for process in reversed(processes):
            process.stop()
        spse.close()


def test_a_wrong_password_is_refused_and_logged_with_the_site(door):
    assert http_get(door.url.replace("https", "http", 1), method="POST", data=b"x")[0] == 400  # no TLS: refused
    assert door.post(basic(BAD, "guess")) == 401
    assert f'user "{BAD}": password mismatch' in door.nginx.error_log.read_text()
    poll(lambda: 401 in door.access(BAD), 10, 0.1, "the 401 in the access log")  # written after the answer
    poll(lambda: door.mtail.requests(BAD, 401) >= 1, 10, 0.2, "watcher_door_requests_total of the 401")


def test_a_site_cannot_write_under_another_sites_name(door):
    """samarinda writes series labelled site="kutaibarat", and one with a forged door_site: all land as samarinda's."""
    writer = door.writer(BAD, PASSWORDS[BAD])
    import_text(writer, [f'spse_http_probe_success{{site="{GOOD}",vantage="site",target="forged"}} 0',
                         f'spse_http_probe_success{{door_site="{GOOD}",vantage="site",target="forged2"}} 0'])
    poll(lambda: len(door.query('spse_http_probe_success{target=~"forged.*"}')) == 2, 30, 0.5, "the forged series")
    assert {series["metric"]["site"] for series in door.query('spse_http_probe_success{target=~"forged.*"}')} == {BAD}
    assert door.query('{door_site!=""}') == []


def test_the_watcher_scrapes_its_door_and_the_counts_name_the_site(door):
    """The watcher's Prometheus scrapes the door's mtail and vmagent (the shipped jobs door-mtail, door-vmagent): a
    refusal arrives under the refused site's name, the good site's writes under its own, and the latch that arms
    WatcherDoorDown (rules/door.yml, run by this Prometheus) is set for both parts once they answered."""
    def at_watcher(site: str, status: int) -> float:
        found = door.query(f'watcher_door_requests_total{{job="door-mtail",site="{site}",status="{status}"}}')
        return float(found[0]["value"][1]) if found else 0

    for _ in range(2):  # the second after the watcher has the first: an increase, which WatcherDoorRefusing reads
        assert door.post(basic(BAD, "guess")) == 401
        poll(lambda: at_watcher(BAD, 401) == door.mtail.requests(BAD, 401) >= 1, 30, 0.5,
             "the 401 of samarinda at the watcher")
    poll(lambda: at_watcher(GOOD, 204) > 0, 30, 0.5, "kutaibarat's taken writes at the watcher")
    assert at_watcher(GOOD, 401) == 0
    (cap,) = door.query('vmagent_hourly_series_limit_max_series{job="door-vmagent",vantage="watcher"}')
    assert float(cap["value"][1]) == SERIES_CAP
    poll(lambda: {seen["metric"]["job"] for seen in door.query("watcher:door_part_seen")} == {"door-vmagent", "door-mtail"},
         30, 0.5, "watcher:door_part_seen of both parts")
    # The refused site, and only it, is on its way to WatcherDoorRefusing (pending: `for` is minutes); the door answers.
    poll(lambda: door.query(f'ALERTS{{alertname="WatcherDoorRefusing",site="{BAD}",status="401"}}'), 30, 0.5,
         "WatcherDoorRefusing of samarinda's 401s at the watcher")
    assert door.query(f'ALERTS{{alertname="WatcherDoorRefusing",site="{GOOD}"}}') == []
    assert door.query('ALERTS{alertname="WatcherDoorDown"}') == []


def door_alert(name: str) -> dict:
    """The shipped rule of the door's alert `name`."""
    (rule,) = [rule for group in yaml.safe_load(DOOR_RULES.read_text())["groups"] for rule in group["rules"]
               if rule.get("alert") == name]
    return rule


def keeps_writing(door: Door, since: float) -> float:
    """Wait until the good site's samples stamped after `since` reach the watcher; how long that took."""
    poll(lambda: door.newest() > since, 30, 0.2, "the good site's newest samples at the watcher")
    return time.time() - since


def test_a_site_over_its_request_rate_waits_and_the_others_do_not(door):
    """60 requests at once from samarinda: past its burst nginx answers 503, which Prometheus retries (named in the
    access log), while kutaibarat's writes in the same seconds all go through. One request over the size limit: 413."""
    good_before = len(door.access(GOOD))
    # At once, as the docstring says: sent one after another on a loaded machine they can be slow enough (a TLS
    # handshake each) for the 10 requests/s to refill the burst, and no 503 would come.
    with ThreadPoolExecutor(20) as pool:
        statuses = list(pool.map(lambda _: door.post(basic(BAD, PASSWORDS[BAD])), range(60)))
    assert statuses.count(503) >= 10 and set(statuses) <= {400, 503}, statuses  # 400: vmagent refuses the junk body
    since = time.time()
    keeps_writing(door, since)
    poll(lambda: door.access(BAD)[-60:].count(503) == statuses.count(503), 10, 0.1, "every 503 in the access log")
    assert set(door.access(GOOD)[good_before:]) == {204}
    assert door.post(basic(BAD, PASSWORDS[BAD]), b"x" * (5 << 20)) == 413
    poll(lambda: door.access(BAD)[-1] == 413, 10, 0.1, "the 413 in the access log")
    poll(lambda: door.mtail.requests(BAD, 503) == statuses.count(503) and door.mtail.requests(BAD, 413) == 1, 10, 0.2,
         "watcher_door_requests_total of the 503s and the 413")
    assert door.mtail.requests(GOOD, 503) == 0 and door.mtail.requests(GOOD, 204) > 0


def test_a_sample_stamped_hours_ahead_does_not_stop_the_watcher_taking_the_others(door):
    """A site whose clock runs 3 hours ahead: the watcher's out_of_order_time_window keeps taking every other
    site's samples (without it, see the next test, it refuses them all as out of bounds)."""
    writer = door.writer(BAD, PASSWORDS[BAD])
    import_text(writer, [f"clock_ahead 1 {int((time.time() + 3 * 3600) * 1000)}"])
    poll(lambda: door.watcher.get_json("/api/v1/query", query="clock_ahead", time=str(time.time() + 3 * 3600 + 60))
         ["data"]["result"], 30, 0.5, "the sample from 3 hours ahead at the watcher")
    keeps_writing(door, time.time())
    assert "out of bounds" not in door.watcher.logs()


def test_without_the_window_a_sample_from_hours_ahead_stops_the_watcher_taking_the_others(tmp_path, start_prometheus):
    """Control for the test above: the watcher's config without its storage section, written to directly."""
    config = render_prometheus_config(tmp_path, exporter=None, source=STACK_DIR / "watcher" / "prometheus.yml")
    text = yaml.safe_load(config.read_text())
    assert text.pop("storage") == {"tsdb": {"out_of_order_time_window": "1d"}}
    config.write_text(yaml.safe_dump(text))
    watcher = start_prometheus(config, ["--web.enable-remote-write-receiver"])
    writer = VictoriaMetricsProcess("vmagent", [f"-remoteWrite.url={watcher.url}/api/v1/write",
                                                f"-remoteWrite.tmpDataPath={tmp_path / 'queue'}",
                                                "-remoteWrite.flushInterval=100ms"], tmp_path)
    try:
        writer.wait_ready()
        import_text(writer, [f"clock_ahead 1 {int((time.time() + 3 * 3600) * 1000)}"])
        poll(lambda: watcher.get_json("/api/v1/query", query="clock_ahead", time=str(time.time() + 3 * 3600 + 60))
             ["data"]["result"], 30, 0.5, "the sample from 3 hours ahead at the watcher")
        import_text(writer, [f'up{{site="{GOOD}"}} 1'])
        poll(lambda: "out of bounds" in watcher.logs(), 30, 0.5, "the current sample refused")
        assert watcher.query(f'up{{site="{GOOD}"}}') == []
    finally:
        writer.stop()


def test_a_flood_of_new_series_is_capped_and_named_while_the_good_site_keeps_writing(door):
    """Last of the door's tests: it fills the door's series cap, so no later test could add a series."""
    writer = door.writer(BAD, PASSWORDS[BAD])
    quiet_delay = keeps_writing(door, time.time())  # the same measure with no flood, for the printed comparison
    # Negative control: the well-behaved door's cap, scraped by the watcher, in use but not nearly full.
    cap_full = door_alert("WatcherDoorSeriesCapNearlyFull")["expr"]
    (in_use,) = door.query('vmagent_hourly_series_limit_current_series{job="door-vmagent"}'
                           ' / vmagent_hourly_series_limit_max_series{job="door-vmagent"}')
    assert float(in_use["value"][1]) > 0 and door.query(cap_full) == [], in_use
    began = time.time()
    for round_number in range(3):  # 3 x 2,000 new series, as fast as the writer takes them
        import_text(writer, [f'flood_series{{round="{round_number}",n="{n}"}} 1' for n in range(2000)])
    poll(lambda: "vmagent_hourly_series_limit_rows_dropped_total 0\n" not in door.vmagent.metrics(), 30, 0.5,
         "series over the cap dropped")
    delay = keeps_writing(door, time.time())
    print(f"flood: 6,000 new series in {time.time() - began:.1f} s; the good site's next sample arrived "
          f"{delay:.1f} s later (without a flood: {quiet_delay:.1f} s)")
    # what came through the door, and the watcher's own few (rule results); its scrapes of the door aside
    assert float(door.query('count({__name__=~".+",job!~"door-vmagent|door-mtail"})')[0]["value"][1]) <= SERIES_CAP + 50
    assert re.search(rf'skip series {{__name__="flood_series",.*site="{BAD}"}} because -remoteWrite.maxHourlySeries',
                     door.vmagent.logs())
    assert len(door.query(f'up{{site="{GOOD}"}}')) == 1  # the good site's series that existed still flow
    # The flood as the watcher sees it: the shipped alert's expression is true and this Prometheus has the alert.
    poll(lambda: door.query(cap_full), 30, 0.5, "WatcherDoorSeriesCapNearlyFull's expression at the watcher")
    assert {series["metric"]["limit"] for series in door.query(cap_full)} >= {"hourly"}
    poll(lambda: door.query('ALERTS{alertname="WatcherDoorSeriesCapNearlyFull",limit="hourly"}'), 30, 0.5,
         "WatcherDoorSeriesCapNearlyFull pending or firing at the watcher")


def test_a_door_part_that_stops_answering_starts_watcherdoordown_for_it_alone(door):
    """After the others (it stops the door's mtail): the watcher's scrape of it fails, and the shipped rule, which
    has seen it answer, starts WatcherDoorDown for mtail (pending: `for` is minutes), not for vmagent."""
    door.mtail.stop()
    poll(lambda: door.query('ALERTS{alertname="WatcherDoorDown",job="door-mtail"}'), 30, 0.5,
         "WatcherDoorDown of the stopped mtail at the watcher")
    assert door.query('ALERTS{alertname="WatcherDoorDown",job="door-vmagent"}') == []


def installed_version(command: list[str]) -> str:
    output = subprocess.run(command, capture_output=True, text=True, timeout=30)
    return re.search(r"(\d+\.\d+\.\d+)", output.stdout + output.stderr).group(1)


@pytest.mark.parametrize("replica", REPLICAS)
def test_compose_runs_this_tests_door_beside_each_replica(watcher_stack, replica):  # noqa: F811 (the fixture)
    """docker-compose.watcher.yml's door is the one tested above: the same nginx.conf, relabel.yml and vmagent
    flags, the same nginx and vmagent versions, in the replica's network namespace so that its 127.0.0.1
    addresses (nginx -> vmagent :8429 -> Prometheus :9090) are the ones the files name."""
    nginx, vmagent = watcher_stack[f"door-nginx-{replica}"], watcher_stack[f"door-vmagent-{replica}"]
    prometheus = watcher_stack[f"prometheus-{replica}"]
    for service in (nginx, vmagent):
        assert service["network_mode"] == f"service:prometheus-{replica}"
        for source, target, read_only in bind_mounts(service):
            assert source.exists() and read_only, (source, target)
    assert nginx["image"] == f"nginx:{installed_version([str(NGINX), '-v'])}"
    # Debian's vmagent prints no version of its own (-version is empty): its package's is the one
    vmagent_version = installed_version(["dpkg-query", "-W", "-f=${Version}", "victoria-metrics"])
    assert vmagent["image"] == f"victoriametrics/vmagent:v{vmagent_version}"

    assert host_path(nginx, "/etc/nginx/conf.d/watcher-door.conf") == DOOR_DIR / "nginx.conf"
    conf = (DOOR_DIR / "nginx.conf").read_text()
    for secret in re.findall(r"(/etc/nginx/secrets/\S+);", conf):  # the operator's files, from ./secrets
        assert host_path(nginx, secret) == ROOT / "secrets" / Path(secret).name
    log_dir = str(Path(re.search(r"access_log (\S+) ", conf).group(1)).parent)
    assert [volume for volume in nginx["volumes"] if volume.split(":")[1] == log_dir][0].startswith("watcher-door-")

    assert vmagent["command"] == shipped_args("vmagent.args")
    flags = dict(arg.split("=", 1) for arg in vmagent["command"])
    assert host_path(vmagent, flags["-remoteWrite.relabelConfig"]) == DOOR_DIR / "relabel.yml"
    assert host_path(vmagent, flags["-remoteWrite.basicAuth.passwordFile"]) == ROOT / "secrets/watcher_door_password"
    assert f"watcher-door-{replica}-queue:{flags['-remoteWrite.tmpDataPath']}:rw" in vmagent["volumes"]

    # The door's port (nginx.conf's listen) is published by the replica whose namespace it shares, to everyone.
    listen = int(re.search(r"listen (\d+) ssl;", conf).group(1))
    assert [host for host, _, target in ports(prometheus) if target == listen] == [""]


@pytest.mark.parametrize("replica", REPLICAS)
def test_compose_runs_this_tests_mtail_beside_each_replica(watcher_stack, replica):  # noqa: F811 (the fixture)
    """door-mtail-<replica> runs mtail.args' flags, as the tests above, over its own door's access log (nginx's log
    volume), in the replica's network namespace: the replica's jobs door-mtail and door-vmagent (prometheus.yml,
    127.0.0.1) are its own door's, and no two listeners of one namespace share a port."""
    mtail, nginx, vmagent = (watcher_stack[f"door-{part}-{replica}"] for part in ("mtail", "nginx", "vmagent"))
    assert mtail["network_mode"] == f"service:prometheus-{replica}"
    assert mtail["command"] == shipped_args("mtail.args")
    flags = dict(arg.split("=", 1) for arg in mtail["command"] if "=" in arg)
    assert host_path(mtail, flags["-progs"]) == DOOR_DIR
    for source, target, read_only in bind_mounts(mtail):
        assert source.exists() and read_only, (source, target)
    conf = (DOOR_DIR / "nginx.conf").read_text()
    access_log = re.search(r"access_log (\S+) ", conf).group(1)
    log_dir = str(Path(access_log).parent)
    assert flags["-logs"] == access_log
    assert f"watcher-door-{replica}-log:{log_dir}:ro" in mtail["volumes"]
    assert f"watcher-door-{replica}-log:{log_dir}:rw" in nginx["volumes"]
    assert mtail["read_only"] is True and mtail["cap_drop"] == ["ALL"]

    vmagent_flags = dict(arg.split("=", 1) for arg in vmagent["command"])
    jobs = {job["job_name"]: job["static_configs"][0]["targets"]
            for job in yaml.safe_load((STACK_DIR / "watcher" / "prometheus.yml").read_text())["scrape_configs"]}
    assert jobs["door-mtail"] == [f"{flags['-address']}:{flags['-port']}"]
    assert jobs["door-vmagent"] == [vmagent_flags["-httpListenAddr"]]
    in_namespace = {name for name, service in watcher_stack.items()
                    if service.get("network_mode") == f"service:prometheus-{replica}"}
    assert in_namespace == {f"door-{part}-{replica}" for part in ("nginx", "vmagent", "mtail")}
    listeners = [9090,  # the replica's Prometheus (its default --web.listen-address)
                 int(re.search(r"listen (\d+) ssl;", conf).group(1)),
                 int(vmagent_flags["-httpListenAddr"].rsplit(":", 1)[1]), int(flags["-port"])]
    assert len(set(listeners)) == len(listeners), listeners

    dockerfile = Path(mtail["build"]["context"]) / mtail["build"]["dockerfile"]
    assert dockerfile == DOOR_DIR / "mtail.Dockerfile"


def test_the_mtail_image_is_debians_package_at_the_version_the_tests_run():
    """The compose door's mtail is built from the Debian release and mtail package this machine runs."""
    dockerfile = DOOR_DIR / "mtail.Dockerfile"
    debian = Path("/etc/debian_version").read_text().strip()
    assert arguments("FROM", dockerfile) == [f"debian:{debian}-slim"]
    mtail = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "mtail"], capture_output=True, text=True, timeout=30)
    (install,) = [run for run in arguments("RUN", dockerfile) if "apt-get install" in run]
    assert f"mtail={mtail.stdout}" in install.split(), (install, mtail.stdout)
    assert exec_form(arguments("ENTRYPOINT", dockerfile)[0]) == ["/usr/bin/mtail"]
    assert arguments("USER", dockerfile) != [] and not arguments("USER", dockerfile)[0].startswith("0")
