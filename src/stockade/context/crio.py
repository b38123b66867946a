"""CRI-O containers described from CRI-O's containers/storage files, without its API.

Sources: `<graphroot>/overlay-containers/<id>/userdata/config.json` (the OCI spec CRI-O
saves there, and also under the run root, with its `io.kubernetes.cri-o.*` annotations),
the pod sandbox's own `config.json` (found through `io.kubernetes.cri-o.SandboxID`) for the
pod's labels, `overlay-images/images.json` for the image digest, and conmon's `pidfile`.
Podman shares this storage; only `crio-` cgroups (never `libpod-`) are claimed here.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from stockade.context.containerd import (
    oci_mounts,
    oci_network_mode,
    oci_privileged,
)
from stockade.context.imageref import split_reference
from stockade.context.ocispec import oci_shares_host
from stockade.context.podman import JsonFile, parse_time_ns
from stockade.context.runtime import RUNTIMES, ContainerRuntime
from stockade.model import Container

# systemd: .../kubepods-burstable-pod<uid>.slice/crio-<id>.scope; cgroupfs: .../crio-<id>
# (conmon sits in crio-conmon-<id>.scope, which is not the container)
_CGROUP_RE = re.compile(r"/crio-([0-9a-f]{64})(?:\.scope)?(?:/|$)")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_ANN = "io.kubernetes.cri-o."
# The kubelet adds these to every sandbox's labels; they are not the pod's own labels.
_KUBELET_LABELS = (
    "io.kubernetes.pod.name",
    "io.kubernetes.pod.namespace",
    "io.kubernetes.pod.uid",
    "io.kubernetes.container.name",
)


def _json_map(text: str | None) -> dict[str, str] | None:
    """A JSON object annotation as a str map; None when absent or malformed."""
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else None


def _annotations(spec: Any) -> dict[str, str] | None:
    if not isinstance(spec, dict):
        return None
    return {str(k): str(v) for k, v in (spec.get("annotations") or {}).items()}


class CrioRuntime(ContainerRuntime):
    """CRI-O (Kubernetes CRI runtime on containers/storage with conmon and runc or crun)."""

    id = "cri-o"

    def __init__(
        self,
        storage_root: Path = Path("/var/lib/containers/storage"),
        run_root: Path = Path("/run/containers/storage"),
        crio_state: Path = Path("/var/lib/crio"),
    ) -> None:
        self._crio_state = crio_state
        self._roots = (storage_root / "overlay-containers", run_root / "overlay-containers")
        self._images = JsonFile.shared(storage_root / "overlay-images" / "images.json")

    def unavailable_reason(self) -> str | None:
        """CRI-O is readable when it has run here (its state dir) and its store exists."""
        if not self._crio_state.is_dir():
            return f"no CRI-O state at {self._crio_state} (podman shares the store, not this)"
        if not self._roots[0].is_dir():
            return f"no containers/storage container store at {self._roots[0]}"
        return None

    def container_id_for_cgroup(self, cgroup_path: str) -> str | None:
        """The container id in a crio- cgroup path (systemd or cgroupfs manager)."""
        m = _CGROUP_RE.search(cgroup_path)
        return m.group(1) if m else None

    def describe(self, container_id: str, cgroup_id: int) -> Container | None:
        """Join the container's spec, its sandbox's spec and images.json."""
        userdata = [root / container_id / "userdata" for root in self._roots]
        if not any(d.is_dir() for d in userdata):
            return None
        spec = self._spec(container_id)
        ann = _annotations(spec)
        pid = _pid(userdata[1] / "pidfile")
        if spec is None or ann is None or _ANN + "ContainerType" not in ann:
            # containers/storage creates the directory before CRI-O writes the spec.
            return Container(
                id=container_id, runtime=self.id, cgroup_id=cgroup_id, pid=pid, complete=False
            )
        sandbox_id = ann.get(_ANN + "SandboxID", "")
        is_sandbox = ann[_ANN + "ContainerType"] == "sandbox"
        sandbox = ann if is_sandbox else _annotations(self._spec(sandbox_id))
        image_id = next(
            (
                ann.get(_ANN + k, "")
                for k in ("ImageRef", "Image")
                if _HEX64.match(ann.get(_ANN + k, ""))
            ),
            "",
        )
        return describe_spec(
            spec,
            sandbox,
            container_id=container_id,
            cgroup_id=cgroup_id,
            pid=pid,
            image_id=image_id,
            stored_digest=self._digest(image_id),
        )

    def _spec(self, container_id: str) -> dict[str, Any] | None:
        """The saved OCI spec, from the graph root or else the run root."""
        if not container_id:
            return None
        for root in self._roots:
            spec = JsonFile(root / container_id / "userdata" / "config.json").load()
            if isinstance(spec, dict):
                return spec
        return None

    def _digest(self, image_id: str) -> str:
        """The manifest digest containers/storage records for this image id."""
        images = self._images.load()
        if not isinstance(images, list) or not image_id:
            return ""
        entry = next((i for i in images if isinstance(i, dict) and i.get("id") == image_id), {})
        return str(entry.get("digest", ""))


def _pid(path: Path) -> int:
    """conmon's pidfile for the container's init process; 0 before it is written."""
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return 0


def describe_spec(
    spec: dict[str, Any],
    sandbox: dict[str, str] | None,
    *,
    container_id: str,
    cgroup_id: int,
    pid: int,
    image_id: str = "",
    stored_digest: str = "",
) -> Container:
    """A CRI-O container from its spec and its sandbox's annotations (None: not yet read)."""
    ann = _annotations(spec) or {}
    is_sandbox = ann.get(_ANN + "ContainerType") == "sandbox"
    sandbox_id = "" if is_sandbox else ann.get(_ANN + "SandboxID", "")
    labels = _json_map(ann.get(_ANN + "Labels")) or {}
    pod_labels = _json_map((sandbox or {}).get(_ANN + "Labels"))
    meta = _json_map(ann.get(_ANN + "Metadata")) or {}
    pod_name = labels.get("io.kubernetes.pod.name", "")
    name = meta.get("name", "") or labels.get("io.kubernetes.container.name", "")
    image = ann.get(_ANN + "ImageName", "") or ann.get(_ANN + "Image", "")
    repository, tag, digest = split_reference(image)
    caps = ((spec.get("process") or {}).get("capabilities") or {}).get("effective") or []
    host_net = (sandbox or {}).get(_ANN + "HostNetwork") == "true"
    return Container(
        id=container_id,
        name=pod_name if is_sandbox else name,
        runtime=CrioRuntime.id,
        image=image,
        image_repository=repository,
        image_tag=tag,
        image_id=image_id,
        image_digest=split_reference(ann.get(_ANN + "ImageRef", ""))[2] or digest or stored_digest,
        privileged=oci_privileged(spec) or ann.get(_ANN + "PrivilegedRuntime") == "true",
        cap_effective=tuple(str(c) for c in caps),
        mounts=oci_mounts(spec),
        network_mode="host" if host_net else oci_network_mode(spec, sandbox_id),
        pod_sandbox_id=container_id if is_sandbox else sandbox_id,
        host_pid=oci_shares_host(spec, "pid"),
        host_ipc=oci_shares_host(spec, "ipc"),
        labels=labels,
        pid=pid,
        cgroup_id=cgroup_id,
        start_ts=parse_time_ns(ann.get(_ANN + "Created", "")),
        pod_name=pod_name,
        pod_namespace=labels.get("io.kubernetes.pod.namespace", ""),
        pod_uid=labels.get("io.kubernetes.pod.uid", ""),
        pod_labels={k: v for k, v in (pod_labels or {}).items() if k not in _KUBELET_LABELS},
        complete=pod_labels is not None and bool(image),
    )


RUNTIMES.register(CrioRuntime.id, CrioRuntime)
