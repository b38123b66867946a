"""Durable state behind the `Store` interface (SQLite; PostgreSQL for several processes).

The implementations register in STORES (loaded through `stockade.plugins`); the platform
builds the configured one by id (`platform/backends.py`).
"""

from __future__ import annotations

from stockade.platform.store.base import (
    STORES,
    AgentRecord,
    AlertQuery,
    ApiTokenRecord,
    AuditRecord,
    BatchResult,
    ContainerRecord,
    EventQuery,
    ImageQuery,
    ImageRecord,
    QueryTimeout,
    RecordKind,
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

__all__ = [
    "STORES",
    "AgentRecord",
    "AlertQuery",
    "ApiTokenRecord",
    "AuditRecord",
    "BatchResult",
    "ContainerRecord",
    "EventQuery",
    "ImageQuery",
    "ImageRecord",
    "QueryTimeout",
    "RecordKind",
    "SequenceGapError",
    "Store",
    "StoreError",
    "StoredAlert",
    "StoredEvent",
    "StoredScan",
    "TokenState",
    "UnknownAgentError",
    "UserRecord",
]
