"""Hunts on a real SQLite store: the views, the window, the limits, and refused writes."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from stockade.hunt.engine import HuntError, HuntQuery, run_hunt
from stockade.platform.store.migrations import migrate

HOUR = 3600 * 10**9
NOW = 1_800_000_000 * 10**9
EVENT_SQL = (
    "INSERT INTO events (agent_id, seq, ts, host_id, container_id, type, proc_name, "
    "proc_pid, body) VALUES (?, ?, ?, 'h1', '', 'execve', ?, ?, x'')"
)


@pytest.fixture
def database(tmp_path: Path) -> Path:
    """A migrated store: one event per hour for 48 hours, and one inventory row."""
    path = tmp_path / "stockade.db"
    conn = sqlite3.connect(path)
    migrate(conn)
    rows = [("a1", i, NOW - i * HOUR - 1, "curl" if i % 2 else "sh", i) for i in range(48)]
    conn.executemany(EVENT_SQL, rows)
    conn.execute(
        "INSERT INTO host_inventory VALUES ('h1', 'deb_packages', ?, 0)",
        ('{"name": "bash", "version": "5.2", "container": ""}',),
    )
    conn.commit()
    conn.close()
    return path


def test_events_are_limited_to_the_default_window(database: Path) -> None:
    """Without bounds a hunt sees the last 24 hours of events."""
    result = run_hunt(database, HuntQuery("SELECT count(*) FROM events"), NOW)
    assert result.rows == [[24]]
    assert result.until - result.since == 24 * HOUR


def test_an_explicit_window_and_a_group_by(database: Path) -> None:
    """Given bounds replace the default window; the views' columns carry Falco-like names."""
    query = HuntQuery(
        "SELECT proc_name, count(*) FROM events WHERE evt_type = 'execve' GROUP BY proc_name",
        since=NOW - 48 * HOUR,
        until=NOW,
    )
    assert sorted(run_hunt(database, query, NOW).rows) == [["curl", 24], ["sh", 24]]


def test_inventory_tables_have_osquery_columns(database: Path) -> None:
    """An osquery user's query over deb_packages works unchanged."""
    result = run_hunt(database, HuntQuery("SELECT name, version FROM deb_packages"), NOW)
    assert result.rows == [["bash", "5.2"]]


def test_rows_are_cut_at_the_limit(database: Path) -> None:
    """More rows than the limit: the first `limit` rows and `truncated`."""
    result = run_hunt(database, HuntQuery("SELECT * FROM events", limit=5), NOW)
    assert len(result.rows) == 5 and result.truncated


@pytest.mark.parametrize(
    "sql",
    [
        "INSERT INTO events (agent_id) VALUES ('x')",
        "DELETE FROM host_inventory",
        "ATTACH DATABASE '/tmp/other.db' AS other",
        "PRAGMA writable_schema = ON",
        "PRAGMA table_info(events)",
        "SELECT ts FROM main.events",  # around the window
        "SELECT * FROM sessions",  # the console sessions: not a hunt view
        "CREATE TABLE t (x)",
    ],
)
def test_anything_but_a_select_over_the_views_is_refused_in_one_line(
    database: Path, sql: str
) -> None:
    """Writes, attaches, pragmas and tables outside the views fail with a one-line error."""
    with pytest.raises(HuntError) as refused:
        run_hunt(database, HuntQuery(sql), NOW)
    message = str(refused.value)
    assert message.startswith("hunt: ") and "\n" not in message
    conn = sqlite3.connect(database)
    assert conn.execute("SELECT count(*) FROM events").fetchone() == (48,)
    conn.close()


def test_a_query_over_its_time_limit_is_stopped(database: Path) -> None:
    """A runaway query is interrupted by the progress handler at its time limit."""
    endless = (
        "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n) SELECT count(*) FROM n"
    )
    with pytest.raises(HuntError, match="time limit"):
        run_hunt(database, HuntQuery(endless, timeout_s=0.2), NOW)


def test_a_wrong_query_says_why(database: Path) -> None:
    """A syntax error or an unknown column is a one-line error, not a traceback."""
    with pytest.raises(HuntError, match="no such column"):
        run_hunt(database, HuntQuery("SELECT no_such_column FROM events"), NOW)
