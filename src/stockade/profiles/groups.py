"""Workload groups: which containers are one workload, as a pure function of the container.

A group is the unit profiles are learned for and modes (and, later, firewall rules) are
set on. Containers of one workload share an image repository and an owner: the
Kubernetes workload that made the pod (a Deployment through its ReplicaSet, a
StatefulSet, a DaemonSet), else the compose project, else the podman pod; a container
with none of them is a workload of its own image. An explicit `stockade.group` label
(on the container or its pod) overrides all of that.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import NewType

from stockade.model.entities import Container

GroupId = NewType("GroupId", str)

GROUP_LABEL = "stockade.group"
HOST_GROUP = GroupId("host")

# Labels naming a compose project (Docker Compose, podman-compose) and a podman pod.
_COMPOSE_LABELS = ("com.docker.compose.project", "io.podman.compose.project")
_POD_LABELS = ("io.podman.pod.name",)
_SLUG_UNSAFE = re.compile(r"[^a-z0-9.]+")
# A pod name's generated tail: ReplicaSet hash + pod suffix, or a DaemonSet/Job suffix.
_REPLICASET_TAIL = re.compile(r"-[a-z0-9]{5,10}-[a-z0-9]{5}$")
_POD_SUFFIX = re.compile(r"-[a-z0-9]{5}$")
_ORDINAL = re.compile(r"-\d+$")
_GROUP_ID = re.compile(r"[a-z0-9][a-z0-9.-]*-[0-9a-f]{8}")


@dataclass(frozen=True, slots=True)
class WorkloadGroup:
    """A workload group: its id (URL-safe, stable), a readable name, and how it was found."""

    id: GroupId
    name: str
    image_repository: str
    owner_kind: str  # label | kubernetes | compose | pod | image | host
    owner: str


def workload_group(container: Container) -> WorkloadGroup:
    """The workload group a container belongs to (pure: the same container, the same group)."""
    if container.is_host:
        return WorkloadGroup(HOST_GROUP, "host", "", "host", "")
    repository = container.image_repository or container.image or container.image_id
    explicit = container.labels.get(GROUP_LABEL) or container.pod_labels.get(GROUP_LABEL)
    if explicit:
        return label_group(explicit, repository)
    kind, owner = _owner(container)
    name = f"{repository} ({kind} {owner})" if owner else repository
    return WorkloadGroup(_slug_id(repository, f"{kind}:{owner}"), name, repository, kind, owner)


def label_group(value: str, image_repository: str = "") -> WorkloadGroup:
    """The group of every container labelled `stockade.group=<value>` (known before any runs)."""
    return WorkloadGroup(_slug_id(value, ""), value, image_repository, "label", value)


def is_group_id(text: str) -> bool:
    """Whether `text` has the form of a group id (a slug, a dash, 8 hex), not of a label value."""
    return text == HOST_GROUP or _GROUP_ID.fullmatch(text) is not None


def group_id(container: Container) -> GroupId:
    """The id of the container's workload group (see `workload_group`)."""
    return workload_group(container).id


def _owner(container: Container) -> tuple[str, str]:
    """Who runs the container: the Kubernetes workload, compose project or pod, else none."""
    if container.pod_name and container.pod_namespace:
        return "kubernetes", f"{container.pod_namespace}/{kubernetes_owner(container)}"
    for label in _COMPOSE_LABELS:
        if container.labels.get(label):
            return "compose", container.labels[label]
    for label in _POD_LABELS:
        if container.labels.get(label):
            return "pod", container.labels[label]
    if container.pod_name:
        return "pod", container.pod_name
    return "image", ""


def kubernetes_owner(container: Container) -> str:
    """The workload name behind a pod: its name without the generated tail, plus container."""
    pod = container.pod_name
    template_hash = container.pod_labels.get("pod-template-hash", "")
    if template_hash and f"-{template_hash}-" in pod:
        base = pod.rsplit(f"-{template_hash}-", 1)[0]
    elif _REPLICASET_TAIL.search(pod):
        base = _REPLICASET_TAIL.sub("", pod)
    elif _ORDINAL.search(pod):
        base = _ORDINAL.sub("", pod)  # StatefulSet: web-0, web-1 are one workload
    else:
        base = _POD_SUFFIX.sub("", pod)
    return f"{base}/{container.name}" if container.name and container.name != pod else base


def _slug_id(readable: str, scope: str) -> GroupId:
    """A URL-safe id: the readable part as a slug, plus a short hash of the whole key."""
    key = f"{readable}\x00{scope}"
    digest = hashlib.sha256(key.encode()).hexdigest()[:8]
    slug = _SLUG_UNSAFE.sub("-", readable.lower()).strip("-.")[:48] or "group"
    return GroupId(f"{slug}-{digest}")
