"""docs/glossary.md's rejected variants (column "Hindari") never appear in the Indonesian text operators read:
README.id.md, the runbook's Indonesian halves, the rule annotations' and templates' Indonesian halves, the
report's and the formatter's Indonesian words, and the Grafana dashboards' Indonesian halves."""

from __future__ import annotations

import json
import re

import pytest
import yaml

from exporter import formatting, messages
from exporter.report import text as report_text
from tests.support import ROOT

GLOSSARY = ROOT / "docs" / "glossary.md"
# Function words that tell the two languages apart in a sentence of a bilingual text.
INDONESIAN_WORDS = {"yang", "dan", "di", "untuk", "dengan", "tidak", "adalah", "ini", "itu", "dari", "ke", "atau",
                    "jika", "pada", "saat", "sudah", "belum", "akan", "lebih", "tetapi", "karena", "oleh", "dapat"}
ENGLISH_WORDS = {"the", "and", "is", "of", "to", "with", "not", "when", "for", "from", "that", "this", "are", "its",
                 "it", "on", "or", "if", "be", "by", "at", "was"}
# In the message catalog, which has no backticks: flags, key paths, file names, parameters, and the config's own
# top-level keys.
CATALOG_CODE = re.compile(r"\S*[._{}/$-]\S*|\b(?:targets|clock|upstream|host_time|holidays|interval|timeout)\b")
CODE = re.compile(r"```.*?```|`[^`\n]*`|\{\{.*?\}\}|https?://\S+|\]\([^)]*\)", re.S)


def avoided() -> list[str]:
    """The variants in the glossary table's "Hindari" column."""
    rows = [line.split("|") for line in GLOSSARY.read_text().splitlines()
            if line.startswith("|") and not line.startswith("|---")]
    column = [cell.strip() for cell in rows[0]].index("Hindari")
    return [term for row in rows[1:] for term in re.findall(r"`([^`]+)`", row[column])]


def indonesian_pieces(text: str) -> list[str]:
    """The Indonesian parts of a text that may be bilingual ("English / Indonesian" halves, paragraphs in turn),
    code, commands, template actions and URLs taken out."""
    found = []
    for paragraph in re.split(r"\n\s*\n", CODE.sub(" ", text)):
        for piece in re.split(r" / |\n\s*/ ", paragraph):
            words = re.findall(r"[a-z]+", piece.lower())
            if sum(w in INDONESIAN_WORDS for w in words) > sum(w in ENGLISH_WORDS for w in words):
                found.append(piece)
    return found


def uses(piece: str, term: str) -> bool:
    """`term` in `piece`, a line break or run of spaces standing for any space in it (texts wrap at ~115 columns)."""
    pattern = re.escape(term).replace(r"\ ", r"\s+")
    return re.search(r"(?<!\w)" + pattern + (r"(?!\w)" if term[-1].isalnum() else ""), piece, re.I) is not None


def annotation_texts() -> list[str]:
    texts = []
    for path in sorted((ROOT / "prometheus").glob("**/rules/*.yml")):
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                texts += [value for key, value in rule.get("annotations", {}).items() if key != "runbook_url"]
    return texts


def operator_texts() -> dict[str, str]:
    texts = {"README.id.md": (ROOT / "README.id.md").read_text(), "docs/runbook.md": (ROOT / "docs/runbook.md").read_text(),
             "rule annotations": "\n\n".join(annotation_texts()),
             "messages (id)": "\n\n".join(CATALOG_CODE.sub(" ", text) for text in messages.MESSAGES["id"].values()),
             "report (id)": "\n\n".join(str(v) for v in report_text.PHRASES["id"].values()),
             "formatter (id)": "\n\n".join(str(table) for table in (formatting.LOST["id"], formatting.REASONS["id"],
                                                                    formatting.LABEL_WORDS["id"], formatting.NO_CAUSE,
                                                                    formatting.WATCHER_CAUSES["id"],
                                                                    formatting.SHORT_GROUP_WORDS["id"]))}
    for path in sorted((ROOT / "prometheus").glob("**/*.tmpl")):
        texts[str(path.relative_to(ROOT))] = path.read_text()
    return texts


# Keys of a dashboard's JSON whose strings people read: titles, descriptions, legends, value texts, labels.
DASHBOARD_TEXT_KEYS = {"title", "description", "legendFormat", "text", "label", "content", "displayName"}


def dashboard_texts(node, where: str = "") -> list[tuple[str, str]]:
    """(where, text) for every string a dashboard shows people, table column names (renameByName) included."""
    found = []
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(value, str) and key in DASHBOARD_TEXT_KEYS:
                found.append((f"{where}.{key}", value))
            elif key == "renameByName":
                found += [(f"{where}.{key}", text) for text in value.values()]
            else:
                found += dashboard_texts(value, f"{where}.{key}")
    elif isinstance(node, list):
        for number, value in enumerate(node):
            found += dashboard_texts(value, f"{where}[{number}]")
    return found


