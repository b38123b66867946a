"""The SQLite `Store`: WAL, one connection per thread, migrations on open.

Its SQL is shared: `PostgresStore` subclasses it and runs the same statements through
`dialect.py`, so statements here keep to what that translation covers."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import msgspec

from stockade.hunt.source import SqliteHuntSource
from stockade.model.inventory import ScanResult
from stockade.model.wire import Heartbeat
from stockade.platform.messages import IngestBatch
from stockade.platform.store import (
    sqlite_accounts,
    sqlite_batches,
    sqlite_images,
    sqlite_queries,
)
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
    RecordKind,
    StoredAlert,
    StoredEvent,
    StoredScan,
    StoreError,
    UnknownAgentError,
    UserRecord,
)
from stockade.platform.store.hunting import Hunting, HuntingUnavailable
from stockade.platform.store.migrations import migrate
from stockade.platform.store.sql import Connection
from stockade.platform.store.sqlite_actions import SqliteActions
from stockade.platform.store.sqlite_alert_console import SqliteAlertConsole
from stockade.platform.store.sqlite_baseline import SqliteBaseline
from stockade.platform.store.sqlite_budget import within
from stockade.platform.store.sqlite_enrollment import SqliteEnrollment
from stockade.platform.store.sqlite_hunts import SavedHunts, sqlite_transaction
from stockade.platform.store.sqlite_inventory import SqliteInventory

WAL_CHECKPOINT_PAGES = 10_000  # ~40 MB: fewer, larger checkpoints while ingesting
_AGENT_COLUMNS = (
    "id, hostname, host_id, cert_fingerprint, enrolled_at, acked_seq, last_seen, status, "
    "version, spooled_seq, sensor_json, records_refused, revoked_at, previous_fingerprint, "
    "events_per_s"
)


class SqliteStore(
    SqliteActions, SqliteAlertConsole, SqliteInventory, SqliteBaseline, SqliteEnrollment
):
    """A `Store` in one SQLite file; safe to call from many threads (one connection each)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[sqlite3.Connection] = []
        self._closed = False
        try:
            migrate(self._conn())
        except sqlite3.Error as e:
            self.close()
            raise StoreError(f"cannot prepare database {path}: {e}") from e

    def _conn(self) -> Connection:
        if self._closed:
            raise StoreError(f"store {self.path} is closed")
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            return conn
        try:
            conn = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False, timeout=30.0
            )
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute(f"PRAGMA wal_autocheckpoint={WAL_CHECKPOINT_PAGES}")
            conn.execute("PRAGMA foreign_keys=ON")
        except sqlite3.Error as e:
            raise StoreError(f"cannot open database {self.path}: {e}") from e
        self._local.conn = conn
        with self._lock:
            self._connections.append(conn)
        return conn

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def connection(self) -> Connection:
        """This thread's connection, for the store modules kept beside this class."""
        return self._conn()

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """This thread's connection inside one write transaction (rolled back on error)."""
        with self._write() as conn:
            yield conn

    def hunting(self) -> Hunting:
        """Hunts over this store's file, read-only; saved hunts on connections of their own."""
        if self.path == ":memory:" or not Path(self.path).exists():
            raise HuntingUnavailable(f"hunting needs the store's file ({self.path} is none)")
        path = Path(self.path)
        return Hunting(SqliteHuntSource(path), SavedHunts(sqlite_transaction(path)))

    def close(self) -> None:
        """Close every thread's connection."""
        with self._lock:
            self._closed = True
            for conn in self._connections:
                conn.close()
            self._connections.clear()

    # accounts (SQL in sqlite_accounts)

    def create_user(self, username: str, password_hash: str, role: str) -> bool:
        """Add a user; False when the name exists already."""
        with self._write() as conn:
            return sqlite_accounts.create_user(conn, username, password_hash, role)

    def get_user(self, username: str) -> UserRecord | None:
        """The user with this name, if any."""
        return sqlite_accounts.get_user(self._conn(), username)

    def list_users(self) -> list[UserRecord]:
        """Every user, by name."""
        return sqlite_accounts.list_users(self._conn())

    def set_role(self, username: str, role: str) -> bool:
        """Change a user's role; False when there is no such user."""
        with self._write() as conn:
            return sqlite_accounts.set_role(conn, username, role)

    def set_password(self, username: str, password_hash: str, keep_token_hash: str) -> bool:
        """Change a password and end the user's other login sessions; False if no such user."""
        with self._write() as conn:
            return sqlite_accounts.set_password(conn, username, password_hash, keep_token_hash)

    def replace_password_hash(self, username: str, old_hash: str, new_hash: str) -> bool:
        """Swap a password's hash for a rehash of it, unless it changed meanwhile."""
        with self._write() as conn:
            return sqlite_accounts.replace_password_hash(conn, username, old_hash, new_hash)

    def delete_user(self, username: str) -> bool:
        """Remove a user with its sessions and API tokens; False when there is no such user."""
        with self._write() as conn:
            return sqlite_accounts.delete_user(conn, username)

    def add_session(
        self, token_hash: str, user_id: int, expires_at: int, name: str | None = None
    ) -> None:
        """Remember a login session (or, with a name, an API token) by its token's hash."""
        with self._write() as conn:
            sqlite_accounts.add_session(conn, token_hash, user_id, expires_at, name)

    def session_user(self, token_hash: str, now: int) -> UserRecord | None:
        """The user of a live session or API token, else None."""
        return sqlite_accounts.session_user(self._conn(), token_hash, now)

    def delete_session(self, token_hash: str) -> None:
        """End a login session."""
        with self._write() as conn:
            conn.execute("DELETE FROM sessions WHERE token_hash = ?", (token_hash,))

    def list_api_tokens(self, user_id: int, now: int) -> list[ApiTokenRecord]:
        """A user's unexpired API tokens, newest first."""
        return sqlite_accounts.list_api_tokens(self._conn(), user_id, now)

    def delete_api_token(self, user_id: int, token_id: str) -> bool:
        """Revoke one of a user's API tokens; False when it has none with that id."""
        with self._write() as conn:
            return sqlite_accounts.delete_api_token(conn, user_id, token_id)

    def add_audit(self, record: AuditRecord) -> None:
        """Append a state-changing call to the audit log."""
        with self._write() as conn:
            sqlite_accounts.add_audit(conn, record)

    def list_audit(self, limit: int) -> list[AuditRecord]:
        """The newest audit log entries, newest first."""
        return sqlite_accounts.list_audit(self._conn(), limit)

    def add_enrollment_token(self, token_hash: str, expires_at: int) -> None:
        """Remember a one-time enrollment token by its hash."""
        with self._write() as conn:
            conn.execute(
                "INSERT INTO enrollment_tokens (token_hash, created_at, expires_at) "
                "VALUES (?, ?, ?)",
                (token_hash, time.time_ns(), expires_at),
            )

    # agents

    def add_agent(self, agent: AgentRecord) -> None:
        """Record a newly enrolled agent."""
        with self._write() as conn:
            conn.execute(
                f"INSERT INTO agents ({_AGENT_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                _agent_row(agent),
            )

    def get_agent(self, agent_id: str) -> AgentRecord | None:
        """One agent, if enrolled."""
        row = (
            self._conn()
            .execute(f"SELECT {_AGENT_COLUMNS} FROM agents WHERE id = ?", (agent_id,))
            .fetchone()
        )
        return _agent_record(row) if row else None

    def list_agents(self) -> list[AgentRecord]:
        """Every enrolled agent, most recently seen first."""
        rows = self._conn().execute(
            f"SELECT {_AGENT_COLUMNS} FROM agents ORDER BY last_seen DESC, enrolled_at DESC"
        )
        return [_agent_record(r) for r in rows]

    def revoke_agent(self, agent_id: str, now: int) -> bool:
        """Refuse the agent's certificates from now on; False when no such agent is enrolled."""
        with self._write() as conn:
            cur = conn.execute(
                "UPDATE agents SET revoked_at = coalesce(revoked_at, ?), status = 'revoked' "
                "WHERE id = ?",
                (now, agent_id),
            )
            return cur.rowcount == 1

    def replace_agent_cert(self, agent_id: str, cert_fingerprint: str) -> None:
        """Make a renewed certificate current (the one it replaces stays accepted)."""
        with self._write() as conn:
            cur = conn.execute(
                "UPDATE agents SET previous_fingerprint = cert_fingerprint, cert_fingerprint = ? "
                "WHERE id = ? AND revoked_at IS NULL",
                (cert_fingerprint, agent_id),
            )
            if cur.rowcount != 1:
                raise UnknownAgentError(f"agent {agent_id} is not enrolled or is revoked")

    def record_heartbeat(self, heartbeat: Heartbeat, now: int) -> None:
        """Store an agent's status report on its row; UnknownAgentError if not enrolled."""
        sensor = msgspec.json.encode(heartbeat.sensor).decode()
        status = "degraded" if heartbeat.sensor.degraded else "online"
        total = sum(heartbeat.sensor.events_by_type.values())
        with self._write() as conn:
            cur = conn.execute(
                "UPDATE agents SET version = ?, last_seen = ?, "
                "status = ?, spooled_seq = ?, sensor_json = ?, "
                # the rate since the previous heartbeat (a restarted agent counts from 0)
                "events_per_s = CASE WHEN heartbeat_at > 0 AND ? > heartbeat_at "
                "AND ? >= events_total THEN (? - events_total) * 1e9 / (? - heartbeat_at) "
                "ELSE 0 END, events_total = ?, heartbeat_at = ? "
                "WHERE id = ? AND revoked_at IS NULL",
                (
                    heartbeat.version,
                    now,
                    status,
                    heartbeat.spooled_seq,
                    sensor,
                    *(now, total, total, now, total, now),
                    heartbeat.agent_id,
                ),
            )
            if cur.rowcount != 1:
                raise UnknownAgentError(f"agent {heartbeat.agent_id} is not enrolled")

    def acked_seq(self, agent_id: str) -> int:
        """The highest sequence stored for the agent."""
        row = (
            self._conn()
            .execute("SELECT acked_seq FROM agents WHERE id = ?", (agent_id,))
            .fetchone()
        )
        if row is None:
            raise UnknownAgentError(f"agent {agent_id} is not enrolled")
        return int(row[0])

    # events, alerts, containers

    def store_batch(self, batch: IngestBatch, now: int) -> BatchResult:
        """Store the not-yet-stored part of a batch in one transaction."""
        try:
            with self._write() as conn:
                return sqlite_batches.store_batch(conn, batch, now)
        except sqlite3.Error as e:
            raise StoreError(f"cannot store a batch in {self.path}: {e}") from e

    def prune(self, kind: RecordKind, before_ts: int | None, limit: int) -> int:
        """Delete up to `limit` of the oldest records of `kind` (before `before_ts` if given)."""
        table = RecordKind(kind).value  # one of two fixed names, never user text
        where = "WHERE ts < ?" if before_ts is not None else ""
        params = (before_ts, limit) if before_ts is not None else (limit,)
        try:
            with self._write() as conn:
                cur = conn.execute(
                    f"DELETE FROM {table} WHERE id IN "
                    f"(SELECT id FROM {table} {where} ORDER BY ts LIMIT ?)",
                    params,
                )
                return cur.rowcount
        except sqlite3.Error as e:
            raise StoreError(f"cannot prune {table} in {self.path}: {e}") from e

    def used_bytes(self) -> int:
        """Pages in use times the page size (the file keeps freed pages for reuse)."""
        conn = self._conn()
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        free = conn.execute("PRAGMA freelist_count").fetchone()[0]
        size = conn.execute("PRAGMA page_size").fetchone()[0]
        return int((pages - free) * size)

    def query_events(self, query: EventQuery) -> list[StoredEvent]:
        """Events matching the query, newest first; QueryTimeout past its budget."""
        conn = self._conn()
        return within(conn, query.budget_s, lambda: sqlite_queries.query_events(conn, query))

    def query_alerts(self, query: AlertQuery) -> list[StoredAlert]:
        """Alerts matching the query, newest first; QueryTimeout past its budget."""
        conn = self._conn()
        return within(conn, query.budget_s, lambda: sqlite_queries.query_alerts(conn, query))

    def list_containers(self) -> list[ContainerRecord]:
        """Containers seen in stored events, most recently seen first."""
        return sqlite_queries.list_containers(self._conn())

    # images

    def store_scan(self, image: ImageRecord, result: ScanResult) -> ImageRecord:
        """Keep `result` as the image's latest scan; returns the record as stored."""
        try:
            with self._write() as conn:
                return sqlite_images.store_scan(conn, image, result)
        except sqlite3.Error as e:
            raise StoreError(f"cannot store a scan in {self.path}: {e}") from e

    def has_scan(self, digest: str, agent_id: str) -> bool:
        """True when this agent or a user stored a scan of this image digest."""
        return sqlite_images.has_scan(self._conn(), digest, agent_id)

    def agent_may_scan(self, agent_id: str, digest: str) -> bool:
        """True when the agent reported a container running this image or a user asked."""
        return sqlite_images.agent_may_scan(self._conn(), agent_id, digest)

    def request_scan(self, digest: str, username: str, now: int) -> None:
        """Let agents upload scans of this image digest (a user asked for one)."""
        with self._write() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO scan_requests (digest, requested_by, requested_at) "
                "VALUES (?, ?, ?)",
                (digest, username, now),
            )

    def list_images(self, query: ImageQuery) -> list[ImageRecord]:
        """Scanned images matching the query, most recently scanned first."""
        return sqlite_images.list_images(self._conn(), query)

    def get_scan(self, digest: str) -> StoredScan | None:
        """The latest scan of the image, if any."""
        return sqlite_images.get_scan(self._conn(), digest)


def _agent_row(agent: AgentRecord) -> tuple[Any, ...]:
    return (
        agent.id,
        agent.hostname,
        agent.host_id,
        agent.cert_fingerprint,
        agent.enrolled_at,
        agent.acked_seq,
        agent.last_seen,
        agent.status,
        agent.version,
        agent.spooled_seq,
        json.dumps(agent.sensor) if agent.sensor is not None else None,
        agent.records_refused,
        agent.revoked_at,
        agent.previous_fingerprint,
        agent.events_per_s,
    )


def _agent_record(row: tuple[Any, ...]) -> AgentRecord:
    sensor_json = row[10]
    return AgentRecord(
        id=row[0],
        hostname=row[1],
        host_id=row[2],
        cert_fingerprint=row[3],
        enrolled_at=row[4],
        acked_seq=row[5],
        last_seen=row[6],
        status=row[7],
        version=row[8],
        spooled_seq=row[9],
        sensor=json.loads(sensor_json) if sensor_json else None,
        records_refused=row[11],
        revoked_at=row[12],
        previous_fingerprint=row[13],
        events_per_s=row[14],
    )


STORES.register("sqlite", SqliteStore)
