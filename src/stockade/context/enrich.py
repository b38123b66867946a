"""The context stage: an event from a sensor in, the same event with process and container out.

Two ways in. `enrich` takes a sensor's event and returns a copy with `proc`, `ancestors`,
`container` and `host_id` filled; every source goes through it. A source that builds
enriched events itself (the eBPF decoder, see `stockade.sensor.base.ActorContext`) asks
`actor` for the parts an event of a sensor Process gets, or finds them in `known_actors`,
and sends only the process lifecycle events (which change the tree) through `enrich`: one
event built per record instead of a raw one and its enriched copy.
"""

from __future__ import annotations

import msgspec

from stockade.context.resolver import ContainerResolver
from stockade.context.tree import CLONE_TYPES, EXEC_TYPES, ProcessTree
from stockade.model import Ancestor, Container, Event, Process
from stockade.sensor.base import Actor

_TREE_CHANGING = CLONE_TYPES | EXEC_TYPES | {"procexit"}
_HITS_MAX = 65_536
_replace = msgspec.structs.replace
# id(sensor's proc) -> (that proc, tree generation, resolver version, tree answer, actor):
# an answer that stands while the tree still gives it and the resolver is unchanged
_Hit = tuple[Process, int, int, tuple[Process, tuple[Ancestor, ...]], Actor]


class ContextStage:
    """Joins each event with the process tree and the container resolver."""

    def __init__(self, tree: ProcessTree, resolver: ContainerResolver, host_id: str = "") -> None:
        self.tree = tree
        self.resolver = resolver
        self._host_id = host_id
        self._hits: dict[int, _Hit] = {}
        # The hits valid at this tree generation and resolver version, as actors.
        self._known: dict[int, Actor] = {}
        self._generation, self._version = tree.generation, resolver.version

    def enrich(self, event: Event) -> Event:
        """Fill `proc`, `ancestors`, `container` and `host_id` of one event."""
        raw = event.proc
        if event.type not in _TREE_CHANGING:
            self._sync()
            found = self._known.get(id(raw)) or self.actor(raw)
            return _replace(
                event,
                proc=found[1],
                ancestors=found[2],
                container=found[3],
                host_id=event.host_id or self._host_id,
            )
        proc, ancestors = self.tree.update(event.type, raw)
        container = self._container(proc)
        self._sync()
        return _replace(
            event,
            proc=proc,
            ancestors=ancestors,
            container=container,
            host_id=event.host_id or self._host_id,
        )

    def known_actors(self) -> dict[int, Actor]:
        """Answers valid now, by id of the sensor's Process (see `ActorContext`)."""
        self._sync()
        return self._known

    def actor(self, raw: Process) -> Actor:
        """What an event of `raw` that does not change the tree gets (see `ActorContext`)."""
        generation, version = self.tree.generation, self.resolver.version
        hit = self._hits.get(id(raw))
        if hit is None or hit[0] is not raw or hit[2] != version:
            found = self._view(raw)
        elif hit[1] == generation:
            found = hit[4]
        elif self.tree.view(raw) is hit[3]:
            # The tree changed elsewhere; the answer stands as the tree still gives it.
            self._hits[id(raw)] = (raw, self.tree.generation, *hit[2:])
            found = hit[4]
        else:
            found = self._view(raw)
        self._sync()
        hit = self._hits.get(id(raw))
        if (
            hit is not None
            and hit[4] is found
            and hit[1] == self._generation
            and hit[2] == self._version
        ):
            self._known[id(raw)] = found
        return found

    def _sync(self) -> None:
        """Drop the known actors when the tree or the resolver changed since they were."""
        if self.tree.generation != self._generation or self.resolver.version != self._version:
            self._known.clear()
            self._generation, self._version = self.tree.generation, self.resolver.version

    def _view(self, raw: Process) -> Actor:
        """The general path for an event that does not change the tree; caches the answer
        when nothing in it can change without the tree or the resolver saying so."""
        version = self.resolver.version
        answer = self.tree.view(raw)
        proc, ancestors = answer
        container = self._container(proc)
        found = (raw, proc, ancestors, container, self._host_id)
        if container.complete and proc.cgroup_id:
            if len(self._hits) >= _HITS_MAX:
                self._hits.clear()
                self._known.clear()
            self._hits[id(raw)] = (raw, self.tree.generation, version, answer, found)
        return found

    def _container(self, proc: Process) -> Container:
        if proc.cgroup_id:
            return self.resolver.for_cgroup(proc.cgroup_id, proc.pid)
        return self.resolver.for_pid(proc.pid)
