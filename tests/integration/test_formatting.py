"""exporter/formatting.py: the forms people read, and the same forms out of the real Alertmanager's templates
(amtool) and the real Prometheus' rule annotations (promtool), which cannot call Python."""

from __future__ import annotations

import json
import re
import subprocess
from datetime import datetime, timezone

import pytest
import yaml

from exporter import formatting
from exporter.report.times import zone
from tests.stack import STACK_DIR
from tests.support import ROOT

APRIL_4 = datetime(2023, 4, 4, 6, 42, tzinfo=timezone.utc).timestamp()  # 14.42 WITA
# Durations as rule annotations and the report meet them: zero, under a second, under a minute, whole units.
DURATIONS = [0, 0.5, 1, 1.5, 45, 60, 61, 90, 300, 3600, 3723.9, 34200, 86400, 90061, 13 * 86400]


@pytest.mark.parametrize("seconds, indonesian, english", [
    (300, "5 menit", "5 minutes"), (34200, "9 jam 30 menit", "9 hours 30 minutes"),
    (13 * 86400, "13 hari", "13 days"), (60, "1 menit", "1 minute"), (1.5, "1,5 detik", "1.5 seconds"),
    (0, "0 detik", "0 seconds"), (0.25, "250 milidetik", "250 milliseconds"), (90061, "1 hari 1 jam 1 menit 1 detik",
                                                                                "1 day 1 hour 1 minute 1 second"),
])
def test_durations_in_words_not_units(seconds, indonesian, english):
    assert formatting.duration(seconds, "id") == indonesian
    assert formatting.duration(seconds, "en") == english


def test_times_dates_and_numbers_as_each_language_writes_them():
    wita = zone("WITA")
    assert formatting.clock_time(APRIL_4, wita, "id", "WITA") == "14.42 WITA"
    assert formatting.clock_time(APRIL_4, wita, "en", "WITA") == "14:42 WITA"
    assert formatting.date(APRIL_4, wita, "id") == "Selasa, 4 April 2023"
    assert formatting.date(APRIL_4, zone("WIB"), "en") == "Tuesday, 4 April 2023"
    assert formatting.number(3456.5, "id", 1) == "3.456,5" and formatting.number(3456.5, "en", 1) == "3,456.5"


def test_codes_become_words_and_unknown_codes_stay_visible():
    assert formatting.cause("global_lost clock_unvalidated", "id") == (
        "konektivitas global (internasional) terputus → server SPSE tidak dapat memvalidasi waktunya dengan sumber "
        "waktu (NTP)")
    assert formatting.cause("none", "id").startswith("tidak ditemukan gangguan jaringan")
    assert formatting.cause("mystery", "en") == "unknown (mystery)"
    assert formatting.reason("http_status", "id") == "status HTTP tidak sesuai"
    assert formatting.reason("new_reason", "id") == "new_reason"
    assert formatting.label_word("national", "id") == "nasional"
    assert formatting.merged_cause("uplink_cut", "id") == "jalur internet situs terputus, atau seluruh situs mati"
    assert formatting.merged_cause("none", "en") == "healthy"  # for the watcher, SPSE answers from outside
    assert formatting.merged_cause("global_lost", "id") == formatting.cause("global_lost", "id")
    assert formatting.merged_cause("new_cause", "en") == "new_cause"
    assert formatting.group_word("global", "id") == "internasional"
    assert formatting.group_word("unknown", "id") == "tidak diketahui"


def test_every_merged_cause_the_watcher_records_has_words():
    """Each `cause` watcher:site_cause writes (its label_replace codes, and the site's spse:probable_cause codes)."""
    rules = (ROOT / "prometheus/watcher/rules/watcher.yml").read_text()
    recorded = set(re.findall(r'"cause", "(\w+)"', rules)) | {*formatting.CAUSE_LINKS, "none"}
    assert {"uplink_cut", "site_silent", "path", "application", "none"} <= recorded
    for lang in formatting.LANGUAGES:
        assert recorded <= formatting.MERGED_CAUSE_WORDS[lang].keys(), recorded - formatting.MERGED_CAUSE_WORDS[lang].keys()


