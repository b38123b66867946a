"""Response actions in SQLite: one row per action record (its JSON), indexed for the trail
and for an agent's pending orders, and the policy document pushed to agents. `SqliteStore`
takes these methods in as a mixin."""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass

import msgspec

from stockade.model.actions import ActionRecord, ActionStatus
from stockade.platform.store.sql import Connection

_decoder = msgspec.json.Decoder(ActionRecord)


@dataclass(frozen=True, slots=True)
class ActionQuery:
    """Filters of the audit trail; None means any."""

    agent_id: str | None = None
    action: str | None = None
    status: str | None = None
    limit: int = 100
    after: tuple[int, str] | None = None  # (requested_at, id) the previous page ended at


@dataclass(frozen=True, slots=True)
class PolicyDocument:
    """The response policies pushed to agents: YAML text, its version, who set it when."""

    yaml: str = ""
    version: int = 0  # 0: never set
    updated_at: int = 0
    updated_by: str = ""


class SqliteActions:
    """The action trail's SQL, mixed into `SqliteStore` (which provides the connections)."""

    def _conn(self) -> Connection:
        raise NotImplementedError

    def _write(self) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    def save_action(self, record: ActionRecord) -> None:
        """Insert or replace an action record by id."""
        with self._write() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO actions "
                "(id, agent_id, action, status, requested_at, completed_at, record) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    record.id,
                    record.agent_id,
                    record.action,
                    str(record.status),
                    record.requested_at,
                    record.completed_at,
                    msgspec.json.encode(record).decode(),
                ),
            )

    def get_action(self, action_id: str) -> ActionRecord | None:
        """One record by id."""
        row = (
            self._conn().execute("SELECT record FROM actions WHERE id = ?", (action_id,)).fetchone()
        )
        return _decoder.decode(row[0]) if row else None

    def pending_actions(self, agent_id: str) -> list[ActionRecord]:
        """The agent's orders not reported yet, oldest first."""
        rows = self._conn().execute(
            "SELECT record FROM actions WHERE agent_id = ? AND status = ? ORDER BY requested_at",
            (agent_id, str(ActionStatus.PENDING)),
        )
        return [_decoder.decode(r[0]) for r in rows]

    def list_actions(self, query: ActionQuery) -> list[ActionRecord]:
        """The trail matching the query, newest first (ties by id, descending), starting
        after `query.after`: keyset pages that a new action never shifts."""
        where: list[str] = []
        params: list[object] = []
        for column, value in (
            ("agent_id", query.agent_id),
            ("action", query.action),
            ("status", query.status),
        ):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        if query.after is not None:
            requested_at, action_id = query.after
            where.append("(requested_at < ? OR (requested_at = ? AND id < ?))")
            params += [requested_at, requested_at, action_id]
        sql = "SELECT record FROM actions"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY requested_at DESC, id DESC LIMIT ?"
        rows = self._conn().execute(sql, (*params, query.limit))
        return [_decoder.decode(r[0]) for r in rows]

    def get_policies(self) -> PolicyDocument:
        """The pushed policy document (version 0 and no text when never set)."""
        row = (
            self._conn()
            .execute("SELECT yaml, version, updated_at, updated_by FROM response_policies")
            .fetchone()
        )
        return PolicyDocument(*row) if row else PolicyDocument()

    def put_policies(self, yaml: str, username: str, now: int) -> PolicyDocument:
        """Replace the pushed policy document; its version goes up by one."""
        with self._write() as conn:
            row = conn.execute("SELECT version FROM response_policies").fetchone()
            version = (row[0] if row else 0) + 1
            conn.execute(
                "INSERT OR REPLACE INTO response_policies VALUES (1, ?, ?, ?, ?)",
                (yaml, version, now, username),
            )
        return PolicyDocument(yaml, version, now, username)
