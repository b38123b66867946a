"""The context stage: an event from a sensor in, the same event with process and container out."""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

from stockade.context.details import ProcessDetails
from stockade.context.resolver import ContainerResolver
from stockade.context.tree import CLONE_TYPES, EXEC_TYPES, ProcessTree
from stockade.model import Ancestor, Container, Event, Process

try:
    from stockade.context._batch import enrich_all as compiled_enrich_all
except ImportError:  # not built here: the Python loop in ContextStage.enrich_all does the same
    COMPILED = False
else:
    COMPILED = True

_TREE_CHANGING = frozenset(CLONE_TYPES | EXEC_TYPES | {"procexit"})
# Answers kept for actors seen before. A process's are dropped at its exit (every identity
# it had: threads, the one before its exec); the bound is for actors whose exit was lost.
# Each answer holds the enriched process (its /proc details, ~4 KB): at 65,536, 200
# containers exec'ing every 5 s grew the agent by ~1 MB a minute until the cache started
# over.
_HITS_MAX = 4096
_replace = msgspec.structs.replace
# id(sensor's proc) -> (that proc, tree generation, resolver version, tree answer,
#                       proc, ancestors, container): the answer's parts, ready to attach
_Hit = tuple[
    Process,
    int,
    int,
    tuple[Process, tuple[Ancestor, ...]],
    Process,
    tuple[Ancestor, ...],
    Container,
]


class ContextStage:
    """Joins each event with the process tree and the container resolver."""

    def __init__(
        self,
        tree: ProcessTree,
        resolver: ContainerResolver,
        host_id: str = "",
        *,
        details: ProcessDetails | None = None,
        compiled: bool = True,
    ) -> None:
        self.tree = tree
        self.resolver = resolver
        self._host_id = host_id
        self._details = details
        self._hits: dict[int, _Hit] = {}
        self._pid_hits: dict[int, list[int]] = {}  # pid -> the keys of its answers in _hits
        self.compiled = compiled and COMPILED

    @property
    def cached_actors(self) -> int:
        """How many actors' answers are kept for their next events."""
        return len(self._hits)

    def enrich_all(self, events: Iterable[Event]) -> list[Event]:
        """`enrich` over a batch of the sensor's fresh events.

        The common case (an actor seen before, nothing changed since, in a known
        container) is taken without a call per event, and its event is filled in place.
        Runs compiled where `_batch` is built.
        """
        if self.compiled:
            return compiled_enrich_all(self, events, self._hits, _TREE_CHANGING, self._host_id)
        out: list[Event] = []
        append, hits, enrich = out.append, self._hits, self.enrich
        generation, version = self.tree.generation, self.resolver.version
        for event in events:
            raw = event.proc
            hit = hits.get(id(raw))
            if (
                hit is not None
                and event.type not in _TREE_CHANGING
                and hit[0] is raw
                and hit[1] == generation
                and hit[2] == version
            ):
                event.proc, event.ancestors, event.container = hit[4], hit[5], hit[6]
                if not event.host_id:
                    event.host_id = self._host_id
                append(event)
            else:
                append(enrich(event))
                generation, version = self.tree.generation, self.resolver.version
        return out

    def enrich(self, event: Event) -> Event:
        """Fill `proc`, `ancestors`, `container` and `host_id` of one event."""
        raw = event.proc
        hit = self._hits.get(id(raw))
        # The common case: an actor seen before, nothing changed since, in a known container.
        if (
            hit is not None
            and hit[0] is raw
            and hit[1] == self.tree.generation
            and hit[2] == self.resolver.version
            and event.type not in _TREE_CHANGING
        ):
            return _replace(
                event,
                proc=hit[4],
                ancestors=hit[5],
                container=hit[6],
                host_id=event.host_id or self._host_id,
            )
        if event.type in _TREE_CHANGING:
            if event.type == "procexit":
                self._forget(raw.pid)  # the process is gone: so are its answers
            exec_ = event.type in EXEC_TYPES
            if exec_ and self._details is not None:
                raw = self._details.at_exec(raw)
            proc, ancestors = self.tree.update(event.type, raw)
            proc = self._named(proc, fresh=exec_)
            if proc.cgroup_id:
                container = self.resolver.for_cgroup(proc.cgroup_id, proc.pid)
            else:
                container = self.resolver.for_pid(proc.pid)
        elif hit is not None and hit[0] is raw and hit[2] == self.resolver.version:
            # The tree changed elsewhere; the answer stands if the tree still gives it.
            if self.tree.view(raw) is hit[3]:
                self._hits[id(raw)] = (raw, self.tree.generation, *hit[2:])
                proc, ancestors, container = hit[4], hit[5], hit[6]
            else:
                proc, ancestors, container = self._view(raw)
        else:
            proc, ancestors, container = self._view(raw)
        return _replace(
            event,
            proc=proc,
            ancestors=ancestors,
            container=container,
            host_id=event.host_id or self._host_id,
        )

    def _view(self, raw: Process) -> tuple[Process, tuple[Ancestor, ...], Container]:
        """The general path for an event that does not change the tree; caches the answer
        when nothing in it can change without the tree or the resolver saying so (not for a
        container the resolver will refresh because it lacks fields and says why)."""
        version = self.resolver.version
        answer = self.tree.view(raw)
        proc, ancestors = answer
        proc = self._named(proc)
        container = self._container(proc)
        if container.complete and not container.unresolvable_reason and proc.cgroup_id:
            if len(self._hits) >= _HITS_MAX:
                self._hits.clear()
                self._pid_hits.clear()
            if id(raw) not in self._hits:  # (a hit holds its raw: no other has its id)
                self._pid_hits.setdefault(raw.pid, []).append(id(raw))
            hit = (raw, self.tree.generation, version, answer, proc, ancestors, container)
            self._hits[id(raw)] = hit
        return proc, ancestors, container

    def _forget(self, pid: int) -> None:
        """Drop the answers of every identity of an exited process."""
        hits = self._hits
        for key in self._pid_hits.pop(pid, ()):
            hit = hits.get(key)
            if hit is not None and hit[0].pid == pid:
                del hits[key]

    def _named(self, proc: Process, *, fresh: bool = False) -> Process:
        """`proc` with the names of its current ids (as the tree knows them otherwise)."""
        return proc if self._details is None else self._details.named(proc, fresh=fresh)

    def _container(self, proc: Process) -> Container:
        if proc.cgroup_id:
            return self.resolver.for_cgroup(proc.cgroup_id, proc.pid)
        return self.resolver.for_pid(proc.pid)
