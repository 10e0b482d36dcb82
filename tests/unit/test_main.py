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
    ([], "belum ada --config.file, jadi tidak ada yang diperiksa"),
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
