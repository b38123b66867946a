"""The store on its own, SQLite and PostgreSQL alike: batches are stored exactly once;
SQLite's migrations run once (PostgreSQL's own: test_store_postgres.py)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest

from stockade.model.entities import Container
from stockade.model.wire import Batch
from stockade.platform.messages import IngestBatch
from stockade.platform.services.enrollment import enrollment_store
from stockade.platform.store import (
    STORES,
    AgentRecord,
    AlertQuery,
    EventQuery,
    SequenceGapError,
    Store,
    TokenState,
    UnknownAgentError,
)
from stockade.platform.store.migrations import MIGRATIONS
from stockade.platform.store.sqlite import SqliteStore
from stockade.registry import DuplicateRegistrationError
from tests.support.agent_client import make_alert, make_event


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """An empty store of each kind with one enrolled agent, a1."""
    if request.param == "sqlite":
        location = str(tmp_path / "db.sqlite")
    else:
        location = request.getfixturevalue("postgres_url")
    s = STORES.get(request.param)(location)
    s.add_agent(
        AgentRecord(id="a1", hostname="h", host_id="hid", cert_fingerprint="f", enrolled_at=1)
    )
    yield s
    s.close()


def _ingest(first: int, last: int, container: Container | None = None) -> IngestBatch:
    events = [make_event(s, 1000 + s, container=container) for s in range(first, last + 1)]
    return IngestBatch(
        batch=Batch(agent_id="a1", first_seq=first, last_seq=last, events=events),
        event_blobs=[msgspec.msgpack.encode(e) for e in events],
    )


def test_migrations_are_recorded_and_not_rerun(tmp_path: Path) -> None:
    path = str(tmp_path / "db.sqlite")
    SqliteStore(path).close()
    SqliteStore(path).close()
    with sqlite3.connect(path) as conn:
        versions = [r[0] for r in conn.execute("SELECT version FROM schema_migrations")]
        mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
    assert versions == [v for v, _ in MIGRATIONS]
    assert mode == "wal"


def test_exactly_once_and_gap(store: Store) -> None:
    assert store.store_batch(_ingest(1, 4), now=5).events_stored == 4
    assert store.store_batch(_ingest(1, 4), now=6).events_stored == 0
    result = store.store_batch(_ingest(3, 6), now=7)
    assert (result.events_stored, result.acked_seq) == (2, 6)
    with pytest.raises(SequenceGapError) as caught:
        store.store_batch(_ingest(8, 9), now=8)
    assert caught.value.acked_seq == 6
    stored = store.query_events(EventQuery(limit=100))
    assert sorted(e.event.seq for e in stored) == [1, 2, 3, 4, 5, 6]


def test_unknown_agent(store: Store) -> None:
    batch = _ingest(1, 1)
    batch.batch.agent_id = "nobody"
    with pytest.raises(UnknownAgentError):
        store.store_batch(batch, now=1)
    with pytest.raises(UnknownAgentError):
        store.acked_seq("nobody")


def test_container_upsert_keeps_known_metadata(store: Store) -> None:
    full = Container(id="f" * 64, name="web", image="img:1", runtime="podman")
    partial = Container(id="f" * 64, complete=False)
    store.store_batch(_ingest(1, 2, full), now=1)
    store.store_batch(_ingest(3, 3, partial), now=2)
    [c] = store.list_containers()
    assert (c.name, c.image, c.first_seen, c.last_seen) == ("web", "img:1", 1001, 1003)


def test_alert_process_comes_from_its_event_when_fields_lack_it(store: Store) -> None:
    event = make_event(1, 5000, pid=77, proc_name="nc")
    alert = make_alert(2, event)
    alert.output_fields = {}
    batch = Batch(agent_id="a1", first_seq=1, last_seq=2, events=[event], alerts=[alert])
    store.store_batch(IngestBatch(batch=batch, event_blobs=[msgspec.msgpack.encode(event)]), 1)
    [stored] = store.query_alerts(AlertQuery())
    assert (stored.proc_name, stored.proc_pid, stored.proc_cmdline) == ("nc", 77, "nc -c id")


def test_enrollment_token_states(store: Store) -> None:
    enrollment = enrollment_store(store)
    agent = AgentRecord(id="x", hostname="h", host_id="h", cert_fingerprint="x", enrolled_at=1)
    store.add_enrollment_token("h1", expires_at=100)
    assert enrollment.enroll_agent("nope", 1, agent).token is TokenState.UNKNOWN
    assert enrollment.enroll_agent("h1", 200, agent).token is TokenState.EXPIRED
    store.add_enrollment_token("h2", expires_at=100)
    assert enrollment.enroll_agent("h2", 50, agent).done
    assert enrollment.enroll_agent("h2", 60, agent).token is TokenState.USED


def test_store_registry_refuses_duplicates() -> None:
    assert "sqlite" in STORES
    with pytest.raises(DuplicateRegistrationError):
        STORES.register("sqlite", SqliteStore)


def test_container_known_only_from_an_alert_is_listed(store: Store) -> None:
    event = make_event(1, 5000, container=Container(id="9" * 64, name="shell-box"))
    alert = make_alert(1, event)
    alert.output_fields.update(
        {
            "container.full_id": "9" * 64,
            "container.name": "shell-box",
            "container.image.repository": "localhost/busybox",
            "container.image.tag": "1.36",
        }
    )
    batch = Batch(agent_id="a1", first_seq=1, last_seq=1, alerts=[alert])
    store.store_batch(IngestBatch(batch=batch, event_blobs=[]), now=1)
    [c] = store.list_containers()
    assert (c.id, c.name, c.image) == ("9" * 64, "shell-box", "localhost/busybox:1.36")
    [stored] = store.query_alerts(AlertQuery(container="shell-box"))
    assert stored.container is not None and stored.container.image == "localhost/busybox:1.36"


def test_a_version_1_database_is_migrated_in_place(tmp_path: Path) -> None:
    path = str(tmp_path / "old.sqlite")
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at)")
        conn.executescript(MIGRATIONS[0][1])
        conn.execute("INSERT INTO schema_migrations VALUES (1, 0)")
    store = SqliteStore(path)
    store.add_agent(
        AgentRecord(id="a1", hostname="h", host_id="h", cert_fingerprint="f", enrolled_at=1)
    )
    event = make_event(1, 10, type="connect")
    batch = Batch(
        agent_id="a1", first_seq=1, last_seq=2, events=[event], alerts=[make_alert(2, event)]
    )
    store.store_batch(IngestBatch(batch=batch, event_blobs=[msgspec.msgpack.encode(event)]), 1)
    store.close()
    with sqlite3.connect(path) as conn:
        assert [r[0] for r in conn.execute("SELECT version FROM schema_migrations")] == [
            v for v, _ in MIGRATIONS
        ]
        assert conn.execute("SELECT type FROM alerts").fetchone() == ("connect",)
