"""CrioRuntime behind ContainerResolver, on containers/storage laid out as CRI-O writes it.

Layout (CRI-O 1.2x on containers/storage): the OCI spec is saved at
`/var/lib/containers/storage/overlay-containers/<id>/userdata/config.json` (and under the
run root `/run/containers/storage`), with the `io.kubernetes.cri-o.*` annotations of
CRI-O's `pkg/annotations` / podman's `pkg/annotations`; conmon writes the container's
`pidfile` in the run root's `userdata`; `overlay-images/images.json` is containers/storage's
image list. Cgroups: systemd `kubepods-<qos>-pod<uid>.slice/crio-<id>.scope` (conmon in
`crio-conmon-<id>.scope`), cgroupfs `.../pod<uid>/crio-<id>`; podman's are `libpod-<id>`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from stockade.context import ContainerResolver
from stockade.context.crio import CrioRuntime
from stockade.context.podman import PodmanRuntime
from stockade.context.resolver import CgroupIndex
from stockade.sensor import procfs
from tests.support.podman import Podman

APP = "6d2f8c1b" * 8
SANDBOX = "134b58ab" * 8
PODMAN_CTR = "a1b2c3d4" * 8
IMAGE_ID = "e7" * 32
DIGEST = "sha256:" + "4c" * 32
POD_UID = "aaaa2b4a-f398-41c0-928b-049e1cc4ec40"
CRIO = "io.kubernetes.cri-o."
SYSTEMD_POD = (
    "/kubepods.slice/kubepods-besteffort.slice/"
    f"kubepods-besteffort-pod{POD_UID.replace('-', '_')}.slice"
)
POD_LABELS = {
    "io.kubernetes.container.name": "POD",
    "io.kubernetes.pod.name": "api-5f7d",
    "io.kubernetes.pod.namespace": "shop",
    "io.kubernetes.pod.uid": POD_UID,
    "app": "api",
    "tier": "backend",
}
CAPS = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_KILL", "CAP_SETUID"]


def sandbox_spec(host_network: bool = False) -> dict[str, object]:
    """The pod's infra container spec (annotations as in a real CRI-O 1.21 sandbox)."""
    return {
        "ociVersion": "1.0.2-dev",
        "process": {"args": ["/pause"], "capabilities": {"effective": CAPS}},
        "annotations": {
            f"{CRIO}ContainerType": "sandbox",
            f"{CRIO}ContainerID": SANDBOX,
            f"{CRIO}SandboxID": SANDBOX,
            f"{CRIO}ContainerName": f"k8s_POD_api-5f7d_shop_{POD_UID}_0",
            f"{CRIO}KubeName": "api-5f7d",
            f"{CRIO}Namespace": "shop",
            f"{CRIO}Labels": json.dumps(POD_LABELS),
            f"{CRIO}Image": "registry.k8s.io/pause:3.9",
            f"{CRIO}HostNetwork": "true" if host_network else "false",
            f"{CRIO}PrivilegedRuntime": "false",
            f"{CRIO}Created": "2026-11-28T08:00:00.25Z",
            "io.kubernetes.pod.name": "api-5f7d",
            "io.kubernetes.pod.namespace": "shop",
            "io.kubernetes.pod.uid": POD_UID,
        },
        "linux": {
            "resources": {"devices": [{"allow": False, "access": "rwm"}]},
            "namespaces": [{"type": "network", "path": "/var/run/netns/9abac4ae-94a6"}],
        },
    }


def app_spec() -> dict[str, object]:
    """An app container's spec in that pod."""
    labels = {
        "io.kubernetes.container.name": "api",
        "io.kubernetes.pod.name": "api-5f7d",
        "io.kubernetes.pod.namespace": "shop",
        "io.kubernetes.pod.uid": POD_UID,
    }
    return {
        "ociVersion": "1.0.2-dev",
        "process": {"args": ["/api"], "capabilities": {"effective": CAPS}},
        "mounts": [
            {"destination": "/dev/shm", "type": "bind", "source": "/run/shm", "options": ["rw"]},
            {
                "destination": "/config",
                "type": "bind",
                "source": f"/var/lib/kubelet/pods/{POD_UID}/volumes/kubernetes.io~configmap/cfg",
                "options": ["ro", "rbind", "rprivate", "bind"],
            },
        ],
        "annotations": {
            f"{CRIO}ContainerType": "container",
            f"{CRIO}ContainerID": APP,
            f"{CRIO}SandboxID": SANDBOX,
            f"{CRIO}SandboxName": f"k8s_api-5f7d_shop_{POD_UID}_0",
            f"{CRIO}Name": f"k8s_api_api-5f7d_shop_{POD_UID}_0",
            f"{CRIO}Metadata": json.dumps({"name": "api", "attempt": 0}),
            f"{CRIO}Labels": json.dumps(labels),
            f"{CRIO}ImageName": "quay.io/shop/api:2.1",
            f"{CRIO}ImageRef": IMAGE_ID,
            f"{CRIO}Image": IMAGE_ID,
            f"{CRIO}Created": "2026-11-28T08:00:01.5+00:00",
            "io.kubernetes.container.hash": "8c2a1f3e",
        },
        "linux": {
            "resources": {"devices": [{"allow": False, "access": "rwm"}]},
            "namespaces": [{"type": "network", "path": "/proc/5100/ns/net"}],
        },
    }


