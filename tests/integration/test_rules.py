"""The shipped Prometheus config and rules: valid for promtool, unit-tested, consistent with the
exporter's metric contract and the runbook, and still valid on the test's compressed clock."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from exporter.metrics import FAMILY_NAMES
from tests.fakes import free_port
from tests.stack import EXPORTER_JOB, STACK_DIR, compress_rules, render_prometheus_config, scale_duration, scale_expr
from tests.support import ROOT, poll

RULES_DIR = STACK_DIR / "rules"
UNIT_TESTS = sorted((ROOT / "tests" / "rules").glob("*.yml"))
RUNBOOK = ROOT / "docs" / "runbook.md"
RUNBOOK_BASE = "{{ $externalLabels.runbook_base }}/runbook"  # prometheus/prometheus.yml sets the base
# The alert names are a contract (issue 3); severities as documented.
CONTRACT = {
    "SPSEDown": {"critical"}, "SPSEGatewayTimeout": {"critical"}, "SPSEServerErrors": {"warning"},
    "SPSESlowResponses": {"warning"}, "SPSEServerClockSkew": {"warning"},
    "SPSETLSCertExpiringSoon": {"warning", "critical"}, "ClockUnvalidated": {"critical"},
    "ClockOffsetHigh": {"warning"}, "SPSETimeSourcesAtRisk": {"warning"}, "UpstreamGlobalLost": {"critical"}, "UpstreamNationalLost": {"critical"},
    "UpstreamGatewayLost": {"critical"}, "UpstreamDegraded": {"warning"}, "SPSEExporterDown": {"critical"},
    "SPSEProbesStale": {"warning"}, "SPSEConfigReloadFailed": {"warning"},
    "NotificationsNotConfigured": {"warning"}, "NotificationsFailing": {"warning"}, "Watchdog": {"none"},
    "SPSEApplicationDown": {"critical"}, "SPSEDataStale": {"warning"},
}
SPSE_IMPACT_ALERTS = {"SPSEDown", "SPSEGatewayTimeout", "SPSEServerErrors", "SPSESlowResponses", "SPSEServerClockSkew",
                      "SPSEApplicationDown", "SPSEDataStale"}


def promtool(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(["promtool", *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def rule_groups(directory: Path = RULES_DIR) -> list[dict]:
    return [group for path in sorted(directory.glob("*.yml")) for group in yaml.safe_load(path.read_text())["groups"]]


def alert_rules() -> list[dict]:
    return [rule for group in rule_groups() for rule in group["rules"] if "alert" in rule]


def bilingual_halves(text: str) -> tuple[str, str]:
    """An annotation's English and Indonesian halves, split at its one " / " outside any template block: a
    separator inside an {{ if }} branch renders once per branch, so the notification template (which shows the
    half after it first) could not tell where one language ends, and the source would not read as the pair."""
    english, _, indonesian = text.partition(" / ")
    assert english.strip() and indonesian.strip(), f"needs 'English / Bahasa Indonesia': {text[:80]!r}"
    opened = len(re.findall(r"\{\{-? *(?:if|with|range)\b", english))
    assert opened == len(re.findall(r"\{\{-? *end *-?\}\}", english)) and " / " not in indonesian, (
        f"write each language whole, its conditions inside: 'English {{{{ if }}}}...{{{{ end }}}} / "
        f"Indonesia {{{{ if }}}}...{{{{ end }}}}': {text[:80]!r}")
    return english, indonesian


def test_bilingual_halves_needs_the_separator_outside_the_branches():
    """Positive control: a pair written per branch is refused, the same text with its conditions inside each half is not."""
    with pytest.raises(AssertionError, match="each language whole"):
        bilingual_halves('{{ if .A }}Down. / Mati.{{ else }}Up. / Hidup.{{ end }}')
    assert bilingual_halves('{{ if .A }}Down.{{ else }}Up.{{ end }} / {{ if .A }}Mati.{{ else }}Hidup.{{ end }}')


def test_promtool_checks_the_shipped_config_and_its_rules():
    result = promtool("check", "config", str(STACK_DIR / "prometheus.yml"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"SUCCESS: [1-9]\d* rules found", result.stdout), result.stdout  # the rule_files glob matched


def test_promtool_checks_the_rules():
    result = promtool("check", "rules", *map(str, sorted(RULES_DIR.glob("*.yml"))))
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_unit_tests_pass():
    result = promtool("test", "rules", *map(str, UNIT_TESTS))
    assert result.returncode == 0, result.stdout + result.stderr


def unit_test_with_change(tmp_path, rule_file: str, change: tuple[str, str], unit_test: str) -> subprocess.CompletedProcess:
    """One unit test file, run on the shipped rules with one change to `rule_file` (the text must be there once)."""
    rules = tmp_path / "prometheus" / "rules"
    shutil.copytree(RULES_DIR, rules)
    text = (rules / rule_file).read_text()
    assert text.count(change[0]) == 1, change[0]
    (rules / rule_file).write_text(text.replace(*change))
    tests = tmp_path / "tests" / "rules"
    tests.mkdir(parents=True)
    shutil.copy(ROOT / "tests" / "rules" / unit_test, tests)
    return promtool("test", "rules", str(tests / unit_test))


def test_unit_tests_fail_when_a_rule_changes(tmp_path):
    """The unit tests bite: SPSEDown paging after 1 minute instead of 2 must fail them."""
    text = (RULES_DIR / "alerts.yml").read_text()
    start = text.index("      - alert: SPSEDown\n")
    end = text.index("for: 2m", start)
    result = unit_test_with_change(tmp_path, "alerts.yml", (text[start:end + len("for: 2m")], text[start:end] + "for: 1m"),
                                   "spse.yml")
    assert result.returncode == 1 and "alertname: SPSEDown" in result.stderr, result.stdout + result.stderr


def test_notification_unit_tests_need_the_latch(tmp_path):
    """Without its own last value, alertmanager:notifications_failing is a 2-minute window again: during a hanging
    outage NotificationsFailing resolves before each give-up and fires again, which the unit tests must catch."""
    result = unit_test_with_change(tmp_path, "recording.yml",
                                   ("              (alertmanager:notifications_failing\n", "              (vector(0) == 1\n"),
                                   "notifications.yml")
    assert result.returncode == 1 and 'ALERTS{alertname=\\"NotificationsFailing\\"' in result.stderr, (
        result.stdout + result.stderr)


def test_the_site_latch_is_the_watchers():
    """The site records the same latch as the watcher's watcher:notifications_failing, by instance instead of site.
    The watcher keeps its own copy over the raw counters (a site on an older release records nothing): the two
    must not drift apart. The watcher records each counter's increase once (watcher:*:increase2m, ...) and its
    latch reads those: put back in place, they give the site's expression."""
    def expr(groups: list[dict], record: str) -> str:
        (found,) = [rule["expr"] for group in groups for rule in group["rules"] if rule.get("record") == record]
        return " ".join(found.split())
    watcher_groups = rule_groups(STACK_DIR / "watcher" / "rules")
    site = expr(rule_groups(), "alertmanager:notifications_failing")
    watcher = expr(watcher_groups, "watcher:notifications_failing")
    increases = [rule["record"] for group in watcher_groups for rule in group["rules"]
                 if re.fullmatch(r"watcher:\w+:increase\w+", rule.get("record", ""))]
    assert increases and all(name in watcher for name in increases), increases
    for name in increases:
        watcher = watcher.replace(name, expr(watcher_groups, name))
    assert site.replace('{job="alertmanager"}', "") == (
        watcher.replace("vantage, site, integration", "instance, integration")
        .replace("watcher:notifications_failing", "alertmanager:notifications_failing"))


