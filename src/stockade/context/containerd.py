"""containerd (plain and Kubernetes CRI) containers described from containerd's own files.

Source: the runtime v2 task bundle `/run/containerd/io.containerd.runtime.v2.task/<ns>/<id>/`
that containerd writes before the shim starts the task: `config.json` (the OCI spec with
the CRI plugin's `io.kubernetes.cri.*` annotations) and `init.pid` (written by the shim
once the task exists). Pod labels, container labels and the image digest of a tag live
only in containerd's bolt metadata database (`meta.db`), readable through its API alone:
they stay empty and are named in `Container.unresolvable`, unless the image name the
kubelet asked for carries its digest (`name@sha256:...`).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from stockade.context.imageref import split_reference
from stockade.context.podman import JsonFile
from stockade.context.runtime import RUNTIMES, ContainerRuntime
from stockade.model import Container
from stockade.model.entities import Mount

TASK_ROOT = Path("/run/containerd/io.containerd.runtime.v2.task")
CRI_NAMESPACE = "k8s.io"

# systemd driver: .../kubepods-besteffort-pod<uid>.slice/cri-containerd-<id>.scope
_SYSTEMD_RE = re.compile(r"/cri-containerd-([0-9a-f]{64})\.scope(?:/|$)")
# cgroupfs driver: /kubepods/<qos>/pod<uid>/<id> (guaranteed pods have no qos level)
_KUBEPODS_RE = re.compile(r"/kubepods/(?:[^/]+/)*?([0-9a-f]{64})(?:/|$)")
# plain containerd (ctr, nerdctl): /<namespace>/<id>
_PLAIN_RE = re.compile(r"^/([A-Za-z0-9][A-Za-z0-9._-]*)/([A-Za-z0-9][A-Za-z0-9._-]*)$")

_ANN = "io.kubernetes.cri."
_NO_API_FIELDS = ("labels", "pod_labels")


def oci_mounts(spec: dict[str, Any]) -> tuple[Mount, ...]:
    """The bind mounts of an OCI spec (what the container sees of the host)."""
    found = []
    for m in spec.get("mounts") or []:
        options = m.get("options") or []
        if m.get("type") != "bind" and "bind" not in options and "rbind" not in options:
            continue
        propagation = next((o for o in options if o.endswith(("private", "shared", "slave"))), "")
        found.append(
            Mount(
                source=str(m.get("source", "")),
                dest=str(m.get("destination", "")),
                mode=",".join(options),
                rw="ro" not in options,
                propagation=propagation,
            )
        )
    return tuple(found)


def oci_privileged(spec: dict[str, Any]) -> bool:
    """True for a spec built the way CRI runtimes build privileged containers.

    CRI's privileged flag is not written into the spec; what it does is: all
    capabilities (so CAP_SYS_ADMIN) and a device cgroup rule allowing every device.
    """
    caps = ((spec.get("process") or {}).get("capabilities") or {}).get("effective") or []
    rules = ((spec.get("linux") or {}).get("resources") or {}).get("devices") or []
    allow_all = any(
        r.get("allow") and r.get("type", "a") == "a" and r.get("major") is None
        for r in rules
        if isinstance(r, dict)
    )
    return "CAP_SYS_ADMIN" in caps and allow_all


def oci_network_mode(spec: dict[str, Any], sandbox_id: str) -> str:
    """host, none, bridge (own namespace set up by CNI), or container:<sandbox id>."""
    for ns in (spec.get("linux") or {}).get("namespaces") or []:
        if ns.get("type") == "network":
            if sandbox_id:
                return f"container:{sandbox_id}"
            return "bridge" if ns.get("path") else "none"
    return "host"


def _annotations(spec: dict[str, Any]) -> dict[str, str]:
    return {str(k): str(v) for k, v in (spec.get("annotations") or {}).items()}


class ContainerdRuntime(ContainerRuntime):
    """containerd with its CRI plugin (Kubernetes) or used directly (ctr, nerdctl)."""

    id = "containerd"

    def __init__(self, task_root: Path = TASK_ROOT) -> None:
        self._task_root = task_root

    def unavailable_reason(self) -> str | None:
        """containerd is readable when its runtime v2 task directory exists."""
        if not self._task_root.is_dir():
            return f"no containerd task state at {self._task_root}"
        return None

    def container_id_for_cgroup(self, cgroup_path: str) -> str | None:
        """The container id in a CRI cgroup path, or a plain /<ns>/<id> one with a bundle."""
        m = _SYSTEMD_RE.search(cgroup_path) or _KUBEPODS_RE.search(cgroup_path)
        if m:
            return m.group(1)
        plain = _PLAIN_RE.match(cgroup_path)
        if plain and (self._task_root / plain.group(1) / plain.group(2)).is_dir():
            return plain.group(2)
        return None

    def describe(self, container_id: str, cgroup_id: int) -> Container | None:
        """Read the task bundle's spec and init pid; None if there is no bundle."""
        bundle = self._bundle(container_id)
        if bundle is None:
            return None
        spec = JsonFile(bundle / "config.json").load()
        pid, started = _init_pid(bundle / "init.pid")
        if not isinstance(spec, dict):
            return Container(
                id=container_id, runtime=self.id, cgroup_id=cgroup_id, pid=pid, complete=False
            )
        return describe_spec(
            spec,
            container_id=container_id,
            cgroup_id=cgroup_id,
            pid=pid,
            start_ts=started,
        )

    def _bundle(self, container_id: str) -> Path | None:
        """The task bundle of this id in the CRI namespace first, then in any other."""
        first = self._task_root / CRI_NAMESPACE / container_id
        if first.is_dir():
            return first
        try:
            namespaces = sorted(os.listdir(self._task_root))
        except OSError:
            return None
        for ns in namespaces:
            bundle = self._task_root / ns / container_id
            if ns != CRI_NAMESPACE and bundle.is_dir():
                return bundle
        return None


