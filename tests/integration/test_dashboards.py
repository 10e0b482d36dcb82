"""The Grafana dashboards: generated JSON is current, lint rules hold, Grafana's schema types accept them,
and every query returns series from a real Prometheus that scraped the real exporter probing a fake world.
"""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

import pytest
import yaml

from exporter import formatting
from exporter.metrics import FAMILIES
from tests.fakes import FakeDNS, FakeNTP, free_port
from tests.stack import EXPORTER_JOB, STACK_DIR, PrometheusProcess, compress_rules, render_prometheus_config
from tests.support import ROOT, http_get, poll

DASHBOARD_DIR = ROOT / "grafana" / "dashboards"
DASHBOARD_FILES = sorted(DASHBOARD_DIR.glob("*.json"))
WATCHER_DASHBOARD = DASHBOARD_DIR / "spse-watcher.json"  # runs on the watcher's Prometheus (docker-compose.watcher.yml)
NATIONAL_DASHBOARD = DASHBOARD_DIR / "spse-national.json"  # the watcher's too: every site, by province and time zone
WATCHER_DASHBOARDS = [WATCHER_DASHBOARD, NATIONAL_DASHBOARD]
SITE_DASHBOARDS = [path for path in DASHBOARD_FILES if path not in WATCHER_DASHBOARDS]
# The variables each dashboard filters by: a site and its targets, or (national) a province and a time zone.
FILTERS = {path: ("site", "target") for path in DASHBOARD_FILES} | {NATIONAL_DASHBOARD: ("province", "timezone")}
SCHEMA_DIR = ROOT / "tests" / "dashboard-schema"
TSC = SCHEMA_DIR / "node_modules" / ".bin" / "tsc"
DS_VARIABLE = {"type": "prometheus", "uid": "${datasource}"}
# Series Prometheus itself makes: alert states and the scrape health of the exporter job.
PROMETHEUS_SERIES = {"ALERTS", "up"}
PROMQL_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless",
                   "offset", "inf", "nan"}
RATE_FUNCTIONS = re.compile(r"\b(rate|irate|increase)\s*\(")
# Labels whose codes people should read as words (exporter/formatting.py's tables), the words in `<label>_words`.
WORDS = {"reason": formatting.REASONS, "group": formatting.GROUP_WORDS, "severity": formatting.SEVERITY_WORDS,
         "cause": {lang: {code: formatting.cause(code, lang) for code in [*formatting.CAUSE_LINKS, "none"]}
                   for lang in formatting.LANGUAGES}}
# On the watcher's dashboards `cause` is watcher:site_cause's merged cause: its own codes, and the site's in words.
WATCHER_WORDS = {**WORDS, "cause": formatting.MERGED_CAUSE_WORDS}


def words_of(path: Path) -> dict[str, dict[str, dict[str, str]]]:
    return WATCHER_WORDS if path in WATCHER_DASHBOARDS else WORDS


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def query_panels(dashboard: dict) -> list[dict]:
    """Every panel that runs queries: all but rows and text panels, including panels inside collapsed rows."""
    found = []
    for item in dashboard["panels"]:
        found.extend(item.get("panels", []) if item["type"] == "row" else [item])
    return [panel for panel in found if panel["type"] != "text"]


def queries(dashboard: dict) -> list[tuple[str, dict]]:
    """(where, target) for every panel target and every datasource annotation of the dashboard."""
    found = [(f'panel {p["id"]} "{p["title"]}"', t) for p in query_panels(dashboard) for t in p["targets"]]
    found += [(f'annotation "{a["name"]}"', a["target"]) for a in dashboard["annotations"]["list"]
              if not a.get("builtIn")]
    return found


