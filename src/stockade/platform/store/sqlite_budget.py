"""A time budget for user queries on SQLite: statements are interrupted once it is spent."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from typing import TypeVar

from stockade.platform.store.base import QueryTimeout

T = TypeVar("T")
PROGRESS_EVERY_OPS = 10_000  # SQLite VM steps between two looks at a query's clock


def within(conn: sqlite3.Connection, budget_s: float, run: Callable[[], T]) -> T:
    """Run `run` on `conn`, interrupting its statements once `budget_s` has passed."""
    deadline = time.monotonic() + budget_s
    conn.set_progress_handler(lambda: time.monotonic() > deadline, PROGRESS_EVERY_OPS)
    try:
        return run()
    except sqlite3.OperationalError as e:
        if e.sqlite_errorcode == sqlite3.SQLITE_INTERRUPT:
            raise QueryTimeout(
                f"the query ran past its {budget_s:g} s budget and was stopped; narrow it "
                "with since/until or more filters"
            ) from e
        raise
    finally:
        conn.set_progress_handler(None, 0)
