"""ContainerdRuntime behind ContainerResolver, on task bundles laid out as containerd writes them.

Layout (containerd 1.7/2.0, runtime v2 shim `io.containerd.runc.v2`):
`/run/containerd/io.containerd.runtime.v2.task/<namespace>/<id>/config.json` is the OCI
spec the CRI plugin generates (annotations as `DefaultCRIAnnotations` in containerd's
`pkg/cri/annotations/annotations.go` sets them: image-name and container-name for app
containers only, sandbox-log-directory for sandboxes only); `init.pid` is written by the
shim once runc has created the task. Cgroup paths are the kubelet's: systemd driver
`kubepods-<qos>-pod<uid>.slice/cri-containerd-<id>.scope`, cgroupfs `/kubepods/<qos>/pod<uid>/<id>`;
`ctr run` puts a container at `/<namespace>/<id>`. No containerd answers on these hosts'
sockets, so the bundle alone describes; `with_api_facts` is checked on API records shaped
as containerd 1.6 returns them (the live daemon is in test_containerd_live.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from stockade.context import ContainerResolver
from stockade.context.containerd import ApiFacts, ContainerdRuntime, describe_spec, with_api_facts
from stockade.context.containerd_api import ContainerRecord, ImageRecord
from stockade.context.resolver import CgroupIndex
from stockade.model import Container
from stockade.model.entities import Mount

APP = "3e5c9a1f" * 8
SANDBOX = "9b0d7e24" * 8
POD_UID = "1f2e3d4c-5b6a-4789-8a7b-6c5d4e3f2a1b"
DIGEST = "sha256:" + "5a" * 32
CRI = "io.kubernetes.cri."
SYSTEMD_POD = (
    "/kubepods.slice/kubepods-burstable.slice/"
    f"kubepods-burstable-pod{POD_UID.replace('-', '_')}.slice"
)
DEFAULT_CAPS = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]


def _pod_annotations(kind: str) -> dict[str, str]:
    return {
        f"{CRI}container-type": kind,
        f"{CRI}sandbox-id": SANDBOX,
        f"{CRI}sandbox-name": "web-7d4b9c-x2v",
        f"{CRI}sandbox-namespace": "prod",
        f"{CRI}sandbox-uid": POD_UID,
    }


def _spec(annotations: dict[str, str], netns: str, caps: list[str]) -> dict[str, object]:
    return {
        "ociVersion": "1.1.0",
        "process": {"args": ["/docker-entrypoint.sh"], "capabilities": {"effective": caps}},
        "root": {"path": "rootfs"},
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {
                "destination": "/etc/hosts",
                "type": "bind",
                "source": f"/var/lib/kubelet/pods/{POD_UID}/etc-hosts",
                "options": ["rbind", "rprivate", "rw"],
            },
            {
                "destination": "/var/run/secrets/kubernetes.io/serviceaccount",
                "type": "bind",
                "source": f"/var/lib/kubelet/pods/{POD_UID}/volumes/"
                "kubernetes.io~projected/kube-api-access-8x2lp",
                "options": ["rbind", "rprivate", "ro"],
            },
        ],
        "annotations": annotations,
        "linux": {
            "resources": {"devices": [{"allow": False, "access": "rwm"}]},
            "namespaces": [{"type": "pid"}, {"type": "network", "path": netns}],
        },
    }


def app_spec(image: str = f"docker.io/library/nginx:1.25@{DIGEST}") -> dict[str, object]:
    """A Kubernetes app container's spec as the CRI plugin writes it."""
    annotations = _pod_annotations("container") | {
        f"{CRI}container-name": "nginx",
        f"{CRI}image-name": image,
    }
    return _spec(annotations, "/proc/4100/ns/net", DEFAULT_CAPS)


def sandbox_spec() -> dict[str, object]:
    """The pod sandbox (pause) container's spec."""
    annotations = _pod_annotations("sandbox") | {
        f"{CRI}sandbox-log-directory": f"/var/log/pods/prod_web-7d4b9c-x2v_{POD_UID}",
    }
    return _spec(annotations, "/var/run/netns/cni-0c5d41a4-8e0f-7d1b", DEFAULT_CAPS)


