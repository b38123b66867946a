"""Incidents in the store (SQLite or PostgreSQL): one row per incident, its notes, and
`alerts.incident_id`."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from typing import Any

import msgspec

from stockade.detect.incidents import IncidentDraft
from stockade.model.alerts import Alert
from stockade.model.events import Event
from stockade.model.incidents import OPEN_STATUSES, IncidentStatus
from stockade.platform.store.base import StoredAlert, StoreError
from stockade.platform.store.incidents import (
    IncidentChange,
    IncidentNote,
    IncidentQuery,
    IncidentReads,
    IncidentRecord,
)
from stockade.platform.store.sql import Connection, Database
from stockade.platform.store.sqlite_hunts import HUNT_AGENT
from stockade.platform.store.sqlite_incident_merge import merge_incidents
from stockade.platform.store.sqlite_queries import STORED_ALERT_COLUMNS, stored_alert

_COLUMNS = (
    "i.id, i.host_id, i.container_id, i.title, i.severity, i.status, i.assignee, i.first_ts, "
    "i.last_ts, i.alert_count, i.created_at, i.updated_at, i.lineage_json, "
    "(SELECT hostname FROM agents WHERE host_id = i.host_id ORDER BY enrolled_at DESC LIMIT 1), "
    "(SELECT name FROM containers WHERE id = i.container_id ORDER BY last_seen DESC LIMIT 1), "
    "(SELECT image FROM containers WHERE id = i.container_id ORDER BY last_seen DESC LIMIT 1)"
)
_event_decoder = msgspec.msgpack.Decoder(Event)
_alert_decoder = msgspec.json.Decoder(Alert)


def _record(row: tuple[Any, ...]) -> IncidentRecord:
    return IncidentRecord(
        id=row[0],
        host_id=row[1],
        container_id=row[2],
        title=row[3],
        severity=row[4],
        status=IncidentStatus(row[5]),
        assignee=row[6],
        first_ts=row[7],
        last_ts=row[8],
        alert_count=row[9],
        created_at=row[10],
        updated_at=row[11],
        lineage=tuple(json.loads(row[12])),
        hostname=row[13] or "",
        container_name=row[14] or "",
        image=row[15] or "",
    )


class _Reads:
    """The grouping's reads (`IncidentReads`) on one connection."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def ungrouped_alerts(self, agent_id: str, seqs: list[int]) -> set[int]:
        """Of these alert sequences, those stored and not yet in an incident."""
        if not seqs:
            return set()
        rows = self._conn.execute(
            "SELECT seq FROM alerts WHERE agent_id = ? AND seq BETWEEN ? AND ? "
            "AND incident_id IS NULL",
            (agent_id, min(seqs), max(seqs)),
        )
        wanted = set(seqs)
        return {int(r[0]) for r in rows if r[0] in wanted}

    def stored_ungrouped(self, agent_id: str, seqs: list[int]) -> list[Alert]:
        """Of these alerts, those stored and not yet in an incident, as stored."""
        if not seqs:
            return []
        rows = self._conn.execute(
            "SELECT body FROM alerts WHERE agent_id = ? AND incident_id IS NULL "
            f"AND seq IN ({','.join('?' * len(seqs))})",
            (agent_id, *seqs),
        )
        return [_alert_decoder.decode(r[0]) for r in rows]

    def stored_event(self, agent_id: str, seq: int) -> Event | None:
        """One stored event, if kept."""
        row = self._conn.execute(
            "SELECT body FROM events WHERE agent_id = ? AND seq = ?", (agent_id, seq)
        ).fetchone()
        return _event_decoder.decode(row[0]) if row else None

    def open_incidents(self, host_ids: set[str], since_ts: int) -> list[IncidentDraft]:
        """Open incidents of these hosts with an alert at or after `since_ts`."""
        hosts, statuses = sorted(host_ids), [s.value for s in OPEN_STATUSES]
        rows = self._conn.execute(
            "SELECT id, host_id, container_id, first_ts, last_ts, severity, title, lineage_json "
            f"FROM incidents WHERE host_id IN ({','.join('?' * len(hosts))}) AND last_ts >= ? "
            f"AND status IN ({','.join('?' * len(statuses))})",
            (*hosts, since_ts, *statuses),
        )
        return [
            IncidentDraft(
                id=r[0],
                host_id=r[1],
                container_id=r[2],
                first_ts=r[3],
                last_ts=r[4],
                severity=r[5],
                title=r[6],
                lineage=set(json.loads(r[7])),
            )
            for r in rows
        ]


