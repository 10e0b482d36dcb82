"""The exporter's Dockerfile, checked without a Docker engine: its instructions, its build context, and its
install step run for real in a clean venv, whose exporter then answers the image's HEALTHCHECK command.
"""

from __future__ import annotations

import fnmatch
import json
import os
import posixpath
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.fakes import FakeSPSE, free_port
from tests.support import ROOT, poll

DOCKERFILE = ROOT / "Dockerfile"
WHEELS = ROOT / ".cache" / "wheels"


def instructions(dockerfile: Path = DOCKERFILE) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined, comments dropped."""
    lines, current = [], ""
    for line in dockerfile.read_text().splitlines():
        if line.lstrip().startswith("#") or not line.strip():
            continue
        current += line.rstrip("\\").strip() + " "
        if not line.endswith("\\"):
            lines.append(current.strip())
            current = ""
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def arguments(name: str, dockerfile: Path = DOCKERFILE) -> list[str]:
    return [args for instruction, args in instructions(dockerfile) if instruction == name]


def exec_form(args: str) -> list[str]:
    """A JSON exec form such as ["python", "-c", "..."]; the shell form is not allowed here."""
    assert args.startswith("["), f"use the exec form (JSON list): {args}"
    return json.loads(args)


def dockerignored(path: str) -> bool:
    """Docker's .dockerignore rule: the last pattern matching the path or one of its parents decides."""
    patterns = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    parts = path.split("/")
    ignored = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        pattern = pattern.lstrip("!").rstrip("/")
        if any(fnmatch.fnmatchcase("/".join(parts[:i]), pattern) for i in range(1, len(parts) + 1)):
            ignored = not negated
    return ignored


def copies() -> list[tuple[str, str]]:
    """(source, absolute destination path) of each COPY, as Docker resolves them against the WORKDIR."""
    result, workdir = [], "/"
    for instruction, args in instructions():
        if instruction == "WORKDIR":
            workdir = args
        elif instruction == "COPY":
            source, dest = shlex.split(args)
            if dest.endswith("/") or dest == ".":  # into a directory: keeps the source's name
                dest = f"{dest}/{posixpath.basename(source.rstrip('/'))}"
            result.append((source, posixpath.normpath(posixpath.join(workdir, dest))))
    return result


def pip_steps() -> list[list[str]]:
    """The pip commands of the RUN lines, as argument lists."""
    steps = []
    for args in arguments("RUN"):
        for command in args.split("&&"):
            words = shlex.split(command)
            if words and words[0] == "pip":
                steps.append(words)
    assert steps, "the Dockerfile installs nothing with pip"
    return steps


def test_base_image_is_a_pinned_slim_python():
    (image,) = arguments("FROM")
    assert fnmatch.fnmatchcase(image, "python:3.*.*-slim-*"), image
    version = image.split(":")[1].split("-")[0]
    assert version.count(".") == 2, f"pin the patch version: {image}"


def test_runs_as_a_non_root_user():
    users = arguments("USER")
    assert users, "no USER: the exporter would run as root"
    assert users[-1].split(":")[0] not in ("0", "root"), users[-1]
    names = [name for name, _ in instructions()]
    assert names.index("USER") < names.index("ENTRYPOINT")


def command() -> list[str]:
    """What the image runs by default: ENTRYPOINT then CMD."""
    return exec_form(arguments("ENTRYPOINT")[-1]) + exec_form(arguments("CMD")[-1])


def config_path() -> str:
    """The --config.file the image runs with: the path the operator's file is mounted at."""
    (config,) = [arg.split("=", 1)[1] for arg in command() if arg.startswith("--config.file=")]
    return config


def test_serves_on_10040_with_the_mounted_config():
    assert command()[0] == "spse-exporter"
    assert "--web.listen-address=:10040" in command()
    assert arguments("EXPOSE") == ["10040"]
    # Like the command line, the image probes nothing until the operator gives it a config: none is baked in.
    baked = [(source, dest) for source, dest in copies()
             if source.endswith(".yml") or posixpath.dirname(config_path()) in (dest, posixpath.dirname(dest))]
    assert not baked, f"the image must not ship a config it runs by default: {baked}"


def test_healthcheck_asks_healthy_with_python():
    (healthcheck,) = arguments("HEALTHCHECK")
    command = exec_form(healthcheck.split(" CMD ", 1)[1])
    assert command[0] == "python" and "/-/healthy" in command[-1]