def _init_pid(path: Path) -> tuple[int, int]:
    """The task's init pid and when the shim wrote it (ns); (0, 0) before it exists."""
    try:
        text = path.read_text().strip()
        return int(text), path.stat().st_mtime_ns
    except (OSError, ValueError):
        return 0, 0


def describe_spec(
    spec: dict[str, Any],
    *,
    container_id: str,
    cgroup_id: int,
    pid: int,
    start_ts: int,
) -> Container:
    """A containerd container from its bundle's OCI spec (pure: values in, value out)."""
    ann = _annotations(spec)
    kind = ann.get(_ANN + "container-type", "")
    is_sandbox = kind == "sandbox"
    sandbox_id = "" if is_sandbox else ann.get(_ANN + "sandbox-id", "")
    image = ann.get(_ANN + "image-name", "")
    repository, tag, digest = split_reference(image)
    unresolvable = list(_NO_API_FIELDS)
    if not digest:
        unresolvable.append("image_digest")
    if not image:  # sandboxes and plain containers: the image is only in meta.db
        unresolvable += ["image", "image_repository", "image_tag"]
    pod_name = ann.get(_ANN + "sandbox-name", "")
    name = ann.get(_ANN + "container-name", "") or (pod_name if is_sandbox else container_id)
    caps = ((spec.get("process") or {}).get("capabilities") or {}).get("effective") or []
    # The CRI plugin writes image-name for app containers only, never for the sandbox.
    known = bool(pod_name and (image or is_sandbox)) if kind else True
    return Container(
        id=container_id,
        name=name,
        runtime=ContainerdRuntime.id,
        image=image,
        image_repository=repository,
        image_tag=tag,
        image_digest=digest,
        privileged=oci_privileged(spec),
        cap_effective=tuple(str(c) for c in caps),
        mounts=oci_mounts(spec),
        network_mode=oci_network_mode(spec, sandbox_id),
        labels={},
        pid=pid,
        cgroup_id=cgroup_id,
        start_ts=start_ts,
        pod_name=pod_name,
        pod_namespace=ann.get(_ANN + "sandbox-namespace", ""),
        pod_uid=ann.get(_ANN + "sandbox-uid", ""),
        complete=known and pid > 0,
        unresolvable=tuple(unresolvable),
    )


RUNTIMES.register(ContainerdRuntime.id, ContainerdRuntime)
