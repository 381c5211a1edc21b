"""The compose stack: its configs pass promtool and amtool, and its pieces fit together."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

from tests.services import require_binary

ROOT = Path(__file__).parent.parent
COMPOSE = ROOT / "deploy" / "compose"


def compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((COMPOSE / "docker-compose.yml").read_text())
    return document


def mounts(service: str) -> dict[str, Path]:
    """Container path -> host path (resolved from the compose folder) of bind mounts."""
    found: dict[str, Path] = {}
    for volume in compose()["services"][service].get("volumes", []):
        host, container = volume.split(":")[:2]
        if host.startswith("."):
            found[container] = (COMPOSE / host).resolve()
    return found


def lay_out(service: str, root: str, into: Path) -> None:
    """Copy `service`'s bind mounts under `root` into `into`, as the container sees them."""
    for container, host in mounts(service).items():
        target = into / Path(container).relative_to(root)
        if host.is_dir():
            shutil.copytree(host, target)
        else:
            shutil.copy(host, target)


def test_prometheus_config_passes_promtool_with_the_rules_mounted(tmp_path: Path) -> None:
    promtool = require_binary("promtool")
    lay_out("prometheus", "/etc/prometheus", tmp_path)
    result = subprocess.run(
        [promtool, "check", "config", str(tmp_path / "prometheus.yml")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_alertmanager_config_passes_amtool_with_the_templates_mounted(tmp_path: Path) -> None:
    amtool = require_binary("amtool")
    lay_out("alertmanager", "/etc/alertmanager", tmp_path)
    config = tmp_path / "alertmanager.yml"
    # The notification templates the receivers call are where the config loads them from.
    for pattern in yaml.safe_load(config.read_text())["templates"]:
        assert list(tmp_path.glob(pattern)), f"nothing mounted matches {pattern}"
    result = subprocess.run(
        [amtool, "check-config", str(config)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_bind_mount_exists_and_the_build_has_a_dockerfile() -> None:
    for service in compose()["services"]:
        for host in mounts(service).values():
            assert host.exists(), f"{service} mounts a missing {host}"
    build = compose()["services"]["exporter"]["build"]
    assert ((COMPOSE / build) / "Dockerfile").is_file()


def test_prometheus_scrapes_the_exporter_as_the_rules_job_and_alerts_alertmanager() -> None:
    prometheus = yaml.safe_load((COMPOSE / "prometheus.yml").read_text())
    (job,) = prometheus["scrape_configs"]
    exporter_env = compose()["services"]["exporter"]["environment"]
    port = exporter_env["OKTA_GROUP_PUSH_WEB_LISTEN_ADDRESS"].rsplit(":", 1)[1]
    assert job["static_configs"][0]["targets"] == [f"exporter:{port}"]
    rules = (ROOT / "grafana" / "alerts" / "okta-group-push.rules.yml").read_text()
    assert f'job="{job["job_name"]}"' in rules
    (am,) = prometheus["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"]
    assert am.split(":")[0] in compose()["services"]


def test_grafana_provisioning_points_at_the_mounted_dashboards() -> None:
    grafana = mounts("grafana")
    provider_file = grafana["/etc/grafana/provisioning/dashboards"] / "okta-group-push.yml"
    provider = yaml.safe_load(provider_file.read_text())["providers"][0]
    dashboards = grafana[provider["options"]["path"]]
    assert (dashboards / "okta-group-push.json").is_file()
    datasource = yaml.safe_load(
        (grafana["/etc/grafana/provisioning/datasources"] / "prometheus.yml").read_text()
    )["datasources"][0]
    assert datasource["url"].split("//")[1].split(":")[0] in compose()["services"]


def test_only_the_hook_port_is_published_beyond_this_machine() -> None:
    """Prometheus, Alertmanager and Grafana have no authentication in front of them: they
    are published on 127.0.0.1 only (issue 15, item 12)."""
    published = {name: service.get("ports", []) for name, service in compose()["services"].items()}
    assert set(published["exporter"]) == {"9948:9948"}
    for name in ("prometheus", "alertmanager", "grafana"):
        assert published[name], name
        for mapping in published[name]:
            host, _, _ = str(mapping).rpartition(":")
            assert host.startswith("127.0.0.1:"), f"{name} publishes {mapping}"
