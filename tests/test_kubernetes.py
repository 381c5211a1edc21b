"""The Kubernetes manifests hang together: selectors, ports, probes, secrets, rules."""

from __future__ import annotations

import importlib.util
import urllib.parse
from pathlib import Path
from typing import Any

import yaml

from exporter.config import OPTIONS

ROOT = Path(__file__).parent.parent
K8S = ROOT / "deploy" / "kubernetes"


def documents() -> list[dict[str, Any]]:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    docs: list[dict[str, Any]] = []
    for name in kustomization["resources"]:
        docs += [d for d in yaml.safe_load_all((K8S / name).read_text()) if d]
    return docs


def one(kind: str, name: str) -> dict[str, Any]:
    (found,) = [d for d in documents() if d["kind"] == kind and d["metadata"]["name"] == name]
    return found


def test_every_manifest_file_is_listed_in_the_kustomization() -> None:
    listed = set(yaml.safe_load((K8S / "kustomization.yaml").read_text())["resources"])
    assert listed == {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}


def test_two_replicas_share_redis_and_never_all_go_at_once() -> None:
    deployment = one("Deployment", "okta-group-push-exporter")
    assert deployment["spec"]["replicas"] == 2
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e for e in container["env"]}
    assert (
        env["OKTA_GROUP_PUSH_STORAGE_REDIS_URL"]["valueFrom"]["secretKeyRef"]["key"] == "redis-url"
    )
    assert env["OKTA_HOOK_SECRET"]["valueFrom"]["secretKeyRef"]["key"] == "hook-secret"
    secret = one("Secret", "okta-group-push-exporter")
    assert {"hook-secret", "redis-url"} <= set(secret["stringData"])
    pdb = one("PodDisruptionBudget", "okta-group-push-exporter")
    assert pdb["spec"]["minAvailable"] == 1
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()


def test_environment_variables_are_ones_the_exporter_reads() -> None:
    known = {o.env for o in OPTIONS} | {"OKTA_HOOK_SECRET"}
    container = one("Deployment", "okta-group-push-exporter")["spec"]["template"]["spec"][
        "containers"
    ][0]
    assert {e["name"] for e in container["env"]} <= known


def test_probes_and_services_point_at_declared_ports() -> None:
    deployment = one("Deployment", "okta-group-push-exporter")
    pod = deployment["spec"]["template"]
    container = pod["spec"]["containers"][0]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert container["livenessProbe"]["httpGet"] == {"path": "/-/healthy", "port": "metrics"}
    assert container["readinessProbe"]["httpGet"]["path"] == "/-/ready"
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["OKTA_GROUP_PUSH_WEB_LISTEN_ADDRESS"] == f":{ports['metrics']}"
    assert env["OKTA_GROUP_PUSH_OKTA_LISTEN_ADDRESS"] == f":{ports['hooks']}"
    for service in (d for d in documents() if d["kind"] == "Service"):
        selector = service["spec"]["selector"]
        targets = [p["targetPort"] for p in service["spec"]["ports"]]
        if selector.items() <= pod["metadata"]["labels"].items():
            assert set(targets) <= set(ports)
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert pod["spec"]["securityContext"]["runAsNonRoot"] is True


def test_servicemonitor_scrapes_the_metrics_service_as_the_rules_job() -> None:
    monitor = one("ServiceMonitor", "okta-group-push-exporter")
    service = one("Service", "okta-group-push-exporter")
    assert (
        monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    )
    assert monitor["spec"]["endpoints"][0]["port"] in {p["name"] for p in service["spec"]["ports"]}
    job = service["metadata"]["labels"][monitor["spec"]["jobLabel"]]
    rules = (ROOT / "grafana" / "alerts" / "okta-group-push.rules.yml").read_text()
    assert f'job="{job}"' in rules


def test_prometheusrule_is_generated_from_the_rule_file() -> None:
    spec = importlib.util.spec_from_file_location("gen", ROOT / "scripts" / "gen_prometheusrule.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert (K8S / "prometheusrule.yaml").read_text() == module.render(), (
        "run `python scripts/gen_prometheusrule.py`"
    )


