"""What a site remote-writes to the watcher (prometheus/remote-write.yml): everything the watcher reads, and
not the Alertmanager metrics it does not read.

The names the watcher reads are taken from its rule files (expressions and the queries of alert templates)
and from every dashboard its Grafana serves; a real site (exporter, Alertmanager, Prometheus with the
shipped remote_write) writes to a bare receiving Prometheus, so what arrives is exactly what the keep-list
lets through.
"""

from __future__ import annotations

import re
import yaml

from tests.fakes import free_port
from tests.stack import STACK_DIR, compress_remote_write, render_alertmanager_config, render_prometheus_config
from tests.support import poll
from tests.integration.test_dashboards import DASHBOARD_FILES, load, metric_names, queries

WATCHER_RULES = sorted((STACK_DIR / "watcher" / "rules").glob("*.yml"))
# The query a template runs: printf "<PromQL with %q for the alert's labels>" ... | query
TEMPLATE_QUERY = re.compile(r'printf\s+"((?:[^"\\]|\\.)*)"[^|}]*\|\s*query')
JOB_MATCHER = re.compile(r'\bjob\s*=(~?)\s*"([^"]*)"')
JOB_NAMES = re.compile(r"[\w-]+(?:\|[\w-]+)*")  # a regex matcher that only lists names: job=~"a|b" selects a and b
ANY_JOB = None
SPEEDUP = 5  # the remote write's batch deadline of 5 s becomes 1 s


def selected(expr: str) -> set[tuple[str, str | None]]:
    """(metric name, job it is selected from or ANY_JOB) for every selector of a PromQL expression."""
    found = set()
    for name in metric_names(expr):
        for match in re.finditer(rf"(?<![\w:]){re.escape(name)}\s*(\{{[^}}]*\}})?", expr):
            job = JOB_MATCHER.search(match.group(1) or "")
            if job and (not job.group(1) or JOB_NAMES.fullmatch(job.group(2))):
                found |= {(name, each) for each in (job.group(2).split("|") if job.group(1) else [job.group(2)])}
            else:
                found.add((name, ANY_JOB))
    return found


def template_queries(text: str) -> list[str]:
    """The PromQL of every `printf "..." | query` in an alert template, with its %q filled by an empty string."""
    return [fmt.replace('\\"', '"').replace("%q", '""') for fmt in TEMPLATE_QUERY.findall(text)]


def read_by_the_watcher() -> set[tuple[str, str | None]]:
    """Every (name, job) the watcher's rules and the dashboards of its Grafana (all of grafana/dashboards) read."""
    exprs = []
    for path in WATCHER_RULES:
        text = path.read_text()
        found = template_queries(text)
        assert len(found) == text.count("| query"), f"{path.name}: a template query this test cannot read"
        exprs += found
        exprs += [str(rule["expr"]) for group in yaml.safe_load(text)["groups"] for rule in group["rules"]]
    for path in DASHBOARD_FILES:
        dashboard = load(path)
        exprs += [target["expr"] for _, target in queries(dashboard)]
        exprs += [re.fullmatch(r"label_values\((.+), \w+\)", variable["query"]).group(1)
                  for variable in dashboard["templating"]["list"] if variable["type"] == "query"]
    return set().union(*map(selected, exprs))


def is_read(series: tuple[str, str], read: set[tuple[str, str | None]]) -> bool:
    name, job = series
    return (name, ANY_JOB) in read or (name, job) in read


def names_by_job(prometheus) -> set[tuple[str, str]]:
    return {(s["metric"]["__name__"], s["metric"].get("job", "")) for s in
            prometheus.query('group by (__name__, job) ({__name__=~".+"})')}


def test_selector_reading():
    expr = ('sum by (site) (increase(a_total{job="alertmanager",x="}"}[2m])) unless on (site) b:rec '
            'or up{job="spse-exporter"} and up offset 1m or up{job=~"door-a|door-b"} or x{job=~"door-.*"}')
    assert selected(expr) == {("a_total", "alertmanager"), ("b:rec", ANY_JOB), ("up", "spse-exporter"),
                              ("up", ANY_JOB), ("up", "door-a"), ("up", "door-b"), ("x", ANY_JOB)}
    template = '{{ with printf "sort(x:y{site=%q,vantage=\\"site\\"})" $labels.site | query }}{{ end }}'
    assert template_queries(template) == ['sort(x:y{site="",vantage="site"})']


