"""docker-compose.yml, checked without a Docker engine: Debian's docker-compose validates and resolves it with
.env.example's settings, and the resolved stack must be pinned, private by default and wired to files that exist.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.support import ROOT
from tests.integration.test_dockerfile import arguments, config_path

COMPOSE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
SERVICES = {"exporter", "prometheus", "alertmanager-config", "alertmanager", "grafana"}
PASSWORD = "test-only-password"


def env_example() -> dict[str, str]:
    pairs = (line.split("=", 1) for line in ENV_EXAMPLE.read_text().splitlines()
             if line.strip() and not line.startswith("#"))
    return {key.strip(): value.strip() for key, value in pairs}


def compose_config(env_file: Path) -> subprocess.CompletedProcess:
    """`docker-compose config` (Debian's 1.29) on the repo's file with `env_file` and a clean environment."""
    env = {key: value for key, value in os.environ.items() if key not in env_example()}
    return subprocess.run(["docker-compose", "--project-directory", str(ROOT), "-f", str(COMPOSE),
                           "--env-file", str(env_file), "config"],
                          capture_output=True, text=True, env=env, timeout=60)


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> dict:
    """The stack as compose resolves it for an operator who followed .env.example's instructions."""
    tmp = tmp_path_factory.mktemp("compose")
    config = tmp / "spse.yml"
    shutil.copy(ROOT / "exporter/examples/spse.yml", config)  # cp exporter/examples/spse.yml config/spse.yml
    settings = {**env_example(), "GRAFANA_ADMIN_PASSWORD": PASSWORD, "SPSE_CONFIG_FILE": str(config)}
    env_file = tmp / ".env"
    env_file.write_text("".join(f"{key}={value}\n" for key, value in settings.items()))
    result = compose_config(env_file)
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


def ports(service: dict) -> list[tuple[str, int, int]]:
    """(host address, published port, container port); compose prints both the short and the long form."""
    found = []
    for port in service.get("ports", []):
        if isinstance(port, dict):
            found.append((port.get("host_ip", ""), int(port["published"]), int(port["target"])))
        else:
            *host, published, target = port.split("/")[0].split(":")
            found.append((host[0] if host else "", int(published), int(target)))
    return found


def bind_mounts(service: dict) -> list[tuple[Path, str, bool]]:
    """(host path, container path, read-only) of each bind mount; named volumes are left out."""
    mounts = []
    for volume in service.get("volumes", []):
        source, target, *mode = volume.split(":")
        if source.startswith("/"):
            mounts.append((Path(source), target, mode == ["ro"]))
    return mounts


def host_path(service: dict, container_path: str) -> Path:
    """The host file a container path of `service` shows, through its bind mounts: the deepest mount wins, as
    ./secrets at /etc/prometheus/secrets shows over ./prometheus at /etc/prometheus."""
    for source, target, _ in sorted(bind_mounts(service), key=lambda mount: len(mount[1]), reverse=True):
        if container_path == target or container_path.startswith(target.rstrip("/") + "/"):
            return source / container_path[len(target):].lstrip("/")
    raise AssertionError(f"{container_path} is not mounted from the host")


def flag(service: dict, name: str) -> str:
    (value,) = [arg.split("=", 1)[1] for arg in service["command"] if arg.startswith(f"{name}=")]
    return value


def test_env_example_as_shipped_refuses_to_start_without_a_grafana_password():
    result = compose_config(ENV_EXAMPLE)
    assert result.returncode != 0
    assert "GRAFANA_ADMIN_PASSWORD" in result.stderr


def test_env_example_documents_every_variable_compose_reads():
    used = set(re.findall(r"\$\{(\w+)", COMPOSE.read_text()))
    assert used == set(env_example()), f"only in compose: {used - set(env_example())}, " \
                                       f"only in .env.example: {set(env_example()) - used}"


def test_services_and_pinned_images(stack):
    services = stack["services"]
    assert set(services) == SERVICES
    for name, service in services.items():
        if "build" in service:
            assert Path(service["build"]["context"], service["build"].get("dockerfile", "Dockerfile")).exists()
            continue
        image, _, tag = service["image"].rpartition(":")
        assert image and re.fullmatch(r"v?\d+\.\d+\.\d+", tag), f"{name}: pin an exact version, not {service['image']}"


def test_images_match_what_the_tests_run(stack):
    """Prometheus and Alertmanager as the Debian binaries the rule tests use; Grafana as the schema version."""
    images = {name: service.get("image", "") for name, service in stack["services"].items()}
    for name, binary in (("prometheus", "/usr/bin/prometheus"), ("alertmanager", "/usr/bin/prometheus-alertmanager")):
        output = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30)
        version = re.search(r"version (\d+\.\d+\.\d+)", output.stdout + output.stderr).group(1)
        assert images[name].endswith(f":v{version}"), (images[name], version)
    schema = json.loads((ROOT / "tests/dashboard-schema/package.json").read_text())["devDependencies"]
    assert images["grafana"] == f"grafana/grafana:{schema['@grafana/schema']}"


