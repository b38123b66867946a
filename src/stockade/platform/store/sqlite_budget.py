"""A time budget for user queries: statements are interrupted once it is spent (SQLite
through a progress handler; a `Budgeted` connection, PostgreSQL's, does it itself)."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from typing import TypeVar

from stockade.platform.store.base import QueryTimeout
from stockade.platform.store.sql import Budgeted, Connection

T = TypeVar("T")
PROGRESS_EVERY_OPS = 10_000  # SQLite VM steps between two looks at a query's clock


def within(conn: Connection, budget_s: float, run: Callable[[], T], max_steps: int = 0) -> T:
    """Run `run` on `conn`, interrupting its statements once `budget_s` has passed or, on
    SQLite with `max_steps`, once they ran about that many VM steps (a bound on the work
    itself, which other load on the machine does not shorten)."""
    if isinstance(conn, Budgeted):
        return conn.within(budget_s, run)
    assert isinstance(conn, sqlite3.Connection)
    deadline = time.monotonic() + budget_s
    looks = [0, max_steps // PROGRESS_EVERY_OPS or -1]  # looks taken, looks allowed

    def stop() -> bool:
        looks[0] += 1
        return looks[0] == looks[1] or time.monotonic() > deadline

    conn.set_progress_handler(stop, PROGRESS_EVERY_OPS)
    try:
        return run()
    except sqlite3.OperationalError as e:
        if e.sqlite_errorcode == sqlite3.SQLITE_INTERRUPT:
            raise QueryTimeout(over_budget(budget_s)) from e
        raise
    finally:
        conn.set_progress_handler(None, 0)


def over_budget(budget_s: float) -> str:
    """What a query stopped for its budget tells the user."""
    return (
        f"the query ran past its {budget_s:g} s budget and was stopped; narrow it "
        "with since/until or more filters"
    )
