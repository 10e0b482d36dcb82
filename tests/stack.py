"""The real Prometheus and Alertmanager for tests: rendered configs, processes on loopback, a webhook receiver.

Tests use the shipped files under prometheus/, never a copy: `render_prometheus_config` only swaps
addresses, intervals and rule paths, and `compress_rules` / `render_alertmanager_config` run the
shipped rules and routing on a faster clock (every duration divided by the same factor).
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import yaml

from exporter import receivers
from tests.fakes import free_port
from tests.support import ROOT, ServerProcess, http_get

STACK_DIR = ROOT / "prometheus"
PROMETHEUS_BIN = "/usr/bin/prometheus"
ALERTMANAGER_BIN = "/usr/bin/prometheus-alertmanager"
EXPORTER_JOB = "spse-exporter"

DURATION_RE = re.compile(r"(\d+)(ms|s|m|h|d|w|y)")
UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000, "y": 31_536_000_000}
RANGE_RE = re.compile(r"\[([0-9a-z]+)(?::([0-9a-z]*))?\]")  # [5m] and subqueries [1h:5m]
OFFSET_RE = re.compile(r"\boffset\s+(-?)([0-9a-z]+)")


def scale_duration(text: str, factor: float) -> str:
    """'5m' / 15 -> '20s': a Prometheus duration divided by `factor`; a non-zero one stays 1ms or more."""
    parts = DURATION_RE.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"not a duration: {text!r}")
    total = sum(int(number) * UNIT_MS[unit] for number, unit in parts)
    ms = max(1, round(total / factor)) if total else 0
    return f"{ms // 1000}s" if ms % 1000 == 0 else f"{ms}ms"


def scale_expr(expr: str, factor: float) -> str:
    """Divide every range, subquery step and offset in a PromQL expression by `factor`."""
    def scale_range(match: re.Match) -> str:
        window, step = match.group(1), match.group(2)
        scaled = scale_duration(window, factor)
        if step is None:
            return f"[{scaled}]"
        return f"[{scaled}:{scale_duration(step, factor) if step else ''}]"

    expr = RANGE_RE.sub(scale_range, expr)
    return OFFSET_RE.sub(lambda m: f"offset {m.group(1)}{scale_duration(m.group(2), factor)}", expr)


def compress_rules(dest_dir: Path, factor: float, source_dir: Path = STACK_DIR / "rules") -> Path:
    """Copy the shipped rule files with `for:`, `keep_firing_for:`, ranges and offsets divided by `factor`.

    With a 15s production scrape interval and a 1s test interval, factor 15 replays the
    production behaviour 15 times faster: a `for: 2m` becomes 8s, an `increase(...[5m])` 20s.
    """
    dest_dir.mkdir(parents=True, exist_ok=True)
    for path in sorted(source_dir.glob("*.yml")):
        doc = yaml.safe_load(path.read_text())
        for group in doc["groups"]:
            if "interval" in group:
                group["interval"] = scale_duration(group["interval"], factor)
            for rule in group["rules"]:
                rule["expr"] = scale_expr(str(rule["expr"]), factor)
                for key in ("for", "keep_firing_for"):
                    if key in rule:
                        rule[key] = scale_duration(rule[key], factor)
        (dest_dir / path.name).write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))
    return dest_dir


def render_prometheus_config(tmp_dir: Path, exporter: str | None, alertmanager: str | list[str] | None = None,
                             prometheus: str | None = None, rules_dir: Path | None = None,
                             scrape_interval: str | None = None, evaluation_interval: str | None = None,
                             source: Path = STACK_DIR / "prometheus.yml",
                             remote_write: str | list[str] | None = None, door_vmagent: str | None = None,
                             door_mtail: str | None = None) -> Path:
    """Write the shipped prometheus.yml into `tmp_dir` with test addresses ("host:port") swapped in.

    Keeps every label and rule of the shipped file; a job whose address is None is dropped,
    and so is the alerting section when `alertmanager` is None (a list: every peer of a cluster). `source`
    is the site's file or the watcher's; `remote_write` (a write URL, or one per watcher replica) appends
    the shipped remote-write.yml's first entries, one per URL, as a site opting in does. `door_vmagent` and
    `door_mtail` are the watcher's remote-write door (docs/scaling.md).
    """
    config = yaml.safe_load(source.read_text())
    if remote_write:
        urls = [remote_write] if isinstance(remote_write, str) else remote_write
        writers = yaml.safe_load((STACK_DIR / "remote-write.yml").read_text())["remote_write"]
        config["remote_write"] = [{**writer, "url": url} for writer, url in zip(writers, urls)]
    if scrape_interval:
        config["global"]["scrape_interval"] = scrape_interval
    if evaluation_interval:
        config["global"]["evaluation_interval"] = evaluation_interval
    rules_base = rules_dir or source.parent / "rules"
    config["rule_files"] = [str(rules_base / Path(pattern).name) for pattern in config.get("rule_files", [])]
    alertmanagers = [alertmanager] if isinstance(alertmanager, str) else alertmanager
    addresses = {EXPORTER_JOB: exporter and [exporter], "prometheus": prometheus and [prometheus],
                 "alertmanager": alertmanagers, "door-vmagent": door_vmagent and [door_vmagent],
                 "door-mtail": door_mtail and [door_mtail]}
    jobs = []
    for job in config["scrape_configs"]:
        targets = addresses[job["job_name"]]
        if targets is None:
            continue
        job["static_configs"] = [{**job["static_configs"][0], "targets": targets}]
        jobs.append(job)
    config["scrape_configs"] = jobs
    if alertmanagers is None:
        config.pop("alerting", None)
    else:
        config["alerting"]["alertmanagers"] = [{"static_configs": [{"targets": alertmanagers}]}]
    path = tmp_dir / "prometheus.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def render_alertmanager_config(tmp_dir: Path, webhook_url: str, factor: float = 1,
                               source: Path = STACK_DIR / "alertmanager.yml", env: dict[str, str] | None = None) -> Path:
    """Write the shipped alertmanager.yml into `tmp_dir` with its receivers filled as docker compose does
    (`WEBHOOK_URL=webhook_url` and any other settings in `env`), every group_wait/group_interval/repeat_interval
    divided by `factor`; templates stay the shipped ones."""
    config, _ = receivers.render(source, {"WEBHOOK_URL": webhook_url, **(env or {})})
    routes = [config["route"]]
    while routes:
        route = routes.pop()
        for key in ("group_wait", "group_interval", "repeat_interval"):
            if key in route:
                route[key] = scale_duration(route[key], factor)
        routes.extend(route.get("routes", []))
    path = tmp_dir / "alertmanager.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True))
    return path


def compress_remote_write(path: Path, factor: float) -> None:
    """Divide the durations of every remote_write of the Prometheus config at `path` by `factor` (the queue's
    sizes stay): a site's remote write on the tests' faster clock."""
    config = yaml.safe_load(path.read_text())
    for writer in config["remote_write"]:
        writer["remote_timeout"] = scale_duration(writer["remote_timeout"], factor)
        writer["queue_config"] = {key: scale_duration(value, factor) if isinstance(value, str) else value
                                  for key, value in writer["queue_config"].items()}
    path.write_text(yaml.safe_dump(config, sort_keys=False))


class _Process(ServerProcess):
    """A Prometheus-family binary on a free port, logging to a file in `tmp_dir`; `wrapper` runs it
    through another command, e.g. ["ip", "netns", "exec", NS]."""

    def __init__(self, command: list[str], tmp_dir: Path, port: int, wrapper: list[str] = ()):
        super().__init__([*wrapper, *command], tmp_dir / f"{self.name}-{port}.log", port, cwd=tmp_dir)

    def get_json(self, path: str, **params) -> dict:
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        status, body, _ = http_get(f"{self.url}{path}{query}", headers=self.headers)
        assert status == 200, f"{self.name} {path}: {status} {body[:300]!r}"
        return json.loads(body)


class PrometheusProcess(_Process):
    """Debian's /usr/bin/prometheus with tmp storage; `port` lets a config scrape Prometheus itself."""

    name = "prometheus"

    def __init__(self, config_path: Path, tmp_dir: Path, extra_flags: list[str] = (), port: int | None = None,
                 host: str = "127.0.0.1", wrapper: list[str] = (), auth: tuple[str, str] | None = None):
        port = port or free_port()
        storage = tmp_dir / f"prometheus-data-{port}"
        self.host = host
        if auth:  # the basic auth user of a --web.config.file
            self.headers = {"Authorization": "Basic " + base64.b64encode(":".join(auth).encode()).decode()}
        super().__init__([PROMETHEUS_BIN, f"--config.file={config_path}", f"--storage.tsdb.path={storage}",
                          f"--web.listen-address={host}:{port}", "--log.level=warn", *extra_flags],
                         tmp_dir, port, wrapper)

    def query(self, expr: str) -> list[dict]:
        """The `result` list of /api/v1/query for `expr` at the current time."""
        return self.get_json("/api/v1/query", query=expr)["data"]["result"]