class Host:
    """A containerd host: its task directory and a cgroup v2 tree, both under tmp."""

    def __init__(self, tmp: Path) -> None:
        self.tasks = tmp / "run" / "containerd" / "io.containerd.runtime.v2.task"
        self.cgroups = tmp / "sys" / "fs" / "cgroup"
        self.tasks.mkdir(parents=True)
        self.cgroups.mkdir(parents=True)
        # No containerd answers here: the adapter describes from the bundle alone.
        self.runtime = ContainerdRuntime(self.tasks, tmp / "run" / "containerd" / "containerd.sock")
        index = CgroupIndex(self.cgroups, min_walk_interval_s=0)
        self.resolver = ContainerResolver([self.runtime], index, retry_s=0)

    def bundle(self, cid: str, spec: object | None, pid: int = 0, ns: str = "k8s.io") -> None:
        """Write a task bundle; None leaves config.json out (not written yet)."""
        bundle = self.tasks / ns / cid
        bundle.mkdir(parents=True, exist_ok=True)
        if spec is not None:
            (bundle / "config.json").write_text(json.dumps(spec))
        if pid:
            (bundle / "init.pid").write_text(str(pid))

    def cgroup(self, path: str) -> int:
        """Create a cgroup directory; its inode is the id the kernel reports."""
        full = self.cgroups / path.lstrip("/")
        full.mkdir(parents=True, exist_ok=True)
        return os.stat(full).st_ino


@pytest.fixture
def host(tmp_path: Path) -> Host:
    return Host(tmp_path)


def test_kubernetes_app_container(host: Host) -> None:
    host.bundle(APP, app_spec(), pid=4242)
    c = host.resolver.for_cgroup(host.cgroup(f"{SYSTEMD_POD}/cri-containerd-{APP}.scope"))
    assert c.complete and (c.id, c.name, c.runtime, c.pid) == (APP, "nginx", "containerd", 4242)
    assert (c.pod_name, c.pod_namespace, c.pod_uid) == ("web-7d4b9c-x2v", "prod", POD_UID)
    assert (c.image_repository, c.image_tag, c.image_digest) == (
        "docker.io/library/nginx",
        "1.25",
        DIGEST,
    )
    assert c.image == f"docker.io/library/nginx:1.25@{DIGEST}"
    assert c.network_mode == f"container:{SANDBOX}" and c.pod_sandbox_id == SANDBOX
    assert c.cap_effective == tuple(DEFAULT_CAPS) and not c.privileged
    assert c.mounts[1] == Mount(
        source=f"/var/lib/kubelet/pods/{POD_UID}/volumes/kubernetes.io~projected/kube-api-access-8x2lp",
        dest="/var/run/secrets/kubernetes.io/serviceaccount",
        mode="rbind,rprivate,ro",
        rw=False,
        propagation="rprivate",
    )
    assert len(c.mounts) == 2 and c.start_ts > 0


def test_labels_only_in_bolt_db_are_marked_not_guessed(host: Host) -> None:
    host.bundle(APP, app_spec("docker.io/library/nginx:1.25"), pid=4242)
    c = host.resolver.for_cgroup(host.cgroup(f"{SYSTEMD_POD}/cri-containerd-{APP}.scope"))
    assert c.complete and c.labels == {} and c.pod_labels == {}
    assert (c.image_tag, c.image_digest) == ("1.25", "")
    assert {"labels", "pod_labels", "image_digest"} <= set(c.unresolvable)
    assert "no containerd socket at" in c.unresolvable_reason


