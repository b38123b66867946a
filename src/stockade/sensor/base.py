"""The `EventSource` interface every kernel event source implements, and its registry."""

from __future__ import annotations

import abc
from typing import ClassVar, Protocol, runtime_checkable

import msgspec

from stockade.model import Ancestor, Container, Event, Process
from stockade.registry import Registry


class SensorError(Exception):
    """Base error of the sensor package."""


class SensorUnavailable(SensorError):
    """This source cannot run here; the message says why (for `stockade doctor`)."""


class SensorStats(msgspec.Struct, kw_only=True):
    """Counters a source keeps: events by type, kernel drops, decode errors."""

    events_by_type: dict[str, int] = msgspec.field(default_factory=dict)
    dropped: int = 0
    decode_errors: int = 0


Actor = tuple[Process, Process, tuple[Ancestor, ...], Container, str]
"""What an event of one sensor Process gets from the context stage, ready to attach:
(that sensor Process, the enriched Process, ancestors, container, host id)."""


class Enricher(Protocol):
    """What completes a source's events: the context stage (`stockade.context`)."""

    def enrich(self, event: Event) -> Event:
        """The event with its process, ancestors, container and host id filled."""
        ...


@runtime_checkable
class ActorContext(Enricher, Protocol):
    """The context stage as a source that builds enriched events itself consults it.

    Such a source asks `actor` (or looks in `known_actors`) for an event that does not
    change the process tree and attaches the answer while it builds the event; it sends
    process lifecycle events (clone, exec, exit) through `enrich`, in order.
    """

    def known_actors(self) -> dict[int, Actor]:
        """Answers valid now, by id of the sensor's Process.

        The stage keeps this very dict valid: it drops what a change of the tree or of
        the resolver made stale, in `known_actors`, `actor` and `enrich`, the only calls
        after which an answer may be stale.
        """
        ...

    def actor(self, raw: Process) -> Actor:
        """The answer for an event of `raw` that does not change the tree (kept in
        `known_actors` when it stays valid until the tree or the resolver change)."""
        ...


class EventSource(abc.ABC):
    """A source of kernel events.

    `poll` returns events whose `proc` holds what the kernel told (at least pid, and
    `cgroup_id` where known) and whose container is not yet resolved: the context stage
    (process tree + container resolver) completes them.
    """

    id: ClassVar[str]

    @classmethod
    @abc.abstractmethod
    def unavailable_reason(cls) -> str | None:
        """None when this source can run here, else a one-line reason."""

    @abc.abstractmethod
    def start(self) -> None:
        """Open kernel resources; raise SensorUnavailable with the reason on failure."""

    @abc.abstractmethod
    def poll(self, timeout_s: float) -> list[Event]:
        """Wait up to `timeout_s` and return the events seen since the last poll."""

    def poll_enriched(self, timeout_s: float, context: Enricher) -> list[Event]:
        """`poll`, each event completed by `context`, in order (the agent's loop).

        A source that can build enriched events directly overrides this; the events
        must be the very ones `poll` then `context.enrich` would give.
        """
        enrich = context.enrich
        return [enrich(e) for e in self.poll(timeout_s)]

    @abc.abstractmethod
    def stop(self) -> None:
        """Release every kernel resource (programs, maps, sockets)."""

    @abc.abstractmethod
    def stats(self) -> SensorStats:
        """Counters since start."""


SOURCES: Registry[type[EventSource]] = Registry("event source")
