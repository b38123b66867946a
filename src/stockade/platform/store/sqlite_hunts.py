"""Saved hunts: their definitions, each run's outcome, and the alerts they raise; in
SQLite's dialect, so they run on both stores.

Each call takes one transaction from `transaction`: on SQLite a short-lived connection to
the store's file of its own (WAL: readers and the platform's writers do not block each
other for long); on PostgreSQL the store's own serialised write transaction.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

from stockade.platform.store.base import StoreError
from stockade.platform.store.sql import Connection

_COLUMNS = (
    "id, name, sql, interval_s, priority, enabled, created_by, created_at, "
    "last_run_at, last_rows, last_error, alerts"
)
HUNT_AGENT = "hunt"  # the agent_id of alerts raised by saved hunts
_INSERT_ALERT = (
    "INSERT INTO alerts (agent_id, seq, event_seq, ts, host_id, container_id, rule, "
    "priority, priority_num, output, proc_name, proc_pid, proc_cmdline, body, type, "
    "hostname, container_name, image, tags, count) "
    "VALUES (?, ?, 0, ?, '', '', ?, ?, ?, ?, '', 0, '', ?, 'hunt', '', '', '', ?, 1)"
)
Transaction = Callable[[], AbstractContextManager[Connection]]


class HuntNameTaken(StoreError):
    """Another saved hunt has this name already."""


@dataclass(frozen=True)
class SavedHunt:
    """A stored hunt, with how its last run went."""

    id: int
    name: str
    sql: str
    interval_s: int
    priority: str
    enabled: bool
    created_by: str
    created_at: int
    last_run_at: int = 0
    last_rows: int = 0
    last_error: str = ""
    alerts: int = 0


def sqlite_transaction(path: Path) -> Transaction:
    """Transactions on short-lived connections to the SQLite file at `path`."""

    @contextmanager
    def transaction() -> Iterator[Connection]:
        with closing(sqlite3.connect(path, timeout=10)) as conn, conn:
            yield conn

    return transaction


class SavedHunts:
    """Saved hunts kept in the store, each call in a transaction of its own."""

    def __init__(self, transaction: Transaction) -> None:
        self._transaction = transaction

    def list(self) -> list[SavedHunt]:
        """Every saved hunt, by id."""
        with self._transaction() as conn:
            rows = conn.execute(f"SELECT {_COLUMNS} FROM saved_hunts ORDER BY id").fetchall()
        return [SavedHunt(*row) for row in rows]

    def get(self, hunt_id: int) -> SavedHunt | None:
        """One saved hunt, or None."""
        with self._transaction() as conn:
            row = conn.execute(
                f"SELECT {_COLUMNS} FROM saved_hunts WHERE id = ?", (hunt_id,)
            ).fetchone()
        return SavedHunt(*row) if row else None

    def create(self, name: str, sql: str, interval_s: int, priority: str, by: str, now: int) -> int:
        """Store a new hunt; its id. HuntNameTaken when the name is taken."""
        try:
            with self._transaction() as conn:
                if conn.execute("SELECT 1 FROM saved_hunts WHERE name = ?", (name,)).fetchone():
                    raise HuntNameTaken(f"a saved hunt is named {name!r} already")
                cursor = conn.execute(
                    "INSERT INTO saved_hunts (name, sql, interval_s, priority, created_by, "
                    "created_at) VALUES (?, ?, ?, ?, ?, ?)",
                    (name, sql, interval_s, priority, by, now),
                )
        except sqlite3.IntegrityError:  # stored by another connection in between
            raise HuntNameTaken(f"a saved hunt is named {name!r} already") from None
        return int(cursor.lastrowid or 0)

    def update(self, hunt_id: int, sql: str, interval_s: int, priority: str, enabled: bool) -> bool:
        """Change a hunt's query and schedule; False when there is no such hunt."""
        with self._transaction() as conn:
            cursor = conn.execute(
                "UPDATE saved_hunts SET sql = ?, interval_s = ?, priority = ?, enabled = ? "
                "WHERE id = ?",
                (sql, interval_s, priority, int(enabled), hunt_id),
            )
        return cursor.rowcount > 0

    def delete(self, hunt_id: int) -> bool:
        """Remove a hunt; False when there is no such hunt."""
        with self._transaction() as conn:
            cursor = conn.execute("DELETE FROM saved_hunts WHERE id = ?", (hunt_id,))
        return cursor.rowcount > 0

    def claim(self, hunt: SavedHunt, at: int) -> bool:
        """Take the run of `hunt` due at `at`; False when another process took it first
        (several workers run the schedule over one store: each window runs once)."""
        with self._transaction() as conn:
            cursor = conn.execute(
                "UPDATE saved_hunts SET last_run_at = ? WHERE id = ? AND last_run_at = ?",
                (at, hunt.id, hunt.last_run_at),
            )
        return cursor.rowcount == 1

    def record_run(self, hunt_id: int, at: int, rows: int, error: str) -> None:
        """Keep how a run ended (its window ends at `at`)."""
        with self._transaction() as conn:
            conn.execute(
                "UPDATE saved_hunts SET last_run_at = ?, last_rows = ?, last_error = ? "
                "WHERE id = ?",
                (at, rows, error, hunt_id),
            )

    def raise_alert(
        self, hunt: SavedHunt, at: int, output: str, priority_num: int, body: str, tags: str
    ) -> None:
        """Store one alert for a run that found rows (seq: the hunt's own count)."""
        with self._transaction() as conn:
            seq = hunt.id * 1_000_000_000 + hunt.alerts + 1
            rule = f"Hunt: {hunt.name}"
            values = (HUNT_AGENT, seq, at, rule, hunt.priority, priority_num, output, body, tags)
            conn.execute(_INSERT_ALERT, values)
            conn.execute("UPDATE saved_hunts SET alerts = alerts + 1 WHERE id = ?", (hunt.id,))
