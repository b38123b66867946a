"""Typed events and entities shared by every part of Stockade (no I/O here)."""

from __future__ import annotations

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