def metric_names(expr: str) -> set[str]:
    """Metric names a PromQL expression selects: identifiers that are not functions, keywords or labels."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    text = re.sub(r"\{[^}]*\}", " ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    text = re.sub(r"\b\d[\w.]*", " ", text)  # numbers and durations
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    names = set()
    for match in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", text):
        is_call = text[match.end():].lstrip().startswith("(")
        if not is_call and match.group(0).lower() not in PROMQL_KEYWORDS:
            names.add(match.group(0))
    return names


def produced_metrics() -> set[str]:
    """What the exporter serves (exporter/metrics.py) and what the shipped recording rules record."""
    names = {f.name for f in FAMILIES}
    names |= {f"{f.name}{suffix}" for f in FAMILIES if f.type == "histogram"
              for suffix in ("_bucket", "_sum", "_count")}
    for path in sorted(STACK_DIR.glob("**/rules/*.yml")):  # the site's rules and the watcher's
        for group in yaml.safe_load(path.read_text())["groups"]:
            names |= {rule["record"] for rule in group["rules"] if "record" in rule}
    return names


def test_generated_dashboards_are_current():
    result = subprocess.run([sys.executable, "grafana/generate.py", "--check"], cwd=ROOT, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert {p.name for p in DASHBOARD_FILES} == {"spse-overview.json", "spse-incident.json", WATCHER_DASHBOARD.name,
                                                NATIONAL_DASHBOARD.name}


def test_uids_titles_and_tags():
    dashboards = [load(path) for path in DASHBOARD_FILES]
    uids = [d["uid"] for d in dashboards]
    assert len(set(uids)) == len(uids), uids
    # Links (/d/spse-overview) and the compose home dashboard rely on these: uid = file name.
    assert uids == [path.stem for path in DASHBOARD_FILES]
    assert len({d["title"] for d in dashboards}) == len(dashboards)
    for d in dashboards:
        assert re.fullmatch(r"[a-z0-9-]{1,40}", d["uid"]), d["uid"]
        assert "spse" in d["tags"], d["uid"]
        assert "id" not in d, "a provisioned dashboard must not carry a database id"


def test_template_variables():
    for path in DASHBOARD_FILES:
        variables = {v["name"]: v for v in load(path)["templating"]["list"]}
        assert variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
        for name in FILTERS[path]:
            variable = variables[name]
            assert variable["type"] == "query" and variable["datasource"] == DS_VARIABLE, (path.name, name)
            match = re.fullmatch(r"label_values\((.+), (\w+)\)", variable["query"])
            assert match and match.group(2) == name, variable["query"]
            assert metric_names(match.group(1)) <= produced_metrics(), variable["query"]


def test_every_panel_has_datasource_unit_description_and_place():
    for path in DASHBOARD_FILES:
        dashboard = load(path)
        assert len({p["id"] for p in dashboard["panels"]}) == len(dashboard["panels"]), path.name
        for panel in query_panels(dashboard):
            where = f'{path.name} panel {panel["id"]} "{panel["title"]}"'
            assert panel["datasource"] == DS_VARIABLE, where
            assert panel["fieldConfig"]["defaults"].get("unit"), f"{where}: no unit"
            assert len(panel.get("description", "")) > 20, f"{where}: no description"
            assert panel["targets"], f"{where}: no query"
            grid = panel["gridPos"]
            assert grid["x"] + grid["w"] <= 24 and grid["h"] > 0, where
        for where, target in queries(dashboard):
            if not where.startswith("annotation"):  # an annotation names its datasource itself, checked below
                assert target["datasource"] == DS_VARIABLE, f"{path.name} {where}"
        for annotation in dashboard["annotations"]["list"]:
            assert annotation.get("builtIn") or annotation["datasource"] == DS_VARIABLE, annotation["name"]


def test_rate_and_increase_use_rate_interval():
    for path in DASHBOARD_FILES:
        for where, target in queries(load(path)):
            expr = target["expr"]
            for match in RATE_FUNCTIONS.finditer(expr):
                window = re.search(r"\[[^\]]*\]", expr[match.end():])
                assert window and window.group(0) == "[$__rate_interval]", f"{path.name} {where}: {expr}"


def test_metric_name_extraction():
    expr = ('sum by (site, le) (rate(a_bucket{x="y{z}"}[$__rate_interval])) / on (site) group_left (target) '
            'b:recorded or label_replace(c, "d", "$1", "e", "(.+)") > bool 0 and time() - f offset 5m')
    assert metric_names(expr) == {"a_bucket", "b:recorded", "c", "f"}


def test_queries_use_only_produced_metrics():
    allowed = produced_metrics() | PROMETHEUS_SERIES
    assert "spse_http_probe_duration_seconds_bucket" in allowed and "spse_http_probe_success" in allowed
    for path in DASHBOARD_FILES:
        for where, target in queries(load(path)):
            unknown = metric_names(target["expr"]) - allowed
            assert not unknown, f"{path.name} {where}: {sorted(unknown)} not produced by the exporter or the rules"
        # up is Prometheus' own; it is allowed only for the exporter's scrape job.
        for where, target in queries(load(path)):
            if "up" in metric_names(target["expr"]):
                assert f'up{{job="{EXPORTER_JOB}"' in target["expr"], where


def test_the_silent_window_in_the_texts_is_the_watcher_rules(tmp_path):
    """Positive control: the 'silent after' time the watcher dashboards write comes from watcher:site_silent's
    window, so a changed window (2m -> 3m) makes them stale and then say the new time in both languages."""
    for part in ("prometheus/mixin", "prometheus/watcher/rules", "grafana/dashboards"):
        shutil.copytree(ROOT / part, tmp_path / part)
    shutil.copy(ROOT / "grafana" / "generate.py", tmp_path / "grafana")
    rules = tmp_path / "prometheus" / "watcher" / "rules" / "watcher.yml"
    old = 'vantage="site"}[2m])))'
    assert rules.read_text().count(old) == 1
    rules.write_text(rules.read_text().replace(old, 'vantage="site"}[3m])))'))

    def generate(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "grafana/generate.py", *args], cwd=tmp_path, capture_output=True,
                              text=True, timeout=60)

    assert generate("--check").returncode == 1
    assert generate().returncode == 0
    for name in (WATCHER_DASHBOARD.name, NATIONAL_DASHBOARD.name):
        text = (tmp_path / "grafana" / "dashboards" / name).read_text(encoding="utf-8")
        assert "selama 3 menit" in text and "for 3 minutes" in text and "2 menit" not in text, name


def in_both_languages(words: dict[str, dict[str, str]], code: str) -> str:
    first, second = words["id"].get(code, code), words["en"].get(code, code)
    return first if first == second else f"{first} / {second}"


def test_legends_show_words_not_codes():
    """A legend or an annotation's text shows a reason, group, severity or cause in words (`{{reason_words}}`), never
    the bare code label."""
    worded = []
    for path in DASHBOARD_FILES:
        dashboard = load(path)
        texts = [(where, target.get("legendFormat", ""), target["expr"]) for where, target in queries(dashboard)]
        texts += [(f'annotation "{a["name"]}"', a["textFormat"], a["target"]["expr"])
                  for a in dashboard["annotations"]["list"] if "textFormat" in a]
        for where, legend, expr in texts:
            for label in WORDS:
                if f"{{{{{label}}}}}" in legend:
                    pytest.fail(f"{path.name} {where}: legend {legend!r} shows {label} codes; use {{{{{label}_words}}}}")
                if f"{{{{{label}_words}}}}" in legend:
                    assert f'"{label}_words"' in expr, f"{path.name} {where}: no {label}_words label made"
                    worded.append(label)
    assert set(worded) == set(WORDS), f"legends in words only for {set(worded)}"


# --- Grafana's published schema types, checked by tsc -------------------------------------------------

def schema_source(dashboard: dict) -> str:
    """TypeScript that type-checks a dashboard, and each panel's options, field config and targets."""
    types = json.dumps(str(SCHEMA_DIR / "types"))
    lines = [f"import type {{ Dashboard, FieldCustom, PanelOptions, PrometheusQuery }} from {types};",
             f"export const dashboard: Dashboard = {json.dumps(dashboard)};"]
    for panel in query_panels(dashboard):
        kind, number = json.dumps(panel["type"]), panel["id"]
        lines.append(f"export const options{number}: PanelOptions[{kind}] = {json.dumps(panel['options'])};")
        custom = panel["fieldConfig"]["defaults"].get("custom")
        if custom is not None:
            lines.append(f"export const custom{number}: FieldCustom[{kind}] = {json.dumps(custom)};")
        lines.append(f"export const targets{number}: PrometheusQuery[] = {json.dumps(panel['targets'])};")
    return "\n".join(lines) + "\n"


