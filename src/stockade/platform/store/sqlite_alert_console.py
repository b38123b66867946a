"""The alert console's store calls on SQLite (`AlertConsoleStore`), mixed into `SqliteStore`."""

from __future__ import annotations

import sqlite3
from contextlib import AbstractContextManager
from typing import Any

from stockade.platform.store.alert_console import (
    AlertPage,
    AlertPageQuery,
    AlertStats,
    AlertStatus,
    ConsoleAlert,
    Tally,
)
from stockade.platform.store.base import DEFAULT_QUERY_BUDGET_S
from stockade.platform.store.sqlite_alert_pages import SELECT_COLUMNS, console_alert, page_alerts
from stockade.platform.store.sqlite_budget import within

TOP_GROUPS = 10  # rows of each "top" table on the dashboard
_SOURCE = "alerts a LEFT JOIN containers c ON c.id = a.container_id AND c.agent_id = a.agent_id"


class SqliteAlertConsole:
    """`AlertConsoleStore` for a class that gives per-thread connections and write blocks."""

    def _conn(self) -> sqlite3.Connection:
        raise NotImplementedError

    def _write(self) -> AbstractContextManager[sqlite3.Connection]:
        raise NotImplementedError

    def page_alerts(self, query: AlertPageQuery) -> AlertPage:
        """One page in the query's order; QueryTimeout past its budget."""
        conn = self._conn()
        return within(conn, query.budget_s, lambda: page_alerts(conn, query))

    def get_alert(self, alert_id: int) -> ConsoleAlert | None:
        """One stored alert, if it exists."""
        return _get(self._conn(), alert_id)

    def set_alert_status(
        self, alert_id: int, status: AlertStatus, username: str, now: int
    ) -> ConsoleAlert | None:
        """Record who set an alert's status and when; None when there is no such alert."""
        with self._write() as conn:
            conn.execute(
                "UPDATE alerts SET status = ?, status_by = ?, status_at = ? WHERE id = ?",
                (str(status), username, now, alert_id),
            )
            return _get(conn, alert_id)

    def alert_stats(
        self, since: int, until: int, buckets: int, budget_s: float = DEFAULT_QUERY_BUDGET_S
    ) -> AlertStats:
        """Counts over [since, until): per time bucket and priority, top groups, statuses."""
        conn = self._conn()
        return within(conn, budget_s, lambda: _stats(conn, since, until, buckets))


def _get(conn: sqlite3.Connection, alert_id: int) -> ConsoleAlert | None:
    row = conn.execute(
        f"SELECT {SELECT_COLUMNS} FROM {_SOURCE} WHERE a.id = ?", (alert_id,)
    ).fetchone()
    return console_alert(row) if row else None


def _stats(conn: sqlite3.Connection, since: int, until: int, buckets: int) -> AlertStats:
    bucket_ns = max(1, -(-(until - since) // buckets))
    window = "FROM alerts WHERE ts >= ? AND ts < ?"
    span = (since, until)
    series = conn.execute(
        f"SELECT (ts - ?) / ?, priority_num, count(*) {window} GROUP BY 1, 2",
        (since, bucket_ns, *span),
    ).fetchall()

    def top(key: str, label: str = "''", where: str = "") -> list[Tally]:
        rows = conn.execute(
            f"SELECT {key}, count(*), sum(count), max({label}) {window} {where} "
            f"GROUP BY {key} ORDER BY 2 DESC, 1 LIMIT {TOP_GROUPS}",
            span,
        )
        return [_tally(r) for r in rows]

    return AlertStats(
        since=since,
        until=until,
        bucket_ns=bucket_ns,
        series=[(int(b), int(p), int(n)) for b, p, n in series],
        top_rules=top("rule"),
        top_containers=top("container_id", "container_name"),
        top_images=top("image", where="AND image != ''"),
        by_status=top("status"),
    )


def _tally(row: tuple[Any, ...]) -> Tally:
    return Tally(key=str(row[0]), alerts=int(row[1]), occurrences=int(row[2]), label=str(row[3]))
