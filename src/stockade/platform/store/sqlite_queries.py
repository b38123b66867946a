"""Reading events, alerts and containers back from SQLite with the API's filters."""

from __future__ import annotations

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
from stockade.platform.store.sql import Connection, is_sqlite

_CONTAINER_COLUMNS = (
    "id, name, image, image_digest, runtime, first_seen, last_seen, host_id, agent_id"
)
_event_decoder = msgspec.msgpack.Decoder(Event)
_alert_decoder = msgspec.json.Decoder(Alert)
STORED_ALERT_COLUMNS = (
    "a.agent_id, a.body, a.proc_name, a.proc_pid, a.proc_cmdline, "
    + ", ".join(f"c.{c.strip()}" for c in _CONTAINER_COLUMNS.split(","))
    + ", a.incident_id"
)  # what `stored_alert` reads, from `alerts a` LEFT JOIN `containers c`


def stored_alert(r: tuple[Any, ...]) -> StoredAlert:
    """A row of STORED_ALERT_COLUMNS as a StoredAlert."""
    return StoredAlert(
        agent_id=r[0],
        alert=_alert_decoder.decode(r[1]),
        proc_name=r[2],
        proc_pid=r[3],
        proc_cmdline=r[4],
        container=ContainerRecord(*r[5:14]) if r[5] is not None else None,
        incident_id=r[14],
    )


def container_ids(conn: Connection, text: str) -> list[str]:
    """Full ids a container filter (full id, 12-char id or name) stands for."""
    rows = conn.execute(
        "SELECT DISTINCT id FROM containers WHERE id = ? OR name = ? OR substr(id, 1, 12) = ?",
        (text, text, text),
    )
    ids = [str(r[0]) for r in rows]
    if text == HOST_CONTAINER_ID or not ids:
        ids.append(text)
    return ids


def host_terms(conn: Connection, table: str, host: str) -> list[tuple[str, str]]:
    """One (column, value) per way a record can belong to `host` (host id or agent hostname).

    A host id no record carries is left out when agents stand for the host: with another
    filter SQLite may read that filter's index and scan all of it looking for the id.
    """
    terms: list[tuple[str, str]] = []
    rows = conn.execute(
        "SELECT id, host_id FROM agents WHERE hostname = ? OR host_id = ?", (host, host)
    )
    # PostgreSQL has no (agent_id, ts) index on events: its host id finds an agent's events
    by_agent = table != "events" or is_sqlite(conn)
    for agent_id, host_id in rows:
        terms += [("agent_id", str(agent_id))] if by_agent else []
        terms.append(("host_id", str(host_id)))
    literal = conn.execute(f"SELECT 1 FROM {table} WHERE host_id = ? LIMIT 1", (host,)).fetchone()
    if literal is not None or not terms:
        terms.append(("host_id", host))
    return list(dict.fromkeys(terms))


class _Where:
    """Collects SQL conditions and their parameters, and the alternatives of a host filter."""

    def __init__(self, table: str, prefix: str = "") -> None:
        self.table = table
        self.prefix = prefix
        self.terms: list[str] = []
        self.params: list[Any] = []
        self.alternatives: list[tuple[str, str]] = []  # any one must match

    def add(self, term: str, *params: Any) -> None:
        """Add a condition; `@` in it stands for the table prefix."""
        self.terms.append(term.replace("@", self.prefix))
        self.params.extend(params)

    def common(self, conn: Connection, q: EventQuery | AlertQuery) -> None:
        """Conditions events and alerts share: time window, host, container."""
        if q.since is not None:
            self.add("@ts >= ?", q.since)
        if q.until is not None:
            self.add("@ts <= ?", q.until)
        if q.host is not None:
            self.alternatives = host_terms(conn, self.table, q.host)
        if q.container is not None:
            ids = container_ids(conn, q.container)
            self.add(f"@container_id IN ({','.join('?' * len(ids))})", *ids)

    def select(self, columns: str, source: str, order: str, limit: int) -> tuple[str, list[Any]]:
        """The statement and its parameters, newest first.

        A host filter becomes one indexed, ordered and limited SELECT per alternative,
        merged: an OR across columns would make SQLite sort every matching row.
        """
        if not self.alternatives:
            where = f"WHERE {' AND '.join(self.terms)}" if self.terms else ""
            return f"SELECT {columns} FROM {source} {where} ORDER BY {order} LIMIT ?", [
                *self.params,
                limit,
            ]
        parts: list[str] = []
        params: list[Any] = []
        for column, value in self.alternatives:
            terms = [*self.terms, f"{self.prefix}{column} = ?"]
            parts.append(
                f"SELECT * FROM (SELECT {columns} FROM {source} WHERE {' AND '.join(terms)} "
                f"ORDER BY {order} LIMIT ?)"
            )
            params += [*self.params, value, limit]
        union = " UNION ".join(parts)
        return f"SELECT * FROM ({union}) ORDER BY _ts DESC, _id DESC LIMIT ?", [*params, limit]


def query_events(conn: Connection, q: EventQuery) -> list[StoredEvent]:
    """Events matching the query, newest first."""
    where = _Where("events")
    where.common(conn, q)
    if q.type is not None:
        where.add("type = ?", q.type)
    if q.proc_name is not None:
        where.add("proc_name = ?", q.proc_name)
    sql, params = where.select(
        "agent_id, body, ts AS _ts, id AS _id", "events", "ts DESC, id DESC", q.limit
    )
    rows = conn.execute(sql, params)
    return [StoredEvent(agent_id=r[0], event=_event_decoder.decode(r[1])) for r in rows]


def query_alerts(conn: Connection, q: AlertQuery) -> list[StoredAlert]:
    """Alerts matching the query, newest first, joined with their container."""
    where = _Where("alerts", "a.")
    where.common(conn, q)
    if q.rule is not None:
        where.add("a.rule = ?", q.rule)
    if q.priority is not None:
        where.add("lower(a.priority) = lower(?)", q.priority)
    if q.min_priority is not None:
        where.add("a.priority_num <= ?", q.min_priority)
    sql, params = where.select(
        f"{STORED_ALERT_COLUMNS}, a.ts AS _ts, a.id AS _id",
        "alerts a LEFT JOIN containers c ON c.id = a.container_id AND c.agent_id = a.agent_id",
        "a.ts DESC, a.id DESC",
        q.limit,
    )
    return [stored_alert(r) for r in conn.execute(sql, params)]


def list_containers(conn: Connection) -> list[ContainerRecord]:
    """Containers seen in stored events, most recently seen first."""
    rows = conn.execute(f"SELECT {_CONTAINER_COLUMNS} FROM containers ORDER BY last_seen DESC")
    return [ContainerRecord(*r) for r in rows]
