"""Which pods a workload group is: the labels that select them, as a pure function.

A NetworkPolicy selects pods by label, so exporting a group's allow-list needs the labels
its pods really carry. A group formed by the explicit `stockade.group` label is selected
by that label; a Kubernetes workload's group by the labels its pod template gives every
pod (without the ones Kubernetes generates per pod or per revision) in its namespace.
A group no label defines (an image alone, a podman pod, a compose project) has no sound
selector: `unselectable` says why instead of inventing one.
"""

from __future__ import annotations

import msgspec

from stockade.model.entities import Container
from stockade.profiles.groups import GROUP_LABEL, workload_group

# Labels Kubernetes sets per pod or per revision: they differ between a workload's pods.
GENERATED_LABELS = frozenset(
    {
        "pod-template-hash",
        "controller-revision-hash",
        "pod-template-generation",
        "statefulset.kubernetes.io/pod-name",
        "apps.kubernetes.io/pod-index",
        "controller-uid",
        "batch.kubernetes.io/controller-uid",
        "batch.kubernetes.io/job-completion-index",
    }
)


class PodSelector(msgspec.Struct, frozen=True, kw_only=True):
    """The labels (in `namespace`, "" = any) selecting a group's pods, or why none can."""

    labels: dict[str, str] = msgspec.field(default_factory=dict)
    namespace: str = ""
    unselectable: str = ""  # why no label selects the group's pods ("" when labels do)


def pod_selector(container: Container) -> PodSelector:
    """The selector of the container's workload group, from what the container carries."""
    group = workload_group(container)
    namespace = container.pod_namespace
    if group.owner_kind == "label":
        if namespace and GROUP_LABEL not in container.pod_labels:
            why = f"the {GROUP_LABEL} label is on the container, not its pod"
            return PodSelector(namespace=namespace, unselectable=why)
        return PodSelector(labels={GROUP_LABEL: group.owner}, namespace=namespace)
    if group.owner_kind == "kubernetes":
        labels = {k: v for k, v in container.pod_labels.items() if k not in GENERATED_LABELS}
        if labels:
            return PodSelector(labels=labels, namespace=namespace)
        return PodSelector(namespace=namespace, unselectable="its pods carry no workload label")
    where = f"{group.owner_kind} {group.owner}".strip()
    return PodSelector(unselectable=f"not a Kubernetes workload ({where}): no pod label")


def common(first: PodSelector, second: PodSelector) -> PodSelector:
    """What two sightings of one group have in common: the labels both carry alike."""
    if first.unselectable:
        return first
    if second.unselectable:
        return second
    labels = {k: v for k, v in first.labels.items() if second.labels.get(k) == v}
    namespace = first.namespace if first.namespace == second.namespace else ""
    if not labels:
        return PodSelector(namespace=namespace, unselectable="its pods share no label")
    return PodSelector(labels=labels, namespace=namespace)