class SqliteIncidentStore:
    """An `IncidentStore` in the store's own database (SQLite's or PostgreSQL's)."""

    def __init__(self, store: Database) -> None:
        self._store = store

    def backlog(self, limit: int) -> list[tuple[str, int]]:
        """The oldest stored alerts in no incident, up to `limit`: (agent id, seq) each;
        saved hunts' alerts (a search's result, of no host) are never grouped."""
        rows = self._store.connection().execute(
            "SELECT agent_id, seq FROM alerts WHERE incident_id IS NULL AND agent_id <> ? "
            "ORDER BY ts LIMIT ?",
            (HUNT_AGENT, limit),
        )
        return [(str(r[0]), int(r[1])) for r in rows]

    def stored_event(self, agent_id: str, seq: int) -> Event | None:
        """One stored event, if kept."""
        return _Reads(self._store.connection()).stored_event(agent_id, seq)

    def group(
        self, agent_id: str, plan: Callable[[IncidentReads], list[IncidentDraft]], now: int
    ) -> list[int]:
        """Make the drafts with `plan` from reads in one write transaction, then store them
        (new incidents, widened ones, their new alerts marked); the incidents' ids."""
        ids: list[int] = []
        try:
            with self._store.transaction() as conn:
                # the reads in the transaction too: on PostgreSQL its lock keeps a grouping in
                # another worker process from reading the same open incidents meanwhile
                for draft in plan(_Reads(conn)):
                    merge_incidents(conn, draft.id, draft.merged_ids, now)
                    ids.append(_save_draft(conn, draft, now))
                    conn.executemany(
                        "UPDATE alerts SET incident_id = ? WHERE agent_id = ? AND seq = ?",
                        [(ids[-1], agent_id, seq) for seq in draft.alert_seqs],
                    )
        except sqlite3.Error as e:
            raise StoreError(f"cannot store incidents: {e}") from e
        return ids

    def list_incidents(self, query: IncidentQuery) -> list[IncidentRecord]:
        """Incidents matching the query, latest activity first."""
        conn = self._store.connection()
        terms: list[str] = []
        params: list[Any] = []
        if query.statuses:
            terms.append(f"i.status IN ({','.join('?' * len(query.statuses))})")
            params += [s.value for s in query.statuses]
        if query.min_severity is not None:
            terms.append("i.severity <= ?")
            params.append(query.min_severity)
        if query.host is not None:
            hosts = _host_ids(conn, query.host)
            terms.append(f"i.host_id IN ({','.join('?' * len(hosts))})")
            params += hosts
        if query.after is not None:
            terms.append("(i.last_ts < ? OR (i.last_ts = ? AND i.id < ?))")
            params += [query.after[0], query.after[0], query.after[1]]
        where = f"WHERE {' AND '.join(terms)}" if terms else ""
        rows = conn.execute(
            f"SELECT {_COLUMNS} FROM incidents i {where} "
            "ORDER BY i.last_ts DESC, i.id DESC LIMIT ?",
            (*params, query.limit),
        )
        return [_record(r) for r in rows]

    def get_incident(self, incident_id: int) -> IncidentRecord | None:
        """One incident, if any."""
        row = (
            self._store.connection()
            .execute(f"SELECT {_COLUMNS} FROM incidents i WHERE i.id = ?", (incident_id,))
            .fetchone()
        )
        return _record(row) if row else None

    def incident_alerts(self, incident_id: int, limit: int) -> list[StoredAlert]:
        """The incident's alerts, oldest first."""
        rows = self._store.connection().execute(
            f"SELECT {STORED_ALERT_COLUMNS} FROM alerts a LEFT JOIN containers c "
            "ON c.id = a.container_id AND c.agent_id = a.agent_id "
            "WHERE a.incident_id = ? ORDER BY a.ts, a.id LIMIT ?",
            (incident_id, limit),
        )
        return [stored_alert(r) for r in rows]

    def incident_notes(self, incident_id: int) -> list[IncidentNote]:
        """The incident's notes and changes, oldest first."""
        rows = self._store.connection().execute(
            "SELECT ts, username, kind, text FROM incident_notes WHERE incident_id = ? "
            "ORDER BY ts, id",
            (incident_id,),
        )
        return [IncidentNote(*r) for r in rows]

    def change_incident(
        self, incident_id: int, change: IncidentChange, now: int
    ) -> IncidentRecord | None:
        """Apply a user's change, noting each part on the timeline; None if no such incident."""
        with self._store.transaction() as conn:
            row = conn.execute(
                "SELECT status, assignee FROM incidents WHERE id = ?", (incident_id,)
            ).fetchone()
            if row is None:
                return None
            notes: list[tuple[str, str]] = []
            if change.status is not None and change.status != row[0]:
                conn.execute(
                    "UPDATE incidents SET status = ? WHERE id = ?", (change.status, incident_id)
                )
                notes.append(("status", f"{row[0]} -> {change.status}"))
            if change.assignee is not None and change.assignee != row[1]:
                conn.execute(
                    "UPDATE incidents SET assignee = ? WHERE id = ?",
                    (change.assignee, incident_id),
                )
                notes.append(("assignee", change.assignee or "unassigned"))
            if change.note:
                notes.append(("note", change.note))
            conn.executemany(
                "INSERT INTO incident_notes (incident_id, ts, username, kind, text) "
                "VALUES (?, ?, ?, ?, ?)",
                [(incident_id, now, change.username, kind, text) for kind, text in notes],
            )
            if notes:
                conn.execute("UPDATE incidents SET updated_at = ? WHERE id = ?", (now, incident_id))
        return self.get_incident(incident_id)


