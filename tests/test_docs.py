"""The README's metric table and the metric contract in exporter/metrics.py stay in step."""

from __future__ import annotations

import re

from exporter.metrics import FAMILIES
from tests.support import ROOT


def readme_metric_rows() -> dict[str, str]:
    rows = re.findall(r"^\| `(spse_[a-z_]+)` \| (gauge|counter|histogram) \|", (ROOT / "README.md").read_text(), re.M)
    return dict(rows)


def test_readme_lists_every_metric_with_its_type():
    rows = readme_metric_rows()
    assert {f.name: f.type for f in FAMILIES} == rows