class AlertmanagerProcess(_Process):
    """Debian's /usr/bin/prometheus-alertmanager with tmp storage; clustering off unless `cluster` gives its
    --cluster.* flags. The same `port` again restarts a peer on its storage."""

    name = "alertmanager"

    def __init__(self, config_path: Path, tmp_dir: Path, extra_flags: list[str] = (), wrapper: list[str] = (),
                 cluster: list[str] = ("--cluster.listen-address=",), port: int | None = None):
        port = port or free_port()
        storage = tmp_dir / f"alertmanager-data-{port}"
        super().__init__([ALERTMANAGER_BIN, f"--config.file={config_path}", f"--storage.path={storage}",
                          f"--web.listen-address=127.0.0.1:{port}", *cluster,
                          "--log.level=warn", *extra_flags], tmp_dir, port, wrapper)

    def alerts(self, **filters) -> list[dict]:
        """/api/v2/alerts (active, silenced and inhibited by default)."""
        return self.get_json("/api/v2/alerts", **filters)

    def post_alerts(self, label_sets: list[dict]) -> None:
        """Send firing alerts with these labels, as Prometheus would."""
        body = json.dumps([{"labels": labels} for labels in label_sets]).encode()
        request = urllib.request.Request(f"{self.url}/api/v2/alerts", data=body, method="POST",
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=5) as response:
            assert response.status == 200, response.status