def _save_draft(conn: Connection, draft: IncidentDraft, now: int) -> int:
    """Insert a new incident or widen a stored one; its id."""
    lineage = json.dumps(sorted(draft.lineage))
    if draft.id:
        conn.execute(
            "UPDATE incidents SET first_ts = min(first_ts, ?), last_ts = max(last_ts, ?), "
            "severity = min(severity, ?), alert_count = alert_count + ?, lineage_json = ?, "
            "updated_at = ? WHERE id = ?",
            (
                draft.first_ts,
                draft.last_ts,
                draft.severity,
                len(draft.alert_seqs),
                lineage,
                now,
                draft.id,
            ),
        )
        return draft.id
    cur = conn.execute(
        "INSERT INTO incidents (host_id, container_id, title, severity, status, first_ts, "
        "last_ts, alert_count, lineage_json, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            draft.host_id,
            draft.container_id,
            draft.title,
            draft.severity,
            IncidentStatus.NEW.value,
            draft.first_ts,
            draft.last_ts,
            len(draft.alert_seqs),
            lineage,
            now,
            now,
        ),
    )
    assert cur.lastrowid is not None
    return cur.lastrowid


def _host_ids(conn: Connection, host: str) -> list[str]:
    """Host ids a host filter (host id or agent hostname) stands for."""
    rows = conn.execute(
        "SELECT DISTINCT host_id FROM agents WHERE hostname = ? OR host_id = ?", (host, host)
    )
    return list(dict.fromkeys([str(r[0]) for r in rows] + [host]))
