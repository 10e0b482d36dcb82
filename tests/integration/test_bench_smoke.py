"""The benchmark harness (bench/) at toy size, so that it cannot rot: both exporters, one short window.

The figures themselves are not judged here (that is what the benchmark is for); only that the run
completes, both exporters probed every target, and both saw the same world.
"""

from __future__ import annotations

import json
import subprocess
import sys

from tests.support import ROOT

TARGETS = 5  # site 3 answers 504 (bench/world.py), so a fifth of the probes fail for both exporters


def probes_failed(result: dict) -> int:
    return round(result["failed_share"] * result["completed"])


def test_benchmark_runs_end_to_end_and_prints_the_table(tmp_path):
    figures = tmp_path / "bench.json"
    run = subprocess.run(
        [sys.executable, "-m", "bench.run", f"--targets={TARGETS}", "--schemes", "https", "--interval=2",
         "--timeout=1", "--duration=4", "--render-scrapes=10", f"--json={figures}"],
        cwd=ROOT, capture_output=True, text=True, timeout=90)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "| **ratio exporter / blackbox** |" in run.stdout, run.stdout
    results = {r["exporter"]: r for r in json.loads(figures.read_text())["results"]}
    assert set(results) == {"spse-exporter", "blackbox_exporter"}
    for name, result in results.items():
        assert result["completed"] >= TARGETS * 2 - 1, (name, result)  # two rounds in the window, give or take an edge
        # The window's edges cut rounds, so each target has k or k+1 probes in it: only site 3's fail, so the
        # failures are within one of a fifth of the probes (11 probes with 3 failed is site 3 probed a third time)
        assert abs(probes_failed(result) - result["completed"] / TARGETS) < 1, (name, result)
        assert result["cpu_s"] > 0 and result["rss"]["peak_mb"] > 0, (name, result)
    assert results["spse-exporter"]["render"]["scrapes"] == 10


def test_probe_cpu_runs_the_probe_code_against_the_world():
    run = subprocess.run(
        [sys.executable, "-m", "bench.probe_cpu", "--sites=10", "--probes=30", "--rounds=2", "--concurrency=5"],
        cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    runs = [line for line in run.stdout.splitlines() if line.startswith("# ")]
    # 9 sites (the slow one is left out), round robin: site 3 answers 504 on probes 3, 12 and 21
    assert len(runs) == 2 and all(line.endswith("{'http_status': 3, 'success': 27}") for line in runs), run.stdout
    assert f"| {ROOT} |" in run.stdout and run.stdout.rstrip().endswith("| 1.00 |"), run.stdout


def test_wal_window_measures_a_short_outage_without_loss():
    """bench/wal_window.py at toy size: a receiver away for a third of the sender's block gets every sample back."""
    run = subprocess.run([sys.executable, "-m", "bench.wal_window", "--block=15s", "--outages=5"],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    (row,) = [line for line in run.stdout.splitlines() if line.startswith("| 5 s |")]
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    assert int(cells[4]) >= 4 and cells[5] == cells[4] and cells[6] == "0", run.stdout  # sent, received, lost
