"""Reading events, alerts and containers back from SQLite with the API's filters."""

from __future__ import annotations

import sqlite3
from typing import Any

import msgspec

from stockade.model.alerts import Alert
from stockade.model.entities import HOST_CONTAINER_ID
from stockade.model.events import Event
from stockade.platform.store.base import (
    AlertQuery,
    ContainerRecord,
    EventQuery,
    StoredAlert,
    StoredEvent,
)

_CONTAINER_COLUMNS = (
    "id, name, image, image_digest, runtime, first_seen, last_seen, host_id, agent_id"
)
_event_decoder = msgspec.msgpack.Decoder(Event)
_alert_decoder = msgspec.json.Decoder(Alert)


def _container_ids(conn: sqlite3.Connection, text: str) -> list[str]:
    """Full ids a container filter (full id, 12-char id or name) stands for."""
    rows = conn.execute(
        "SELECT id FROM containers WHERE id = ? OR name = ? OR substr(id, 1, 12) = ?",
        (text, text, text),
    )
    ids = [str(r[0]) for r in rows]
    if text == HOST_CONTAINER_ID or not ids:
        ids.append(text)
    return ids


class _Where:
    """Collects SQL conditions and their parameters."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.terms: list[str] = []
        self.params: list[Any] = []

    def add(self, term: str, *params: Any) -> None:
        """Add a condition; `@` in it stands for the table prefix."""
        self.terms.append(term.replace("@", self.prefix))
        self.params.extend(params)

    def common(self, conn: sqlite3.Connection, q: EventQuery | AlertQuery) -> None:
        """Conditions events and alerts share: time window, host, container."""
        if q.since is not None:
            self.add("@ts >= ?", q.since)
        if q.until is not None:
            self.add("@ts <= ?", q.until)
        if q.host is not None:
            self.add(
                "(@host_id = ? OR @agent_id IN "
                "(SELECT id FROM agents WHERE hostname = ? OR host_id = ?))",
                q.host,
                q.host,
                q.host,
            )
        if q.container is not None:
            ids = _container_ids(conn, q.container)
            self.add(f"@container_id IN ({','.join('?' * len(ids))})", *ids)

    @property
    def sql(self) -> str:
        """The WHERE clause, empty when there is no condition."""
        return f"WHERE {' AND '.join(self.terms)}" if self.terms else ""


def query_events(conn: sqlite3.Connection, q: EventQuery) -> list[StoredEvent]:
    """Events matching the query, newest first."""
    where = _Where("")
    where.common(conn, q)
    if q.type is not None:
        where.add("type = ?", q.type)
    if q.proc_name is not None:
        where.add("proc_name = ?", q.proc_name)
    rows = conn.execute(
        f"SELECT agent_id, body FROM events {where.sql} ORDER BY ts DESC, id DESC LIMIT ?",
        (*where.params, q.limit),
    )
    return [StoredEvent(agent_id=r[0], event=_event_decoder.decode(r[1])) for r in rows]


def query_alerts(conn: sqlite3.Connection, q: AlertQuery) -> list[StoredAlert]:
    """Alerts matching the query, newest first, joined with their container."""
    where = _Where("a.")
    where.common(conn, q)
    if q.rule is not None:
        where.add("a.rule = ?", q.rule)
    if q.priority is not None:
        where.add("lower(a.priority) = lower(?)", q.priority)
    if q.min_priority is not None:
        where.add("a.priority_num <= ?", q.min_priority)
    columns = ", ".join(f"c.{c.strip()}" for c in _CONTAINER_COLUMNS.split(","))
    rows = conn.execute(
        f"SELECT a.agent_id, a.body, a.proc_name, a.proc_pid, a.proc_cmdline, {columns} "
        f"FROM alerts a LEFT JOIN containers c ON c.id = a.container_id {where.sql} "
        "ORDER BY a.ts DESC, a.id DESC LIMIT ?",
        (*where.params, q.limit),
    )
    return [
        StoredAlert(
            agent_id=r[0],
            alert=_alert_decoder.decode(r[1]),
            proc_name=r[2],
            proc_pid=r[3],
            proc_cmdline=r[4],
            container=ContainerRecord(*r[5:]) if r[5] is not None else None,
        )
        for r in rows
    ]


def list_containers(conn: sqlite3.Connection) -> list[ContainerRecord]:
    """Containers seen in stored events, most recently seen first."""
    rows = conn.execute(f"SELECT {_CONTAINER_COLUMNS} FROM containers ORDER BY last_seen DESC")
    return [ContainerRecord(*r) for r in rows]
