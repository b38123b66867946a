"""The `EventSource` interface every kernel event source implements, and its registry."""

from __future__ import annotations

import abc
from collections.abc import Iterable, Mapping
from typing import ClassVar

import msgspec

from stockade.errors import StockadeError
from stockade.model import Event, EventType
from stockade.registry import Registry

ALL_EVENT_TYPES: frozenset[EventType] = frozenset(EventType)


class SensorError(StockadeError):
    """Base error of the sensor package."""


class SensorUnavailable(SensorError):
    """This source cannot run here; the message says why (for `stockade doctor`)."""


class SensorStats(msgspec.Struct, kw_only=True):
    """Counters a source keeps: events by type, kernel drops, decode errors."""

    events_by_type: dict[str, int] = msgspec.field(default_factory=dict)
    dropped: int = 0
    decode_errors: int = 0


class EventSource(abc.ABC):
    """A source of kernel events.

    `poll` returns events whose `proc` holds what the kernel told (at least pid, and
    `cgroup_id` where known) and whose container is not yet resolved: the context stage
    (process tree + container resolver) completes them.

    Every registered source is built the same way, `cls(event_types)`; options a source
    may add (paths, tuning) are keyword-only with defaults.
    """

    id: ClassVar[str]
    generic_syscalls: ClassVar[bool] = False  # takes any syscall's name as an event type

    @abc.abstractmethod
    def __init__(self, event_types: Iterable[EventType | str]) -> None:
        """Prepare to report those of `event_types` this source sees; no kernel work yet."""

    @classmethod
    @abc.abstractmethod
    def unavailable_reason(cls) -> str | None:
        """None when this source can run here, else a one-line reason."""

    def set_fd_kinds(self, fd_kinds: Mapping[str, frozenset[str]]) -> None:  # noqa: B027
        """Before start: events of these types are wanted only on descriptors of these kinds
        (fd.typechar values; types not named: any). A source may drop the others early (eBPF
        does, in the kernel) or report them all; this one reports them all."""

    @abc.abstractmethod
    def start(self) -> None:
        """Open kernel resources; raise SensorUnavailable with the reason on failure."""

    @abc.abstractmethod
    def poll(self, timeout_s: float) -> list[Event]:
        """Wait up to `timeout_s` and return the events seen since the last poll."""

    @abc.abstractmethod
    def stop(self) -> None:
        """Release every kernel resource (programs, maps, sockets)."""

    @abc.abstractmethod
    def stats(self) -> SensorStats:
        """Counters since start."""


SOURCES: Registry[type[EventSource]] = Registry("event source")