class WebhookReceiver:
    """Records every Alertmanager webhook payload with the monotonic time it arrived."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        self._lock = threading.Lock()
        self._received: list[tuple[float, dict]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver._lock:
                    receiver._received.append((time.monotonic(), json.loads(body)))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format, *args):
                pass

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.url = f"http://{host}:{self.server.server_address[1]}/"
        threading.Thread(target=self.server.serve_forever, daemon=True, name="webhook").start()

    @property
    def received(self) -> list[tuple[float, dict]]:
        """(arrival time, payload) pairs in arrival order."""
        with self._lock:
            return list(self._received)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class VictoriaMetricsProcess(_Process):
    """A binary of Debian's victoria-metrics package (victoria-metrics, vmagent, vmalert, vmauth) on a free
    loopback port, its state under `tmp_dir`; ready once /health answers."""

    ready_path = "/health"

    def __init__(self, binary: str, flags: list[str], tmp_dir: Path, port: int | None = None):
        self.name = binary
        port = port or free_port()
        super().__init__([f"/usr/bin/{binary}", f"-httpListenAddr=127.0.0.1:{port}", *flags], tmp_dir, port)

    def query(self, expr: str) -> list[dict]:
        """The `result` list of the Prometheus query API (single node or vmselect) for `expr` now; nocache=1:
        the response cache must not hide the newest samples."""
        return self.get_json("/api/v1/query", query=expr, nocache=1)["data"]["result"]

    def metrics(self) -> str:
        status, body, _ = http_get(f"{self.url}/metrics")
        assert status == 200, f"{self.name} /metrics: {status}"
        return body.decode()
