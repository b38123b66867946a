"""A persistent FIFO of encoded alerts in front of a network output (SQLite, WAL).

What `put` accepted survives a crash of the process (WAL, synchronous=NORMAL) and a
restart: the next run sends it first. Rows leave only when their delivery is confirmed.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from stockade.outputs.base import OutputError


class DiskQueue:
    """Payloads in arrival order, on disk, bounded by `capacity` rows."""

    def __init__(self, path: Path, capacity: int) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS queue (id INTEGER PRIMARY KEY, body BLOB NOT NULL)"
            )
            (self._size,) = self._db.execute("SELECT COUNT(*) FROM queue").fetchone()
        except (OSError, sqlite3.Error) as e:
            raise OutputError(f"cannot open the output queue {path}: {e}") from e
        self.path = path
        self.capacity = capacity
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return int(self._size)

    def put(self, bodies: list[bytes]) -> int:
        """Append as many of `bodies` as there is room for; returns how many were taken."""
        with self._lock:
            room = max(0, self.capacity - self._size)
            taken = bodies[:room]
            if taken:
                with self._db:
                    self._db.execute("BEGIN")
                    self._db.executemany(
                        "INSERT INTO queue (body) VALUES (?)", [(b,) for b in taken]
                    )
                self._size += len(taken)
            return len(taken)

    def peek(self, limit: int, after: int = 0) -> list[tuple[int, bytes]]:
        """The oldest `limit` rows past id `after`, (id, body), without removing them."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, body FROM queue WHERE id > ? ORDER BY id LIMIT ?", (after, limit)
            ).fetchall()
        return [(int(i), bytes(b)) for i, b in rows]

    def remove_through(self, last_id: int) -> None:
        """Remove every row up to and including `last_id` (they were delivered)."""
        with self._lock, self._db:
            self._db.execute("BEGIN")
            removed = self._db.execute("DELETE FROM queue WHERE id <= ?", (last_id,)).rowcount
            self._size -= removed

    def close(self) -> None:
        """Close the database (what is queued stays for the next run)."""
        with self._lock:
            self._db.close()
