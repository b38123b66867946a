"""Typed events and entities shared by every part of Stockade (no I/O here)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from stockade.model.alerts import Alert, Priority
    from stockade.model.entities import HOST_CONTAINER_ID, Container, Host
    from stockade.model.events import (
        Ancestor,
        Event,
        EventType,
        FdInfo,
        Process,
        ProcSnapshot,
        StdFd,
    )

__all__ = [
    "HOST_CONTAINER_ID",
    "Alert",
    "Ancestor",
    "Container",
    "Event",
    "EventType",
    "FdInfo",
    "Host",
    "Priority",
    "ProcSnapshot",
    "Process",
    "StdFd",
]

_ALERTS = ("Alert", "Priority")
_ENTITIES = ("HOST_CONTAINER_ID", "Container", "Host")
_EVENTS = ("Ancestor", "Event", "EventType", "FdInfo", "Process", "ProcSnapshot", "StdFd")


def __getattr__(name: str) -> object:
    """A re-exported name, its module imported on first use: the image scanner needs only
    `model.inventory`, not the events, alerts and entities (nor `socket`, `uuid`)."""
    if name in _ALERTS:
        from stockade.model import alerts

        return getattr(alerts, name)
    if name in _ENTITIES:
        from stockade.model import entities

        return getattr(entities, name)
    if name in _EVENTS:
        from stockade.model import events

        return getattr(events, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
