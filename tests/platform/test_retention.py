"""Retention on a real platform: events and alerts past their age go, and past the size cap
the oldest events go first (on PostgreSQL whole days, measured by pg_total_relation_size),
while ingest and queries go on."""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from stockade.platform.services.retention import RetentionPolicy
from stockade.platform.store.postgres import PostgresStore
from tests.support.agent_client import TestAgent, make_alert, make_event
from tests.support.platform_runner import PlatformRunner
from tests.support.polling import poll_until

pytestmark = pytest.mark.server

HOUR_NS = 3600 * 1_000_000_000
SIZE_CAP = 3 * 1024 * 1024
DAY_NS = 24 * HOUR_NS
PG_DAY_EVENTS = 1000  # ~1.3 kB each: about 2.5 MB a day, with its indexes
PG_CAP_OVER_EMPTY = 4 * 1024 * 1024  # room for one day and a half


def _platform(path: Path, policy: RetentionPolicy, store_url: str = "") -> Iterator[PlatformRunner]:
    server = PlatformRunner(path, store_url)
    server.config = dataclasses.replace(server.config, retention=policy)
    server.start()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def by_age(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[PlatformRunner]:
    """Events kept 1 h, alerts 2 h, no size cap, enforced every 0.1 s; on each store."""
    policy = RetentionPolicy(
        events_max_age_s=3600, alerts_max_age_s=7200, max_store_bytes=0, interval_s=0.1
    )
    url = request.getfixturevalue("postgres_url") if request.param == "postgresql" else ""
    yield from _platform(tmp_path / "age", policy, url)


@pytest.fixture
def by_size(tmp_path: Path) -> Iterator[PlatformRunner]:
    """No age limit to speak of, a 3 MB cap, enforced every 0.1 s in chunks of 500 rows."""
    policy = RetentionPolicy(max_store_bytes=SIZE_CAP, interval_s=0.1, chunk_rows=500)
    yield from _platform(tmp_path / "size", policy)


@pytest.fixture
def by_size_postgres(
    tmp_path: Path, postgres_url: str, empty_bytes: int
) -> Iterator[PlatformRunner]:
    """On PostgreSQL: no age limit, a cap 1.5 days of the test's events above the empty
    store's size, enforced every 0.1 s."""
    policy = RetentionPolicy(
        events_max_age_s=0, max_store_bytes=empty_bytes + PG_CAP_OVER_EMPTY, interval_s=0.1
    )
    yield from _platform(tmp_path / "size-pg", policy, postgres_url)


@pytest.fixture
def empty_bytes(postgres_url: str) -> int:
    """What the empty store's tables, indexes and day partitions take (pg_total_relation_size)."""
    store = PostgresStore(postgres_url)
    try:
        return store.used_bytes()
    finally:
        store.close()


def _seqs(admin: httpx.Client, path: str, agent: TestAgent) -> list[int]:
    r = admin.get(path, params={"limit": 10_000})
    assert r.status_code == 200, r.text
    found = r.json()
    items = found["items"] if isinstance(found, dict) else found  # alerts come in pages
    return sorted(x["seq"] for x in items if x["agent_id"] == agent.agent_id)


def test_events_and_alerts_past_their_age_are_deleted(
    by_age: PlatformRunner, tmp_path: Path
) -> None:
    agent = by_age.enroll(tmp_path)
    now = time.time_ns()
    old = [make_event(s, now - 2 * HOUR_NS + s) for s in range(1, 6)]
    new = [make_event(s, now + s) for s in range(6, 11)]
    alerts = [  # raised 90 min, 0 min and 3 h ago
        make_alert(seq, make_event(0, now - age))
        for seq, age in ((11, 3 * HOUR_NS // 2), (12, 0), (13, 3 * HOUR_NS))
    ]
    for alert in alerts:
        alert.event_seq = 0
    r = agent.send(agent.batch([*old, *new], alerts))
    assert r.status_code == 200, r.text
    admin = by_age.login()
    try:
        poll_until(
            lambda: _seqs(admin, "/api/v1/events", agent) == list(range(6, 11)),
            timeout=30,
            what="events older than 1 h deleted, the rest kept",
        )
        poll_until(
            lambda: _seqs(admin, "/api/v1/alerts", agent) == [11, 12],
            timeout=30,
            what="the alert older than 2 h deleted, the 2 h old one kept",
        )
        later = [make_event(s, time.time_ns()) for s in range(14, 17)]
        assert agent.send(agent.batch(later)).status_code == 200
        assert _seqs(admin, "/api/v1/events", agent) == [6, 7, 8, 9, 10, 14, 15, 16]
        metrics = admin.get("/metrics").text
        assert 'stockade_retention_deleted_total{kind="events"} 5.0' in metrics
        assert 'stockade_retention_deleted_total{kind="alerts"} 1.0' in metrics
    finally:
        admin.close()


def _store_bytes(admin: httpx.Client) -> float:
    found = re.search(r"^stockade_store_bytes (\S+)$", admin.get("/metrics").text, re.M)
    assert found is not None
    return float(found[1])


def test_past_the_size_cap_the_oldest_events_go_first(
    by_size: PlatformRunner, tmp_path: Path
) -> None:
    agent = by_size.enroll(tmp_path)
    now = time.time_ns()
    padding = {"data": "x" * 1000}  # ~1.3 kB an event: 8,000 events are ~3 times the cap
    for first in range(1, 8001, 1000):
        events = [make_event(s, now + s) for s in range(first, first + 1000)]
        for e in events:
            e.args = padding
        r = agent.send(agent.batch(events))
        assert r.status_code == 200, r.text
    admin = by_size.login()
    try:
        poll_until(
            lambda: 0 < _store_bytes(admin) <= SIZE_CAP,
            timeout=30,
            what=f"the store back under its {SIZE_CAP} byte cap",
        )
        kept = _seqs(admin, "/api/v1/events", agent)
        assert kept and kept[-1] == 8000  # the newest stay
        assert kept == list(range(kept[0], 8001))  # only the oldest went
        assert kept[0] > 1000
        assert agent.send(agent.batch([make_event(8001, time.time_ns())])).status_code == 200
        assert _seqs(admin, "/api/v1/events", agent)[-1] == 8001
    finally:
        admin.close()


def test_on_postgresql_past_the_size_cap_the_oldest_days_go_whole(
    by_size_postgres: PlatformRunner, tmp_path: Path, empty_bytes: int
) -> None:
    agent = by_size_postgres.enroll(tmp_path)
    today = time.time_ns() // DAY_NS * DAY_NS
    padding = {"data": "x" * 1000}
    for day in range(6):  # six days, oldest first: about four times the cap
        first = day * PG_DAY_EVENTS + 1
        start = today - (5 - day) * DAY_NS
        events = [make_event(s, start + s) for s in range(first, first + PG_DAY_EVENTS)]
        for e in events:
            e.args = padding
        r = agent.send(agent.batch(events))
        assert r.status_code == 200, r.text
    cap = empty_bytes + PG_CAP_OVER_EMPTY
    last = 6 * PG_DAY_EVENTS
    admin = by_size_postgres.login()
    try:
        poll_until(
            lambda: 0 < _store_bytes(admin) <= cap,
            timeout=30,
            what=f"the store back under its {cap} byte cap",
        )
        kept = _seqs(admin, "/api/v1/events", agent)
        assert kept == list(range(kept[0], last + 1))  # only the oldest went, ...
        assert (kept[0] - 1) % PG_DAY_EVENTS == 0  # ... in whole days
        assert 1 < kept[0] < last  # some days went, today stays
        assert agent.send(agent.batch([make_event(last + 1, time.time_ns())])).status_code == 200
        assert _seqs(admin, "/api/v1/events", agent)[-1] == last + 1
    finally:
        admin.close()
