"""Moves the flat tests/test_*.py files into the three tiers (docs/architecture.md, "Tests") with `git mv`,
and rewrites every tracked mention of an old path. Safe to run again: moved files are skipped. A test file
it has no line for stops it, with the tier the rules below suggest, so a new file is classified by a person.

Tiers: unit (in-process, no server, daemon or namespace; a one-shot command such as `git ls-files` or
`python -m exporter --check-config` is allowed), named after the module they test, mirroring exporter/;
integration (real Prometheus, Alertmanager, promtool/amtool, nginx, chronyd, ntpsec, dnsmasq, VictoriaMetrics
or the exporter process); e2e (network namespaces, or the exporter, Prometheus and Alertmanager together)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

UNIT = {
    "test_compose.py": "test_compose.py",
    "test_config.py": "config/test_config.py",
    "test_counters.py": "test_counters.py",
    "test_docs.py": "test_docs.py",
    "test_envfile.py": "test_envfile.py",
    "test_example_names.py": "test_example_names.py",
    "test_exposition_pinned.py": "test_exposition.py",
    "test_first_run.py": "test_main.py",
    "test_glossary.py": "test_glossary.py",
    "test_http_probe.py": "probes/test_http.py",
    "test_metrics.py": "test_metrics.py",
    "test_probe_history.py": "test_probe_history.py",
    "test_probe_kinds.py": "probes/test_registry.py",
    "test_runner.py": "probes/test_runner.py",
    "test_server.py": "test_server.py",
    "test_spse_page.py": "probes/test_spse_page.py",
    "test_thresholds.py": "test_thresholds.py",
    "test_transport.py": "probes/test_transport.py",
    "test_words.py": "test_words.py",
    "test_workhours.py": "test_workhours.py",
}
INTEGRATION = """alertmanager alertmanager_config bench_smoke config_fuzz dashboards dockerfile
    endpoint_security exporter formatting hostile_peers national_bench ntp_probe probe_logs probe_staleness reload
    report routing rules scrape_load spse systemd test_sh timex upstream watcher watcher_door""".split()
E2E = """alertmanager_receivers doctor eventloop gateway_inhibition host_time_probe incident native_install
    netns_faults notify real_servers remote_write runbook victoriametrics watcher_ha watcher_netns
    watcher_units""".split()

MOVES = {f"tests/{old}": f"tests/unit/{new}" for old, new in UNIT.items()}
MOVES |= {f"tests/test_{name}.py": f"tests/integration/test_{name}.py" for name in INTEGRATION}
MOVES |= {f"tests/test_{name}.py": f"tests/e2e/test_{name}.py" for name in E2E}


def suggest(path: Path) -> str:
    """The tier the rules give a new file, for the person who adds its line."""
    text = path.read_text()
    if re.search(r"netns|Topology|NamespacedStack", text) or all(
            re.search(word, text) for word in ("start_exporter|ExporterProcess", "start_prometheus|PrometheusProcess",
                                               "start_alertmanager|AlertmanagerProcess")):
        return "E2E"
    if re.search(r"\bstart_(exporter|prometheus|alertmanager|chrony)|Process\(|Nginx|Dnsmasq|NtpsecDaemon"
                 r"|promtool|amtool|\bbench\b|venv|scripts/", text):
        return "INTEGRATION"
    return "UNIT"


def git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, check=True, capture_output=True, text=True).stdout


def module(path: str) -> str:
    return path.removesuffix(".py").replace("/", ".")


def main() -> int:
    unknown = [p for p in sorted((ROOT / "tests").glob("test_*.py")) if f"tests/{p.name}" not in MOVES]
    if unknown:
        for path in unknown:
            print(f"no tier for tests/{path.name}; the rules suggest {suggest(path)}", file=sys.stderr)
        return 1
    for old, new in MOVES.items():
        if (ROOT / old).exists():
            for package in reversed([Path(new).parent, *Path(new).parent.parents][:-1]):  # tests/ first
                (ROOT / package).mkdir(exist_ok=True)
                if not (ROOT / package / "__init__.py").exists():
                    (ROOT / package / "__init__.py").touch()
                    git("add", str(package / "__init__.py"))
            git("mv", old, new)
    # Paths in docs and comments, and the module names tests import each other's helpers by.
    renames = MOVES | {module(old): module(new) for old, new in MOVES.items()}
    pattern = re.compile("(?:" + "|".join(re.escape(old) for old in renames) + r")\b")
    mentions = subprocess.run(["git", "grep", "-lIE", r"tests[/.]test_\w+"], cwd=ROOT, capture_output=True, text=True)
    if mentions.returncode > 1:  # 1: no file mentions an old path any more
        raise SystemExit(mentions.stderr)
    for name in mentions.stdout.split():
        path = ROOT / name
        path.write_text(pattern.sub(lambda m: renames[m.group(0)], path.read_text()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
