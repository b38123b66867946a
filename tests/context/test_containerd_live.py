"""ContainerdRuntime against a real containerd started by the test, with real runc tasks.

The daemon (the session's `containerd` fixture, tests/support/containerd.py) runs on its own
root, state dir and socket; the busybox image built with podman is imported from an OCI
archive. The adapter is pointed at that daemon's task root and socket, and containers are
found from the cgroup id of their init process as the sensor would report it.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
from pathlib import Path

import pytest

from stockade.context import ContainerResolver
from stockade.context.containerd import ContainerdRuntime
from stockade.context.containerd_api import ContainerdClient
from stockade.context.resolver import CgroupIndex
from stockade.model import Container
from stockade.sensor import procfs
from tests.support.containerd import Containerd

pytestmark = [pytest.mark.root, pytest.mark.podman]

PLAIN_NS = "stockade-test"
CRI_NS = "k8s.io"
CRI = "io.kubernetes.cri."


@pytest.fixture(scope="module")
def image_digest(
    containerd: Containerd, busybox_image: str, tmp_path_factory: pytest.TempPathFactory
) -> str:
    """Import the busybox image into both namespaces; its digest as containerd lists it."""
    archive = tmp_path_factory.mktemp("oci") / "busybox.tar"
    subprocess.run(
        ["podman", "save", "--format", "oci-archive", "-o", str(archive), busybox_image],
        check=True,
        capture_output=True,
        timeout=60,
    )
    digests = {ns: containerd.import_image(archive, ns)[busybox_image] for ns in (PLAIN_NS, CRI_NS)}
    assert digests[PLAIN_NS] == digests[CRI_NS] and digests[PLAIN_NS].startswith("sha256:")
    return digests[PLAIN_NS]


def _runtime(containerd: Containerd) -> ContainerdRuntime:
    """The adapter pointed at the test's daemon: its task root, socket and content store."""
    content = containerd.root / "io.containerd.content.v1.content"
    return ContainerdRuntime(containerd.task_root, containerd.address, content_root=content)


def _image_id(image: str) -> str:
    """The image id podman gives the image: its config digest, the same in containerd."""
    return subprocess.run(
        ["podman", "image", "inspect", "--format", "{{.Id}}", image],
        check=True, capture_output=True, text=True, timeout=60,
    ).stdout.strip()  # fmt: skip


def _resolve(runtime: ContainerdRuntime, pid: int) -> Container:
    """The container of a live process, found by its cgroup id through the resolver."""
    resolver = ContainerResolver([runtime], CgroupIndex(), retry_s=0)
    return resolver.for_cgroup(procfs.cgroup_id(pid), pid)


def test_plain_container_labels_image_and_digest_from_the_api(
    containerd: Containerd, busybox_image: str, image_digest: str
) -> None:
    cid = f"plain-{os.getpid()}"
    labels = ("--label", "team=blue", "--label", "io.cri-containerd.kind=container")
    pid = containerd.run_detached(PLAIN_NS, busybox_image, cid, *labels)
    runtime = _runtime(containerd)
    assert runtime.unavailable_reason() is None
    c = _resolve(runtime, pid)
    assert (c.id, c.name, c.runtime, c.pid, c.complete) == (cid, cid, "containerd", pid, True)
    assert c.labels["team"] == "blue" and "io.cri-containerd.kind" not in c.labels
    assert (c.image, c.image_repository, c.image_tag, c.image_digest) == (
        busybox_image,
        busybox_image.rsplit(":", 1)[0],
        "latest",
        image_digest,
    )
    assert c.image_id == _image_id(busybox_image) and len(c.image_id) == 64
    assert c.pod_labels == {} and c.unresolvable == () and c.unresolvable_reason == ""


def _cri_run(
    containerd: Containerd, image: str, cid: str, pod_uid: str, labels: dict[str, str], **ann: str
) -> int:
    """Run a container the way the CRI plugin lays one out: kubepods cgroup, labels, annotations."""
    args = []
    for key, value in labels.items():
        args += ["--label", f"{key}={value}"]
    for key, value in ann.items():
        args += ["--annotation", f"{CRI}{key.replace('_', '-')}={value}"]
    cgroup = f"/kubepods/besteffort/pod{pod_uid}/{cid}"
    return containerd.run_detached(CRI_NS, image, cid, *args, cgroup=cgroup)