def test_alert_names_and_severities_are_the_contract():
    found: dict[str, set[str]] = {}
    for rule in alert_rules():
        found.setdefault(rule["alert"], set()).add(rule["labels"]["severity"])
    assert found == CONTRACT


@pytest.mark.parametrize("rule", alert_rules(), ids=lambda rule: f"{rule['alert']}-{rule['labels']['severity']}")
def test_every_alert_is_explained_in_both_languages_and_links_its_runbook(rule):
    annotations = rule["annotations"]
    for key in ("summary", "description"):
        bilingual_halves(annotations[key])
    anchor = rule["alert"].lower()
    assert annotations["runbook_url"] == f"{RUNBOOK_BASE}#{anchor}"
    heading = f"## {rule['alert']}"
    assert heading in RUNBOOK.read_text().splitlines(), f"docs/runbook.md lacks {heading}"
    assert ("cause" in annotations) == (rule["alert"] in SPSE_IMPACT_ALERTS)


def test_rules_use_only_metrics_the_exporter_serves():
    """A typo in a metric name would make an alert silently never fire."""
    # not a label value: probe="spse_app", nor a reason code the annotation turns into words ("^spse_error$")
    name = re.compile(r'(?<!=")(?<!~")(?<!\|)(?<!"\^)\bspse_[a-z_]+')
    used = set()
    for group in rule_groups():
        for rule in group["rules"]:
            used |= set(name.findall(rule["expr"]))
            for template in rule.get("annotations", {}).values():
                used |= set(name.findall(template))
    histogram = "spse_http_probe_duration_seconds"
    served = set(FAMILY_NAMES) | {histogram + suffix for suffix in ("_bucket", "_sum", "_count")}
    assert used and used <= served, used - served


