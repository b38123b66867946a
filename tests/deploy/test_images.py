"""The container images of deploy/images/build.sh, built here and run for real.

The build makes its Debian root filesystem with debootstrap and keeps it in a cache keyed
by its inputs (STOCKADE_IMAGE_CACHE, default ~/.cache/stockade-images): the first build
takes minutes, later ones only rebuild the wheels and the install layer.
"""

from __future__ import annotations

import os
import shutil
import ssl
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.support.deploy_images import BUILD_TIMEOUT_S, DEPLOY
from tests.support.podman import RUN_FLAGS, Podman
from tests.support.polling import poll_value
from tests.support.ports import free_port

PLATFORM_HOST = "stockade-platform"  # the platform's host name, in its agent certificate
ADMIN_PASSWORD = "deploy-image-secret-1"
START_TIMEOUT_S = 90
# the host paths the agent reads (and the bpffs and cgroups it writes), as compose.yaml
AGENT_MOUNTS = (
    "/sys/fs/bpf:/sys/fs/bpf",
    "/sys/kernel/tracing:/sys/kernel/tracing:ro",
    "/sys/fs/cgroup:/sys/fs/cgroup",
    "/var/lib/containers:/var/lib/containers:ro",
    "/run/runc:/run/runc:ro",
    "/run/libpod:/run/libpod:ro",
)

pytestmark = [
    pytest.mark.podman,
    pytest.mark.ebpf,
    pytest.mark.slow,
    pytest.mark.timeout(BUILD_TIMEOUT_S),
]


@dataclass
class PlatformContainer:
    """The platform image running, its console published on loopback."""

    container: str
    console_url: str
    address: str  # the container's own address, where agents reach it
    ca_pem: str

    def client(self) -> httpx.Client:
        """A console client trusting only the platform's CA."""
        context = ssl.create_default_context(cadata=self.ca_pem)
        return httpx.Client(base_url=self.console_url, verify=context, timeout=30)


@pytest.fixture(scope="module")
def platform(
    images: tuple[str, str], podman: Podman, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PlatformContainer]:
    """`stockade server` from the platform image as the server Deployment runs it."""
    port = free_port()
    container = podman.run_detached(
        images[1],
        name=f"deploy-platform-{uuid.uuid4().hex[:8]}",
        extra=(
            "--hostname", PLATFORM_HOST,
            "-p", f"127.0.0.1:{port}:8700",
            "-e", f"STOCKADE_ADMIN_PASSWORD={ADMIN_PASSWORD}",
            *_deployment_flags(tmp_path_factory.mktemp("platform-state")),
        ),
    )  # fmt: skip
    ca = poll_value(
        lambda: podman.cmd(
            "exec", container, "cat", "/var/lib/stockade/platform/pki/ca.crt", check=False
        ),
        lambda done: done.returncode == 0,
        START_TIMEOUT_S,
        "the platform's CA",
    )
    address = podman.cmd(
        "inspect", "--format", "{{.NetworkSettings.IPAddress}}", container
    ).stdout.decode()
    running = PlatformContainer(
        container, f"https://127.0.0.1:{port}", address.strip(), ca.stdout.decode()
    )
    yield running
    podman.remove(container)


def _answer(client: httpx.Client, path: str) -> httpx.Response | None:
    try:
        return client.get(path)
    except httpx.TransportError:  # not listening yet
        return None


def test_platform_image_serves_health_and_console_on_loopback(
    platform: PlatformContainer,
) -> None:
    with platform.client() as client:
        health = poll_value(
            lambda: _answer(client, "/api/v1/health"),
            lambda r: r is not None and r.status_code == 200,
            START_TIMEOUT_S,
            "the platform's /api/v1/health",
        )
        assert health is not None
        login = client.post(
            "/api/v1/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD}
        )
        assert login.status_code == 200, login.text
        page = client.get("/")
        assert page.status_code == 200 and "<html" in page.text.lower()


def test_platform_image_takes_the_subcommand(images: tuple[str, str], podman: Podman) -> None:
    ran = podman.cmd("run", "--rm", *RUN_FLAGS, images[1], "version")
    assert ran.stdout.decode().strip() == "stockade 0.1.0"


def _enrollment(podman: Podman, platform: PlatformContainer) -> tuple[str, str]:
    """A one-time token and the CA fingerprint, from `token create` in the container."""
    made = podman.cmd("exec", platform.container, "stockade", "token", "create")
    fingerprint = made.stderr.decode().split()[-1]
    return made.stdout.decode().strip(), fingerprint


def _events_of(client: httpx.Client, proc_name: str) -> list[dict[str, Any]]:
    answer = client.get("/api/v1/events", params={"proc_name": proc_name})
    answer.raise_for_status()
    found: list[dict[str, Any]] = answer.json()
    return found


