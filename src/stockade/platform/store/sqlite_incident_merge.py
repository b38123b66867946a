"""Merging stored incidents (SQLite or PostgreSQL), inside the grouping's write transaction:
an alert tied them, so the older one takes the others' alerts, notes and work."""

from __future__ import annotations

from collections.abc import Sequence

from stockade.model.incidents import IncidentStatus
from stockade.platform.store.sql import Connection

MERGE_NOTE = "merge"  # the timeline entry's kind that records a merge


def merge_incidents(conn: Connection, keep: int, gone: Sequence[int], now: int) -> None:
    """Move each `gone` incident's alerts and notes to `keep`, note the merge on its
    timeline, then delete `gone`. The kept one stays open, investigating if either was,
    and keeps its assignee (else takes the other's)."""
    for other in gone:
        row = conn.execute(
            "SELECT title, status, assignee, alert_count FROM incidents WHERE id = ?", (other,)
        ).fetchone()
        kept = conn.execute(
            "SELECT status, assignee FROM incidents WHERE id = ?", (keep,)
        ).fetchone()
        if row is None or kept is None:  # merged already (a redelivered batch)
            continue
        title, status, assignee, count = row
        conn.execute("UPDATE alerts SET incident_id = ? WHERE incident_id = ?", (keep, other))
        conn.execute(
            "UPDATE incident_notes SET incident_id = ? WHERE incident_id = ?", (keep, other)
        )
        investigating = IncidentStatus.INVESTIGATING.value
        merged_status = investigating if investigating in (status, kept[0]) else kept[0]
        conn.execute(
            "UPDATE incidents SET alert_count = alert_count + ?, status = ?, assignee = ?, "
            "updated_at = ? WHERE id = ?",
            (count, merged_status, kept[1] or assignee, now, keep),
        )
        text = f"incident {other} ({title}, {count} alerts) merged in: an alert tied them"
        conn.execute(
            "INSERT INTO incident_notes (incident_id, ts, username, kind, text) "
            "VALUES (?, ?, ?, ?, ?)",
            (keep, now, "", MERGE_NOTE, text),
        )
        conn.execute("DELETE FROM incidents WHERE id = ?", (other,))
