"""User API event queries on a large store: p50/p95 per offered filter (target: p95 <= 1 s).

`--store sqlite` or `--store postgresql`; without it both (PostgreSQL where Debian's
PostgreSQL 15 is installed). Builds a store of STOCKADE_BENCH_QUERY_EVENTS events (default
10 M) with the platform's own schema: rows are bulk-inserted with the indexes dropped, then
the indexes are rebuilt, which takes minutes instead of the hours ingest through the API
would. The SQLite store is kept under STOCKADE_BENCH_QUERY_DIR (default: a temporary
directory) and reused when its size matches; the PostgreSQL one is built by
`event_queries_pg.py` on a server of its own each run. Then each filter of
`GET /api/v1/events` runs through the store's `query_events` (the call the API makes) with
several values, newest first, limit 100 (the API's default), 20 runs each; the load average
is printed beside the figures.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import random
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import msgspec
from tests.support.postgres import BIN as POSTGRES_BIN

from benchmarks import event_queries_pg
from stockade.model.entities import Container
from stockade.model.events import Event, Process
from stockade.platform.store.base import EventQuery, Store
from stockade.platform.store.postgres import PostgresStore
from stockade.platform.store.sqlite import SqliteStore

EVENTS = int(os.environ.get("STOCKADE_BENCH_QUERY_EVENTS", "10000000"))
HOSTS = 20
CONTAINERS = 500
PROC_NAMES = [f"proc-{n}" for n in range(300)]
TYPES = ["execve", "openat", "connect", "accept", "close", "read", "write", "unlinkat"]
CHUNK = 200_000
RUNS_PER_FILTER = 20
T0 = 1_760_000_000_000_000_000
STEP_NS = 1_000_000  # one event per ms across the fleet


def _body(i: int) -> bytes:
    event = Event(
        type=TYPES[i % len(TYPES)],
        ts=T0 + i * STEP_NS,
        proc=Process(pid=1000 + i % 5000, name="proc", exepath="/usr/bin/proc", argv=("proc",)),
        container=Container(id=f"{i % CONTAINERS:064x}", name=f"c-{i % CONTAINERS}"),
        host_id=f"host-{i % HOSTS}",
        seq=i,
    )
    return msgspec.msgpack.encode(event)


def _rows(start: int, stop: int, bodies: list[bytes]) -> Iterator[tuple[object, ...]]:
    rng = random.Random(start)
    for i in range(start, stop):
        host = i % HOSTS
        name = PROC_NAMES[min(int(rng.paretovariate(1.2)) - 1, len(PROC_NAMES) - 1)]
        yield (
            i + 1,
            f"agent-{host}",
            i // HOSTS + 1,
            T0 + i * STEP_NS,
            f"host-{host}",
            "host" if i % 3 == 0 else f"{rng.randrange(CONTAINERS):064x}",
            TYPES[rng.randrange(len(TYPES))],
            name,
            1000 + i % 5000,
            bodies[i % len(bodies)],
        )


def build(path: Path) -> None:
    """A store of EVENTS events over HOSTS agents, built in bulk."""
    SqliteStore(str(path)).close()  # the platform's schema, through its migrations
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=OFF")
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA cache_size=-1000000")
    indexes = conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events' "
        "AND sql IS NOT NULL"
    ).fetchall()
    for name, _ in indexes:
        conn.execute(f"DROP INDEX {name}")
    conn.executemany(
        "INSERT INTO agents (id, hostname, host_id, cert_fingerprint, enrolled_at) "
        "VALUES (?, ?, ?, '', 0)",
        [(f"agent-{h}", f"node-{h}", f"host-{h}") for h in range(HOSTS)],
    )
    conn.executemany(
        "INSERT INTO containers VALUES (?, ?, 'img:1', '', 'podman', 0, 0, 'host-0', 'agent-0')",
        [(f"{c:064x}", f"c-{c}") for c in range(CONTAINERS)],
    )
    bodies = [_body(i) for i in range(64)]
    started = time.perf_counter()
    for start in range(0, EVENTS, CHUNK):
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO events (id, agent_id, seq, ts, host_id, container_id, type, proc_name,"
            " proc_pid, body) VALUES (?,?,?,?,?,?,?,?,?,?)",
            _rows(start, min(start + CHUNK, EVENTS), bodies),
        )
        conn.execute("COMMIT")
    inserted = time.perf_counter()
    for _, sql in indexes:
        conn.execute(sql)
    conn.close()  # no ANALYZE: the platform does not run it, so its plans are measured
    print(
        f"built {EVENTS:,} events: insert {inserted - started:.0f} s, "
        f"indexes {time.perf_counter() - inserted:.0f} s, {path.stat().st_size / 1e9:.1f} GB"
    )


def _filters() -> dict[str, list[EventQuery]]:
    rare = PROC_NAMES[-1]
    end = T0 + EVENTS * STEP_NS
    window = EVENTS * STEP_NS // 20
    return {
        "none": [EventQuery()],
        "proc_name (common)": [EventQuery(proc_name=PROC_NAMES[n]) for n in range(5)],
        "proc_name (rare)": [EventQuery(proc_name=rare), EventQuery(proc_name="absent")],
        "type": [EventQuery(type=t) for t in TYPES],
        "host (hostname)": [EventQuery(host=f"node-{h}") for h in range(HOSTS)],
        "host (host id)": [EventQuery(host=f"host-{h}") for h in range(HOSTS)],
        "container (name)": [EventQuery(container=f"c-{c}") for c in range(0, CONTAINERS, 50)],
        "since-until (5 %)": [
            EventQuery(since=end - k * window, until=end - (k - 1) * window) for k in (1, 5, 15)
        ],
        "host + proc_name": [EventQuery(host=f"node-{h}", proc_name=PROC_NAMES[0]) for h in (1, 2)],
        "type + proc_name": [EventQuery(type="connect", proc_name=PROC_NAMES[3])],
    }


def measure(store: Store) -> None:
    """p50/p95 of each filter through the store, and over all of them."""
    every: list[float] = []
    try:
        for name, queries in _filters().items():
            times: list[float] = []
            for run in range(RUNS_PER_FILTER):
                query = queries[run % len(queries)]
                started = time.perf_counter()
                store.query_events(dataclasses.replace(query, budget_s=600))  # the true time
                times.append(time.perf_counter() - started)
            every += times
            p95 = statistics.quantiles(times, n=20)[-1]
            print(
                f"  {name:22} p50 {statistics.median(times) * 1e3:8.1f} ms  p95 {p95 * 1e3:8.1f} ms"
            )
    finally:
        store.close()
    p95 = statistics.quantiles(every, n=20)[-1]
    p50 = statistics.median(every)
    print(f"  {'all filters':22} p50 {p50 * 1e3:8.1f} ms  p95 {p95 * 1e3:8.1f} ms")


def run_sqlite() -> None:
    """Build (or reuse) the SQLite store, then time the filters."""
    base = os.environ.get("STOCKADE_BENCH_QUERY_DIR")
    directory = Path(base) if base else Path(tempfile.mkdtemp(prefix="stockade-query-bench-"))
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"events-{EVENTS}.db"
    if not path.exists():
        build(path)
    _header("sqlite")
    measure(SqliteStore(str(path)))
    if not base:
        path.unlink()


def run_postgresql() -> None:
    """Build the PostgreSQL store on a server of its own, then time the filters."""
    server = event_queries_pg.start()
    try:
        url = server.create_database(template=None)
        event_queries_pg.build(
            url,
            EVENTS,
            hosts=HOSTS,
            containers=CONTAINERS,
            types=TYPES,
            proc_names=PROC_NAMES,
            t0=T0,
            step_ns=STEP_NS,
            body=_body,
        )
        _header("postgresql")
        measure(PostgresStore(url))
    finally:
        server.stop()


def _header(store: str) -> None:
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"/api/v1/events queries on {EVENTS:,} events, {store} (limit 100, "
        f"{RUNS_PER_FILTER} runs each; load average {load}):"
    )


def main() -> None:
    """Time the filters on the store asked for, else on each store available."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", choices=["sqlite", "postgresql"])
    store = parser.parse_args().store
    if store in (None, "sqlite"):
        run_sqlite()
    if store == "postgresql" or (store is None and (POSTGRES_BIN / "initdb").exists()):
        run_postgresql()
    elif store is None:
        print(f"postgresql: not measured ({POSTGRES_BIN}/initdb missing)")


if __name__ == "__main__":
    main()
