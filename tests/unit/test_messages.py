"""The message catalog: every code in both languages with the same parameters, every code the code raises in it, and
the language chosen the same way by every command (--lang, else SPSE_LANG, else id)."""

from __future__ import annotations

import argparse
import ast
import subprocess
import sys

import pytest

from exporter import messages
from exporter.config import ConfigError, parse_config
from tests.support import ROOT, without_language


def mismatches(catalog: dict[str, dict[str, str]]) -> list[str]:
    """Codes missing from a language, or whose templates name different parameters."""
    found = []
    for code in sorted(set(catalog["id"]) | set(catalog["en"])):
        if code not in catalog["id"] or code not in catalog["en"]:
            found.append(f"{code}: only in {'id' if code in catalog['id'] else 'en'}")
        elif messages.fields(catalog["id"][code]) != messages.fields(catalog["en"][code]):
            found.append(f"{code}: parameters {sorted(messages.fields(catalog['id'][code]))} in id, "
                         f"{sorted(messages.fields(catalog['en'][code]))} in en")
    return found


def test_every_code_is_in_both_languages_with_the_same_parameters():
    assert set(messages.MESSAGES) == set(messages.TYPE_WORDS) == {"id", "en"}
    assert len(messages.MESSAGES["en"]) > 100
    assert mismatches(messages.MESSAGES) == []


def test_the_parity_check_finds_a_missing_code_and_a_different_parameter():
    """Positive control: a code only in English, and one whose Indonesian names {file} where English names {path}."""
    catalog = {"en": {"gone": "gone", "where": "cannot read {path}"}, "id": {"where": "{file} tidak dapat dibaca"}}
    assert mismatches(catalog) == ["gone: only in en", "where: parameters ['file'] in id, ['path'] in en"]


def raised_codes() -> set[str]:
    """The codes exporter/ passes as string literals to Problem, the errors (ConfigError, ReportError, ...), fail, say,
    render and their kin."""
    names = {"Problem", "fail", "_bad", "say", "render", "require", "cls"}  # and every *Error
    codes = set()
    for path in (ROOT / "exporter").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call):
                name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                name = "Problem" if name and name.endswith("Error") else name
                codes.update(arg.value for arg in node.args if name in names and isinstance(arg, ast.Constant)
                             and isinstance(arg.value, str) and arg.value in messages.MESSAGES["en"])
                codes.update(arg.value for arg in node.args if name in names and isinstance(arg, ast.IfExp)
                             for arg in (arg.body, arg.orelse) if isinstance(arg, ast.Constant))
    return codes


def test_every_code_is_used_and_an_unknown_one_is_refused():
    unused = set(messages.MESSAGES["en"]) - raised_codes()
    assert unused == set(), f"codes nothing raises: remove them from exporter/messages.py: {sorted(unused)}"
    with pytest.raises(KeyError, match="no message 'no_such_code'"):
        messages.Problem("no_such_code")


def test_values_and_key_paths_stay_as_written_and_types_are_worded():
    err = ConfigError("spse.yml", "targets[0].interval", "duration_invalid", value="15 detik")
    assert err.render("id") == "spse.yml: targets[0].interval: '15 detik' bukan durasi (tulis seperti 500ms, 15s, 1m, " \
                               "1h30m)"
    assert str(err) == err.render("en") == \
        "spse.yml: targets[0].interval: '15 detik' is not a duration (use forms like 500ms, 15s, 1m, 1h30m)"
    with pytest.raises(ConfigError) as caught:
        parse_config("targets: 5\n", "spse.yml")
    assert caught.value.render("id") == "spse.yml: targets: harus berupa daftar, bukan bilangan bulat"
    assert caught.value.render("en") == "spse.yml: targets: must be a list, got int"


@pytest.mark.parametrize("flag, environ, expected", [
    (None, {}, "id"), ("en", {}, "en"), (None, {"SPSE_LANG": "en"}, "en"), ("id", {"SPSE_LANG": "en"}, "id"),
    (None, {"SPSE_LANG": " "}, "id")])
def test_the_flag_wins_over_the_environment_and_id_is_the_default(monkeypatch, flag, environ, expected):
    monkeypatch.delenv("SPSE_LANG", raising=False)
    for key, value in environ.items():
        monkeypatch.setenv(key, value)
    parser = argparse.ArgumentParser()
    messages.language_argument(parser)
    args = parser.parse_args([] if flag is None else ["--lang", flag])
    assert messages.resolve_language(parser, args) == expected == args.lang


def run(*args: str, **environ: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "exporter", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=60, env={**without_language(), **environ})


# Each command with the arguments it requires: the language is checked before anything else is done.
COMMANDS = {"exporter": ["--config.file=spse.yml"], "doctor": ["doctor", "--config.file=spse.yml"],
            "report": ["report", "--prometheus.url=http://127.0.0.1:9", "--site=s", "--from=2026-01-01 08:00",
                       "--to=2026-01-01 09:00"],
            "alertmanager-config": ["alertmanager-config", "alertmanager.yml", "out.yml"], "notify-test": ["notify-test"]}


@pytest.mark.parametrize("command", COMMANDS.values(), ids=COMMANDS.keys())
def test_a_language_that_does_not_exist_names_both_in_both_languages(command):
    for result, where in ((run(*command, "--lang=jv"), "'jv'"), (run(*command, SPSE_LANG="fr"), "SPSE_LANG='fr'")):
        assert result.returncode == 2, result.stderr
        assert where in result.stderr, result.stderr
        assert "use id (Bahasa Indonesia) or en (English)" in result.stderr, result.stderr
        assert "pakai id (bahasa Indonesia) atau en (bahasa Inggris)" in result.stderr, result.stderr
