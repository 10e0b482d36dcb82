"""The thresholds are written once (prometheus/mixin/thresholds.yml): the rendered alert rules and the dashboards
are current, a changed threshold reaches both, and the docs and the exporter's defaults say the same numbers."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys

import pytest
import yaml

from exporter import formatting
from exporter.config import parse_config
from tests.support import ROOT

MIXIN = ROOT / "prometheus" / "mixin"
sys.path.insert(0, str(MIXIN))
import thresholds as mixin  # noqa: E402

LIMITS = mixin.load()
SECTIONS_NOT_ALERTS = {"dashboards", "exporter"}
# One section for the three alerts that share their numbers.
SHARED = {"UpstreamLost": ("UpstreamGatewayLost", "UpstreamNationalLost", "UpstreamGlobalLost")}
# Which thresholds each alert's section of docs/runbook.md quotes, in English and in Indonesian.
RUNBOOK_QUOTES = {
    "SPSEDown": ("for",), "SPSEGatewayTimeout": ("answers", "window"), "SPSEServerErrors": ("ratio", "for"),
    "SPSESlowResponses": ("p90", "for"), "SPSEServerClockSkew": ("offset", "for"), "SPSEApplicationDown": ("for",),
    "SPSEDataStale": ("for",), "SPSETLSCertExpiringSoon": ("warning", "critical"), "ClockUnvalidated": ("for",),
    "ClockOffsetHigh": ("offset", "for"), "SPSETimeSourcesAtRisk": ("sources", "for"),
    "UpstreamGatewayLost": ("for",), "UpstreamNationalLost": ("for",), "UpstreamGlobalLost": ("for", "keep_firing_for"),
    "UpstreamDegraded": ("ratio", "for"), "SPSEExporterDown": ("for",), "NotificationsFailing": ("for",),
    "WatcherDoorDown": ("for",), "WatcherDoorSeriesCapNearlyFull": ("ratio",), "WatcherDoorRefusing": ("window", "for"),
}
# The exporter's defaults that sections of the runbook quote.
RUNBOOK_DEFAULTS = {"SPSEProbesStale": ("interval", "app_interval"), "SPSEApplicationDown": ("app_interval",),
                    "SPSEDataStale": ("data_max_age",)}
# Which thresholds each row of the alert tables in README.md and docs/alerting.md quotes (English).
README_QUOTES = {
    "SPSEDown": ("for",), "SPSEGatewayTimeout": ("window",), "SPSEServerErrors": ("ratio", "for"),
    "SPSESlowResponses": ("p90", "for"), "SPSEServerClockSkew": ("offset", "for"), "SPSEApplicationDown": ("for",),
    "SPSEDataStale": ("for",), "SPSETLSCertExpiringSoon": ("warning", "critical"), "ClockUnvalidated": ("for",),
    "ClockOffsetHigh": ("offset", "for"), "SPSETimeSourcesAtRisk": ("sources", "for"), "UpstreamLost": ("for",),
    "UpstreamDegraded": ("ratio", "for"), "SPSEExporterDown": ("for",), "SPSEConfigReloadFailed": ("for",),
    "NotificationsFailing": ("for",),
}
ALERTING_QUOTES = README_QUOTES | {
    "SPSEGatewayTimeout": ("answers", "window"), "UpstreamLost": ("for", "keep_firing_for"),
    "SPSEProbesStale": ("for",), "NotificationsNotConfigured": ("for",),
}


def threshold(alert: str, key: str) -> object:
    """An alert's threshold, from its own section of thresholds.yml or the one it shares."""
    return LIMITS[next((section for section, alerts in SHARED.items() if alert in alerts), alert)][key]