def mistakes(dashboard: dict) -> dict[str, dict]:
    """Copies of a dashboard with one mistake each that the schema check must catch, by the text tsc names."""
    def with_mistake(change) -> dict:
        bad = copy.deepcopy(dashboard)
        change(next(p for p in query_panels(bad) if p["type"] == "stat"))
        return bad

    return {
        '"colour"': with_mistake(lambda panel: panel.update(colour="red")),
        '"absolut"': with_mistake(lambda panel: panel["fieldConfig"]["defaults"]["thresholds"].update(mode="absolut")),
        '"calc"': with_mistake(lambda panel: panel["options"]["reduceOptions"].update(calc=["last"])),
    }


def test_dashboards_match_grafana_schema(tmp_path):
    assert TSC.exists(), "run `npm ci --prefix tests/dashboard-schema` (scripts/test.sh does)"
    files = {}
    for path in DASHBOARD_FILES:
        files[path.stem] = tmp_path / f"{path.stem}.ts"
        files[path.stem].write_text(schema_source(load(path)))
    controls = {}
    for number, (mistake, bad) in enumerate(mistakes(load(DASHBOARD_FILES[0])).items()):
        controls[mistake] = tmp_path / f"mistake{number}.ts"
        controls[mistake].write_text(schema_source(bad))
    result = subprocess.run([str(TSC), "--noEmit", "--strict", "--moduleResolution", "bundler", "--module", "esnext",
                             "--target", "es2022", "--skipLibCheck", *map(str, [*files.values(), *controls.values()])],
                            capture_output=True, text=True, timeout=120)
    errors = result.stdout + result.stderr
    for name, path in files.items():
        assert path.name not in errors, f"{name} does not match Grafana's schema:\n{errors}"
    # The controls prove the check bites: each mistake is reported in its own file.
    reported = {mistake for mistake, path in controls.items()
                if any(path.name in line and mistake in line for line in errors.splitlines())}
    assert reported == set(controls), f"tsc missed {set(controls) - reported}:\n{errors}"