def test_pause_sandbox_container(host: Host) -> None:
    host.bundle(SANDBOX, sandbox_spec(), pid=4100)
    cgroup = host.cgroup(f"/kubepods/burstable/pod{POD_UID}/{SANDBOX}")
    c = host.resolver.for_cgroup(cgroup)
    assert c.complete and (c.id, c.name, c.runtime) == (SANDBOX, "web-7d4b9c-x2v", "containerd")
    assert (c.pod_namespace, c.pod_uid, c.network_mode) == ("prod", POD_UID, "bridge")
    assert c.pod_sandbox_id == SANDBOX  # a sandbox is its own
    assert c.image == "" and {"image", "pod_labels"} <= set(c.unresolvable)


def test_privileged_container(host: Host) -> None:
    spec = app_spec()
    spec["process"] = {"capabilities": {"effective": [*DEFAULT_CAPS, "CAP_SYS_ADMIN"]}}
    spec["linux"] = {"resources": {"devices": [{"allow": True, "access": "rwm"}]}}
    host.bundle(APP, spec, pid=4242)
    c = host.resolver.for_cgroup(host.cgroup(f"{SYSTEMD_POD}/cri-containerd-{APP}.scope"))
    assert c.privileged and c.network_mode == "host"


def test_metadata_arriving_late_is_filled_in(host: Host) -> None:
    cgroup = host.cgroup(f"{SYSTEMD_POD}/cri-containerd-{APP}.scope")
    host.bundle(APP, None)
    first = host.resolver.for_cgroup(cgroup)
    assert (first.id, first.runtime, first.complete) == (APP, "containerd", False)
    (host.tasks / "k8s.io" / APP / "config.json").write_text('{"ociVersion": "1.1')
    assert not host.resolver.for_cgroup(cgroup).complete  # half-written
    host.bundle(APP, app_spec())
    waiting = host.resolver.for_cgroup(cgroup)
    assert waiting.pod_name == "web-7d4b9c-x2v" and not waiting.complete  # no init.pid yet
    host.bundle(APP, app_spec(), pid=4242)
    done = host.resolver.for_cgroup(cgroup)
    assert done.complete and done.pid == 4242 and done.name == "nginx"


def test_unknown_container(host: Host) -> None:
    assert host.runtime.describe("0" * 64, cgroup_id=1) is None
    c = host.resolver.for_cgroup(host.cgroup(f"{SYSTEMD_POD}/cri-containerd-{'0' * 64}.scope"))
    assert (c.id, c.runtime, c.complete) == ("0" * 64, "containerd", False)


def test_plain_containerd_namespace_and_id(host: Host) -> None:
    host.bundle("redis-1", {"ociVersion": "1.1.0", "linux": {"namespaces": []}}, 77, "default")
    c = host.resolver.for_cgroup(host.cgroup("/default/redis-1"))
    assert (c.id, c.name, c.runtime, c.pid, c.network_mode) == (
        "redis-1",
        "redis-1",
        "containerd",
        77,
        "host",
    )
    assert c.complete and "image" in c.unresolvable
    assert host.resolver.for_cgroup(host.cgroup("/system.slice/cron.service")).is_host


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (f"{SYSTEMD_POD}/cri-containerd-{APP}.scope", APP),
        (f"/kubepods/besteffort/pod{POD_UID}/{APP}", APP),
        (f"/kubepods/pod{POD_UID}/{APP}", APP),
        (f"/kubelet.slice/kubepods/burstable/pod{POD_UID}/{APP}/init", APP),
        (f"{SYSTEMD_POD}/crio-{APP}.scope", None),
        (f"/libpod_parent/libpod-{APP}", None),
        (f"/system.slice/docker-{APP}.scope", None),
        (f"/kubepods/burstable/pod{POD_UID}", None),
    ],
    ids=["systemd", "cgroupfs", "guaranteed", "nested", "crio", "podman", "docker", "pod"],
)
def test_container_id_from_cgroup(host: Host, path: str, expected: str | None) -> None:
    assert host.runtime.container_id_for_cgroup(path) == expected


def test_unavailable_without_containerd(tmp_path: Path) -> None:
    assert ContainerdRuntime(tmp_path / "missing").unavailable_reason()
    assert Host(tmp_path).runtime.unavailable_reason() is None


