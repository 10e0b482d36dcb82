"""Operator-facing words: natural Bahasa Indonesia where reviewers found stilted phrases, and dashboard
descriptions that list the failure reasons each probe really produces (exporter/metrics.py)."""

from __future__ import annotations

import json

import pytest

from exporter import formatting
from exporter.probes.http import HTTP_REASONS, SPSE_REASONS
from exporter.probes.ntp import REASONS as NTP_REASONS
from exporter.probes.spse_app import REASONS as SPSE_APP_REASONS
from exporter.probes.upstream import REASONS as UPSTREAM_REASONS
from tests.support import ROOT

OPERATOR_FILES = [*sorted((ROOT / "prometheus").glob("**/*.yml")), *sorted((ROOT / "prometheus").glob("**/*.tmpl")),
                  ROOT / "grafana/generate.py", *sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md",
                  ROOT / "README.id.md"]


@pytest.mark.parametrize("path", OPERATOR_FILES, ids=lambda path: str(path.relative_to(ROOT)))
def test_no_stilted_indonesian(path):
    text = path.read_text().lower()
    for phrase, better in (("penyebab kemungkinan", "kemungkinan penyebab"), ("grup hulu", "jaringan <group>")):
        assert phrase not in text, f"{path.name}: write '{better}', not '{phrase}'"


def test_dashboards_call_a_chain_link_mata_rantai():
    """'Tautan' is a hyperlink; a link of the chain gateway -> national/global -> clock -> SPSE is a 'mata rantai'."""
    assert "tautan" not in (ROOT / "grafana/generate.py").read_text().lower()


def panel_descriptions() -> dict[str, str]:
    found = {}
    for path in sorted((ROOT / "grafana/dashboards").glob("*.json")):
        stack = list(json.loads(path.read_text())["panels"])
        while stack:
            panel = stack.pop()
            stack += panel.get("panels", [])
            found[panel["title"].split(" / ")[-1]] = panel.get("description", "")  # by its English half
    return found


@pytest.mark.parametrize("title, reasons", [
    ("NTP failures by reason", NTP_REASONS),
    ("SPSE failures by reason", HTTP_REASONS + SPSE_REASONS),
    ("Application check failures by reason", SPSE_APP_REASONS),
    ("Upstream failures by reason", tuple(r for rs in UPSTREAM_REASONS.values() for r in rs)),
])
def test_failure_panels_list_the_reasons_their_probes_produce(title, reasons):
    """Both halves of the description list the probe's reasons, in the formatter's words of each language."""
    indonesian, english = panel_descriptions()[title].split("\n\nEN: ")
    for lang, half in (("id", indonesian), ("en", english)):
        listed = {words.strip() for words in half.split("(", 1)[1].rsplit(").", 1)[0].split(";")}
        assert {formatting.reason(code, lang) for code in reasons} == listed, (lang, listed)
