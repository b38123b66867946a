"""Context for events: the process tree cache and the container resolver."""

from __future__ import annotations

from stockade.context.enrich import ContextStage
from stockade.context.pending import PendingContainers
from stockade.context.resolver import ContainerResolver
from stockade.context.runtime import RUNTIMES, ContainerRuntime, ContextError
from stockade.context.tree import ProcessTree

__all__ = [
    "RUNTIMES",
    "ContainerResolver",
    "ContainerRuntime",
    "ContextError",
    "ContextStage",
    "PendingContainers",
    "ProcessTree",
]
