"""The context stage: an event from a sensor in, the same event with process and container out."""

from __future__ import annotations

import msgspec

from stockade.context.resolver import ContainerResolver
from stockade.context.tree import ProcessTree
from stockade.model import Event


class ContextStage:
    """Joins each event with the process tree and the container resolver."""

    def __init__(self, tree: ProcessTree, resolver: ContainerResolver, host_id: str = "") -> None:
        self.tree = tree
        self.resolver = resolver
        self._host_id = host_id

    def enrich(self, event: Event) -> Event:
        """Fill `proc`, `ancestors`, `container` and `host_id` of one event."""
        event = self.tree.apply(event)
        cgroup_id = event.proc.cgroup_id
        if cgroup_id:
            container = self.resolver.for_cgroup(cgroup_id, event.proc.pid)
        else:
            container = self.resolver.for_pid(event.proc.pid)
        return msgspec.structs.replace(
            event, container=container, host_id=event.host_id or self._host_id
        )
