"""The context stage: an event from a sensor in, the same event with process and container out."""

from __future__ import annotations

import msgspec

from stockade.context.resolver import ContainerResolver
from stockade.context.tree import CLONE_TYPES, EXEC_TYPES, ProcessTree
from stockade.model import Event

_TREE_CHANGING = CLONE_TYPES | EXEC_TYPES | {"procexit"}


class ContextStage:
    """Joins each event with the process tree and the container resolver."""

    def __init__(self, tree: ProcessTree, resolver: ContainerResolver, host_id: str = "") -> None:
        self.tree = tree
        self.resolver = resolver
        self._host_id = host_id

    def enrich(self, event: Event) -> Event:
        """Fill `proc`, `ancestors`, `container` and `host_id` of one event."""
        if event.type in _TREE_CHANGING:
            proc, ancestors = self.tree.update(event.type, event.proc)
        else:  # the common case: one cached lookup in the tree
            proc, ancestors = self.tree.view(event.proc)
        if proc.cgroup_id:
            container = self.resolver.for_cgroup(proc.cgroup_id, proc.pid)
        else:
            container = self.resolver.for_pid(proc.pid)
        return msgspec.structs.replace(
            event,
            proc=proc,
            ancestors=ancestors,
            container=container,
            host_id=event.host_id or self._host_id,
        )
