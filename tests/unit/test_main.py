"""A first run probes nothing the operator did not configure: no config means a clear refusal, compose needs the
operator's own config, and the example (which the README's commands copy) names no real SPSE site."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
import yaml

from exporter.config import EXAMPLE_CONFIG
from tests.support import ROOT, without_language
from tests.unit.test_compose import PASSWORD, compose_config, env_example


@pytest.mark.parametrize("flags, words", [
    ([], "--config.file belum diberikan, sehingga tidak ada yang dapat diperiksa"),
    (["--lang=en"], "no --config.file given, so there is nothing to probe")])
def test_without_a_config_the_exporter_refuses_and_says_what_to_configure(flags, words):
    result = subprocess.run([sys.executable, "-m", "exporter", *flags], capture_output=True, text=True, cwd=ROOT,
                            timeout=30, env=without_language())
    assert result.returncode == 2
    assert words in result.stderr, result.stderr
    assert f"cp {EXAMPLE_CONFIG} spse.yml" in result.stderr
    assert "listening" not in result.stderr


def test_compose_refuses_to_start_without_the_operators_config(tmp_path):
    settings = {**env_example(), "GRAFANA_ADMIN_PASSWORD": PASSWORD}
    del settings["SPSE_CONFIG_FILE"]
    env_file = tmp_path / ".env"
    env_file.write_text("".join(f"{key}={value}\n" for key, value in settings.items()))
    result = compose_config(env_file)
    assert result.returncode != 0 and "set SPSE_CONFIG_FILE in .env" in result.stderr, result.stderr


@pytest.mark.parametrize("example", [EXAMPLE_CONFIG, EXAMPLE_CONFIG.with_name("watcher.yml")], ids=lambda p: p.name)
def test_the_example_probes_no_real_spse_site(example):
    """Copied unedited (the site's or the watcher's), an example fails with reason dns on a reserved name (RFC
    2606/6761 .example, which no resolver answers) instead of loading a real LPSE site."""
    for target in yaml.safe_load(example.read_text())["targets"]:
        assert re.match(r"https?://lpse\.[a-z]+\.example/", target["url"]), target["url"]


def test_readme_commands_run_the_exporter_on_the_operators_own_config():
    for name in ("README.md", "README.id.md"):
        blocks = re.findall(r"```sh\n(.*?)```", (ROOT / name).read_text(), re.S)
        runs = [line for block in blocks for line in block.splitlines() if re.search(r"\bspse-exporter --", line)]
        assert runs, name
        for line in runs:
            assert "examples/spse.yml" not in line.split("#")[0], f"{name}: {line}"


# Bad configs, the key path each error names, and what is wrong in Bahasa Indonesia and in English.
BAD_CONFIGS = [
    ("targets: [{name: a, url: 'gopher://x/'}]\n", "targets[0].url", "skema harus http atau https",
     "scheme must be http or https"),
    ("targets: [{name: a, url: 'http://x/', interval: 15 detik}]\n", "targets[0].interval",
     "'15 detik' bukan durasi (tulis seperti 500ms, 15s, 1m, 1h30m)", "'15 detik' is not a duration"),
    ("targets: [{name: a, url: 'http://x/', intervall: 15s}]\n", "targets[0].intervall",
     "kunci tidak dikenal (yang diizinkan: name, url, interval", "unknown key (allowed: name, url, interval"),
    ("interval: 15s\ninterval: 30s\ntargets: [{name: a, url: 'http://x/'}]\n", "interval",
     "kunci ganda di baris 2 (pertama di baris 1); hapus salah satunya",
     "duplicate key at line 2 (first at line 1); remove one of them"),
    ("upstream: {nasional: ['tcp://192.0.2.1:443']}\n", "upstream.nasional",
     "grup 'nasional' tidak dikenal: apakah maksud Anda 'national'?", "unknown group 'nasional': did you mean 'national'?"),
    ("targets: 5\n", "targets", "harus berupa daftar, bukan bilangan bulat", "must be a list, got int"),
    ("targets: [\n", "", "baris 2, kolom 1: YAML tidak valid", "line 2, column 1: invalid YAML"),
]


@pytest.mark.parametrize("text, path, indonesian, english", BAD_CONFIGS, ids=[c[1] or "yaml" for c in BAD_CONFIGS])
def test_check_config_speaks_indonesian_by_default_and_english_when_asked(tmp_path, text, path, indonesian, english):
    config = tmp_path / "spse.yml"
    config.write_text(text)
    where = f"{config}: {path}: " if path else f"{config}: "

    def check(*flags: str, **environ: str) -> str:
        result = subprocess.run([sys.executable, "-m", "exporter", f"--config.file={config}", "--check-config",
                                 *flags], capture_output=True, text=True, cwd=ROOT, timeout=30,
                                env={**without_language(), **environ})
        assert result.returncode == 2 and not result.stdout, result
        return result.stderr

    stderr = check()
    assert f"konfigurasi tidak valid: {where}{indonesian}" in stderr, stderr
    assert english not in stderr and "Perbaiki kesalahan yang disebut di atas" in stderr, stderr
    for stderr in (check("--lang=en"), check(SPSE_LANG="en")):
        assert f"invalid config: {where}{english}" in stderr, stderr
        assert indonesian not in stderr and "Fix the error named above" in stderr, stderr