class Host:
    """A CRI-O (and podman) host: containers/storage, run root and cgroup tree under tmp."""

    def __init__(self, tmp: Path) -> None:
        self.storage = tmp / "var" / "lib" / "containers" / "storage"
        self.run = tmp / "run" / "containers" / "storage"
        self.cgroups = tmp / "sys" / "fs" / "cgroup"
        self.cgroups.mkdir(parents=True)
        _write(
            self.storage / "overlay-images" / "images.json",
            [{"id": IMAGE_ID, "digest": DIGEST, "names": ["quay.io/shop/api:2.1"]}],
        )
        self.runtime = CrioRuntime(self.storage, self.run)
        podman = PodmanRuntime(self.storage, tmp / "events.log", (tmp / "runc",))
        index = CgroupIndex(self.cgroups, min_walk_interval_s=0)
        self.resolver = ContainerResolver([self.runtime, podman], index, retry_s=0)

    def container(self, cid: str, spec: object | None, pid: int = 0) -> None:
        """Write a container's userdata; None leaves config.json out (not written yet)."""
        (self.storage / "overlay-containers" / cid / "userdata").mkdir(parents=True, exist_ok=True)
        if spec is not None:
            _write(self.storage / "overlay-containers" / cid / "userdata" / "config.json", spec)
        if pid:
            pidfile = self.run / "overlay-containers" / cid / "userdata" / "pidfile"
            pidfile.parent.mkdir(parents=True, exist_ok=True)
            pidfile.write_text(str(pid))

    def cgroup(self, path: str) -> int:
        """Create a cgroup directory; its inode is the id the kernel reports."""
        full = self.cgroups / path.lstrip("/")
        full.mkdir(parents=True, exist_ok=True)
        return os.stat(full).st_ino


def _write(path: Path, value: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value))


@pytest.fixture
def host(tmp_path: Path) -> Host:
    return Host(tmp_path)


def test_kubernetes_pod_container(host: Host) -> None:
    host.container(SANDBOX, sandbox_spec(), pid=5100)
    host.container(APP, app_spec(), pid=5123)
    c = host.resolver.for_cgroup(host.cgroup(f"{SYSTEMD_POD}/crio-{APP}.scope"))
    assert c.complete and (c.id, c.name, c.runtime, c.pid) == (APP, "api", "cri-o", 5123)
    assert (c.pod_name, c.pod_namespace, c.pod_uid) == ("api-5f7d", "shop", POD_UID)
    assert c.pod_labels == {"app": "api", "tier": "backend"}
    assert c.labels["io.kubernetes.container.name"] == "api"
    assert (c.image, c.image_repository, c.image_tag) == (
        "quay.io/shop/api:2.1",
        "quay.io/shop/api",
        "2.1",
    )
    assert (c.image_id, c.image_digest) == (IMAGE_ID, DIGEST)
    assert c.network_mode == f"container:{SANDBOX}" and not c.privileged
    assert c.pod_sandbox_id == SANDBOX
    assert [(m.dest, m.rw) for m in c.mounts] == [("/dev/shm", True), ("/config", False)]
    assert c.cap_effective == tuple(CAPS) and c.start_ts == 1_795_852_801_500_000_000
    assert c.unresolvable == ()


def test_pause_sandbox_container(host: Host) -> None:
    host.container(SANDBOX, sandbox_spec(host_network=True), pid=5100)
    c = host.resolver.for_cgroup(host.cgroup(f"/kubepods/besteffort/pod{POD_UID}/crio-{SANDBOX}"))
    assert c.complete and (c.id, c.name, c.runtime, c.pid) == (SANDBOX, "api-5f7d", "cri-o", 5100)
    assert (c.image_repository, c.image_tag) == ("registry.k8s.io/pause", "3.9")
    assert c.pod_labels == {"app": "api", "tier": "backend"}
    assert (c.pod_namespace, c.network_mode, c.pod_sandbox_id) == ("shop", "host", SANDBOX)


