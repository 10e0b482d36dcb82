"""The benchmark harness (bench/) at toy size, so that it cannot rot: both exporters, one short window.

The figures themselves are not judged here (that is what the benchmark is for); only that the run
completes, both exporters probed every target, and both saw the same world.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench import report
from bench.run import measure, world_budget
from bench.subjects import Blackbox, Case, SpseExporter, blackbox_checks, watcher_example
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
        # each exporter's own timing of its probes: five loopback sites, none of them slow, answer in milliseconds
        assert 0 < result["probe_ms_mean"] < 1000, (name, result)
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


def test_round_lateness_is_measured_against_each_targets_own_grid():
    on_time = [100.0 + 15 * k for k in range(6)]
    assert report.lateness(on_time, 15.0) == [0.0] * 6
    assert report.lateness(on_time[:1], 15.0) == []  # one round is on its own grid: no figure, not a 0
    # round 2 starts 3 s late, round 4 is skipped, round 5 is 0.5 s early: the grid's phase is that earliest round's
    starts = [100.0, 115.0, 133.0, 145.0, 174.5]
    assert [round(late, 3) for late in report.lateness(starts, 15.0)] == [0.5, 0.5, 3.5, 0.5, 0.0]
    # a round more than half an interval late is late, not early for the next slot
    assert [round(late, 3) for late in report.lateness([100.0, 115.0, 138.0, 145.0], 15.0)] == [0, 0, 8, 0]
    # rounds() reports the same: one target late as above, one on time
    figures = report.rounds({"a": starts, "b": on_time}, 100.0, 175.0, 15.0)
    assert figures["lateness_max_ms"] == pytest.approx(3500) and figures["missed"] == 1, figures
    assert report.rounds({"b": on_time}, 100.0, 175.0, 15.0)["lateness_max_ms"] == 0.0


def test_the_watcher_profile_probes_as_watcher_yml_says_with_the_same_checks_for_both():
    world = {"sites": [{"port": 8001, "kind": "ok"}, {"port": 8002, "kind": "504"}],
             "ntp": ["127.0.0.1:1"] * 3, "anchors": ["127.0.0.1:2"] * 3}
    case = Case(2, "https", 30.0, 15.0, 10.0, "localhost", None, profile="watcher")
    ca_file = Path("/ca.pem")
    ours = SpseExporter(case, world, Path("/unused"), ca_file).config()
    settings, checks = watcher_example()
    assert set(ours) == {"interval", "timeout", "targets"}, ours  # no clock round, no upstream checks
    assert (ours["interval"], ours["timeout"]) == (settings["interval"], settings["timeout"])
    assert [target["url"] for target in ours["targets"]] == ["https://localhost:8001/eproc4", "https://localhost:8002/eproc4"]
    assert all(target.items() >= checks.items() and target["tls"] == {"ca_file": str(ca_file)}
               for target in ours["targets"]), ours
    theirs = Blackbox(case, world, Path("/unused"), ca_file).config()["modules"]["spse"]["http"]
    assert theirs["valid_status_codes"] == checks["valid_status_codes"]
    assert theirs["fail_if_body_matches_regexp"] == checks["fail_if_body_matches"]
    # the site profile adds the clock and upstream checks; a check blackbox cannot do stops the run
    site = SpseExporter(Case(2, "https", 30.0, 15.0, 10.0, "localhost", None), world, Path("/unused"), ca_file)
    assert {"clock", "upstream"} <= set(site.config())
    with pytest.raises(ValueError, match="spse"):
        blackbox_checks({**checks, "spse": {"app_check": False}})


def test_the_watcher_profile_runs_several_sizes_and_says_where_each_exporter_fell_behind(tmp_path):
    """The watcher's command and the growth table's at toy size: every figure of both tables is there and sane."""
    figures = tmp_path / "bench.json"
    sizes = (2, 5)
    run = subprocess.run(
        [sys.executable, "-m", "bench.run", "--profile=watcher", "--targets", *map(str, sizes), "--interval=2",
         "--timeout=1", "--duration=6", "--render-scrapes=5", f"--json={figures}"],
        cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert run.returncode == 0, run.stdout + run.stderr
    results = json.loads(figures.read_text())["results"]
    assert sorted((r["case"]["targets"], r["exporter"]) for r in results) == sorted(
        (size, name) for size in sizes for name in ("spse-exporter", "blackbox_exporter"))
    for result in results:
        targets, rounds = result["case"]["targets"], result["rounds"]
        assert result["case"]["profile"] == "watcher" and rounds["expected"] == targets * 3, result
        # three rounds in the window, each target may lose one at its edges (so two or more give a lateness)
        assert result["completed"] >= targets * 2, result
        assert 0 <= result["cpu_pct"] <= 101, result  # a share of the one core both are pinned to
        assert 0 <= rounds["lateness_p99_ms"] <= rounds["lateness_max_ms"], result
        assert result["render"]["scrapes"] == 5 and 0 < result["render"]["p50_ms"] <= result["render"]["p99_ms"]
        assert result["world_failed_share"] == (0.2 if targets == 5 else 0.0), result  # site 3 answers 504
    (header,) = [i for i, line in enumerate(run.stdout.splitlines()) if line.startswith("Where each exporter fell")]
    bends = run.stdout.splitlines()[header + 1:header + 3]
    for name, line in zip(("spse-exporter", "blackbox_exporter"), bends):
        assert line.startswith(f"- {name}: 2 https ") and ", 5 https " in line, run.stdout
    # each size's rows as soon as it is measured, before the whole table: a long run stopped later keeps them
    measured = run.stdout.split("# measured:\n")[1:]
    assert [part.splitlines()[2].split("|")[1].strip() for part in measured] == ["2", "5"], run.stdout


def test_the_world_outlives_both_turns_of_a_large_case():
    """At 5,000 targets a turn took 240 s beyond its window before the timed scrapes; a world that stopped at a
    budget fixed by the window alone exited in blackbox_exporter's turn and the row was lost."""
    case = Case(5000, "https", 120.0, 15.0, 10.0, "localhost", None)
    assert world_budget(case, render_scrapes=200) >= 2 * (case.duration + 240 + 200)
    small = Case(5, "https", 4.0, 2.0, 1.0, "localhost", None)
    assert world_budget(small, render_scrapes=10) < world_budget(case, render_scrapes=200)