def test_the_watcher_reads_alertmanagers_notification_counters():
    """The keep-list below exists for these: the watcher reads some of Alertmanager's series, not `up` of it."""
    read = read_by_the_watcher()
    assert {name for name, _ in read if name.startswith("alertmanager_notification")}
    assert ("up", ANY_JOB) not in read and ("up", "alertmanager") not in read


def test_a_site_sends_every_series_the_watcher_reads_and_not_alertmanagers_others(
        spse, webhook_receiver, start_exporter, start_alertmanager, start_prometheus, tmp_path):
    read = read_by_the_watcher()
    # The check itself is shown to bite: a second writer whose keep-list also drops one series the watcher reads.
    withheld = (min(name for name, _ in read if name.startswith("alertmanager_")), "alertmanager")
    exporter = start_exporter({"interval": "1s", "timeout": "500ms", "targets": [{"name": "lpse", "url": spse.url}]})
    am_dir = tmp_path / "alertmanager"
    am_dir.mkdir()
    alertmanager = start_alertmanager(render_alertmanager_config(am_dir, webhook_receiver.url))
    receivers = []
    for name in ("shipped", "control"):
        directory = tmp_path / name
        directory.mkdir()
        (directory / "prometheus.yml").write_text("global: {}\n")
        receivers.append(start_prometheus(directory / "prometheus.yml", ["--web.enable-remote-write-receiver"]))
    shipped, control = receivers
    site_dir, site_port = tmp_path / "site", free_port()
    (site_dir / "secrets").mkdir(parents=True)
    (site_dir / "secrets" / "watcher_password").write_text("unused: the receivers have no web config")
    config_path = render_prometheus_config(
        site_dir, exporter=exporter.address, alertmanager=alertmanager.address, prometheus=f"127.0.0.1:{site_port}",
        scrape_interval="1s", evaluation_interval="1s",
        remote_write=[f"{receiver.url}/api/v1/write" for receiver in receivers])
    compress_remote_write(config_path, SPEEDUP)
    config = yaml.safe_load(config_path.read_text())
    control_writer = config["remote_write"][1]  # its relabel list is the first writer's (YAML merge): a new one
    control_writer["write_relabel_configs"] = [*control_writer["write_relabel_configs"],
                                               {"source_labels": ["__name__"], "regex": withheld[0], "action": "drop"}]
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    site = start_prometheus(config_path, port=site_port)
    # Every job scraped and the rules evaluated at the site: what it has then, it sends.
    poll(lambda: {job for _, job in names_by_job(site)} >= {"alertmanager", "prometheus", "spse-exporter", ""},
         timeout=60, interval=0.5, what="the site's three jobs and its rule results")
    at_site = names_by_job(site)
    wanted = {series for series in at_site if is_read(series, read)}
    others = {series for series in at_site if series[1] not in ("alertmanager", "prometheus")}

    def arrived() -> bool:
        missing = {"shipped": (wanted | others) - names_by_job(shipped),
                   "control": (wanted | others) - {withheld} - names_by_job(control)}
        assert not any(missing.values()), f"not yet at the receivers: {missing}"
        return True

    poll(arrived, timeout=60, interval=0.5, what="everything the watcher reads, and the site's own series, at the receivers")
    received = names_by_job(shipped)
    assert withheld in wanted and withheld not in names_by_job(control)
    # Of Alertmanager's series only those the watcher reads go; its others (histograms, Go runtime, its `up`)
    # and Prometheus' own stay at the site. The exporter's series and the rules' results all go (polled above).
    alertmanager_at_site = {series for series in at_site if series[1] == "alertmanager"}
    assert alertmanager_at_site - wanted, "the site has nothing of Alertmanager's that the watcher does not read"
    assert {series for series in received if series[1] == "alertmanager"} <= wanted
    assert not {series for series in received if series[1] == "prometheus"}
