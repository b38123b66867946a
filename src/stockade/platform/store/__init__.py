"""Durable state behind the `Store` interface (SQLite now; PostgreSQL later)."""

from __future__ import annotations

from stockade.platform.store.base import (
    STORES,
    AgentRecord,
    AlertQuery,
    BatchResult,
    ContainerRecord,
    EventQuery,
    ImageQuery,
    ImageRecord,
    SequenceGapError,
    Store,
    StoredAlert,
    StoredEvent,
    StoredScan,
    StoreError,
    TokenState,
    UnknownAgentError,
    UserRecord,
)
from stockade.platform.store.sqlite import SqliteStore

__all__ = [
    "STORES",
    "AgentRecord",
    "AlertQuery",
    "BatchResult",
    "ContainerRecord",
    "EventQuery",
    "ImageQuery",
    "ImageRecord",
    "SequenceGapError",
    "SqliteStore",
    "Store",
    "StoreError",
    "StoredAlert",
    "StoredEvent",
    "StoredScan",
    "TokenState",
    "UnknownAgentError",
    "UserRecord",
]