def test_every_kind_of_probe_has_words():
    """SPSEProbesStale names the probe's `probe` label, one per registered kind, in words."""
    from exporter.probes.registry import PROBE_KINDS
    kinds = set(PROBE_KINDS)
    assert {"http", "upstream"} <= kinds
    for lang in formatting.LANGUAGES:
        assert formatting.PROBE_WORDS[lang].keys() == kinds, kinds ^ formatting.PROBE_WORDS[lang].keys()


def test_every_failure_reason_the_probes_produce_has_words():
    from exporter.probes.host_time import REASONS as HOST_TIME_REASONS
    from exporter.probes.http import HTTP_REASONS, SPSE_REASONS
    from exporter.probes.ntp import REASONS as NTP_REASONS
    from exporter.probes.spse_app import REASONS as SPSE_APP_REASONS
    from exporter.probes.upstream import REASONS as UPSTREAM_REASONS
    produced = {*HTTP_REASONS, *NTP_REASONS, *SPSE_APP_REASONS, *SPSE_REASONS, *HOST_TIME_REASONS,
                *(r for reasons in UPSTREAM_REASONS.values() for r in reasons)}
    for lang in formatting.LANGUAGES:
        assert produced <= formatting.REASONS[lang].keys(), produced - formatting.REASONS[lang].keys()


def test_the_shipped_word_template_is_the_generated_one():
    shipped = (STACK_DIR / "templates" / "spse-words.tmpl").read_text()
    assert shipped == formatting.alertmanager_template(), "run: python -m exporter.formatting > " \
                                                          "prometheus/templates/spse-words.tmpl"


