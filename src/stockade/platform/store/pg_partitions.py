"""Time partitions of PostgreSQL's events and alerts: made ahead and on demand, dropped
whole by retention.

A partition holds one UTC day of `ts` (nanoseconds), named `events_p20261207`. Each
process remembers the partitions it made or saw; creating one is idempotent and taken
under an advisory lock, so several processes may race to create the same day safely;
dropping one takes the same lock and lets a day another process dropped first be.
Another process may drop one this process remembers: the insert then fails with
`NoPartition`, and the caller forgets what it knew and tries again.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterable

from stockade.platform.store.base import StoreError
from stockade.platform.store.pg_connection import PgConnection

DAY_NS = 86_400 * 10**9
PARTITION_NS = DAY_NS  # the span of one partition
AHEAD = 2  # partitions made ahead of today, so ingest seldom waits for DDL
_INT64_MAX = 2**63 - 1


class NoPartition(StoreError):
    """A row's time has no partition (another process dropped one this one knew)."""


def partition_start(ts: int) -> int:
    """The start (ns) of the partition holding `ts`."""
    return ts - ts % PARTITION_NS


def partition_name(table: str, start: int) -> str:
    """`events_p20261207`: the table and the partition's first UTC day."""
    day = dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=start // 1000)
    return f"{table}_p{day:%Y%m%d}"


class Partitions:
    """The partitions of events and alerts this process knows exist."""

    def __init__(self) -> None:
        self._known: set[tuple[str, int]] = set()
        self._lock = threading.Lock()

    def ensure(self, conn: PgConnection, table: str, times: Iterable[int]) -> None:
        """Make the partitions these times fall in, where missing (outside a transaction)."""
        starts = {ts - ts % PARTITION_NS for ts in times}  # partition_start, inlined: per row
        with self._lock:
            missing = sorted(s for s in starts if (table, s) not in self._known)
        for start in missing:
            _create(conn, table, start)
            with self._lock:
                self._known.add((table, start))

    def ahead(self, conn: PgConnection, tables: Iterable[str], now: int) -> None:
        """Make today's partitions and `AHEAD` days' more."""
        for table in tables:
            self.ensure(conn, table, (now + i * PARTITION_NS for i in range(AHEAD + 1)))

    def forget(self) -> None:
        """Forget what was known (another process may have dropped partitions)."""
        with self._lock:
            self._known.clear()

    def drop_before(self, conn: PgConnection, table: str, before_ts: int | None) -> int:
        """Drop `table`'s partitions wholly before `before_ts` (None: the oldest ones up to
        the first holding rows); returns how many rows they held."""
        rows = 0
        for name, start, end in listed(conn, table):
            if before_ts is not None and end > before_ts:
                break
            held = _drop(conn, name)
            with self._lock:
                self._known.discard((table, start))
            rows += held or 0
            if before_ts is None and held:
                break
        return rows


def _drop(conn: PgConnection, name: str) -> int | None:
    """Drop a partition under the lock that creates it; the rows it held, or None when
    another process (its retention listed the same days) dropped it first."""
    conn.execute("BEGIN")
    try:
        conn.execute("SELECT pg_advisory_xact_lock(hashtext(?))", (name,))
        held = None
        if conn.execute("SELECT to_regclass(?)", (name,)).fetchone()[0] is not None:
            held = int(conn.execute(f"SELECT count(*) FROM {name}").fetchone()[0])
            conn.execute(f"DROP TABLE {name}")
    except BaseException:
        if not conn.broken:
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return held


def listed(conn: PgConnection, table: str) -> list[tuple[str, int, int]]:
    """`table`'s partitions as (name, start, end), oldest first."""
    rows = conn.execute(
        "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
        "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = CAST(? AS regclass)",
        (table,),
    ).fetchall()
    # a partition another process is dropping meanwhile shows with no bounds: it is gone
    bounds = [(str(name), *_bounds(str(bound))) for name, bound in rows if bound is not None]
    return sorted(bounds, key=lambda b: b[1])


def _bounds(expression: str) -> tuple[int, int]:
    """(start, end) of "FOR VALUES FROM ('1') TO ('2')" (MAXVALUE: the largest int64)."""
    low, _, high = expression.partition(" TO ")

    def value(text: str) -> int:
        inner = text.rsplit("(", 1)[-1].strip(" ')")
        return _INT64_MAX if inner.upper() == "MAXVALUE" else int(inner)

    return value(low), value(high)


def _create(conn: PgConnection, table: str, start: int) -> None:
    name = partition_name(table, start)
    end = "MAXVALUE" if start > _INT64_MAX - PARTITION_NS else str(start + PARTITION_NS)
    conn.execute("BEGIN")
    try:
        conn.execute("SELECT pg_advisory_xact_lock(hashtext(?))", (name,))
        conn.execute(
            f"CREATE TABLE IF NOT EXISTS {name} PARTITION OF {table} "
            f"FOR VALUES FROM ({start}) TO ({end})"
        )
    except BaseException:
        if not conn.broken:
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