def test_build_context_holds_what_copy_needs():
    for source, _ in copies():
        assert (ROOT / source).exists(), source
        assert not dockerignored(source), f"{source} is excluded by .dockerignore"
    for private in (".git", ".venv", "tests/fakes.py", ".env", "config/spse.yml", "grafana/generate.py"):
        assert dockerignored(private), f"{private} would be sent to the Docker daemon"


@pytest.fixture(scope="module")
def image_venv(tmp_path_factory) -> Path:
    """A clean venv with the package installed the Dockerfile's way, from a copy of its COPY sources."""
    root = tmp_path_factory.mktemp("image")
    for source, dest in copies():
        target = root / dest.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        if (ROOT / source).is_dir():
            shutil.copytree(ROOT / source, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(ROOT / source, target)
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    (workdir,) = {dest.rsplit("/", 1)[0] for source, dest in copies() if source == "pyproject.toml"}
    assert any(WHEELS.glob("*.whl")), f"no wheels in {WHEELS}: scripts/test.sh builds them"
    # Offline, from the wheels scripts/test.sh built: the same command, no traffic beyond this machine.
    offline = {**os.environ, "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(WHEELS)}
    for step in pip_steps():
        result = subprocess.run([str(venv / "bin" / "pip"), *step[1:]], cwd=root / workdir.lstrip("/"),
                                capture_output=True, text=True, timeout=300, env=offline)
        assert result.returncode == 0, result.stdout + result.stderr
    return venv


def test_installed_exporter_runs_its_version_and_config_check(image_venv, tmp_path):
    exporter = image_venv / "bin" / "spse-exporter"
    version = subprocess.run([str(exporter), "--version"], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert version.returncode == 0 and version.stdout.startswith("spse-exporter "), version.stderr
    check = subprocess.run([str(exporter), "--config.file", str(ROOT / "exporter/examples/spse.yml"),
                            "--check-config"], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert check.returncode == 0 and ": valid: " in check.stdout, check.stdout + check.stderr  # in Bahasa Indonesia


def test_default_command_without_the_mount_refuses_and_names_it(image_venv, tmp_path):
    """`docker run spse-exporter` without -v: the image's own command, its config path absent, exits 2 before
    probing anything and says what to mount where."""
    absent = str(tmp_path / config_path().lstrip("/"))
    argv = [arg.replace(config_path(), absent) for arg in command()[1:]]
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "SPSE_LANG")}
    result = subprocess.run([str(image_venv / "bin" / "spse-exporter"), *argv], capture_output=True, text=True,
                            timeout=60, cwd=tmp_path, env=env)
    assert result.returncode == 2, result.stderr
    # The image speaks the product's default language, Bahasa Indonesia (SPSE_LANG=en for English).
    assert f"--config.file {absent} tidak ditemukan, sehingga tidak ada yang dapat diperiksa" in result.stderr
    assert f'-v "$PWD/config/spse.yml:{absent}:ro"' in result.stderr and "listening" not in result.stderr


def test_healthcheck_command_passes_against_the_installed_exporter(image_venv, tmp_path):
    spse = FakeSPSE()
    config = tmp_path / "spse.yml"
    config.write_text(yaml.safe_dump({"interval": "5s", "timeout": "2s",
                                      "targets": [{"name": "local", "url": spse.url}]}))
    port = free_port()
    healthcheck = exec_form(arguments("HEALTHCHECK")[0].split(" CMD ", 1)[1])
    command = [str(image_venv / "bin" / "python"), *healthcheck[1:-1],
               healthcheck[-1].replace("127.0.0.1:10040", f"127.0.0.1:{port}")]
    # The installed console script, started where the repo's own package cannot be imported.
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    exporter = subprocess.Popen([str(image_venv / "bin" / "spse-exporter"), f"--config.file={config}",
                                 f"--web.listen-address=127.0.0.1:{port}"], cwd=tmp_path, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        poll(lambda: subprocess.run(command, cwd=tmp_path, capture_output=True, timeout=30).returncode == 0,
             timeout=30, interval=0.2, what="the HEALTHCHECK command to pass")
        exporter.terminate()
        exporter.wait(10)
        assert subprocess.run(command, cwd=tmp_path, capture_output=True, timeout=30).returncode != 0
    finally:
        exporter.kill()
        exporter.wait(10)
        spse.close()


def test_installed_package_serves_the_runbook(image_venv, tmp_path):
    """exporter/runbook.md is a link to docs/runbook.md: the image's install must carry the text, not the link."""
    result = subprocess.run([str(image_venv / "bin" / "python"), "-c",
                             "from exporter import runbook; print(runbook.markdown_text())"],
                            capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.rstrip("\n") == (ROOT / "docs/runbook.md").read_text().rstrip("\n")
