"""What hunting on PostgreSQL needs in the database, made once per process (idempotent,
under the store's write lock, so several processes may race to it safely).

- A login role of its own per database (`stockade_hunt_<database>`, no privileges but
  reading the hunt views; its password kept in `hunt_login`, which only the store's role
  may read). Hunts connect as this role, so a hostile query meets PostgreSQL's own
  permission checks: it cannot read the stored tables, write, or become another role.
- The hunt views (`stockade.hunt.views`, the names and columns SQLite's hunts see) in the
  schema `hunt_views`, owned by the store's role: they read the stored tables with its
  rights. Events and alerts are windowed by the row of `hunt_windows` for the hunt's
  own session (`pg_backend_pid()`), written by the store before the hunt runs: the hunt
  cannot change its window (it cannot write), and without a row it sees no events.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass

from stockade.hunt.views import ViewDialect, views_in
from stockade.platform.store.pg_connection import PgConnection

HUNT_SCHEMA = "hunt_views"
_WINDOW = "(SELECT {} FROM hunt_windows WHERE pid = pg_backend_pid())"
_TABLES = """
    CREATE UNLOGGED TABLE IF NOT EXISTS hunt_windows (
        pid integer PRIMARY KEY, win_since bigint NOT NULL, win_until bigint NOT NULL);
    CREATE TABLE IF NOT EXISTS hunt_login (role text PRIMARY KEY, password text NOT NULL);
    REVOKE ALL ON hunt_windows, hunt_login FROM PUBLIC
"""


@dataclass(frozen=True)
class HuntLogin:
    """The role hunts connect as, and its password."""

    role: str
    password: str


def postgres_dialect() -> ViewDialect:
    """The hunt views on PostgreSQL: the window of the hunt's session, JSON as text."""
    return ViewDialect(
        tables="",
        since=_WINDOW.format("win_since"),
        until=_WINDOW.format("win_until"),
        json_text="({column}::json ->> '{key}')",
        json_raw="(({column}::json) -> '{key}')::text",
    )


def role_name(database: str) -> str:
    """The hunt role of a database: `stockade_hunt_` and its name, as an identifier."""
    return "stockade_hunt_" + re.sub(r"[^a-z0-9_]", "_", database.lower())[:40]


def prepare_hunting(conn: PgConnection) -> HuntLogin:
    """Make the hunt role, the window table and the views (in the caller's transaction)."""
    conn.call(conn.raw.execute(_TABLES))
    login = _login(conn)
    _views(conn, login.role)
    return login


def _login(conn: PgConnection) -> HuntLogin:
    database = conn.call(conn.raw.fetchval("SELECT current_database()"))
    role = role_name(str(database))
    known = conn.call(conn.raw.fetchval("SELECT password FROM hunt_login WHERE role = $1", role))
    if known is not None and _role_exists(conn, role):
        return HuntLogin(role, str(known))
    password = secrets.token_hex(24)  # hex: nothing to quote in the statement below
    verb = "ALTER" if _role_exists(conn, role) else "CREATE"
    conn.call(
        conn.raw.execute(
            f'{verb} ROLE "{role}" LOGIN NOINHERIT NOSUPERUSER NOCREATEDB NOCREATEROLE '
            f"NOREPLICATION PASSWORD '{password}'"
        )
    )
    conn.call(
        conn.raw.execute(
            "INSERT INTO hunt_login (role, password) VALUES ($1, $2) "
            "ON CONFLICT (role) DO UPDATE SET password = excluded.password",
            role,
            password,
        )
    )
    return HuntLogin(role, password)


def _role_exists(conn: PgConnection, role: str) -> bool:
    found = conn.call(conn.raw.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role))
    return found is not None


def _views(conn: PgConnection, role: str) -> None:
    """The hunt views, made anew when their text changed (a new version may shape them
    differently); left alone otherwise: dropping them waits for every running hunt."""
    statements = [f"DROP SCHEMA IF EXISTS {HUNT_SCHEMA} CASCADE", f"CREATE SCHEMA {HUNT_SCHEMA}"]
    for name, sql in views_in(postgres_dialect()).items():
        # security_barrier: the hunt's own conditions run after the window's, so an error
        # message of theirs cannot show a row outside it
        statements.append(f'CREATE VIEW {HUNT_SCHEMA}."{name}" WITH (security_barrier) AS {sql}')
    statements += [
        f'GRANT USAGE ON SCHEMA {HUNT_SCHEMA} TO "{role}"',
        f'GRANT SELECT ON ALL TABLES IN SCHEMA {HUNT_SCHEMA} TO "{role}"',
    ]
    digest = hashlib.sha256("\n".join(statements).encode()).hexdigest()
    made = conn.call(
        conn.raw.fetchval(
            "SELECT obj_description(oid, 'pg_namespace') FROM pg_namespace WHERE nspname = $1",
            HUNT_SCHEMA,
        )
    )
    if made == digest:
        return
    statements.append(f"COMMENT ON SCHEMA {HUNT_SCHEMA} IS '{digest}'")
    conn.call(conn.raw.execute(";\n".join(statements)))