def forms(value: object, language: str, compact: bool = False) -> list[str]:
    """How a text may quote a threshold: a duration in words ("2 minutes", "2 menit"), or compact in a table ("2m",
    "5 s"); a share as a percentage; a count as itself."""
    if isinstance(value, str):
        found = [mixin.words(value, language)]
        if compact:
            number, unit = mixin.duration(value)
            found += [f"{number}{unit}", f"{number} {unit}"]
        return found
    if isinstance(value, float):
        return [mixin.words(value, language), mixin.percent(value)]
    return [str(value)]


# "2 minutes " before a quote: the quote is the tail of a compound duration.
COMPOUND_HEAD = re.compile(r"\d (?:%s) $" % "|".join(sorted({name for units in formatting.UNITS.values()
                                                                 for names in units.values() for name in names})))


def quoted(text: str, value: object, language: str, compact: bool = False) -> bool:
    """Whether the text says the value as a whole: not in a longer number, nor as the tail of a compound duration
    ("30 seconds" in "2 minutes 30 seconds")."""
    for form in forms(value, language, compact):
        for match in re.finditer(rf"(?<![\d.,]){re.escape(form)}(?![\d%])", text):
            if not COMPOUND_HEAD.search(text[:match.start()]):
                return True
    return False


def runbook_section(alert: str) -> str:
    text = (ROOT / "docs" / "runbook.md").read_text(encoding="utf-8")
    match = re.search(rf"^## {alert}\n(.*?)(?=^## |\Z)", text, flags=re.M | re.S)
    assert match, f"docs/runbook.md has no section {alert}"
    return match.group(1)


def table_rows(path) -> dict[str, str]:
    """The rows of a Markdown table by their first cell, with `Upstream{A,B}Lost` and `A / B` read as each name."""
    rows = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        cells = line.split("|")
        if len(cells) < 4:
            continue
        first = cells[1].strip()
        braces = re.fullmatch(r"(\w*)\{([\w,]+)\}(\w*)", first)
        names = ([braces.group(1) + part + braces.group(3) for part in braces.group(2).split(",")] if braces
                 else [name.strip() for name in first.split(" / ")])
        for name in names:
            rows[name] = line
    return rows


def run(*args: str, cwd=ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True, timeout=60)