def test_an_exporter_that_never_comes_up_is_stopped_before_the_run_ends():
    """A first 5,000-target attempt timed out waiting for /-/ready and left the exporter running after the harness."""
    class NeverReady:
        stopped = False

        async def start(self):
            raise AssertionError("timed out waiting for /-/ready")

        async def stop(self):
            self.stopped = True

    subject = NeverReady()
    with pytest.raises(AssertionError, match="ready"):
        asyncio.run(measure(subject, None, None, 0))
    assert subject.stopped


def test_the_goals_are_issue_23s_ratios_to_blackbox_exporter():
    """At most 0.8 of its CPU per probe on HTTPS, 1.0 on plain HTTP, twice its steady RSS; each judged both ways."""
    def figures(scheme: str, cpu_ms: float, rss_mb: float) -> dict:
        return {"case": {"scheme": scheme}, "cpu_ms_per_probe": cpu_ms, "late_logged": 0, "render": {"p99_ms": 20.0},
                "rounds": {"missed": 0, "late": 0}, "rss": {"steady_mb": rss_mb, "peak_mb": rss_mb, "growth_mb": 0.0}}

    def met(ours: dict, theirs: dict) -> dict[str, bool]:
        return {text.split(" of ")[0].split(" times")[0]: ok for text, ok in report.goals(ours, theirs)}

    blackbox = {scheme: figures(scheme, 10.0, 25.0) for scheme in ("http", "https")}
    assert met(figures("https", 8.0, 50.0), blackbox["https"]) == {
        "no missed or late rounds": True, "CPU per probe at most 0.8": True, "RSS under 150 MiB": True,
        "RSS at most 2": True, "RSS flat (grew < 5% over the run)": True, "/metrics p99 under 50 ms": True}
    assert not met(figures("https", 8.1, 50.1), blackbox["https"])["CPU per probe at most 0.8"]
    assert not met(figures("https", 8.1, 50.1), blackbox["https"])["RSS at most 2"]
    assert met(figures("http", 10.0, 50.0), blackbox["http"])["CPU per probe at most 1"]
    assert not met(figures("http", 10.1, 50.0), blackbox["http"])["CPU per probe at most 1"]