# --- Every query against a real Prometheus ------------------------------------------------------------

SCRAPE_INTERVAL = "1s"
# Grafana makes $__rate_interval at least 4 scrape intervals; 10s leaves room on a loaded machine.
RATE_INTERVAL = "10s"
# The shipped rules run 15 times faster at a 1s scrape interval than at 15s (tests/stack.py).
RULE_SPEEDUP = 15


@pytest.fixture
def incident_world(spse_tls, ca_file, ntp, dns_server, tcp_listener):
    """A site on loopback that replays 4 April 2023 on command: global lost, clock unvalidated, SPSE 504."""
    global_dns, second_ntp = FakeDNS(), FakeNTP()
    config = {
        "interval": "1s", "timeout": "500ms",
        "targets": [{"name": "lpse", "url": spse_tls.url, "tls": {"ca_file": str(ca_file)},
                     "spse": {"timezone": "WITA", "app_interval": "1s"}}],
        # host_kernel: the exporter runs where SPSE does, so the kernel's clock panel has data too.
        "clock": {"servers": [ntp.address, second_ntp.address], "host_kernel": True},
        "upstream": {
            "gateway": [f"tcp://{tcp_listener.address}"],
            "national": [f"tcp://{tcp_listener.address}", f"dns://{dns_server.address}/inaproc.id"],
            "global": [f"dns://{global_dns.address}/google.com", f"ntp://{ntp.address}"],
        },
    }

    def break_global_link() -> None:
        global_dns.set("silent")
        ntp.set("silent")
        second_ntp.set("silent")
        spse_tls.set("status", status=504)

    yield config, break_global_link
    global_dns.close()
    second_ntp.close()


