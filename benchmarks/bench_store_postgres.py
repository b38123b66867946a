"""Store ingest: events/s through `Store.store_batch`, PostgreSQL (COPY) beside SQLite.

Starts a real PostgreSQL 15 (Debian's packages, durable settings: fsync and synchronous
commit on) on loopback, and stores the same pre-built batches of 1,000 events (with one
alert each) into each store: one writer, then (PostgreSQL only: SQLite has one writer)
several writers at once, each its own store and agent, as workers in separate processes
would. Prints the median rate over several rounds.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import msgspec
from tests.support.agent_client import make_alert, make_event
from tests.support.postgres import start_postgres

from stockade.model.wire import Batch
from stockade.platform.messages import IngestBatch
from stockade.platform.store import AgentRecord, Store
from stockade.platform.store.postgres import PostgresStore
from stockade.platform.store.sqlite import SqliteStore

BATCH_EVENTS = 1000
BATCHES_PER_ROUND = 20
ROUNDS = 5
WRITERS = 2
GOAL = 80_000  # events/s per node (the fleet's target)


def _batches(agent: str, first_seq: int, count: int) -> list[IngestBatch]:
    """`count` batches of BATCH_EVENTS events (~300 bytes each) and an alert each."""
    now = time.time_ns()
    out = []
    for n in range(count):
        first = first_seq + n * (BATCH_EVENTS + 1)
        events = [
            make_event(s, now + s, pid=1000 + s % 50) for s in range(first, first + BATCH_EVENTS)
        ]
        for e in events:
            e.args = {"filename": f"/usr/lib/x86_64-linux-gnu/lib{e.seq % 97}.so", "flags": 524288}
        alert = make_alert(first + BATCH_EVENTS, events[-1])
        batch = Batch(
            agent_id=agent,
            first_seq=first,
            last_seq=first + BATCH_EVENTS,
            events=events,
            alerts=[alert],
        )
        out.append(
            IngestBatch(batch=batch, event_blobs=[msgspec.msgpack.encode(e) for e in events])
        )
    return out


def _enroll(store: Store, agent: str) -> None:
    store.add_agent(
        AgentRecord(id=agent, hostname=agent, host_id=agent, cert_fingerprint="f", enrolled_at=1)
    )


def _rate(stores: Sequence[Store], work: list[list[IngestBatch]]) -> float:
    """Events/s storing each store's batches, all stores at once (one thread each)."""

    def run(store: Store, batches: list[IngestBatch]) -> None:
        for batch in batches:
            store.store_batch(batch, now=time.time_ns())

    threads = [threading.Thread(target=run, args=pair) for pair in zip(stores, work, strict=True)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    events = sum(len(b.batch.events) for batches in work for b in batches)
    return events / (time.perf_counter() - started)


def _measure(stores: Sequence[Store]) -> float:
    """The median rate over ROUNDS rounds of BATCHES_PER_ROUND batches spread over `stores`."""
    agents = [f"bench-{n}" for n in range(len(stores))]
    for agent in agents:
        _enroll(stores[0], agent)
    rates = []
    next_seq = dict.fromkeys(agents, 1)
    per_store = BATCHES_PER_ROUND // len(stores)
    for _ in range(ROUNDS):
        work = [_batches(a, next_seq[a], per_store) for a in agents]
        for a in agents:
            next_seq[a] += per_store * (BATCH_EVENTS + 1)
        rates.append(_rate(stores, work))
    return statistics.median(rates)


def main() -> int:
    """Print median events/s for SQLite and PostgreSQL."""
    with tempfile.TemporaryDirectory() as tmp:
        sqlite = SqliteStore(str(Path(tmp) / "bench.db"))
        try:
            sqlite_rate = _measure([sqlite])
        finally:
            sqlite.close()
    server = start_postgres(settings=())  # durable: fsync, synchronous commit
    try:
        one = PostgresStore(server.create_database(template=None))
        try:
            pg_rate = _measure([one])
        finally:
            one.close()
        url = server.create_database(template=None)
        many = [PostgresStore(url) for _ in range(WRITERS)]
        try:
            pg_many_rate = _measure(many)
        finally:
            for store in many:
                store.close()
    finally:
        server.stop()
    load = os.getloadavg()[0]
    print(f"batches of {BATCH_EVENTS} events + 1 alert, median of {ROUNDS} rounds, load {load:.1f}")
    print(f"sqlite      1 writer : {sqlite_rate:10,.0f} events/s")
    print(f"postgresql  1 writer : {pg_rate:10,.0f} events/s (COPY)")
    print(f"postgresql  {WRITERS} writers: {pg_many_rate:10,.0f} events/s (goal {GOAL:,} per node)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
