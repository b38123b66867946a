"""The PostgreSQL store on a real server: migrations once, exactly-once ingest from several
stores at once, day partitions made on demand and dropped by retention, query budgets, a
restart of the database, an unreachable one."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest

from stockade.model.wire import Batch
from stockade.platform import Platform, PlatformConfig
from stockade.platform.errors import PlatformConfigError
from stockade.platform.messages import IngestBatch
from stockade.platform.store import (
    AgentRecord,
    EventQuery,
    QueryTimeout,
    RecordKind,
    SequenceGapError,
    StoreError,
)
from stockade.platform.store.migrations import MIGRATIONS
from stockade.platform.store.pg_partitions import DAY_NS, listed, partition_name
from stockade.platform.store.postgres import PostgresStore, redacted
from tests.support.agent_client import make_alert, make_event
from tests.support.polling import poll_until
from tests.support.ports import free_port
from tests.support.postgres import PostgresServer
from tests.support.together import run_together

pytestmark = pytest.mark.server

DAY_1 = 1_600_000_000 * 10**9 // DAY_NS * DAY_NS  # 2020-09-13 (older than the days made ahead)


@pytest.fixture
def store(postgres_url: str) -> Iterator[PostgresStore]:
    s = PostgresStore(postgres_url)
    s.add_agent(
        AgentRecord(id="a1", hostname="h", host_id="hid", cert_fingerprint="f", enrolled_at=1)
    )
    yield s
    s.close()


def _ingest(first: int, last: int, ts: int = DAY_1, step: int = 1) -> IngestBatch:
    """Events first..last-1 from `ts`, `step` apart, and an alert (seq `last`) on the last."""
    events = [make_event(s, ts + (s - first) * step) for s in range(first, last)]
    alerts = [make_alert(last, events[-1])]
    return IngestBatch(
        batch=Batch(agent_id="a1", first_seq=first, last_seq=last, events=events, alerts=alerts),
        event_blobs=[msgspec.msgpack.encode(e) for e in events],
    )


def test_migrations_are_recorded_once_and_the_schema_is_partitioned(
    postgres: PostgresServer,
) -> None:
    url = postgres.create_database(template=None)  # an empty database: migrate from nothing
    PostgresStore(url).close()
    store = PostgresStore(url)  # a second open applies nothing again
    try:
        conn = store.connection()
        versions = [r[0] for r in conn.execute("SELECT version FROM schema_migrations")]
        assert sorted(versions) == [v for v, _ in MIGRATIONS]
        kinds = dict(
            conn.execute(
                "SELECT relname, CAST(relkind AS TEXT) FROM pg_class "
                "WHERE relname IN ('events', 'alerts')"
            ).fetchall()
        )
        assert kinds == {"events": "p", "alerts": "p"}  # partitioned tables
        assert listed(conn, "events")  # today's and the next days' made on open
        indexed = conn.execute(
            "SELECT indexdef FROM pg_indexes WHERE tablename = 'events' ORDER BY indexname"
        ).fetchall()
        assert [r[0].split(" USING btree ")[1] for r in indexed] == [
            "(agent_id, seq, ts)",  # exactly once; an event by agent and seq
            "(container_id, ts)",
            "(host_id, ts)",
            "(proc_name, ts)",
            "(ts)",
            "(type, ts)",
        ]  # what the API's filters and hunts use, and no more (ingest pays for each)
    finally:
        store.close()


def test_processes_starting_together_migrate_once(postgres: PostgresServer) -> None:
    url = postgres.create_database(template=None)
    opened: list[PostgresStore] = []

    def open_store() -> None:
        opened.append(PostgresStore(url))

    run_together([open_store] * 3)
    try:
        assert len(opened) == 3
        rows = opened[0].connection().execute("SELECT version FROM schema_migrations").fetchall()
        assert len(rows) == len(MIGRATIONS)
    finally:
        for store in opened:
            store.close()


def test_batches_from_several_stores_at_once_are_stored_exactly_once(
    postgres_url: str, store: PostgresStore
) -> None:
    batches = [_ingest(first, first + 49) for first in range(1, 1001, 50)]
    writers = [PostgresStore(postgres_url) for _ in range(4)]  # as four worker processes

    def deliver(writer: PostgresStore) -> None:
        for batch in batches:  # every writer delivers every batch: 3 of 4 are redeliveries
            while True:
                try:
                    writer.store_batch(batch, now=1)
                    break
                except SequenceGapError:
                    continue  # another writer has not stored the batch before it yet

    try:
        run_together(functools.partial(deliver, w) for w in writers)
    finally:
        for w in writers:
            w.close()
    conn = store.connection()
    counts = conn.execute("SELECT count(*), count(DISTINCT seq) FROM events").fetchone()
    assert counts == (980, 980)  # 20 batches of 49 events (and one alert each)
    assert conn.execute("SELECT count(*) FROM alerts").fetchone() == (20,)
    assert store.acked_seq("a1") == 1000


def test_a_batch_makes_the_partitions_of_its_days(store: PostgresStore) -> None:
    far = DAY_1 + 400 * DAY_NS
    store.store_batch(_ingest(1, 4, ts=far), now=1)
    names = [name for name, _, _ in listed(store.connection(), "events")]
    assert partition_name("events", far) in names
    assert partition_name("events", far) == "events_p20211018"
    assert len(store.query_events(EventQuery(since=far))) == 3


def test_retention_drops_whole_days_then_deletes_within_the_boundary_day(
    store: PostgresStore,
) -> None:
    hour = DAY_NS // 24
    for day in range(3):  # 3 days of 9 events each, an hour apart
        first = day * 10 + 1
        store.store_batch(_ingest(first, first + 9, ts=DAY_1 + day * DAY_NS, step=hour), now=1)
    cutoff = DAY_1 + 2 * DAY_NS + 5 * hour  # the third day's fifth hour
    assert store.prune(RecordKind.EVENTS, cutoff, limit=1000) == 18  # two whole days
    conn = store.connection()
    assert partition_name("events", DAY_1) not in [n for n, _, _ in listed(conn, "events")]
    assert store.prune(RecordKind.EVENTS, cutoff, limit=2) == 2  # then rows, chunk by chunk
    assert store.prune(RecordKind.EVENTS, cutoff, limit=1000) == 3
    assert store.prune(RecordKind.EVENTS, cutoff, limit=1000) == 0
    kept = sorted(e.event.seq for e in store.query_events(EventQuery(limit=100)))
    assert kept == [26, 27, 28, 29]
    store.store_batch(_ingest(31, 32, ts=DAY_1), now=2)  # an old day again: made again
    assert len(store.query_events(EventQuery(until=DAY_1 + DAY_NS))) == 1


def test_over_the_size_cap_the_oldest_partition_goes(store: PostgresStore) -> None:
    store.store_batch(_ingest(1, 5, ts=DAY_1 - 10 * DAY_NS), now=1)
    store.store_batch(_ingest(6, 10, ts=DAY_1), now=1)
    before = store.used_bytes()
    oldest = listed(store.connection(), "events")[0][0]
    assert store.prune(RecordKind.EVENTS, None, limit=1) == 4  # the oldest day, whole
    assert oldest not in [n for n, _, _ in listed(store.connection(), "events")]
    assert store.used_bytes() < before


def test_a_partition_another_store_dropped_is_made_again(
    postgres_url: str, store: PostgresStore
) -> None:
    store.store_batch(_ingest(1, 3, ts=DAY_1), now=1)  # this store now knows DAY_1's partition
    other = PostgresStore(postgres_url)
    try:
        other.prune(RecordKind.EVENTS, DAY_1 + DAY_NS, limit=1000)  # drops it
    finally:
        other.close()
    store.store_batch(_ingest(4, 6, ts=DAY_1), now=2)
    assert sorted(e.event.seq for e in store.query_events(EventQuery())) == [4, 5]


def test_a_statement_past_its_budget_is_stopped(store: PostgresStore) -> None:
    conn = store.connection()
    with pytest.raises(QueryTimeout):
        conn.within(0.05, lambda: conn.execute("SELECT pg_sleep(5)"))
    assert conn.execute("SELECT 1").fetchone() == (1,)  # the connection goes on


def test_a_password_never_shows_in_messages() -> None:
    assert redacted("postgresql://u:secret@db:5432/x") == "postgresql://u:***@db:5432/x"
    assert redacted("postgresql://db/x") == "postgresql://db/x"


def test_the_store_reconnects_after_the_database_restarts(
    postgres: PostgresServer, store: PostgresStore
) -> None:
    store.store_batch(_ingest(1, 3), now=1)
    postgres.halt()
    try:
        with pytest.raises(StoreError):
            store.store_batch(_ingest(4, 6), now=2)
    finally:
        postgres.resume()
    poll_until(lambda: _stored(store, _ingest(4, 6)), 30, "a batch stored again")
    assert store.store_batch(_ingest(4, 6), now=3).events_stored == 0  # once only
    assert store.acked_seq("a1") == 6


def _stored(store: PostgresStore, batch: IngestBatch) -> bool:
    try:
        store.store_batch(batch, now=2)
    except StoreError:
        return False
    return True


def test_an_unreachable_database_is_one_line_without_its_password(tmp_path: Path) -> None:
    config = PlatformConfig(
        data_dir=tmp_path,
        store="postgresql",
        store_location=f"postgresql://stockade:secret@127.0.0.1:{free_port()}/x",
    )
    with pytest.raises(PlatformConfigError) as caught:
        Platform.open(config)
    message = str(caught.value)
    assert "\n" not in message and "secret" not in message
    assert message.endswith("check --store-location") and "stockade:***@" in message
