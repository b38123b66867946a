"""Schema migrations, numbered; each runs once, in order, in its own transaction.

One list for SQLite and PostgreSQL: the scripts are SQLite's (`migrations_sqlite`), and
`dialect.ddl` turns their types and keys into PostgreSQL's. `migrations_postgres` gives
the few versions whose SQLite text has no translation (FTS5 and its triggers; a key
PostgreSQL's B-tree cannot hold) their PostgreSQL text (run through `dialect.ddl` as
well). A new migration runs on both: the store tests migrate a PostgreSQL database from
nothing every session.
"""

from __future__ import annotations

import sqlite3
import time

from stockade.platform.store.dialect import ddl
from stockade.platform.store.migrations_postgres import postgresql_script
from stockade.platform.store.migrations_sqlite import MIGRATIONS
from stockade.platform.store.sql import Connection

__all__ = ["MIGRATIONS", "migrate"]


def _statements(script: str) -> list[str]:
    """The statements of a script; a trigger's body keeps its own semicolons."""
    statements: list[str] = []
    pending = ""
    for piece in script.split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            if pending.strip(" \n;"):
                statements.append(pending)
            pending = ""
    if pending.strip(" \n;"):
        statements.append(pending)
    return statements


def migrate(conn: Connection, postgresql: bool = False) -> list[int]:
    """Apply the migrations this database lacks; returns the versions applied.

    On PostgreSQL the caller holds a lock that keeps other processes from migrating at once.
    """
    table = (
        "CREATE TABLE IF NOT EXISTS schema_migrations "
        "(version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)"
    )
    conn.execute(ddl(table) if postgresql else table)
    applied: list[int] = []
    for version, sqlite_script in MIGRATIONS:
        script = sqlite_script
        if postgresql:
            script = ddl(postgresql_script(version, sqlite_script))
        conn.execute("BEGIN" if postgresql else "BEGIN IMMEDIATE")
        try:
            done = conn.execute(
                "SELECT 1 FROM schema_migrations WHERE version = ?", (version,)
            ).fetchone()
            if done is None:
                for statement in _statements(script):
                    conn.execute(statement)
                conn.execute(
                    "INSERT INTO schema_migrations VALUES (?, ?)", (version, time.time_ns())
                )
                applied.append(version)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return applied
