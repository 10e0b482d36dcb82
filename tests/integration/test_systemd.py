"""contrib/systemd/spse-exporter.service: systemd 252 (Debian 12) verifies it without a warning, rates its
sandbox "OK" offline, and its command line is one the exporter accepts."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.support import ROOT

UNIT = ROOT / "contrib/systemd/spse-exporter.service"
INSTALLED_BINARY = "/opt/spse-exporter/bin/spse-exporter"  # README: python3 -m venv /opt/spse-exporter
VENV_BINARY = Path(sys.executable).with_name("spse-exporter")  # the venv the tests run in


def settings() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in UNIT.read_text().splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, value = line.split("=", 1)
            found.setdefault(key, []).append(value)
    return found


def test_unit_verifies_without_warnings(tmp_path):
    # verify checks that ExecStart exists: point it at the tests' venv, as the README's install has it
    # under /opt/spse-exporter, which this test machine does not.
    text = UNIT.read_text()
    assert f"ExecStart={INSTALLED_BINARY} " in text
    unit = tmp_path / UNIT.name
    unit.write_text(text.replace(f"ExecStart={INSTALLED_BINARY}", f"ExecStart={VENV_BINARY}"))
    result = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr


def test_a_misspelt_setting_would_be_caught(tmp_path):
    """The check above is meaningful: systemd-analyze reports unknown keys on stderr (its exit code stays 0)."""
    unit = tmp_path / UNIT.name
    unit.write_text(UNIT.read_text().replace(f"ExecStart={INSTALLED_BINARY}", f"ExecStart={VENV_BINARY}")
                    .replace("NoNewPrivileges=", "NoNewPrivilege="))
    result = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60)
    assert "Unknown key 'NoNewPrivilege'" in result.stderr


def test_unit_is_non_root_and_hardened():
    unit = settings()
    assert unit["DynamicUser"] == ["yes"] and "User" not in unit
    for key, value in {"NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes",
                       "CapabilityBoundingSet": "", "RestrictSUIDSGID": "yes"}.items():
        assert unit[key] == [value], key
    assert unit["RestrictAddressFamilies"] == ["AF_INET AF_INET6 AF_UNIX AF_NETLINK"]
    assert unit["SystemCallFilter"] == ["@system-service", "~@privileged @resources"]
    assert unit["ExecReload"] == ["/bin/kill -HUP $MAINPID"]
    result = subprocess.run(["systemd-analyze", "security", "--offline=true", str(UNIT)],
                            capture_output=True, text=True, timeout=60)
    level = re.search(r"Overall exposure level for spse-exporter.service: ([\d.]+) (\w+)", result.stdout)
    assert level and float(level.group(1)) <= 2.0, result.stdout[-500:]


def clock_filter(unit: Path) -> str:
    """systemd-analyze's offline verdict on @clock (adjtimex) for `unit` and its drop-ins next to it."""
    result = subprocess.run(["systemd-analyze", "security", "--offline=true", str(unit)], capture_output=True,
                            text=True, timeout=60, env={"SYSTEMD_UNIT_PATH": f"{unit.parent}:"}, cwd=unit.parent)
    return re.search(r"SystemCallFilter=~@clock .*", result.stdout).group(0)


def test_readme_drop_in_lets_host_kernel_read_the_clock(tmp_path):
    """The unit blocks adjtimex, which clock.host_kernel reads with; the README's drop-in allows it."""
    unit = tmp_path / UNIT.name
    unit.write_text(UNIT.read_text())
    assert "@clock is not included" in clock_filter(unit)
    (block,) = re.findall(r"```ini\n(\[Service\].*?)```", (ROOT / "README.md").read_text(), re.S)
    (tmp_path / f"{UNIT.name}.d").mkdir()
    (tmp_path / f"{UNIT.name}.d/host-kernel.conf").write_text(block)
    assert "adjtimex is allowed" in clock_filter(unit)
    assert "CapabilityBoundingSet=\n" in UNIT.read_text()  # still no CAP_SYS_TIME: reading only


def test_exec_start_flags_are_the_exporters(tmp_path):
    (command,) = settings()["ExecStart"]
    binary, *flags = command.split()
    config = tmp_path / "spse.yml"
    config.write_text((ROOT / "exporter/examples/spse.yml").read_text())
    flags = [f"--config.file={config}" if flag.startswith("--config.file=") else flag for flag in flags]
    result = subprocess.run([str(VENV_BINARY), *flags, "--check-config"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
