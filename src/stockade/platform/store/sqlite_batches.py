"""Writing one validated batch into SQLite: new events, alerts and container upserts."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol

import msgspec

from stockade.model.alerts import Alert, Priority
from stockade.model.entities import HOST_CONTAINER_ID, Container
from stockade.model.events import Event
from stockade.model.wire import Batch
from stockade.platform.alert_fields import image_of
from stockade.platform.messages import IngestBatch
from stockade.platform.store.base import BatchResult, SequenceGapError, UnknownAgentError
from stockade.platform.store.sql import Connection
from stockade.platform.timestamps import parse_ns

EVENT_COLUMNS = (
    *("agent_id", "seq", "ts", "host_id", "container_id", "type", "proc_name", "proc_pid"),
    "body",
)
ALERT_COLUMNS = (
    *("agent_id", "seq", "event_seq", "ts", "host_id", "container_id", "rule", "priority"),
    *("priority_num", "output", "proc_name", "proc_pid", "proc_cmdline", "body", "type"),
    *("hostname", "container_name", "image", "tags", "count"),
)
_INSERT_EVENT = (
    f"INSERT OR IGNORE INTO events ({', '.join(EVENT_COLUMNS)}) "
    f"VALUES ({','.join('?' * len(EVENT_COLUMNS))})"
)
_INSERT_ALERT = (
    f"INSERT OR IGNORE INTO alerts ({', '.join(ALERT_COLUMNS)}) "
    f"VALUES ({','.join('?' * len(ALERT_COLUMNS))})"
)
UPSERT_CONTAINER = """
    INSERT INTO containers (id, name, image, image_digest, runtime, first_seen, last_seen,
                            host_id, agent_id)
    VALUES (?,?,?,?,?,?,?,?,?)
    ON CONFLICT (id, agent_id) DO UPDATE SET
        name = CASE WHEN excluded.name != '' THEN excluded.name ELSE name END,
        image = CASE WHEN excluded.image != '' THEN excluded.image ELSE image END,
        image_digest = CASE WHEN excluded.image_digest != ''
                            THEN excluded.image_digest ELSE image_digest END,
        runtime = CASE WHEN excluded.runtime != '' THEN excluded.runtime ELSE runtime END,
        first_seen = min(first_seen, excluded.first_seen),
        last_seen = max(last_seen, excluded.last_seen)
"""

_INT64_MAX = 2**63 - 1
_json = msgspec.json.Encoder()
_event_decoder = msgspec.msgpack.Decoder(Event)


def store_batch(conn: Connection, ingest: IngestBatch, now: int) -> BatchResult:
    """Store what is new in the batch inside the caller's transaction."""
    batch = ingest.batch
    row = conn.execute("SELECT acked_seq FROM agents WHERE id = ?", (batch.agent_id,)).fetchone()
    if row is None:
        raise UnknownAgentError(f"agent {batch.agent_id} is not enrolled")
    acked = int(row[0])
    if batch.first_seq > acked + 1:
        raise SequenceGapError(batch.first_seq, acked)
    agent = batch.agent_id
    new = [
        (e, blob) for e, blob in zip(batch.events, ingest.event_blobs, strict=True) if e.seq > acked
    ]
    conn.executemany(_INSERT_EVENT, [event_row(agent, e, blob) for e, blob in new])
    events = [e for e, _ in new]
    by_seq = {e.seq: e for e in batch.events}
    alerts = [a for a in batch.alerts if a.seq > acked]
    conn.executemany(
        _INSERT_ALERT, [alert_row(conn, agent, a, by_seq.get(a.event_seq), now) for a in alerts]
    )
    return finish_batch(conn, batch, acked, (events, alerts), now)


class BatchWriter(Protocol):
    """What finishing a batch needs of a connection (SQLite's, or the PostgreSQL store's)."""

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> object:
        """Run one statement."""
        ...

    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /) -> object:
        """Run one statement per row."""
        ...


def finish_batch(
    conn: BatchWriter, batch: Batch, acked: int, new: tuple[list[Event], list[Alert]], now: int
) -> BatchResult:
    """After a batch's new rows are in: its containers, the agent's acked seq and refusals."""
    events, alerts = new
    agent = batch.agent_id
    seen_in_events = {e.container.id for e in events}
    conn.executemany(
        UPSERT_CONTAINER,
        container_rows(agent, events) + alert_container_rows(agent, alerts, seen_in_events, now),
    )
    new_acked = max(acked, batch.last_seq)
    refused = sum(1 for seq in batch.refused if seq > acked)
    conn.execute(
        "UPDATE agents SET acked_seq = ?, last_seen = max(last_seen, ?), "
        "records_refused = records_refused + ? WHERE id = ?",
        (new_acked, now, refused, agent),
    )
    return BatchResult(acked_seq=new_acked, events_stored=len(events), alerts_stored=len(alerts))


