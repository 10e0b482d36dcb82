"""The READMEs stay in step with the repo: the metric table with exporter/metrics.py, the commands with the files
they name."""

from __future__ import annotations

import re

import pytest

from exporter.metrics import FAMILIES
from tests.support import ROOT


def readme_metric_rows() -> dict[str, str]:
    rows = re.findall(r"^\| `(spse_[a-z_]+)` \| (gauge|counter|histogram) \|", (ROOT / "README.md").read_text(), re.M)
    return dict(rows)


def test_readme_lists_every_metric_with_its_type():
    rows = readme_metric_rows()
    assert {f.name: f.type for f in FAMILIES} == rows



# A file the README's commands name: a relative path with one of the repo's file kinds, or .env and its examples.
REPO_FILE = re.compile(r"(?:[\w.-]+/)*[\w.-]+\.(?:yml|yaml|example|service|md|sh|py|json)|\.env[\w.]*")


@pytest.mark.parametrize("name", ["README.md", "README.id.md"])
def test_readme_commands_name_files_that_exist(name):
    """Followed literally on a fresh clone, every file a README command copies, edits or runs is in the repo or
    was created by an earlier command of the same README (a `cp` or `install` destination)."""
    created: set[str] = set()
    for block in re.findall(r"```sh\n(.*?)```", (ROOT / name).read_text(), re.S):
        for line in block.splitlines():
            for command in re.split(r"&&|;|\|", line.split(" #")[0]):
                words = [word.strip("'\"") for word in command.split()]
                if words[:1] == ["sudo"]:
                    words = words[1:]
                if words[:1] in (["cp"], ["install"]):
                    created.add(words[-1])
                for word in words:
                    if REPO_FILE.fullmatch(word) and word not in created:
                        assert (ROOT / word).exists(), f"{name}: `{line.strip()}` names {word}, which is not in the repo"
