"""scripts/test.sh leaves the host's services as it found them: run in a copy of the repo with apt, dpkg,
systemctl, npm and the venv replaced by recording stand-ins, so nothing on this machine is touched."""

from __future__ import annotations

import os
import shutil
import subprocess

from tests.support import ROOT

SERVICES = ("prometheus", "prometheus-alertmanager", "prometheus-blackbox-exporter", "prometheus-node-exporter",
            "victoria-metrics", "mtail")


def stand_in(path, body: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/bash\n" + body)
    path.chmod(0o755)


def run_test_sh(tmp_path, active: set[str], installed: bool, started_by_install: set[str]):
    """Run scripts/test.sh; `active` services run before it, `started_by_install` start when apt installs."""
    repo, bin_dir, state = tmp_path / "repo", tmp_path / "bin", tmp_path / "state"
    (repo / "scripts").mkdir(parents=True)
    shutil.copy(ROOT / "scripts/test.sh", repo / "scripts/test.sh")
    state.mkdir()
    for service in active:
        (state / service).touch()
    log = tmp_path / "calls.log"
    record = f'echo "$(basename "$0") $*" >> {log}\n'
    stand_in(bin_dir / "dpkg-query", record + ("echo 'install ok installed'\n" if installed else "exit 1\n"))
    starts = "".join(f"touch {state}/{service}\n" for service in started_by_install)
    stand_in(bin_dir / "apt-get", record + f'if [ "$1" = install ]; then\n{starts}fi\n')
    stand_in(bin_dir / "systemctl", record + f'''service="${{@: -1}}"
case "$1" in
  is-active) [ -e "{state}/$service" ] ;;
  stop|disable) rm -f "{state}/$service" ;;
esac
''')
    stand_in(bin_dir / "npm", record)
    for tool in ("chronyd", "nginx", "ntpd"):  # unpacked already: test.sh downloads none of them
        stand_in(repo / ".cache/debs/root/usr/sbin" / tool, "")
    stand_in(repo / ".cache/debs/root/usr/lib/python3/dist-packages/ntp/libntpc.so", "")
    stand_in(repo / ".venv/bin/python", record)
    stand_in(repo / ".venv/bin/pip", record)
    env = {**os.environ, "PATH": f"{bin_dir}:/usr/bin:/bin"}
    result = subprocess.run(["bash", str(repo / "scripts/test.sh"), "-q"], capture_output=True, text=True,
                            env=env, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    return {path.name for path in state.iterdir()}, log.read_text()


def test_running_services_are_left_running(tmp_path):
    running, calls = run_test_sh(tmp_path, active=set(SERVICES), installed=True, started_by_install=set())
    assert running == set(SERVICES)
    assert "systemctl stop" not in calls and "systemctl disable" not in calls
    assert "python -m pytest -n 3 --dist loadfile -q" in calls


def test_services_started_by_the_install_are_stopped_and_disabled_again(tmp_path):
    running, calls = run_test_sh(tmp_path, active={"prometheus-node-exporter"}, installed=False,
                                 started_by_install={"prometheus", "prometheus-alertmanager", "victoria-metrics"})
    assert "apt-get install" in calls
    assert running == {"prometheus-node-exporter"}
    assert "systemctl disable --now --quiet prometheus\n" in calls
    assert "systemctl disable --now --quiet prometheus-alertmanager\n" in calls
    assert "systemctl disable --now --quiet victoria-metrics\n" in calls
    assert "prometheus-node-exporter" not in calls.replace("systemctl is-active --quiet prometheus-node-exporter", "")