def _record(cid: str, image: str, labels: dict[str, str]) -> ContainerRecord:
    return ContainerRecord(
        id=cid, image=image, runtime="io.containerd.runc.v2", snapshotter="overlayfs", labels=labels
    )


def _from_bundle(spec: dict[str, object], cid: str) -> Container:
    return describe_spec(spec, container_id=cid, cgroup_id=7, pid=4242, start_ts=1)


NGINX = "docker.io/library/nginx:1.25"
POD_LABELS = {"app": "web", "io.kubernetes.pod.name": "web-7d4b9c-x2v"}
CRI_KIND = {"io.cri-containerd.kind": "sandbox"}
APP_RECORD = _record(APP, NGINX, {"io.kubernetes.container.name": "nginx"})
SANDBOX_RECORD = _record(SANDBOX, "registry.k8s.io/pause:3.9", POD_LABELS | CRI_KIND)
IMAGE_ID = "7f" * 32
NGINX_IMAGE = ImageRecord(name=NGINX, digest=DIGEST, media_type="application/vnd.oci.image.index")


@pytest.mark.parametrize(
    ("cid", "spec", "facts", "labels", "pod_labels", "digest", "unresolvable", "reason"),
    [
        (
            APP,
            app_spec(NGINX),
            ApiFacts(APP_RECORD, SANDBOX_RECORD, NGINX_IMAGE, image_id=IMAGE_ID),
            {"io.kubernetes.container.name": "nginx"},
            POD_LABELS,
            DIGEST,
            (),
            "",
        ),
        (
            SANDBOX,
            sandbox_spec(),
            ApiFacts(SANDBOX_RECORD, None, None, ("image registry.k8s.io/pause:3.9 not in",)),
            POD_LABELS,
            POD_LABELS,
            "",
            ("image_id", "image_digest"),
            "image registry.k8s.io/pause:3.9 not in",
        ),
        (
            APP,
            app_spec(NGINX),
            ApiFacts(APP_RECORD, None, NGINX_IMAGE, ("pod sandbox gone",), IMAGE_ID),
            {"io.kubernetes.container.name": "nginx"},
            {},
            DIGEST,
            ("pod_labels",),
            "pod sandbox gone",
        ),
        (
            "redis-1",
            {"ociVersion": "1.1.0"},
            ApiFacts(_record("redis-1", "docker.io/library/redis:7", {"team": "blue"}), None, None),
            {"team": "blue"},
            {},
            "",
            ("image_id", "image_digest"),
            "",
        ),
        (
            APP,
            app_spec(NGINX),
            ApiFacts(None, None, None, ("containerd API: no containerd socket at /x",)),
            {},
            {},
            "",
            ("labels", "pod_labels", "image_id", "image_digest"),
            "containerd API: no containerd socket at /x",
        ),
    ],
    ids=["cri-app", "cri-sandbox", "sandbox-gone", "plain", "no-api"],
)
def test_api_facts_complete_the_bundle(
    cid: str,
    spec: dict[str, object],
    facts: ApiFacts,
    labels: dict[str, str],
    pod_labels: dict[str, str],
    digest: str,
    unresolvable: tuple[str, ...],
    reason: str,
) -> None:
    annotations = spec.get("annotations") or {}
    assert isinstance(annotations, dict)
    kind = str(annotations.get(f"{CRI}container-type", ""))
    c = with_api_facts(_from_bundle(spec, cid), facts, kind)
    assert (c.labels, c.pod_labels, c.image_digest) == (labels, pod_labels, digest)
    assert c.image_id == facts.image_id
    assert (c.unresolvable, c.unresolvable_reason) == (unresolvable, reason)
    assert c.image == (facts.container.image if facts.container else c.image)


def test_grpc_and_protobuf_load_only_when_containerd_is_asked() -> None:
    code = (
        "import sys\n"
        "from stockade.context.runtime import all_runtimes\n"
        "all_runtimes()\n"
        "print(sorted(m for m in ('grpc', 'google.protobuf') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"  # an agent on a host without containerd pays nothing
