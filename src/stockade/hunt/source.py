"""Where hunts run: a `HuntSource` answers SQL hunts over the hunt views and hands Sigma
hunts the stored events of a window. `SqliteHuntSource` reads a SQLite store's file
read-only; the PostgreSQL store has its own (`platform/store/pg_hunt.py`)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Protocol

from stockade.hunt.engine import HuntError, HuntQuery, HuntResult, run_hunt

EventBody = tuple[str, bytes]  # a stored event's agent id and its msgpack body


class HuntSource(Protocol):
    """A store hunts can read: SQL hunts, and the stored events of a window."""

    def run(self, query: HuntQuery, now_ns: int | None = None) -> HuntResult:
        """Run one SQL hunt; HuntError (one line) when it is refused, wrong or too slow."""
        ...

    def event_bodies(self, window: tuple[int, int]) -> AbstractContextManager[Iterator[EventBody]]:
        """The stored events in [since, until), oldest first, read-only."""
        ...


class SqliteHuntSource:
    """Hunts over a SQLite store's file, each on a read-only connection of its own."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def run(self, query: HuntQuery, now_ns: int | None = None) -> HuntResult:
        """Run one SQL hunt (see `engine.run_hunt`)."""
        return run_hunt(self.path, query, now_ns)

    @contextmanager
    def event_bodies(self, window: tuple[int, int]) -> Iterator[Iterator[EventBody]]:
        """The window's stored events on a read-only connection, streamed."""
        try:
            conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)
            conn.execute("PRAGMA query_only = ON")
        except sqlite3.Error as e:
            raise HuntError(f"hunt: cannot open {self.path} read-only: {e}") from None
        try:
            yield _rows(conn, window)
        finally:
            conn.close()


def _rows(conn: sqlite3.Connection, window: tuple[int, int]) -> Iterator[EventBody]:
    try:
        yield from conn.execute(
            "SELECT agent_id, body FROM events WHERE ts >= ? AND ts < ? ORDER BY ts", window
        )
    except sqlite3.Error as e:
        raise HuntError(f"sigma hunt: {e}") from None
