"""The part of a DB-API connection the store's SQL modules use, for SQLite and PostgreSQL.

`sqlite3.Connection` has this shape already; `pg_connection.PgConnection` gives it to an
asyncpg connection, so the same query modules (`sqlite_*.py`, written in SQLite's dialect)
run on both (`dialect.py` translates their SQL for PostgreSQL).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol, TypeVar, runtime_checkable

T = TypeVar("T")


class Cursor(Protocol):
    """What a statement left: its rows, how many rows it changed, the id it inserted."""

    @property
    def rowcount(self) -> int:
        """Rows changed (summed over an executemany); -1 when unknown."""
        ...

    @property
    def lastrowid(self) -> int | None:
        """The id of the row an INSERT added, if any."""
        ...

    def fetchone(self) -> Any:
        """The next row, or None."""
        ...

    def fetchall(self) -> list[Any]:
        """The rows left."""
        ...

    def __iter__(self) -> Iterator[Any]:
        """The rows left, one by one."""
        ...


class Connection(Protocol):
    """Statements with `?` placeholders, in SQLite's dialect."""

    def execute(self, sql: str, parameters: Sequence[Any] = ..., /) -> Cursor:
        """Run one statement."""
        ...

    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /) -> Cursor:
        """Run one statement once per parameter row."""
        ...


@runtime_checkable
class Budgeted(Protocol):
    """A connection that stops its own statements past a time budget (not SQLite's)."""

    def within(self, budget_s: float, run: Callable[[], T]) -> T:
        """Run `run`, its statements stopped (QueryTimeout) once `budget_s` has passed."""
        ...


@runtime_checkable
class Database(Protocol):
    """A store the SQL modules run on, SQLite or PostgreSQL (`SqliteStore`, `PostgresStore`):
    this thread's connection, and one write transaction (serialised with the store's other
    writes: SQLite's lock; on PostgreSQL an advisory lock, across processes too)."""

    def connection(self) -> Connection:
        """This thread's connection, for reads."""
        ...

    def transaction(self) -> AbstractContextManager[Connection]:
        """This thread's connection inside one write transaction (rolled back on error)."""
        ...


def is_sqlite(conn: Connection) -> bool:
    """True for a SQLite connection (its planner needs hints PostgreSQL has no use for)."""
    return isinstance(conn, sqlite3.Connection)