def test_alertmanager_writes_causes_and_labels_as_the_formatter_does():
    """One amtool render of every cause code and label value; each line must be the formatter's."""
    causes = [*formatting.CAUSE_LINKS, "none", "global_lost clock_unvalidated", "gateway_lost national_lost", "odd<x>"]
    labels = [*formatting.LABEL_WORDS["id"], "custom_bank"]
    text = "".join(f'{{{{ template "spse.cause.{lang}" {json.dumps(code)} }}}}\n'
                   for code in causes for lang in formatting.LANGUAGES)
    text += "".join(f'{{{{ template "spse.label" {json.dumps(value)} }}}}\n' for value in labels)
    result = subprocess.run(["amtool", "template", "render", f"--template.glob={STACK_DIR / 'templates' / '*.tmpl'}",
                             f"--template.text={text}"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    expected = [formatting.cause(code, lang).replace("<", "&lt;").replace(">", "&gt;")
                for code in causes for lang in formatting.LANGUAGES]
    expected += [formatting.label_word(v, "id") if formatting.label_word(v, "id") == formatting.label_word(v, "en")
                 else f"{formatting.label_word(v, 'id')} / {formatting.label_word(v, 'en')}" for v in labels]
    assert result.stdout.rstrip("\n").split("\n") == expected


def test_prometheus_rule_annotations_write_durations_and_codes_as_the_formatter_does(tmp_path):
    """GO_DURATION after humanizeDuration, GO_REASON, GO_GROUP, GO_MERGED_CAUSE and GO_PROBE after a label value,
    evaluated by promtool's rule unit test, give duration()'s, reason()'s, label_word()'s, merged_cause()'s and
    PROBE_WORDS' words."""
    reasons, groups = [*formatting.REASONS["id"], "new_reason"], [*formatting.GROUP_WORDS["id"], "custom_bank"]
    causes = [*formatting.MERGED_CAUSE_WORDS["id"], "new_cause"]
    kinds = [*formatting.PROBE_WORDS["id"], "new_probe"]
    annotations, expected = {}, {}
    for lang in formatting.LANGUAGES:
        annotations[f"duration_{lang}"] = " | ".join(f"{{{{ {seconds} | {formatting.GO_DURATION[lang]} }}}}"
                                                     for seconds in DURATIONS)
        expected[f"duration_{lang}"] = " | ".join(formatting.duration(seconds, lang) for seconds in DURATIONS)
        annotations[f"reason_{lang}"] = " | ".join(f'{{{{ "{code}" | {formatting.GO_REASON[lang]} }}}}'
                                                   for code in reasons)
        expected[f"reason_{lang}"] = " | ".join(formatting.reason(code, lang) for code in reasons)
        annotations[f"group_{lang}"] = " | ".join(f'{{{{ "{group}" | {formatting.GO_GROUP[lang]} }}}}'
                                                  if formatting.GO_GROUP[lang] else f'{{{{ "{group}" }}}}'
                                                  for group in groups)
        expected[f"group_{lang}"] = " | ".join(formatting.label_word(group, lang) for group in groups)
        annotations[f"cause_{lang}"] = " | ".join(f'{{{{ "{code}" | {formatting.GO_MERGED_CAUSE[lang]} }}}}'
                                                  for code in causes)
        expected[f"cause_{lang}"] = " | ".join(formatting.merged_cause(code, lang) for code in causes)
        annotations[f"probe_{lang}"] = " | ".join(f'{{{{ "{kind}" | {formatting.GO_PROBE[lang]} }}}}' for kind in kinds)
        expected[f"probe_{lang}"] = " | ".join(formatting.PROBE_WORDS[lang].get(kind, kind) for kind in kinds)
    rules = {"groups": [{"name": "words", "rules": [
        {"alert": "Words", "expr": "vector(1)", "annotations": annotations}]}]}
    (tmp_path / "rules.yml").write_text(yaml.safe_dump(rules, allow_unicode=True))
    tests = {"rule_files": ["rules.yml"], "evaluation_interval": "1m", "tests": [{
        "interval": "1m", "input_series": [{"series": "up", "values": "1"}],
        "alert_rule_test": [{"eval_time": "0m", "alertname": "Words",
                             "exp_alerts": [{"exp_labels": {}, "exp_annotations": expected}]}]}]}
    (tmp_path / "test.yml").write_text(yaml.safe_dump(tests, allow_unicode=True))
    result = subprocess.run(["promtool", "test", "rules", "test.yml"], cwd=tmp_path, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("start, pipelines", [
    ("humanizeDuration", formatting.GO_DURATION), ("{{ $reason | ", formatting.GO_REASON),
    ("{{ $labels.group | ", formatting.GO_GROUP), ("{{ $cause | ", formatting.GO_MERGED_CAUSE),
    ("{{ $labels.probe | ", formatting.GO_PROBE)])
def test_rule_annotations_write_words_with_the_formatters_pipelines(start, pipelines):
    """A humanizeDuration left bare writes "5m 0s" to people, a bare $reason "http_status", a bare $cause
    "uplink_cut": each is followed by the formatter's current pipeline (GO_GROUP escaped where it sits inside a
    double-quoted YAML string)."""
    forms = [pipeline.removeprefix("humanizeDuration") for pipeline in pipelines.values()]
    forms += [form.replace('"', '\\"') for form in forms]
    for path in sorted((ROOT / "prometheus").glob("**/rules/*.yml")) + [ROOT / "prometheus/mixin/alerts.yml"]:
        text = path.read_text()
        for at in [i + len(start) for i in range(len(text)) if text.startswith(start, i)]:
            if start == "humanizeDuration":
                assert text.startswith(tuple(forms), at), f"{path.name}: {text[at - 60:at + 80]!r}"
            else:
                assert text.startswith(tuple(form.removeprefix(" ") for form in forms), at), \
                    f"{path.name}: {text[at - 60:at + 80]!r}"
        if start in ("{{ $reason | ", "{{ $cause | "):  # the code itself only in parentheses, after its words, for engineers
            bare = start.removesuffix(" | ") + " }}"
            assert text.count(bare) == text.count(f"({bare})"), path.name
