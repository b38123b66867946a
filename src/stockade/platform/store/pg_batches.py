"""A batch's rows for PostgreSQL, and their COPY into events and alerts.

Rows are built before the transaction (by the SQLite store's own row builders), so the
partitions they need can be made first; `pg_group.py` stores them exactly once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from stockade.platform.messages import IngestBatch
from stockade.platform.store.base import (
    StoreError,
)
from stockade.platform.store.pg_connection import PgConnection
from stockade.platform.store.pg_connection import without_nul as clean_nul
from stockade.platform.store.pg_partitions import NoPartition
from stockade.platform.store.sqlite_batches import (
    ALERT_COLUMNS,
    EVENT_COLUMNS,
    alert_row,
    event_row,
)

_NO_PARTITION = "no partition of relation"
_NUL = 'invalid byte sequence for encoding "UTF8": 0x00'


class NulInText(StoreError):
    """A text of the batch holds NUL, which PostgreSQL's text cannot."""


@dataclass(frozen=True, slots=True)
class BatchRows:
    """Every event and alert of a batch as rows (in EVENT_COLUMNS / ALERT_COLUMNS order)."""

    events: list[tuple[Any, ...]]
    alerts: list[tuple[Any, ...]]


def prepare_batch(conn: PgConnection, ingest: IngestBatch, now: int) -> BatchRows:
    """The batch's rows; an alert whose event came in an earlier batch reads it back."""
    batch = ingest.batch
    agent = batch.agent_id
    by_seq = {e.seq: e for e in batch.events}
    return BatchRows(
        events=[
            event_row(agent, e, blob)
            for e, blob in zip(batch.events, ingest.event_blobs, strict=True)
        ],
        alerts=[alert_row(conn, agent, a, by_seq.get(a.event_seq), now) for a in batch.alerts],
    )


def without_nul(rows: BatchRows) -> BatchRows:
    """The rows with NUL in texts replaced (rare: only after COPY refused them)."""
    return BatchRows(
        events=[tuple(clean_nul(r)) for r in rows.events],
        alerts=[tuple(clean_nul(r)) for r in rows.alerts],
    )


def copy_rows(conn: PgConnection, rows: BatchRows) -> None:
    """COPY the rows into events and alerts; NoPartition or NulInText when that is why not."""
    try:
        conn.copy_records("events", EVENT_COLUMNS, rows.events)
        conn.copy_records("alerts", ALERT_COLUMNS, rows.alerts)
    except StoreError as e:
        if _NO_PARTITION in str(e):
            raise NoPartition(str(e)) from e
        if _NUL in str(e):
            raise NulInText(str(e)) from e
        raise
