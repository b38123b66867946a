"""Hunts on the PostgreSQL store, with SQLite's semantics and guards.

A SQL hunt runs on a connection of its own as the hunt role (`pg_hunt_setup.py`): its
search_path is the hunt views' schema, its transaction read-only, each statement stopped
at the hunt's time limit (`statement_timeout`); rows are read through a cursor up to
the row limit. Only one statement that begins with SELECT, WITH, VALUES or TABLE runs
(asyncpg prepares it: a second statement is refused). Its window is the row of
`hunt_windows` the store writes for the hunt's session before it runs and removes after.
A Sigma hunt reads the window's stored events (not a user's SQL) in a read-only
transaction of the store's own role, through a cursor.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any, TypeVar

import asyncpg

from stockade.hunt.engine import MAX_ROWS, HuntError, HuntQuery, HuntResult, window
from stockade.hunt.source import EventBody
from stockade.platform.store.pg_connection import CONNECT_TIMEOUT_S, LoopThread, PgConnection
from stockade.platform.store.pg_hunt_setup import HUNT_SCHEMA, HuntLogin

T = TypeVar("T")
CHUNK_ROWS = 2_000  # rows of a Sigma hunt's cursor fetched at a time
_LEADING_NOISE = re.compile(r"(?:\s+|--[^\n]*(?:\n|$)|/\*.*?\*/)*", re.S)
_FIRST_WORD = re.compile(r"\(*\s*([A-Za-z]+)")
_READING = {"select", "with", "values", "table"}
_REFUSED = (
    asyncpg.exceptions.InsufficientPrivilegeError,
    asyncpg.exceptions.ReadOnlySQLTransactionError,
)
_SET_WINDOW = (
    "INSERT INTO hunt_windows (pid, win_since, win_until) VALUES (?, ?, ?) "
    "ON CONFLICT (pid) DO UPDATE SET win_since = excluded.win_since, "
    "win_until = excluded.win_until"
)


class PostgresHuntSource:
    """Hunts over a PostgreSQL store, as its hunt role, on the store's event loop."""

    def __init__(
        self, loop: LoopThread, url: str, login: HuntLogin, store: Callable[[], PgConnection]
    ) -> None:
        self._loop = loop
        self._url = url
        self._login = login
        self._store = store

    def run(self, query: HuntQuery, now_ns: int | None = None) -> HuntResult:
        """Run one SQL hunt; HuntError (one line) when it is refused, wrong or too slow."""
        sql = reading_statement(query.sql)
        since, until = window(query, now_ns if now_ns is not None else time.time_ns())
        limit = max(1, min(query.limit, MAX_ROWS))
        conn = self._call(self._connect_as_hunter(query.timeout_s), query.timeout_s)
        pid = conn.get_server_pid()
        try:
            self._store().execute(_SET_WINDOW, (pid, since, until))
            columns, found = self._call(_fetch(conn, sql, limit), query.timeout_s)
        finally:
            self._store().execute("DELETE FROM hunt_windows WHERE pid = ?", (pid,))
            self._loop.run(conn.close(timeout=5))
        rows = [[plain(v) for v in row] for row in found]
        return HuntResult(columns, rows[:limit], len(rows) > limit, since, until)

    @contextmanager
    def event_bodies(self, window: tuple[int, int]) -> Iterator[Iterator[EventBody]]:
        """The window's stored events, oldest first, read-only through a cursor."""
        conn = self._call(
            asyncpg.connect(
                self._url,
                timeout=CONNECT_TIMEOUT_S,
                server_settings={"default_transaction_read_only": "on"},
            ),
            0,
        )
        try:
            cursor = self._call(_open_cursor(conn, window), 0)
            yield self._chunks(cursor)
        finally:
            self._loop.run(conn.close(timeout=5))

    def _chunks(self, cursor: Any) -> Iterator[EventBody]:
        while rows := self._call(cursor.fetch(CHUNK_ROWS), 0):
            for agent_id, body in rows:
                yield str(agent_id), bytes(body)

    async def _connect_as_hunter(self, timeout_s: float) -> asyncpg.Connection:
        return await asyncpg.connect(
            self._url,
            user=self._login.role,
            password=self._login.password,
            timeout=CONNECT_TIMEOUT_S,
            server_settings={
                "search_path": HUNT_SCHEMA,
                "default_transaction_read_only": "on",
                "statement_timeout": str(max(1, int(timeout_s * 1000))),
                "application_name": "stockade-hunt",
            },
        )

    def _call(self, coro: Coroutine[Any, Any, T], timeout_s: float) -> T:
        """Run `coro` on the loop; what PostgreSQL refuses becomes a one-line HuntError."""
        try:
            return self._loop.run(coro)
        except asyncpg.exceptions.QueryCanceledError:
            raise HuntError(f"hunt: the query ran over its {timeout_s:g} s time limit") from None
        except _REFUSED as e:
            raise HuntError(
                f"hunt: only SELECT over the hunt views is allowed ({_line(e)})"
            ) from None
        except asyncpg.PostgresError as e:
            raise HuntError(f"hunt: {_line(e)}") from None
        except (OSError, TimeoutError, asyncpg.InterfaceError) as e:
            raise HuntError(f"hunt: cannot reach the store's database: {_line(e)}") from None


async def _fetch(
    conn: asyncpg.Connection, sql: str, limit: int
) -> tuple[list[str], list[tuple[Any, ...]]]:
    async with conn.transaction(readonly=True):
        statement = await conn.prepare(sql)
        columns = [a.name for a in statement.get_attributes()]
        rows = await (await statement.cursor()).fetch(limit + 1)
    return columns, [tuple(r) for r in rows]


async def _open_cursor(conn: asyncpg.Connection, window: tuple[int, int]) -> Any:
    await conn.execute("BEGIN READ ONLY")
    return await conn.cursor(
        "SELECT agent_id, body FROM events WHERE ts >= $1 AND ts < $2 ORDER BY ts", *window
    )


def reading_statement(sql: str) -> str:
    """`sql` without its trailing `;`; HuntError unless it is one statement that reads."""
    text = sql.strip().rstrip(";").strip()
    if not text:
        raise HuntError("hunt: the query is empty")
    body = _LEADING_NOISE.sub("", text, count=1)
    first = _FIRST_WORD.match(body)
    word = first.group(1) if first else body[:20]
    if word.lower() not in _READING:
        raise HuntError(f"hunt: only SELECT over the hunt views is allowed (not {word!r})")
    return text


def plain(value: Any) -> Any:
    """A value as the API's JSON shows it (SQLite's hunts give these types too)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return str(value)


def _line(error: BaseException) -> str:
    return " ".join(str(error).split())