def test_cri_pod_labels_come_from_the_sandbox_container(
    containerd: Containerd, busybox_image: str, image_digest: str
) -> None:
    sandbox, app, uid = secrets.token_hex(32), secrets.token_hex(32), "5e0c2a3e-1111-4c2b-9d55-0f3b"
    pod = {"sandbox_id": sandbox, "sandbox_name": "web-1", "sandbox_namespace": "prod"}
    pod_labels = {"app": "web", "tier": "front", "io.kubernetes.pod.name": "web-1"}
    sandbox_pid = _cri_run(
        containerd,
        busybox_image,
        sandbox,
        uid,
        pod_labels | {"io.cri-containerd.kind": "sandbox"},
        container_type="sandbox",
        sandbox_uid=uid,
        **pod,
    )
    app_labels = {"io.kubernetes.container.name": "app", "io.kubernetes.pod.name": "web-1"}
    app_pid = _cri_run(
        containerd,
        busybox_image,
        app,
        uid,
        app_labels | {"io.cri-containerd.kind": "container"},
        container_type="container",
        container_name="app",
        image_name=busybox_image,
        sandbox_uid=uid,
        **pod,
    )
    runtime = _runtime(containerd)

    def user(labels: dict[str, str]) -> dict[str, str]:
        # ctr adds the image's stop signal as a label on every container it creates
        return {k: v for k, v in labels.items() if not k.startswith("io.containerd.")}

    c = _resolve(runtime, app_pid)
    assert (c.id, c.name, c.pid, c.complete) == (app, "app", app_pid, True)
    assert (c.pod_name, c.pod_namespace, c.pod_uid) == ("web-1", "prod", uid)
    assert user(c.pod_labels) == pod_labels and user(c.labels) == app_labels
    assert (c.image, c.image_digest, c.network_mode) == (
        busybox_image,
        image_digest,
        f"container:{sandbox}",
    )
    assert c.unresolvable == () and c.unresolvable_reason == ""

    s = _resolve(runtime, sandbox_pid)
    assert (s.id, s.name, s.pod_name, s.complete) == (sandbox, "web-1", "web-1", True)
    assert user(s.pod_labels) == pod_labels == user(s.labels)
    assert (s.image, s.image_digest, s.unresolvable) == (busybox_image, image_digest, ())
    assert c.image_id == s.image_id == _image_id(busybox_image)


def test_without_the_api_the_bundle_alone_describes_the_container(
    containerd: Containerd, busybox_image: str, image_digest: str, tmp_path: Path
) -> None:
    cid = f"no-api-{os.getpid()}"
    pid = containerd.run_detached(PLAIN_NS, busybox_image, cid, "--label", "team=red")
    refusing, silent = tmp_path / "refusing.sock", tmp_path / "silent.sock"
    with socket.socket(socket.AF_UNIX) as bound, socket.socket(socket.AF_UNIX) as mute:
        bound.bind(str(refusing))  # bound, never listening: connections are refused
        mute.bind(str(silent))
        mute.listen()  # connections complete in the backlog, nothing ever answers
        for address, reason in (
            (tmp_path / "absent.sock", "no containerd socket at"),
            (refusing, "UNAVAILABLE"),
            (silent, "DEADLINE_EXCEEDED"),
        ):
            runtime = ContainerdRuntime(containerd.task_root, address, api_timeout_s=0.2)
            c = _resolve(runtime, pid)
            assert (c.id, c.pid, c.complete, c.labels, c.image_digest) == (cid, pid, True, {}, "")
            assert {"labels", "image", "image_digest"} <= set(c.unresolvable)
            assert reason in c.unresolvable_reason and image_digest
            again = runtime.describe(cid, c.cgroup_id)  # within api_retry_s: not asked again
            assert again is not None and again.unresolvable_reason == c.unresolvable_reason


def test_client_reads_records_and_returns_none_for_unknown_names(
    containerd: Containerd, busybox_image: str, image_digest: str
) -> None:
    cid = f"client-{os.getpid()}"
    containerd.run_detached(PLAIN_NS, busybox_image, cid, "--label", "team=green")
    client = ContainerdClient(containerd.address)
    record = client.container(PLAIN_NS, cid)
    assert record is not None and (record.id, record.image) == (cid, busybox_image)
    assert record.labels["team"] == "green" and record.runtime == "io.containerd.runc.v2"
    assert record.spec is not None and record.spec["process"]["args"] == ["sleep", "60"]
    image = client.image(PLAIN_NS, busybox_image)
    assert image is not None and (image.name, image.digest) == (busybox_image, image_digest)
    assert "manifest" in image.media_type
    assert client.container("no-such-namespace", cid) is None
    assert client.container(PLAIN_NS, "no-such-container") is None
    assert client.image(PLAIN_NS, "localhost/no-such-image:1") is None
    client.close()


def test_labels_missed_while_the_api_was_down_are_filled_in_later(
    containerd: Containerd, busybox_image: str, image_digest: str, tmp_path: Path
) -> None:
    cid = f"late-{os.getpid()}"
    pid = containerd.run_detached(PLAIN_NS, busybox_image, cid, "--label", "team=late")
    address = tmp_path / "late.sock"  # absent at first: the API cannot be asked
    content = containerd.root / "io.containerd.content.v1.content"
    runtime = ContainerdRuntime(containerd.task_root, address, api_retry_s=0, content_root=content)
    now = [0.0]
    resolver = ContainerResolver([runtime], CgroupIndex(), retry_s=0, clock=lambda: now[0])
    cgroup_id = procfs.cgroup_id(pid)
    first = resolver.for_cgroup(cgroup_id, pid)
    assert first.complete and first.labels == {} and "labels" in first.unresolvable
    assert "no containerd socket" in first.unresolvable_reason
    address.symlink_to(containerd.address)  # containerd answers from now on
    assert resolver.for_cgroup(cgroup_id, pid) is first  # cached within refresh_s
    version = resolver.version
    now[0] = 31.0
    later = resolver.for_cgroup(cgroup_id, pid)
    assert later.labels["team"] == "late" and later.image_digest == image_digest
    assert (later.unresolvable, later.unresolvable_reason) == ((), "")
    assert resolver.version > version  # holders of the old answer know it changed
    now[0] = 100.0
    assert resolver.for_cgroup(cgroup_id, pid) is later  # complete now: never asked again
