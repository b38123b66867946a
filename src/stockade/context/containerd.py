"""containerd (plain and Kubernetes CRI) containers described from containerd itself.

Two sources. The runtime v2 task bundle `<state>/io.containerd.runtime.v2.task/<ns>/<id>/`
that containerd writes before the shim starts the task: `config.json` (the OCI spec with
the CRI plugin's `io.kubernetes.cri.*` annotations) and `init.pid` (written by the shim
once the task exists). And containerd's gRPC API (`containerd_api`), for what lives only
in its metadata database: the container's labels and image (`Containers/Get`), the pod's
labels (the CRI plugin keeps them as the labels of the pod's sandbox container, named by
the `io.kubernetes.cri.sandbox-id` annotation) and the digest an image name points at
(`Images/Get`), whose config digest, the image id, is read from the content store on disk
(`containerd_content`). The CRI plugin's own `io.cri-containerd.*` labels are not user labels and
are left out. When the API cannot be asked (no socket, refused, no answer within the
timeout) the bundle alone describes the container: the fields only the API has stay empty,
are named in `Container.unresolvable`, and `unresolvable_reason` says why.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from stockade.context.containerd_api import (
    DEFAULT_ADDRESS,
    ContainerdApiError,
    ContainerdClient,
    ContainerdUnreachable,
    ContainerRecord,
    ImageRecord,
)
from stockade.context.containerd_content import CONTENT_ROOT, ImageIdError, image_id
from stockade.context.imageref import split_reference
from stockade.context.ocispec import oci_shares_host
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
_CRI_LABELS = "io.cri-containerd."
_NO_API_FIELDS = ("labels", "pod_labels", "image_id")


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


@dataclass(frozen=True, slots=True)
class ApiFacts:
    """What containerd's API said about one container, its pod sandbox and its image."""

    container: ContainerRecord | None = None
    sandbox: ContainerRecord | None = None
    image: ImageRecord | None = None
    reasons: tuple[str, ...] = ()  # why something asked for was not found
    image_id: str = ""  # the image's config digest (hex), from the content store


class ContainerdRuntime(ContainerRuntime):
    """containerd with its CRI plugin (Kubernetes) or used directly (ctr, nerdctl)."""

    id = "containerd"

    def __init__(
        self,
        task_root: Path = TASK_ROOT,
        address: Path = DEFAULT_ADDRESS,
        api_timeout_s: float = 1.0,
        api_retry_s: float = 10.0,
        content_root: Path = CONTENT_ROOT,
    ) -> None:
        self._task_root = task_root
        self._content_root = content_root
        self._api = ContainerdClient(address, api_timeout_s)
        self._api_retry_s = api_retry_s
        self._api_down: tuple[float, str] | None = None  # (since, reason) after no answer

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
        """Read the task bundle, then ask the API; None if there is no bundle."""
        bundle = self._bundle(container_id)
        if bundle is None:
            return None
        loaded = JsonFile(bundle / "config.json").load()
        pid, started = _init_pid(bundle / "init.pid")
        facts = self._ask_api(bundle.parent.name, container_id, loaded)
        spec = loaded if isinstance(loaded, dict) else None
        if spec is None and facts.container is not None and facts.container.spec is not None:
            spec = dict(facts.container.spec)  # the bundle's copy is not written yet
        if spec is None:
            return Container(
                id=container_id, runtime=self.id, cgroup_id=cgroup_id, pid=pid, complete=False
            )
        container = describe_spec(
            spec, container_id=container_id, cgroup_id=cgroup_id, pid=pid, start_ts=started
        )
        return with_api_facts(container, facts, _annotations(spec).get(_ANN + "container-type", ""))

    def _ask_api(self, namespace: str, container_id: str, spec: Any) -> ApiFacts:
        """Containers/Get for the container and its sandbox, Images/Get for its image."""
        now = time.monotonic()
        if self._api_down is not None and now - self._api_down[0] < self._api_retry_s:
            return ApiFacts(reasons=(self._api_down[1],))
        try:
            facts = self._lookups(namespace, container_id, spec)
        except ContainerdApiError as e:
            reason = f"containerd API: {e}"
            if isinstance(e, ContainerdUnreachable):
                self._api_down = (now, reason)
            return ApiFacts(reasons=(reason,))
        self._api_down = None
        return facts

    def _lookups(self, namespace: str, container_id: str, spec: Any) -> ApiFacts:
        record = self._api.container(namespace, container_id)
        if record is None:
            return ApiFacts(reasons=(f"container {container_id} not in containerd ({namespace})",))
        if not isinstance(spec, dict):
            spec = record.spec or {}
        ann = _annotations(spec)
        reasons = []
        sandbox = None
        sandbox_id = ann.get(_ANN + "sandbox-id", "")
        if ann.get(_ANN + "container-type") == "container" and sandbox_id:
            sandbox = self._api.container(namespace, sandbox_id)
            if sandbox is None:
                reasons.append(f"pod sandbox {sandbox_id} not in containerd ({namespace})")
        image = None
        names = _image_names(record.image, ann.get(_ANN + "image-name", ""))
        for name in names:
            image = self._api.image(namespace, name)
            if image is not None:
                break
        else:
            reasons.append(
                f"image {names[0]} not in containerd ({namespace})"
                if names
                else "containerd records no image for this container"
            )
        config_id = ""
        if image is not None:
            try:
                config_id = image_id(self._content_root, image.digest, image.media_type)
            except ImageIdError as e:
                reasons.append(f"image id: {e}")
        return ApiFacts(record, sandbox, image, tuple(reasons), config_id)

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


