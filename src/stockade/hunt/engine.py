"""Running one hunt: a separate read-only SQLite connection, only SELECTs on the hunt views,
a time window on events and alerts, a row limit and a time limit.

The connection is opened with mode=ro and `PRAGMA query_only`; the hunt views are TEMP
views (they shadow the stored tables of the same name). An authorizer then allows reading
the stored tables only through those views, so a query cannot leave the window or touch
tables it was not given; anything but a SELECT (INSERT, ATTACH, PRAGMA, ...) is refused.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stockade.errors import StockadeError
from stockade.hunt.views import view_sql

MAX_ROWS = 10_000
DEFAULT_WINDOW_NS = 24 * 3600 * 10**9
DEFAULT_TIMEOUT_S = 10.0
_ALLOWED_ACTIONS = {sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_FUNCTION}
_REFUSED_FUNCTIONS = {"load_extension", "readfile", "writefile", "edit", "fts3_tokenizer"}
_RECURSIVE = getattr(sqlite3, "SQLITE_RECURSIVE", 33)
_BEHIND_VIEWS = {"events", "alerts", "containers", "agents", "host_inventory"}


class HuntError(StockadeError):
    """A hunt that cannot run: a refused statement, a bad query, or over its time limit."""


@dataclass(frozen=True)
class HuntQuery:
    """One hunt: the SQL and its guards (window in ns since the epoch; 0: the default)."""

    sql: str
    since: int = 0
    until: int = 0
    limit: int = 1000
    timeout_s: float = DEFAULT_TIMEOUT_S


@dataclass(frozen=True)
class HuntResult:
    """A hunt's answer: column names, rows, whether rows were cut at the limit, the window."""

    columns: list[str]
    rows: list[list[Any]]
    truncated: bool
    since: int
    until: int


def window(query: HuntQuery, now_ns: int) -> tuple[int, int]:
    """The [since, until) window: the query's own bounds, else the last 24 hours."""
    until = query.until or now_ns
    since = query.since or until - DEFAULT_WINDOW_NS
    if since >= until:
        raise HuntError(f"hunt window: since ({since}) must be before until ({until})")
    return since, until


def _authorizer(views: set[str]) -> Any:
    def authorize(
        action: int, table: str | None, arg2: str | None, db: str | None, src: str | None
    ) -> int:
        if action == sqlite3.SQLITE_READ:
            # a view reading none of a stored table's columns is reported without the view
            no_columns = arg2 == "" and table in _BEHIND_VIEWS
            if db != "main" or src in views or no_columns:
                return sqlite3.SQLITE_OK
            return sqlite3.SQLITE_DENY
        if action == sqlite3.SQLITE_FUNCTION:
            refused = (arg2 or "").lower() in _REFUSED_FUNCTIONS
            return sqlite3.SQLITE_DENY if refused else sqlite3.SQLITE_OK
        ok = action in _ALLOWED_ACTIONS or action == _RECURSIVE
        return sqlite3.SQLITE_OK if ok else sqlite3.SQLITE_DENY

    return authorize


def open_readonly(db_path: Path, since: int, until: int) -> sqlite3.Connection:
    """A read-only connection with the hunt views for [since, until) and the authorizer set."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, check_same_thread=False)
    views = view_sql(since, until)
    for name, sql in views.items():
        conn.execute(f'CREATE TEMP VIEW "{name}" AS {sql}')
    conn.execute("PRAGMA query_only = ON")
    conn.set_authorizer(_authorizer(set(views)))
    return conn


def run_hunt(db_path: Path, query: HuntQuery, now_ns: int | None = None) -> HuntResult:
    """Run one hunt; HuntError (one line) when it is refused, wrong or too slow."""
    sql = query.sql.strip().rstrip(";")
    if not sql:
        raise HuntError("hunt: the query is empty")
    since, until = window(query, now_ns if now_ns is not None else time.time_ns())
    limit = max(1, min(query.limit, MAX_ROWS))
    try:
        conn = open_readonly(db_path, since, until)
    except sqlite3.Error as e:
        raise HuntError(f"hunt: cannot open {db_path} read-only: {e}") from e
    deadline = time.monotonic() + query.timeout_s
    conn.set_progress_handler(lambda: int(time.monotonic() > deadline), 10_000)
    try:
        cursor = conn.execute(sql)
        rows = [list(row) for row in cursor.fetchmany(limit + 1)]
        columns = [d[0] for d in cursor.description or ()]
    except sqlite3.Error as e:
        raise HuntError(_explain(e, query.timeout_s)) from None
    except (sqlite3.Warning, ValueError) as e:
        raise HuntError(f"hunt: {e}") from None
    finally:
        conn.close()
    rows = [[_plain(v) for v in row] for row in rows]
    return HuntResult(columns, rows[:limit], len(rows) > limit, since, until)


def _plain(value: Any) -> Any:
    return value.hex() if isinstance(value, bytes) else value


def _explain(error: sqlite3.Error, timeout_s: float) -> str:
    text = " ".join(str(error).split())
    if text == "interrupted":
        return f"hunt: the query ran over its {timeout_s:g} s time limit"
    if "not authorized" in text or "prohibited" in text:
        return "hunt: only SELECT over the hunt views is allowed (" + text + ")"
    return f"hunt: {text}"
