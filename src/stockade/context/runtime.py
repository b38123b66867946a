"""The `ContainerRuntime` interface (one adapter per runtime) and its registry.

An adapter answers two questions: does this cgroup path belong to one of my containers
(and which), and what do I know about that container right now. Adding a runtime means
one new module here that implements both and registers itself, named in `stockade.plugins`.
"""

from __future__ import annotations

import abc
from typing import ClassVar

from stockade.errors import StockadeError
from stockade.model import Container
from stockade.registry import Registry


class ContextError(StockadeError):
    """Base error of the context package."""


class ContainerRuntime(abc.ABC):
    """Reads one container runtime's own state (files or API) to describe its containers."""

    id: ClassVar[str]

    @abc.abstractmethod
    def unavailable_reason(self) -> str | None:
        """None when this runtime's state can be read here, else a one-line reason."""

    @abc.abstractmethod
    def container_id_for_cgroup(self, cgroup_path: str) -> str | None:
        """The full 64-hex container id if this cgroup v2 path is one of this runtime's."""

    @abc.abstractmethod
    def describe(self, container_id: str, cgroup_id: int) -> Container | None:
        """What the runtime knows now; None if it does not know the container (yet).

        A container whose metadata is only partly written comes back with
        `complete=False`; the resolver asks again later.
        """


RUNTIMES: Registry[type[ContainerRuntime]] = Registry("container runtime")


def all_runtimes() -> list[ContainerRuntime]:
    """One instance of every registered adapter."""
    return [cls() for _, cls in RUNTIMES.items()]