def fill(expr: str, values: dict[str, str], window: float) -> str:
    """The query Grafana would send: template variables and Grafana's interval variables filled in."""
    for name, value in {**values, "__rate_interval": RATE_INTERVAL, "__range": f"{int(window)}s",
                        "__interval": SCRAPE_INTERVAL}.items():
        expr = expr.replace(f"${{{name}}}", value).replace(f"${name}", value)
    return expr


def run_query(prometheus: PrometheusProcess, expr: str, instant: bool, start: float) -> list[dict]:
    """What Grafana asks for: an instant query now, or a range query over the test's time window."""
    if instant:
        params = {"query": expr}
        path = "/api/v1/query"
    else:
        params = {"query": expr, "start": f"{start:.3f}", "end": f"{time.time():.3f}", "step": SCRAPE_INTERVAL}
        path = "/api/v1/query_range"
    status, body, _ = http_get(f"{prometheus.url}{path}?{urllib.parse.urlencode(params)}")
    reply = json.loads(body)
    assert status == 200 and reply["status"] == "success", f"{expr}: {status} {reply.get('error')}"
    return reply["data"]["result"]


def label_values(prometheus: PrometheusProcess, variable: dict, values: dict[str, str]) -> list[str]:
    """A label_values(selector, label) variable resolved the way Grafana does, earlier variables filled in."""
    selector, label = re.fullmatch(r"label_values\((.+), (\w+)\)", variable["query"]).groups()
    found = prometheus.query(f"group by ({label}) ({fill(selector, values, 0)})")
    return sorted(series["metric"][label] for series in found)


def test_every_query_returns_series_from_the_real_stack(incident_world, start_exporter, start_prometheus, tmp_path):
    config, break_global_link = incident_world
    exporter = start_exporter(config)
    rules = compress_rules(tmp_path / "rules", RULE_SPEEDUP)
    prometheus = start_prometheus(render_prometheus_config(
        tmp_path, exporter=f"{exporter.host}:{exporter.port}", rules_dir=rules,
        scrape_interval=SCRAPE_INTERVAL, evaluation_interval=SCRAPE_INTERVAL))
    start = time.time()
    # A healthy stretch first, so panels of things the incident takes away (NTP offsets) have data...
    poll(lambda: prometheus.query("count_over_time(spse_ntp_offset_seconds[1m]) >= 5"), timeout=60,
         interval=0.5, what="5 s of healthy samples")
    break_global_link()
    # ...then the incident, until its alert fires.
    poll(lambda: prometheus.query('ALERTS{alertname="SPSEDown", alertstate="firing"}'), timeout=60,
         interval=0.5, what="SPSEDown to fire")
    worded = assert_queries_return_series(prometheus, SITE_DASHBOARDS, start)
    # The incident's failures (timeouts, 504s) and the groups and cause are shown in words.
    assert sum(count > 0 for count in worded.values()) >= 5, worded


def assert_queries_return_series(prometheus: PrometheusProcess, paths: list[Path], start: float) -> dict[str, int]:
    """Every query of the dashboards at `paths`, as Grafana would send it over the time since `start`, has series;
    series with codes in words have the formatter's words. Returns how many such series each query had."""
    window = time.time() - start
    report, empty, worded = [], [], {}
    for path in paths:
        dashboard = load(path)
        values = {}
        for variable in dashboard["templating"]["list"]:
            if variable["type"] == "query":
                found = label_values(prometheus, variable, values)
                assert found, f"{path.name}: variable {variable['name']} has no values"
                values[variable["name"]] = found[0]
        for where, target in queries(dashboard):
            instant = target.get("instant", False)
            series = run_query(prometheus, fill(target["expr"], values, window), instant, start)
            for found in series:  # the words PromQL's label_replace gave each code are the formatter's
                worded[where] = worded.get(where, 0) + sum(f"{label}_words" in found["metric"] for label in WORDS)
                for label, words in words_of(path).items():
                    if f"{label}_words" in found["metric"]:
                        code = found["metric"][label]
                        assert found["metric"][f"{label}_words"] == in_both_languages(words, code), (where, code)
            report.append(f"{path.stem} | {where} | {target['refId']} | {target['expr']} | {len(series)}")
            if not series:
                empty.append(report[-1])
    print(f"\nvariables: {values}\ndashboard | panel | ref | query | series", *report, sep="\n")
    assert not empty, "queries with no series:\n" + "\n".join(empty)
    return worded