def _image_names(*refs: str) -> list[str]:
    """The names to look an image up by: as written, then as docker normalises them."""
    names: list[str] = []
    for ref in refs:
        if not ref:
            continue
        first, _, rest = ref.partition("/")
        if not rest:
            full = f"docker.io/library/{ref}"
        elif "." in first or ":" in first or first == "localhost":
            full = ref
        else:
            full = f"docker.io/{ref}"
        names += [n for n in (ref, full) if n not in names]
    return names


def user_labels(labels: Mapping[str, str]) -> dict[str, str]:
    """Labels as the user set them, without the CRI plugin's own bookkeeping labels."""
    return {k: v for k, v in labels.items() if not k.startswith(_CRI_LABELS)}


def with_api_facts(c: Container, facts: ApiFacts, cri_kind: str) -> Container:
    """The container from its bundle completed with what the API said (pure).

    `cri_kind` is the CRI container-type annotation: "sandbox", "container", or "" for a
    container that is not a pod's (which then has no pod labels to miss).
    """
    record = facts.container
    if record is None:
        return msgspec.structs.replace(c, unresolvable_reason="; ".join(facts.reasons))
    labels = user_labels(record.labels)
    found: dict[str, Any] = {"labels": labels}
    if cri_kind == "sandbox":
        found["pod_labels"] = labels
    elif facts.sandbox is not None:
        found["pod_labels"] = user_labels(facts.sandbox.labels)
    elif not cri_kind:
        found["pod_labels"] = {}
    image = c.image or record.image
    repository, tag, digest = split_reference(image)
    if facts.image is not None and not digest:
        digest = facts.image.digest
    if image:
        found.update(image=image, image_repository=repository, image_tag=tag)
    if digest:
        found["image_digest"] = digest
    if facts.image_id:
        found["image_id"] = facts.image_id
    missing = tuple(f for f in c.unresolvable if f not in found)
    return msgspec.structs.replace(
        c,
        **found,
        unresolvable=missing,
        unresolvable_reason="; ".join(facts.reasons) if missing else "",
    )


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
        pod_sandbox_id=container_id if is_sandbox else sandbox_id,
        host_pid=oci_shares_host(spec, "pid"),
        host_ipc=oci_shares_host(spec, "ipc"),
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