def event_row(agent: str, e: Event, blob: bytes) -> tuple[Any, ...]:
    """An event's row in EVENT_COLUMNS' order."""
    return (agent, e.seq, e.ts, e.host_id, e.container.id, e.type, e.proc.name, e.proc.pid, blob)


def _stored_event(conn: Connection, agent: str, seq: int) -> Event | None:
    row = conn.execute(
        "SELECT body FROM events WHERE agent_id = ? AND seq = ?", (agent, seq)
    ).fetchone()
    return _event_decoder.decode(row[0]) if row else None


def alert_row(
    conn: Connection, agent: str, alert: Alert, event: Event | None, now: int
) -> tuple[Any, ...]:
    """An alert's row in ALERT_COLUMNS' order, completed from its event where it lacks."""
    if event is None and alert.event_seq:
        event = _stored_event(conn, agent, alert.event_seq)
    fields = alert.output_fields
    proc_name = str(fields.get("proc.name") or (event.proc.name if event else ""))
    pid = fields.get("proc.pid")
    proc_pid = int(pid) if isinstance(pid, int | str) and str(pid).isdigit() else 0
    if proc_pid > _INT64_MAX:  # a digit string the int64 check of the batch cannot see
        proc_pid = 0
    if not proc_pid and event:
        proc_pid = event.proc.pid
    cmdline = str(fields.get("proc.cmdline") or (event.proc.cmdline if event else ""))
    container_id = alert.container_id or (event.container.id if event else "")
    container_id = container_id or str(
        fields.get("container.full_id") or fields.get("container.id") or ""
    )
    try:
        ts = parse_ns(alert.time)
    except ValueError:
        ts = event.ts if event else now
    try:
        priority_num = int(Priority.parse(alert.priority))
    except ValueError:
        priority_num = int(Priority.DEBUG)
    return (
        agent,
        alert.seq,
        alert.event_seq,
        ts,
        alert.host_id or (event.host_id if event else ""),
        container_id,
        alert.rule,
        alert.priority,
        priority_num,
        alert.output,
        proc_name,
        proc_pid,
        cmdline,
        _json.encode(alert).decode(),
        str(fields.get("evt.type") or (event.type if event else "")),
        *_console_columns(alert, event),
    )


def _console_columns(alert: Alert, event: Event | None) -> tuple[str, str, str, str, int]:
    """hostname, container name, image, tags (`,a,b,`: exact match by `,a,`) and count."""
    fields = alert.output_fields
    container = event.container if event is not None and not event.container.is_host else None
    name = container.name if container else ""
    image = container.image if container else ""
    return (
        alert.hostname,
        name or str(fields.get("container.name") or ""),
        image or image_of(fields),
        f",{','.join(alert.tags)}," if alert.tags else ",",
        max(1, alert.count),
    )


def container_rows(agent: str, events: list[Event]) -> list[tuple[Any, ...]]:
    """One row per container the events ran in (their widest time span), for the upsert."""
    seen: dict[str, tuple[Container, int, int, str]] = {}
    for e in events:
        c = e.container
        if c.is_host:
            continue
        known = seen.get(c.id)
        if known is None:
            seen[c.id] = (c, e.ts, e.ts, e.host_id)
        else:
            best = c if c.complete or not known[0].complete else known[0]
            seen[c.id] = (best, min(known[1], e.ts), max(known[2], e.ts), e.host_id)
    return [
        (c.id, c.name, c.image, c.image_digest, c.runtime, first, last, host, agent)
        for c, first, last, host in seen.values()
    ]


def alert_container_rows(
    agent: str, alerts: list[Alert], known: set[str], now: int
) -> list[tuple[Any, ...]]:
    """Containers named only by alerts (their events were not sent), from output fields."""
    rows: dict[str, tuple[Any, ...]] = {}
    for a in alerts:
        fields = a.output_fields
        cid = a.container_id or str(fields.get("container.full_id") or "")
        if not cid or cid == HOST_CONTAINER_ID or cid in known or len(cid) < 64:
            continue
        try:
            ts = parse_ns(a.time)
        except ValueError:
            ts = now
        rows[cid] = (
            cid,
            str(fields.get("container.name") or ""),
            image_of(fields),
            str(fields.get("container.image.digest") or ""),
            "",
            ts,
            ts,
            a.host_id,
            agent,
        )
    return list(rows.values())
