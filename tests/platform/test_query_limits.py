"""Every filter the user API offers reads an index, and a query past its time budget stops.

The plans are SQLite's own (EXPLAIN QUERY PLAN of the statements the store runs): each
filter searches its index in time order, so `limit` rows cost `limit` index steps however
many rows the store holds. The budget is shown on a real platform: with a budget too small
for a large page, that page is refused (422) while a small page still answers.
"""

from __future__ import annotations

import dataclasses
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from stockade.platform.store.base import AlertQuery, EventQuery
from stockade.platform.store.sqlite import SqliteStore
from tests.support.agent_client import make_event
from tests.support.platform_runner import PlatformRunner


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    s = SqliteStore(str(tmp_path / "plans.db"))
    yield s
    s.close()


def _plan(store: SqliteStore, run: object, table: str) -> list[str]:
    conn = store._conn()
    assert isinstance(conn, sqlite3.Connection)
    statements: list[str] = []
    conn.set_trace_callback(statements.append)
    try:
        if isinstance(run, EventQuery):
            store.query_events(run)
        elif isinstance(run, AlertQuery):
            store.query_alerts(run)
    finally:
        conn.set_trace_callback(None)
    (sql,) = [s for s in statements if f"FROM {table}" in s and "ORDER BY" in s]
    return [str(row[3]) for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}")]


@pytest.mark.parametrize(
    ("query", "index"),
    [
        (EventQuery(proc_name="sh"), "events_proc_name_ts"),
        (EventQuery(type="execve"), "events_type_ts"),
        (EventQuery(host="node-1"), "events_host_ts"),
        (EventQuery(container="c" * 64), "events_container_ts"),
        (EventQuery(since=1, until=2), "events_ts"),
        (EventQuery(), "events_ts"),
    ],
    ids=["proc_name", "type", "host", "container", "since-until", "none"],
)
def test_event_filters_read_an_index(store: SqliteStore, query: EventQuery, index: str) -> None:
    plan = _plan(store, query, "events")
    assert any(f"USING INDEX {index} " in step or step.endswith(index) for step in plan), plan
    assert not any(step == "SCAN events" for step in plan), plan


@pytest.mark.parametrize(
    ("query", "index"),
    [
        (AlertQuery(rule="r"), "alerts_rule_ts"),
        (AlertQuery(priority="warning"), "alerts_priority_ts"),
        (AlertQuery(host="node-1"), "alerts_host_ts"),
        (AlertQuery(container="c" * 64), "alerts_container_ts"),
        (AlertQuery(min_priority=4), "alerts_ts"),
    ],
    ids=["rule", "priority", "host", "container", "min_priority"],
)
def test_alert_filters_read_an_index(store: SqliteStore, query: AlertQuery, index: str) -> None:
    plan = _plan(store, query, "alerts")
    assert any(f"USING INDEX {index}" in step for step in plan), plan
    assert not any(step.startswith("SCAN a") and "INDEX" not in step for step in plan), plan


@pytest.fixture(scope="module")
def tight(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PlatformRunner]:
    """A platform whose user queries may run for 1 ms only."""
    server = PlatformRunner(tmp_path_factory.mktemp("tight"))
    server.config = dataclasses.replace(server.config, query_budget_s=0.001)
    server.start()
    yield server
    server.stop()


@pytest.mark.server
def test_query_past_its_budget_is_422_and_small_queries_still_answer(
    tight: PlatformRunner, tmp_path: Path
) -> None:
    agent = tight.enroll(tmp_path)
    now = time.time_ns()
    events = [make_event(s, now + s, proc_name="budget") for s in range(1, 10_001)]
    assert agent.send(agent.batch(events)).status_code == 200
    admin: httpx.Client = tight.login()
    try:
        r = admin.get("/api/v1/events", params={"limit": 10_000})
        assert r.status_code == 422, r.text
        assert "past its 0.001 s budget" in r.json()["detail"]
        small = admin.get("/api/v1/events", params={"limit": 5, "proc_name": "budget"})
        assert small.status_code == 200, small.text
        assert [e["seq"] for e in small.json()] == [10_000, 9_999, 9_998, 9_997, 9_996]
    finally:
        admin.close()
