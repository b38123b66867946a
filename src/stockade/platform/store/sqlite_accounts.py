"""SQL for users, login sessions, API tokens and the audit log (called by `SqliteStore`)."""

from __future__ import annotations

import time

from stockade.platform.store.base import ApiTokenRecord, AuditRecord, UserRecord
from stockade.platform.store.sql import Connection

TOKEN_ID_CHARS = 16
_USER_COLUMNS = "id, username, password_hash, role"


def create_user(conn: Connection, username: str, password_hash: str, role: str) -> bool:
    """Add a user; False when the name exists already."""
    cur = conn.execute(
        "INSERT OR IGNORE INTO users (username, password_hash, created_at, role) "
        "VALUES (?, ?, ?, ?)",
        (username, password_hash, time.time_ns(), role),
    )
    return cur.rowcount == 1


def get_user(conn: Connection, username: str) -> UserRecord | None:
    """The user with this name, if any."""
    row = conn.execute(
        f"SELECT {_USER_COLUMNS} FROM users WHERE username = ?", (username,)
    ).fetchone()
    return UserRecord(*row) if row else None


def list_users(conn: Connection) -> list[UserRecord]:
    """Every user, by name."""
    rows = conn.execute(f"SELECT {_USER_COLUMNS} FROM users ORDER BY username").fetchall()
    return [UserRecord(*row) for row in rows]


def set_role(conn: Connection, username: str, role: str) -> bool:
    """Change a user's role; False when there is no such user."""
    cur = conn.execute("UPDATE users SET role = ? WHERE username = ?", (role, username))
    return cur.rowcount == 1


def set_password(conn: Connection, username: str, password_hash: str, keep_token_hash: str) -> bool:
    """Change a password and end the user's other login sessions (API tokens stay)."""
    user = get_user(conn, username)
    if user is None:
        return False
    conn.execute("UPDATE users SET password_hash = ? WHERE id = ?", (password_hash, user.id))
    conn.execute(
        "DELETE FROM sessions WHERE user_id = ? AND name IS NULL AND token_hash != ?",
        (user.id, keep_token_hash),
    )
    return True


def replace_password_hash(conn: Connection, username: str, old_hash: str, new_hash: str) -> bool:
    """Swap the hash of the same password, unless it changed meanwhile."""
    cursor = conn.execute(
        "UPDATE users SET password_hash = ? WHERE username = ? AND password_hash = ?",
        (new_hash, username, old_hash),
    )
    return cursor.rowcount == 1


def delete_user(conn: Connection, username: str) -> bool:
    """Remove a user with its sessions and API tokens."""
    user = get_user(conn, username)
    if user is None:
        return False
    conn.execute("DELETE FROM sessions WHERE user_id = ?", (user.id,))
    conn.execute("DELETE FROM users WHERE id = ?", (user.id,))
    return True


def add_session(
    conn: Connection, token_hash: str, user_id: int, expires_at: int, name: str | None
) -> None:
    """Remember a session or API token by its hash; drops expired ones on the way."""
    now = time.time_ns()
    conn.execute("DELETE FROM sessions WHERE expires_at < ?", (now,))
    conn.execute(
        "INSERT INTO sessions (token_hash, user_id, created_at, expires_at, name) "
        "VALUES (?, ?, ?, ?, ?)",
        (token_hash, user_id, now, expires_at, name),
    )


def session_user(conn: Connection, token_hash: str, now: int) -> UserRecord | None:
    """The user of a live session or API token, else None."""
    row = conn.execute(
        "SELECT u.id, u.username, u.password_hash, u.role FROM sessions s "
        "JOIN users u ON u.id = s.user_id WHERE s.token_hash = ? AND s.expires_at > ?",
        (token_hash, now),
    ).fetchone()
    return UserRecord(*row) if row else None


def list_api_tokens(conn: Connection, user_id: int, now: int) -> list[ApiTokenRecord]:
    """A user's unexpired API tokens, newest first."""
    rows = conn.execute(
        "SELECT substr(token_hash, 1, ?), name, created_at, expires_at FROM sessions "
        "WHERE user_id = ? AND name IS NOT NULL AND expires_at > ? ORDER BY created_at DESC",
        (TOKEN_ID_CHARS, user_id, now),
    ).fetchall()
    return [ApiTokenRecord(*row) for row in rows]


def delete_api_token(conn: Connection, user_id: int, token_id: str) -> bool:
    """Revoke one of a user's API tokens by id."""
    if len(token_id) != TOKEN_ID_CHARS:
        return False
    cur = conn.execute(
        "DELETE FROM sessions WHERE user_id = ? AND name IS NOT NULL "
        "AND substr(token_hash, 1, ?) = ?",
        (user_id, TOKEN_ID_CHARS, token_id),
    )
    return cur.rowcount > 0


def add_audit(conn: Connection, record: AuditRecord) -> None:
    """Append a state-changing call to the audit log."""
    conn.execute(
        "INSERT INTO audit_log (ts, username, method, path, status, source) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (record.ts, record.username, record.method, record.path, record.status, record.source),
    )


def list_audit(conn: Connection, limit: int) -> list[AuditRecord]:
    """The newest audit log entries, newest first."""
    rows = conn.execute(
        "SELECT ts, username, method, path, status, source FROM audit_log "
        "ORDER BY ts DESC, id DESC LIMIT ?",
        (limit,),
    ).fetchall()
    return [AuditRecord(*row) for row in rows]
