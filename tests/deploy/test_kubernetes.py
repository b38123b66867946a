"""The Kubernetes manifests in deploy/kubernetes: valid objects, least privilege, real commands."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from stockade.config import ConfigSources, load_config
from stockade.platform.bus.base import BUSES
from stockade.platform.store.base import STORES
from tests.support.cli_options import NATS_PENDING, WORKER_PENDING, unknown_options
from tests.support.postgres import PRODUCTION_SETTINGS

MANIFESTS = Path(__file__).resolve().parents[2] / "deploy" / "kubernetes"
KUSTOMIZATION = MANIFESTS / "kustomization.yaml"
# host paths the agent writes: bpffs pins, cgroup freeze/kill, its own state
AGENT_WRITES = {"bpffs", "cgroup", "state"}
NEVER_ADDED = {"SYS_MODULE", "SYS_RAWIO", "SYS_BOOT", "MKNOD", "SYS_TIME", "NET_RAW", "ALL"}


def _documents() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for path in sorted(MANIFESTS.glob("*.yaml")):
        if path != KUSTOMIZATION:
            found += [(path.name, d) for d in yaml.safe_load_all(path.read_text()) if d]
    return found


def _object(kind: str, name: str) -> dict[str, Any]:
    matches = [d for _, d in _documents() if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(matches) == 1, f"{kind}/{name}: {len(matches)} found"
    return matches[0]


def _container(kind: str, name: str) -> dict[str, Any]:
    pod = _object(kind, name)["spec"]["template"]["spec"]
    containers: list[dict[str, Any]] = pod["containers"]
    assert len(containers) == 1
    return containers[0]


@pytest.mark.parametrize(
    "document", [d for _, d in _documents()], ids=[f"{f}:{d['kind']}" for f, d in _documents()]
)
def test_manifest_is_a_valid_kubernetes_object(document: dict[str, Any]) -> None:
    kubernetes_validate.validate(document, kubernetes_validate.latest_version(), strict=True)


def test_kustomization_applies_every_manifest_and_names_every_image() -> None:
    kustomization = yaml.safe_load(KUSTOMIZATION.read_text())
    files = {p.name for p in MANIFESTS.glob("*.yaml")} - {KUSTOMIZATION.name}
    assert set(kustomization["resources"]) == files
    ours = {
        c["image"].split(":")[0]
        for _, d in _documents()
        if d["kind"] in {"Deployment", "DaemonSet"}
        for c in d["spec"]["template"]["spec"]["containers"]
    }
    assert ours == {i["name"] for i in kustomization["images"]}


def test_the_fleet_is_all_there() -> None:
    kinds = {(d["kind"], d["metadata"]["name"]) for _, d in _documents()}
    assert {
        ("DaemonSet", "stockade-agent"),
        ("Deployment", "stockade-server"),
        ("Deployment", "stockade-worker"),
        ("StatefulSet", "stockade-postgres"),
        ("StatefulSet", "stockade-nats"),
        ("Service", "stockade-server"),
        ("Service", "stockade-postgres"),
        ("Service", "stockade-nats"),
        ("ConfigMap", "stockade-config"),
    } <= kinds


def test_every_service_selects_pods_that_exist() -> None:
    workloads = {"Deployment", "DaemonSet", "StatefulSet"}
    pod_labels = [
        d["spec"]["template"]["metadata"]["labels"]
        for _, d in _documents()
        if d["kind"] in workloads
    ]
    for _, service in (x for x in _documents() if x[1]["kind"] == "Service"):
        selector = service["spec"]["selector"].items()
        assert any(selector <= labels.items() for labels in pod_labels), service["metadata"]


def test_agent_has_the_least_privileges_it_needs() -> None:
    pod = _object("DaemonSet", "stockade-agent")["spec"]["template"]["spec"]
    agent = _container("DaemonSet", "stockade-agent")
    security = agent["securityContext"]
    assert pod["hostPID"] is True
    assert not pod.get("hostNetwork") and not pod.get("hostIPC")
    assert security["privileged"] is False and security["allowPrivilegeEscalation"] is False
    assert security["capabilities"]["drop"] == ["ALL"]
    added = set(security["capabilities"]["add"])
    assert {"BPF", "PERFMON"} <= added and not added & NEVER_ADDED
    host_paths = {v["name"] for v in pod["volumes"] if "hostPath" in v}
    writable = {m["name"] for m in agent["volumeMounts"] if not m.get("readOnly")}
    assert host_paths & writable == AGENT_WRITES


@pytest.mark.parametrize("name", ["stockade-server", "stockade-worker"])
def test_platform_runs_unprivileged(name: str) -> None:
    pod = _object("Deployment", name)["spec"]["template"]["spec"]
    security = _container("Deployment", name)["securityContext"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert security["capabilities"]["drop"] == ["ALL"]
    assert security["readOnlyRootFilesystem"] is True
    assert not any("hostPath" in v for v in pod["volumes"])


@pytest.mark.parametrize(
    ("kind", "name"),
    [
        ("DaemonSet", "stockade-agent"),
        ("Deployment", "stockade-server"),
        pytest.param("Deployment", "stockade-worker", marks=WORKER_PENDING),
    ],
)
def test_containers_run_real_commands_with_real_settings(
    kind: str, name: str, tmp_path: Path
) -> None:
    container = _container(kind, name)
    subcommand, *args = container["args"]
    assert unknown_options((subcommand,), args) == []
    # the ConfigMap's file and the STOCKADE_* variables name real configuration keys
    config_file = tmp_path / "stockade.yaml"
    config_file.write_text(_object("ConfigMap", "stockade-config")["data"]["stockade.yaml"])
    environ = {e["name"]: e.get("value", "from-a-secret") for e in container.get("env", [])}
    load_config(ConfigSources(path=config_file, environ=environ))  # ConfigError if not


def _platform_settings() -> dict[str, Any]:
    settings: dict[str, Any] = yaml.safe_load(
        _object("ConfigMap", "stockade-config")["data"]["stockade.yaml"]
    )["server"]
    return settings


def test_the_fleet_keeps_its_state_in_a_registered_store() -> None:
    assert _platform_settings()["store"] in STORES


@NATS_PENDING
def test_the_fleet_uses_a_registered_bus() -> None:
    assert _platform_settings()["bus"] in BUSES


def test_only_the_servers_hold_the_ca_key() -> None:
    holders = {
        d["metadata"]["name"]
        for _, d in _documents()
        if d["kind"] in {"Deployment", "DaemonSet", "StatefulSet"}
        for v in d["spec"]["template"]["spec"].get("volumes", [])
        if v.get("secret", {}).get("secretName") == "stockade-ca"
    }
    assert holders == {"stockade-server"}


def test_postgres_runs_with_the_production_settings() -> None:
    command = _container("StatefulSet", "stockade-postgres")["args"]
    assert command[0] == "postgres"
    assert tuple(command[2::2]) == PRODUCTION_SETTINGS and set(command[1::2]) == {"-c"}
