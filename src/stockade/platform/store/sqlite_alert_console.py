"""The alert console's store calls on SQLite (`AlertConsoleStore`), mixed into `SqliteStore`."""

from __future__ import annotations

from collections import Counter
from contextlib import AbstractContextManager

from stockade.platform.store.alert_console import (
    AlertPage,
    AlertPageQuery,
    AlertStats,
    AlertStatus,
    ConsoleAlert,
    Tally,
)
from stockade.platform.store.base import DEFAULT_QUERY_BUDGET_S
from stockade.platform.store.sql import Connection
from stockade.platform.store.sqlite_alert_pages import SELECT_COLUMNS, console_alert, page_alerts
from stockade.platform.store.sqlite_budget import within

TOP_GROUPS = 10  # rows of each "top" table on the dashboard
_SOURCE = "alerts a LEFT JOIN containers c ON c.id = a.container_id AND c.agent_id = a.agent_id"


class SqliteAlertConsole:
    """`AlertConsoleStore` for a class that gives per-thread connections and write blocks."""

    def _conn(self) -> Connection:
        raise NotImplementedError

    def _write(self) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    def page_alerts(self, query: AlertPageQuery) -> AlertPage:
        """One page in the query's order; QueryTimeout past its budget."""
        return page_alerts(self._conn(), query)

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


def _get(conn: Connection, alert_id: int) -> ConsoleAlert | None:
    row = conn.execute(
        f"SELECT {SELECT_COLUMNS} FROM {_SOURCE} WHERE a.id = ?", (alert_id,)
    ).fetchone()
    return console_alert(row) if row else None


def _stats(conn: Connection, since: int, until: int, buckets: int) -> AlertStats:
    """One pass over the window's rows (five GROUP BYs would read each row five times)."""
    bucket_ns = max(1, -(-(until - since) // buckets))
    series: Counter[tuple[int, int]] = Counter()
    groups: dict[str, dict[str, list[int]]] = {k: {} for k in ("rule", "container", "image")}
    statuses: dict[str, list[int]] = {}
    labels: dict[str, str] = {}
    rows = conn.execute(
        "SELECT ts, priority_num, rule, container_id, container_name, image, status, count "
        "FROM alerts WHERE ts >= ? AND ts < ?",
        (since, until),
    )
    for ts, priority, rule, container, name, image, status, count in rows:
        series[((ts - since) // bucket_ns, priority)] += 1
        _add(groups["rule"], rule, count)
        _add(groups["container"], container, count)
        labels[container] = name or labels.get(container, "")
        if image:
            _add(groups["image"], image, count)
        _add(statuses, status, count)
    return AlertStats(
        since=since,
        until=until,
        bucket_ns=bucket_ns,
        series=[(b, p, n) for (b, p), n in sorted(series.items())],
        top_rules=_top(groups["rule"]),
        top_containers=_top(groups["container"], labels),
        top_images=_top(groups["image"]),
        by_status=_top(statuses),
    )


def _add(group: dict[str, list[int]], key: str, count: int) -> None:
    totals = group.get(key)
    if totals is None:
        group[key] = [1, count]
    else:
        totals[0] += 1
        totals[1] += count


def _top(group: dict[str, list[int]], labels: dict[str, str] | None = None) -> list[Tally]:
    ranked = sorted(group.items(), key=lambda kv: (-kv[1][0], kv[0]))[:TOP_GROUPS]
    return [
        Tally(key=k, alerts=n, occurrences=c, label=(labels or {}).get(k, ""))
        for k, (n, c) in ranked
    ]
