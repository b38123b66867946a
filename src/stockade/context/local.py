"""The context stage for this host: a process tree seeded from /proc and every runtime."""

from __future__ import annotations

from stockade.context.details import ProcfsDetails
from stockade.context.enrich import ContextStage
from stockade.context.resolver import ContainerResolver
from stockade.context.runtime import all_runtimes
from stockade.context.tree import ProcessTree
from stockade.sensor import procfs


def local_context_stage(host_id: str = "") -> ContextStage:
    """What the agent, `stockade watch` and `stockade sensor record` enrich events with."""
    tree = ProcessTree()
    tree.seed(procfs.scan())
    return ContextStage(
        tree, ContainerResolver(all_runtimes()), host_id=host_id, details=ProcfsDetails()
    )