# --- hardening (issue 15, item 11) ------------------------------------------------------------

EXPORTER = {"app.kubernetes.io/name": "okta-group-push-exporter"}
REDIS = {"app.kubernetes.io/name": "okta-group-push-exporter-redis"}


def pod_templates() -> dict[str, dict[str, Any]]:
    return {
        d["metadata"]["name"]: d["spec"]["template"]
        for d in documents()
        if d["kind"] in {"Deployment", "StatefulSet"}
    }


def policies_for(labels: dict[str, str]) -> list[dict[str, Any]]:
    return [
        d
        for d in documents()
        if d["kind"] == "NetworkPolicy"
        and d["spec"]["podSelector"].get("matchLabels", {}).items() <= labels.items()
    ]


def allowed(labels: dict[str, str], port: str) -> list[dict[str, Any]]:
    """The `from` peers the policies let reach `port` of pods with `labels`."""
    return [
        peer
        for policy in policies_for(labels)
        for rule in policy["spec"].get("ingress", [])
        if any(p["port"] == port for p in rule.get("ports", []))
        for peer in rule["from"]
    ]


def test_redis_requires_the_password_the_exporter_has_in_its_redis_url() -> None:
    redis = one("StatefulSet", "okta-group-push-exporter-redis")["spec"]["template"]["spec"]
    container = redis["containers"][0]
    args = container["args"]
    assert args[args.index("--requirepass") + 1] == "$(REDIS_PASSWORD)"
    env = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in container["env"]}
    assert env["REDIS_PASSWORD"] == {"name": "okta-group-push-exporter", "key": "redis-password"}
    assert env["REDISCLI_AUTH"] == env["REDIS_PASSWORD"]  # the probe authenticates
    secret = one("Secret", "okta-group-push-exporter")["stringData"]
    url = urllib.parse.urlsplit(secret["redis-url"])
    assert secret["redis-password"]
    assert urllib.parse.unquote(url.password or "") == secret["redis-password"]


def test_no_pod_mounts_a_service_account_token_and_all_use_runtime_default_seccomp() -> None:
    templates = pod_templates()
    assert set(templates) == {"okta-group-push-exporter", "okta-group-push-exporter-redis"}
    for name, template in templates.items():
        spec = template["spec"]
        assert spec["automountServiceAccountToken"] is False, name
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, name
        for container in spec["containers"]:
            assert container["securityContext"]["allowPrivilegeEscalation"] is False, name


def test_network_policies_deny_by_default_and_open_each_port_to_its_one_client() -> None:
    deny = one("NetworkPolicy", "default-deny-ingress")
    assert deny["spec"]["podSelector"] == {} and "ingress" not in deny["spec"]
    assert allowed(REDIS, "redis") == [{"podSelector": {"matchLabels": EXPORTER}}]
    (hooks,) = allowed(EXPORTER, "hooks")
    assert hooks["namespaceSelector"]["matchLabels"] == {
        "kubernetes.io/metadata.name": "ingress-nginx"
    }
    (metrics,) = allowed(EXPORTER, "metrics")
    assert metrics["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "prometheus"}
    # Each rule names its port: none opens every port of a pod.
    for policy in (d for d in documents() if d["kind"] == "NetworkPolicy"):
        for rule in policy["spec"].get("ingress", []):
            assert rule.get("ports"), policy["metadata"]["name"]


def test_only_the_hook_listener_is_exposed_through_the_ingress() -> None:
    ingresses = [d for d in documents() if d["kind"] == "Ingress"]
    assert ingresses
    hooks_service = one("Service", "okta-group-push-exporter-hooks")
    assert [p["targetPort"] for p in hooks_service["spec"]["ports"]] == ["hooks"]
    for ingress in ingresses:
        for rule in ingress["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                backend = path["backend"]["service"]
                assert backend["name"] == "okta-group-push-exporter-hooks"
                assert path["path"].startswith("/hooks/")
