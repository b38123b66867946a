"""The PostgreSQL `Store` (id `postgresql`, location a `postgresql://` URL), on asyncpg.

It runs the SQLite store's own SQL (`SqliteStore` and every module beside it, written in
SQLite's dialect) through `dialect.py`, on one asyncpg connection per calling thread
(`pg_connection.py`, over a private event loop). Written for PostgreSQL here, as SQLite's
one-writer design does not carry over to several processes:
- batches: COPY into events and alerts, exactly once under a lock on the agent's row
  (`SELECT ... FOR UPDATE`), so any number of workers in any number of processes may
  store batches of the same agent concurrently; a group of several agents' batches goes
  in one transaction and one COPY (`store_batches`, `pg_group.py`: group commit);
- the other writes, written for SQLite's single writer (read, then write), take one
  advisory lock per transaction: they stay serialised across processes as on SQLite;
- events and alerts are partitioned by day (`pg_partitions.py`); retention drops whole
  partitions past the age limit, and the oldest partition past the size cap.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

from stockade.platform.messages import IngestBatch
from stockade.platform.store.base import STORES, BatchResult, RecordKind, StoreError
from stockade.platform.store.dialect import PARTITIONED, PRELUDE, Catalog, PostgresDialect
from stockade.platform.store.hunting import Hunting, HuntingUnavailable
from stockade.platform.store.migrations import migrate
from stockade.platform.store.pg_batches import NulInText, prepare_batch, without_nul
from stockade.platform.store.pg_connection import LoopThread, PgConnection, connect
from stockade.platform.store.pg_group import GroupOutcome, Prepared, write_group
from stockade.platform.store.pg_hunt import PostgresHuntSource
from stockade.platform.store.pg_hunt_setup import prepare_hunting
from stockade.platform.store.pg_partitions import NoPartition, Partitions
from stockade.platform.store.sqlite import SqliteStore
from stockade.platform.store.sqlite_hunts import SavedHunts

WRITER_LOCK = 0x5704CADE  # advisory lock: the SQLite-style writes, one at a time
MIGRATION_LOCK = 0x5704CADF  # advisory lock: one process migrates at a time


class PostgresStore(SqliteStore):
    """A `Store` in a PostgreSQL database; safe from many threads and many processes."""

    concurrent_batches = True  # store_batch from several threads at once (agent row locks)

    def __init__(self, url: str) -> None:
        self.path = url
        self.where = redacted(url)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._pg_connections: list[PgConnection] = []
        self._closed = False
        self._dialect = PostgresDialect()
        self._partitions = Partitions()
        self._loop = LoopThread(name="postgres-store")
        self._hunting: Hunting | None = None
        self._hunting_lock = threading.Lock()
        try:
            self._prepare()
        except (StoreError, OSError) as e:
            self.close()
            raise StoreError(f"cannot prepare database {self.where}: {e}") from e

    def _prepare(self) -> None:
        conn = self._conn()
        conn.execute("SELECT pg_advisory_lock(?)", (MIGRATION_LOCK,))
        try:
            for statement in PRELUDE:
                conn.execute(statement)
            migrate(conn, postgresql=True)
        finally:
            conn.execute("SELECT pg_advisory_unlock(?)", (MIGRATION_LOCK,))
        self._dialect.use(load_catalog(conn))
        self._partitions.ahead(conn, PARTITIONED, time.time_ns())

    def _conn(self) -> PgConnection:
        if self._closed:
            raise StoreError(f"store {self.where} is closed")
        conn: PgConnection | None = getattr(self._local, "conn", None)
        if conn is not None and not conn.broken:
            return conn
        try:
            raw = self._loop.run(connect(self.path))
        except (OSError, TimeoutError, Exception) as e:  # asyncpg raises many kinds here
            raise StoreError(f"cannot connect to {self.where}: {e}") from e
        conn = PgConnection(self._loop, raw, self._dialect)
        self._local.conn = conn
        with self._lock:
            self._pg_connections.append(conn)
        return conn

    @contextmanager
    def _transaction(self, serialised: bool) -> Iterator[PgConnection]:
        conn = self._conn()
        conn.execute("BEGIN")
        try:
            if serialised:
                conn.execute("SELECT pg_advisory_xact_lock(?)", (WRITER_LOCK,))
            yield conn
        except BaseException:
            if not conn.broken:
                conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    @contextmanager
    def _write(self) -> Iterator[PgConnection]:
        with self._transaction(serialised=True) as conn:
            yield conn

    def connection(self) -> PgConnection:
        """This thread's connection, for the store modules kept beside this class."""
        return self._conn()

    def hunting(self) -> Hunting:
        """Hunts as the database's hunt role (made on first use); saved hunts in the store."""
        with self._hunting_lock:
            if self._hunting is None:
                try:
                    with self._write() as conn:
                        login = prepare_hunting(conn)
                except StoreError as e:
                    raise HuntingUnavailable(
                        f"hunting on {self.where} needs a role the store may create "
                        f"(CREATEROLE): {e}"
                    ) from e
                source = PostgresHuntSource(self._loop, self.path, login, self._conn)
                self._hunting = Hunting(source, SavedHunts(self._write))
            return self._hunting

    def close(self) -> None:
        """Close every thread's connection and stop the event loop."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            connections, self._pg_connections = self._pg_connections, []
        for conn in connections:
            conn.close()
        self._loop.stop()

    def store_batch(self, batch: IngestBatch, now: int) -> BatchResult:
        """Store the not-yet-stored part of a batch in one transaction (COPY)."""
        outcome = self.store_batches([batch], now)[0]
        if isinstance(outcome, StoreError):
            raise outcome
        return outcome

    def store_batches(self, batches: Sequence[IngestBatch], now: int) -> list[GroupOutcome]:
        """Store a group of batches (at most one per agent) in one transaction: one COPY
        of their events, one of their alerts; per batch, what it stored or why not."""
        conn = self._conn()
        group = [Prepared(b, prepare_batch(conn, b, now)) for b in batches]
        for attempt in (1, 2, 3):  # again after a partition went missing or a NUL refused
            self._partitions.ensure(conn, "events", (r[2] for p in group for r in p.rows.events))
            self._partitions.ensure(conn, "alerts", (r[3] for p in group for r in p.rows.alerts))
            try:
                with self._transaction(serialised=False) as tx:
                    return write_group(tx, group, now)
            except NoPartition:
                if attempt == 3:
                    raise
                self._partitions.forget()
            except NulInText:
                if attempt == 3:
                    raise
                group = [Prepared(p.ingest, without_nul(p.rows)) for p in group]
        raise AssertionError("unreachable")

    def prune(self, kind: RecordKind, before_ts: int | None, limit: int) -> int:
        """Drop whole partitions past `before_ts` (else delete up to `limit` rows before it);
        without `before_ts`, drop the oldest partition holding rows (PostgreSQL gives a
        deleted row's space back only with its partition)."""
        table = RecordKind(kind).value
        conn = self._conn()
        self._partitions.ahead(conn, PARTITIONED, time.time_ns())
        rows = self._partitions.drop_before(conn, table, before_ts)
        if before_ts is None or rows:
            return rows
        cur = conn.execute(
            f"DELETE FROM {table} WHERE (id, ts) IN "
            f"(SELECT id, ts FROM {table} WHERE ts < ? ORDER BY ts LIMIT ?)",
            (before_ts, limit),
        )
        return max(0, cur.rowcount)

    def used_bytes(self) -> int:
        """Bytes of this schema's tables, their indexes and TOAST data."""
        row = (
            self._conn()
            .execute(
                "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = current_schema() AND c.relkind = 'r'"
            )
            .fetchone()
        )
        return int(row[0])


def load_catalog(conn: PgConnection) -> Catalog:
    """The current schema's tables: primary keys, columns in order, identity ids."""
    columns: dict[str, list[str]] = {}
    identity: set[str] = set()
    for table, column, is_identity in conn.execute(
        "SELECT table_name, column_name, is_identity FROM information_schema.columns "
        "WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position"
    ):
        columns.setdefault(table, []).append(column)
        if column == "id" and is_identity == "YES":
            identity.add(table)
    keys: dict[str, list[str]] = {}
    for table, column in conn.execute(
        "SELECT tc.table_name, k.column_name FROM information_schema.table_constraints tc "
        "JOIN information_schema.key_column_usage k ON k.constraint_name = tc.constraint_name "
        "AND k.table_schema = tc.table_schema "
        "WHERE tc.table_schema = current_schema() AND tc.constraint_type = 'PRIMARY KEY' "
        "ORDER BY tc.table_name, k.ordinal_position"
    ):
        keys.setdefault(table, []).append(column)
    return Catalog(
        primary_keys={t: tuple(c) for t, c in keys.items()},
        columns={t: tuple(c) for t, c in columns.items()},
        identity=frozenset(identity),
    )


def redacted(url: str) -> str:
    """The URL without its password, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


STORES.register("postgresql", PostgresStore)