def test_rendered_alert_rules_are_current(tmp_path):
    result = run("prometheus/mixin/thresholds.py", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    for template, rendered in mixin.TEMPLATES.items():
        shipped = rendered.read_text(encoding="utf-8")
        assert (tmp_path / rendered.name).read_text(encoding="utf-8") == shipped, (
            f"{rendered.relative_to(ROOT)} differs from its sources: edit prometheus/mixin/{template.name} or "
            "thresholds.yml, then run python3 prometheus/mixin/thresholds.py")
    assert run("prometheus/mixin/thresholds.py", "--check").returncode == 0


def test_a_changed_threshold_reaches_the_rules_and_the_dashboards(tmp_path):
    """Positive control of the two drift checks: a new clock skew threshold in the source makes both generated
    files stale, and once they are regenerated the alert, its texts and the dashboard's lines say the new number."""
    shutil.copytree(MIXIN, tmp_path / "prometheus" / "mixin")
    shutil.copytree(ROOT / "prometheus" / "rules", tmp_path / "prometheus" / "rules")
    # The dashboards also read the watcher's silent window from its rules.
    shutil.copytree(ROOT / "prometheus" / "watcher" / "rules", tmp_path / "prometheus" / "watcher" / "rules")
    shutil.copytree(ROOT / "grafana" / "dashboards", tmp_path / "grafana" / "dashboards")
    shutil.copy(ROOT / "grafana" / "generate.py", tmp_path / "grafana")
    source = tmp_path / "prometheus" / "mixin" / "thresholds.yml"
    text = source.read_text(encoding="utf-8")
    old = "SPSEServerClockSkew:\n  offset: 5s"
    assert text.count(old) == 1
    source.write_text(text.replace(old, "SPSEServerClockSkew:\n  offset: 7s"), encoding="utf-8")
    for script in ("prometheus/mixin/thresholds.py", "grafana/generate.py"):
        stale = run(script, "--check", cwd=tmp_path)
        assert stale.returncode == 1 and "stale" in stale.stderr, (script, stale.stderr)
        assert run(script, cwd=tmp_path).returncode == 0
    alerts = (tmp_path / "prometheus" / "rules" / "alerts.yml").read_text(encoding="utf-8")
    rule = next(rule for group in yaml.safe_load(alerts)["groups"] for rule in group["rules"]
                if rule.get("alert") == "SPSEServerClockSkew")
    assert "> 7 or" in rule["expr"] and "< -7" in rule["expr"], rule["expr"]
    assert "more than 7s for 10 minutes" in rule["annotations"]["description"]
    assert "lebih dari 7 detik" in rule["annotations"]["description"]
    overview = (tmp_path / "grafana" / "dashboards" / "spse-overview.json").read_text(encoding="utf-8")
    assert '"value": -7' in overview and "dashed lines at ±7 seconds" in overview and "±7 detik" in overview


def test_every_threshold_is_read_and_every_section_is_an_alert():
    template = "".join(path.read_text(encoding="utf-8") for path in mixin.TEMPLATES)
    alerts = {rule["alert"] for rendered in mixin.TEMPLATES.values()
              for group in yaml.safe_load(rendered.read_text(encoding="utf-8"))["groups"]
              for rule in group["rules"] if "alert" in rule}
    dashboards = (ROOT / "grafana" / "generate.py").read_text(encoding="utf-8")
    for section, keys in LIMITS.items():
        if section in SECTIONS_NOT_ALERTS:
            continue
        assert set(SHARED.get(section, (section,))) <= alerts, section
        for key in keys:
            assert re.search(rf"\$\{{{section}\.{key}\b", template), f"{section}.{key} is not used by the alert rules"
    for key in LIMITS["dashboards"]:
        assert f'LIMITS["dashboards"]["{key}"]' in dashboards, f"dashboards.{key} is not used by grafana/generate.py"


def test_a_wrong_name_format_or_duration_is_an_error_naming_it():
    with pytest.raises(ValueError, match=r"SPSEDown\.fro"):
        mixin.render("for: ${SPSEDown.fro}", LIMITS)
    with pytest.raises(ValueError, match="no format 'fr'"):
        mixin.render("${SPSEDown.for:fr}", LIMITS)
    with pytest.raises(ValueError, match="'2m30s' is not a duration in one unit"):
        mixin.words("2m30s", "en")
    with pytest.raises(ValueError, match="not a whole number of days"):
        mixin.days("36h")
    assert [mixin.words(value, "en") for value in ("1m", "30s", "14d")] == ["1 minute", "30 seconds", "14 days"]
    assert [mixin.words(value, "id") for value in ("1m", "8h")] == ["1 menit", "8 jam"]
    assert [mixin.words(value, "id") for value in (0.5, 0.25)] == ["separuh", "25%"]


def test_a_quote_is_the_whole_number():
    assert quoted("fails for 2 minutes.", "2m", "en") and not quoted("fails for 12 minutes.", "2m", "en")
    assert quoted("selama 2 menit", "2m", "id") and not quoted("selama 2 minutes", "2m", "id")
    assert quoted("over 5s for", "5s", "en", compact=True) and not quoted("over 5s for", "5s", "en")
    assert quoted("over 25% of", 0.25, "en") and not quoted("over 125% of", 0.25, "en")
    assert quoted("fewer than 2 sources", 2, "en") and not quoted("fewer than 20 sources", 2, "en")
    assert quoted("every 30 seconds", "30s", "en") and not quoted("after 2 minutes 30 seconds", "30s", "en")


@pytest.mark.parametrize("alert", sorted(RUNBOOK_QUOTES.keys() | RUNBOOK_DEFAULTS.keys()))
def test_the_runbook_quotes_the_thresholds_and_defaults(alert):
    """In both languages: words of one language do not occur in the other's text, counts and shares in both."""
    section = runbook_section(alert)
    values = [(key, threshold(alert, key)) for key in RUNBOOK_QUOTES.get(alert, ())]
    values += [(f"exporter.{key}", LIMITS["exporter"][key]) for key in RUNBOOK_DEFAULTS.get(alert, ())]
    for key, value in values:
        for language in ("en", "id"):
            assert quoted(section, value, language), f"docs/runbook.md ## {alert}: say {forms(value, language)} ({key})"


@pytest.mark.parametrize(("path", "quotes"), [("README.md", README_QUOTES), ("docs/alerting.md", ALERTING_QUOTES)])
def test_the_alert_tables_quote_the_thresholds(path, quotes):
    rows = table_rows(ROOT / path)
    for section, keys in quotes.items():
        for alert in SHARED.get(section, (section,)):
            assert alert in rows, f"{path}: no row for {alert}"
            for key in keys:
                value = LIMITS[section][key]
                assert quoted(rows[alert], value, "en", compact=True), (
                    f"{path}: the row of {alert} should say {forms(value, 'en', compact=True)} ({key})")


def test_the_exporters_defaults_are_the_ones_the_rules_assume():
    """The exporter cannot read thresholds.yml (it is installed without it): its defaults are held equal here."""
    config = parse_config(
        "targets: [{name: a, url: 'https://lpse.contoh.example/eproc4', spse: {}}]\n"
        "clock: {servers: [ntp.contoh.example]}\n"
        "upstream: {global: ['tcp://192.0.2.1:53']}\n")
    target = config.targets[0]
    defaults = LIMITS["exporter"]
    intervals = {target.interval, config.clock.interval, *(group.interval for group in config.upstream)}
    assert intervals == {mixin.seconds(defaults["interval"])}
    assert target.spse.app_interval == mixin.seconds(defaults["app_interval"])
    assert target.spse.data_max_age == mixin.seconds(defaults["data_max_age"])
    # SPSEApplicationDown waits for two failed application checks at the default interval.
    assert mixin.seconds(LIMITS["SPSEApplicationDown"]["for"]) == 2 * target.spse.app_interval
    # A probe that times out fails (SPSEDown's): SPSESlowResponses must see slowness before the default timeout.
    assert mixin.seconds(LIMITS["SPSESlowResponses"]["p90"]) < target.timeout
    # SPSEGatewayTimeout's count of 504s must fit in the probes its window holds at the default interval.
    gateway_timeout = LIMITS["SPSEGatewayTimeout"]
    assert gateway_timeout["answers"] <= mixin.seconds(gateway_timeout["window"]) / target.interval


def test_probes_at_the_default_intervals_are_watched_for_staleness_in_the_shortest_windows():
    """SPSEProbesStale's windows each hold 3 intervals up to a bound; the default interval of every probe must fall in
    the first window (1m), and the application check's in one of them."""
    rules = yaml.safe_load((ROOT / "prometheus" / "rules" / "alerts.yml").read_text(encoding="utf-8"))
    (expr,) = [rule["expr"] for group in rules["groups"] for rule in group["rules"]
               if rule.get("alert") == "SPSEProbesStale"]
    ladder = re.findall(r"(\d+) \+ \(increase\(spse_probe_rounds_total\[(\w+)\]\) == 0\s+and max_over_time\("
                        r"spse_probe_interval_seconds\[(\w+)\]\) <= (\d+)", expr)
    assert len(ladder) == 5, expr
    bounds = []
    for value, window, same_window, bound in ladder:
        assert window == same_window and int(value) == mixin.seconds(window) == 3 * int(bound), (window, bound)
        bounds.append(int(bound))
    defaults = LIMITS["exporter"]
    assert mixin.seconds(defaults["interval"]) <= bounds[0]
    assert mixin.seconds(defaults["app_interval"]) <= bounds[-1]
