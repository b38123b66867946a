"""The PostgreSQL store for `bench_event_queries.py --store postgresql` (building only).

A real PostgreSQL 15 (Debian's packages, `tests/support/postgres.py`) on loopback gets the
platform's schema through `PostgresStore`'s own migrations; the events then go in by one
server-side `INSERT ... SELECT` over `generate_series`, spread as the SQLite store's rows
are (hosts round-robin, a third on the host and the rest over the containers, types at
random, process names Pareto-distributed, 64 event bodies), with the events' plain
indexes dropped and made again after, which takes minutes where COPY from this process
or ingest through the API would take far longer. ANALYZE then does at once what
autovacuum does on a live server after such an insert.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from tests.support.postgres import (
    FAST_SETTINGS,
    PRODUCTION_SETTINGS,
    PostgresServer,
    start_postgres,
)

from stockade.platform.store.pg_connection import PgConnection
from stockade.platform.store.pg_partitions import Partitions
from stockade.platform.store.postgres import PostgresStore

# durability costs a bulk load only, not the reads measured: fsync off while building
SETTINGS = (*FAST_SETTINGS, *PRODUCTION_SETTINGS)
CHUNK = 1_000_000  # rows per INSERT ... SELECT (one transaction each)


def start() -> PostgresServer:
    """A PostgreSQL server for the benchmark (stop it with `.stop()`)."""
    return start_postgres(settings=SETTINGS)


def _plain_indexes(conn: PgConnection) -> list[tuple[str, str]]:
    """(name, definition) of the events' indexes that back no constraint."""
    rows = conn.execute(
        "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.tablename = 'events' "
        "AND i.schemaname = current_schema() AND NOT EXISTS (SELECT 1 FROM pg_constraint c "
        "WHERE c.conname = i.indexname)"
    ).fetchall()
    # pg_indexes gives a partitioned table's index as `ON ONLY` (its partitions left out)
    return [(str(name), str(sql).replace(" ON ONLY ", " ON ")) for name, sql in rows]


def build(
    url: str,
    events: int,
    *,
    hosts: int,
    containers: int,
    types: list[str],
    proc_names: list[str],
    t0: int,
    step_ns: int,
    body: Callable[[int], bytes],
) -> None:
    """`events` events over `hosts` agents at `url`, built in bulk."""
    store = PostgresStore(url)
    try:
        conn = store.connection()
        for h in range(hosts):
            conn.execute(
                "INSERT INTO agents (id, hostname, host_id, cert_fingerprint, enrolled_at) "
                "VALUES (?, ?, ?, '', 0)",
                (f"agent-{h}", f"node-{h}", f"host-{h}"),
            )
        for c in range(containers):
            conn.execute(
                "INSERT INTO containers (id, name, image, image_digest, runtime, first_seen, "
                "last_seen, host_id, agent_id) "
                "VALUES (?, ?, 'img:1', '', 'podman', 0, 0, 'host-0', 'agent-0')",
                (f"{c:064x}", f"c-{c}"),
            )
        Partitions().ensure(conn, "events", range(t0, t0 + events * step_ns + 1, step_ns * 10**6))
        conn.execute("CREATE TABLE bench_bodies (k INTEGER PRIMARY KEY, body BYTEA NOT NULL)")
        conn.executemany(
            "INSERT INTO bench_bodies VALUES (?, ?)", [(k, body(k)) for k in range(64)]
        )
        indexes = _plain_indexes(conn)
        for name, _ in indexes:
            conn.execute(f"DROP INDEX {name}")
        started = time.perf_counter()
        for first in range(0, events, CHUNK):
            conn.execute(
                _insert(
                    first,
                    min(first + CHUNK, events),
                    hosts,
                    containers,
                    types,
                    proc_names,
                    t0,
                    step_ns,
                )
            )
        inserted = time.perf_counter()
        conn.execute("SET maintenance_work_mem = '1GB'")
        for _, sql in indexes:
            conn.execute(sql)
        conn.execute("DROP TABLE bench_bodies")
        conn.execute("ANALYZE events")
        size = store.used_bytes()
        print(
            f"built {events:,} events on PostgreSQL: insert {inserted - started:.0f} s, "
            f"indexes and analyze {time.perf_counter() - inserted:.0f} s, "
            f"{size / 1e9:.1f} GB in all"
        )
    finally:
        store.close()


def _insert(
    first: int,
    stop: int,
    hosts: int,
    containers: int,
    types: list[str],
    proc_names: list[str],
    t0: int,
    step_ns: int,
) -> str:
    """One INSERT ... SELECT of events first..stop-1 (process names `proc-N`)."""
    type_array = "ARRAY[" + ",".join(f"'{t}'" for t in types) + "]"
    last_name = len(proc_names) - 1
    return (
        "INSERT INTO events (agent_id, seq, ts, host_id, container_id, type, proc_name, "
        "proc_pid, body) "
        f"SELECT 'agent-' || (i % {hosts}), i / {hosts} + 1, {t0} + i * {step_ns}, "
        f"'host-' || (i % {hosts}), "
        f"CASE WHEN i % 3 = 0 THEN 'host' "
        f"ELSE lpad(to_hex(floor(random() * {containers})::int), 64, '0') END, "
        f"({type_array})[1 + floor(random() * {len(types)})::int], "
        # Pareto(1.2) as random.paretovariate draws it: 1 / U^(1/1.2)
        f"'proc-' || least(floor(power(1 - random(), -1 / 1.2))::int - 1, {last_name}), "
        f"1000 + i % 5000, b.body FROM generate_series(CAST({first} AS BIGINT), {stop - 1}) AS i "
        "JOIN bench_bodies b ON b.k = i % 64"
    )
