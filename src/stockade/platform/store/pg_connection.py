"""A blocking DB-API-shaped connection over asyncpg, for the store's threads.

The `Store` interface blocks (the platform calls it from worker threads); asyncpg is
asynchronous. Each `PostgresStore` runs one private event loop on a thread of its own
(`LoopThread`) and every call submits a coroutine to it and waits. `PgConnection` gives
one asyncpg connection the `sql.Connection` shape the query modules use, translating
their SQLite statements (`dialect.py`) on the way.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine, Iterable, Iterator, Sequence
from decimal import Decimal
from typing import Any, TypeVar

import asyncpg

from stockade.platform.store.base import QueryTimeout, StoreError
from stockade.platform.store.dialect import PostgresDialect, Statement
from stockade.platform.store.sqlite_budget import over_budget

T = TypeVar("T")
CONNECT_TIMEOUT_S = 10.0
# the connection is gone: the next call opens another (the database may have restarted)
_CONNECTION_LOST = (
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.ConnectionFailureError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.InternalClientError,  # an operation cut off mid-way
    ConnectionError,
    OSError,
)


class LoopThread:
    """An asyncio event loop on a daemon thread of its own; `run` waits for a coroutine."""

    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name=name, daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run `coro` on the loop and wait for its result (or exception)."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    def stop(self) -> None:
        """Stop the loop and its thread."""
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join()
        self.loop.close()


class PgCursor:
    """The rows a statement returned (all fetched), its count of changed rows, its id."""

    def __init__(self, rows: list[tuple[Any, ...]], rowcount: int, lastrowid: int | None) -> None:
        self._rows = rows
        self._next = 0
        self.rowcount = rowcount
        self.lastrowid = lastrowid

    def fetchone(self) -> Any:
        """The next row, or None."""
        if self._next >= len(self._rows):
            return None
        self._next += 1
        return self._rows[self._next - 1]

    def fetchall(self) -> list[Any]:
        """The rows left."""
        rows = self._rows[self._next :]
        self._next = len(self._rows)
        return rows

    def __iter__(self) -> Iterator[Any]:
        """The rows left, one by one."""
        return iter(self.fetchall())


def _number(text: str) -> int | float:
    """numeric (SUM of integers, literals like 1e9) as SQLite gives it: int when whole."""
    value = Decimal(text)
    return int(value) if value == value.to_integral_value() else float(value)


async def connect(dsn: str) -> asyncpg.Connection:
    """A new asyncpg connection decoding numeric as int or float, not Decimal."""
    raw = await asyncpg.connect(dsn, timeout=CONNECT_TIMEOUT_S)
    await raw.set_type_codec(
        "numeric", encoder=str, decoder=_number, schema="pg_catalog", format="text"
    )
    return raw


class PgConnection:
    """One asyncpg connection with `sqlite3.Connection`'s execute/executemany, blocking."""

    def __init__(self, loop: LoopThread, raw: asyncpg.Connection, dialect: PostgresDialect) -> None:
        self.loop = loop
        self.raw = raw
        self._dialect = dialect
        self.broken = False

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> PgCursor:
        """Run one statement (SQLite's dialect) and fetch all it returns."""
        return self.call(self._execute(self._dialect.translate(sql), parameters))

    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /) -> PgCursor:
        """Run one statement per parameter row in one round of calls; rows changed summed."""
        return self.call(self._execute_many(self._dialect.translate(sql), list(parameters)))

    def within(self, budget_s: float, run: Callable[[], T]) -> T:
        """Run `run` with PostgreSQL stopping each statement past `budget_s`."""
        self.execute(f"SET statement_timeout = {max(1, int(budget_s * 1000))}")
        try:
            return run()
        except StoreError as e:
            if isinstance(e.__cause__, asyncpg.exceptions.QueryCanceledError):
                raise QueryTimeout(over_budget(budget_s)) from e
            raise
        finally:
            if not self.broken:
                self.execute("RESET statement_timeout")

    def copy_records(
        self, table: str, columns: Sequence[str], records: list[tuple[Any, ...]]
    ) -> None:
        """Bulk-insert rows with COPY (the fast path for events and alerts)."""
        if records:
            self.call(self.raw.copy_records_to_table(table, records=records, columns=columns))

    def call(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine on this connection's loop; database errors become StoreError."""
        try:
            return self.loop.run(coro)
        except asyncpg.PostgresError as e:
            if isinstance(e, _CONNECTION_LOST):
                self.broken = True
            raise StoreError(f"PostgreSQL: {e}") from e
        except _CONNECTION_LOST as e:
            self.broken = True
            raise StoreError(f"PostgreSQL connection lost: {e}") from e

    def close(self) -> None:
        """Close the connection (quietly if it is gone already)."""
        try:
            self.loop.run(self.raw.close(timeout=5))
        except (*_CONNECTION_LOST, asyncpg.PostgresError, TimeoutError):
            self.raw.terminate()

    async def _execute(self, statement: Statement, parameters: Sequence[Any]) -> PgCursor:
        parameters = without_nul(parameters)
        if statement.fetches:
            rows = await self.raw.fetch(statement.sql, *parameters)
            tuples = [tuple(r) for r in rows]
            lastrowid = tuples[-1][0] if statement.returns_id and tuples else None
            return PgCursor(tuples, len(tuples), lastrowid)
        status = await self.raw.execute(statement.sql, *parameters)
        return PgCursor([], _changed(status), None)

    async def _execute_many(self, statement: Statement, rows: list[Sequence[Any]]) -> PgCursor:
        if not rows:
            return PgCursor([], 0, None)
        prepared = await self.raw.prepare(statement.sql)
        changed = 0
        for row in map(without_nul, rows):  # one by one: asyncpg's executemany counts no rows
            if statement.fetches:
                changed += len(await prepared.fetch(*row))
            else:
                await prepared.fetch(*row)
                changed += _changed(prepared.get_statusmsg())
        return PgCursor([], changed, None)


def without_nul(values: Sequence[Any]) -> Sequence[Any]:
    """`values` with NUL characters in texts replaced by U+FFFD: PostgreSQL's text cannot
    hold NUL (SQLite's can), and no stored text has one to match."""
    if not any(isinstance(v, str) and "\x00" in v for v in values):
        return values
    return [v.replace("\x00", "\ufffd") if isinstance(v, str) else v for v in values]


def _changed(status: str) -> int:
    """Rows a command changed, from its status ("INSERT 0 3", "UPDATE 2"); -1 if none."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else -1