def test_only_grafana_listens_on_every_interface(stack):
    for name, service in stack["services"].items():
        for host, published, target in ports(service):
            if name == "grafana":
                assert host in ("", "0.0.0.0") and target == 3000
            else:
                assert host == "127.0.0.1", f"{name} publishes {published} beyond localhost"


def test_mounts_exist_and_config_is_read_only(stack):
    for name, service in stack["services"].items():
        for source, target, read_only in bind_mounts(service):
            assert source.exists(), f"{name}: {source} does not exist"
            assert read_only, f"{name}: {target} should be mounted read-only"
        named = [v.split(":")[0] for v in service.get("volumes", []) if not v.startswith("/")]
        assert set(named) <= set(stack.get("volumes", {})), name
    assert stack["services"]["exporter"]["read_only"] is True


def test_health_checks_and_start_order(stack):
    services = stack["services"]
    for name, service in services.items():
        has_check = "healthcheck" in service or ("build" in service and arguments("HEALTHCHECK"))
        assert has_check, f"{name} has no healthcheck"
    assert services["grafana"]["depends_on"]["prometheus"]["condition"] == "service_healthy"
    assert services["prometheus"]["depends_on"]["alertmanager"]["condition"] == "service_healthy"


def test_grafana_login_and_anonymous_viewing(stack):
    environment = stack["services"]["grafana"]["environment"]
    assert environment["GF_SECURITY_ADMIN_PASSWORD"] == PASSWORD
    assert environment["GF_AUTH_ANONYMOUS_ENABLED"] == env_example()["GRAFANA_ANONYMOUS_ENABLED"] == "false"
    assert environment["GF_AUTH_ANONYMOUS_ORG_ROLE"] == "Viewer"
    assert environment["GF_USERS_ALLOW_SIGN_UP"] == "false"


def test_container_paths_lead_to_the_repo_files(stack):
    services = stack["services"]
    prometheus_yml = host_path(services["prometheus"], flag(services["prometheus"], "--config.file"))
    assert prometheus_yml == ROOT / "prometheus/prometheus.yml"
    prometheus = yaml.safe_load(prometheus_yml.read_text())
    for pattern in prometheus["rule_files"]:
        assert list(prometheus_yml.parent.glob(pattern)), pattern
    # Alertmanager reads the file alertmanager-config renders from the shipped one, in the volume they share;
    # the rendered template paths are container paths that Alertmanager sees as the repo's templates.
    render = services["alertmanager-config"]
    command, template, output = render["command"]
    assert command == "alertmanager-config" and host_path(render, template) == ROOT / "prometheus/alertmanager.yml"
    assert flag(services["alertmanager"], "--config.file") == output
    assert services["alertmanager"]["depends_on"]["alertmanager-config"]["condition"] == "service_completed_successfully"
    for pattern in yaml.safe_load(Path(ROOT / "prometheus/alertmanager.yml").read_text()).get("templates", []):
        container_glob = str(Path(template).parent / pattern)
        assert host_path(render, container_glob) == host_path(services["alertmanager"], container_glob)
        assert list((ROOT / "prometheus").glob(pattern)), pattern
    # the operator's copy of the example, mounted where the image's command reads its config
    assert host_path(services["exporter"], config_path()).read_text() == \
        (ROOT / "exporter/examples/spse.yml").read_text()
    grafana = services["grafana"]
    home = host_path(grafana, grafana["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"])
    assert home == ROOT / "grafana/dashboards/spse-overview.json"
    provisioning = host_path(grafana, "/etc/grafana/provisioning")
    for provider in yaml.safe_load((provisioning / "dashboards/spse.yml").read_text())["providers"]:
        assert list(host_path(grafana, provider["options"]["path"]).glob("*.json")), provider["name"]


def test_service_addresses_agree_across_files(stack):
    """prometheus.yml, the Grafana datasources and the dashboards name the compose services and ports."""
    services = stack["services"]
    prometheus = yaml.safe_load((ROOT / "prometheus/prometheus.yml").read_text())
    jobs = {job["job_name"]: job["static_configs"][0]["targets"] for job in prometheus["scrape_configs"]}
    assert jobs["spse-exporter"] == [f"exporter:{arguments('EXPOSE')[0]}"]
    assert prometheus["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == ["alertmanager:9093"]
    datasources = {d["type"]: d for d in yaml.safe_load(
        (ROOT / "grafana/provisioning/datasources/spse.yml").read_text())["datasources"]}
    assert datasources["prometheus"]["url"] == "http://prometheus:9090"
    assert datasources["alertmanager"]["url"] == "http://alertmanager:9093"
    assert datasources["prometheus"]["jsonData"]["timeInterval"] == prometheus["global"]["scrape_interval"]
    for path in sorted((ROOT / "grafana/dashboards").glob("*.json")):
        variables = {v["name"]: v for v in json.loads(path.read_text())["templating"]["list"]}
        assert variables["datasource"]["current"]["value"] == datasources["prometheus"]["uid"], path.name
    for name, port in (("prometheus", 9090), ("alertmanager", 9093), ("grafana", 3000)):
        assert {target for _, _, target in ports(services[name])} == {port}, name