@pytest.mark.parametrize("privileges", ["privileged", "daemonset"])
def test_agent_image_sends_the_hosts_events_to_the_platform(
    privileges: str,
    images: tuple[str, str],
    platform: PlatformContainer,
    podman: Podman,
    tmp_path: Path,
) -> None:
    """Privileged as in compose.yaml, or with only the DaemonSet's capabilities and mounts."""
    token, fingerprint = _enrollment(podman, platform)
    if privileges == "privileged":
        mounts = [f for m in AGENT_MOUNTS if Path(m.split(":")[0]).exists() for f in ("-v", m)]
        flags = ["--privileged", "--pid", "host", *mounts]
    else:
        (tmp_path / "state").mkdir()
        flags = _daemonset_flags(tmp_path / "state")
    agent = podman.run_detached(
        images[0],
        "agent", "--server", f"https://{PLATFORM_HOST}:8701", "--ca-fingerprint", fingerprint,
        name=f"deploy-agent-{uuid.uuid4().hex[:8]}",
        extra=(
            "--add-host", f"{PLATFORM_HOST}:{platform.address}",
            "-e", f"STOCKADE_ENROLL_TOKEN={token}",
            *flags,
        ),
    )  # fmt: skip
    # a program of a name no other process has, run on the host until its event arrives
    marker = tmp_path / f"dp{uuid.uuid4().hex[:10]}"
    shutil.copy("/bin/true", marker)
    try:
        with platform.client() as client:
            login = client.post(
                "/api/v1/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD}
            )
            client.headers["Authorization"] = f"Bearer {login.json()['token']}"

            def run_and_look() -> list[dict[str, Any]]:
                subprocess.run([str(marker)], check=True)
                return _events_of(client, marker.name)

            events = poll_value(run_and_look, bool, START_TIMEOUT_S, f"an event of {marker.name}")
    except AssertionError:
        logs = podman.cmd("logs", agent, check=False)
        raise AssertionError(f"agent log: {logs.stderr.decode()[-3000:]}") from None
    finally:
        # killed, not removed: the exiting agent's eBPF programs take seconds to detach,
        # which the next test need not wait for (the session removes the container)
        podman.cmd("kill", agent, check=False)
    assert events[0]["proc"]["name"] == marker.name
    assert events[0]["container"]["id"] == "host"  # the host's, seen from inside a container


def _daemonset_flags(state: Path) -> list[str]:
    """`podman run` flags giving the agent exactly what deploy/kubernetes/agent.yaml gives."""
    documents = yaml.safe_load_all((DEPLOY / "kubernetes" / "agent.yaml").read_text())
    daemonset = next(d for d in documents if d["kind"] == "DaemonSet")
    pod = daemonset["spec"]["template"]["spec"]
    (agent,) = pod["containers"]
    host_paths = {v["name"]: v["hostPath"]["path"] for v in pod["volumes"] if "hostPath" in v}
    host_paths["state"] = str(state)  # not the host's own agent state
    security = agent["securityContext"]
    assert security["readOnlyRootFilesystem"] and not security["allowPrivilegeEscalation"]
    flags = ["--pid", "host", "--read-only", "--security-opt", "no-new-privileges"]
    flags += ["--cap-drop", "ALL"]
    flags += [f for cap in security["capabilities"]["add"] for f in ("--cap-add", cap)]
    for mount in agent["volumeMounts"]:
        source = host_paths.get(mount["name"])
        if source is not None and Path(source).exists():
            read_only = ":ro" if mount.get("readOnly") else ""
            flags += ["-v", f"{source}:{mount['mountPath']}{read_only}"]
    return flags


def _deployment_flags(state: Path) -> list[str]:
    """`podman run` flags restricting the platform as deploy/kubernetes/server.yaml does."""
    documents = yaml.safe_load_all((DEPLOY / "kubernetes" / "server.yaml").read_text())
    deployment = next(d for d in documents if d["kind"] == "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    (server,) = pod["containers"]
    user, group = pod["securityContext"]["runAsUser"], pod["securityContext"]["runAsGroup"]
    security = server["securityContext"]
    assert security["readOnlyRootFilesystem"] and not security["allowPrivilegeEscalation"]
    assert security["capabilities"] == {"drop": ["ALL"]}
    os.chown(state, user, group)  # as the Deployment's fsGroup makes its volume the user's
    return [
        "--user", f"{user}:{group}",
        "--read-only", "--security-opt", "no-new-privileges", "--cap-drop", "ALL",
        "-v", f"{state}:/var/lib/stockade",
    ]  # fmt: skip
