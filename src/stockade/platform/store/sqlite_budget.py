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


def within(conn: Connection, budget_s: float, run: Callable[[], T]) -> T:
    """Run `run` on `conn`, interrupting its statements once `budget_s` has passed."""
    if isinstance(conn, Budgeted):
        return conn.within(budget_s, run)
    assert isinstance(conn, sqlite3.Connection)
    deadline = time.monotonic() + budget_s
    conn.set_progress_handler(lambda: time.monotonic() > deadline, PROGRESS_EVERY_OPS)
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