def test_every_alert_is_unit_tested_firing_and_silent():
    firing, silent = set(), set()
    for path in UNIT_TESTS:
        for test in yaml.safe_load(path.read_text())["tests"]:
            for case in test.get("alert_rule_test", []):
                (firing if case["exp_alerts"] else silent).add(case["alertname"])
    assert firing == set(CONTRACT), set(CONTRACT) - firing
    assert silent >= set(CONTRACT) - {"Watchdog"}, set(CONTRACT) - {"Watchdog"} - silent


def test_unit_tests_evaluate_recording_rules_first():
    groups = [group["name"] for group in rule_groups()]
    for path in UNIT_TESTS:
        order = yaml.safe_load(path.read_text())["group_eval_order"]
        assert sorted(order) == sorted(groups), f"{path.name}: group_eval_order must list every group"
        recording = sum(name.endswith(".recording") for name in groups)
        assert all(name.endswith(".recording") for name in order[:recording]), path.name


def test_scaling_divides_every_duration():
    assert scale_duration("5m", 15) == "20s"
    assert scale_duration("1h30m", 15) == "360s"
    assert scale_duration("10s", 15) == "667ms"
    assert scale_duration("0s", 15) == "0s"
    with pytest.raises(ValueError):
        scale_duration("5 minutes", 15)
    assert scale_expr("rate(x[5m]) offset 1m + max_over_time(y[1h:5m]) + deriv(z[10m:])", 15) == \
        "rate(x[20s]) offset 4s + max_over_time(y[240s:20s]) + deriv(z[40s:])"


def test_compressed_rules_are_valid(tmp_path):
    compressed = compress_rules(tmp_path / "rules", 15)
    result = promtool("check", "rules", *map(str, sorted(compressed.glob("*.yml"))))
    assert result.returncode == 0, result.stdout + result.stderr
    down = next(rule for group in rule_groups(compressed) for rule in group["rules"] if rule.get("alert") == "SPSEDown")
    assert down["for"] == "8s"


def test_site_label_falls_back_to_the_address(tmp_path, start_prometheus):
    """Alerts group and inhibit by `site`: a target listed without one still gets it."""
    exporter = f"127.0.0.1:{free_port()}"  # nothing listens: `up` is 0 but carries the target's labels
    config_path = render_prometheus_config(tmp_path, exporter=exporter, scrape_interval="1s")
    config = yaml.safe_load(config_path.read_text())
    del config["scrape_configs"][0]["static_configs"][0]["labels"]
    config_path.write_text(yaml.safe_dump(config))
    prometheus = start_prometheus(config_path)
    up = poll(lambda: prometheus.query(f'up{{job="{EXPORTER_JOB}"}}'), 30, 0.2, "the exporter target's up series")
    assert up[0]["metric"]["site"] == exporter
