"""Store ingest: events/s through `Store.store_batch`, PostgreSQL (COPY) beside SQLite.

Starts a real PostgreSQL 15 (Debian's packages, with the settings deploy/ runs it with:
durable, `PRODUCTION_SETTINGS`) on loopback, and stores the same pre-built batches of
1,000 events (with one alert each) into each store: one writer, then (PostgreSQL only:
SQLite has one writer) several writers at once, each its own store and agent, as workers
in separate processes would. Prints the median rate over several rounds, and the CPU
seconds spent per 100,000 events (this process plus every process of the PostgreSQL
server, from /proc): a figure a loaded machine distorts far less than events/s.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import msgspec
from tests.support.agent_client import make_alert, make_event
from tests.support.postgres import PRODUCTION_SETTINGS, PostgresServer, start_postgres

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


@dataclass
class Figures:
    """Rates of each round, and CPU seconds spent over all rounds."""

    rates: list[float] = field(default_factory=list)
    events: int = 0
    client_cpu_s: float = 0.0
    server_cpu_s: float = 0.0

    def line(self, name: str) -> str:
        """One printed line: median events/s, CPU seconds per 100k events."""
        per = 100_000 / max(1, self.events)
        return (
            f"{name}: {statistics.median(self.rates):10,.0f} events/s; CPU s per 100k events: "
            f"client {self.client_cpu_s * per:.2f}, server {self.server_cpu_s * per:.2f}, "
            f"total {(self.client_cpu_s + self.server_cpu_s) * per:.2f}"
        )


def server_cpu_s(server: PostgresServer | None) -> float:
    """CPU seconds the server's processes (postmaster and its children) have used so far."""
    if server is None:
        return 0.0
    root = server.process.pid
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # the process ended meanwhile
        pid = int(stat.parent.name)
        if pid == root or int(fields[1]) == root:  # fields[1]: the parent's pid
            total += int(fields[11]) + int(fields[12])  # utime, stime (clock ticks)
    return total / os.sysconf("SC_CLK_TCK")


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


def _measure(stores: Sequence[Store], server: PostgresServer | None = None) -> Figures:
    """Rates of ROUNDS rounds of BATCHES_PER_ROUND batches spread over `stores`, and CPU."""
    agents = [f"bench-{n}" for n in range(len(stores))]
    for agent in agents:
        _enroll(stores[0], agent)
    figures = Figures()
    next_seq = dict.fromkeys(agents, 1)
    per_store = BATCHES_PER_ROUND // len(stores)
    for _ in range(ROUNDS):
        work = [_batches(a, next_seq[a], per_store) for a in agents]
        for a in agents:
            next_seq[a] += per_store * (BATCH_EVENTS + 1)
        client, served = time.process_time(), server_cpu_s(server)
        figures.rates.append(_rate(stores, work))
        figures.client_cpu_s += time.process_time() - client
        figures.server_cpu_s += server_cpu_s(server) - served
        figures.events += sum(len(b.batch.events) for batches in work for b in batches)
    return figures


def main() -> int:
    """Print median events/s for SQLite and PostgreSQL."""
    with tempfile.TemporaryDirectory() as tmp:
        sqlite = SqliteStore(str(Path(tmp) / "bench.db"))
        try:
            sqlite_rate = _measure([sqlite])
        finally:
            sqlite.close()
    server = start_postgres(settings=PRODUCTION_SETTINGS)
    try:
        one = PostgresStore(server.create_database(template=None))
        try:
            pg_rate = _measure([one], server)
        finally:
            one.close()
        url = server.create_database(template=None)
        many = [PostgresStore(url) for _ in range(WRITERS)]
        try:
            pg_many_rate = _measure(many, server)
        finally:
            for store in many:
                store.close()
    finally:
        server.stop()
    load = os.getloadavg()[0]
    print(f"batches of {BATCH_EVENTS} events + 1 alert, median of {ROUNDS} rounds, load {load:.1f}")
    print(sqlite_rate.line("sqlite      1 writer "))
    print(pg_rate.line("postgresql  1 writer "))
    print(pg_many_rate.line(f"postgresql  {WRITERS} writers"))
    print(f"goal: {GOAL:,} events/s per node")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
