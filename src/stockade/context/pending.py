"""Holding events back briefly while their container's metadata is still being written.

The first exec in a new container can arrive before the runtime finished writing the
container down. Rather than sending such an event with half its context, the stage keeps
it for up to `max_wait_s`, asks the resolver again on every call, and lets it go as soon
as the container is complete, or at the deadline still marked `complete=False`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

import msgspec

from stockade.context.resolver import ContainerResolver
from stockade.model import Event


class PendingContainers:
    """Events waiting for complete container metadata, released in arrival order."""

    def __init__(
        self,
        resolver: ContainerResolver,
        max_wait_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._resolver = resolver
        self._max_wait_s = max_wait_s
        self._clock = clock
        self._held: list[tuple[float, Event, int]] = []  # (since, event, the caller's mark)

    def __len__(self) -> int:
        return len(self._held)

    def push(self, events: Iterable[Event], mark: int = 0) -> list[Event]:
        """Add enriched events; return those ready to go on (held ones first).

        `mark` is kept with each event held (the agent passes the ring position its batch
        started at: it must not free the ring past an event not yet spooled).
        """
        now = self._clock()
        ready: list[Event] = []
        still: list[tuple[float, Event, int]] = []
        for since, event, held_mark in self._held:
            event = self._refresh(event)
            if event.container.complete or now - since >= self._max_wait_s:
                ready.append(event)
            else:
                still.append((since, event, held_mark))
        for event in events:
            if event.container.complete:
                ready.append(event)
            else:
                still.append((now, event, mark))
        self._held = still
        return ready

    def oldest_mark(self) -> int | None:
        """The smallest mark of the events still held (None: nothing is held)."""
        return min((mark for _, _, mark in self._held), default=None)

    def flush(self) -> list[Event]:
        """Everything held, refreshed once more (at shutdown)."""
        released = [self._refresh(event) for _, event, _ in self._held]
        self._held = []
        return released

    def _refresh(self, event: Event) -> Event:
        cgroup_id = event.proc.cgroup_id or event.container.cgroup_id
        if not cgroup_id:
            return event
        container = self._resolver.for_cgroup(cgroup_id, event.proc.pid)
        return msgspec.structs.replace(event, container=container)