def test_privileged_container(host: Host) -> None:
    spec = app_spec()
    spec["process"] = {"capabilities": {"effective": [*CAPS, "CAP_SYS_ADMIN"]}}
    spec["linux"] = {"resources": {"devices": [{"allow": True, "access": "rwm"}]}}
    host.container(SANDBOX, sandbox_spec())
    host.container(APP, spec)
    c = host.resolver.for_cgroup(host.cgroup(f"{SYSTEMD_POD}/crio-{APP}.scope"))
    assert c.complete and c.privileged


def test_metadata_arriving_late_is_filled_in(host: Host) -> None:
    cgroup = host.cgroup(f"{SYSTEMD_POD}/crio-{APP}.scope")
    host.container(APP, None)
    first = host.resolver.for_cgroup(cgroup)
    assert (first.id, first.runtime, first.complete) == (APP, "cri-o", False)
    host.container(APP, app_spec(), pid=5123)
    waiting = host.resolver.for_cgroup(cgroup)  # the sandbox's spec is not there yet
    assert waiting.name == "api" and not waiting.complete and waiting.pod_labels == {}
    host.container(SANDBOX, sandbox_spec())
    done = host.resolver.for_cgroup(cgroup)
    assert done.complete and done.pod_labels == {"app": "api", "tier": "backend"}


def test_unknown_container(host: Host) -> None:
    assert host.runtime.describe("0" * 64, cgroup_id=1) is None
    c = host.resolver.for_cgroup(host.cgroup(f"{SYSTEMD_POD}/crio-{'0' * 64}.scope"))
    assert (c.id, c.runtime, c.complete) == ("0" * 64, "cri-o", False)


def test_podman_container_is_not_claimed_by_crio(host: Host) -> None:
    _write(
        host.storage / "overlay-containers" / "containers.json",
        [{"id": PODMAN_CTR, "names": ["web"], "image": IMAGE_ID, "metadata": "{}"}],
    )
    host.container(PODMAN_CTR, {"ociVersion": "1.1.0", "annotations": {}})
    path = f"/libpod_parent/libpod-{PODMAN_CTR}"
    assert host.runtime.container_id_for_cgroup(path) is None
    c = host.resolver.for_cgroup(host.cgroup(path))
    assert (c.id, c.name, c.runtime) == (PODMAN_CTR, "web", "podman")


@pytest.mark.podman
def test_real_podman_container_stays_podmans(podman: Podman, busybox_image: str) -> None:
    """On the real shared store, with CRI-O's adapter asked first, podman keeps its own."""
    container_id = podman.run_detached(busybox_image, "sleep", "60", name="stockade-not-crio")
    try:
        cgroup_path = procfs.cgroup_path(podman_init_pid(container_id))
        assert cgroup_path is not None and "libpod-" in cgroup_path
        crio = CrioRuntime()
        assert crio.container_id_for_cgroup(cgroup_path) is None
        resolver = ContainerResolver([crio, PodmanRuntime()], retry_s=0)
        found = resolver.for_cgroup(procfs.cgroup_id_of_path(cgroup_path))
        assert (found.id, found.runtime, found.name) == (
            container_id,
            "podman",
            "stockade-not-crio",
        )
    finally:
        podman.remove(container_id)


def podman_init_pid(container_id: str) -> int:
    """The container's init pid from runc's state (podman runs runc here)."""
    state = json.loads(Path(f"/run/runc/{container_id}/state.json").read_text())
    return int(state["init_process_pid"])


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (f"{SYSTEMD_POD}/crio-{APP}.scope", APP),
        (f"/kubepods/burstable/pod{POD_UID}/crio-{APP}", APP),
        (f"{SYSTEMD_POD}/crio-{APP}.scope/container", APP),
        (f"{SYSTEMD_POD}/crio-conmon-{APP}.scope", None),
        (f"/machine.slice/libpod-{APP}.scope", None),
        (f"{SYSTEMD_POD}/cri-containerd-{APP}.scope", None),
    ],
    ids=["systemd", "cgroupfs", "nested", "conmon", "podman", "containerd"],
)
def test_container_id_from_cgroup(host: Host, path: str, expected: str | None) -> None:
    assert host.runtime.container_id_for_cgroup(path) == expected


def test_unavailable_without_crio_state_or_storage(host: Host, tmp_path: Path) -> None:
    (tmp_path / "crio").mkdir()
    host.container(APP, None)
    assert CrioRuntime(host.storage, host.run, tmp_path / "crio").unavailable_reason() is None
    assert CrioRuntime(host.storage, host.run, tmp_path / "none").unavailable_reason()
    assert CrioRuntime(tmp_path / "missing", host.run, tmp_path / "crio").unavailable_reason()
