"""Incidents whose alerts retention removed, in the store (SQLite or PostgreSQL).

Retention deletes alerts oldest first, so an incident with none left ended no later
than the oldest alert still stored: only those are looked at, by `(last_ts, id)`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from stockade.model.incidents import IncidentStatus
from stockade.platform.store.incident_retention import (
    RETENTION_NOTE,
    Cursor,
    OrphanChunk,
    OrphanIncident,
)
from stockade.platform.store.sql import Connection, Database

_USER_KINDS = "('note', 'status', 'assignee')"  # notes a user's change leaves
_CANDIDATES = (
    "SELECT i.id, i.status, i.last_ts, i.assignee <> '' OR EXISTS (SELECT 1 FROM "
    f"incident_notes n WHERE n.incident_id = i.id AND n.kind IN {_USER_KINDS}), "
    "EXISTS (SELECT 1 FROM incident_notes n WHERE n.incident_id = i.id AND n.kind = ?), "
    "EXISTS (SELECT 1 FROM alerts a WHERE a.incident_id = i.id) "
    "FROM incidents i WHERE i.last_ts <= ? AND (i.last_ts > ? OR (i.last_ts = ? AND i.id > ?)) "
    "ORDER BY i.last_ts, i.id LIMIT ?"
)
_NOTE = "retention removed every alert of this incident; it is kept while it is open"


class SqliteIncidentRetention:
    """An `IncidentRetention` in the store's own database (SQLite's or PostgreSQL's)."""

    def __init__(self, store: Database) -> None:
        self._store = store

    def prune_orphans(
        self, goes: Callable[[OrphanIncident], bool], after: Cursor | None, limit: int, now: int
    ) -> OrphanChunk:
        """In one write transaction, delete the orphans `goes` picks among up to `limit`
        candidates past `after`; note the kept ones' timelines once."""
        with self._store.transaction() as conn:
            rows = _candidates(conn, after, limit)
            orphans = [_orphan(r) for r in rows if not r[5]]  # r[5]: an alert is still stored
            gone = [o for o in orphans if goes(o)]
            for orphan in gone:
                conn.execute("DELETE FROM incident_notes WHERE incident_id = ?", (orphan.id,))
                conn.execute("DELETE FROM incidents WHERE id = ?", (orphan.id,))
            conn.executemany(
                "INSERT INTO incident_notes (incident_id, ts, username, kind, text) "
                "VALUES (?, ?, ?, ?, ?)",
                [
                    (o.id, now, "", RETENTION_NOTE, _NOTE)
                    for o in orphans
                    if o not in gone and not o.noted
                ],
            )
        kept = len(orphans) - len(gone)
        last = (int(rows[-1][2]), int(rows[-1][0])) if len(rows) == limit else None
        return OrphanChunk(deleted=len(gone), kept=kept, after=last)


def _orphan(row: Any) -> OrphanIncident:
    return OrphanIncident(
        id=int(row[0]),
        status=IncidentStatus(row[1]),
        last_ts=int(row[2]),
        worked_on=bool(row[3]),
        noted=bool(row[4]),
    )


def _candidates(conn: Connection, after: Cursor | None, limit: int) -> list[Any]:
    """Incidents past `after` that ended no later than the oldest stored alert."""
    oldest = conn.execute("SELECT min(ts) FROM alerts").fetchone()[0]
    ceiling = oldest if oldest is not None else 2**63 - 1
    since_ts, since_id = after if after is not None else (-(2**63), 0)
    params = (RETENTION_NOTE, ceiling, since_ts, since_ts, since_id, limit)
    return list(conn.execute(_CANDIDATES, params))