def indonesian_half(text: str) -> str:
    """The Indonesian part of a dashboard text: the paragraph before "EN:", or the half before " / "."""
    if "\n\nEN: " in text:
        return text.split("\n\nEN: ")[0]
    return CODE.sub(" ", text).split(" / ")[0]


def dashboards() -> dict[str, dict]:
    return {path.name: json.loads(path.read_text(encoding="utf-8"))
            for path in sorted((ROOT / "grafana" / "dashboards").glob("*.json"))}


def language_of(text: str) -> str:
    words = re.findall(r"[a-z]+", text.lower())
    indonesian, english = sum(w in INDONESIAN_WORDS for w in words), sum(w in ENGLISH_WORDS for w in words)
    return "id" if indonesian > english else "en" if english > indonesian else "?"


def test_the_dashboard_checker_finds_a_variant_in_the_indonesian_half():
    """Positive control: "hulu" and "probe" are caught in the Indonesian half of a title and a description, not in
    the English half."""
    sample = {"panels": [{"title": "Probe hulu / Upstream probe",
                          "description": "Tidak ada.\n\nEN: The probe of the upstream."}]}
    halves = [indonesian_half(text) for _, text in dashboard_texts(sample)]
    assert halves == ["Probe hulu", "Tidak ada."]
    assert [term for term in ("hulu", "probe", "upstream") if any(uses(half, term) for half in halves)] == \
        ["hulu", "probe"]


@pytest.mark.parametrize("name", list(dashboards()))
def test_dashboards_put_indonesian_first_in_the_glossary_terms(name):
    texts = dashboard_texts(dashboards()[name])
    descriptions = [(where, text) for where, text in texts if where.endswith(".description") and ".panels" in where]
    assert descriptions, f"{name}: no panel descriptions found: the check would check nothing"
    for where, text in descriptions:  # Indonesian first, English equal second
        assert "\n\nEN: " in text, f"{name} {where}: not 'Indonesian\\n\\nEN: English': {text[:80]!r}"
        indonesian, english = text.split("\n\nEN: ")
        assert (language_of(indonesian), language_of(english)) in {("id", "en"), ("?", "en"), ("id", "?")}, \
            f"{name} {where}: {text[:100]!r}"
    found = sorted({(term, where, indonesian_half(text)[:80]) for where, text in texts for term in avoided()
                    if uses(indonesian_half(text), term)})
    assert not found, f"{name}: write the glossary's term (docs/glossary.md) instead of: {found}"


def test_the_glossary_lists_variants_to_avoid():
    assert {"dead man's switch", "menjawab 504", "[FIRING", "mulai cepat", "stack"} <= set(avoided())


def test_the_checker_finds_a_variant_in_indonesian_only():
    """Positive control: the same calque is caught in an Indonesian sentence, not in English, code or a command."""
    sample = ("The stack pages the on-call when SPSE answers 504. / Jika SPSE menjawab 504, stack ini memanggil "
              "petugas jaga.\n\nRun `docker compose stack` and read https://example.test/stack for the stack.")
    pieces = indonesian_pieces(sample)
    assert [term for term in ("menjawab 504", "stack") if any(uses(piece, term) for piece in pieces)] == \
        ["menjawab 504", "stack"]
    assert len(pieces) == 1 and "docker" not in pieces[0]
    # a variant broken across two lines, as a wrapped paragraph breaks it, is still found
    assert uses("arahkan ke layanan dead\n  man's switch", "dead man's switch")


@pytest.mark.parametrize("name", list(operator_texts()))
def test_indonesian_operator_text_uses_the_glossary_terms(name):
    pieces = indonesian_pieces(operator_texts()[name])
    # A template's words are mostly in spse-words.tmpl's generated lists, checked as the formatter's.
    assert pieces or name.endswith(".tmpl"), f"{name}: no Indonesian text found: the checker would check nothing"
    found = sorted({(term, piece.strip()[:120]) for piece in pieces for term in avoided() if uses(piece, term)})
    assert not found, f"{name}: write the glossary's term (docs/glossary.md) instead of: {found}"


def test_the_catalog_check_masks_code_and_keeps_the_words():
    """Positive control for the message catalog's text: a key path is code, "probe" and "hulu" in a sentence are not."""
    masked = CATALOG_CODE.sub(" ", "grup upstream.nasional tidak dikenal: probe hulu gagal di {path}")
    assert "upstream" not in masked and "{path}" not in masked
    assert [term for term in avoided() if uses(masked, term)] == ["probe", "hulu"]