def test_watcher_dashboard_queries_return_series_from_a_real_watcher(spse, start_exporter, start_prometheus,
                                                                     tmp_path):
    """The shipped watcher: a site's Prometheus remote-writes to it, its own exporter probes the site from outside."""
    site_dir, watcher_dir = tmp_path / "site", tmp_path / "watcher"
    for directory in (site_dir / "secrets", watcher_dir):
        directory.mkdir(parents=True)
    probe = {"interval": "1s", "timeout": "500ms"}
    inside = start_exporter({**probe, "targets": [{"name": "lpse", "url": spse.url}]})
    # The outside target is named after the site label of the shipped prometheus.yml and remote-write.yml.
    outside = start_exporter({**probe, "targets": [{"name": "kutaibarat", "url": spse.url}]})
    watcher_port = free_port()
    watcher = start_prometheus(render_prometheus_config(
        watcher_dir, exporter=outside.address, source=STACK_DIR / "watcher" / "prometheus.yml",
        rules_dir=compress_rules(watcher_dir / "rules", RULE_SPEEDUP, source_dir=STACK_DIR / "watcher" / "rules"),
        scrape_interval=SCRAPE_INTERVAL, evaluation_interval=SCRAPE_INTERVAL),
        ["--web.enable-remote-write-receiver"], port=watcher_port)
    (site_dir / "secrets" / "watcher_password").write_text("unused: this watcher has no web config")
    start_prometheus(render_prometheus_config(
        site_dir, exporter=inside.address, rules_dir=compress_rules(site_dir / "rules", RULE_SPEEDUP),
        scrape_interval=SCRAPE_INTERVAL, evaluation_interval=SCRAPE_INTERVAL,
        remote_write=f"http://127.0.0.1:{watcher_port}/api/v1/write"))
    start = time.time()
    poll(lambda: watcher.query('count_over_time(spse_http_probe_success{vantage="site"}[1m]) >= 5'), timeout=60,
         interval=0.5, what="5 s of the site's remote-written series at the watcher")
    # The national dashboard filters by the site's province and time zone. The watcher's rules see a remote-written
    # sample only once its batch arrives (batch_send_deadline: 5s), later than a query does: wait for them.
    # Three evaluations, so that the range queries' steps (1s apart) have them too.
    poll(lambda: watcher.query('count_over_time(watcher:site_info{province!=""}[1m]) >= 3 '
                               'and on (site) count_over_time(watcher:inside_down[1m]) >= 3'), timeout=60,
         interval=0.5, what="the watcher's rules to record where the site is and its inside view")
    worded = assert_queries_return_series(watcher, WATCHER_DASHBOARDS, start)
    # The merged cause (the site is healthy: "none") is in words in both dashboards' site tables and the trend.
    for title in ("Situs, terburuk di atas / Sites, worst first", "Situs per kemungkinan penyebab / Sites per probable cause"):
        assert any(count and where.endswith(f'"{title}"') for where, count in worded.items()), (title, worded)
    # The site's remote_write names its province and time zone (prometheus/remote-write.yml): the national
    # dashboard's filters offer them, and the site is found under them, not only under All.
    info = watcher.query('watcher:site_info{site="kutaibarat"}')
    assert [series["metric"] for series in info] == [
        {"__name__": "watcher:site_info", "site": "kutaibarat", "province": "Kalimantan Timur", "timezone": "WITA"}]
